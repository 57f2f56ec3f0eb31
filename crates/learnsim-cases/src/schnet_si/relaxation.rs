//! The relaxation stage of `schnet-si`: held-out starts relaxed by FIRE under the learned
//! forces, the pair potential's and Stillinger–Weber's, each judged by the true (SW) energy of
//! where it ends against SW's own minimum from the same start.

use learnsim_sim::relax::{Fire, Relaxed, aligned_rmsd};
use learnsim_sim::stillinger_weber::{
    ClusterSampling, Configuration, EnergyForces, StillingerWeber, sample_clusters,
};
use learnsim_sim::{Split, trajectory_seed};
use learnsim_train::schnet::PairPotential;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

/// A learned relaxation ends "at the minimum" when its true energy is within this of SW's
/// minimum from the same start (eV/atom; the bar).
pub const ENERGY_TOLERANCE_EV_PER_ATOM: f64 = 0.05;
/// Two relaxed structures are in the same basin when their aligned RMSD is at most this (Å).
pub const SAME_BASIN_RMSD: f64 = 0.1;

/// `per_size` held-out starts of every cluster size from the data's own distribution: each the
/// first sample (after the recipe's 2000 fs of equilibration) of its own 1000 K Langevin
/// trajectory, seeded apart from the training trajectories (another base seed, the test
/// split), so the starts are independent of each other and of the training data.
pub fn langevin_starts(
    potential: &StillingerWeber,
    sizes: &[usize],
    per_size: usize,
    seed: u64,
) -> Vec<Vec<[f64; 3]>> {
    let jobs: Vec<(usize, usize)> = sizes
        .iter()
        .flat_map(|&n| (0..per_size).map(move |k| (n, k)))
        .collect();
    jobs.par_iter()
        .map(|&(n, k)| {
            let seed = trajectory_seed(seed ^ 0x4E1A_7001, Split::Test, 100_000 * n + k);
            sample_clusters(potential, &ClusterSampling::recipe(n), 1, seed)
                .remove(0)
                .positions
        })
        .collect()
}

/// One kind of starts relaxed under the three force fields and scored.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Number of starts.
    pub starts: usize,
    /// SchNet's relaxations.
    pub schnet: RelaxationScore,
    /// The pair potential's.
    pub pair: RelaxationScore,
    /// Stillinger–Weber's against itself (1 and 1 by construction: a check of the scoring).
    pub reference: RelaxationScore,
}

impl Stage {
    /// Relaxes `starts` under SW, `schnet` (a batched force field) and `pair`, with a spinner.
    pub fn run(
        fire: &Fire,
        what: &str,
        starts: &[Vec<[f64; 3]>],
        potential: &StillingerWeber,
        pair: &PairPotential,
        schnet: impl FnMut(&[Vec<[f64; 3]>]) -> Vec<EnergyForces>,
    ) -> Self {
        let spinner = crate::progress::spinner();
        spinner.enable_steady_tick(std::time::Duration::from_millis(200));
        let say = |field: &str| {
            spinner.set_message(format!("FIRE: {} {what} under {field}", starts.len()));
        };
        say("Stillinger–Weber");
        let reference = fire.relax_many(starts, |xs| {
            xs.par_iter().map(|x| potential.energy_forces(x)).collect()
        });
        say("SchNet");
        let learned = fire.relax_many(starts, schnet);
        say("the pair potential");
        let paired = fire.relax_many(starts, |xs| {
            xs.par_iter().map(|x| pair.energy_forces(x)).collect()
        });
        spinner.finish_and_clear();
        Self {
            starts: starts.len(),
            schnet: score(potential, &reference, &learned),
            pair: score(potential, &reference, &paired),
            reference: score(potential, &reference, &reference),
        }
    }
}

/// Volume per atom of the random starts (Å³): crystalline silicon's (8 atoms in a 5.43 Å cube).
const VOLUME_PER_ATOM: f64 = 5.431 * 5.431 * 5.431 / 8.0;
/// Closest approach of two atoms in a random start (Å): 0.85 of the 2.35 Å bond, so no start
/// begins inside the repulsive wall, where any force field is extrapolating.
const MIN_SEPARATION: f64 = 2.0;

