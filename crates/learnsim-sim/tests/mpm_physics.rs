//! Physics of the MLS-MPM solver: mass, free fall, settling water, sand's angle of repose,
//! the walls' slip and sticky conditions.

use learnsim_core::{ParticleKind, ParticleState, Stepper};
use learnsim_sim::mpm::{DruckerPrager, Material, MpmConfig, MpmState, WaterEos};
use learnsim_sim::{Case, Split, trajectory_seed};

/// A block of particles on the lattice of 2 × 2 per cell, with lower-left corner `corner`.
fn block(config: &MpmConfig, corner: [f64; 2], size: [f64; 2], velocity: [f64; 2]) -> MpmState {
    let s = config.particle_spacing();
    let (nx, ny) = (
        (size[0] / s).round() as usize,
        (size[1] / s).round() as usize,
    );
    let position: Vec<[f64; 2]> = (0..nx * ny)
        .map(|k| {
            [
                corner[0] + ((k % nx) as f64 + 0.5) * s,
                corner[1] + ((k / nx) as f64 + 0.5) * s,
            ]
        })
        .collect();
    let n = position.len();
    let mut state = ParticleState::at_rest(position, vec![ParticleKind::Water; n]);
    state.velocity = vec![velocity; n];
    MpmState::new(&state)
}

/// Quadratic B-spline weights sum to one, so particle-to-grid transfers all mass: the grid
/// carries Σ m_p after every substep (relative error ~ N·ε ≈ 1e-13).
#[test]
fn particle_to_grid_conserves_mass_every_substep() {
    let config = MpmConfig::flagship(Material::water());
    let mut solver = config.init();
    let mut state = block(&config, [0.3, 0.5], [0.2, 0.1], [1.0, -0.5]);
    let total = solver.total_mass(&state);
    for _ in 0..200 {
        solver.substep(&mut state);
        assert!((solver.grid_mass() - total).abs() < 1e-12 * total);
    }
}

/// APIC transfers conserve momentum, and a block far from the walls feels only gravity: its
/// mean velocity after n substeps is v₀ − g·n·dt exactly, up to round-off (1e-12 on ~1 m/s).
#[test]
fn free_fall_matches_the_analytic_velocity() {
    for material in [Material::water(), Material::sand(), Material::goop()] {
        let config = MpmConfig::flagship(material);
        let mut solver = config.init();
        let mut state = block(&config, [0.4, 0.6], [0.1, 0.1], [0.3, 0.2]);
        let n = 1000; // 0.1 s: the block falls ≤ 0.03 m and stays clear of the walls.
        for _ in 0..n {
            solver.substep(&mut state);
        }
        let count = state.particles.len() as f64;
        let mean_v: [f64; 2] = std::array::from_fn(|a| {
            state.particles.iter().map(|p| p.velocity[a]).sum::<f64>() / count
        });
        let expected = [0.3, 0.2 - config.gravity * n as f64 * config.dt];
        assert!(
            (mean_v[0] - expected[0]).abs() < 1e-10,
            "{mean_v:?} vs {expected:?}"
        );
        assert!(
            (mean_v[1] - expected[1]).abs() < 1e-10,
            "{mean_v:?} vs {expected:?}"
        );
    }
}

/// A water block released at rest on the floor collapses and then settles, bounded from both
/// sides so that neither a stuck nor an over-damped solver passes: its centre of mass falls
/// from 0.1 above the floor to under half that (a pool of the same area across the box is
/// 0.025 deep at its centre; measured 0.026), the collapse turns at least 30 % of the
/// potential energy it releases into kinetic energy at its peak (measured 85 %), and the
/// kinetic energy over the last 0.25 s of a 2 s run is under 10 % of that peak (measured 3.4 %).
#[test]
fn resting_water_block_settles() {
    let config = MpmConfig::flagship(Material::water());
    let mut solver = config.init();
    let mut state = block(&config, [0.1, 0.1], [0.2, 0.2], [0.0, 0.0]);
    let com = |s: &MpmState| {
        s.particles
            .iter()
            .map(|p| p.position[1] - config.wall_lower)
            .sum::<f64>()
            / s.particles.len() as f64
    };
    let start = com(&state);
    let frames = (2.0 / config.frame_dt()) as usize;
    let mut energies = Vec::with_capacity(frames);
    for _ in 0..frames {
        solver.step(&mut state).unwrap();
        energies.push(solver.kinetic_energy(&state));
    }
    let end = com(&state);
    assert!(end < 0.5 * start, "centre of mass {start} → {end}");
    let released = solver.total_mass(&state) * config.gravity * (start - end);
    let peak = energies.iter().cloned().fold(0.0, f64::max);
    assert!(
        peak > 0.3 * released,
        "peak KE {peak} of {released} released"
    );
    let tail = &energies[frames - 100..];
    let late = tail.iter().sum::<f64>() / tail.len() as f64;
    assert!(late < 0.1 * peak, "late KE {late} vs peak {peak}");
}

