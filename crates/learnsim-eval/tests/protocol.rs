//! Metrics and the evaluation protocol on inputs whose answers are known in closed form.

use learnsim_core::{Metadata, ParticleKind, Trajectory, TypeConvention};
use learnsim_eval::{
    ConstantVelocity, Persistence, Protocol, score, score_predictions, sinkhorn_divergence,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn cloud(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..2 * n).map(|_| rng.random_range(0.3..0.7)).collect()
}

#[test]
fn sinkhorn_of_a_translated_cloud_is_the_squared_shift() {
    // Squared-distance cost: the cross term grows by exactly |δ|² and the self terms are
    // equal, so S = |δ|² for every ε; the only error is the solver's stopping tolerance
    // (a problem this small is run to 1e-4·ε from the fixed point), which bounds the error of
    // each OT term.
    let x = cloud(40, 1);
    let delta = [0.03f32, -0.02];
    let y: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(k, v)| v + delta[k % 2])
        .collect();
    for eps in [1e-4, 1e-3] {
        let s = sinkhorn_divergence(&x, &y, 2, &[None, None], eps);
        let expected = f64::from(delta[0].powi(2) + delta[1].powi(2));
        assert!(
            (s - expected).abs() < 1e-4 * eps,
            "ε {eps}: {s} vs {expected}"
        );
    }
}

#[test]
fn sinkhorn_is_zero_for_the_same_cloud_in_any_order_and_exact_for_two_diracs() {
    let x = cloud(30, 2);
    let mut reversed: Vec<f32> = x.chunks(2).rev().flatten().copied().collect();
    assert_eq!(sinkhorn_divergence(&x, &x, 2, &[None, None], 1e-3), 0.0);
    // Reordering changes the summation order, hence where the solver stops: the potentials
    // are within ~1e-4·ε = 1e-7 of their fixed point (a small problem), which bounds the
    // divergence.
    let s = sinkhorn_divergence(&x, &reversed, 2, &[None, None], 1e-3);
    assert!(s.abs() < 1e-7, "{s}");
    // Two Dirac masses: the only plan is the product, OT = |x − y|², self terms 0.
    reversed.truncate(2);
    let s = sinkhorn_divergence(&[0.1, 0.2], &[0.4, 0.6], 2, &[None, None], 1e-2);
    // Exact up to the f32 inputs: 0.1f32 etc. are off by ~1e-8, so 0.25 by ~2e-8.
    assert!((s - 0.25).abs() < 1e-7, "{s}");
}

#[test]
fn sinkhorn_uses_the_minimum_image_on_periodic_axes() {
    // A cloud straddling x = 0 of a unit torus and the same cloud wrapped into [0, 1): one
    // set of points, so the divergence is 0; without periodicity it would be about 0.5.
    let x: Vec<f32> = cloud(20, 3).iter().map(|v| v - 0.5).collect();
    let wrapped: Vec<f32> = x.iter().map(|v| v.rem_euclid(1.0)).collect();
    let periodic = sinkhorn_divergence(&x, &wrapped, 2, &[Some(1.0), Some(1.0)], 1e-3);
    let plain = sinkhorn_divergence(&x, &wrapped, 2, &[None, None], 1e-3);
    // The solver's kernel works in f32 relative to each row: across the seam a difference of
    // about the box length (1) is held to 6e-8, so a cost d² near the largest terms
    // (d ≲ 5√ε ≈ 0.16) to 2·d·6e-8 ≈ 2e-8 = 2e-5·ε, which averages down over the terms;
    // measured 4.4e-6·ε. Bound 1e-5·ε = 1e-8, against about 0.5 without the minimum image.
    assert!(periodic.abs() < 1e-8, "{periodic}");
    assert!(plain > 0.1, "{plain}");
}

fn metadata() -> Metadata {
    Metadata {
        dim: 2,
        bounds: vec![[0.0, 1.0]; 2],
        dt: 0.01,
        default_connectivity_radius: 0.1,
        periodic_boundary_conditions: vec![false; 2],
        num_particles_max: 3,
        sequence_length_train: 49,
        sequence_length_test: 49,
        vel_mean: vec![0.0; 2],
        vel_std: vec![1.0; 2],
        acc_mean: vec![0.0; 2],
        acc_std: vec![1.0; 2],
        dx: 0.05,
        particle_type_convention: TypeConvention::Deepmind,
        gravity: vec![0.0, 0.0],
        case: "test".into(),
        solver: "analytic".into(),
        tier: "cpu".into(),
        seed: 0,
        num_trajectories: [0, 0, 1],
        scene: None,
        features: Default::default(),
    }
}

