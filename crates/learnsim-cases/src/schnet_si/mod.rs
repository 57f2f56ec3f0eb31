//! `learnsim run schnet-si`: SchNet (Schütt et al. 2017) on Stillinger–Weber silicon clusters —
//! Langevin sampling of Si₈–Si₁₀ → training on energies and forces → test energies and
//! autodiff forces against the mean-energy and least-squares pair-potential baselines → a
//! 2000-step NVE run driven by the learned forces → held-out structures relaxed by FIRE under
//! each force field ([`relaxation`]) → metrics.json, report.md, plots, leaderboard row.

pub mod relaxation;

use crate::GenerateArgs;
use crate::bars::PassIf;
use crate::bars::{all_pass, bar};
use crate::data_file::{self, member};
use crate::plots;
use crate::request::RunArgs;
use crate::runner::{Losses, Report, finish, loss_ends, setup_validated, train_network};
use anyhow::{Result, bail};
use indicatif::ProgressStyle;
use learnsim_models::default_training_device;
use learnsim_sim::relax::Fire;
use learnsim_sim::stillinger_weber::{
    BOLTZMANN_EV_PER_K, ClusterSampling, Configuration, EV_PER_ANGSTROM_AMU_IN_ANGSTROM_PER_FS2,
    EnergyForces, SILICON_MASS_AMU, StillingerWeber, nve, sample_clusters,
};
use learnsim_sim::{Split, trajectory_seed};
use learnsim_train::schnet::{PairPotential, SchNetTrainConfig, train_schnet};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde_json::json;
use std::time::Instant;

/// The energy-only model's test errors at CPU tier, seed 0 (30 000 steps; docs/cases/schnet-si.md
/// before forces entered the loss): the force-matching bars are relative to them.
const ENERGY_ONLY_FORCE_MAE: f64 = 0.114;
/// See [`ENERGY_ONLY_FORCE_MAE`].
const ENERGY_ONLY_ENERGY_MAE: f64 = 0.030;

/// Frames of the NVE runs kept for the viewer at most.
const PLAYBACK_FRAMES: usize = 300;

/// Registry name.
pub const NAME: &str = "schnet-si";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str =
    "SchNet on Stillinger-Weber Si8-Si10 clusters: energies, autodiff forces, learned-force NVE";

/// The case in the registry ([`crate::registry`]).
pub const CASE: crate::Pipeline = crate::Pipeline {
    name: NAME,
    description: DESCRIPTION,
    kind: crate::CaseKind::Object,
    ranks: crate::Ranks::Many,
    run,
    generate: generate_file,
};

/// Samples every cluster size in parallel; returns (train, valid, test), split 80/10/10 in
/// sampling order per size (contiguous blocks, so correlated neighbours stay in one split).
fn generate(
    config: &SchNetTrainConfig,
    potential: &StillingerWeber,
) -> Result<[Vec<Configuration>; 3]> {
    if config.cluster_sizes.is_empty() || config.configurations < 10 {
        bail!("schnet-si config: need cluster sizes and at least 10 configurations per size");
    }
    let bar = crate::progress::bar(config.cluster_sizes.len() as u64).with_style(
        ProgressStyle::with_template(
            "sample Langevin MD [{elapsed_precise}] {wide_bar} {pos}/{len} cluster sizes",
        )
        .expect("valid template"),
    );
    let per_size: Vec<Vec<Configuration>> = config
        .cluster_sizes
        .par_iter()
        .map(|&n| {
            let seed = trajectory_seed(config.seed, Split::Train, n);
            let out = sample_clusters(
                potential,
                &ClusterSampling::recipe(n),
                config.configurations,
                seed,
            );
            bar.inc(1);
            out
        })
        .collect();
    bar.finish_and_clear();
    let mut sets: [Vec<Configuration>; 3] = Default::default();
    for configs in per_size {
        let n = configs.len();
        let (a, b) = (n * 8 / 10, n * 9 / 10);
        for (k, c) in configs.into_iter().enumerate() {
            sets[usize::from(k >= a) + usize::from(k >= b)].push(c);
        }
    }
    Ok(sets)
}

