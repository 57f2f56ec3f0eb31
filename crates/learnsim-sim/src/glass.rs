//! Propensity data for glassy dynamics (Bapst et al. 2020) from Kob–Andersen MD.
//!
//! Each configuration is melted from a lattice, equilibrated with a Langevin thermostat, and
//! then run `iso_runs` times in NVE from the same positions with fresh Boltzmann velocities
//! (the iso-configurational ensemble). A particle's propensity is the mean over those runs of
//! |r_i(τ_α) − r_i(0)|. τ_α is measured once, after equilibration and before the propensity
//! runs, as the time at which the A particles' self intermediate scattering function at
//! k = 7.25, averaged over NVE runs spread across the configurations, first reaches 1/e.

use crate::SimError;
use crate::kob_andersen::{GlassSystem, SPECIES_A, Species, displacements, self_isf};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How the propensity data are made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlassRecipe {
    /// A particles.
    pub n_a: usize,
    /// B particles.
    pub n_b: usize,
    /// Number density.
    pub density: f64,
    /// Temperature of equilibration and of the iso-configurational velocities.
    pub temperature: f64,
    /// Velocity-Verlet / BAOAB time step.
    pub dt: f64,
    /// Temperature of the melt that erases the lattice.
    pub melt_temperature: f64,
    /// Duration of the melt.
    pub melt_time: f64,
    /// Duration of the Langevin equilibration at `temperature` (must be ≥ 5 τ_α).
    pub equilibration_time: f64,
    /// Langevin friction.
    pub friction: f64,
    /// Wavenumber of the self intermediate scattering function.
    pub isf_k: f64,
    /// NVE runs averaged when measuring τ_α.
    pub isf_runs: usize,
    /// Longest time searched for τ_α.
    pub isf_max_time: f64,
    /// Iso-configurational NVE runs per configuration.
    pub iso_runs: usize,
}

impl GlassRecipe {
    /// The CPU tier of cases.md: N = 256 (205 A + 51 B), density 1.2, T = 0.6, dt 0.005,
    /// 16 iso-configurational runs per configuration.
    pub fn cpu() -> Self {
        Self {
            n_a: 205,
            n_b: 51,
            density: 1.2,
            temperature: 0.6,
            dt: 0.005,
            melt_temperature: 2.0,
            melt_time: 10.0,
            equilibration_time: 150.0,
            friction: 1.0,
            isf_k: 7.25,
            isf_runs: 8,
            isf_max_time: 150.0,
            iso_runs: 16,
        }
    }

    fn steps(&self, time: f64) -> usize {
        (time / self.dt).round() as usize
    }
}

/// F_s(k, t) of the A particles, averaged over NVE runs, and the τ_α read off it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relaxation {
    /// Times of the samples.
    pub times: Vec<f64>,
    /// F_s at each time.
    pub isf: Vec<f64>,
    /// First time F_s reaches 1/e (linear interpolation between samples).
    pub tau_alpha: f64,
}

/// One configuration and its propensities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropensitySample {
    /// Positions at t = 0, wrapped into `[0, L)³`.
    pub positions: Vec<[f64; 3]>,
    /// Species of each particle.
    pub species: Vec<Species>,
    /// Edge of the periodic cube.
    pub box_length: f64,
    /// Mean |Δr| at τ_α over the iso-configurational runs.
    pub propensity: Vec<f64>,
    /// Each particle's potential energy at t = 0 (the linear baseline's first feature).
    pub potential_energy: Vec<f64>,
    /// Neighbours within 1.4 σ_AA at t = 0 (the linear baseline's second feature).
    pub neighbours: Vec<usize>,
}