/// Three water particles moving at v = (0.003, 0.004) per frame (|v| = 0.005) for 50 frames,
/// plus a wall particle at rest outside the bounds.
fn uniform_motion() -> Trajectory {
    let mut position = Vec::new();
    for t in 0..50 {
        let t = t as f32;
        for i in 0..3 {
            position.extend_from_slice(&[0.2 + 0.1 * i as f32 + 0.003 * t, 0.3 + 0.004 * t]);
        }
        position.extend_from_slice(&[-0.5, -0.5]);
    }
    let mut kind = vec![ParticleKind::Water; 3];
    kind.push(ParticleKind::Wall);
    Trajectory::new(2, 50, position, kind).unwrap()
}

#[test]
fn windows_and_horizon_metrics_match_hand_computation() {
    let truth = uniform_motion();
    let protocol = Protocol::default();
    // Windows start at 0 and 40 (40 + 6 < 50); from 40 only 4 frames are predicted.
    let s = score(
        &mut Persistence,
        std::slice::from_ref(&truth),
        &metadata(),
        &protocol,
    )
    .unwrap();
    let m = &s.metrics;
    assert_eq!(m["windows"], 2.0);
    assert_eq!(s.predicted_frames, 44 + 4);
    // Persistence lags k steps after k predictions: error k·|v|, so
    // mse_h = |v|²·(1/h)Σk² = |v|²(h+1)(2h+1)/6; f32 positions carry ~1e-7 absolute error, so
    // squared errors of order 1e-5 agree to ~1e-4 relative.
    let v2 = 0.005f64 * 0.005;
    for h in [1usize, 5, 10, 20] {
        let expected = v2 * ((h + 1) * (2 * h + 1)) as f64 / 6.0;
        let got = m[&format!("mse_{h}")];
        assert!(
            (got - expected).abs() < 1e-3 * expected,
            "mse_{h}: {got} vs {expected}"
        );
        // MAE per coordinate: mean over k of k·(|vx| + |vy|)/2 = (h+1)/2 · 0.0035.
        let mae = (h + 1) as f64 / 2.0 * 0.0035;
        assert!((m[&format!("mae_{h}")] - mae).abs() < 1e-3 * mae);
    }
    // Only the window from 0 (44 frames) reaches horizon 20; mse_1 averages both.
    assert!(!m.contains_key("mse_50"));
    // Persistence has zero kinetic energy; the truth has ½|v|²/dt² = 0.125 at every frame, so
    // ke_mse is 0.125² at every horizon.
    for h in [1usize, 5, 10, 20] {
        let ke = m[&format!("ke_mse_{h}")];
        assert!(
            (ke - 0.125f64.powi(2)).abs() < 1e-3 * 0.0156,
            "ke_mse_{h}: {ke}"
        );
    }
    // The wall sits outside the bounds but is kinematic: nothing escapes.
    assert_eq!(m["escaped_fraction"], 0.0);
    // Sinkhorn at horizon 1: a rigid shift by v, so |v|² (see the sinkhorn tests).
    assert!(
        (m["sinkhorn_1"] - v2).abs() < 1e-3 * v2,
        "{}",
        m["sinkhorn_1"]
    );
}

#[test]
fn predictions_made_elsewhere_score_as_the_same_stepper_from_frame_0() {
    let truth = uniform_motion();
    let protocol = Protocol::from_start(6);
    let metadata = metadata();
    let by_stepper = score(
        &mut Persistence,
        std::slice::from_ref(&truth),
        &metadata,
        &protocol,
    )
    .unwrap();
    // Persistence written out by hand: frames 0..6 true, then frame 5 repeated; the wall
    // particle (kinematic) follows its true motion, as every rollout's does.
    let per_frame = truth.n_particles * truth.dim;
    let mut position = truth.position[..6 * per_frame].to_vec();
    for _ in 6..truth.n_frames {
        position.extend_from_within(5 * per_frame..6 * per_frame);
    }
    let made = Trajectory::new(2, truth.n_frames, position, truth.kind.clone()).unwrap();
    let by_file = score_predictions(
        std::slice::from_ref(&made),
        std::slice::from_ref(&truth),
        &metadata,
        &protocol,
    );
    // Only the window from frame 0: one window, 44 predicted frames, and the same values to
    // the bit (the same frames through the same metric code).
    assert_eq!(by_stepper.metrics["windows"], 1.0);
    assert_eq!(by_file.predicted_frames, 44);
    assert_eq!(by_file.metrics, by_stepper.metrics);
    assert!(by_file.metrics.contains_key("mse_full") && by_file.metrics["mse_20"] > 0.0);
}

