//! `learnsim run spring-chain`: graph networks as learnable physics engines (Sanchez-Gonzalez
//! et al. 2018) on the graph_nets demo's mass–spring chain — simulate → train an Interaction
//! Network (one message-passing step over the springs) on 5–8 masses → roll out 50 steps on
//! unseen 4- and 9-mass chains against the static and zero-velocity baselines → metrics.json,
//! report.md, plots, leaderboard row.

use crate::GenerateArgs;
use crate::bars::PassIf;
use crate::bars::{all_pass, bar};
use crate::data_file::{self, member};
use crate::plots;
use crate::request::RunArgs;
use crate::runner::{
    Losses, Report, finish, generate_sets, loss_ends, rollout_json, setup_validated, train_network,
};
use anyhow::{Context, Result, bail};
use learnsim_eval::object_dynamics::{
    ConstantVelocityDv, DeltaV, ObjectTrajectory, ZeroVelocityDv, one_step_mse, score_rollouts,
};
use learnsim_models::default_training_device;
use learnsim_sim::spring_chain::{Chain, ChainConfig, ChainTrajectory};
use learnsim_train::object_dynamics::{ObjectTrainConfig, train_interaction_network};
use serde_json::{Map, Value, json};
use std::time::Instant;

/// Registry name.
pub const NAME: &str = "spring-chain";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str =
    "mass-spring chain of the graph_nets demo, GN trained on 5-8 masses, tested on 4 and 9";

/// The case in the registry ([`crate::registry`]).
pub const CASE: crate::Pipeline = crate::Pipeline {
    name: NAME,
    description: DESCRIPTION,
    kind: crate::CaseKind::Object,
    ranks: crate::Ranks::Many,
    run,
    generate: generate_file,
};

/// Spacing of the test chains (the demo's evaluation uses d = 0.5).
const TEST_SPACING: f64 = 0.5;
/// Rollout horizons reported.
const HORIZONS: [usize; 5] = [1, 5, 10, 20, 50];

/// Train and valid: N in `n_bodies`, random spacing; test: N = `n_bodies[0] − 1`; the
/// generalisation set: N = `n_generalisation`; both test sets at spacing 0.5.
fn generate(
    config: &ObjectTrainConfig,
    physics: &ChainConfig,
) -> Result<[Vec<ChainTrajectory>; 4]> {
    let [lo, hi] = config.n_bodies;
    if lo < 3 || hi < lo || config.frames < 2 || config.n_generalisation < 2 {
        bail!("spring-chain config: need 3 ≤ n_bodies[0] ≤ n_bodies[1], frames ≥ 2");
    }
    generate_sets(config, |k, i, seed| {
        let (n, spacing) = match k {
            0 | 1 => (lo + i % (hi - lo + 1), None),
            2 => (lo - 1, Some(TEST_SPACING)),
            _ => (config.n_generalisation, Some(TEST_SPACING)),
        };
        Ok(physics.simulate(n, spacing, config.frames, seed))
    })
}

/// Drops `energy_drift`: the chains start unstretched at y ≈ 0, so E_0 ≈ 0 and a drift
/// relative to |E_0| is meaningless (it read 25–140 for a model whose velocities are within 5 %
/// of the truth); the demo's ground truth (semi-implicit Euler at ω dt up to 1.5) does not
/// conserve energy closely either.
fn without_energy(mut m: Map<String, Value>) -> Map<String, Value> {
    m.remove("energy_drift");
    m
}

/// `learnsim generate spring-chain`: the four trajectory sets the run trains and scores on, as
/// `OUT/{train,valid,test,general}.npz` (per chain `INDEX/fixed` `[N]` (1 = pinned),
/// `INDEX/stiffness` and `INDEX/rest_length` `[N − 1]`, `INDEX/gravity` `[1]`, `INDEX/position`
/// and `INDEX/velocity` `[T, N, 2]`, `INDEX/dt` `[1]`).
fn generate_file(args: &GenerateArgs) -> Result<String> {
    let splits = ["train", "valid", "test", "general"];
    data_file::generate(args, NAME, &splits, |config: &ObjectTrainConfig| {
        let sets = generate(config, &ChainConfig::default())?;
        data_file::per_item(&sets, "chains", |arrays, i, t| {
            let chain = &t.initial;
            arrays.ints(
                member(i, "fixed"),
                chain.fixed.iter().map(|&f| i64::from(f)).collect(),
            );
            arrays.series(member(i, "stiffness"), &chain.stiffness);
            arrays.series(member(i, "rest_length"), &chain.rest_length);
            arrays.series(member(i, "gravity"), &[chain.gravity]);
            arrays.frames(member(i, "position"), &t.position)?;
            arrays.frames(member(i, "velocity"), &t.velocity)?;
            arrays.series(member(i, "dt"), &[t.dt]);
            Ok(())
        })
    })
}

