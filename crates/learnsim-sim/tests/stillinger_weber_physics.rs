//! Stillinger–Weber silicon as physics: the pair minimum and the diamond bond, an independent
//! numpy evaluation, forces as the energy's gradient, Newton's third law, invariances, energy
//! conservation under velocity Verlet, and determinism of the Langevin sampler.

use learnsim_sim::stillinger_weber::{
    ClusterSampling, EnergyForces, SILICON_MASS_AMU, StillingerWeber, kinetic_energy, nve,
    sample_clusters,
};

fn sw() -> StillingerWeber {
    StillingerWeber::default()
}

fn fixture() -> (Vec<[f64; 3]>, f64, Vec<[f64; 3]>) {
    let text = include_str!("fixtures/stillinger_weber.json");
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    let rows = |key: &str| -> Vec<[f64; 3]> { serde_json::from_value(json[key].clone()).unwrap() };
    (
        rows("positions"),
        json["energy"].as_f64().unwrap(),
        rows("forces"),
    )
}

#[test]
fn the_pair_minimum_is_minus_epsilon_at_two_to_the_sixth_sigma() {
    // SW chose A and B so that φ₂ has its minimum −ε at r = 2^{1/6} σ (the diamond bond
    // length 2.3517 Å). A and B are published to 10 digits, so the value matches to ~1e-9 ε.
    let p = sw();
    let r0 = 2f64.powf(1.0 / 6.0) * p.sigma;
    let (phi, dphi) = p.pair(r0);
    assert!((phi + p.epsilon).abs() < 1e-7 * p.epsilon, "φ₂(r0) = {phi}");
    assert!(dphi.abs() < 1e-6, "dφ₂/dr(r0) = {dphi}");
    assert_eq!(p.pair(p.cutoff()), (0.0, 0.0));
}

#[test]
fn a_tetrahedral_si5_cluster_has_energy_minus_four_epsilon_and_no_forces() {
    // Centre + 4 neighbours at the pair minimum on tetrahedral directions: every angle at the
    // centre has cos θ = −1/3, so φ₃ vanishes; neighbour–neighbour distances are
    // r0·sqrt(8/3) = 3.840 Å, beyond the 3.771 Å cutoff. Hence E = 4 φ₂(r0) = −4ε (the diamond
    // cohesive energy per bond), and every force is zero.
    let p = sw();
    let r0 = 2f64.powf(1.0 / 6.0) * p.sigma;
    let s = r0 / 3f64.sqrt();
    let mut x = vec![[0.0; 3]];
    for d in [
        [1.0, 1.0, 1.0],
        [1.0, -1.0, -1.0],
        [-1.0, 1.0, -1.0],
        [-1.0, -1.0, 1.0],
    ] {
        x.push(d.map(|c: f64| c * s));
    }
    let EnergyForces { energy, forces } = p.energy_forces(&x);
    assert!((energy + 4.0 * p.epsilon).abs() < 1e-6, "E = {energy}");
    for f in forces {
        assert!(f.iter().all(|c| c.abs() < 1e-6), "{f:?}");
    }
}