impl PropensitySample {
    /// Checks that every per-particle vector has one entry per particle and that positions lie
    /// in the box and values are finite; says what is wrong otherwise.
    pub fn check(&self) -> Result<(), String> {
        let n = self.positions.len();
        for (name, len) in [
            ("species", self.species.len()),
            ("propensity", self.propensity.len()),
            ("potential_energy", self.potential_energy.len()),
            ("neighbours", self.neighbours.len()),
        ] {
            if len != n {
                return Err(format!("{name} has {len} entries for {n} particles"));
            }
        }
        if !(self.box_length.is_finite() && self.box_length > 0.0) {
            return Err(format!("box length {} is not positive", self.box_length));
        }
        if let Some(i) = self.positions.iter().position(|x| {
            x.iter()
                .any(|c| !c.is_finite() || *c < 0.0 || *c >= self.box_length)
        }) {
            return Err(format!(
                "particle {i} lies outside [0, L)³ or is not finite"
            ));
        }
        if let Some(i) = self
            .propensity
            .iter()
            .chain(&self.potential_energy)
            .position(|v| !v.is_finite())
        {
            return Err(format!(
                "value {i} of propensity/potential_energy is not finite"
            ));
        }
        if let Some(i) = self.species.iter().position(|&s| s > 1) {
            return Err(format!(
                "particle {i} has species {} (A = 0, B = 1)",
                self.species[i]
            ));
        }
        Ok(())
    }
}

/// The whole data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlassDataset {
    /// The relaxation measured at the start.
    pub relaxation: Relaxation,
    /// One sample per configuration.
    pub samples: Vec<PropensitySample>,
}

fn check_finite(system: &GlassSystem, step: usize) -> Result<(), SimError> {
    match system
        .positions
        .iter()
        .zip(&system.velocities)
        .position(|(x, v)| x.iter().chain(v).any(|c| !c.is_finite()))
    {
        Some(particle) => Err(SimError::NonFinite { step, particle }),
        None => Ok(()),
    }
}

/// Lattice → melt → Langevin equilibration at the recipe's temperature, from `seed`.
pub fn equilibrated(recipe: &GlassRecipe, seed: u64) -> Result<GlassSystem, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut system = GlassSystem::lattice(recipe.n_a, recipe.n_b, recipe.density, &mut rng);
    system.thermalize(recipe.melt_temperature, &mut rng);
    let melt = recipe.steps(recipe.melt_time);
    for _ in 0..melt {
        system.step_langevin(
            recipe.dt,
            recipe.melt_temperature,
            recipe.friction,
            &mut rng,
        );
    }
    check_finite(&system, melt)?;
    let equilibration = recipe.steps(recipe.equilibration_time);
    for step in 0..equilibration {
        system.step_langevin(recipe.dt, recipe.temperature, recipe.friction, &mut rng);
        if step % 1000 == 999 {
            check_finite(&system, melt + step + 1)?;
        }
    }
    Ok(system)
}

/// Runs `system` in NVE for `steps` steps from fresh velocities drawn with `seed`, calling
/// `sample(step, system)` every `every` steps (and at step 0).
fn nve_run(
    recipe: &GlassRecipe,
    start: &GlassSystem,
    seed: u64,
    steps: usize,
    every: usize,
    mut sample: impl FnMut(usize, &GlassSystem),
) -> Result<GlassSystem, SimError> {
    let mut system = start.clone();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    system.thermalize(recipe.temperature, &mut rng);
    sample(0, &system);
    for step in 1..=steps {
        system.step_nve(recipe.dt);
        if step % every == 0 || step == steps {
            check_finite(&system, step)?;
            sample(step, &system);
        }
    }
    Ok(system)
}