/// A heap of sand on the floor, 0.5 wide at the base, its flanks at `flank_deg`, its top cut flat
/// at 0.12 high.
fn sand_heap(config: &MpmConfig, flank_deg: f64) -> MpmState {
    let mut state = block(config, [0.2, 0.1], [0.6, 0.12], [0.0, 0.0]);
    let slope = flank_deg.to_radians().tan();
    state
        .particles
        .retain(|p| p.position[1] - 0.1 <= slope * (0.25 - (p.position[0] - 0.5).abs()));
    state
}

/// The two flank angles of a pile, in degrees: the surface height per column of width 2·dx, and
/// a least-squares slope on each flank between 20 % and 80 % of the peak height.
fn flank_angles(config: &MpmConfig, state: &MpmState) -> [f64; 2] {
    let bin = 2.0 * config.dx();
    let n_bins = ((config.wall_upper - config.wall_lower) / bin) as usize;
    let mut height = vec![0.0f64; n_bins];
    for p in &state.particles {
        let b = (((p.position[0] - config.wall_lower) / bin) as usize).min(n_bins - 1);
        height[b] = height[b].max(p.position[1] - config.wall_lower);
    }
    let peak = height.iter().cloned().fold(0.0, f64::max);
    let peak_bin = height.iter().position(|&h| h == peak).unwrap();
    let flank_slope = |range: Vec<usize>| {
        let pts: Vec<(f64, f64)> = range
            .into_iter()
            .filter(|&b| height[b] > 0.2 * peak && height[b] < 0.8 * peak)
            .map(|b| (b as f64 * bin, height[b]))
            .collect();
        let n = pts.len() as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / n,
            pts.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        (sxy / sxx).abs().atan().to_degrees()
    };
    [
        flank_slope((0..peak_bin).collect()),
        flank_slope((peak_bin + 1..n_bins).collect()),
    ]
}

/// Sand's angle of repose, the steepest slope a pile holds, lies in the recipe's friction range
/// of 30–40°: a heap built at 30° stands for a second under gravity, and one built at 40° does
/// not. Between them sits the slope the yield cone allows: in plane strain the Drucker–Prager
/// cone ‖dev τ‖ ≤ −α tr τ is a Mohr–Coulomb criterion with sin φ_eff = √2·α, and Klar et al.'s
/// α(35°) = 0.386 gives φ_eff = 33.1°, the steepest stable slope of a cohesionless heap.
///
/// Tolerances: a heap that stands keeps its flanks within 2° of 30° (measured 29.4° and 30.5°;
/// the 2·dx columns of the surface resolve the slope of a 0.12-high flank to about ±1°). A
/// heap that fails slumps well past φ_eff: measured 27–28° after a second; the bound is 33°.
/// A failed heap still stands far steeper than a liquid, which spreads flat: above 20°.
/// (An avalanche overshoots the static angle, as real sand does: a 60° heap ends at about 26°,
/// and a taller one at 19°, which the earlier version of this test measured.)
#[test]
fn sand_pile_angle_of_repose_is_in_the_friction_range() {
    let config = MpmConfig::flagship(Material::sand());
    let Material::Sand(sand) = config.material else {
        unreachable!()
    };
    let phi_eff = (2f64.sqrt() * sand.alpha()).asin().to_degrees();
    assert!((30.0..40.0).contains(&phi_eff), "φ_eff = {phi_eff}");
    let settle = |flank_deg: f64| {
        let mut solver = config.init();
        let mut state = sand_heap(&config, flank_deg);
        for _ in 0..(1.0 / config.frame_dt()) as usize {
            solver.step(&mut state).unwrap();
        }
        flank_angles(&config, &state)
    };
    for angle in settle(30.0) {
        assert!((angle - 30.0).abs() < 2.0, "a 30° heap slumped to {angle}°");
    }
    for angle in settle(40.0) {
        assert!(
            (20.0..33.0).contains(&angle),
            "a 40° heap settled at {angle}°"
        );
    }
}

