//! `learnsim run plasma-1d`: a learned field solver inside a particle-in-cell loop (Aguilar &
//! Markidis 2021) — 1D1V electrostatic PIC runs of two-stream and Landau-damping scenarios →
//! an MLP and a periodic CNN trained on their (ρ, E) pairs → the PIC rerun on unseen initial
//! conditions with each network in place of the FFT Poisson solve, beside a coarser FFT grid
//! and a finite-difference solve → growth, saturation, damping and energy drift judged
//! against the FFT-solver PIC and linear theory → metrics.json, report.md, plots, leaderboard.

mod data;
mod figures;

use crate::bars::PassIf;
use crate::bars::{all_pass, bar};
use crate::plots;
use crate::request::RunArgs;
use crate::runner::{Losses, Report, Setup, finish, setup_validated, train_network};
use anyhow::{Context, Result};
use data::generate_file;
use figures::draw;
use learnsim_models::{default_inference_device, default_training_device};
use learnsim_sim::Split;
use learnsim_sim::plasma::{FieldSolver, PicHistory, Scenario, Stencil, damping_rate, growth_rate};
use learnsim_train::plasma::{
    FieldModel, FieldPairs, PlasmaConfig, PlasmaRun, TrainedField, cnn, mlp, train_field,
};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Instant;

/// Registry name.
pub const NAME: &str = "plasma-1d";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str = "1D electrostatic PIC (two-stream, Landau), learned field solver in the loop (Aguilar & Markidis 2021)";

/// The case in the registry ([`crate::registry`]).
pub const CASE: crate::Pipeline = crate::Pipeline {
    name: NAME,
    description: DESCRIPTION,
    kind: crate::CaseKind::Grid,
    ranks: crate::Ranks::One,
    run,
    generate: generate_file,
};

/// The field solvers a test scenario is rerun with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Solver {
    /// The FFT on the case's grid (the truth).
    Fft,
    /// A trained network.
    Learned(FieldModel),
    /// The FFT on a grid of half the cells.
    CoarseFft,
    /// The second-order finite-difference solve.
    FiniteDifference,
}

impl Solver {
    const ALL: [Self; 5] = [
        Self::Fft,
        Self::Learned(FieldModel::Mlp),
        Self::Learned(FieldModel::Cnn),
        Self::CoarseFft,
        Self::FiniteDifference,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Fft => "fft",
            Self::Learned(m) => m.name(),
            Self::CoarseFft => "coarse_fft",
            Self::FiniteDifference => "finite_difference",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Fft => "FFT (truth)",
            Self::Learned(FieldModel::Mlp) => "learned MLP",
            Self::Learned(FieldModel::Cnn) => "learned CNN",
            Self::CoarseFft => "FFT, half the cells",
            Self::FiniteDifference => "finite difference",
        }
    }
}

/// What one PIC run of a test scenario measured.
#[derive(Debug, Clone, Serialize)]
struct RunScore {
    /// Fitted growth rate (two-stream) or damping rate (Landau) of the perturbed mode.
    rate: Option<f64>,
    /// Real frequency (Landau).
    frequency: Option<f64>,
    /// Largest field energy of the run (two-stream: the saturation level).
    saturation: f64,
    /// max |E_tot(t) − E_tot(0)| / E_tot(0).
    energy_drift: f64,
}

/// Seconds per field solve of a run (timing, kept out of the metrics).
fn seconds_per_solve(h: &PicHistory) -> f64 {
    h.solve_seconds / h.solves.max(1) as f64
}

fn score(config: &PlasmaConfig, scenario: &Scenario, h: &PicHistory) -> RunScore {
    let t = h.times();
    let (rate, frequency) = match scenario {
        Scenario::TwoStream { .. } => (
            growth_rate(
                &t,
                &h.mode_power,
                config.growth_fit[0],
                config.growth_fit[1],
            )
            .map(|f| f.rate),
            None,
        ),
        Scenario::Landau { .. } => {
            let fit = damping_rate(
                &t,
                &h.mode_power,
                config.landau_fit[0],
                config.landau_fit[1],
            );
            (
                fit.as_ref().map(|f| f.rate),
                fit.as_ref().map(|f| f.frequency),
            )
        }
    };
    RunScore {
        rate,
        frequency,
        saturation: h.field_energy.iter().copied().fold(0.0, f64::max),
        energy_drift: h.energy_drift(),
    }
}

/// The trained networks, boxed as field solvers.
struct Networks {
    mlp: TrainedField<learnsim_models::Mlp>,
    cnn: TrainedField<learnsim_models::PeriodicCnn>,
    /// Nodes per axis.
    cells: usize,
}

