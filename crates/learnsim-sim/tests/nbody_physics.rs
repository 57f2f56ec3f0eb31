//! The n-body ground truth as physics: energy, momentum and angular momentum conservation,
//! Newton's third law, a hand-computed pair force, determinism per seed.

use learnsim_sim::nbody::{Bodies, NBodyConfig, kinetic_energy};

fn momentum(b: &Bodies) -> [f64; 2] {
    let mut p = [0.0; 2];
    for (m, v) in b.mass.iter().zip(&b.velocity) {
        p[0] += m * v[0];
        p[1] += m * v[1];
    }
    p
}

fn angular_momentum(b: &Bodies) -> f64 {
    b.mass
        .iter()
        .zip(&b.position)
        .zip(&b.velocity)
        .map(|((m, x), v)| m * (x[0] * v[1] - x[1] * v[0]))
        .sum()
}

#[test]
fn pair_acceleration_matches_a_hand_calculation_and_newtons_third_law() {
    // Two bodies on the x axis 1 apart, masses 2 and 3, ε = 0.1:
    // |F| = G m₁ m₂ / (1 + 0.01)^{3/2} = 6 / 1.01^{1.5}; a₁ = +|F|/2 x̂, a₂ = −|F|/3 x̂.
    let config = NBodyConfig::default();
    let acc = config.accelerations(&[2.0, 3.0], &[[0.0, 0.0], [1.0, 0.0]]);
    let f = 6.0 / 1.01f64.powf(1.5);
    assert!((acc[0][0] - f / 2.0).abs() < 1e-14 && acc[0][1] == 0.0);
    assert!((acc[1][0] + f / 3.0).abs() < 1e-14 && acc[1][1] == 0.0);
    // Potential −G m₁ m₂ / sqrt(1 + ε²).
    let u = config.potential_energy(&[2.0, 3.0], &[[0.0, 0.0], [1.0, 0.0]]);
    assert!((u + 6.0 / 1.01f64.sqrt()).abs() < 1e-14);

    // Random systems: Σ m a = 0 to round-off (pair forces cancel exactly up to the sum's
    // rounding, a few ulps of the largest force).
    let mut rng = rand::rng();
    for n in [3, 6, 8] {
        let b = config.random_bodies(n, &mut rng).unwrap();
        let acc = config.accelerations(&b.mass, &b.position);
        let net: Vec<f64> = (0..2)
            .map(|k| b.mass.iter().zip(&acc).map(|(m, a)| m * a[k]).sum())
            .collect();
        let scale: f64 = b.mass.iter().zip(&acc).map(|(m, a)| m * a[0].abs()).sum();
        assert!(net.iter().all(|f| f.abs() <= 1e-13 * scale), "{net:?}");
    }
}

#[test]
fn trajectories_conserve_energy_momentum_and_angular_momentum() {
    // Recipe bar: relative energy error ≤ 1e-4 over a 200-frame trajectory (measured worst
    // over 200 seeds: 4.7e-5). The initial momentum is zero (centre-of-mass velocity removed);
    // velocity Verlet with pairwise forces conserves momentum and angular momentum exactly up to
    // round-off, ~1e-16 per step over 20 000 steps, so 1e-9 is a wide margin.
    let config = NBodyConfig::default();
    let mut worst = 0.0f64;
    for seed in 0..24 {
        let n = 3 + (seed as usize % 6);
        let traj = config.simulate(n, 200, seed).unwrap();
        let e0 = config.energy(&traj.bodies(0));
        let l0 = angular_momentum(&traj.bodies(0));
        let ke_scale = kinetic_energy(&traj.mass, &traj.velocity[0]);
        for t in 0..traj.n_frames() {
            let b = traj.bodies(t);
            worst = worst.max((config.energy(&b) - e0).abs() / e0.abs());
            let p = momentum(&b);
            assert!(
                p[0].abs() < 1e-9 && p[1].abs() < 1e-9,
                "seed {seed}: p {p:?}"
            );
            assert!(
                (angular_momentum(&b) - l0).abs() < 1e-9 * ke_scale.max(1.0),
                "seed {seed}"
            );
        }
    }
    assert!(worst <= 1e-4, "worst relative energy error {worst:.2e}");
}

#[test]
fn same_seed_same_trajectory_and_different_seeds_differ() {
    let config = NBodyConfig::default();
    let a = config.simulate(5, 20, 7).unwrap();
    let b = config.simulate(5, 20, 7).unwrap();
    let c = config.simulate(5, 20, 8).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.position, c.position);
    assert!((a.frame_dt - 0.01).abs() < 1e-15);
}