/// Share of the acceleration variance (about free fall) above a centred 5-frame moving
/// average, over every particle of `n_traj` generated water-drop scenes of `n_frames` frames:
/// the "ringing" of issue #24, which no model can predict from the particles' past.
fn ringing_share(config: MpmConfig, n_traj: usize, n_frames: usize) -> f64 {
    use learnsim_sim::scenes::{BlocksScene, random_blocks};
    use rand::SeedableRng;
    let scene = BlocksScene {
        spacing: config.particle_spacing(),
        n_particles: (300, 600),
        max_blocks: 3,
        max_speed: 2.0,
        region: (config.wall_lower + 0.02, config.wall_upper - 0.02),
        kind: ParticleKind::Water,
    };
    let g_dt2 = -config.gravity * config.frame_dt().powi(2);
    let (mut high, mut total) = (0.0, 0.0);
    for t in 0..n_traj {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(trajectory_seed(0, Split::Train, t));
        let mut state = MpmState::new(&random_blocks(&scene, &mut rng).unwrap());
        let mut solver = config.init();
        let mut frames = vec![
            state
                .particles
                .iter()
                .map(|p| p.position)
                .collect::<Vec<_>>(),
        ];
        for _ in 1..n_frames {
            solver.step(&mut state).unwrap();
            frames.push(state.particles.iter().map(|p| p.position).collect());
        }
        let n = frames[0].len();
        let acc = |f: usize, p: usize, a: usize| {
            frames[f + 1][p][a] - 2.0 * frames[f][p][a] + frames[f - 1][p][a]
        };
        for f in 3..n_frames - 3 {
            for p in 0..n {
                for a in 0..2 {
                    let mean = (f - 2..=f + 2).map(|g| acc(g, p, a)).sum::<f64>() / 5.0;
                    high += (acc(f, p, a) - mean).powi(2);
                    total += (acc(f, p, a) - if a == 1 { g_dt2 } else { 0.0 }).powi(2);
                }
            }
        }
    }
    high / total
}

/// The water-drop water's viscosity removes the acoustic ringing that dominated its
/// accelerations (issue #24). Measured over these 3 scenes: 0.41 of the variance above the
/// moving average without viscosity, 0.22 with ν = 0.05 (6 scenes: 0.41 and 0.22). The bound
/// 0.3 sits between them, far from both; the ringing is acoustic (its share moves with the
/// sound speed: 0.17 at K = 100, where the period 2L/c outgrows the 5-frame average).
#[test]
fn water_drop_viscosity_damps_the_ringing() {
    let damped = Case::WaterDrop2d.mpm_config().unwrap();
    let inviscid = MpmConfig {
        material: Material::water(),
        ..damped
    };
    let with = ringing_share(damped, 3, 300);
    let without = ringing_share(inviscid, 3, 300);
    assert!(with < 0.3, "ringing share with viscosity {with}");
    assert!(without > 0.3, "ringing share without viscosity {without}");
}

/// A box full of water without gravity carrying a standing sound wave, v_x = A·sin(k(x − x₀))
/// with k = 4π/L (two wavelengths across the box, nodes at both walls), run `warm` substeps
/// so that the particles' affine fields C hold the grid's velocity gradient.
fn sound_wave(water: WaterEos, warm: usize) -> (learnsim_sim::mpm::Mpm, MpmState) {
    let config = MpmConfig {
        n_grid: 64,
        gravity: 0.0,
        material: Material::Water(water),
        ..MpmConfig::flagship(Material::water())
    };
    let (lo, hi) = (config.wall_lower, config.wall_upper);
    let k = 4.0 * std::f64::consts::PI / (hi - lo);
    let mut state = block(&config, [lo, lo], [hi - lo, hi - lo], [0.0, 0.0]);
    for p in &mut state.particles {
        p.velocity = [0.01 * (k * (p.position[0] - lo)).sin(), 0.0];
    }
    let mut solver = config.init();
    for _ in 0..warm {
        solver.substep(&mut state);
    }
    (solver, state)
}

