//! Which training windows the GNS trainer draws: uniform, or weighted towards contact and impact
//! windows, and the share of each kind.

use crate::WindowWeighting;
use learnsim_core::Trajectory;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A training window: `history + 1` input frames and the next frame.
pub(super) struct Window<'a> {
    pub(super) trajectory: &'a Trajectory,
    pub(super) last_input: usize,
}

/// Weighted sampling of training windows: every (trajectory, last input frame) pair with its
/// cumulative weight.
#[derive(Debug, Clone)]
pub(super) struct WindowSampler {
    /// `(trajectory index, last input frame)` of every window.
    pub(super) windows: Vec<(usize, usize)>,
    /// Running sum of the weights, ending at the total.
    pub(super) cumulative: Vec<f64>,
}

/// How many training windows involve contact or impacts (more than 10 % of their particles
/// counted by a `WindowCriterion`), counted over windows and weighted by how often each is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ContactShare {
    /// Share of windows, i.e. of uniform draws.
    pub uniform: f64,
    /// Share of draws under the configured weighting.
    pub weighted: f64,
}

/// Share of a window's free particles that count under `criterion` at its target frame
/// `f + 1`. Contact: within three radii of a non-periodic wall at frame `f`, or accelerating
/// unlike free fall. Impact: accelerating unlike free fall by more than the impact threshold.
pub(super) fn window_score(
    t: &Trajectory,
    f: usize,
    context: &WindowContext,
    criterion: WindowCriterion,
) -> f64 {
    let dim = t.dim;
    let (prev, cur, next) = (t.frame(f - 1), t.frame(f), t.frame(f + 1));
    let threshold = match criterion {
        WindowCriterion::Contact => context.threshold,
        WindowCriterion::Impact => context.impact_threshold,
    };
    let mut free = 0usize;
    let mut counted = 0usize;
    for (p, kind) in t.kind.iter().enumerate() {
        if kind.is_kinematic() {
            continue;
        }
        free += 1;
        let mut dev2 = 0.0;
        let mut near = false;
        for a in 0..dim {
            let k = p * dim + a;
            let acc = next[k] as f64 - 2.0 * cur[k] as f64 + prev[k] as f64;
            dev2 += (acc - context.gravity_dt2[a]).powi(2);
            if let Some([lo, hi]) = context.walls[a] {
                let x = cur[k] as f64;
                near |= x - lo < context.reach || hi - x < context.reach;
            }
        }
        let near = near && criterion == WindowCriterion::Contact;
        if near || dev2.sqrt() > threshold {
            counted += 1;
        }
    }
    counted as f64 / free.max(1) as f64
}

/// Which particles a window's score counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowCriterion {
    /// Near a wall or off free fall (`WindowWeighting::Contact`).
    Contact,
    /// Far off free fall (`WindowWeighting::Impact`).
    Impact,
}

impl WindowCriterion {
    pub(super) fn of(weighting: WindowWeighting) -> Self {
        match weighting {
            WindowWeighting::Impact { .. } => Self::Impact,
            WindowWeighting::Uniform | WindowWeighting::Contact { .. } => Self::Contact,
        }
    }
}

impl WindowSampler {
    pub(super) fn new(
        data: &[Trajectory],
        context: &WindowContext,
        history: usize,
        criterion: WindowCriterion,
        boost: f64,
    ) -> Option<Self> {
        let mut windows = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0.0;
        for_each_window(data, history, |i, f, t| {
            total += 1.0 + boost * window_score(t, f, context, criterion);
            windows.push((i, f));
            cumulative.push(total);
        });
        (!windows.is_empty()).then_some(Self {
            windows,
            cumulative,
        })
    }

    pub(super) fn draw(&self, rng: &mut impl Rng) -> (usize, usize) {
        let total = *self.cumulative.last().expect("at least one window");
        let u = rng.random_range(0.0..total);
        let k = self.cumulative.partition_point(|&c| c <= u);
        self.windows[k.min(self.windows.len() - 1)]
    }
}

/// Calls `visit(trajectory index, last input frame, trajectory)` for every training window.
pub(super) fn for_each_window(
    data: &[Trajectory],
    history: usize,
    mut visit: impl FnMut(usize, usize, &Trajectory),
) {
    for (i, t) in data.iter().enumerate() {
        if t.n_frames < history + 2 {
            continue;
        }
        for f in history..t.n_frames - 1 {
            visit(i, f, t);
        }
    }
}

/// What the contact score needs from the dataset.
#[derive(Debug, Clone)]
pub(super) struct WindowContext {
    pub(super) gravity_dt2: Vec<f64>,
    /// Distance from free fall that counts as contact.
    pub(super) threshold: f64,
    /// Distance from free fall that counts as an impact.
    pub(super) impact_threshold: f64,
    pub(super) walls: Vec<Option<[f64; 2]>>,
    pub(super) reach: f64,
}

pub(super) fn mix(seed: u64, step: u64) -> u64 {
    let mut z = seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
