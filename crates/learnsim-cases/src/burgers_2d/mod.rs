//! `learnsim run burgers-2d`: PDE-Net 2.0 (Long, Lu & Dong 2019) — 2D viscous Burgers data
//! from the spectral solver (or the upwind one, `solver = "upwind"`) → moment-constrained filters + SymNets trained through a curriculum
//! of unrolled steps, beside the same network on frozen stencils → the learned PDE read off
//! symbolically, coefficient checks and 100-step rollout errors against persistence →
//! metrics.json, report.md, plots, leaderboard row.

use crate::GenerateArgs;
use crate::bars::PassIf;
use crate::bars::{all_pass, bar};
use crate::plots::{self, XySeries, field_panels, xy_plot};
use crate::request::RunArgs;
use crate::runner::{
    Losses, Report, Setup, finish, generate_setup, setup_validated, train_network,
};
use crate::side_by_side::side_by_side;
use anyhow::{Result, bail};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use learnsim_data::{GridField, WellGrid, write_well_grid};
use learnsim_models::{default_inference_device, default_training_device};
use learnsim_sim::burgers::{BurgersSolver, BurgersTrajectory, Velocity2, burgers_trajectory};
use learnsim_sim::{Split, trajectory_seed};
use learnsim_train::pdenet::{
    PdeNetTrainConfig, Polynomial, TrainedPdeNet, format_equation, monomial, relative_l2_by_step,
    train_pdenet,
};
use rayon::prelude::*;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// Registry name.
pub const NAME: &str = "burgers-2d";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str =
    "PDE-Net 2.0: moment-constrained filters + SymNet recover 2D Burgers symbolically";

/// The case in the registry ([`crate::registry`]).
pub const CASE: crate::Pipeline = crate::Pipeline {
    name: NAME,
    description: DESCRIPTION,
    kind: crate::CaseKind::Grid,
    ranks: crate::Ranks::One,
    run,
    generate,
};

/// Most SymNet product layers whose expansion is tractable: 3 gives degree 8, at most
/// C(20, 8) ≈ 1.3e5 monomials; 4 would allow C(28, 16) ≈ 3e7.
const MAX_PRODUCT_LAYERS: usize = 3;

/// Coefficients below this are pruned before the checks (cases.md).
const PRUNE: f64 = 1e-3;

/// Features: u = 0, u_x = 1, u_y = 2, u_xx = 3, u_xy = 4, u_yy = 5, then v at 6…11.
const U: usize = 0;
const V: usize = 6;
const FEATURES: usize = 12;

/// The coefficients the Burgers PDE has, per equation: (monomial, true value).
fn expected_terms(field: usize) -> Vec<(Vec<u8>, f64, &'static str)> {
    let f = [U, V][field];
    vec![
        (monomial(&[f + 3], FEATURES), 0.05, "viscosity"),
        (monomial(&[f + 5], FEATURES), 0.05, "viscosity"),
        (monomial(&[U, f + 1], FEATURES), -1.0, "advection"),
        (monomial(&[V, f + 2], FEATURES), -1.0, "advection"),
    ]
}

/// (worst relative error of ν̂, worst relative error of the advection terms, largest other
/// |c| after pruning) over both equations.
fn coefficient_errors(equations: &[Polynomial]) -> (f64, f64, f64) {
    let (mut nu, mut adv, mut other) = (0.0f64, 0.0f64, 0.0f64);
    for (field, p) in equations.iter().enumerate() {
        let expected = expected_terms(field);
        for (m, truth, kind) in &expected {
            let c = p.get(m).copied().unwrap_or(0.0);
            let err = (c / truth - 1.0).abs();
            if *kind == "viscosity" {
                nu = nu.max(err);
            } else {
                adv = adv.max(err);
            }
        }
        for (m, c) in p {
            if c.abs() >= PRUNE && !expected.iter().any(|e| &e.0 == m) {
                other = other.max(c.abs());
            }
        }
    }
    (nu, adv, other)
}

/// Relative L2 above which a rollout has left any useful chart: five times the field's own
/// spread (persistence stays under 2 at t = 1).
const CHART_CEILING: f64 = 5.0;

/// The points (step, error) of an error-by-step curve from step 1, cut at the first step that
/// is non-finite or above [`CHART_CEILING`] (returned, to be said in the legend): a blown-up
/// rollout would otherwise set the axis and flatten every other curve.
fn chart_curve(errors: &[f64]) -> (Vec<(f64, f64)>, Option<usize>) {
    let mut points = Vec::new();
    for (t, &v) in errors.iter().enumerate().skip(1) {
        if !v.is_finite() || v > CHART_CEILING {
            return (points, Some(t));
        }
        points.push((t as f64, v));
    }
    (points, None)
}