#[test]
fn constant_velocity_is_exact_and_scored_on_the_same_frames() {
    let truth = uniform_motion();
    let s = score(
        &mut ConstantVelocity,
        std::slice::from_ref(&truth),
        &metadata(),
        &Protocol::default(),
    )
    .unwrap();
    // Warm-up 2 but context 6: the same 44 + 4 predicted frames as any other stepper.
    assert_eq!(s.predicted_frames, 48);
    for (k, v) in &s.metrics {
        if k.starts_with("mae") {
            // Not squared: f32 rounding (3e-8 per step near 0.5) accumulates along the
            // 44-step rollout to at most ~1.3e-6.
            assert!(v.abs() < 2e-6, "{k} = {v}");
        } else if k.starts_with("sinkhorn") {
            // A problem this small is run to within ~1e-4·ε (ε = dx² = 2.5e-3) of its fixed
            // point.
            assert!(v.abs() < 3e-7, "{k} = {v}");
        } else if k != "windows" {
            // Squared errors of the accumulated f32 rounding (≤ 1.3e-6) stay below 2e-12.
            assert!(v.abs() < 1e-8, "{k} = {v}");
        }
    }
}

#[test]
fn sinkhorn_matches_the_pot_numpy_reference_fixture() {
    // tests/fixtures/sinkhorn_pot.json is written by scripts/fixtures/sinkhorn_pot.py: a float64
    // numpy fixed point converged to 1e-13, confirmed by POT's log-domain solver to 1e-6.
    // Coordinates are multiples of 1/64, exact in f32, so the inputs are identical. The cases
    // are small (under 40,000 pairs), which our solver runs to 1e-4·ε from the fixed point
    // with over-relaxation; the f32 kernel holds costs to ~1e-6·ε. Measured |ΔS| ≤ 5.4e-7·ε
    // (the dense solver before it, capped at 100 iterations: up to 1.9e-3·ε). Bound 1e-5·ε;
    // the periodic case checks the minimum image.
    let text = include_str!("fixtures/sinkhorn_pot.json");
    let fixture: serde_json::Value = serde_json::from_str(text).unwrap();
    let to_f32 = |v: &serde_json::Value| -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let dim = case["dim"].as_u64().unwrap() as usize;
        let period: Vec<Option<f64>> = case["period"]
            .as_array()
            .unwrap()
            .iter()
            .map(serde_json::Value::as_f64)
            .collect();
        let eps = case["epsilon"].as_f64().unwrap();
        let expected = case["divergence"].as_f64().unwrap();
        let s = sinkhorn_divergence(&to_f32(&case["x"]), &to_f32(&case["y"]), dim, &period, eps);
        assert!(
            (s - expected).abs() <= 1e-5 * eps,
            "{}: ours {s}, reference {expected}, |Δ| {:.2e} > {:.2e}",
            case["name"],
            (s - expected).abs(),
            1e-5 * eps
        );
    }
}