#[test]
fn energy_and_forces_match_an_independent_numpy_evaluation() {
    // scripts/fixtures/stillinger_weber.py: plain loops over ordered triplets in float64.
    // Energies agree to round-off (1e-12 relative). The fixture's forces are central
    // differences with h = 1e-5 Å: truncation h²/6·|E'''| ≈ 1e-10·O(100 eV/Å³) and round-off
    // 1e-16·|E|/h ≈ 2e-10, so 1e-6 eV/Å is a safe bound that still catches any wrong term.
    let (x, energy, forces) = fixture();
    let got = sw().energy_forces(&x);
    assert!(
        (got.energy - energy).abs() < 1e-12 * energy.abs(),
        "{} vs {energy}",
        got.energy
    );
    for (a, b) in got.forces.iter().zip(&forces) {
        for d in 0..3 {
            assert!((a[d] - b[d]).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }
}

#[test]
fn forces_obey_newtons_third_law_and_the_energy_is_invariant() {
    let (x, _, _) = fixture();
    let p = sw();
    let EnergyForces { energy, forces } = p.energy_forces(&x);
    let scale = forces
        .iter()
        .flat_map(|f| f.iter().map(|c| c.abs()))
        .fold(0.0, f64::max);
    // Translation invariance: Σ F = 0. Rotation invariance: Σ x × F = 0. Both to round-off.
    let mut total = [0.0; 3];
    let mut torque = [0.0; 3];
    for (r, f) in x.iter().zip(&forces) {
        for d in 0..3 {
            total[d] += f[d];
        }
        torque[0] += r[1] * f[2] - r[2] * f[1];
        torque[1] += r[2] * f[0] - r[0] * f[2];
        torque[2] += r[0] * f[1] - r[1] * f[0];
    }
    assert!(total.iter().all(|c| c.abs() < 1e-10 * scale), "{total:?}");
    assert!(torque.iter().all(|c| c.abs() < 1e-9 * scale), "{torque:?}");
    // Rotating (about an arbitrary axis) and translating leaves the energy unchanged.
    let (c, s) = (0.3f64.cos(), 0.3f64.sin());
    let moved: Vec<[f64; 3]> = x
        .iter()
        .map(|r| {
            [
                c * r[0] - s * r[1] + 1.5,
                s * r[0] + c * r[1] - 0.7,
                r[2] + 3.0,
            ]
        })
        .collect();
    let e2 = p.energy_forces(&moved).energy;
    assert!(
        (e2 - energy).abs() < 1e-12 * energy.abs(),
        "{e2} vs {energy}"
    );
    // Permuting atoms permutes the forces.
    let mut perm = x.clone();
    perm.reverse();
    let f2 = p.energy_forces(&perm).forces;
    for (a, b) in f2.iter().rev().zip(&forces) {
        for d in 0..3 {
            assert!((a[d] - b[d]).abs() < 1e-12 * scale);
        }
    }
}

#[test]
fn velocity_verlet_conserves_the_sw_energy_of_a_hot_cluster() {
    // A Si8 cluster taken from the 1000 K Langevin sampler, then 2000 NVE steps of 0.5 fs (the
    // learned-force test's protocol). Velocity Verlet's energy error is a bounded O(dt²)
    // oscillation; halving dt must shrink it about 4× (measured below), and at 0.5 fs it stays
    // far below the 1 % of the mean kinetic energy the learned model is held to.
    let p = sw();
    let start = sample_clusters(&p, &ClusterSampling::recipe(8), 1, 3).remove(0);
    let run = |dt: f64, steps: usize| {
        let mut x = start.positions.clone();
        // Velocities at 1000 K from a fixed pattern with zero total momentum.
        let mut v: Vec<[f64; 3]> = (0..x.len())
            .map(|i| {
                let s = if i % 2 == 0 { 1.0 } else { -1.0 };
                [0.01 * s, 0.007 * s * ((i / 2) as f64 - 1.5), -0.005 * s]
            })
            .collect();
        let e = nve(
            |x| p.energy_forces(x),
            &mut x,
            &mut v,
            SILICON_MASS_AMU,
            dt,
            steps,
        );
        let total: Vec<f64> = e.iter().map(|(u, k)| u + k).collect();
        let drift = total
            .iter()
            .map(|t| (t - total[0]).abs())
            .fold(0.0, f64::max);
        let mean_ke = e.iter().map(|(_, k)| k).sum::<f64>() / e.len() as f64;
        (drift, mean_ke)
    };
    let (drift_half, ke) = run(0.5, 2000);
    let (drift_full, _) = run(1.0, 1000);
    assert!(ke > 0.1, "the cluster must move: mean KE {ke} eV");
    assert!(
        drift_half < 1e-3 * ke,
        "drift {drift_half} eV vs mean KE {ke} eV"
    );
    let ratio = drift_full / drift_half;
    assert!((2.5..6.0).contains(&ratio), "dt² scaling: ratio {ratio}");
}

#[test]
fn the_langevin_sampler_is_deterministic_per_seed_and_stays_in_the_wall() {
    let p = sw();
    let sampling = ClusterSampling::recipe(9);
    let a = sample_clusters(&p, &sampling, 20, 11);
    let b = sample_clusters(&p, &sampling, 20, 11);
    let c = sample_clusters(&p, &sampling, 20, 12);
    assert_eq!(a, b);
    assert_ne!(a, c);
    for conf in &a {
        assert_eq!(conf.positions.len(), 9);
        // The harmonic wall (1 eV/Å² beyond 6 Å) holds atoms at kT = 0.086 eV to within about
        // sqrt(2·kT·10/k) ≈ 1.3 Å of it even with ten kT of energy.
        let r_max = conf
            .positions
            .iter()
            .map(|x| (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]).sqrt())
            .fold(0.0, f64::max);
        assert!(r_max < 7.5, "an atom escaped to {r_max} Å");
        assert!(
            conf.energy.is_finite() && conf.energy < 0.0,
            "{}",
            conf.energy
        );
    }
    // The samples are not one frozen configuration.
    let energies: Vec<f64> = a.iter().map(|c| c.energy).collect();
    let mean = energies.iter().sum::<f64>() / 20.0;
    let var = energies.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / 19.0;
    assert!(var.sqrt() > 0.05, "energy std {} eV", var.sqrt());
}

#[test]
fn kinetic_energy_converts_amu_and_angstrom_per_fs_to_ev() {
    // ½ m v² with m = 28.0855 amu, v = 0.01 Å/fs = 1000 m/s:
    // ½ · 28.0855 · 1.66053907e-27 kg · 1e6 m²/s² = 2.33184e-20 J = 0.145542 eV.
    let ke = kinetic_energy(&[[0.01, 0.0, 0.0]], SILICON_MASS_AMU);
    assert!((ke - 0.145_542).abs() < 1e-5, "{ke}");
}
