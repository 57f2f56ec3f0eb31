//! `learnsim run rope-koopman`: compositional Koopman operators (Li et al. 2020) — rope
//! rollouts in groups sharing physical parameters → graph encoder and decoder trained around
//! block-linear dynamics fitted per group → 100-step open-loop position errors on validation
//! groups and on longer ropes, against the polynomial Koopman baseline → metrics.json,
//! report.md, plots, leaderboard row.

use crate::GenerateArgs;
use crate::bars::PassIf;
use crate::bars::{all_pass, bar};
use crate::data_file::{self, member};
use crate::plots::{self, XySeries, xy_plot};
use crate::request::RunArgs;
use crate::runner::{Losses, Report, finish, setup_validated, train_network};
use anyhow::Result;
use learnsim_models::{default_inference_device, default_training_device};
use learnsim_sim::rope::{RopeGroup, RopeRollout, rope_groups};
use learnsim_sim::{Split, trajectory_seed};
use learnsim_train::koopman::{
    BlockLinear, KoopmanConfig, StateScale, cko_rollout_mse, control_to_target,
    persistence_rollout_mse, polynomial_rollout_mse, random_actions_to, shape_error, train_koopman,
};
use serde_json::json;
use std::time::Instant;

/// Registry name.
pub const NAME: &str = "rope-koopman";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str =
    "Compositional Koopman operators: graph encoder, block-linear latent dynamics, rope";

/// The case in the registry ([`crate::registry`]).
pub const CASE: crate::Pipeline = crate::Pipeline {
    name: NAME,
    description: DESCRIPTION,
    kind: crate::CaseKind::Control,
    ranks: crate::Ranks::One,
    run,
    generate: generate_file,
};

/// One control trial: the final shape errors and the frames to draw.
struct ControlTrial {
    error: f64,
    random_error: f64,
    start: Vec<[f64; 4]>,
    target: Vec<[f64; 4]>,
    reached: Vec<[f64; 4]>,
    random: Vec<[f64; 4]>,
}

/// `learnsim generate rope-koopman`: the rope rollouts the run fits and scores on, as
/// `OUT/{train,valid,extrapolation}.npz` (per rollout `INDEX/states` `[T + 1, n, 4]`,
/// (x, y, ẋ, ẏ) per ball; `INDEX/actions` `[T]`, the impulses on the top mass; `INDEX/group`
/// `[1]`, its parameter group; `INDEX/stiffness` and `INDEX/gravity` `[1]`, the group's).
fn generate_file(args: &GenerateArgs) -> Result<String> {
    let splits = ["train", "valid", "extrapolation"];
    data_file::generate(args, NAME, &splits, |config: &KoopmanConfig| {
        // Each split's rollouts in order, with the index of their parameter group.
        let groups = simulate(config);
        let sets: Vec<Vec<(usize, &RopeRollout)>> = groups
            .iter()
            .map(|split| {
                split
                    .iter()
                    .enumerate()
                    .flat_map(|(g, group)| group.rollouts.iter().map(move |r| (g, r)))
                    .collect()
            })
            .collect();
        data_file::per_item(&sets, "rollouts", |arrays, i, &(g, rollout)| {
            arrays.frames(member(i, "states"), &rollout.states)?;
            arrays.series(member(i, "actions"), &rollout.actions);
            arrays.ints(member(i, "group"), vec![g as i64]);
            arrays.series(member(i, "stiffness"), &[rollout.params.stiffness]);
            arrays.series(member(i, "gravity"), &[rollout.params.gravity]);
            Ok(())
        })
    })
}

/// The train and valid groups (5–9 balls) and the extrapolation groups (10–14), each group
/// from its own seed.
fn simulate(config: &KoopmanConfig) -> [Vec<RopeGroup>; 3] {
    let groups = |split: Split, count: usize, sizes| {
        rope_groups(&config.rope, sizes, count, config.rollouts_per_group, |g| {
            trajectory_seed(config.seed, split, g)
        })
    };
    [
        groups(Split::Train, config.train_groups, 5..=9),
        groups(Split::Valid, config.valid_groups, 5..=9),
        groups(Split::Test, config.extrapolation_groups, 10..=14),
    ]
}