#[test]
fn energy_drift_by_hand_and_on_a_harmonic_oscillator() {
    use learnsim_eval::energy_drift;
    // By hand: max |E_t − E_0| = |0.7 − 1.0| = 0.3, scaled by 2.
    assert!((energy_drift(&[1.0, 1.1, 0.7, 1.2], 2.0) - 0.15).abs() < 1e-15);
    assert_eq!(energy_drift(&[], 1.0), 0.0);
    assert!(energy_drift(&[1.0, f64::NAN], 1.0).is_nan());
    assert!(energy_drift(&[1.0, 1.0], 0.0).is_nan());

    // Unit harmonic oscillator (ω = 1, E = ½(v² + x²) = ½ at x = 1, v = 0). Velocity Verlet
    // conserves the shadow energy ½(v² + x²(1 − h²/4)) exactly, so the true energy only
    // oscillates, with relative amplitude h²/4 (= 2.5e-3 at h = 0.1), and never drifts.
    // Symplectic Euler (v += −x h, then x += v h) has the same bound. Explicit Euler multiplies
    // the energy by 1 + h² each step: after n steps the drift is (1 + h²)^n − 1.
    let h: f64 = 0.1;
    let steps = 1000;
    let energy = |x: f64, v: f64| 0.5 * (x * x + v * v);
    let (mut x, mut v) = (1.0f64, 0.0f64);
    let mut verlet = vec![energy(x, v)];
    for _ in 0..steps {
        v -= 0.5 * h * x;
        x += h * v;
        v -= 0.5 * h * x;
        verlet.push(energy(x, v));
    }
    let (mut x, mut v) = (1.0f64, 0.0f64);
    let mut euler = vec![energy(x, v)];
    for _ in 0..steps {
        (x, v) = (x + h * v, v - h * x);
        euler.push(energy(x, v));
    }
    let verlet_drift = energy_drift(&verlet, verlet[0]);
    assert!(
        verlet_drift <= h * h / 4.0 * (1.0 + 1e-9),
        "Verlet drift {verlet_drift} exceeds the shadow-energy bound {}",
        h * h / 4.0
    );
    let euler_drift = energy_drift(&euler, euler[0]);
    let expected = (1.0 + h * h).powi(steps) - 1.0;
    assert!((euler_drift - expected).abs() < 1e-9 * expected);
}

#[test]
fn scoring_steppers_together_equals_scoring_each_alone() {
    use learnsim_eval::{Progress, score_all};
    // score_all shares the windows and the ground truth's Sinkhorn self terms: each stepper's
    // metrics must be exactly what scoring it alone gives, and progress must count every
    // (window, stepper) rollout once.
    let truth = uniform_motion();
    let truths = std::slice::from_ref(&truth);
    let protocol = Protocol::default();
    let alone = [
        score(&mut Persistence, truths, &metadata(), &protocol).unwrap(),
        score(&mut ConstantVelocity, truths, &metadata(), &protocol).unwrap(),
    ];
    let mut seen = Vec::new();
    let together = score_all(
        &mut [&mut Persistence, &mut ConstantVelocity],
        truths,
        &metadata(),
        &protocol,
        &mut |p: Progress| seen.push(p),
    )
    .unwrap();
    for (a, t) in alone.iter().zip(&together) {
        assert_eq!(a.metrics, t.metrics);
        assert_eq!(a.predicted_frames, t.predicted_frames);
    }
    // Two windows (from 0 and 40) × two steppers.
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|p| p.total == 4));
    assert_eq!(seen.last().map(|p| p.done), Some(4));
}

/// `escaped_fraction` by value on a hand-made trajectory: bounds [0, 1]², slack 0.01. Two
/// frames of five particles: positions inside, inside the slack, beyond it, beyond on a
/// periodic axis, and a kinematic wall far outside.
#[test]
fn escaped_fraction_counts_beyond_the_slack_and_skips_periodic_axes_and_walls() {
    use learnsim_eval::escaped_fraction;
    #[rustfmt::skip]
    let frames: [[f32; 10]; 2] = [
        // inside     in slack      beyond x     beyond y (periodic)  wall
        [0.5, 0.5,   1.005, 0.5,   1.02, 0.5,   0.5, -0.3,           5.0, 5.0],
        [0.5, 0.5,   -0.005, 0.5,  0.5, 0.5,    0.5, 1.5,            5.0, 5.0],
    ];
    let position: Vec<f32> = frames.concat();
    let mut kind = vec![ParticleKind::Water; 4];
    kind.push(ParticleKind::Wall);
    let t = Trajectory::new(2, 2, position, kind).unwrap();
    let bounds = [[0.0, 1.0], [0.0, 1.0]];
    // Open box: the x escape in frame 0 and both y escapes, of 2 frames × 4 moving particles.
    assert_eq!(
        escaped_fraction(&t, &bounds, &[false, false], 0.01),
        3.0 / 8.0
    );
    // y periodic: only the x escape counts.
    assert_eq!(
        escaped_fraction(&t, &bounds, &[false, true], 0.01),
        1.0 / 8.0
    );
    // No slack: the two positions 0.005 out count too.
    assert_eq!(
        escaped_fraction(&t, &bounds, &[false, true], 0.0),
        3.0 / 8.0
    );
}