/// Mean absolute energy error and mean absolute force-component error.
fn errors(predicted: &[EnergyForces], truth: &[Configuration]) -> (f64, f64) {
    let e = predicted
        .iter()
        .zip(truth)
        .map(|(p, t)| (p.energy - t.energy).abs())
        .sum::<f64>()
        / truth.len() as f64;
    let (mut sum, mut count) = (0.0, 0usize);
    for (p, t) in predicted.iter().zip(truth) {
        for (a, b) in p.forces.iter().zip(&t.forces) {
            for d in 0..3 {
                sum += (a[d] - b[d]).abs();
                count += 1;
            }
        }
    }
    (e, sum / count.max(1) as f64)
}

/// Standard deviation of the energies within each cluster size, pooled (the size-to-size
/// offset n·ε̄ is not variation a model has to learn), and of all force components.
fn spreads(test: &[Configuration]) -> (f64, f64) {
    let mut by_size: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    for c in test {
        by_size.entry(c.positions.len()).or_default().push(c.energy);
    }
    let (mut ss, mut dof) = (0.0, 0usize);
    for energies in by_size.values() {
        let mean = energies.iter().sum::<f64>() / energies.len() as f64;
        ss += energies.iter().map(|e| (e - mean).powi(2)).sum::<f64>();
        dof += energies.len().saturating_sub(1);
    }
    let components: Vec<f64> = test
        .iter()
        .flat_map(|c| c.forces.iter().flat_map(|f| f.iter().copied()))
        .collect();
    let mean = components.iter().sum::<f64>() / components.len() as f64;
    let var = components.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / components.len() as f64;
    ((ss / dof.max(1) as f64).sqrt(), var.sqrt())
}

/// Maxwell–Boltzmann velocities (Å/fs) at `temperature`, total momentum removed.
fn thermal_velocities(n: usize, temperature: f64, seed: u64) -> Vec<[f64; 3]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let std = (BOLTZMANN_EV_PER_K * temperature * EV_PER_ANGSTROM_AMU_IN_ANGSTROM_PER_FS2
        / SILICON_MASS_AMU)
        .sqrt();
    let normal = Normal::new(0.0, std).expect("valid normal");
    let mut v: Vec<[f64; 3]> = (0..n)
        .map(|_| [0; 3].map(|_| normal.sample(&mut rng)))
        .collect();
    for d in 0..3 {
        let mean = v.iter().map(|x| x[d]).sum::<f64>() / n as f64;
        v.iter_mut().for_each(|x| x[d] -= mean);
    }
    v
}

/// Largest |E_total(t) − E_total(0)| over the run, relative to the mean kinetic energy.
fn drift(energies: &[(f64, f64)]) -> (f64, f64) {
    let total: Vec<f64> = energies.iter().map(|(u, k)| u + k).collect();
    let worst = total
        .iter()
        .map(|t| (t - total[0]).abs())
        .fold(0.0, f64::max);
    let mean_ke = energies.iter().map(|(_, k)| k).sum::<f64>() / energies.len() as f64;
    (worst / mean_ke, mean_ke)
}

/// `learnsim generate schnet-si`: the Langevin-sampled silicon clusters the run trains and
/// scores on, as `OUT/{train,valid,test}.npz` (per configuration `INDEX/positions` and
/// `INDEX/forces` `[N, 3]` in Å and eV/Å, `INDEX/energy` `[1]` in eV, Stillinger–Weber's).
fn generate_file(args: &GenerateArgs) -> Result<String> {
    let splits = ["train", "valid", "test"];
    data_file::generate(args, NAME, &splits, |config: &SchNetTrainConfig| {
        let sets = generate(config, &StillingerWeber::default())?;
        data_file::per_item(&sets, "configurations", |arrays, i, c| {
            arrays.points(member(i, "positions"), &c.positions);
            arrays.series(member(i, "energy"), &[c.energy]);
            arrays.points(member(i, "forces"), &c.forces);
            Ok(())
        })
    })
}

