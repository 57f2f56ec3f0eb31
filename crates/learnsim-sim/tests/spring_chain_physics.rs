//! The mass–spring chain as physics: Hooke's law by hand, a harmonic oscillator against its
//! closed form, first-order energy convergence of semi-implicit Euler, fixed ends, seeds.

use learnsim_sim::spring_chain::{Chain, ChainConfig};

fn three_masses() -> Chain {
    Chain {
        fixed: vec![true, false, true],
        stiffness: vec![50.0, 40.0],
        rest_length: vec![1.0, 1.0],
        gravity: -10.0,
        position: vec![[0.0, 0.0], [1.2, 0.0], [2.0, 0.0]],
        velocity: vec![[0.0; 2]; 3],
    }
}

#[test]
fn hooke_forces_by_hand() {
    // Spring 0 stretched by 0.2 pulls the middle mass left with 50·0.2 = 10; spring 1
    // compressed by 0.2 pushes it left with 40·0.2 = 8; gravity −10 in y. Fixed ends feel none.
    let f = three_masses().forces();
    assert!(
        (f[1][0] + 18.0).abs() < 1e-12 && (f[1][1] + 10.0).abs() < 1e-12,
        "{f:?}"
    );
    assert_eq!(f[0], [0.0, 0.0]);
    assert_eq!(f[2], [0.0, 0.0]);
    // Energy: springs ½·50·0.04 + ½·40·0.04 = 1.8; gravity −g·y = 0 at y = 0; at rest.
    assert!((three_masses().energy() - 1.8).abs() < 1e-12);
}

#[test]
fn a_fixed_mass_and_a_free_one_oscillate_as_a_harmonic_oscillator() {
    // No gravity, k = 50, unit mass: x(t) = 1 + A cos(ω t), ω = √50, A = 0.1. Semi-implicit
    // Euler lags the exact solution by about half a step in phase, an error ≤ A ω dt/2 ≈ 3.5e-5
    // at dt = 1e-4; its frequency error, ω (ω dt)²/24 over t = 2 s, adds ~1e-7. Bound: A ω dt.
    let (k, a, dt) = (50.0f64, 0.1, 1e-4);
    let mut chain = Chain {
        fixed: vec![true, false],
        stiffness: vec![k],
        rest_length: vec![1.0],
        gravity: 0.0,
        position: vec![[0.0, 0.0], [1.0 + a, 0.0]],
        velocity: vec![[0.0; 2]; 2],
    };
    let omega = k.sqrt();
    for n in 1..=20_000 {
        chain.step(dt);
        let exact = 1.0 + a * (omega * n as f64 * dt).cos();
        assert!(
            (chain.position[1][0] - exact).abs() <= a * omega * dt,
            "step {n}: {} vs {exact}",
            chain.position[1][0]
        );
        assert_eq!(chain.position[0], [0.0, 0.0]);
    }
}

#[test]
fn energy_error_is_first_order_in_dt_and_fixed_ends_stay_put() {
    // Semi-implicit Euler is symplectic and first order: the energy oscillates without drift
    // with an amplitude ∝ dt, so halving dt halves the worst error over the same time
    // (ratio 2 up to higher-order terms; accepted 1.7–2.3).
    let config = ChainConfig::default();
    let worst = |dt: f64| {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(5);
        let mut chain = config.random_chain(6, Some(0.5), &mut rng);
        let e0 = chain.energy();
        let ends = (chain.position[0], chain.position[5]);
        let mut worst = 0.0f64;
        for _ in 0..(2.0 / dt).round() as usize {
            chain.step(dt);
            worst = worst.max((chain.energy() - e0).abs());
        }
        assert_eq!((chain.position[0], chain.position[5]), ends);
        worst
    };
    let (coarse, fine) = (worst(2e-3), worst(1e-3));
    let ratio = coarse / fine;
    assert!(
        (1.7..=2.3).contains(&ratio),
        "{coarse:.3e} / {fine:.3e} = {ratio}"
    );
}

#[test]
fn chains_start_unstretched_at_rest_and_are_a_function_of_their_seed() {
    let config = ChainConfig::default();
    let a = config.simulate(7, None, 50, 3);
    assert_eq!(a, config.simulate(7, None, 50, 3));
    assert_ne!(a.position, config.simulate(7, None, 50, 4).position);
    let c = &a.initial;
    assert_eq!(c.fixed, vec![true, false, false, false, false, false, true]);
    assert!(c.velocity.iter().all(|v| *v == [0.0, 0.0]));
    for s in 0..6 {
        let r = (c.position[s + 1][0] - c.position[s][0])
            .hypot(c.position[s + 1][1] - c.position[s][1]);
        assert!((r - c.rest_length[s]).abs() < 1e-15);
        assert!((45.0..=55.0).contains(&c.stiffness[s]));
    }
    assert!((-11.0..=-9.0).contains(&c.gravity));
    // At rest and unstretched, only gravity acts at first: the free masses fall.
    assert!(a.position[1][1][1] < c.position[1][1]);
    assert_eq!(a.n_frames(), 50);
}
