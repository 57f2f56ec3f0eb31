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
    let dim = truth.dim;
    let per_frame_mse: Vec<f64> = (warmup..truth.n_frames)
        .map(|t| {
            let (p, q) = (predicted.frame(t), truth.frame(t));
            let mut sum = 0.0;
            let mut count = 0usize;
            for i in (0..truth.n_particles).filter(|&i| !truth.kind[i].is_kinematic()) {
                for a in 0..dim {
                    let mut d = p[i * dim + a] as f64 - q[i * dim + a] as f64;
                    if let Some(Some(l)) = period.get(a) {
                        d -= l * (d / l).round();
                    }
                    sum += d * d;
                    count += 1;
                }
            }
            sum / count.max(1) as f64 * dim as f64
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

/// Share of (frame, particle) positions outside the bounds widened by `slack`.
pub fn escaped_fraction(
    predicted: &Trajectory,
    bounds: &[[f64; 2]],
    periodic: &[bool],
    slack: f64,
) -> f64 {
    let dim = predicted.dim;
    let mut outside = 0usize;
    for t in 0..predicted.n_frames {
        for x in predicted.frame(t).chunks(dim) {
            if (0..dim).any(|a| {
                !periodic[a]
                    && ((x[a] as f64) < bounds[a][0] - slack
                        || (x[a] as f64) > bounds[a][1] + slack)
            }) {
                outside += 1;
            }
        }
    }
    outside as f64 / (predicted.n_frames * predicted.n_particles).max(1) as f64
}