/// `learnsim run schnet-si`.
pub fn run(args: &RunArgs) -> Result<String> {
    let setup = setup_validated(args, NAME)?;
    let config = &setup.config;
    let potential = StillingerWeber::default();
    let [train, valid, test] = generate(config, &potential)?;

    let device = default_training_device();
    let trained = train_network(
        &setup.out,
        ("train SchNet", "schnet"),
        config.steps,
        None,
        |checkpoint, progress| {
            train_schnet(config, &train, &valid, &device, Some(checkpoint), progress)
        },
    )?;
    // Data-parallel (`mpirun`): rank 0 alone scores and writes.
    if let Some(result) = crate::runner::result_of_other_rank(config.steps) {
        return Ok(result);
    }
    // Training seconds over every segment of the run (a rerun that resumes adds none).
    let train_s = trained.seconds;

    let clock = Instant::now();
    let schnet = trained.predict(&test, &device);
    let schnet_eval_s = clock.elapsed().as_secs_f64();
    let pair = PairPotential::fit(&train, config.n_rbf, config.cutoff);
    let pair_pred: Vec<EnergyForces> = test
        .iter()
        .map(|c| pair.energy_forces(&c.positions))
        .collect();
    let mean_pred: Vec<EnergyForces> = test
        .iter()
        .map(|c| EnergyForces {
            energy: trained.scale.per_atom * c.positions.len() as f64,
            forces: vec![[0.0; 3]; c.positions.len()],
        })
        .collect();
    let clock = Instant::now();
    for c in &test {
        potential.energy_forces(&c.positions);
    }
    let sw_eval_s = clock.elapsed().as_secs_f64();
    let (e_mae, f_mae) = errors(&schnet, &test);
    let (pair_e, pair_f) = errors(&pair_pred, &test);
    let (mean_e, mean_f) = errors(&mean_pred, &test);
    let (e_std, f_std) = spreads(&test);

    // NVE from a test configuration: learned forces, then the ground truth for reference.
    let start = &test[0];
    let v0 = thermal_velocities(
        start.positions.len(),
        config.nve_temperature,
        config.seed ^ 0x4E5E,
    );
    let nve_bar = crate::progress::spinner();
    nve_bar.set_message(format!(
        "NVE with learned forces, {} steps",
        config.nve_steps
    ));
    nve_bar.enable_steady_tick(std::time::Duration::from_millis(200));
    // Every `stride`th frame of both runs for the viewer (the force is asked once per frame).
    let stride = (config.nve_steps + 1).div_ceil(PLAYBACK_FRAMES);
    let keep = |frames: &mut Vec<Vec<[f64; 2]>>, calls: &mut usize, x: &[[f64; 3]]| {
        if calls.is_multiple_of(stride) {
            frames.push(x.iter().map(|p| [p[0], p[1]]).collect());
        }
        *calls += 1;
    };
    let (mut learned_frames, mut learned_calls) = (Vec::new(), 0);
    let (mut x, mut v) = (start.positions.clone(), v0.clone());
    let learned = nve(
        |x| {
            keep(&mut learned_frames, &mut learned_calls, x);
            trained.energy_forces(x, &device)
        },
        &mut x,
        &mut v,
        SILICON_MASS_AMU,
        config.nve_dt,
        config.nve_steps,
    );
    nve_bar.finish_and_clear();
    let non_finite = learned
        .iter()
        .any(|(u, k)| !(u.is_finite() && k.is_finite()));
    let (learned_drift, learned_ke) = drift(&learned);
    let (mut truth_frames, mut truth_calls) = (Vec::new(), 0);
    let (mut x, mut v) = (start.positions.clone(), v0);
    let truth = nve(
        |x| {
            keep(&mut truth_frames, &mut truth_calls, x);
            potential.energy_forces(x)
        },
        &mut x,
        &mut v,
        SILICON_MASS_AMU,
        config.nve_dt,
        config.nve_steps,
    );
    let (truth_drift, _) = drift(&truth);
    // Bonds: the pairs closer than 2.8 Å at the start (Si–Si bonds are 2.35 Å).
    let atoms = start.positions.len();
    let bonds = (0..atoms)
        .flat_map(|i| (i + 1..atoms).map(move |j| [i, j]))
        .filter(|&[i, j]| {
            let (a, b) = (start.positions[i], start.positions[j]);
            (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f64>() < 2.8 * 2.8
        })
        .collect();
    let playback = crate::playback::bodies(
        format!(
            "NVE of test cluster 0 (Si{atoms}), x–y projection{}: truth under Stillinger–Weber, SchNet under its own forces",
            if stride == 1 {
                String::new()
            } else {
                format!(", every {stride}th step")
            }
        ),
        config.nve_dt * stride as f64 * 1e-15,
        bonds,
        None,
        &[("truth", truth_frames), ("schnet", learned_frames)],
    );
    crate::playback::write(&setup.out, "nve", &playback)?;

    // Relaxation: the same starts under SW (the reference), SchNet and the pair potential,
    // each judged by SW's energy where it ends; held-out starts from the data's distribution
    // (the bar) and random structures far from it (reported).
    let fire = Fire {
        fmax: config.relax_fmax,
        max_steps: config.relax_max_steps,
        ..Fire::default()
    };
    let clock = Instant::now();
    let stage = |what: &str, starts: &[Vec<[f64; 3]>]| {
        relaxation::Stage::run(&fire, what, starts, &potential, &pair, |xs| {
            trained.predict(&relaxation::unlabelled(xs), &device)
        })
    };
    let held_out = stage(
        "held-out Langevin starts",
        &relaxation::langevin_starts(
            &potential,
            &config.cluster_sizes,
            config.relax_starts,
            config.seed,
        ),
    );
    let random = stage(
        "random structures",
        &relaxation::random_starts(&config.cluster_sizes, config.relax_starts, config.seed),
    );
    let relax_s = clock.elapsed().as_secs_f64();
    let starts = held_out.starts;
    if starts > 0 {
        let tolerance = [
            (0.0, relaxation::ENERGY_TOLERANCE_EV_PER_ATOM),
            (1.0, relaxation::ENERGY_TOLERANCE_EV_PER_ATOM),
        ];
        for (stage, file, title) in [
            (
                &held_out,
                "relaxation.png",
                "FIRE from held-out Langevin starts: SW energy above SW's minimum from the start",
            ),
            (
                &random,
                "relaxation_random.png",
                "FIRE from random structures: SW energy above SW's minimum from the start",
            ),
        ] {
            let (schnet_curve, pair_curve) = (
                relaxation::sorted_excess(&stage.schnet),
                relaxation::sorted_excess(&stage.pair),
            );
            plots::xy_plot(
                &setup.out.join(file),
                title,
                (
                    "fraction of starts (sorted by excess energy)",
                    "SW energy of the relaxed structure − SW minimum (eV/atom)",
                ),
                &[
                    plots::XySeries {
                        label: "SchNet",
                        points: &schnet_curve,
                        line: true,
                    },
                    plots::XySeries {
                        label: "pair potential",
                        points: &pair_curve,
                        line: true,
                    },
                    plots::XySeries {
                        label: "tolerance 0.05 eV/atom",
                        points: &tolerance,
                        line: true,
                    },
                ],
            )?;
        }
    }

    let (first, last) = loss_ends(&trained.valid_loss);
    let metrics = json!({
        "energy_mae": e_mae,
        "force_mae": f_mae,
        "energy_std": e_std,
        "force_std": f_std,
        "nve_drift": if non_finite { f64::NAN } else { learned_drift },
        "nve_mean_kinetic_energy": learned_ke,
        "valid_loss_initial": first,
        "valid_loss_final": last,
        "relaxation": held_out.schnet,
        "relaxation_random_structures": random.schnet,
    });
    let bars = vec![
        bar(
            "energy MAE / pair-potential energy MAE",
            e_mae / pair_e,
            0.5,
            PassIf::AtMost,
        ),
        bar(
            "energy MAE / energy std (within each cluster size)",
            e_mae / e_std,
            0.1,
            PassIf::AtMost,
        ),
        bar("force MAE / force std", f_mae / f_std, 0.3, PassIf::AtMost),
        bar(
            "force MAE / the energy-only model's (0.114 eV/Å)",
            f_mae / ENERGY_ONLY_FORCE_MAE,
            0.5,
            PassIf::AtMost,
        ),
        bar(
            "energy MAE / the energy-only model's (0.030 eV)",
            e_mae / ENERGY_ONLY_ENERGY_MAE,
            1.0,
            PassIf::AtMost,
        ),
        bar(
            "relaxations ending within 0.05 eV/atom of SW's minimum from the same start",
            if starts == 0 {
                f64::NAN
            } else {
                held_out.schnet.within_tolerance
            },
            0.8,
            PassIf::AtLeast,
        ),
        bar(
            &format!(
                "{}-step learned-force NVE energy drift / mean kinetic energy",
                config.nve_steps
            ),
            if non_finite { f64::NAN } else { learned_drift },
            0.01,
            PassIf::AtMost,
        ),
    ];
    let pass = all_pass(&bars);
    let n_test_atoms: usize = test.iter().map(|c| c.positions.len()).sum();
    let baselines = json!({
        "pair_potential": {
            "energy_mae": pair_e,
            "force_mae": pair_f,
            "relaxation": held_out.pair,
            "relaxation_random_structures": random.pair,
        },
        "mean_energy": { "energy_mae": mean_e, "force_mae": mean_f },
        "stillinger_weber": { "nve_drift": truth_drift, "relaxation": held_out.reference },
    });
    let timing = json!({
        "train_s": train_s,
        "schnet_atoms_per_s": n_test_atoms as f64 / schnet_eval_s,
        "ground_truth_atoms_per_s": n_test_atoms as f64 / sw_eval_s,
        "speedup": sw_eval_s / schnet_eval_s,
        "relaxation_s": relax_s,
    });
    let notes = format!(
        "Stillinger–Weber Si clusters of {:?} atoms, {} configurations per size from 1000 K BAOAB Langevin MD (dt 1 fs, friction 0.01/fs, a sample every 50 steps after 2000, harmonic wall beyond 6 Å), split 80/10/10 per size in sampling order: {} train, {} valid, {} test. SchNet F = {}, {} interactions, {} Gaussians on [0, {} Å], trained on {}; forces are −∂E/∂R by autodiff. `mean_energy` predicts n·ε̄ (the training set's mean energy per atom) and zero forces; `pair_potential` is the least-squares fit Σ_{{i<j}} Σ_k c_k g_k(r_ij) f_c(r_ij) + n·c₀ on the same basis. The energy std is pooled within cluster sizes, stricter than the std of all energies (which the size offset inflates). NVE: velocity Verlet, dt {} fs, {} steps, from test configuration 0 with Maxwell–Boltzmann velocities at {} K; the ground truth's own drift on the same start is {:.2e} of its mean kinetic energy. Relaxation: {} held-out starts ({} per size, each the first sample of its own 1000 K Langevin trajectory, seeds apart from the training data's) relaxed by FIRE (ASE's parameters, fmax {} eV/Å, at most {} steps) under Stillinger–Weber (the reference), SchNet and the pair potential; a relaxation counts when SW's energy at its end is within {} eV/atom of SW's minimum from the same start, and is in SW's basin when the Kabsch-aligned RMSD is at most {} Å. The same is reported (no bar) for as many random structures, AIRSS-style (atoms uniform in a sphere of crystalline silicon's volume per atom, none closer than 2 Å), which lie far from the Langevin data: SchNet within 0.05 eV/atom on {:.0} % of them, the pair potential on {:.0} %. {:.1} s for all relaxations.",
        config.cluster_sizes,
        config.configurations,
        train.len(),
        valid.len(),
        test.len(),
        config.features,
        config.interactions,
        config.n_rbf,
        config.cutoff,
        if config.force_weight > 0.0 {
            format!(
                "energies and forces (loss {}·MSE(E) + {}·MSE(F) in units of the training energies' std; the force term's parameter gradient is a central difference of the energy along the force residual with {} Å steps, so no double backward is needed)",
                config.energy_weight, config.force_weight, config.force_step
            )
        } else {
            "energies only".to_string()
        },
        config.nve_dt,
        config.nve_steps,
        config.nve_temperature,
        truth_drift,
        starts,
        config.relax_starts,
        config.relax_fmax,
        config.relax_max_steps,
        relaxation::ENERGY_TOLERANCE_EV_PER_ATOM,
        relaxation::SAME_BASIN_RMSD,
        100.0 * random.schnet.within_tolerance,
        100.0 * random.pair.within_tolerance,
        relax_s,
    );
    let report = Report {
        model: "schnet",
        metrics: json!(metrics),
        baselines,
        context: None,
        bars,
        timing,
        losses: Losses {
            train: &trained.train_loss,
            check: &trained.valid_loss,
            figure: plots::LossFigure {
                title: if config.force_weight > 0.0 {
                    "SchNet: normalised energy MSE + weighted force MSE"
                } else {
                    "SchNet: normalised energy MSE"
                },
                train: "train",
                check: "validation",
            },
        },
        notes,
        figures: if starts == 0 {
            vec![]
        } else {
            vec![
                ("relaxation from held-out starts", "relaxation.png"),
                ("relaxation from random structures", "relaxation_random.png"),
            ]
        },
    };
    let summary = format!(
        "{NAME}: energy MAE {e_mae:.4} eV (pair {pair_e:.4}, std {e_std:.4}), force MAE {f_mae:.4} eV/Å (std {f_std:.4}), NVE drift {learned_drift:.2e} of mean KE, relaxations within 0.05 eV/atom {:.0} % (pair {:.0} %), same basin {:.0} %, pass = {pass}",
        100.0 * held_out.schnet.within_tolerance,
        100.0 * held_out.pair.within_tolerance,
        100.0 * held_out.schnet.same_basin,
    );
    finish(&setup, NAME, &report, &summary)
}