/// `per_size` random starts of every cluster size, as a random structure search draws them
/// (Pickard & Needs' AIRSS): atoms uniform in a sphere holding crystalline silicon's volume per
/// atom, no two closer than [`MIN_SEPARATION`]. Seeded per size from `seed`; none of them is a
/// training configuration, and unlike the Langevin samples (one trajectory per size) they end
/// in many different minima.
pub fn random_starts(sizes: &[usize], per_size: usize, seed: u64) -> Vec<Vec<[f64; 3]>> {
    let mut out = Vec::new();
    for &n in sizes {
        let mut rng =
            ChaCha8Rng::seed_from_u64(trajectory_seed(seed ^ 0x4E1A_7000, Split::Test, n));
        let radius = (3.0 * n as f64 * VOLUME_PER_ATOM / (4.0 * std::f64::consts::PI)).cbrt();
        let (mut made, mut failed) = (0, 0);
        // Random sequential addition jams near 38 % packing; these starts fill 21 %, so a
        // structure fails rarely, and the failure cap only stops a pathological config.
        while made < per_size && failed < 1000 {
            let mut atoms: Vec<[f64; 3]> = Vec::with_capacity(n);
            let mut tries = 0;
            while atoms.len() < n && tries < 1000 * n {
                tries += 1;
                let p = [0; 3].map(|_| rng.random_range(-radius..radius));
                let inside = p.iter().map(|c| c * c).sum::<f64>() <= radius * radius;
                let apart = atoms.iter().all(|q| {
                    (0..3).map(|k| (p[k] - q[k]).powi(2)).sum::<f64>()
                        >= MIN_SEPARATION * MIN_SEPARATION
                });
                if inside && apart {
                    atoms.push(p);
                }
            }
            if atoms.len() == n {
                out.push(atoms);
                made += 1;
            } else {
                failed += 1;
            }
        }
    }
    out
}

/// One force field's relaxations, scored against SW's from the same starts.
#[derive(Debug, Clone, Serialize)]
pub struct RelaxationScore {
    /// Fraction of starts whose relaxed structure's SW energy is within
    /// [`ENERGY_TOLERANCE_EV_PER_ATOM`] of SW's minimum.
    pub within_tolerance: f64,
    /// Fraction of starts ending in SW's basin (aligned RMSD ≤ [`SAME_BASIN_RMSD`]).
    pub same_basin: f64,
    /// Mean of (SW energy at the relaxed structure − SW's minimum) per atom (eV/atom).
    pub mean_excess_ev_per_atom: f64,
    /// Median aligned RMSD to SW's relaxed structure (Å).
    pub median_rmsd: f64,
    /// Fraction of relaxations that reached the force tolerance.
    pub converged: f64,
    /// Mean force evaluations per relaxation.
    pub mean_evaluations: f64,
    /// Per start: (SW minimum per atom, SW energy at this field's relaxed structure per atom).
    #[serde(skip)]
    pub points: Vec<(f64, f64)>,
}

/// Scores `relaxed` (one per start) against SW's relaxations `reference`.
pub fn score(
    potential: &StillingerWeber,
    reference: &[Relaxed],
    relaxed: &[Relaxed],
) -> RelaxationScore {
    let count = reference.len().max(1) as f64;
    let mut rmsd = Vec::new();
    let mut points = Vec::new();
    let (mut within, mut basin, mut excess) = (0usize, 0usize, 0.0);
    for (truth, r) in reference.iter().zip(relaxed) {
        let n = truth.positions.len() as f64;
        let minimum = truth.energy / n;
        let reached = potential.energy_forces(&r.positions).energy / n;
        let d = aligned_rmsd(&truth.positions, &r.positions);
        within += usize::from((reached - minimum).abs() <= ENERGY_TOLERANCE_EV_PER_ATOM);
        basin += usize::from(d <= SAME_BASIN_RMSD);
        excess += reached - minimum;
        rmsd.push(d);
        points.push((minimum, reached));
    }
    rmsd.sort_by(f64::total_cmp);
    RelaxationScore {
        within_tolerance: within as f64 / count,
        same_basin: basin as f64 / count,
        mean_excess_ev_per_atom: excess / count,
        median_rmsd: rmsd.get(rmsd.len() / 2).copied().unwrap_or(f64::NAN),
        converged: relaxed.iter().filter(|r| r.converged).count() as f64 / count,
        mean_evaluations: relaxed.iter().map(|r| r.evaluations as f64).sum::<f64>() / count,
        points,
    }
}

