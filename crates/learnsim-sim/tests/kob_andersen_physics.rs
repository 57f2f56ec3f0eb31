//! The Kob–Andersen mixture as physics: forces as the energy's gradient, the Verlet list
//! against the double loop, Newton's third law, covariance under the cube's symmetries, energy
//! conservation of second order in dt, the thermostat's temperature, the self intermediate
//! scattering function of Gaussian displacements, ballistic propensity, and determinism.

use learnsim_sim::glass::{GlassRecipe, equilibrated, propensity};
use learnsim_sim::kob_andersen::{
    GlassSystem, KobAndersen, SPECIES_A, SPECIES_B, cube_symmetries, random_cube_symmetry, self_isf,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A tiny recipe: 256 particles, short melt and equilibration.
fn recipe() -> GlassRecipe {
    GlassRecipe {
        melt_time: 2.0,
        equilibration_time: 3.0,
        ..GlassRecipe::cpu()
    }
}

/// A liquid at T ≈ 0.6 after a short melt.
fn liquid(seed: u64) -> GlassSystem {
    equilibrated(&recipe(), seed).unwrap()
}

#[test]
fn pair_force_is_minus_the_energy_gradient_and_vanishes_at_the_minimum() {
    let p = KobAndersen::default();
    for (a, b) in [(0u8, 0u8), (0, 1), (1, 1)] {
        let (ai, bi) = (usize::from(a), usize::from(b));
        let sigma = p.sigma[ai][bi];
        let energy = |r: f64| p.pair(a, b, r * r).map_or(0.0, |(u, _)| u);
        for r in [0.85, 1.0, 1.3, 1.8, 2.2].map(|x| x * sigma) {
            // Central difference with h = 1e-5σ: truncation h²|U'''|/6 ≲ 1e-10·|U'''| and
            // rounding ε_f64|U|/h ≈ 1e-11; both far below 1e-6 of the force scale 24ε/σ.
            let h = 1e-5 * sigma;
            let numeric = -(energy(r + h) - energy(r - h)) / (2.0 * h);
            let (_, f_over_r) = p.pair(a, b, r * r).unwrap();
            let scale = 24.0 * p.epsilon[ai][bi] / sigma;
            assert!(
                (f_over_r * r - numeric).abs() < 1e-6 * scale,
                "({a},{b}) r = {r}: F = {}, −dU/dr = {numeric}",
                f_over_r * r
            );
        }
        // The minimum at 2^{1/6}σ: no force, U = −ε − U(r_c).
        let r_min = 2f64.powf(1.0 / 6.0) * sigma;
        let (_, f_over_r) = p.pair(a, b, r_min * r_min).unwrap();
        assert!((f_over_r * r_min).abs() < 1e-9, "F(r_min) = {f_over_r}");
        // Shifted: continuous (zero) at the cut-off, absent beyond it.
        let rc = p.cutoff_ratio * sigma;
        assert!(energy(rc * (1.0 - 1e-12)).abs() < 1e-9);
        assert!(p.pair(a, b, rc * rc).is_none());
    }
}

#[test]
fn verlet_list_forces_equal_the_double_loop_and_sum_to_zero() {
    // 1000 Langevin steps move particles far past the skin, so the list has been rebuilt many
    // times and pairs have crossed the periodic boundary.
    let system = liquid(3);
    let brute = system.brute_force_forces();
    let scale = brute.iter().flatten().fold(0.0f64, |m, f| m.max(f.abs()));
    for (i, (a, b)) in system.forces().iter().zip(&brute).enumerate() {
        for d in 0..3 {
            // Same pair terms summed in another order: rounding only (~1e-15 relative · √pairs).
            assert!(
                (a[d] - b[d]).abs() < 1e-11 * scale,
                "particle {i}: {a:?} vs {b:?}"
            );
        }
    }
    // Newton's third law: the pair loop adds ±f, so Σ F vanishes to rounding.
    let total: Vec<f64> = (0..3)
        .map(|d| system.forces().iter().map(|f| f[d]).sum::<f64>())
        .collect();
    assert!(
        total.iter().all(|t| t.abs() < 1e-10 * scale),
        "Σ F = {total:?}"
    );
}

#[test]
fn forces_transform_with_the_cube_symmetries() {
    let system = liquid(4);
    let l = system.box_length;
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for _ in 0..4 {
        let (perm, signs) = random_cube_symmetry(&mut rng);
        let image = |x: &[f64; 3]| -> [f64; 3] {
            std::array::from_fn(|a| (signs[a] * x[perm[a]]).rem_euclid(l))
        };
        let moved = GlassSystem::new(
            system.potential,
            l,
            system.species.clone(),
            system.wrapped_positions().iter().map(image).collect(),
        );
        let scale = system
            .forces()
            .iter()
            .flatten()
            .fold(0.0f64, |m, f| m.max(f.abs()));
        for (f, g) in system.forces().iter().zip(moved.forces()) {
            for a in 0..3 {
                // Same pairs, same arithmetic up to sign and summation order.
                assert!((signs[a] * f[perm[a]] - g[a]).abs() < 1e-10 * scale);
            }
        }
        assert!((system.potential_energy() - moved.potential_energy()).abs() < 1e-9);
    }
}

/// RMS of E(t) − ⟨E⟩ over an NVE run of duration `time` at step `dt`, and the largest
/// change of a component of the total momentum along the way.
fn nve_fluctuation(start: &GlassSystem, dt: f64, time: f64) -> (f64, f64) {
    let mut system = start.clone();
    let steps = (time / dt).round() as usize;
    let mut energies = Vec::with_capacity(steps);
    let mut momentum = 0.0f64;
    let p0 = start.momentum();
    for _ in 0..steps {
        system.step_nve(dt);
        energies.push(system.potential_energy() + system.kinetic_energy());
        let p = system.momentum();
        momentum = (0..3).fold(momentum, |m, a| m.max((p[a] - p0[a]).abs()));
    }
    let mean = energies.iter().sum::<f64>() / steps as f64;
    let rms = (energies.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / steps as f64).sqrt();
    (rms, momentum)
}

#[test]
fn nve_conserves_energy_with_an_error_of_second_order_in_dt() {
    let start = liquid(5);
    let n = start.len() as f64;
    let (coarse, p_coarse) = nve_fluctuation(&start, 0.005, 5.0);
    let (fine, p_fine) = nve_fluctuation(&start, 0.0025, 5.0);
    // Velocity Verlet conserves a shadow energy E + O(dt²), so the fluctuation of E shrinks
    // four-fold when dt halves. The truncation of the force at r_c adds a first-order kick at
    // each crossing of the cut-off; it is small (|F(r_c)| = 0.039ε/σ), so the ratio must stay
    // well above 2 (first order) and near 4: accept [3, 5].
    let ratio = coarse / fine;
    assert!(
        (3.0..5.0).contains(&ratio),
        "ratio {ratio}: {coarse} vs {fine}"
    );
    // Size: the conserved shadow energy is E + dt²(|F|²/12 − v·∇²U·v/24) + O(dt⁴) (Hairer,
    // Lubich & Wanner, Geometric Numerical Integration, IX), so E fluctuates by no more than
    // that correction, whose force part per particle is dt²⟨|F|²⟩/12. Measured: 1.9e-4 per
    // particle against this bound's 2.2e-3.
    let f2 = start.forces().iter().flatten().map(|f| f * f).sum::<f64>() / n;
    let bound = 0.005f64.powi(2) * f2 / 12.0;
    assert!(
        coarse / n < bound,
        "energy fluctuation per particle {} vs dt²⟨|F|²⟩/12 = {bound}",
        coarse / n
    );
    // Newton's third law in the integrator: total momentum keeps its start value to rounding,
    // ~1e-16 per force term times the number of pair terms and steps.
    assert!(p_coarse.max(p_fine) < 1e-9, "momentum {p_coarse} {p_fine}");
}

#[test]
fn the_langevin_thermostat_holds_the_target_temperature() {
    let mut system = liquid(6);
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let (mut sum, mut count) = (0.0, 0);
    for step in 0..8000 {
        system.step_langevin(0.005, 0.6, 1.0, &mut rng);
        if step % 10 == 0 {
            sum += system.temperature();
            count += 1;
        }
    }
    let mean = sum / f64::from(count);
    // The instantaneous temperature of N = 256 fluctuates by √(2/(3N−3)) = 5.1 %; with γ = 1
    // the kinetic energy decorrelates in ~1/(2γ) = 0.5, so 40 time units hold ≥ 40
    // independent samples and the mean's standard error is ≤ 0.8 %. Allow 4σ ≈ 3.2 %.
    assert!((mean - 0.6).abs() < 0.032 * 0.6, "⟨T⟩ = {mean}");
}

#[test]
fn self_isf_of_gaussian_displacements_is_the_gaussian_form_factor() {
    // For Δr ~ N(0, s² I), ⟨sin(k|Δr|)/(k|Δr|)⟩ = exp(−k² s² / 2) exactly.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let n = 40_000;
    let k = 7.25;
    for s in [0.05, 0.1, 0.2] {
        let start = vec![[0.0; 3]; n];
        let now: Vec<[f64; 3]> = (0..n)
            .map(|_| [0; 3].map(|_| s * Distribution::<f64>::sample(&StandardNormal, &mut rng)))
            .collect();
        let species = vec![SPECIES_A; n];
        let value = self_isf(&start, &now, &species, SPECIES_A, k);
        let expected = (-k * k * s * s / 2.0).exp();
        // sin(x)/x ∈ [−0.22, 1], so each term's std is ≤ 0.6 and the mean's ≤ 0.6/√n = 0.003;
        // allow 4σ.
        assert!(
            (value - expected).abs() < 0.012,
            "s = {s}: {value} vs {expected}"
        );
        // Particles of the other species are ignored; no displacement gives exactly 1.
        assert_eq!(self_isf(&start, &start, &species, SPECIES_A, k), 1.0);
        assert!(self_isf(&start, &now, &species, SPECIES_B, k) == 0.0);
    }
}

#[test]
fn propensity_over_one_step_is_the_maxwell_mean_speed_times_dt() {
    // Over one step the motion is ballistic: |Δr| = |v| dt + O(dt²), and the mean speed of a
    // Maxwell–Boltzmann gas at T with m = 1 is √(8T/π). 16 runs × 256 particles = 4096
    // speeds, relative std √(3π/8 − 1) = 0.42 each, so the mean is within 0.42/√4096 = 0.7 %
    // (1σ); the O(dt²) acceleration term adds ≲ 0.3 % (|F| ~ 20, dt = 0.005). Allow 3 %.
    let r = recipe();
    let system = liquid(7);
    let prop = propensity(&r, &system, r.dt, 11).unwrap();
    let mean = prop.iter().sum::<f64>() / prop.len() as f64;
    let expected = (8.0 * r.temperature / std::f64::consts::PI).sqrt() * r.dt;
    assert!((mean / expected - 1.0).abs() < 0.03, "{mean} vs {expected}");
    // Same seed, same propensities (each run's velocities come from its own seed).
    assert_eq!(prop, propensity(&r, &system, r.dt, 11).unwrap());
    assert_ne!(prop, propensity(&r, &system, r.dt, 12).unwrap());
}

#[test]
fn the_same_seed_gives_identical_configurations_and_seeds_differ() {
    let tiny = GlassRecipe {
        melt_time: 0.5,
        equilibration_time: 0.5,
        ..GlassRecipe::cpu()
    };
    let a = equilibrated(&tiny, 1).unwrap();
    let b = equilibrated(&tiny, 1).unwrap();
    let c = equilibrated(&tiny, 2).unwrap();
    assert_eq!(a.positions, b.positions);
    assert_eq!(a.velocities, b.velocities);
    assert_ne!(a.positions, c.positions);
    // 205 A and 51 B particles in a cube of density 1.2.
    assert_eq!(a.species.iter().filter(|&&s| s == SPECIES_B).count(), 51);
    assert!((a.box_length.powi(3) * 1.2 - 256.0).abs() < 1e-9);
}

#[test]
fn the_cube_group_has_48_distinct_orthogonal_elements_closed_under_composition() {
    let group = cube_symmetries();
    assert_eq!(group.len(), 48);
    assert_eq!(group[0], ([0, 1, 2], [1.0, 1.0, 1.0]));
    let apply = |g: &([usize; 3], [f64; 3]), x: [f64; 3]| -> [f64; 3] {
        std::array::from_fn(|a| g.1[a] * x[g.0[a]])
    };
    // Distinct as maps: their images of a generic vector differ.
    let probe = [1.0, 2.0, 3.0];
    let images: Vec<[f64; 3]> = group.iter().map(|g| apply(g, probe)).collect();
    for i in 0..48 {
        for j in i + 1..48 {
            assert_ne!(images[i], images[j]);
        }
    }
    // Closed: every composition is again an element.
    for g in &group {
        for h in &group {
            let composed = apply(g, apply(h, probe));
            assert!(images.contains(&composed));
        }
    }
    // The random element is one of them.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..10 {
        assert!(group.contains(&random_cube_symmetry(&mut rng)));
    }
}