impl Networks {
    fn solver(&self, model: FieldModel) -> Box<dyn FieldSolver> {
        let device = default_inference_device();
        match model {
            FieldModel::Mlp => Box::new(self.mlp.solver(self.cells, device)),
            FieldModel::Cnn => Box::new(self.cnn.solver(self.cells, device)),
        }
    }

    fn one_step_errors(&self, model: FieldModel, pairs: &FieldPairs) -> Vec<f64> {
        let device = default_inference_device();
        match model {
            FieldModel::Mlp => self.mlp.solver(self.cells, device).relative_errors(pairs),
            FieldModel::Cnn => self.cnn.solver(self.cells, device).relative_errors(pairs),
        }
    }
}

/// The finite-difference solve's one-step errors on `pairs`.
fn stencil_errors(config: &PlasmaConfig, pairs: &FieldPairs) -> Vec<f64> {
    let cells = config.plasma.cells;
    let mut solver = config.poisson(cells, Stencil::FiniteDifference);
    let mut e = vec![0.0; pairs.e.first().map_or(0, Vec::len)];
    pairs
        .rho
        .iter()
        .zip(&pairs.e)
        .zip(&pairs.length)
        .map(|((rho, truth), length)| {
            solver.solve(rho, length / cells as f64, &mut e);
            learnsim_train::plasma::relative_l2(&e, truth)
        })
        .collect()
}

