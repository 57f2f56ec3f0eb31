//! One training example: a window's noisy input frames featurized, its normalised target
//! (noise-corrected, rigid-projected as the config asks) and the loss weight of each value.

use super::Trainer;
use super::windows::Window;
use crate::{NoiseCorrection, RigidTarget, random_walk_noise};
use learnsim_core::{ParticleKind, Trajectory};
use learnsim_eval::rigid_fit::{points_2d, rigid_fit_2d, rigid_particles};
use learnsim_models::GraphInput;
use rand::Rng;

impl Trainer {
    /// The random-walk noise of one window: `history + 1` frames of `[N, D]`.
    pub(super) fn noise(&self, window: &Window, noise_std: f64, rng: &mut impl Rng) -> Vec<f32> {
        let t = window.trajectory;
        random_walk_noise(self.config.history + 1, &t.kind, t.dim, noise_std, rng)
    }

    /// Featurized input, normalised target and loss mask for one window with `noise` (from
    /// [`noise`](Self::noise)), mirrored as x → `sum` − x when `reflect` is given.
    pub(super) fn example(
        &self,
        window: &Window,
        noise: &[f32],
        unroll: usize,
        reflect: Option<f32>,
    ) -> (GraphInput, Vec<f32>, Vec<f32>) {
        let t = window.trajectory;
        let c = self.config.history;
        let per_frame = t.n_particles * t.dim;
        let frame_of = |k: usize| -> std::borrow::Cow<'_, [f32]> {
            let frame = t.frame(k);
            match reflect {
                None => std::borrow::Cow::Borrowed(frame),
                Some(sum) => std::borrow::Cow::Owned(
                    frame
                        .iter()
                        .enumerate()
                        .map(|(i, &x)| if i % t.dim == 0 { sum - x } else { x })
                        .collect(),
                ),
            }
        };
        let mut frames: Vec<Vec<f32>> = (0..=c)
            .map(|k| {
                let frame = frame_of(window.last_input - c + k);
                frame
                    .iter()
                    .zip(&noise[k * per_frame..(k + 1) * per_frame])
                    .map(|(x, n)| x + n)
                    .collect()
            })
            .collect();
        // Pushforward: the model's own positions replace the window's, `unroll` steps on, with
        // kinematic particles taken from the truth (without gradient: a plain forward pass).
        if unroll > 0 {
            let mut network = self.inference_network();
            for k in 1..=unroll {
                let refs: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
                let extras = self.simulator.extras(t, window.last_input + k - 1);
                let input = self.simulator.featurize_with_extras(&refs, &t.kind, extras);
                let acc = network.predict(&input);
                let mut next = self.simulator.decode(&acc, &frames[c - 1], &frames[c]);
                let truth = frame_of(window.last_input + k);
                for (p, kind) in t.kind.iter().enumerate() {
                    if kind.is_kinematic() {
                        next[p * t.dim..(p + 1) * t.dim]
                            .copy_from_slice(&truth[p * t.dim..(p + 1) * t.dim]);
                    }
                }
                frames.remove(0);
                frames.push(next);
            }
        }
        let truth_now = frame_of(window.last_input + unroll);
        let truth_next = frame_of(window.last_input + unroll + 1);
        let mut next: Vec<f32> = match self.config.noise_correction {
            // The target keeps the last input's noise, so the model learns to undo velocity
            // noise.
            NoiseCorrection::Velocity => truth_next
                .iter()
                .zip(&noise[c * per_frame..])
                .map(|(x, n)| x + n)
                .collect(),
            // x̃ₜ₊₁ = xₜ₊₁ + 2dₜ − dₜ₋₁ with d = input − truth: decoded from the noisy input,
            // x̃ₜ₊₁ − 2x̃ₜ + x̃ₜ₋₁ is the true acceleration.
            NoiseCorrection::Uncorrected => {
                let before = frame_of(window.last_input + unroll - 1);
                (0..per_frame)
                    .map(|k| {
                        let d_now = frames[c][k] - truth_now[k];
                        let d_before = frames[c - 1][k] - before[k];
                        truth_next[k] + 2.0 * d_now - d_before
                    })
                    .collect()
            }
        };
        if self.config.rigid_target == RigidTarget::Rigid {
            self.rigid_part_of_deviation(t, &truth_now, &frames[c], &truth_next, &mut next);
        }
        let refs: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
        let extras = self.simulator.extras(t, window.last_input + unroll);
        let input = self.simulator.featurize_with_extras(&refs, &t.kind, extras);
        let mut target = self.simulator.inverse(&next, &frames[c - 1], &frames[c]);
        let mut mask: Vec<f32> = t
            .kind
            .iter()
            .flat_map(|&k| std::iter::repeat_n(self.loss_weight(k), t.dim))
            .collect();
        // Nodes after the particles (mirror images of the walls) have no target.
        let extra = (input.n_nodes - t.n_particles) * t.dim;
        target.extend(std::iter::repeat_n(0.0, extra));
        mask.extend(std::iter::repeat_n(0.0, extra));
        (input, target, mask)
    }

    /// `RigidTarget::Rigid`: the rigid particles of `next` become `truth_next` moved by the
    /// rigid part of the input's deviation from the truth, `fit(truth_now → input) −
    /// truth_now` (the noise, or under pushforward the model's own error).
    fn rigid_part_of_deviation(
        &self,
        t: &Trajectory,
        truth_now: &[f32],
        input_now: &[f32],
        truth_next: &[f32],
        next: &mut [f32],
    ) {
        let rigid = rigid_particles(&t.kind);
        if rigid.is_empty() {
            return;
        }
        let c = &self.simulator.config;
        let period: Vec<Option<f64>> = (0..c.dim)
            .map(|a| c.periodic[a].then(|| c.bounds[a][1] - c.bounds[a][0]))
            .collect();
        let truth = points_2d(truth_now, &rigid, &period);
        let fit = rigid_fit_2d(&truth, &points_2d(input_now, &rigid, &period));
        for ((&i, x), f) in rigid.iter().zip(&truth).zip(&fit) {
            for a in 0..2 {
                next[2 * i + a] = truth_next[2 * i + a] + (f[a] - x[a]) as f32;
            }
        }
    }

    /// A particle's weight in the loss: 0 for kinematic particles (never predicted),
    /// `rigid_loss_weight` for a rigid body's, 1 for the rest.
    fn loss_weight(&self, kind: ParticleKind) -> f32 {
        match kind {
            k if k.is_kinematic() => 0.0,
            ParticleKind::Rigid => self.config.rigid_loss_weight as f32,
            _ => 1.0,
        }
    }
}