/// Bulk viscosity dissipates exactly what theory says and only through compression. Its
/// stress ζ·(∇·v)·I does work −ζ(∇·v)² per unit volume, so one substep from the same state
/// with ζ and without it differs in kinetic energy by −dt·Σ_p V_p·J_p·ζ·(tr C_p)², C_p the
/// particle's velocity gradient (the stress is built from C at the start of the substep and
/// does its work on the grid velocities that result, which differ from C's by O(dt·c·k) =
/// 2e-3 per substep here; the rest is the B-spline's interpolation of a gradient resolved by
/// 26 cells per wavelength, a few per cent: bound 10 %; measured 0.94 and 0.98 of theory).
/// Checked at two states 40 substeps apart, at ζ = 0.1 and 0.3 (linear in ζ). A
/// rotation, a shear and a trace-free stretch get no bulk stress; an isotropic expansion
/// C = a·I gets τ = (2μ + 2ζ)·a·I at J = 1.
#[test]
fn bulk_viscosity_dissipates_the_compression_work_and_nothing_else() {
    use learnsim_sim::mpm::MpmParticle;
    let mu = 0.05;
    let water = |bulk_viscosity| WaterEos {
        bulk_modulus: 400.0,
        viscosity: mu,
        bulk_viscosity,
    };
    for warm in [30, 70] {
        let (mut plain, start) = sound_wave(water(0.0), warm);
        let volume = plain.particle_mass();
        let dt = plain.config().dt;
        let compression: f64 = start
            .particles
            .iter()
            .map(|p| volume * p.volume_ratio * (p.affine[0][0] + p.affine[1][1]).powi(2))
            .sum();
        let mut after_plain = start.clone();
        plain.substep(&mut after_plain);
        for zeta in [0.1, 0.3] {
            let mut viscous = MpmConfig {
                material: Material::Water(water(zeta)),
                ..*plain.config()
            }
            .init();
            let mut after = start.clone();
            viscous.substep(&mut after);
            let lost = plain.kinetic_energy(&after_plain) - viscous.kinetic_energy(&after);
            let theory = dt * zeta * compression;
            assert!(
                (lost / theory - 1.0).abs() < 0.1,
                "after {warm} substeps, ζ = {zeta}: lost {lost:.3e}, theory {theory:.3e}"
            );
        }
    }
    let eos = water(0.3);
    for affine in [
        [[0.0, -3.0], [3.0, 0.0]],
        [[0.0, 2.0], [0.0, 0.0]],
        [[1.0, 0.0], [0.0, -1.0]],
    ] {
        let mut with_bulk = MpmParticle::new([0.5, 0.5], [0.0, 0.0]);
        with_bulk.affine = affine;
        let mut without_bulk = with_bulk;
        assert_eq!(
            eos.update_and_stress(&mut with_bulk, 0.0),
            water(0.0).update_and_stress(&mut without_bulk, 0.0)
        );
    }
    let mut expansion = MpmParticle::new([0.5, 0.5], [0.0, 0.0]);
    expansion.affine = [[0.5, 0.0], [0.0, 0.5]];
    let tau = eos.update_and_stress(&mut expansion, 0.0);
    let expected = (2.0 * mu + 2.0 * 0.3) * 0.5;
    assert!((tau[0][0] - expected).abs() < 1e-15 && (tau[1][1] - expected).abs() < 1e-15);
    assert_eq!([tau[0][1], tau[1][0]], [0.0, 0.0]);
}

/// The viscous stress is 2μ·sym(∇v): a rigid rotation (antisymmetric C) dissipates nothing,
/// and a pure shear gets τ_xy = μ·(C_xy + C_yx) at J = 1.
#[test]
fn water_viscous_stress_is_objective_and_newtonian() {
    use learnsim_sim::mpm::MpmParticle;
    let water = WaterEos {
        bulk_modulus: 400.0,
        viscosity: 0.05,
        bulk_viscosity: 0.0,
    };
    let mut spin = MpmParticle::new([0.5, 0.5], [0.0, 0.0]);
    spin.affine = [[0.0, -3.0], [3.0, 0.0]];
    let tau = water.update_and_stress(&mut spin, 0.0);
    assert_eq!(tau, [[0.0, 0.0], [0.0, 0.0]]);
    let mut shear = MpmParticle::new([0.5, 0.5], [0.0, 0.0]);
    shear.affine = [[0.0, 2.0], [0.0, 0.0]];
    let tau = water.update_and_stress(&mut shear, 0.0);
    assert_eq!(tau, [[0.0, 0.1], [0.1, 0.0]]);
}

