//! `learnsim run pm-cosmo`: learning cosmological structure formation (D3M, He et al. 2019) —
//! Gaussian initial conditions → Zel'dovich and 2LPT displacements and a particle-mesh
//! N-body run per universe, cached as Well-layout HDF5 files per split → a periodic 3D U-Net
//! trained to map Ψ_ZA to Ψ_PM (the residual) → displacement errors against ZA and 2LPT,
//! the density transfer function and cross-correlation, and the same at 1.5× the training
//! power (extrapolation) → metrics.json, report.md, plots, leaderboard row.

use crate::GenerateArgs;
use crate::bars::PassIf;
use crate::bars::{all_pass, bar};
use crate::plots::{self, XySeries, field_panels, xy_plot};
use crate::request::RunArgs;
use crate::runner::{
    Losses, Report, Setup, finish, generate_setup, setup_validated, train_network,
};
use anyhow::{Context, Result};
use indicatif::ProgressStyle;
use learnsim_data::{
    GridField, WellGrid, from_component_last, read_well_grid, to_component_last, write_well_grid,
};
use learnsim_models::{default_inference_device, default_training_device};
use learnsim_sim::Split;
use learnsim_sim::spectral::cosmology::{CosmologyRecipe, universe};
use learnsim_sim::trajectory_seed;
use learnsim_train::cosmology::{
    CosmologyConfig, Displacements, TrainedUNet, pooled_relative_error, train_unet,
    transfer_and_correlation,
};
use rayon::prelude::*;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// Registry name.
pub const NAME: &str = "pm-cosmo";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str =
    "D3M: 3D U-Net from Zel'dovich to particle-mesh N-body displacements (EdS, vs ZA and 2LPT)";

/// The case in the registry ([`crate::registry`]).
pub const CASE: crate::Pipeline = crate::Pipeline {
    name: NAME,
    description: DESCRIPTION,
    kind: crate::CaseKind::Grid,
    ranks: crate::Ranks::One,
    run,
    generate,
};

/// The three displacement fields of a file, in The Well's names.
const FIELDS: [&str; 3] = [
    "displacement_zeldovich",
    "displacement_2lpt",
    "displacement_nbody",
];

/// The recipe, the seed and the power scale as named parameters of a data file (and the key
/// of its reuse).
fn parameters(recipe: &CosmologyRecipe, seed: u64, power: f64) -> Vec<(String, f64)> {
    let mut p = vec![
        ("n".to_string(), recipe.n as f64),
        ("mesh_factor".into(), recipe.mesh_factor as f64),
        ("spectral_index".into(), recipe.spectral_index),
        ("cutoff".into(), recipe.cutoff),
        ("displacement_rms".into(), recipe.displacement_rms),
        ("amplitude".into(), recipe.amplitude() * power),
        ("power_scale".into(), power),
        ("a_start".into(), recipe.a_start),
        ("steps".into(), recipe.steps as f64),
        ("seed".into(), seed as f64),
    ];
    p.sort_by(|a, b| a.0.cmp(&b.0));
    p
}

fn to_f32(f: &[Vec<f64>; 3]) -> Vec<f32> {
    f.iter().flatten().map(|&v| v as f32).collect()
}

