//! `learnsim run nanophotonics`: ScatterNet (Peurifoy et al. 2018) — multilayer-sphere Mie
//! spectra → an MLP surrogate → inverse design through the frozen network, checked with the
//! true solver against random search → metrics.json, report.md, plots, leaderboard row.

use crate::GenerateArgs;
use crate::bars::PassIf;
use crate::bars::{all_pass, bar};
use crate::data_file::{self, Archives, Arrays};
use crate::plots::{self, XySeries, xy_plot};
use crate::request::RunArgs;
use crate::runner::{Losses, Report, finish, setup_validated, train_network};
use anyhow::{Result, bail};
use learnsim_models::{default_inference_device, default_training_device};
use learnsim_sim::mie::{ScatterSample, scatter_dataset};
use learnsim_sim::{Split, trajectory_seed};
use learnsim_train::nanophotonics::{
    ScatterTrainConfig, mean_relative_error, relative_l2, train_scatter_net,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde_json::json;
use std::time::Instant;

/// Registry name.
pub const NAME: &str = "nanophotonics";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str =
    "ScatterNet: MLP surrogate of multilayer-sphere Mie spectra and inverse design through it";

/// The case in the registry ([`crate::registry`]).
pub const CASE: crate::Pipeline = crate::Pipeline {
    name: NAME,
    description: DESCRIPTION,
    kind: crate::CaseKind::Surrogate,
    ranks: crate::Ranks::One,
    run,
    generate: generate_file,
};

/// Target spectra drawn as figures.
const FIGURES: usize = 4;

/// `learnsim generate nanophotonics`: the solved particles the run trains, validates and
/// designs on, as `OUT/{train,valid,test}.npz` (`thicknesses_nm` `[S, layers]`, core first;
/// `spectrum` `[S, W]`, σ_sca/πR²; `wavelengths_nm` `[W]`).
fn generate_file(args: &GenerateArgs) -> Result<String> {
    let splits = ["train", "valid", "test"];
    data_file::generate(args, NAME, &splits, |config: &ScatterTrainConfig| {
        let counts = [
            config.train_samples,
            config.valid_samples,
            config.test_samples,
        ];
        let mut archives = Archives {
            what: format!("{} particles", counts.iter().sum::<usize>()),
            ..Archives::default()
        };
        for (split, count) in SPLITS.into_iter().zip(counts) {
            let samples = solve(config, split, count)?;
            let mut arrays = Arrays::new();
            let thicknesses: Vec<Vec<f64>> =
                samples.iter().map(|s| s.thicknesses_nm.clone()).collect();
            let spectra: Vec<Vec<f64>> = samples.iter().map(|s| s.spectrum.clone()).collect();
            arrays.rows("thicknesses_nm", &thicknesses)?;
            arrays.rows("spectrum", &spectra)?;
            arrays.series("wavelengths_nm", &config.optics.grid());
            archives.splits.push(arrays);
        }
        Ok(archives)
    })
}

/// The run's splits, in the order of `generate_file`'s files.
const SPLITS: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

/// `count` particles of `split`, each from its own seed.
fn solve(config: &ScatterTrainConfig, split: Split, count: usize) -> Result<Vec<ScatterSample>> {
    Ok(scatter_dataset(&config.optics, count, |i| {
        trajectory_seed(config.seed, split, i)
    })?)
}

/// `learnsim run nanophotonics`.
pub fn run(args: &RunArgs) -> Result<String> {
    let setup = setup_validated::<ScatterTrainConfig>(args, NAME)?;
    let config = &setup.config;
    if config.design.targets > config.test_samples {
        bail!(
            "nanophotonics config: {} design targets but only {} test spectra",
            config.design.targets,
            config.test_samples
        );
    }
    let recipe = &config.optics;
    let clock = Instant::now();
    let train = solve(config, Split::Train, config.train_samples)?;
    let valid = solve(config, Split::Valid, config.valid_samples)?;
    let test = solve(config, Split::Test, config.test_samples)?;
    let simulate_s = clock.elapsed().as_secs_f64();
    let solved = config.train_samples + config.valid_samples + config.test_samples;

    let device = default_training_device();
    let trained = train_network(
        &setup.out,
        ("train ScatterNet", "scatternet"),
        config.steps(),
        None,
        |checkpoint, progress| {
            train_scatter_net(config, &train, &valid, &device, Some(checkpoint), progress)
        },
    )?;
    // Training seconds over every segment of the run (a rerun that resumes adds none).
    let train_s = trained.seconds;

    // Accuracy and speed on the test set: the network and the solver on the same particles,
    // both on every core.
    let inference = default_inference_device();
    let thicknesses: Vec<&[f64]> = test.iter().map(|s| s.thicknesses_nm.as_slice()).collect();
    let truth: Vec<&[f64]> = test.iter().map(|s| s.spectrum.as_slice()).collect();
    let clock = Instant::now();
    let predicted = trained.predict(&thicknesses, &inference);
    let network_s = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    let resolved: Vec<Vec<f64>> = thicknesses.par_iter().map(|t| recipe.spectrum(t)).collect();
    let solver_s = clock.elapsed().as_secs_f64();
    debug_assert_eq!(resolved[0], test[0].spectrum);
    let test_error = mean_relative_error(&predicted, &truth);
    let mse = |p: &[Vec<f64>]| {
        p.iter()
            .zip(&truth)
            .flat_map(|(a, b)| a.iter().zip(b.iter()).map(|(x, y)| (x - y).powi(2)))
            .sum::<f64>()
            / (p.len() * recipe.wavelengths) as f64
    };
    let mean_spectrum: Vec<f64> = (0..recipe.wavelengths)
        .map(|w| train.iter().map(|s| s.spectrum[w]).sum::<f64>() / train.len() as f64)
        .collect();
    let mean_pred = vec![mean_spectrum; test.len()];

    // Inverse design on the first test spectra, each checked with the true solver.
    let targets: &[ScatterSample] = &test[..config.design.targets];
    let target_spectra: Vec<&[f64]> = targets.iter().map(|s| s.spectrum.as_slice()).collect();
    let clock = Instant::now();
    let designs = trained.design(&target_spectra, config, &device);
    let design_s = clock.elapsed().as_secs_f64();
    let designed: Vec<Vec<f64>> = designs
        .par_iter()
        .map(|d| recipe.spectrum(&d.thicknesses_nm))
        .collect();
    let design_errors: Vec<f64> = designed
        .iter()
        .zip(&target_spectra)
        .map(|(s, t)| relative_l2(s, t))
        .collect();
    // Random search: the same particles' range, `random_search_evaluations` true solves per
    // target, the best by the true error (an advantage the design does not get).
    let random: Vec<(Vec<f64>, Vec<f64>, f64)> = target_spectra
        .par_iter()
        .enumerate()
        .map(|(i, t)| {
            let mut rng =
                ChaCha8Rng::seed_from_u64(trajectory_seed(config.seed ^ 0xA11D, Split::Test, i));
            (0..config.design.random_search_evaluations.max(1))
                .map(|_| {
                    let th = recipe.random_thicknesses(&mut rng);
                    let s = recipe.spectrum(&th);
                    let e = relative_l2(&s, t);
                    (th, s, e)
                })
                .min_by(|a, b| a.2.total_cmp(&b.2))
                .expect("at least one evaluation")
        })
        .collect();
    let random_errors: Vec<f64> = random.iter().map(|r| r.2).collect();
    let n = design_errors.len() as f64;
    let within = design_errors.iter().filter(|e| **e <= 0.02).count() as f64 / n;
    let better = design_errors
        .iter()
        .zip(&random_errors)
        .filter(|(d, r)| d < r)
        .count() as f64
        / n;
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let thickness_error: f64 = designs
        .iter()
        .zip(targets)
        .map(|(d, t)| {
            d.thicknesses_nm
                .iter()
                .zip(&t.thicknesses_nm)
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>()
                / t.thicknesses_nm.len() as f64
        })
        .sum::<f64>()
        / n;

    let per_spectrum_solver = solver_s / test.len() as f64;
    let per_spectrum_network = network_s / test.len() as f64;
    let metrics = json!({
        "test_mean_relative_error": test_error,
        "test_mse": mse(&predicted),
        "valid_mean_relative_error_best": trained.valid_error.iter().map(|p| f64::from(p.loss)).fold(f64::INFINITY, f64::min),
        "best_epoch": trained.best_epoch,
        "design_fraction_within_2_percent": within,
        "design_fraction_better_than_random_search": better,
        "design_median_relative_l2": median(&design_errors),
        "design_mean_thickness_difference_nm": thickness_error,
        "design_errors": design_errors,
        "design_thicknesses_nm": designs.iter().map(|d| round1(&d.thicknesses_nm)).collect::<Vec<_>>(),
        "target_thicknesses_nm": targets.iter().map(|t| t.thicknesses_nm.clone()).collect::<Vec<_>>(),
        "design_network_losses": designs.iter().map(|d| d.network_loss).collect::<Vec<_>>(),
        "surrogate_speedup_per_spectrum": per_spectrum_solver / per_spectrum_network,
    });
    let bars = vec![
        bar("test mean relative error", test_error, 0.03, PassIf::AtMost),
        bar(
            "fraction of targets whose design's true spectrum is within 2 % relative L2",
            within,
            0.8,
            PassIf::AtLeast,
        ),
        bar(
            "fraction of targets where the design beats random search",
            better,
            0.8,
            PassIf::AtLeast,
        ),
    ];
    let pass = all_pass(&bars);
    let baselines = json!({
        "train_mean_spectrum": {
            "test_mean_relative_error": mean_relative_error(&mean_pred, &truth),
            "test_mse": mse(&mean_pred),
        },
        "random_search": {
            "evaluations_per_target": config.design.random_search_evaluations,
            "design_median_relative_l2": median(&random_errors),
            "design_fraction_within_2_percent": random_errors.iter().filter(|e| **e <= 0.02).count() as f64 / n,
            "design_errors": random_errors,
        },
    });
    let timing = json!({
        "simulate_s": simulate_s,
        "solver_spectra_per_s": 1.0 / per_spectrum_solver,
        "train_s": train_s,
        "network_spectra_per_s": 1.0 / per_spectrum_network,
        "design_s": design_s,
    });

    let grid = recipe.grid();
    let mut figures = Vec::new();
    for (i, target) in target_spectra.iter().enumerate().take(FIGURES) {
        let line = |s: &[f64]| -> Vec<(f64, f64)> {
            grid.iter().copied().zip(s.iter().copied()).collect()
        };
        let (t, d, r) = (line(target), line(&designed[i]), line(&random[i].1));
        let d_label = format!(
            "network design, true solver ({:.2} % L2)",
            100.0 * design_errors[i]
        );
        let r_label = format!(
            "random search best of {} ({:.2} % L2)",
            config.design.random_search_evaluations,
            100.0 * random_errors[i]
        );
        let file = format!("design_{i}.png");
        xy_plot(
            &setup.out.join(&file),
            &format!(
                "target {i}: {:?} nm; design {:?} nm",
                round1(&targets[i].thicknesses_nm),
                round1(&designs[i].thicknesses_nm)
            ),
            ("wavelength (nm)", "σ_sca / πR²"),
            &[
                XySeries {
                    label: "target",
                    points: &t,
                    line: true,
                },
                XySeries {
                    label: &d_label,
                    points: &d,
                    line: true,
                },
                XySeries {
                    label: &r_label,
                    points: &r,
                    line: true,
                },
            ],
        )?;
        figures.push(file);
    }
    let figure_refs: Vec<(&str, &str)> = figures
        .iter()
        .map(|f| ("target, designed and random-search spectra", f.as_str()))
        .collect();
    let notes = format!(
        "{} silica/TiO₂ shells (core silica) in water, thicknesses U[{}, {}] nm on a {} nm grid, σ_sca/πR² at {} wavelengths {}–{} nm by the transfer-matrix Mie solver (multipole order {}). {} training, {} validation and {} test particles ({:.1} s to solve all {solved}, every core). Network: MLP {} → {}×{} ReLU → {}, inputs standardised, outputs raw, MSE, Adam {} × {}^epoch, batch {}, {} epochs; the weights of the epoch with the lowest validation error ({}) are kept. Inverse design: {} test spectra as targets, {} restarts each from uniform thicknesses, {} Adam steps ({} → {}) on the standardised thicknesses through the frozen network, clamped to the range; the restart with the lowest network loss is the design, then solved with the true solver. Random search: {} true solves per target, the best by the true error. The loss curve shows training MSE and the validation mean relative error. Surrogate speed: {:.0} spectra/s against the solver's {:.0} (both on the test set, every core).",
        recipe.layers,
        recipe.thickness_min_nm,
        recipe.thickness_max_nm,
        recipe.thickness_step_nm,
        recipe.wavelengths,
        recipe.wavelength_min_nm,
        recipe.wavelength_max_nm,
        learnsim_sim::mie::multipole_order(recipe.layers),
        train.len(),
        valid.len(),
        test.len(),
        simulate_s,
        recipe.layers,
        config.n_hidden,
        config.hidden,
        recipe.wavelengths,
        config.lr,
        config.lr_decay_per_epoch,
        config.batch_size,
        config.epochs,
        trained.best_epoch,
        config.design.targets,
        config.design.restarts,
        config.design.steps,
        config.design.lr_initial,
        config.design.lr_final,
        config.design.random_search_evaluations,
        1.0 / per_spectrum_network,
        1.0 / per_spectrum_solver,
    );
    let report = Report {
        model: "scatternet-mlp",
        metrics: json!(metrics),
        baselines,
        context: None,
        bars,
        timing,
        losses: Losses {
            train: &trained.train_loss,
            check: &trained.valid_error,
            figure: plots::LossFigure {
                title: "spectrum MLP: training MSE and validation relative error",
                train: "train MSE",
                check: "validation mean relative error",
            },
        },
        notes,
        figures: figure_refs.to_vec(),
    };
    let summary = format!(
        "{NAME}: test mean relative error {:.2} %, designs within 2 % for {:.0} % of {} targets (better than random search for {:.0} %), surrogate {:.0}× faster than the solver, pass = {pass}",
        100.0 * test_error,
        100.0 * within,
        design_errors.len(),
        100.0 * better,
        per_spectrum_solver / per_spectrum_network
    );
    finish(&setup, NAME, &report, &summary)
}

fn round1(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| (x * 10.0).round() / 10.0).collect()
}
