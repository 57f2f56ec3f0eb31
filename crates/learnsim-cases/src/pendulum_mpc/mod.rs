//! `learnsim run pendulum-mpc`: graph networks as learnable physics engines for control
//! (Sanchez-Gonzalez et al. 2018) — random-action pendulum episodes → a GN and an MLP trained
//! one step at a time → open-loop errors → gradient MPC swing-up through the GN and through
//! the true ODE → metrics.json, report.md, plots, leaderboard row.

use crate::GenerateArgs;
use crate::bars::PassIf;
use crate::bars::{all_pass, bar};
use crate::data_file::{self, member};
use crate::plots::{self, XySeries, xy_plot};
use crate::request::RunArgs;
use crate::runner::{
    Losses, Report, finish, note_resume, progress_bar, recording_divergence, setup_validated,
};
use anyhow::Result;
use indicatif::ProgressStyle;
use learnsim_models::{default_inference_device, default_training_device};
use learnsim_sim::{Split, trajectory_seed};
use learnsim_train::pendulum::{
    Candidate, ControlEpisode, Dynamics, Episode, OpenLoopController, PendulumConfig, Plant,
    TrueDynamics, episodes, mpc_episode, open_loop_episode, open_loop_error, parameter_count,
    train_models,
};
use serde_json::json;
use std::time::Instant;

/// Registry name.
pub const NAME: &str = "pendulum-mpc";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str =
    "GN as a learnable physics engine: pendulum and cartpole models, MPC swing-up through the GN";

/// The case in the registry ([`crate::registry`]).
pub const CASE: crate::Pipeline = crate::Pipeline {
    name: NAME,
    description: DESCRIPTION,
    kind: crate::CaseKind::Control,
    ranks: crate::Ranks::One,
    run,
    generate: generate_file,
};

fn control(
    label: &'static str,
    model: &impl Dynamics,
    config: &PendulumConfig,
    device: &burn::tensor::Device,
) -> (ControlEpisode, f64) {
    let bar = crate::progress::bar(config.mpc.control_steps as u64).with_style(
        ProgressStyle::with_template(&format!(
            "{label} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} control steps (ETA {{eta}})"
        ))
        .expect("valid template"),
    );
    let clock = Instant::now();
    let episode = mpc_episode(model, config, device, &mut |s| bar.set_position(s as u64));
    bar.finish_and_clear();
    (episode, clock.elapsed().as_secs_f64())
}

/// `learnsim generate pendulum-mpc`: the random-torque episodes the run trains its models on,
/// for both plants, as `OUT/{pendulum,cartpole}_{train,valid,test}.npz` (per episode
/// `INDEX/states` `[T + 1, S]`, (q, q̇) per joint, and `INDEX/actions` `[T]`, the torques).
fn generate_file(args: &GenerateArgs) -> Result<String> {
    let splits = [
        "pendulum_train",
        "pendulum_valid",
        "pendulum_test",
        "cartpole_train",
        "cartpole_valid",
        "cartpole_test",
    ];
    data_file::generate(args, NAME, &splits, |config: &PendulumConfig| {
        let (pendulum, cartpole) = plants(config);
        let (a, b, c) = simulate(config, &pendulum, 0);
        let (d, e, f) = simulate(config, &cartpole, CARTPOLE_SALT);
        data_file::per_item(&[a, b, c, d, e, f], "episodes", |arrays, i, episode| {
            arrays.rows(member(i, "states"), &episode.states)?;
            arrays.series(member(i, "actions"), &episode.actions);
            Ok(())
        })
    })
}

/// The seed salt of the cart-pole's episodes (the pendulum's is 0).
const CARTPOLE_SALT: u64 = 0xCA27;

/// The two plants of the config.
fn plants(config: &PendulumConfig) -> (Plant, Plant) {
    (
        Plant::Pendulum(config.pendulum.clone()),
        Plant::Cartpole(config.cartpole.clone()),
    )
}

/// The (train, valid, test) episodes of `plant`, each from its own seed.
fn simulate(
    config: &PendulumConfig,
    plant: &Plant,
    salt: u64,
) -> (Vec<Episode>, Vec<Episode>, Vec<Episode>) {
    let split = |split: Split, count: usize| {
        episodes(config, plant, count, |i| {
            trajectory_seed(config.seed ^ salt, split, i)
        })
    };
    (
        split(Split::Train, config.train_episodes),
        split(Split::Valid, config.valid_episodes),
        split(Split::Test, config.test_episodes),
    )
}