/// [first, lowest] of a validation curve.
fn ends(curve: &[learnsim_train::LossPoint]) -> [f64; 2] {
    let first = curve.first().map_or(f64::NAN, |p| f64::from(p.loss));
    let best = curve
        .iter()
        .map(|p| f64::from(p.loss))
        .fold(f64::INFINITY, f64::min);
    [first, best]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn worst(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

/// `learnsim run plasma-1d`.
pub fn run(args: &RunArgs) -> Result<String> {
    let setup = setup_validated::<PlasmaConfig>(args, NAME)?;
    let config = &setup.config;
    let clock = Instant::now();
    let simulate = |split: Split, count: usize| -> Result<Vec<PlasmaRun>> {
        Ok(config.simulate(split, count)?)
    };
    let train = simulate(Split::Train, config.trajectories[0])?;
    let valid = simulate(Split::Valid, config.trajectories[1])?;
    let test = simulate(Split::Test, config.trajectories[2])?;
    let generate_s = clock.elapsed().as_secs_f64();
    let (train_pairs, valid_pairs, test_pairs) = (
        FieldPairs::of(&train),
        FieldPairs::of(&valid),
        FieldPairs::of(&test),
    );

    let device = default_training_device();
    let pairs = (&train_pairs, &valid_pairs);
    let networks = Networks {
        mlp: train_network(
            &setup.out,
            ("train MLP", "mlp"),
            config.steps,
            None,
            |checkpoint, progress| {
                let init = |d: &_| mlp(config, d);
                train_field(
                    config,
                    init,
                    pairs.0,
                    pairs.1,
                    &device,
                    Some(checkpoint),
                    progress,
                )
            },
        )?,
        cnn: train_network(
            &setup.out,
            ("train CNN", "cnn"),
            config.steps,
            None,
            |checkpoint, progress| {
                let init = |d: &_| cnn(config, d);
                train_field(
                    config,
                    init,
                    pairs.0,
                    pairs.1,
                    &device,
                    Some(checkpoint),
                    progress,
                )
            },
        )?,
        cells: config.plasma.cells,
    };
    // Training seconds over every segment of the run (a rerun that resumes adds none).
    let train_s = networks.mlp.seconds + networks.cnn.seconds;

    // One-step field error on the test densities.
    let one_step: Vec<(&str, Vec<f64>)> = vec![
        (
            "mlp",
            networks.one_step_errors(FieldModel::Mlp, &test_pairs),
        ),
        (
            "cnn",
            networks.one_step_errors(FieldModel::Cnn, &test_pairs),
        ),
        ("finite_difference", stencil_errors(config, &test_pairs)),
    ];

    // Every test scenario rerun with every solver.
    let clock = Instant::now();
    let runs: Vec<Vec<(Solver, PicHistory)>> = test
        .par_iter()
        .map(|truth| {
            Solver::ALL
                .iter()
                .map(|&solver| {
                    let history = match solver {
                        Solver::Fft => truth.history.clone(),
                        Solver::Learned(model) => {
                            let mut s = networks.solver(model);
                            config.run(truth.scenario, config.plasma.cells, s.as_mut())?
                        }
                        Solver::CoarseFft => {
                            let cells = config.plasma.cells / 2;
                            let mut s = config.poisson(cells, Stencil::Spectral);
                            config.run(truth.scenario, cells, &mut s)?
                        }
                        Solver::FiniteDifference => {
                            let mut s =
                                config.poisson(config.plasma.cells, Stencil::FiniteDifference);
                            config.run(truth.scenario, config.plasma.cells, &mut s)?
                        }
                    };
                    Ok((solver, history))
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()
        .context("a PIC run with a learned or baseline solver failed")?;
    let rerun_s = clock.elapsed().as_secs_f64();

    // Scores per solver over the test scenarios.
    let mut per_solver = serde_json::Map::new();
    let mut summary = serde_json::Map::new();
    let mut solve_time = serde_json::Map::new();
    let fft_scores: Vec<RunScore> = test
        .iter()
        .map(|r| score(config, &r.scenario, &r.history))
        .collect();
    for solver in Solver::ALL {
        let mut growth_error = Vec::new();
        let mut saturation_error = Vec::new();
        let mut landau_error = Vec::new();
        let mut drifts = Vec::new();
        let mut seconds = Vec::new();
        let mut scores = Vec::new();
        for ((truth, histories), fft) in test.iter().zip(&runs).zip(&fft_scores) {
            let history = &histories
                .iter()
                .find(|(s, _)| *s == solver)
                .expect("every solver ran")
                .1;
            let s = score(config, &truth.scenario, history);
            match truth.scenario {
                Scenario::TwoStream { .. } => {
                    growth_error.push(match (s.rate, fft.rate) {
                        (Some(a), Some(b)) => (a / b - 1.0).abs(),
                        _ => f64::INFINITY,
                    });
                    saturation_error.push((s.saturation / fft.saturation - 1.0).abs());
                }
                Scenario::Landau { .. } => {
                    let theory = truth.scenario.theory_rate();
                    landau_error.push(s.rate.map_or(f64::INFINITY, |r| (r / theory - 1.0).abs()));
                }
            }
            drifts.push(s.energy_drift);
            seconds.push(seconds_per_solve(history));
            scores.push(json!({"scenario": truth.scenario, "score": s}));
        }
        per_solver.insert(solver.name().into(), Value::Array(scores));
        summary.insert(
            solver.name().into(),
            json!({
                "growth_rate_error_vs_fft_mean": mean(&growth_error),
                "growth_rate_error_vs_fft_max": worst(&growth_error),
                "saturation_error_vs_fft_mean": mean(&saturation_error),
                "saturation_error_vs_fft_max": worst(&saturation_error),
                "landau_rate_error_vs_theory_mean": mean(&landau_error),
                "landau_rate_error_vs_theory_max": worst(&landau_error),
                "energy_drift_mean": mean(&drifts),
            }),
        );
        solve_time.insert(
            format!("seconds_per_solve_{}", solver.name()),
            json!(mean(&seconds)),
        );
    }
    // One-step field errors join each solver's flat metrics (the FFT is the reference).
    for (name, errors) in &one_step {
        if let Some(Value::Object(m)) = summary.get_mut(*name) {
            m.insert("one_step_relative_l2_mean".into(), json!(mean(errors)));
            m.insert("one_step_relative_l2_max".into(), json!(worst(errors)));
        }
    }

    let primary = config.field_solver;
    let get = |solver: &str, key: &str| summary[solver][key].as_f64().unwrap_or(f64::NAN);
    let seconds = |solver: &str| {
        solve_time[&format!("seconds_per_solve_{solver}")]
            .as_f64()
            .unwrap_or(f64::NAN)
    };
    let p = primary.name();
    let bars = vec![
        bar(
            &format!("one-step field error on test densities ({p}, mean relative L2)"),
            get(p, "one_step_relative_l2_mean"),
            0.01,
            PassIf::AtMost,
        ),
        bar(
            &format!(
                "two-stream growth rate, learned ({p}) PIC vs FFT PIC (mean relative difference)"
            ),
            get(p, "growth_rate_error_vs_fft_mean"),
            0.10,
            PassIf::AtMost,
        ),
        bar(
            &format!(
                "two-stream saturation field energy, learned ({p}) vs FFT (mean relative difference)"
            ),
            get(p, "saturation_error_vs_fft_mean"),
            0.20,
            PassIf::AtMost,
        ),
        bar(
            &format!(
                "Landau damping rate of the learned ({p}) PIC vs theory (mean relative error)"
            ),
            get(p, "landau_rate_error_vs_theory_mean"),
            0.15,
            PassIf::AtMost,
        ),
        bar(
            &format!("energy drift, learned ({p}) PIC / FFT PIC (means over the test runs)"),
            get(p, "energy_drift_mean") / get("fft", "energy_drift_mean"),
            2.0,
            PassIf::AtMost,
        ),
    ];
    let pass = all_pass(&bars);
    let baselines: serde_json::Map<String, Value> = summary
        .iter()
        .filter(|(k, _)| k.as_str() != p)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let theory: Vec<Value> = test
        .iter()
        .map(|r| json!({"scenario": r.scenario, "theory_rate": r.scenario.theory_rate()}))
        .collect();
    let mut timing = json!({
        "generate_s": generate_s,
        "train_s": train_s,
        "rerun_s": rerun_s,
        "learned_over_fft_solve_time": seconds(p) / seconds("fft"),
    });
    if let Value::Object(t) = &mut timing {
        t.extend(solve_time.clone());
    }
    let baselines = json!(baselines);
    let timing = json!(timing);
    let details = json!({
        "runs": per_solver,
        "theory": theory,
        "best_step": {"mlp": networks.mlp.best_step, "cnn": networks.cnn.best_step},
        // (first, best) validation relative L2 of E.
        "validation_error": {
            "mlp": ends(&networks.mlp.valid_error),
            "cnn": ends(&networks.cnn.valid_error),
        },
        "pairs": {"train": train_pairs.len(), "valid": valid_pairs.len(), "test": test_pairs.len()},
    });
    let figures = draw(&setup, &test, &runs)?;
    let notes = notes(config, &test_pairs);
    let figure_refs: Vec<(&str, &str)> = figures.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let report = Report {
        model: &format!("{}-field-solver", primary.name()),
        metrics: json!(summary[p]),
        baselines,
        context: Some(("details", details)),
        bars,
        timing,
        losses: Losses {
            train: &networks.mlp.train_loss,
            check: &networks.mlp.valid_error,
            figure: plots::LossFigure {
                title: "MLP: training loss (normalised MSE) and validation relative L2 of E",
                train: "train",
                check: "validation relative L2",
            },
        },
        notes,
        figures: figure_refs.to_vec(),
    };
    let summary = format!(
        "{NAME}: one-step field error {:.2e} ({p}), growth rate {:.1} % and saturation {:.1} % off the FFT PIC, Landau rate {:.1} % off theory, energy drift {:.2}× the FFT PIC's, learned solve {:.1}× the FFT's time; pass = {pass}",
        get(p, "one_step_relative_l2_mean"),
        100.0 * get(p, "growth_rate_error_vs_fft_mean"),
        100.0 * get(p, "saturation_error_vs_fft_mean"),
        100.0 * get(p, "landau_rate_error_vs_theory_mean"),
        get(p, "energy_drift_mean") / get("fft", "energy_drift_mean"),
        seconds(p) / seconds("fft")
    );
    finish(&setup, NAME, &report, &summary)
}

fn notes(config: &PlasmaConfig, test_pairs: &FieldPairs) -> String {
    format!(
        "{}D{}V electrostatic PIC in units of ω_p and λ_D: {} cells per axis, {} quiet-start macro-particles, dt = {}. Test set: {} unseen scenarios alternating two-stream (cold beams ±v0, v0 in {:?}, k·v0 in {:?}, mode {:?}) and Landau (k λ_D in {:?}, α in {:?}); {} (ρ, E) test pairs. The networks see ρ/‖ρ‖ and predict E/(‖ρ‖·L) (Poisson's equation is linear and E scales with the box length on a fixed grid). Growth rates are fitted to ln |E_m|² from {}× its initial value to {}× its peak; Landau rates to the peaks of |E_1|² in t ∈ [{}, {}]; theory: the cold two-stream relation and the root of the Vlasov dispersion relation. Relative differences are means over the test runs of the family (maxima in metrics.json).",
        config.plasma.dimensions,
        config.plasma.dimensions,
        config.plasma.cells,
        config.plasma.particles,
        config.plasma.dt,
        config.trajectories[2],
        config.plasma.two_stream.v0,
        config.plasma.two_stream.k_v0,
        config.plasma.two_stream.modes,
        config.plasma.landau.k,
        config.plasma.landau.amplitude,
        test_pairs.len(),
        config.growth_fit[0],
        config.growth_fit[1],
        config.landau_fit[0],
        config.landau_fit[1],
    )
}
