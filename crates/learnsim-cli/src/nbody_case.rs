//! `learnsim run nbody-2d`: the Interaction Network case (Battaglia et al. 2016) end to end —
//! simulate → train the IN and the MLP baseline → score one-step, rollout and energy drift
//! against constant velocity → metrics.json, report.md, plots, leaderboard row.

use crate::run::{RunArgs, bar, leaderboard_of};
use crate::{leaderboard, plots, report};
use anyhow::{Context, Result, bail};
use burn::module::Module;
use indicatif::{ProgressBar, ProgressStyle};
use learnsim_data::write_bytes_atomically;
use learnsim_eval::object_dynamics::{
    ConstantVelocityDv, DeltaV, RolloutScores, one_step_mse, score_rollouts,
};
use learnsim_models::default_training_device;
use learnsim_sim::nbody::{Bodies, NBodyConfig, NBodyTrajectory};
use learnsim_sim::{Split, trajectory_seed};
use learnsim_train::LossPoint;
use learnsim_train::object_dynamics::{
    ObjectTrainConfig, train_interaction_network, train_mlp_baseline,
};
use rayon::prelude::*;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Registry name.
pub const NAME: &str = "nbody-2d";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str =
    "2D softened-gravity n-body, Interaction Network vs MLP and constant velocity (IN 2016)";

/// Rollout horizons reported (the bar is at the configured rollout length, 50).
const HORIZONS: [usize; 5] = [1, 5, 10, 20, 50];

fn read_config(path: &Path) -> Result<ObjectTrainConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("{}: not a valid nbody-2d config", path.display()))
}

/// The four data sets (train, valid, test: N in the configured range, cycling; generalisation:
/// N = `n_generalisation`), each trajectory from its own derived seed.
fn generate(
    config: &ObjectTrainConfig,
    physics: &NBodyConfig,
) -> Result<[Vec<NBodyTrajectory>; 4]> {
    let [lo, hi] = config.n_bodies;
    if lo < 2 || hi < lo || config.frames < 2 {
        bail!("nbody-2d config: need 2 ≤ n_bodies[0] ≤ n_bodies[1] and frames ≥ 2");
    }
    let total: usize = config.trajectories.iter().sum();
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template(
            "simulate [{elapsed_precise}] {wide_bar} {pos}/{len} trajectories",
        )
        .expect("valid template"),
    );
    let mut sets: Vec<Vec<NBodyTrajectory>> = Vec::new();
    for (k, &count) in config.trajectories.iter().enumerate() {
        // The generalisation set draws from the test split's seed stream, past its indices.
        let (split, base) = match k {
            0 => (Split::Train, 0),
            1 => (Split::Valid, 0),
            2 => (Split::Test, 0),
            _ => (Split::Test, 1_000_000),
        };
        let set = (0..count)
            .into_par_iter()
            .map(|i| {
                let n = if k == 3 {
                    config.n_generalisation
                } else {
                    lo + i % (hi - lo + 1)
                };
                let seed = trajectory_seed(config.seed, split, base + i);
                let traj = physics.simulate(n, config.frames, seed);
                bar.inc(1);
                traj
            })
            .collect::<Result<Vec<_>, _>>()?;
        sets.push(set);
    }
    bar.finish_and_clear();
    let [a, b, c, d]: [Vec<NBodyTrajectory>; 4] = sets.try_into().expect("four sets");
    Ok([a, b, c, d])
}

#[expect(
    clippy::print_stderr,
    reason = "progress lines when stderr is not a terminal"
)]
pub(crate) fn progress_bar(
    label: &'static str,
    steps: usize,
) -> (ProgressBar, impl FnMut(usize, f32)) {
    let bar = ProgressBar::new(steps as u64).with_style(
        ProgressStyle::with_template(&format!(
            "{label} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} steps ({{per_sec}}, ETA {{eta}}) {{msg}}"
        ))
        .expect("valid template"),
    );
    let handle = bar.clone();
    let report_every = (steps / 10).max(1);
    let callback = move |step: usize, loss: f32| {
        handle.set_position(step as u64);
        handle.set_message(format!("loss {loss:.4}"));
        if handle.is_hidden() && (step.is_multiple_of(report_every) || step == steps) {
            eprintln!(
                "{label} step {step}/{steps}: loss {loss:.4}, {:.1} steps/s",
                handle.per_sec()
            );
        }
    };
    (bar, callback)
}

/// `one_step_dv_mse`, `mse_H` (positions), `vel_mse_H` (velocities) and `energy_drift`.
pub(crate) fn rollout_json(scores: &RolloutScores, one_step: f64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("one_step_dv_mse".into(), json!(one_step));
    for (h, v) in &scores.mse_by_horizon {
        m.insert(format!("mse_{h}"), json!(v));
    }
    for (h, v) in &scores.velocity_mse_by_horizon {
        m.insert(format!("vel_mse_{h}"), json!(v));
    }
    m.insert("energy_drift".into(), json!(scores.energy_drift));
    m
}