/// `learnsim run pendulum-mpc`.
pub fn run(args: &RunArgs) -> Result<String> {
    let setup = setup_validated(args, NAME)?;
    let config = &setup.config;
    let (pendulum, cartpole) = plants(config);
    let clock = Instant::now();
    let (train, valid, test) = simulate(config, &pendulum, 0);
    let (cart_train, cart_valid, cart_test) = simulate(config, &cartpole, CARTPOLE_SALT);
    let simulate_s = clock.elapsed().as_secs_f64();

    let device = default_training_device();
    // Checkpoints in RUN/checkpoint/{pendulum,cartpole}/{ARCHITECTURE,mlp}: a killed run resumes
    // each network where it stopped.
    let checkpoints = setup.out.join("checkpoint");
    note_resume("pendulum", &checkpoints.join("pendulum"), config.steps);
    let (progress, mut callback) =
        progress_bar("train pendulum GNs, then MLP", config.total_steps());
    let trained = recording_divergence(
        &setup.out,
        "pendulum",
        train_models(
            config,
            &pendulum,
            &train,
            &valid,
            &device,
            Some(&checkpoints.join("pendulum")),
            &mut callback,
        ),
    )?;
    progress.finish_and_clear();
    note_resume("cartpole", &checkpoints.join("cartpole"), config.steps);
    let (progress, mut callback) =
        progress_bar("train cartpole GNs, then MLP", config.total_steps());
    let cart_trained = recording_divergence(
        &setup.out,
        "cartpole",
        train_models(
            config,
            &cartpole,
            &cart_train,
            &cart_valid,
            &device,
            Some(&checkpoints.join("cartpole")),
            &mut callback,
        ),
    )?;
    progress.finish_and_clear();
    // Training seconds over every segment of the run (a rerun that resumes adds none).
    let train_s = trained.seconds + cart_trained.seconds;

    let inference = default_inference_device();
    let horizon = config.rollout_horizon;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let gn_error = open_loop_error(
        &trained.gn_inference(),
        &pendulum,
        &test,
        horizon,
        &inference,
    );
    let mlp_error = open_loop_error(
        &trained.mlp_inference(),
        &pendulum,
        &test,
        horizon,
        &inference,
    );
    let truth_error = open_loop_error(
        &TrueDynamics(config.pendulum.clone()),
        &pendulum,
        &test,
        horizon,
        &inference,
    );
    let (gn_h, mlp_h) = (mean(&gn_error), mean(&mlp_error));
    let cart_gn_error = open_loop_error(
        &cart_trained.gn_inference(),
        &cartpole,
        &cart_test,
        horizon,
        &inference,
    );
    let cart_mlp_error = open_loop_error(
        &cart_trained.mlp_inference(),
        &cartpole,
        &cart_test,
        horizon,
        &inference,
    );
    let (cart_gn_h, cart_mlp_h) = (mean(&cart_gn_error), mean(&cart_mlp_error));

    let (gn_mpc, gn_mpc_s) = control("MPC through the GN", &trained.gn, config, &device);
    let (true_mpc, true_mpc_s) = control(
        "MPC through the true ODE",
        &TrueDynamics(config.pendulum.clone()),
        config,
        &device,
    );
    let return_ratio = gn_mpc.control_return / true_mpc.control_return;
    let zero = open_loop_episode(config, OpenLoopController::ZeroTorque);
    let random = open_loop_episode(config, OpenLoopController::RandomTorque);
    crate::playback::write(
        &setup.out,
        "swing_up",
        &swing_up_playback(
            &config.pendulum,
            &[
                ("truth", &true_mpc),
                ("gn_mpc", &gn_mpc),
                ("zero_torque", &zero),
                ("random_torque", &random),
            ],
        ),
    )?;

    let metrics = json!({
        "gn_one_step_error": gn_error[0],
        "gn_rollout_error": gn_h,
        "gn_rollout_error_final": gn_error[horizon - 1],
        "gn_parameters": parameter_count(&trained.gn.model),
        "mlp_parameters": parameter_count(&trained.mlp.model),
        "true_ode_in_f32_rollout_error": mean(&truth_error),
        "gn_mpc_return": gn_mpc.control_return,
        "true_mpc_return": true_mpc.control_return,
        "mpc_return_ratio": return_ratio,
        "gn_mpc_final_upright_error": gn_mpc.final_upright_error,
        "true_mpc_final_upright_error": true_mpc.final_upright_error,
        "gn_valid_loss_final": trained.gn_valid_loss.last().map(|p| f64::from(p.loss)),
        "gn_architecture": trained.architecture,
        "gn_candidates": trained.candidates,
        "cartpole_gn_architecture": cart_trained.architecture,
        "cartpole_gn_candidates": cart_trained.candidates,
        "cartpole_gn_rollout_error": cart_gn_h,
        "cartpole_gn_one_step_error": cart_gn_error[0],
        "cartpole_gn_parameters": parameter_count(&cart_trained.gn.model),
        "cartpole_mlp_parameters": parameter_count(&cart_trained.mlp.model),
    });
    let bars = vec![
        bar(
            &format!("pendulum: GN {horizon}-step open-loop error minus the MLP's"),
            gn_h - mlp_h,
            0.0,
            PassIf::AtMost,
        ),
        bar(
            &format!("cartpole: GN {horizon}-step open-loop error minus the MLP's"),
            cart_gn_h - cart_mlp_h,
            0.0,
            PassIf::AtMost,
        ),
        bar(
            "GN-model MPC return / true-model MPC return",
            return_ratio,
            0.8,
            PassIf::AtLeast,
        ),
        bar(
            &format!(
                "largest |θ − π| (rad) over the last {} steps of GN-model MPC",
                config.mpc.upright_steps
            ),
            gn_mpc.final_upright_error,
            0.2,
            PassIf::AtMost,
        ),
    ];
    let pass = all_pass(&bars);
    let baselines = json!({
        "mlp": {
            "one_step_error": mlp_error[0],
            "valid_loss_final": trained.mlp_valid_loss.last().map(|p| f64::from(p.loss)),
            "rollout_error": mlp_h,
            "rollout_error_final": mlp_error[horizon - 1],
            "cartpole_one_step_error": cart_mlp_error[0],
            "cartpole_rollout_error": cart_mlp_h,
        },
        "zero_torque": {
            "mpc_return": zero.control_return,
            "final_upright_error": zero.final_upright_error,
        },
        "random_torques": {
            "mpc_return": random.control_return,
            "final_upright_error": random.final_upright_error,
        },
        "true_model_mpc": {
            "mpc_return": true_mpc.control_return,
            "final_upright_error": true_mpc.final_upright_error,
        },
    });
    let timing = json!({
        "simulate_s": simulate_s,
        "train_s": train_s,
        "gn_mpc_s": gn_mpc_s,
        "true_mpc_s": true_mpc_s,
    });

    let dt = config.pendulum.dt;
    let angle = |e: &ControlEpisode| -> Vec<(f64, f64)> {
        e.states
            .iter()
            .enumerate()
            .map(|(t, s)| (t as f64 * dt, s[0]))
            .collect()
    };
    let torque = |e: &ControlEpisode| -> Vec<(f64, f64)> {
        e.torques
            .iter()
            .enumerate()
            .map(|(t, u)| (t as f64 * dt, *u))
            .collect()
    };
    let end = config.mpc.control_steps as f64 * dt;
    let upright: Vec<(f64, f64)> = vec![(0.0, std::f64::consts::PI), (end, std::f64::consts::PI)];
    let upright_below: Vec<(f64, f64)> =
        vec![(0.0, -std::f64::consts::PI), (end, -std::f64::consts::PI)];
    let (gn_angle, true_angle) = (angle(&gn_mpc), angle(&true_mpc));
    xy_plot(
        &setup.out.join("swing_up.png"),
        "pendulum swing-up by gradient MPC (θ = π is upright)",
        ("time (s)", "θ (rad, unwrapped)"),
        &[
            XySeries {
                label: "through the GN",
                points: &gn_angle,
                line: true,
            },
            XySeries {
                label: "through the true ODE",
                points: &true_angle,
                line: true,
            },
            XySeries {
                label: "upright (θ = π)",
                points: &upright,
                line: true,
            },
            XySeries {
                label: "upright (θ = −π)",
                points: &upright_below,
                line: true,
            },
        ],
    )?;
    let (gn_torque, true_torque) = (torque(&gn_mpc), torque(&true_mpc));
    xy_plot(
        &setup.out.join("torques.png"),
        "applied torques",
        ("time (s)", "u (N·m)"),
        &[
            XySeries {
                label: "through the GN",
                points: &gn_torque,
                line: true,
            },
            XySeries {
                label: "through the true ODE",
                points: &true_torque,
                line: true,
            },
        ],
    )?;
    let by_step = |e: &[f64]| -> Vec<(f64, f64)> {
        e.iter()
            .enumerate()
            .map(|(k, v)| ((k + 1) as f64, v.max(1e-12).log10()))
            .collect()
    };
    let (gn_curve, mlp_curve) = (by_step(&gn_error), by_step(&mlp_error));
    let (cart_gn_curve, cart_mlp_curve) = (by_step(&cart_gn_error), by_step(&cart_mlp_error));
    xy_plot(
        &setup.out.join("error_vs_horizon.png"),
        "open-loop error on random-action test episodes",
        ("steps", "log10 mean (Δθ² + Δθ̇²)"),
        &[
            XySeries {
                label: "pendulum GN",
                points: &gn_curve,
                line: true,
            },
            XySeries {
                label: "pendulum MLP",
                points: &mlp_curve,
                line: true,
            },
            XySeries {
                label: "cartpole GN",
                points: &cart_gn_curve,
                line: true,
            },
            XySeries {
                label: "cartpole MLP",
                points: &cart_mlp_curve,
                line: true,
            },
        ],
    )?;

    let notes = format!(
        "Pendulum: {} kg bob on a {} m rod, g {}, joint friction {}, |u| ≤ {} N·m (below m·g·l = {:.2}, so the swing-up must pump), RK4 with dt {} s, θ from hanging down. Data: {} training, {} validation and {} test episodes of {} steps with uniform random torques from θ₀ uniform on the circle and |θ̇₀| ≤ {}. GN: nodes world (fixed) and pole with [cos θ, sin θ, θ̇/s, fixed, revolute, prismatic], the hinge as two directed edges with [±u/u_max, ±1, revolute, prismatic], latent {}, {} hidden layers, {} message-passing step(s) (at least one per joint), output the normalised (Δθ, Δθ̇) at the pole. Its architecture is chosen by the {}-step open-loop error on the validation episodes: {}; kept: {} ({} parameters); MLP: [cos θ, sin θ, θ̇/s, u/u_max] → 3 hidden ReLU layers, their width set to match the GN's parameter count → (Δθ, Δθ̇) ({} parameters). Both: {} Adam steps of batch {} on the same batches, lr {} → {}. Open-loop errors replay the recorded torques for {} steps from every {}th state of the test episodes. MPC: horizon {}, {} Adam iterations (lr {}) per control step on u/u_max, projected onto [−1, 1] after each, warm-started from the shifted plan; stage cost 1 + cos θ + {}·θ̇² + {}·(u/u_max)² + {}·((E − E_up)/E_up)² with E the predicted energy and E_up = 2mgl (the energy term makes a 0.6 s horizon pump); the first torque is applied to the true pendulum; {} control steps from θ₀ = {} rad. Return = Σ (1 − cos θ)/2 over the episode's states (1 per step upright). The true ODE rolled out in f32 tensors (the planner of the true-model MPC) scores open-loop error {:.2e} against the f64 simulator. A cartpole ({} kg cart on a rail driven by |F| ≤ {} N, {} kg bob on {} m, same RK4 and data recipe) is modelled the same way but not controlled: GN nodes world, cart and pole, the rail and the hinge as edge pairs (the force on the rail's); the cart's position is not a feature of either model, since no force depends on it; validation errors {}, kept {} ({} parameters against the MLP's {}); its {}-step open-loop errors: GN {:.2e}, MLP {:.2e}.",
        config.pendulum.mass,
        config.pendulum.length,
        config.pendulum.gravity,
        config.pendulum.damping,
        config.pendulum.max_torque,
        config.pendulum.mass * config.pendulum.gravity * config.pendulum.length,
        config.pendulum.dt,
        train.len(),
        valid.len(),
        test.len(),
        config.episode_steps,
        config.max_speed,
        config.latent,
        config.n_hidden,
        config.message_passing_steps,
        horizon,
        describe(&trained.candidates),
        trained.architecture.name(),
        parameter_count(&trained.gn.model),
        parameter_count(&trained.mlp.model),
        config.steps,
        config.batch_size,
        config.lr_initial,
        config.lr_final,
        horizon,
        horizon,
        config.mpc.horizon,
        config.mpc.iterations,
        config.mpc.lr,
        config.mpc.speed_weight,
        config.mpc.torque_weight,
        config.mpc.energy_weight,
        config.mpc.control_steps,
        config.mpc.initial_angle,
        mean(&truth_error),
        config.cartpole.cart_mass,
        config.cartpole.max_force,
        config.cartpole.pole_mass,
        config.cartpole.length,
        describe(&cart_trained.candidates),
        cart_trained.architecture.name(),
        parameter_count(&cart_trained.gn.model),
        parameter_count(&cart_trained.mlp.model),
        horizon,
        cart_gn_h,
        cart_mlp_h,
    );
    let report = Report {
        model: "graph-network",
        metrics: json!(metrics),
        baselines,
        context: None,
        bars,
        timing,
        losses: Losses {
            train: &trained.gn_loss,
            check: &trained.gn_valid_loss,
            figure: plots::LossFigure {
                title: "chosen GN: one-step loss (normalised state-change MSE)",
                train: "train",
                check: "validation one-step loss",
            },
        },
        notes,
        figures: vec![
            ("swing-up trajectories", "swing_up.png"),
            ("applied torques", "torques.png"),
            ("open-loop error against horizon", "error_vs_horizon.png"),
        ],
    };
    let summary = format!(
        "{NAME}: pendulum GN {horizon}-step error {gn_h:.3e} vs MLP {mlp_h:.3e}; cartpole GN {cart_gn_h:.3e} vs MLP {cart_mlp_h:.3e}; MPC return through the GN {:.1} vs true model {:.1} (ratio {return_ratio:.2}); final |θ − π| ≤ {:.3} rad; pass = {pass}",
        gn_mpc.control_return, true_mpc.control_return, gn_mpc.final_upright_error
    );
    finish(&setup, NAME, &report, &summary)
}