/// `learnsim run spring-chain`.
pub fn run(args: &RunArgs) -> Result<String> {
    let setup = setup_validated(args, NAME)?;
    let (config, out) = (&setup.config, &setup.out);
    let physics = ChainConfig::default();
    let [train, valid, small, large] = generate(config, &physics)?;

    let device = default_training_device();
    let fitted = train_network(
        out,
        ("train GN", "interaction_network"),
        config.steps,
        None,
        |checkpoint, progress| {
            train_interaction_network(config, &train, &valid, &device, Some(checkpoint), progress)
        },
    )?;
    // Data-parallel (`mpirun`): rank 0 alone scores and writes.
    if let Some(result) = crate::runner::result_of_other_rank(config.steps) {
        return Ok(result);
    }
    // Training seconds over every segment of the run (a rerun that resumes adds none).
    let train_s = fitted.seconds;
    let model = fitted.model.clone();

    let steps = config.rollout_steps.min(config.frames - 1);
    let energy = |c: &Chain| c.energy();
    let score = |m: &dyn DeltaV<Chain>, data: &[ChainTrajectory]| -> Result<Map<String, Value>> {
        let rollouts = score_rollouts(m, data, &energy, steps, steps, &HORIZONS)
            .context("rollout of the spring chain")?;
        Ok(without_energy(rollout_json(
            &rollouts,
            one_step_mse(m, data),
        )))
    };
    let (n_small, n_large) = (config.n_bodies[0] - 1, config.n_generalisation);
    let mut metrics = Map::new();
    let mut static_json = Map::new();
    let mut zero_json = Map::new();
    let mut in_fps = 0.0;
    for (label, data) in [
        (format!("n{n_small}"), &small),
        (format!("n{n_large}"), &large),
    ] {
        for (k, truth) in data
            .iter()
            .take(crate::playback::MAX_PLAYBACKS / 2)
            .enumerate()
        {
            let models: [(&str, &dyn DeltaV<Chain>); 2] =
                [("graph_network", &model), ("static", &ConstantVelocityDv)];
            let masses = truth.n_objects();
            let links = (1..masses).map(|i| [i - 1, i]).collect();
            let title = format!("{masses}-mass chain {k}");
            let playback = crate::playback::object_trajectory(title, truth, &models, links, None)?;
            crate::playback::write(out, &format!("{label}_{k}"), &playback)?;
        }
    }
    for (label, data) in [
        (format!("n{n_small}"), &small),
        (format!("n{n_large}"), &large),
        ("train_sizes".to_string(), &valid),
    ] {
        let rollouts = score_rollouts(&model, data, &energy, steps, steps, &HORIZONS)
            .context("rollout of the learned spring-chain model")?;
        in_fps = rollouts.frames_per_s;
        for (k, v) in without_energy(rollout_json(&rollouts, one_step_mse(&model, data))) {
            metrics.insert(format!("{k}_{label}"), v);
        }
        for (k, v) in score(&ConstantVelocityDv, data)? {
            static_json.insert(format!("{k}_{label}"), v);
        }
        for (k, v) in score(&ZeroVelocityDv, data)? {
            zero_json.insert(format!("{k}_{label}"), v);
        }
    }
    let (first, last) = loss_ends(&fitted.valid_loss);
    metrics.insert("valid_loss_initial".into(), json!(first));
    metrics.insert("valid_loss_final".into(), json!(last));

    let get =
        |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let bar_for = |n: usize| {
        let key = format!("vel_mse_{steps}_n{n}");
        bar(
            &format!("{steps}-step rollout velocity MSE / static baseline ({n} masses)"),
            get(&metrics, &key) / get(&static_json, &key),
            0.1,
            PassIf::AtMost,
        )
    };
    let bars = vec![bar_for(n_small), bar_for(n_large)];
    let pass = all_pass(&bars);

    let gt_clock = Instant::now();
    let gt_frames = 200 * config.frames;
    for seed in 0..200 {
        physics.simulate(n_large, Some(TEST_SPACING), config.frames, seed);
    }
    let gt_fps = gt_frames as f64 / gt_clock.elapsed().as_secs_f64();
    let baselines = json!({ "static": static_json, "zero_velocity": zero_json });
    let timing = json!({
        "train_s": train_s,
        "rollout_steps_per_s": in_fps,
        "ground_truth_steps_per_s": gt_fps,
        "speedup": in_fps / gt_fps,
    });
    // The plot's horizon keys are `vel_mse_H` of the 9-mass set, renamed for the plotter.
    let horizon_series = |m: &Value| -> Value {
        let mut out = Map::new();
        for h in HORIZONS {
            out.insert(
                format!("vel_mse_{h}"),
                m[format!("vel_mse_{h}_n{n_large}")].clone(),
            );
        }
        Value::Object(out)
    };
    let (gn_series, static_series, zero_series) = (
        horizon_series(&json!(metrics)),
        horizon_series(&baselines["static"]),
        horizon_series(&baselines["zero_velocity"]),
    );
    plots::error_vs_horizon(
        &out.join("error_vs_horizon.png"),
        &[
            ("graph network", &gn_series),
            ("static", &static_series),
            ("zero velocity", &zero_series),
        ],
        "vel_mse",
    )?;
    let notes = format!(
        "Trained on {} chains of {}–{} masses (random spacing 0.2–1.0). Suffix `_n{n_small}`: {} chains of {n_small} masses; `_n{n_large}`: {} chains of {n_large} masses (both unseen sizes, spacing 0.5); `_train_sizes`: the {} validation chains. Rollouts of {steps} steps from frame 0; `vel_mse_H` and `mse_H` average the first H predicted frames (Σ over x, y, mean over masses, fixed ends included at zero error). `static` keeps v_t, `zero_velocity` predicts v = 0.",
        train.len(),
        config.n_bodies[0],
        config.n_bodies[1],
        small.len(),
        large.len(),
        valid.len(),
    );
    let report = Report {
        model: "graph-network",
        metrics: json!(metrics),
        baselines,
        context: None,
        bars,
        timing,
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
        figures: vec![(
            "velocity error against horizon, 9 masses",
            "error_vs_horizon.png",
        )],
    };
    let key = |n: usize| format!("vel_mse_{steps}_n{n}");
    let summary = format!(
        "{NAME}: {steps}-step velocity MSE {:.3e} on {n_small} masses (static {:.3e}), {:.3e} on {n_large} (static {:.3e}), pass = {pass}",
        get(&metrics, &key(n_small)),
        get(&static_json, &key(n_small)),
        get(&metrics, &key(n_large)),
        get(&static_json, &key(n_large))
    );
    finish(&setup, NAME, &report, &summary)
}
