//! `learnsim run nbody-2d`: the Interaction Network case (Battaglia et al. 2016) end to end —
//! simulate → train the IN and the MLP baseline → score one-step, rollout and energy drift
//! against constant velocity → metrics.json, report.md, plots, leaderboard row.

use crate::GenerateArgs;
use crate::bars::PassIf;
use crate::bars::bar;
use crate::data_file::{self, member};
use crate::plots;
use crate::request::RunArgs;
use crate::runner::{
    Losses, Report, finish, generate_sets, loss_ends, rollout_json, setup_validated, train_network,
};
use anyhow::{Result, bail};
use burn::module::Module;
use learnsim_data::write_bytes_atomically;
use learnsim_eval::object_dynamics::{ConstantVelocityDv, DeltaV, one_step_mse, score_rollouts};
use learnsim_models::default_training_device;
use learnsim_sim::nbody::{Bodies, NBodyConfig, NBodyTrajectory};
use learnsim_train::object_dynamics::{
    ObjectTrainConfig, train_interaction_network, train_mlp_baseline,
};
use serde_json::{Map, Value, json};
use std::time::Instant;

/// Registry name.
pub const NAME: &str = "nbody-2d";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str =
    "2D softened-gravity n-body, Interaction Network vs MLP and constant velocity (IN 2016)";

/// The case in the registry ([`crate::registry`]).
pub const CASE: crate::Pipeline = crate::Pipeline {
    name: NAME,
    description: DESCRIPTION,
    kind: crate::CaseKind::Object,
    ranks: crate::Ranks::Many,
    run,
    generate: generate_file,
};

/// Rollout horizons reported (the bar is at the configured rollout length, 50).
const HORIZONS: [usize; 5] = [1, 5, 10, 20, 50];

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
    generate_sets(config, |k, i, seed| {
        let n = if k == 3 {
            config.n_generalisation
        } else {
            lo + i % (hi - lo + 1)
        };
        Ok(physics.simulate(n, config.frames, seed)?)
    })
}

/// `learnsim generate nbody-2d`: the four trajectory sets the run trains and scores on, as
/// `OUT/{train,valid,test,general}.npz` (`INDEX/mass` `[N]`, `INDEX/position` and
/// `INDEX/velocity` `[T, N, 2]`, `INDEX/frame_dt` `[1]`).
fn generate_file(args: &GenerateArgs) -> Result<String> {
    let splits = ["train", "valid", "test", "general"];
    data_file::generate(args, NAME, &splits, |config: &ObjectTrainConfig| {
        let sets = generate(config, &NBodyConfig::default())?;
        data_file::per_item(&sets, "trajectories", |arrays, i, t| {
            arrays.series(member(i, "mass"), &t.mass);
            arrays.frames(member(i, "position"), &t.position)?;
            arrays.frames(member(i, "velocity"), &t.velocity)?;
            arrays.series(member(i, "frame_dt"), &[t.frame_dt]);
            Ok(())
        })
    })
}