/// "gn-gn 1.01e-5 (15138 parameters), …" for the notes.
/// The swing-ups as the viewer plays them: the bob on its rod from the pivot, θ from hanging
/// down. "truth" is the episode of MPC through the true ODE, the reference the GN's is judged
/// against; the open-loop controllers show what no control does.
fn swing_up_playback(
    pendulum: &learnsim_sim::pendulum::Pendulum,
    episodes: &[(&str, &ControlEpisode)],
) -> learnsim_data::playback::Playback {
    use learnsim_data::playback::{Extra, ExtraKind, Playback, Scene, Series};
    let frames = episodes
        .iter()
        .map(|(_, e)| e.states.len())
        .min()
        .unwrap_or(0);
    let l = pendulum.length;
    let bob = |s: &[f64; 2]| [(l * s[0].sin()) as f32, (-l * s[0].cos()) as f32];
    // Each MPC episode's plans: the bob where its planner expects it over the horizon, from
    // every frame (the last frame, after the last control step, has none: the bob itself).
    let extras = episodes
        .iter()
        .filter_map(|(name, e)| {
            let horizon = e.plans.first()?.len();
            let data = (0..frames)
                .flat_map(|t| match e.plans.get(t) {
                    Some(plan) => plan.iter().flat_map(bob).collect::<Vec<_>>(),
                    None => bob(&e.states[t]).repeat(horizon),
                })
                .collect();
            Some(Extra {
                name: "plan".into(),
                series: (*name).into(),
                kind: ExtraKind::Path,
                width: 2 * horizon,
                data,
            })
        })
        .collect();
    Playback {
        title: "swing-up from hanging (truth: MPC through the true ODE)".into(),
        scene: Scene::Bodies {
            bounds: vec![[-1.2 * l, 1.2 * l], [-1.2 * l, 1.2 * l]],
            links: vec![],
            anchor: Some([0.0, 0.0]),
        },
        frames,
        shape: vec![1, 2],
        context: 1,
        frame_seconds: pendulum.dt,
        series: episodes
            .iter()
            .map(|(name, e)| Series {
                name: (*name).into(),
                data: e.states[..frames].iter().flat_map(bob).collect(),
            })
            .collect(),
        extras,
    }
}

fn describe(candidates: &[Candidate]) -> String {
    candidates
        .iter()
        .map(|c| {
            format!(
                "{} {:.2e} ({} parameters)",
                c.architecture.name(),
                c.valid_error,
                c.parameters
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