/// The walls' own condition, not the clamp after advection (which keeps any particle inside,
/// so a containment test passes with the walls deleted): a water block at rest on the floor for
/// 0.5 s stays above it. Its bottom row starts half a spacing up and the pool compresses a
/// little under its weight (measured: lowest particle 0.40 spacing up); with the grid's wall
/// band removed, 282 of its 1326 particles end pinned by the clamp at the floor itself.
#[test]
fn the_floor_holds_a_resting_block_by_its_wall_condition() {
    let config = MpmConfig::flagship(Material::water());
    let mut solver = config.init();
    let floor = config.wall_lower;
    let mut state = block(&config, [0.3, floor], [0.2, 0.1], [0.0, 0.0]);
    for _ in 0..200 {
        solver.step(&mut state).unwrap();
    }
    let lowest = state
        .particles
        .iter()
        .map(|p| p.position[1] - floor)
        .fold(f64::MAX, f64::min);
    assert!(
        lowest > 0.2 * config.particle_spacing(),
        "lowest particle {lowest} above the floor"
    );
}

/// Slip walls keep the tangential velocity (water, goop); sticky walls remove it (sand, as in
/// the GNS datasets' MPM). A block sliding at 1 m/s along the floor: the particles within one
/// cell of it keep 1 m/s for water (no shear anywhere, so only round-off and pressure waves:
/// measured |Δv| 1e-6 after 10 frames; bound 1e-3), and lose most of it at once for sand (the
/// wall band's nodes carry at least half a first-cell particle's weight: measured 0.16 m/s
/// after one frame, 0.046 after ten; bounds 0.5 and 0.1). With the sticky condition deleted,
/// sand's floor layer keeps 1.0 m/s.
#[test]
fn slip_walls_keep_tangential_velocity_and_sticky_walls_remove_it() {
    let floor_layer = |material: Material, frames: usize| {
        let config = MpmConfig::flagship(material);
        let mut solver = config.init();
        let floor = config.wall_lower;
        let mut state = block(&config, [0.3, floor], [0.2, 0.1], [1.0, 0.0]);
        for _ in 0..frames {
            solver.step(&mut state).unwrap();
        }
        let near: Vec<f64> = state
            .particles
            .iter()
            .filter(|p| p.position[1] < floor + config.dx())
            .map(|p| p.velocity[0])
            .collect();
        assert!(!near.is_empty());
        near.iter().sum::<f64>() / near.len() as f64
    };
    let water = floor_layer(Material::water(), 10);
    assert!(
        (water - 1.0).abs() < 1e-3,
        "water's floor layer at {water} m/s"
    );
    let sand = floor_layer(Material::sand(), 1);
    assert!(
        sand < 0.5,
        "sand's floor layer at {sand} m/s after one frame"
    );
    let sand = floor_layer(Material::sand(), 10);
    assert!(
        sand < 0.1,
        "sand's floor layer at {sand} m/s after ten frames"
    );
}

/// Issue #38: sand's friction angle, which `sand-2d --friction-angles` varies per trajectory,
/// sets the runout of a collapsing column, as in granular column collapse experiments (Lube et
/// al. 2005: the deposit spreads further the lower the friction). A 0.1 × 0.2 column released on
/// the floor, after one second (the deposit is at rest): the half-width of the deposit (the 99th
/// percentile of |x − centre|) falls monotonically from 20° to 45°, and the deposit's final
/// height rises.
///
/// Tolerances: measured half-widths 0.389, 0.293 and 0.189 (25 % and 35 % less per step; at 20°
/// the deposit nearly reaches the walls 0.4 away) and heights 0.045, 0.062 and 0.085; the bound
/// asks for at least 10 % less per step, under half the measured drop, and a rising height.
#[test]
fn friction_angle_sets_the_runout_of_a_collapsing_column() {
    let mut previous: Option<(f64, f64)> = None;
    for deg in [20.0, 30.0, 45.0] {
        let config = MpmConfig::flagship(Material::Sand(DruckerPrager {
            friction_angle_deg: deg,
            ..DruckerPrager::default()
        }));
        let mut solver = config.init();
        let mut state = block(&config, [0.45, 0.1], [0.1, 0.2], [0.0, 0.0]);
        for _ in 0..(1.0 / config.frame_dt()) as usize {
            solver.step(&mut state).unwrap();
        }
        let mut offsets: Vec<f64> = state
            .particles
            .iter()
            .map(|p| (p.position[0] - 0.5).abs())
            .collect();
        offsets.sort_by(f64::total_cmp);
        let half_width = offsets[offsets.len() * 99 / 100];
        let height = state
            .particles
            .iter()
            .map(|p| p.position[1] - 0.1)
            .fold(0.0, f64::max);
        if let Some((w, h)) = previous {
            assert!(
                half_width < 0.9 * w,
                "φ = {deg}°: half-width {half_width} vs {w} at the lower angle"
            );
            assert!(height > h, "φ = {deg}°: height {height} vs {h}");
        }
        previous = Some((half_width, height));
    }
}