/// `learnsim run nbody-2d`.
pub fn run(args: &RunArgs) -> Result<String> {
    let setup = setup_validated(args, NAME)?;
    let (config, out) = (&setup.config, &setup.out);
    let physics = NBodyConfig::default();

    let [train, valid, test, general] = generate(config, &physics)?;
    let device = default_training_device();
    let fitted = train_network(
        out,
        ("train IN", "interaction_network"),
        config.steps,
        None,
        |checkpoint, progress| {
            train_interaction_network(config, &train, &valid, &device, Some(checkpoint), progress)
        },
    )?;
    // Training seconds over every segment of the run (a rerun that resumes adds none).
    let train_s = fitted.seconds;
    let n_mlp = config.n_bodies[1];
    let mlp = train_network(
        out,
        ("train MLP", "mlp"),
        config.steps,
        None,
        |checkpoint, progress| {
            let dir = Some(checkpoint);
            train_mlp_baseline(config, n_mlp, &train, &valid, &device, dir, progress)
        },
    )?;
    // Data-parallel (`mpirun`): rank 0 alone scores and writes.
    if let Some(result) = crate::runner::result_of_other_rank(config.steps) {
        return Ok(result);
    }
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
    for (k, truth) in test.iter().take(crate::playback::MAX_PLAYBACKS).enumerate() {
        let models: [(&str, &dyn DeltaV<Bodies>); 2] =
            [("interaction_network", &model), ("constant_velocity", &cv)];
        let title = format!("test trajectory {k} ({} bodies)", truth.n_bodies());
        let playback = crate::playback::object_trajectory(title, truth, &models, vec![], None)?;
        crate::playback::write(out, &format!("test_{k}"), &playback)?;
    }
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
    let (first, last) = loss_ends(&fitted.valid_loss);
    metrics.insert("valid_loss_initial".into(), json!(first));
    metrics.insert("valid_loss_final".into(), json!(last));
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
            PassIf::AtMost,
        ),
        bar(
            &format!(
                "one-step Δv MSE / constant velocity (unseen N = {})",
                config.n_generalisation
            ),
            get(&metrics, "one_step_dv_mse_general") / cv_general,
            0.1,
            PassIf::AtMost,
        ),
        bar(
            &format!("{steps}-step rollout position MSE / constant velocity"),
            get(&metrics, &horizon_key) / get(&cv_json, &horizon_key),
            0.3,
            PassIf::AtMost,
        ),
        bar(
            &format!("one-step Δv MSE / MLP baseline (N = {n_mlp})"),
            get(&in_at_n, "one_step_dv_mse") / get(&mlp_at_n, "one_step_dv_mse"),
            1.0,
            PassIf::AtMost,
        ),
    ];
    // Ground-truth speed: the same number of frames of an N = n_mlp system.
    let gt_clock = Instant::now();
    physics.simulate(n_mlp, config.frames, 12345)?;
    let gt_fps = config.frames as f64 / gt_clock.elapsed().as_secs_f64();
    let baselines = json!({ "constant_velocity": cv_json, "mlp": mlp_json });
    plots::error_vs_horizon(
        &out.join("error_vs_horizon.png"),
        &[
            ("interaction network", &Value::Object(metrics.clone())),
            ("constant velocity", &baselines["constant_velocity"]),
        ],
        "mse",
    )?;
    let notes = format!(
        "Test set: {} trajectories with N = {}..{}; rollouts of {steps} frames start every {stride} frames; `mse_H` averages the first H predicted frames (Σ over x, y, mean over bodies). `energy_drift`: mean over windows of max |E_t − E_0| / |E_0|. Columns `_n{n_mlp}` are the {n_mlp}-body test trajectories only, where the fixed-N MLP baseline applies.",
        test.len(),
        config.n_bodies[0],
        config.n_bodies[1],
    );
    let report = Report {
        model: "interaction-network",
        metrics: Value::Object(metrics.clone()),
        baselines,
        context: None,
        bars,
        timing: json!({
            "train_s": train_s,
            "rollout_steps_per_s": in_rollouts.frames_per_s,
            "ground_truth_steps_per_s": gt_fps,
            "speedup": in_rollouts.frames_per_s / gt_fps,
        }),
        losses: Losses {
            train: &fitted.train_loss,
            check: &fitted.valid_loss,
            figure: plots::LossFigure {
                title: "one-step loss (normalised velocity-change MSE)",
                train: "train",
                check: "validation (fixed transitions)",
            },
        },
        notes,
        figures: vec![("error against horizon", "error_vs_horizon.png")],
    };
    let summary = format!(
        "{NAME}: one-step Δv MSE {:.3e} (constant velocity {:.3e}, MLP at N={n_mlp} {:.3e}), {horizon_key} {:.3e} (cv {:.3e}), energy drift {:.2e}, pass = {}",
        get(&metrics, "one_step_dv_mse"),
        get(&cv_json, "one_step_dv_mse"),
        get(&mlp_at_n, "one_step_dv_mse"),
        get(&metrics, &horizon_key),
        get(&cv_json, &horizon_key),
        get(&metrics, "energy_drift"),
        report.pass()
    );
    finish(&setup, NAME, &report, &summary)
}