/// `learnsim run rope-koopman`.
pub fn run(args: &RunArgs) -> Result<String> {
    let setup = setup_validated(args, NAME)?;
    let config = &setup.config;
    let clock = Instant::now();
    let [train, valid, extrapolation] = simulate(config);
    let simulate_s = clock.elapsed().as_secs_f64();

    let device = default_training_device();
    let trained = train_network(
        &setup.out,
        ("train Koopman encoder/decoder", "koopman"),
        config.steps,
        None,
        |checkpoint, progress| {
            train_koopman(config, &train, &valid, &device, Some(checkpoint), progress)
        },
    )?;
    // Training seconds over every segment of the run (a rerun that resumes adds none).
    let train_s = trained.seconds;

    let inference = default_inference_device();
    let nets = trained.inference();
    let scale: StateScale = nets.scale;
    let clock = Instant::now();
    let cko_valid = cko_rollout_mse(&nets, &valid, config, &inference);
    let cko_extra = cko_rollout_mse(&nets, &extrapolation, config, &inference);
    let eval_s = clock.elapsed().as_secs_f64();
    let poly_valid = polynomial_rollout_mse(&valid, &scale, config);
    let poly_extra = polynomial_rollout_mse(&extrapolation, &scale, config);
    let (still_valid, still_extra) = (
        persistence_rollout_mse(&valid, config),
        persistence_rollout_mse(&extrapolation, config),
    );
    let (ratio_valid, ratio_extra) = (cko_valid / poly_valid, cko_extra / poly_extra);

    // Control: from the first frame of held-out validation rollouts to their frame at
    // `control_steps` (a shape the rope reached), planned in the latent space.
    let clock = Instant::now();
    let steps = config.control_steps.min(config.rope.steps);
    let mut control = Vec::new();
    for (k, group) in valid.iter().enumerate() {
        let (fit, eval) = group.rollouts.split_at(config.fit_rollouts);
        let fit_refs: Vec<_> = fit.iter().collect();
        let actions: Vec<&[f64]> = fit.iter().map(|r| r.actions.as_slice()).collect();
        let dynamics = BlockLinear::fit(&nets.codes(&fit_refs, &inference), &actions, config.ridge);
        for (i, r) in eval.iter().take(config.control_targets).enumerate() {
            let (start, target) = (&r.states[0], &r.states[steps]);
            let reached = control_to_target(
                &nets,
                &dynamics,
                &config.rope,
                &group.params,
                (start, target),
                (steps, config.action_cost),
                &inference,
            );
            let mut random: Vec<Vec<[f64; 4]>> = (0..4u64)
                .map(|s| {
                    random_actions_to(
                        &config.rope,
                        &group.params,
                        start,
                        steps,
                        trajectory_seed(config.seed ^ 0xC7A1, Split::Valid, k * 1000 + i) ^ s,
                    )
                })
                .collect();
            let random_error =
                random.iter().map(|f| shape_error(f, target)).sum::<f64>() / random.len() as f64;
            control.push(ControlTrial {
                error: shape_error(&reached, target),
                random_error,
                start: start.clone(),
                target: target.clone(),
                reached,
                random: random.swap_remove(0),
            });
        }
    }
    let control_s = clock.elapsed().as_secs_f64();
    let mean_of = |f: &dyn Fn(&ControlTrial) -> f64| {
        control.iter().map(f).sum::<f64>() / control.len().max(1) as f64
    };
    let (control_error, random_error) = (mean_of(&|c| c.error), mean_of(&|c| c.random_error));
    let start_error = mean_of(&|c| shape_error(&c.start, &c.target));
    let control_ratio = control_error / random_error;

    let metrics = json!({
        "rollout_position_mse_valid": cko_valid,
        "rollout_position_mse_extrapolation": cko_extra,
        "ratio_to_polynomial_valid": ratio_valid,
        "ratio_to_polynomial_extrapolation": ratio_extra,
        "control_final_shape_error": control_error,
        "control_ratio_to_random": control_ratio,
        "control_targets": control.len(),
        "control_start_shape_error": start_error,
        "valid_mse_first": trained.valid_mse.first().map(|p| f64::from(p.loss)),
        "valid_mse_last": trained.valid_mse.last().map(|p| f64::from(p.loss)),
    });
    let bars = vec![
        bar(
            "CKO 100-step position MSE / polynomial Koopman's, validation (5–9 masses)",
            ratio_valid,
            0.5,
            PassIf::AtMost,
        ),
        bar(
            "CKO 100-step position MSE / polynomial Koopman's, extrapolation (10–14 masses)",
            ratio_extra,
            0.7,
            PassIf::AtMost,
        ),
        bar(
            &format!("final shape error after {steps} steps of latent MPC / random actions'"),
            control_ratio,
            0.5,
            PassIf::AtMost,
        ),
    ];
    let pass = all_pass(&bars);
    let baselines = json!({
        "polynomial_koopman": {
            "rollout_position_mse_valid": poly_valid,
            "rollout_position_mse_extrapolation": poly_extra,
        },
        "persistence": {
            "rollout_position_mse_valid": still_valid,
            "rollout_position_mse_extrapolation": still_extra,
        },
        "random_actions": {
            "control_final_shape_error": random_error,
        },
    });
    let timing = json!({
        "simulate_s": simulate_s,
        "train_s": train_s,
        "eval_s": eval_s,
        "control_s": control_s,
    });

    // A validation rollout: true, CKO and polynomial trajectories of the bottom mass.
    let group = &valid[0];
    let (fit, eval) = group.rollouts.split_at(config.fit_rollouts);
    let fit_refs: Vec<_> = fit.iter().collect();
    let actions: Vec<&[f64]> = fit.iter().map(|r| r.actions.as_slice()).collect();
    let dynamics = BlockLinear::fit(&nets.codes(&fit_refs, &inference), &actions, config.ridge);
    let shown = &eval[0];
    let n = group.params.n;
    let mut g = nets.frame_codes(&[&shown.states[0]], &inference).remove(0);
    let mut along = Vec::new();
    for &u in &shown.actions {
        g = dynamics.step(&g, u);
        along.push(g.clone());
    }
    let decoded: Vec<Vec<[f64; 4]>> = along
        .iter()
        .map(|codes| nets.decode(codes, &inference))
        .collect();
    let dt = config.rope.dt;
    let positions = |frames: &[Vec<[f64; 4]>]| -> Vec<Vec<[f64; 2]>> {
        frames
            .iter()
            .map(|f| f.iter().map(|m| [m[0], m[1]]).collect())
            .collect()
    };
    let mut cko = vec![shown.states[0].clone()];
    cko.extend(decoded.iter().cloned());
    let playback = crate::playback::bodies(
        format!("validation rope ({n} masses) driven by its recorded actions"),
        dt,
        (1..n).map(|i| [i - 1, i]).collect(),
        None,
        &[
            ("truth", positions(&shown.states)),
            ("cko", positions(&cko)),
            (
                "persistence",
                positions(&vec![shown.states[0].clone(); shown.states.len()]),
            ),
        ],
    );
    crate::playback::write(&setup.out, "valid_0", &playback)?;
    let path = |xs: Vec<f64>| -> Vec<(f64, f64)> {
        xs.into_iter()
            .enumerate()
            .map(|(t, x)| (t as f64 * dt, x))
            .collect()
    };
    let truth = path(shown.states.iter().map(|f| f[n - 1][0]).collect());
    let mut predicted = vec![shown.states[0][n - 1][0]];
    predicted.extend(decoded.iter().map(|f| f[n - 1][0]));
    let predicted = path(predicted);
    let top = path(shown.states.iter().map(|f| f[0][0]).collect());
    xy_plot(
        &setup.out.join("rollout.png"),
        &format!("validation rollout, {n} masses: horizontal position"),
        ("time (s)", "x (m)"),
        &[
            XySeries {
                label: "bottom mass, simulator",
                points: &truth,
                line: true,
            },
            XySeries {
                label: "bottom mass, CKO open loop",
                points: &predicted,
                line: true,
            },
            XySeries {
                label: "top mass (driven)",
                points: &top,
                line: true,
            },
        ],
    )?;

    if let Some(c) = control.first() {
        let shape =
            |f: &[[f64; 4]]| -> Vec<(f64, f64)> { f.iter().map(|s| (s[0], s[1])).collect() };
        let (s0, t, r, q) = (
            shape(&c.start),
            shape(&c.target),
            shape(&c.reached),
            shape(&c.random),
        );
        xy_plot(
            &setup.out.join("control.png"),
            &format!("rope shapes after {steps} control steps"),
            ("x (m)", "y (m)"),
            &[
                XySeries {
                    label: "start",
                    points: &s0,
                    line: true,
                },
                XySeries {
                    label: "target",
                    points: &t,
                    line: true,
                },
                XySeries {
                    label: "latent MPC (CKO)",
                    points: &r,
                    line: true,
                },
                XySeries {
                    label: "random actions",
                    points: &q,
                    line: true,
                },
            ],
        )?;
    }
    let notes = format!(
        "Rope: unit masses, neighbour springs (rest {:.4}, k ~ U[{}, {}] per group) and second-neighbour springs (k/2, twice the rest), damping k/{}, g ~ U[{}, {}], top mass on the groove y = 1, impulses u = {}·U(−1, 1) − {}·x₀ per step, semi-implicit Euler with {} substeps of dt {} s, {} steps. Groups of {} rollouts share k, g and the number of masses: {} training and {} validation groups with 5–9 masses, {} extrapolation groups with 10–14. CKO: a GNS encoder (latent {}, {} message-passing steps; edges carry the relation type of 8 and the state difference) → tanh → D = {} per mass; block-linear dynamics g′_i = Σ_r Σ_(j∈N_r(i)) (g_j A_r + u_j B_r) with A_r, B_r shared per relation type and fitted by ridge least squares (λ = {}) on the codes of {} rollouts of the group (detached from the gradient); decoder MLP D → 2×{} → state. Loss: L1 reconstruction of every frame + L1 of the states decoded along a {}-step linear rollout from a random frame; {} Adam steps, lr {} → {}. The paper's metric loss and its fitting on other rollouts of the batch's group are left out. Baseline: the same structured fit on the polynomial basis [s, 1, s⊗s/9, s²⊗s/27] of the normalised state. Scores: per group, A and B from its first {} rollouts, then each other rollout rolled out open loop from its first frame for all steps; position MSE (m²) over masses and steps, averaged over rollouts and groups. Control: for {} held-out rollouts per validation group, start at its first frame and aim for its frame at step {steps} (a shape the rope reached); at every step the true state is encoded and the remaining actions solved exactly by ridge least squares (ρ = {}) on ‖g_H − g*‖² through the fitted linear dynamics, the first applied to the simulator; score = mean ball distance to the target at the end ({:.3} m; start {:.3} m), against the data's random action rule from the same start (mean of 4 draws, {:.3} m).",
        config.rope.spacing * config.rope.rest_factor,
        config.rope.stiffness_range[0],
        config.rope.stiffness_range[1],
        config.rope.damping_divisor,
        config.rope.gravity_range[0],
        config.rope.gravity_range[1],
        config.rope.action_scale,
        config.rope.action_centre,
        config.rope.substeps,
        config.rope.dt,
        config.rope.steps,
        config.rollouts_per_group,
        train.len(),
        valid.len(),
        extrapolation.len(),
        config.latent,
        config.message_passing_steps,
        config.code,
        config.ridge,
        config.fit_rollouts,
        config.decoder_hidden,
        config.sequence,
        config.steps,
        config.lr_initial,
        config.lr_final,
        config.fit_rollouts,
        config.control_targets,
        config.action_cost,
        control_error,
        start_error,
        random_error,
    );
    let report = Report {
        model: "compositional-koopman",
        metrics: json!(metrics),
        baselines,
        context: None,
        bars,
        timing,
        losses: Losses {
            train: &trained.train_loss,
            check: &trained.valid_mse,
            figure: plots::LossFigure {
                title: "Koopman model: reconstruction + prediction L1",
                train: "train",
                check: "validation 100-step position MSE",
            },
        },
        notes,
        figures: vec![
            ("an open-loop validation rollout", "rollout.png"),
            ("control to a target shape", "control.png"),
        ],
    };
    let summary = format!(
        "{NAME}: 100-step position MSE {cko_valid:.3e} (polynomial Koopman {poly_valid:.3e}, ratio {ratio_valid:.2}) on validation, {cko_extra:.3e} ({poly_extra:.3e}, ratio {ratio_extra:.2}) on 10–14 masses; control error {control_error:.3} m vs random {random_error:.3} m; pass = {pass}",
    );
    finish(&setup, NAME, &report, &summary)
}