/// Positions as configurations without labels (what a learned model's `predict` takes).
pub fn unlabelled(positions: &[Vec<[f64; 3]>]) -> Vec<Configuration> {
    positions
        .iter()
        .map(|x| Configuration {
            positions: x.clone(),
            energy: 0.0,
            forces: vec![],
        })
        .collect()
}

/// The excess energies `reached − minimum` of a score, sorted, against the fraction of starts
/// (a curve that crosses the tolerance at the fraction within it, when no start ends below).
pub fn sorted_excess(score: &RelaxationScore) -> Vec<(f64, f64)> {
    let mut excess: Vec<f64> = score.points.iter().map(|(m, r)| r - m).collect();
    excess.sort_by(f64::total_cmp);
    let n = excess.len() as f64;
    excess
        .into_iter()
        .enumerate()
        .map(|(k, e)| ((k as f64 + 0.5) / n, e))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn langevin_starts_are_seeded_independent_and_not_training_data() {
        let sw = StillingerWeber::default();
        let starts = langevin_starts(&sw, &[8], 3, 0);
        assert_eq!(starts.len(), 3);
        assert_eq!(starts, langevin_starts(&sw, &[8], 3, 0));
        assert_ne!(starts[0], starts[1]);
        // The training trajectory of size 8 (the case's generate: one per size, this seed).
        let train = sample_clusters(
            &sw,
            &ClusterSampling::recipe(8),
            20,
            trajectory_seed(0, Split::Train, 8),
        );
        assert!(train.iter().all(|c| !starts.contains(&c.positions)));
    }

    #[test]
    fn random_starts_are_apart_inside_their_sphere_and_seeded() {
        let starts = random_starts(&[8, 10], 6, 3);
        assert_eq!(starts.len(), 12);
        assert_eq!(starts, random_starts(&[8, 10], 6, 3));
        assert_ne!(starts, random_starts(&[8, 10], 6, 4));
        for (k, s) in starts.iter().enumerate() {
            let n = if k < 6 { 8 } else { 10 };
            assert_eq!(s.len(), n);
            let radius = (3.0 * n as f64 * VOLUME_PER_ATOM / (4.0 * std::f64::consts::PI)).cbrt();
            for (i, p) in s.iter().enumerate() {
                assert!(p.iter().map(|c| c * c).sum::<f64>() <= radius * radius);
                for q in &s[..i] {
                    let d2: f64 = (0..3).map(|a| (p[a] - q[a]).powi(2)).sum();
                    assert!(d2 >= MIN_SEPARATION * MIN_SEPARATION);
                }
            }
        }
    }

    #[test]
    fn a_field_scored_against_itself_is_all_within_and_in_one_basin() {
        let sw = StillingerWeber::default();
        let starts = random_starts(&[8], 3, 1);
        let relaxed = Fire::default().relax_many(&starts, |xs| {
            xs.iter().map(|x| sw.energy_forces(x)).collect()
        });
        let score = score(&sw, &relaxed, &relaxed);
        assert_eq!(score.within_tolerance, 1.0);
        assert_eq!(score.same_basin, 1.0);
        assert_eq!(score.mean_excess_ev_per_atom, 0.0);
        // Random starts do end in different minima (what makes them a test of the field).
        let energies: Vec<f64> = relaxed.iter().map(|r| r.energy).collect();
        assert!(
            energies.iter().any(|e| (e - energies[0]).abs() > 1e-3),
            "{energies:?}"
        );
        let curve = sorted_excess(&score);
        assert_eq!(curve.len(), 3);
        assert!(curve.iter().all(|p| p.1 == 0.0));
    }
}
