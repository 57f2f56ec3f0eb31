//! GNS's random-walk input noise (`noise_utils.py`).

use learnsim_core::ParticleKind;
use rand::Rng;
use rand_distr::{Distribution, Normal};

/// Position noise for `n_frames` input frames of `kinds` in `dim` dimensions, `[T·N·D]`.
///
/// Velocity noise is a random walk with per-step std σ/√(T − 1), so the last velocity has std σ;
/// positions integrate it, the first frame gets none, and kinematic particles get none.
pub fn random_walk_noise(
    n_frames: usize,
    kinds: &[ParticleKind],
    dim: usize,
    noise_std: f64,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let n = kinds.len();
    let mut noise = vec![0.0f32; n_frames * n * dim];
    if n_frames < 2 || noise_std <= 0.0 {
        return noise;
    }
    let step = Normal::new(0.0, noise_std / ((n_frames - 1) as f64).sqrt()).expect("finite std");
    for p in (0..n).filter(|&p| !kinds[p].is_kinematic()) {
        for a in 0..dim {
            let (mut velocity, mut position) = (0.0f64, 0.0f64);
            for t in 1..n_frames {
                velocity += step.sample(rng);
                position += velocity;
                noise[(t * n + p) * dim + a] = position as f32;
            }
        }
    }
    noise
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn last_velocity_has_the_requested_std_and_walls_get_none() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let kinds: Vec<ParticleKind> = (0..20_000)
            .map(|p| {
                if p % 10 == 0 {
                    ParticleKind::Wall
                } else {
                    ParticleKind::Water
                }
            })
            .collect();
        let (frames, sigma) = (6, 0.01);
        let noise = random_walk_noise(frames, &kinds, 1, sigma, &mut rng);
        let n = kinds.len();
        let last_v: Vec<f64> = (0..n)
            .filter(|&p| !kinds[p].is_kinematic())
            .map(|p| (noise[(frames - 1) * n + p] - noise[(frames - 2) * n + p]) as f64)
            .collect();
        let var = last_v.iter().map(|v| v * v).sum::<f64>() / last_v.len() as f64;
        // The last velocity is a sum of 5 steps of variance σ²/5: variance σ². With 18k samples
        // the sample std has relative error ≈ 1/√(2·18000) ≈ 0.5 %; allow 3 %.
        assert!(
            (var.sqrt() / sigma - 1.0).abs() < 0.03,
            "std {}",
            var.sqrt()
        );
        assert!((0..n).all(|p| noise[p] == 0.0), "first frame must be clean");
        assert!(
            (0..n)
                .step_by(10)
                .all(|p| (0..frames).all(|t| noise[t * n + p] == 0.0))
        );
    }
}