/// One split's universes, reused from `path` when it holds this recipe's, else simulated
/// (in parallel over universes) and written.
fn split_data(
    path: &Path,
    config: &CosmologyConfig,
    (split, offset): (Split, usize),
    count: usize,
    power: f64,
    label: &'static str,
) -> Result<(Vec<Displacements>, bool)> {
    let recipe = &config.universe;
    let wanted = parameters(recipe, config.seed, power);
    let n = recipe.n;
    let points = n * n * n;
    if path.exists() {
        match read_well_grid(path) {
            Ok(grid) if grid.parameters == wanted && grid.n_trajectories == count => {
                let field = |name: &str| -> Result<Vec<Vec<f32>>> {
                    let f = grid
                        .field(name)
                        .with_context(|| format!("{}: no {name} field", path.display()))?;
                    Ok(f.values
                        .chunks(3 * points)
                        .map(|u| from_component_last(u, 3))
                        .collect())
                };
                let [za, lpt, pm] = FIELDS.map(field);
                let data = za?
                    .into_iter()
                    .zip(lpt?)
                    .zip(pm?)
                    .map(|((zeldovich, second_order), n_body)| Displacements {
                        zeldovich,
                        second_order,
                        n_body,
                    })
                    .collect();
                return Ok((data, true));
            }
            Ok(_) => crate::progress::note(format_args!(
                "{}: made with another recipe; simulating again",
                path.display()
            )),
            Err(e) => crate::progress::note(format_args!("{e}; simulating again")),
        }
    }
    let progress = crate::progress::bar(count as u64).with_style(
        ProgressStyle::with_template(&format!(
            "simulate {label} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} universes (ETA {{eta}})"
        ))
        .expect("valid template"),
    );
    let data = (0..count)
        .into_par_iter()
        .map(|i| {
            let seed = trajectory_seed(config.seed, split, offset + i);
            let u = universe(recipe, seed, power, &mut |_| {})
                .with_context(|| format!("{label} universe {i} (seed {seed})"))?;
            progress.inc(1);
            Ok(Displacements {
                zeldovich: to_f32(&u.zeldovich),
                second_order: to_f32(&u.second_order),
                n_body: to_f32(&u.n_body),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    progress.finish_and_clear();
    let axis: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let field = |name: &str, pick: fn(&Displacements) -> &Vec<f32>| GridField {
        name: name.into(),
        order: 1,
        values: data
            .iter()
            .flat_map(|u| to_component_last(pick(u), 3))
            .collect(),
    };
    let grid = WellGrid {
        name: NAME.into(),
        spatial_dims: vec!["x".into(), "y".into(), "z".into()],
        coordinates: vec![axis.clone(), axis.clone(), axis],
        // The one frame is the scale factor a = 1.
        time: vec![1.0],
        n_trajectories: count,
        parameters: wanted,
        fields: vec![
            field(FIELDS[0], |u| &u.zeldovich),
            field(FIELDS[1], |u| &u.second_order),
            field(FIELDS[2], |u| &u.n_body),
        ],
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_well_grid(path, &grid)?;
    Ok((data, false))
}

/// Scores of the model and the two baselines on one set of universes.
struct Scores {
    /// Pooled relative displacement error of (U-Net, 2LPT, ZA).
    errors: [f64; 3],
    /// T(k) and r(k) per shell, for the same three.
    spectra: [(Vec<f64>, Vec<f64>); 3],
}

fn score(model: &TrainedUNet, data: &[Displacements], n: usize) -> (Scores, Vec<Vec<f32>>) {
    let zeldovich: Vec<Vec<f32>> = data.iter().map(|u| u.zeldovich.clone()).collect();
    let truth: Vec<Vec<f32>> = data.iter().map(|u| u.n_body.clone()).collect();
    let lpt: Vec<Vec<f32>> = data.iter().map(|u| u.second_order.clone()).collect();
    let predicted = model.predict(&zeldovich, n, &default_inference_device());
    let sets = [&predicted, &lpt, &zeldovich];
    let scores = Scores {
        errors: sets.map(|p| pooled_relative_error(p, &truth)),
        spectra: sets.map(|p| transfer_and_correlation(p, &truth, n)),
    };
    (scores, predicted)
}

/// Shells 1, …, below k_Nyq/2 = π/2 (in units of the fundamental 2π/n: round|k| < n/4).
fn low_shells(n: usize) -> std::ops::Range<usize> {
    1..(n / 4).max(2)
}

/// The four sets of universes (train, valid, test, extrapolation), each cached as a Well
/// file in `dir` and reused when it holds the same recipe; whether all four came from there.
fn universes(config: &CosmologyConfig, dir: &Path) -> Result<([Vec<Displacements>; 4], bool)> {
    let mut cached = true;
    let mut load = |file: &str, split: (Split, usize), count: usize, power: f64, label| {
        let (data, from_cache) = split_data(&dir.join(file), config, split, count, power, label)?;
        cached &= from_cache;
        anyhow::Ok(data)
    };
    let sets = [
        load("train.hdf5", (Split::Train, 0), config.train, 1.0, "train")?,
        load("valid.hdf5", (Split::Valid, 0), config.valid, 1.0, "valid")?,
        load("test.hdf5", (Split::Test, 0), config.test, 1.0, "test")?,
        load(
            "extrapolation.hdf5",
            (Split::Test, 100_000),
            config.extrapolation,
            config.extrapolation_power,
            "1.5×A",
        )?,
    ];
    Ok((sets, cached))
}

/// `learnsim generate pm-cosmo`: the universes of the config's recipe, one Well file per set
/// in `--out` (default `data/pm-cosmo`).
fn generate(args: &GenerateArgs) -> Result<String> {
    let (config, tier, out) = generate_setup::<CosmologyConfig>(args, NAME)?;
    config.universe.check()?;
    let (sets, cached) = universes(&config, &out)?;
    Ok(format!(
        "{NAME} ({tier} tier): {} universes of {}³ particles (train, valid, test, extrapolation: {}) in {}{}",
        sets.iter().map(Vec::len).sum::<usize>(),
        config.universe.n,
        sets.map(|s| s.len().to_string()).join(", "),
        out.display(),
        if cached {
            ", all already there with the same recipe"
        } else {
            ""
        }
    ))
}

/// `learnsim run pm-cosmo`.
pub fn run(args: &RunArgs) -> Result<String> {
    let setup: Setup<CosmologyConfig> = setup_validated(args, NAME)?;
    let config = &setup.config;
    config.universe.check()?;
    let n = config.universe.n;
    let clock = Instant::now();
    let ([train, valid, test, extrapolation], cached) = universes(config, &setup.out.join("data"))?;
    let simulate_s = clock.elapsed().as_secs_f64();
    let universes = train.len() + valid.len() + test.len() + extrapolation.len();

    let model = train_network(
        &setup.out,
        ("train D3M U-Net", "unet"),
        config.steps,
        None,
        |checkpoint, progress| {
            train_unet(
                config,
                &train,
                &valid,
                &default_training_device(),
                Some(checkpoint),
                progress,
            )
        },
    )?;
    // Training seconds over every segment of the run (a rerun that resumes adds none).
    let train_s = model.seconds;

    let clock = Instant::now();
    let (at_a, predicted) = score(&model, &test, n);
    let (beyond, _) = score(&model, &extrapolation, n);
    let eval_s = clock.elapsed().as_secs_f64();
    let shells = low_shells(n);
    let worst_transfer = |s: &(Vec<f64>, Vec<f64>)| {
        shells
            .clone()
            .map(|k| (s.0[k] - 1.0).abs())
            .fold(0.0, f64::max)
    };
    let worst_correlation =
        |s: &(Vec<f64>, Vec<f64>)| shells.clone().map(|k| s.1[k]).fold(1.0, f64::min);
    let [unet, lpt, za] = at_a.errors;
    let [unet_x, lpt_x, za_x] = beyond.errors;
    let by_shell = |s: &(Vec<f64>, Vec<f64>)| {
        json!({
            "transfer": shells.clone().map(|k| s.0[k]).collect::<Vec<_>>(),
            "correlation": shells.clone().map(|k| s.1[k]).collect::<Vec<_>>(),
        })
    };
    let metrics = json!({
        "displacement_error": unet,
        "displacement_error_ratio_to_2lpt": unet / lpt,
        "displacement_error_ratio_to_za": unet / za,
        "transfer_max_deviation": worst_transfer(&at_a.spectra[0]),
        "correlation_min": worst_correlation(&at_a.spectra[0]),
        "spectra_by_shell": by_shell(&at_a.spectra[0]),
        "extrapolation_displacement_error": unet_x,
        "extrapolation_ratio_to_2lpt": unet_x / lpt_x,
        "parameters": model.parameters(),
        "best_step": model.best_step,
    });
    let bars = vec![
        bar(
            "U-Net / 2LPT displacement error (below 1: better than 2LPT)",
            unet / lpt,
            1.0,
            PassIf::AtMost,
        ),
        bar(
            "U-Net / ZA displacement error",
            unet / za,
            0.5,
            PassIf::AtMost,
        ),
        bar(
            "max |T(k) − 1| for k < k_Nyq/2",
            worst_transfer(&at_a.spectra[0]),
            0.1,
            PassIf::AtMost,
        ),
        bar(
            "min r(k) for k < k_Nyq/2",
            worst_correlation(&at_a.spectra[0]),
            0.95,
            PassIf::AtLeast,
        ),
        bar(
            &format!(
                "at {}× the training power: U-Net / 2LPT displacement error",
                config.extrapolation_power
            ),
            unet_x / lpt_x,
            1.0,
            PassIf::AtMost,
        ),
    ];
    let pass = all_pass(&bars);
    let baseline = |i: usize, error: f64, error_x: f64| {
        json!({
            "displacement_error": error,
            "transfer_max_deviation": worst_transfer(&at_a.spectra[i]),
            "correlation_min": worst_correlation(&at_a.spectra[i]),
            "spectra_by_shell": by_shell(&at_a.spectra[i]),
            "extrapolation_displacement_error": error_x,
        })
    };
    let baselines = json!({
        "2lpt": baseline(1, lpt, lpt_x),
        "zeldovich": baseline(2, za, za_x),
    });
    let timing = json!({
        "simulate_s": simulate_s,
        "train_s": train_s,
        "eval_s": eval_s,
        "ground_truth_universes_per_s": if cached { f64::NAN } else { universes as f64 / simulate_s },
        "model_universes_per_s": (test.len() + extrapolation.len()) as f64 / eval_s,
    });
    let universe = json!({
        "amplitude": config.universe.amplitude(),
        "universes": universes,
        "from_cache": cached,
    });

    // T(k) and r(k) against k for the three.
    let k_unit = std::f64::consts::TAU / n as f64;
    let curve = |values: &[f64]| -> Vec<(f64, f64)> {
        (1..=n / 2)
            .map(|k| (k as f64 * k_unit, values[k]))
            .collect()
    };
    for (file, caption, pick, axis) in [
        (
            "transfer.png",
            "density transfer function T(k) = √(P/P_N-body)",
            0usize,
            "T(k)",
        ),
        (
            "correlation.png",
            "cross-correlation r(k) with the N-body density",
            1,
            "r(k)",
        ),
    ] {
        let lines: Vec<Vec<(f64, f64)>> = at_a
            .spectra
            .iter()
            .map(|s| curve(if pick == 0 { &s.0 } else { &s.1 }))
            .collect();
        let series: Vec<XySeries<'_>> = ["U-Net", "2LPT", "Zel'dovich"]
            .iter()
            .zip(&lines)
            .map(|(label, points)| XySeries {
                label,
                points,
                line: true,
            })
            .collect();
        xy_plot(
            &setup.out.join(file),
            &format!("{caption} (k_Nyq/2 = {:.2})", std::f64::consts::FRAC_PI_2),
            ("k", axis),
            &series,
        )?;
    }
    // Ψ_x on the plane z = 0 of the first test universe.
    let slice = |u: &[f32]| -> Vec<f64> { (0..n * n).map(|p| f64::from(u[p * n])).collect() };
    let first = &test[0];
    let (t, m, l, z) = (
        slice(&first.n_body),
        slice(&predicted[0]),
        slice(&first.second_order),
        slice(&first.zeldovich),
    );
    field_panels(
        &setup.out.join("fields.png"),
        "Ψ_x on the plane z = 0, first test universe",
        &[
            ("N-body", &t),
            ("U-Net", &m),
            ("2LPT", &l),
            ("Zel'dovich", &z),
        ],
        n,
    )?;
    let r = &config.universe;
    let notes = format!(
        "Universes: Einstein–de Sitter (Ω_m = 1, D = a), {n}³ particles on a unit lattice, P(k) = A·k^{}·exp(−k²/k_c²) with k_c = {}·k_Nyq and A = {:.4} so that the expected rms Zel'dovich displacement at a = 1 is {} cells. Particle-mesh N-body from 2LPT at a = {} in {} kick–drift–kick steps (FastPM kernels) on a {}³ mesh (CIC, 4th-order finite-difference gradient). {} train, {} validation and {} test universes at A, and {} at {}·A, each split cached as a Well-layout HDF5 file under data/. Model: periodic 3D U-Net, widths {:?}, {} parameters, input Ψ_ZA/s and output (Ψ_PM − Ψ_ZA)/s with s the training rms; MSE; Adam {} → {} over {} steps of batches of {}{}; the weights of the best validation error (step {}) are kept. Displacement errors are pooled ‖Ψ − Ψ_PM‖/‖Ψ_PM‖ over a split; T(k) and r(k) come from the CIC densities of the displaced particles on the {n}³ lattice, summed over the test universes, on shells k < k_Nyq/2.",
        r.spectral_index,
        r.cutoff,
        r.amplitude(),
        r.displacement_rms,
        r.a_start,
        r.steps,
        r.mesh_factor * n,
        train.len(),
        valid.len(),
        test.len(),
        extrapolation.len(),
        config.extrapolation_power,
        config.widths,
        model.parameters(),
        config.lr,
        config.lr_final,
        config.steps,
        config.batch_size,
        if config.augment {
            ", each universe under a random cube symmetry and periodic shift"
        } else {
            ""
        },
        model.best_step,
    );
    let report = Report {
        model: "d3m-unet3d",
        metrics: json!(metrics),
        baselines,
        context: Some(("universe", universe)),
        bars,
        timing,
        losses: Losses {
            train: &model.train_loss,
            check: &model.valid_error,
            figure: plots::LossFigure {
                title: "U-Net: normalised MSE of the displacement residual",
                train: "train",
                check: "validation relative displacement error",
            },
        },
        notes,
        figures: vec![
            ("transfer function", "transfer.png"),
            ("cross-correlation", "correlation.png"),
            ("a displacement slice", "fields.png"),
        ],
    };
    let summary = format!(
        "{NAME}: displacement error U-Net {unet:.4}, 2LPT {lpt:.4}, ZA {za:.4}; at {}×A: {unet_x:.4} vs 2LPT {lpt_x:.4}; max|T−1| {:.3}, min r {:.3}; pass = {pass}",
        config.extrapolation_power,
        worst_transfer(&at_a.spectra[0]),
        worst_correlation(&at_a.spectra[0])
    );
    finish(&setup, NAME, &report, &summary)
}
