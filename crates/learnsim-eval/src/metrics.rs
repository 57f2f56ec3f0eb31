//! Pointwise and physical metrics of a rollout against ground truth.

use learnsim_core::Trajectory;

/// Horizons (predicted steps) at which position MSE is reported.
pub const HORIZONS: [usize; 6] = [1, 5, 10, 20, 50, 100];

/// Position MSE averaged over the first `h` predicted frames, for each horizon that fits, plus
/// the full rollout (key `usize::MAX`). Non-kinematic particles only; periodic axes use the
/// minimum image with the given box lengths.
pub fn mse_at_horizons(
    predicted: &Trajectory,
    truth: &Trajectory,
    warmup: usize,
    period: &[Option<f64>],
) -> Vec<(usize, f64)> {
    let moving: Vec<usize> = (0..truth.n_particles)
        .filter(|&i| !truth.kind[i].is_kinematic())
        .collect();
    let per_frame_mse: Vec<f64> = (warmup..truth.n_frames)
        .map(|t| {
            frame_mse(
                predicted.frame(t),
                truth.frame(t),
                truth.dim,
                &moving,
                period,
            )
        })
        .collect();
    let mean_first = |h: usize| per_frame_mse[..h].iter().sum::<f64>() / h as f64;
    let mut out: Vec<(usize, f64)> = HORIZONS
        .iter()
        .filter(|&&h| h <= per_frame_mse.len())
        .map(|&h| (h, mean_first(h)))
        .collect();
    out.push((usize::MAX, mean_first(per_frame_mse.len())));
    out
}

/// Minimum-image difference along axis `a`.
fn axis_diff(p: f32, q: f32, a: usize, period: &[Option<f64>]) -> f64 {
    let mut d = f64::from(p) - f64::from(q);
    if let Some(Some(l)) = period.get(a) {
        d -= l * (d / l).round();
    }
    d
}

/// Σ over `particles` and axes of `f(minimum-image difference)`.
fn sum_over_coordinates(
    predicted: &[f32],
    truth: &[f32],
    dim: usize,
    particles: &[usize],
    period: &[Option<f64>],
    f: impl Fn(f64) -> f64,
) -> f64 {
    particles
        .iter()
        .flat_map(|&i| (0..dim).map(move |a| (i, a)))
        .map(|(i, a)| {
            f(axis_diff(
                predicted[i * dim + a],
                truth[i * dim + a],
                a,
                period,
            ))
        })
        .sum()
}

/// Squared position error of one frame, summed over axes and averaged over `particles`.
///
/// # Shapes
/// - `predicted`, `truth`: `[N·D]`; `particles`: indices into N.
pub fn frame_mse(
    predicted: &[f32],
    truth: &[f32],
    dim: usize,
    particles: &[usize],
    period: &[Option<f64>],
) -> f64 {
    let sum = sum_over_coordinates(predicted, truth, dim, particles, period, |d| d * d);
    sum / particles.len().max(1) as f64
}

/// Absolute position error of one frame, averaged over `particles` and axes.
///
/// # Shapes
/// - `predicted`, `truth`: `[N·D]`; `particles`: indices into N.
pub fn frame_mae(
    predicted: &[f32],
    truth: &[f32],
    dim: usize,
    particles: &[usize],
    period: &[Option<f64>],
) -> f64 {
    let sum = sum_over_coordinates(predicted, truth, dim, particles, period, f64::abs);
    sum / (particles.len() * dim).max(1) as f64
}

/// Kinetic energy per unit mass, Σ ½ mᵢ|vᵢ|² with mᵢ = 1/|particles| and vᵢ = (x_t − x_{t−1})/dt
/// (minimum image on periodic axes, so wrapping particles do not jump).
///
/// # Shapes
/// - `previous`, `current`: `[N·D]`; `particles`: indices into N.
pub fn frame_kinetic_energy(
    previous: &[f32],
    current: &[f32],
    dim: usize,
    particles: &[usize],
    period: &[Option<f64>],
    dt: f64,
) -> f64 {
    0.5 * frame_mse(current, previous, dim, particles, period) / (dt * dt)
}

/// Share of (frame, particle) positions outside the bounds widened by `slack`; kinematic
/// particles (walls may sit outside the bounds) are not counted.
pub fn escaped_fraction(
    predicted: &Trajectory,
    bounds: &[[f64; 2]],
    periodic: &[bool],
    slack: f64,
) -> f64 {
    let dim = predicted.dim;
    let moving = predicted.kind.iter().filter(|k| !k.is_kinematic()).count();
    let mut outside = 0usize;
    for t in 0..predicted.n_frames {
        let frame = predicted.frame(t).chunks(dim).zip(&predicted.kind);
        for (x, _) in frame.filter(|(_, k)| !k.is_kinematic()) {
            if (0..dim).any(|a| {
                !periodic[a]
                    && ((x[a] as f64) < bounds[a][0] - slack
                        || (x[a] as f64) > bounds[a][1] + slack)
            }) {
                outside += 1;
            }
        }
    }
    outside as f64 / (predicted.n_frames * moving).max(1) as f64
}

/// Energy drift of a trajectory of a conservative system: max_t |E_t − E_0| / `scale`.
///
/// `energy[t]` is the total (kinetic + potential) energy of frame t; `scale` makes it
/// dimensionless — |E_0| when the energy is bounded away from zero, else the mean kinetic
/// energy (SchNet's NVE bar). Returns NaN when any energy or the scale is not finite or the
/// scale is zero, so a blown-up rollout cannot report a small drift.
pub fn energy_drift(energy: &[f64], scale: f64) -> f64 {
    let Some(&e0) = energy.first() else {
        return 0.0;
    };
    if !scale.is_finite() || scale == 0.0 || energy.iter().any(|e| !e.is_finite()) {
        return f64::NAN;
    }
    energy.iter().map(|e| (e - e0).abs()).fold(0.0, f64::max) / scale.abs()
}

/// Pearson correlation of `a` and `b` (equal lengths). NaN when either is constant, empty or
/// not finite, so a degenerate prediction cannot pass a correlation bar.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "pearson of slices of different lengths");
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    let r = sab / (saa * sbb).sqrt();
    if r.is_finite() { r } else { f64::NAN }
}
