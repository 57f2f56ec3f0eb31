//! The fast Sinkhorn solver against its own dense kernel, against fully converged solves and
//! against closed forms, on clouds shaped like the particle cases' (a block of fluid at
//! spacing h, ε = h², the protocol's choice).

use learnsim_eval::{KernelMode, Sinkhorn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A block of `side^dim` particles on a lattice of spacing `h` jittered by ±0.3h, and the same
/// particles moved by a smooth swirl of amplitude 2h plus ±0.5h of noise: a rollout's error.
fn block_and_rollout(side: usize, dim: usize, h: f32, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = side.pow(dim as u32);
    let mut x = Vec::with_capacity(n * dim);
    for k in 0..n {
        let mut rest = k;
        for _ in 0..dim {
            let i = rest % side;
            rest /= side;
            x.push(0.2 + h * (i as f32 + rng.random_range(-0.3..0.3)));
        }
    }
    let y = x
        .chunks(dim)
        .flat_map(|p| {
            (0..dim)
                .map(|a| {
                    let other = p[(a + 1) % dim];
                    p[a] + 2.0 * h * (20.0 * other).sin() + h * rng.random_range(-0.5..0.5)
                })
                .collect::<Vec<f32>>()
        })
        .collect();
    (x, y)
}

fn converged(mut s: Sinkhorn) -> Sinkhorn {
    s.tolerance = 1e-4;
    s.max_iterations = 20_000;
    s
}

#[test]
fn truncated_multiscale_kernel_agrees_with_the_dense_one() {
    // Same tolerance, same over-relaxation: the only differences are the skipped blocks (below
    // 1.4e-11·M·ε each, softmin.rs), the multiscale start (which moves no fixed point) and where
    // each solve stops (within 1e-4·ε of the fixed point, second order in the value), plus the
    // f32 kernel's ~1e-6·ε. Bound 1e-5·ε.
    for (side, dim, period) in [(24, 2, None), (8, 3, Some(1.0))] {
        let h = 1.0 / 128.0;
        let (x, y) = block_and_rollout(side, dim, h, 7);
        let eps = f64::from(h * h);
        let periods = vec![period; dim];
        let truncated = converged(Sinkhorn::new(dim, &periods, eps));
        let mut dense = truncated.clone();
        dense.kernel = KernelMode::Dense;
        let (a, b) = (truncated.divergence(&x, &y), dense.divergence(&x, &y));
        assert!(
            (a - b).abs() < 1e-5 * eps,
            "{dim}D: truncated {a}, dense {b}, |Δ| = {:.2e}·ε",
            (a - b).abs() / eps
        );
        assert!(a > eps, "a real displacement: {a}");
    }
}

#[test]
fn default_tolerance_is_within_1e_4_eps_of_the_converged_divergence() {
    // TOLERANCE bounds the potentials' distance from the fixed point by 1e-2·ε; the dual value
    // is stationary there, so the divergence's error is second order: bound 1e-4·ε.
    let h = 1.0 / 128.0;
    let (x, y) = block_and_rollout(45, 2, h, 3);
    let eps = f64::from(h * h);
    let fast = Sinkhorn::new(2, &[None, None], eps);
    let (a, b) = (
        fast.divergence(&x, &y),
        converged(fast.clone()).divergence(&x, &y),
    );
    assert!(
        (a - b).abs() < 1e-4 * eps,
        "default {a}, converged {b}, |Δ| = {:.2e}·ε",
        (a - b).abs() / eps
    );
}

#[test]
fn a_cloud_transported_far_still_finds_its_partners() {
    // A fixed cut-off radius of a few √ε would leave every particle of a cloud shifted by 20
    // spacings without partners; the bound on the potentials keeps the blocks that matter, so
    // the divergence is the squared shift (|δ|² exactly for a rigid translation), to the
    // solver's 1e-4·ε.
    let h = 1.0f32 / 128.0;
    let (x, _) = block_and_rollout(30, 2, h, 11);
    let delta = [20.0 * h, -12.0 * h];
    let y: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(k, v)| v + delta[k % 2])
        .collect();
    let eps = f64::from(h * h);
    let s = Sinkhorn::new(2, &[None, None], eps).divergence(&x, &y);
    let expected = f64::from(delta[0] * delta[0] + delta[1] * delta[1]);
    assert!(
        (s - expected).abs() < 1e-3 * expected,
        "{s} against |δ|² = {expected}"
    );
}

#[test]
fn a_shared_self_term_gives_the_same_divergence() {
    let h = 1.0 / 128.0;
    let (x, y) = block_and_rollout(25, 2, h, 5);
    let s = Sinkhorn::new(2, &[None, None], f64::from(h * h));
    let own = s.self_term(&y);
    assert_eq!(
        s.divergence_given(&x, &y, None, Some(own)),
        s.divergence(&x, &y)
    );
}