/// The generator's side of issue #38: a varied angle has its own seed stream (the same scene at
/// any angle), is stored as tan φ on every particle, and changes the motion; the recipe's sand
/// stores nothing and other materials refuse an angle.
#[test]
fn varied_friction_keeps_the_scene_and_stores_tan_phi() {
    use learnsim_sim::{Case, MaterialVariation, SceneVariation, Tier};
    let seed = trajectory_seed(0, Split::Train, 0);
    let run = |deg: f64| {
        Case::Sand2d
            .simulate_with(
                Tier::Cpu,
                seed,
                120,
                MaterialVariation::FrictionAngle {
                    low_deg: deg,
                    high_deg: deg,
                },
                SceneVariation::Recipe,
                &|| {},
            )
            .unwrap()
    };
    let (low, high) = (run(20.0), run(45.0));
    assert_eq!(low.frame(0), high.frame(0), "the same scene");
    assert_ne!(low.frame(119), high.frame(119), "different sand");
    for (t, deg) in [(&low, 20f64), (&high, 45.0)] {
        let tan = deg.to_radians().tan() as f32;
        assert_eq!(t.material.width, 1);
        assert!(t.material.values.iter().all(|&v| v == tan));
    }
    let plain = Case::Sand2d.simulate(Tier::Cpu, seed, 3, &|| {}).unwrap();
    assert!(plain.material.is_empty());
    let water = Case::WaterDrop2d.simulate_with(
        Tier::Cpu,
        1,
        3,
        MaterialVariation::FrictionAngle {
            low_deg: 30.0,
            high_deg: 40.0,
        },
        SceneVariation::Recipe,
        &|| {},
    );
    assert!(water.unwrap_err().to_string().contains("only sand"));
}

/// `generate sand-2d --scene column-collapse`: one column released at rest on the floor, the
/// same column at every angle (the scene draws from the scene's stream only), whose runout the
/// friction angle sets as in `friction_angle_sets_the_runout_of_a_collapsing_column`: after
/// 200 frames (0.5 s, at rest by then) the deposit is wider at 20° than at 45°. The SPH cases
/// refuse the scene.
///
/// Tolerance: the deposit's half-width (99th percentile of |x − the column's centre|) must be
/// at least 10 % larger at 20°; measured for this seed 0.230 against 0.108 (2.1×, as the
/// 0.1 × 0.2 column of the test above), so the bound leaves most of the effect as margin.
#[test]
fn a_collapsing_column_runs_out_further_at_a_lower_friction_angle() {
    use learnsim_sim::{Case, MaterialVariation, SceneVariation, Tier};
    let seed = trajectory_seed(0, Split::Train, 1);
    let run = |deg: f64| {
        Case::Sand2d
            .simulate_with(
                Tier::Cpu,
                seed,
                200,
                MaterialVariation::FrictionAngle {
                    low_deg: deg,
                    high_deg: deg,
                },
                SceneVariation::ColumnCollapse,
                &|| {},
            )
            .unwrap()
    };
    let (low, high) = (run(20.0), run(45.0));
    assert_eq!(low.frame(0), high.frame(0), "the same column");
    let first = low.frame(0);
    let n = low.n_particles;
    let centre = (0..n).map(|i| first[2 * i] as f64).sum::<f64>() / n as f64;
    let half_width = |t: &learnsim_core::Trajectory| {
        let last = t.frame(199);
        let mut offsets: Vec<f64> = (0..n)
            .map(|i| (last[2 * i] as f64 - centre).abs())
            .collect();
        offsets.sort_by(f64::total_cmp);
        offsets[n * 99 / 100]
    };
    let (w_low, w_high) = (half_width(&low), half_width(&high));
    assert!(
        w_low > 1.1 * w_high,
        "half-width {w_low} at 20° against {w_high} at 45° (ratio {})",
        w_low / w_high
    );
    let tgv = Case::Tgv2d.simulate_with(
        Tier::Cpu,
        1,
        3,
        MaterialVariation::Recipe,
        SceneVariation::ColumnCollapse,
        &|| {},
    );
    assert!(tgv.unwrap_err().to_string().contains("MPM cases"));
}