pub(crate) fn curve(points: &[LossPoint]) -> Vec<(usize, f32)> {
    points.iter().map(|p| (p.step, p.loss)).collect()
}

/// `learnsim run nbody-2d`.
pub fn run(args: &RunArgs) -> Result<String> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(NAME));
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("configs").join(format!("{NAME}.toml")));
    let mut config = read_config(&config_path)?;
    if args.quick {
        config.trajectories = [24, 4, 8, 4];
        config.frames = 60;
        config.steps = 150;
        config.validate_every = 50;
        config.rollout_steps = 20;
    }
    if matches!(args.tier, crate::TierArg::Paper) {
        // cases.md [1] (d), GPU profile: the paper's network sizes and 10x the data.
        config.trajectories = [2000, 200, 200, 200];
        config.relation_hidden = 150;
        config.relation_layers = 4;
        config.effect = 50;
        config.object_hidden = 100;
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let config_text = toml::to_string(&config)?;
    write_bytes_atomically(&out.join("config.toml"), config_text.as_bytes())?;
    let physics = NBodyConfig::default();

    let [train, valid, test, general] = generate(&config, &physics)?;
    let device = default_training_device();
    let start = Instant::now();
    let (progress, mut callback) = progress_bar("train IN", config.steps);
    let fitted = train_interaction_network(&config, &train, &valid, &device, &mut callback)?;
    progress.finish_and_clear();
    let train_s = start.elapsed().as_secs_f64();
    let n_mlp = config.n_bodies[1];
    let (progress, mut callback) = progress_bar("train MLP", config.steps);
    let mlp = train_mlp_baseline(&config, n_mlp, &train, &valid, &device, &mut callback)?;
    progress.finish_and_clear();
    let model = fitted.model.clone();
    write_bytes_atomically(
        &out.join("normalization.json"),
        serde_json::to_string_pretty(&model.norm)?.as_bytes(),
    )?;
    model
        .network
        .clone()
        .into_record()
        .save(out.join("interaction_network.bpk"))
        .map_err(|e| anyhow::anyhow!("cannot save the model into {}: {e:?}", out.display()))?;

    // Scores: one-step Δv MSE and windowed rollouts.
    let steps = config.rollout_steps;
    let stride = steps;
    let cv = ConstantVelocityDv;
    let energy = |b: &Bodies| physics.energy(b);
    let test_n: Vec<NBodyTrajectory> = test
        .iter()
        .filter(|t| t.n_bodies() == n_mlp)
        .cloned()
        .collect();
    let score = |m: &dyn DeltaV<Bodies>, data: &[NBodyTrajectory]| -> Result<Map<String, Value>> {
        let rollouts = score_rollouts(m, data, &energy, steps, stride, &HORIZONS)?;
        Ok(rollout_json(&rollouts, one_step_mse(m, data)))
    };
    let in_rollouts = score_rollouts(&model, &test, &energy, steps, stride, &HORIZONS)?;
    let mut metrics = rollout_json(&in_rollouts, one_step_mse(&model, &test));
    let cv_metrics = score(&cv, &test)?;
    metrics.insert(
        "one_step_dv_mse_general".into(),
        json!(one_step_mse(&model, &general)),
    );
    let cv_general = one_step_mse(&cv, &general);
    let in_at_n = score(&model, &test_n)?;
    let mlp_at_n = score(&mlp.model, &test_n)?;
    let cv_at_n = score(&cv, &test_n)?;
    for (k, v) in &in_at_n {
        metrics.insert(format!("{k}_n{n_mlp}"), v.clone());
    }
    let first = |l: &[LossPoint]| l.first().map_or(f64::NAN, |p| f64::from(p.loss));
    let last = |l: &[LossPoint]| l.last().map_or(f64::NAN, |p| f64::from(p.loss));
    metrics.insert(
        "valid_loss_initial".into(),
        json!(first(&fitted.valid_loss)),
    );
    metrics.insert("valid_loss_final".into(), json!(last(&fitted.valid_loss)));
    // Ground truth's own energy drift over the same windows: the simulator's error floor.
    let truth_drift = {
        let mut total = 0.0;
        let mut windows = 0;
        for traj in &test {
            let mut s = 0;
            while s + steps < traj.n_frames() {
                let e: Vec<f64> = (s..=s + steps)
                    .map(|t| physics.energy(&traj.bodies(t)))
                    .collect();
                total += learnsim_eval::energy_drift(&e, e[0]);
                windows += 1;
                s += stride;
            }
        }
        total / f64::from(windows.max(1))
    };
    metrics.insert("ground_truth_energy_drift".into(), json!(truth_drift));

    let mut cv_json = cv_metrics.clone();
    cv_json.insert("one_step_dv_mse_general".into(), json!(cv_general));
    for (k, v) in &cv_at_n {
        cv_json.insert(format!("{k}_n{n_mlp}"), v.clone());
    }
    let mut mlp_json = Map::new();
    for (k, v) in &mlp_at_n {
        mlp_json.insert(format!("{k}_n{n_mlp}"), v.clone());
    }
    let get =
        |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let horizon_key = format!("mse_{steps}");
    let bars = vec![
        bar(
            "one-step Δv MSE / constant velocity (N 3-6)",
            get(&metrics, "one_step_dv_mse") / get(&cv_json, "one_step_dv_mse"),
            0.05,
            true,
        ),
        bar(
            &format!(
                "one-step Δv MSE / constant velocity (unseen N = {})",
                config.n_generalisation
            ),
            get(&metrics, "one_step_dv_mse_general") / cv_general,
            0.1,
            true,
        ),
        bar(
            &format!("{steps}-step rollout position MSE / constant velocity"),
            get(&metrics, &horizon_key) / get(&cv_json, &horizon_key),
            0.3,
            true,
        ),
        bar(
            &format!("one-step Δv MSE / MLP baseline (N = {n_mlp})"),
            get(&in_at_n, "one_step_dv_mse") / get(&mlp_at_n, "one_step_dv_mse"),
            1.0,
            true,
        ),
    ];
    let pass = bars.iter().all(|b| b["pass"].as_bool() == Some(true));

    // Ground-truth speed: the same number of frames of an N = n_mlp system.
    let gt_clock = Instant::now();
    physics.simulate(n_mlp, config.frames, 12345)?;
    let gt_fps = config.frames as f64 / gt_clock.elapsed().as_secs_f64();
    let tier = if args.quick {
        "quick"
    } else if matches!(args.tier, crate::TierArg::Paper) {
        "paper"
    } else {
        "cpu"
    };
    let report = json!({
        "case": NAME,
        "model": "interaction-network",
        "tier": tier,
        "seed": config.seed,
        "metrics": metrics,
        "baselines": { "constant_velocity": cv_json, "mlp": mlp_json },
        "bars": bars,
        "pass": pass,
        "timing": {
            "train_s": train_s,
            "rollout_steps_per_s": in_rollouts.frames_per_s,
            "ground_truth_steps_per_s": gt_fps,
            "speedup": in_rollouts.frames_per_s / gt_fps,
        },
    });
    let path = out.join("metrics.json");
    write_bytes_atomically(&path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    plots::error_vs_horizon(
        &out.join("error_vs_horizon.png"),
        &[
            ("interaction network", &report["metrics"]),
            (
                "constant velocity",
                &report["baselines"]["constant_velocity"],
            ),
        ],
        "mse",
    )?;
    plots::loss_curves(
        &out.join("loss.png"),
        &curve(&fitted.train_loss),
        &curve(&fitted.valid_loss),
    )?;
    let notes = format!(
        "Test set: {} trajectories with N = {}..{}; rollouts of {steps} frames start every {stride} frames; `mse_H` averages the first H predicted frames (Σ over x, y, mean over bodies). `energy_drift`: mean over windows of max |E_t − E_0| / |E_0|. Columns `_n{n_mlp}` are the {n_mlp}-body test trajectories only, where the fixed-N MLP baseline applies.",
        test.len(),
        config.n_bodies[0],
        config.n_bodies[1],
    );
    let figures = [
        ("error against horizon", "error_vs_horizon.png"),
        ("loss curves (interaction network)", "loss.png"),
    ];
    write_bytes_atomically(
        &out.join("report.md"),
        report::markdown_with(&report, &notes, &figures).as_bytes(),
    )?;
    let db = leaderboard_of(&out);
    leaderboard::record(&db, &out, &report, &config_text)?;
    Ok(format!(
        "{NAME}: one-step Δv MSE {:.3e} (constant velocity {:.3e}, MLP at N={n_mlp} {:.3e}), {horizon_key} {:.3e} (cv {:.3e}), energy drift {:.2e}, pass = {pass}; wrote {} and report.md; recorded in {}",
        get(&metrics, "one_step_dv_mse"),
        get(&cv_json, "one_step_dv_mse"),
        get(&mlp_at_n, "one_step_dv_mse"),
        get(&metrics, &horizon_key),
        get(&cv_json, &horizon_key),
        get(&metrics, "energy_drift"),
        path.display(),
        db.display()
    ))
}