/// Measures F_s(k, t) of the A particles over `isf_runs` NVE runs, run `i` from
/// `systems[i % len]` (one run per configuration when there are enough: in a box of a few
/// hundred particles the relaxation of one configuration differs markedly from the next), and
/// τ_α.
pub fn measure_relaxation(
    recipe: &GlassRecipe,
    systems: &[GlassSystem],
    seed: u64,
) -> Result<Relaxation, SimError> {
    if systems.is_empty() || recipe.isf_runs == 0 {
        return Err(SimError::Scene(
            "τ_α needs at least one configuration and one NVE run".into(),
        ));
    }
    let steps = recipe.steps(recipe.isf_max_time);
    let every = recipe.steps(0.1).max(1);
    let curves = (0..recipe.isf_runs)
        .into_par_iter()
        .map(|run| {
            let system = &systems[run % systems.len()];
            let mut curve = Vec::new();
            let start = system.positions.clone();
            nve_run(
                recipe,
                system,
                seed ^ ((run as u64 + 1) << 20),
                steps,
                every,
                |s, sys| {
                    let value = self_isf(
                        &start,
                        &sys.positions,
                        &sys.species,
                        SPECIES_A,
                        recipe.isf_k,
                    );
                    curve.push((s as f64 * recipe.dt, value));
                },
            )?;
            Ok(curve)
        })
        .collect::<Result<Vec<Vec<(f64, f64)>>, SimError>>()?;
    let times: Vec<f64> = curves[0].iter().map(|p| p.0).collect();
    let isf: Vec<f64> = (0..times.len())
        .map(|i| curves.iter().map(|c| c[i].1).sum::<f64>() / curves.len() as f64)
        .collect();
    let target = (-1.0f64).exp();
    let tau_alpha = (1..isf.len())
        .find(|&i| isf[i] <= target)
        .map(|i| {
            let (t0, t1, f0, f1) = (times[i - 1], times[i], isf[i - 1], isf[i]);
            t0 + (t1 - t0) * (f0 - target) / (f0 - f1)
        })
        .ok_or_else(|| {
            SimError::Scene(format!(
                "F_s(k = {}) of the A particles is still {:.3} > 1/e after t = {}: τ_α is longer \
                 than isf_max_time; raise it (or the temperature)",
                recipe.isf_k,
                isf.last().copied().unwrap_or(f64::NAN),
                recipe.isf_max_time
            ))
        })?;
    Ok(Relaxation {
        times,
        isf,
        tau_alpha,
    })
}

/// Mean |Δr| at `time` over `recipe.iso_runs` NVE runs from `system` with fresh velocities.
pub fn propensity(
    recipe: &GlassRecipe,
    system: &GlassSystem,
    time: f64,
    seed: u64,
) -> Result<Vec<f64>, SimError> {
    let steps = recipe.steps(time).max(1);
    let runs = (0..recipe.iso_runs)
        .into_par_iter()
        .map(|run| {
            let end = nve_run(
                recipe,
                system,
                seed ^ ((run as u64 + 1) << 24),
                steps,
                1000,
                |_, _| {},
            )?;
            Ok(displacements(&system.positions, &end.positions))
        })
        .collect::<Result<Vec<Vec<f64>>, SimError>>()?;
    Ok((0..system.len())
        .map(|i| runs.iter().map(|r| r[i]).sum::<f64>() / runs.len() as f64)
        .collect())
}

/// The propensity sample of an equilibrated `system` at `time`.
pub fn sample(
    recipe: &GlassRecipe,
    system: &GlassSystem,
    time: f64,
    seed: u64,
) -> Result<PropensitySample, SimError> {
    Ok(PropensitySample {
        positions: system.wrapped_positions(),
        species: system.species.clone(),
        box_length: system.box_length,
        propensity: propensity(recipe, system, time, seed)?,
        potential_energy: system.per_particle_energy().to_vec(),
        neighbours: system.neighbour_counts(1.4),
    })
}

/// Every configuration (each from its own seed in `seeds`, melted and equilibrated
/// independently, in parallel), then τ_α measured once over them, then each configuration's
/// propensities at τ_α. `done()` is called as each configuration's propensities are finished.
pub fn glass_dataset(
    recipe: &GlassRecipe,
    seeds: &[u64],
    done: &(dyn Fn() + Sync),
) -> Result<GlassDataset, SimError> {
    let Some(&first_seed) = seeds.first() else {
        return Err(SimError::Scene(
            "glass data set needs at least one configuration".into(),
        ));
    };
    let systems = seeds
        .par_iter()
        .map(|&seed| equilibrated(recipe, seed))
        .collect::<Result<Vec<_>, SimError>>()?;
    let relaxation = measure_relaxation(recipe, &systems, first_seed ^ 0x15F)?;
    let tau = relaxation.tau_alpha;
    let samples = systems
        .par_iter()
        .zip(seeds)
        .map(|(system, &seed)| {
            let out = sample(recipe, system, tau, seed ^ 0x1503)?;
            done();
            Ok(out)
        })
        .collect::<Result<Vec<_>, SimError>>()?;
    Ok(GlassDataset {
        relaxation,
        samples,
    })
}