fn simulate(
    config: &PdeNetTrainConfig,
    split: Split,
    count: usize,
    frames: usize,
    start: impl Fn(usize) -> f64 + Sync,
    bar: &ProgressBar,
) -> Result<Vec<BurgersTrajectory>> {
    (0..count)
        .into_par_iter()
        .map(|i| {
            let t = burgers_trajectory(
                &config.burgers,
                start(i),
                frames,
                trajectory_seed(config.seed, split, i),
            );
            bar.inc(1);
            t.map_err(anyhow::Error::from)
        })
        .collect()
}

/// The trajectories in The Well's layout: velocity [trajectory, time, x, y, 2].
fn write_grid(path: &Path, config: &PdeNetTrainConfig, set: &[BurgersTrajectory]) -> Result<()> {
    let n = config.burgers.n;
    let h = config.burgers.spacing();
    let frames = set[0].frames.len();
    let axis: Vec<f64> = (0..n).map(|i| i as f64 * h).collect();
    let values = set
        .iter()
        .flat_map(|t| t.frames.iter())
        .flat_map(|f| {
            f.u.iter()
                .zip(&f.v)
                .flat_map(|(&a, &b)| [a as f32, b as f32])
        })
        .collect();
    let grid = WellGrid {
        name: NAME.into(),
        spatial_dims: vec!["x".into(), "y".into()],
        coordinates: vec![axis.clone(), axis],
        time: (0..frames).map(|t| t as f64 * config.burgers.dt).collect(),
        n_trajectories: set.len(),
        parameters: vec![
            ("viscosity".into(), config.burgers.viscosity),
            ("noise".into(), config.burgers.noise),
        ],
        fields: vec![GridField {
            name: "velocity".into(),
            order: 1,
            values,
        }],
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_well_grid(path, &grid)?;
    Ok(())
}

/// Trains one PDE-Net variant, its bar in `bars`, checkpointing into (and resuming from)
/// `RUN/checkpoint/NAME`; returns it and its training seconds over every segment of the run.
fn train_variant(
    (config, out): (&PdeNetTrainConfig, &Path),
    frozen: bool,
    (label, name): (&'static str, &str),
    train: &[BurgersTrajectory],
    bars: &MultiProgress,
) -> Result<(TrainedPdeNet, f64)> {
    let steps = config.iterations * config.blocks.len();
    let trained = train_network(
        out,
        (label, name),
        steps,
        Some(bars),
        |checkpoint, progress| {
            let device = default_training_device();
            train_pdenet(config, frozen, train, &device, Some(checkpoint), progress)
        },
    )?;
    let seconds = trained.seconds;
    Ok((trained, seconds))
}

/// The recipe's training and test trajectories, simulated in parallel behind a progress bar and
/// written to `dir` as Well files (`train.hdf5`, `test.hdf5`).
fn burgers_data(
    config: &PdeNetTrainConfig,
    dir: &Path,
) -> Result<(Vec<BurgersTrajectory>, Vec<BurgersTrajectory>)> {
    let total = config.batch + config.test_trajectories;
    let progress = crate::progress::bar(total as u64).with_style(
        ProgressStyle::with_template(
            "simulate Burgers [{elapsed_precise}] {wide_bar} {pos}/{len} trajectories",
        )
        .expect("valid template"),
    );
    let half = config.batch / 2;
    let train = simulate(
        config,
        Split::Train,
        config.batch,
        config.training_frames(),
        |i| {
            if i < half {
                config.data_start_time
            } else {
                0.0
            }
        },
        &progress,
    )?;
    let test = simulate(
        config,
        Split::Test,
        config.test_trajectories,
        config.test_steps + 1,
        |_| 0.0,
        &progress,
    )?;
    progress.finish_and_clear();
    write_grid(&dir.join("train.hdf5"), config, &train)?;
    write_grid(&dir.join("test.hdf5"), config, &test)?;
    Ok((train, test))
}

/// `learnsim generate burgers-2d`: the config's trajectories in The Well's format,
/// `OUT/{train,test}.hdf5` (default `data/burgers-2d`).
fn generate(args: &GenerateArgs) -> Result<String> {
    let (config, tier, out) = generate_setup::<PdeNetTrainConfig>(args, NAME)?;
    config.burgers.check()?;
    let (train, test) = burgers_data(&config, &out)?;
    Ok(format!(
        "{NAME} ({tier} tier, {:?} data on {}², sampled on {}²): {} training and {} test trajectories in {}",
        config.burgers.solver,
        config.burgers.n * config.burgers.zoom,
        config.burgers.n,
        train.len(),
        test.len(),
        out.display()
    ))
}

/// `learnsim run burgers-2d`.
pub fn run(args: &RunArgs) -> Result<String> {
    let setup: Setup<PdeNetTrainConfig> = setup_validated(args, NAME)?;
    let config = &setup.config;
    config.burgers.check()?;
    if config.hidden_layers > MAX_PRODUCT_LAYERS {
        bail!(
            "hidden_layers = {}: the learned PDE is read off by expanding the SymNet, a polynomial of degree 2^L in 12 filtered fields; more than {MAX_PRODUCT_LAYERS} product layers do not fit in memory",
            config.hidden_layers
        );
    }
    if config.blocks.is_empty() || config.batch == 0 || config.test_trajectories == 0 {
        bail!("burgers-2d needs blocks, a batch and test trajectories");
    }
    let clock = Instant::now();
    let (train, test) = burgers_data(config, &setup.out.join("data"))?;
    let simulate_s = clock.elapsed().as_secs_f64();

    // Checkpoints in RUN/checkpoint/{frozen,moments}: a killed run resumes where it stopped.
    let (frozen, model) = side_by_side(
        &MultiProgress::new(),
        |bars| {
            train_variant(
                (config, &setup.out),
                true,
                ("train PDE-Net (frozen stencils)", "frozen"),
                &train,
                bars,
            )
        },
        |bars| {
            train_variant(
                (config, &setup.out),
                false,
                ("train PDE-Net (moment filters)", "moments"),
                &train,
                bars,
            )
        },
    );
    let ((model, model_s), (frozen, frozen_s)) = (model?, frozen?);

    let device = default_inference_device();
    let steps = config.test_steps;
    let clock = Instant::now();
    // Each model rolled out once from every test trajectory's first frame: scored below,
    // played by the viewer.
    let rolled = |m: &TrainedPdeNet| -> Vec<Vec<Velocity2>> {
        test.iter()
            .map(|t| m.rollout(&t.frames[0], steps, &device))
            .collect()
    };
    let (moments, stencils) = (rolled(&model), rolled(&frozen));
    let eval_s = clock.elapsed().as_secs_f64();
    let still: Vec<Vec<Velocity2>> = test
        .iter()
        .map(|t| vec![t.frames[0].clone(); steps + 1])
        .collect();
    let model_err = relative_l2_by_step(&test, steps, &moments);
    let frozen_err = relative_l2_by_step(&test, steps, &stencils);
    let persistence_err = relative_l2_by_step(&test, steps, &still);
    let speed = |v: &Velocity2| -> Vec<f32> {
        v.u.iter()
            .zip(&v.v)
            .map(|(a, b)| a.hypot(*b) as f32)
            .collect()
    };
    let speeds = |frames: &[Velocity2]| -> Vec<Vec<f32>> { frames.iter().map(speed).collect() };
    for (k, trajectory) in test.iter().enumerate().take(crate::playback::MAX_PLAYBACKS) {
        let m = trajectory.frames[0].m;
        let playback = crate::playback::field_window(
            format!("test trajectory {k}"),
            "speed |u|",
            [m, m],
            config.burgers.dt,
            1,
            &speeds(&trajectory.frames[..=steps]),
            &[
                ("pde_net", &speeds(&moments[k][1..])),
                ("frozen_stencils", &speeds(&stencils[k][1..])),
                ("persistence", &speeds(&still[k][1..])),
            ],
            <[f32]>::to_vec,
            None,
        );
        crate::playback::write(&setup.out, &format!("test_{k}"), &playback)?;
    }
    let (at, frozen_at, persistence_at) =
        (model_err[steps], frozen_err[steps], persistence_err[steps]);
    // A rollout that blew up shows as a non-finite error from its first bad step on.
    let blew_up = |err: &[f64]| err.iter().position(|e| !e.is_finite());
    for (label, err) in [
        ("moment filters", &model_err),
        ("frozen stencils", &frozen_err),
    ] {
        if let Some(step) = blew_up(err) {
            crate::progress::warning(format_args!(
                "PDE-Net ({label}) rollout became non-finite at step {step}"
            ));
        }
    }

    let equations = model.equations();
    let frozen_equations = frozen.equations();
    let (nu_err, adv_err, other) = coefficient_errors(&equations);
    let (f_nu, f_adv, f_other) = coefficient_errors(&frozen_equations);
    let printed: Vec<String> = ["u", "v"]
        .iter()
        .zip(&equations)
        .map(|(f, p)| format!("{f}_t = {}", format_equation(p, PRUNE)))
        .collect();
    let frozen_printed: Vec<String> = ["u", "v"]
        .iter()
        .zip(&frozen_equations)
        .map(|(f, p)| format!("{f}_t = {}", format_equation(p, PRUNE)))
        .collect();
    let coefficient = |field: usize, m: Vec<u8>| equations[field].get(&m).copied().unwrap_or(0.0);
    let t_label = format!("t = {:.2}", steps as f64 * config.burgers.dt);
    let metrics = json!({
        format!("relative_l2_{steps}"): at,
        "ratio_to_persistence": at / persistence_at,
        "viscosity_max_relative_error": nu_err,
        "advection_max_relative_error": adv_err,
        "other_max_abs_coefficient": other,
        "learned_pde": printed,
        "nu_u_xx": coefficient(0, monomial(&[3], FEATURES)),
        "nu_u_yy": coefficient(0, monomial(&[5], FEATURES)),
        "nu_v_xx": coefficient(1, monomial(&[V + 3], FEATURES)),
        "nu_v_yy": coefficient(1, monomial(&[V + 5], FEATURES)),
        "u_u_x": coefficient(0, monomial(&[U, 1], FEATURES)),
        "v_u_y": coefficient(0, monomial(&[V, 2], FEATURES)),
        "u_v_x": coefficient(1, monomial(&[U, V + 1], FEATURES)),
        "v_v_y": coefficient(1, monomial(&[V, V + 2], FEATURES)),
        "relative_l2_by_step": model_err,
        "first_non_finite_step": blew_up(&model_err),
    });
    let bars = vec![
        bar(
            "ν̂ (u_xx, u_yy, v_xx, v_yy): max |ν̂/0.05 − 1|",
            nu_err,
            0.10,
            PassIf::AtMost,
        ),
        bar(
            "advection (u u_x, v u_y, u v_x, v v_y): max |c/(−1) − 1|",
            adv_err,
            0.05,
            PassIf::AtMost,
        ),
        bar(
            "largest other |coefficient| (after pruning |c| < 1e-3)",
            other,
            0.01,
            PassIf::AtMost,
        ),
        bar(
            &format!("relative L2 at {t_label} ({steps} steps)"),
            at,
            0.05,
            PassIf::AtMost,
        ),
        bar(
            "relative L2 / persistence's",
            at / persistence_at,
            0.2,
            PassIf::AtMost,
        ),
    ];
    let pass = all_pass(&bars);
    let baselines = json!({
        "frozen_stencils": {
            format!("relative_l2_{steps}"): frozen_at,
            "first_non_finite_step": blew_up(&frozen_err),
            "viscosity_max_relative_error": f_nu,
            "advection_max_relative_error": f_adv,
            "other_max_abs_coefficient": f_other,
            "learned_pde": frozen_printed,
        },
        "persistence": { format!("relative_l2_{steps}"): persistence_at },
    });
    let timing = json!({
        "simulate_s": simulate_s,
        "train_s": model_s,
        "train_frozen_s": frozen_s,
        "variants_trained_concurrently": true,
        "eval_s": eval_s,
    });

    let label = |name: &str, cut: Option<usize>| match cut {
        Some(t) => format!("{name}, blown up at step {t}"),
        None => name.to_string(),
    };
    let ((a, a_cut), (b, b_cut), (c, _)) = (
        chart_curve(&model_err),
        chart_curve(&frozen_err),
        chart_curve(&persistence_err),
    );
    let (a_label, b_label) = (
        label("PDE-Net (moment filters)", a_cut),
        label("PDE-Net (frozen stencils)", b_cut),
    );
    xy_plot(
        &setup.out.join("error_vs_horizon.png"),
        "relative L2 error of test rollouts",
        ("step (dt = 0.01)", "relative L2"),
        &[
            XySeries {
                label: &a_label,
                points: &a,
                line: true,
            },
            XySeries {
                label: "persistence",
                points: &c,
                line: true,
            },
            XySeries {
                label: &b_label,
                points: &b,
                line: true,
            },
        ],
    )?;
    let n = config.burgers.n;
    let shown = &test[0];
    let predicted = model.rollout(&shown.frames[0], steps, &device);
    field_panels(
        &setup.out.join("fields.png"),
        &format!(
            "u of a test trajectory (mean removed): start, simulator and PDE-Net at {t_label}"
        ),
        &[
            ("start", &centred(&shown.frames[0].u)),
            ("simulator", &centred(&shown.frames[steps].u)),
            ("PDE-Net", &centred(&predicted[steps].u)),
        ],
        n,
    )?;
    let notes = format!(
        "Data: u_t + u·∇u = ν Δu, ν = {}, on [0, 2π)², {}, sub-steps ≤ {} on a {}² grid, frames every {} sampled at every {}th point ({}²), observation noise {}·std(u₀). Initial fields: modes |k| ≤ {} scaled to max|·| = {} plus a shift in ±{} per channel. Training: one batch of {} trajectories (the first half started at t = {}) with {} frames; test: {} trajectories from t = 0. Model: 5×5 filters for u, u_x, u_y, u_xx, u_xy, u_yy of each field, moments fixed below total order i + j + {}; one SymNet per field with {} product layers; forward Euler with dt = {} ({} per frame). Curriculum blocks {:?} × {} Adam iterations (lr {} decaying to {:?} within each block), full batch; loss Σ_steps mean(((û − u)/dt)²) + steps·{}·Huber-L1(SymNet, 1e-3) + steps·{}·Huber-L1(moments, 1e-2) after the warm-up block. First derivatives are upwinded: each point takes the backward- or forward-biased filter by the sign of its SymNet's ∂RHS/∂u_x (∂RHS/∂u_y). Learned PDE (|c| ≥ {PRUNE}): {}. Frozen stencils: {}.",
        config.burgers.viscosity,
        match config.burgers.solver {
            BurgersSolver::Spectral =>
                "Fourier pseudo-spectral (2/3 rule, integrating-factor RK4: the PDE)",
            BurgersSolver::Upwind =>
                "second-order upwind advection, 5-point Laplacian, Heun (PDE-Net's aTEAM scheme)",
        },
        config.burgers.max_dt,
        n * config.burgers.zoom,
        config.burgers.dt,
        config.burgers.zoom,
        n,
        config.burgers.noise,
        config.burgers.frequency,
        config.burgers.amplitude,
        config.burgers.shift,
        config.batch,
        config.data_start_time,
        config.training_frames(),
        config.test_trajectories,
        config.accuracy,
        config.hidden_layers,
        config.burgers.dt / config.substeps as f64,
        config.substeps,
        config.blocks,
        config.iterations,
        config.lr,
        config.lr_final.unwrap_or(config.lr),
        config.symnet_sparsity,
        config.moment_sparsity,
        printed.join("; "),
        frozen_printed.join("; "),
    );
    let report = Report {
        model: "pde-net-2.0",
        metrics: json!(metrics),
        baselines,
        context: None,
        bars,
        timing,
        losses: Losses {
            train: &model.train_loss,
            check: &model.block_loss,
            figure: plots::LossFigure {
                title: "PDE-Net: Σ over unrolled steps of mean((û − u)/dt)²",
                train: "train: data term, unrolls grow per block",
                check: "end of each curriculum block",
            },
        },
        notes,
        figures: vec![
            ("error against horizon", "error_vs_horizon.png"),
            ("a test trajectory", "fields.png"),
        ],
    };
    let summary = format!(
        "{NAME}: {} | relative L2 at {t_label} {at:.4} (frozen {frozen_at:.4}, persistence {persistence_at:.4}); ν̂ error {:.1}%, advection error {:.1}%, largest other |c| {other:.4}; pass = {pass}",
        printed.join("; "),
        100.0 * nu_err,
        100.0 * adv_err
    );
    finish(&setup, NAME, &report, &summary)
}

fn centred(f: &[f64]) -> Vec<f64> {
    let mean = f.iter().sum::<f64>() / f.len() as f64;
    f.iter().map(|x| x - mean).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blown_up_curves_are_cut_where_they_leave_the_chart() {
        let (points, cut) = chart_curve(&[0.0, 0.1, 0.2, 4.9, 1e12, f64::NAN, 0.3]);
        assert_eq!(points, vec![(1.0, 0.1), (2.0, 0.2), (3.0, 4.9)]);
        assert_eq!(cut, Some(4));
        let (points, cut) = chart_curve(&[0.0, 0.1, f64::NAN]);
        assert_eq!((points.len(), cut), (1, Some(2)));
        assert_eq!(chart_curve(&[0.0, 0.1, 0.2]).1, None);
    }
}
