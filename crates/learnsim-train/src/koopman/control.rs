//! Open-loop scores of the Koopman model and its baselines over rope groups, and control: the
//! remaining actions solved in the linear latent space toward a target shape.

use super::*;

/// Mean squared position error over balls and the steps of an open-loop rollout.
fn position_mse(predicted: &[Vec<[f64; 4]>], truth: &RopeRollout) -> f64 {
    let mut sum = 0.0;
    let mut count = 0usize;
    for (p, t) in predicted.iter().zip(&truth.states[1..]) {
        for (a, b) in p.iter().zip(t) {
            sum += (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2);
            count += 1;
        }
    }
    sum / count.max(1) as f64
}

/// CKO open-loop position MSE over `groups`: per group, A and B fitted on the codes of its
/// first `fit_rollouts` rollouts, then every other rollout rolled out from its first frame
/// for all its steps. `device` is an inference device.
pub fn cko_rollout_mse(
    nets: &KoopmanNets,
    groups: &[RopeGroup],
    config: &KoopmanConfig,
    device: &Device,
) -> f64 {
    let per_group: Vec<f64> = groups
        .iter()
        .map(|group| {
            let (fit, eval) = group.rollouts.split_at(config.fit_rollouts);
            let fit_refs: Vec<&RopeRollout> = fit.iter().collect();
            let codes = nets.codes(&fit_refs, device);
            let actions: Vec<&[f64]> = fit.iter().map(|r| r.actions.as_slice()).collect();
            let dynamics = BlockLinear::fit(&codes, &actions, config.ridge);
            let firsts: Vec<&Vec<[f64; 4]>> = eval.iter().map(|r| &r.states[0]).collect();
            let starts = nets.frame_codes(&firsts, device);
            eval.iter()
                .zip(starts)
                .map(|(r, start)| {
                    let mut g = start;
                    let mut codes_along = Vec::with_capacity(r.actions.len());
                    for &u in &r.actions {
                        g = dynamics.step(&g, u);
                        codes_along.extend(g.iter().cloned());
                    }
                    let n = r.params.n;
                    let decoded = nets.decode(&codes_along, device);
                    let frames: Vec<Vec<[f64; 4]>> = decoded.chunks(n).map(<[_]>::to_vec).collect();
                    position_mse(&frames, r)
                })
                .sum::<f64>()
                / eval.len().max(1) as f64
        })
        .collect();
    per_group.iter().sum::<f64>() / per_group.len().max(1) as f64
}

/// The polynomial-Koopman baseline's open-loop position MSE, fitted and scored as
/// [`cko_rollout_mse`] with the fixed basis in place of the encoder and s = the basis' first
/// four entries in place of the decoder. The state scale is the training set's.
pub fn polynomial_rollout_mse(
    groups: &[RopeGroup],
    scale: &StateScale,
    config: &KoopmanConfig,
) -> f64 {
    let basis_of = |r: &RopeRollout| -> Vec<Vec<Vec<f64>>> {
        r.states
            .iter()
            .map(|f| {
                f.iter()
                    .map(|s| polynomial_basis(&scale.normalise(s)))
                    .collect()
            })
            .collect()
    };
    let per_group: Vec<f64> = groups
        .iter()
        .map(|group| {
            let (fit, eval) = group.rollouts.split_at(config.fit_rollouts);
            let codes: Codes = fit.iter().map(basis_of).collect();
            let actions: Vec<&[f64]> = fit.iter().map(|r| r.actions.as_slice()).collect();
            let dynamics = BlockLinear::fit(&codes, &actions, config.ridge);
            eval.iter()
                .map(|r| {
                    let mut g = basis_of(r).swap_remove(0);
                    let mut frames = Vec::with_capacity(r.actions.len());
                    for &u in &r.actions {
                        g = dynamics.step(&g, u);
                        frames.push(g.iter().map(|c| scale.restore(&c[..4])).collect::<Vec<_>>());
                    }
                    position_mse(&frames, r)
                })
                .sum::<f64>()
                / eval.len().max(1) as f64
        })
        .collect();
    per_group.iter().sum::<f64>() / per_group.len().max(1) as f64
}

/// The rope held at its first frame: the open-loop position MSE of predicting that nothing
/// moves, on the same rollouts [`cko_rollout_mse`] scores (every rollout after a group's first
/// `fit_rollouts`). The floor any learned model must beat.
pub fn persistence_rollout_mse(groups: &[RopeGroup], config: &KoopmanConfig) -> f64 {
    let per_group: Vec<f64> = groups
        .iter()
        .map(|group| {
            let eval = &group.rollouts[config.fit_rollouts.min(group.rollouts.len())..];
            eval.iter()
                .map(|r| position_mse(&vec![r.states[0].clone(); r.actions.len()], r))
                .sum::<f64>()
                / eval.len().max(1) as f64
        })
        .collect();
    per_group.iter().sum::<f64>() / per_group.len().max(1) as f64
}

/// The actions over `horizon` steps that bring the linear latent system from `start` closest
/// to `target` (‖g_H − g*‖² + ρ‖u‖²). The system is linear in the actions, so this is an exact
/// least-squares problem: g_H = Φ^H(g₀) + Σ_k u_k·R^(H−1−k), with R^(m) the response m steps
/// after a unit impulse on the root from zero codes.
pub fn plan_actions(
    dynamics: &BlockLinear,
    start: &[Vec<f64>],
    target: &[Vec<f64>],
    horizon: usize,
    action_cost: f64,
) -> Vec<f64> {
    let zero: Vec<Vec<f64>> = start.iter().map(|g| vec![0.0; g.len()]).collect();
    let mut free = start.to_vec();
    for _ in 0..horizon {
        free = dynamics.step(&free, 0.0);
    }
    let mut responses = Vec::with_capacity(horizon);
    let mut r = dynamics.step(&zero, 1.0);
    for _ in 0..horizon {
        responses.push(r.concat());
        r = dynamics.step(&r, 0.0);
    }
    let gap: Vec<f64> = target
        .concat()
        .iter()
        .zip(free.concat())
        .map(|(t, f)| t - f)
        .collect();
    // Column k of M is the response of an impulse at step k: R^(H−1−k).
    let column = |k: usize| &responses[horizon - 1 - k];
    let mut mtm = vec![0.0; horizon * horizon];
    let mut mtg = vec![0.0; horizon];
    for a in 0..horizon {
        for b in 0..horizon {
            mtm[a * horizon + b] = column(a).iter().zip(column(b)).map(|(x, y)| x * y).sum();
        }
        mtm[a * horizon + a] += action_cost;
        mtg[a] = column(a).iter().zip(&gap).map(|(x, y)| x * y).sum();
    }
    cholesky_solve(&mtm, &mtg, horizon, 1)
}

/// Mean distance between the balls of two frames.
pub fn shape_error(a: &[[f64; 4]], b: &[[f64; 4]]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(p, q)| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt())
        .sum::<f64>()
        / a.len().max(1) as f64
}

/// Receding-horizon control of the true rope from `start` (at rest) toward `target`: at every
/// step the current frame is encoded, the remaining steps planned in the latent space by
/// [`plan_actions`], and the first action applied to the simulator. Returns the final frame.
pub fn control_to_target(
    nets: &KoopmanNets,
    dynamics: &BlockLinear,
    recipe: &RopeRecipe,
    params: &learnsim_sim::rope::RopeParams,
    (start, target): (&[[f64; 4]], &[[f64; 4]]),
    (steps, action_cost): (usize, f64),
    device: &Device,
) -> Vec<[f64; 4]> {
    let goal = nets.frame_codes(&[&target.to_vec()], device).remove(0);
    let mut pos: Vec<[f64; 2]> = start.iter().map(|s| [s[0], s[1]]).collect();
    let mut vel: Vec<[f64; 2]> = vec![[0.0; 2]; pos.len()];
    let mut frame = start.to_vec();
    for t in 0..steps {
        let g = nets.frame_codes(&[&frame], device).remove(0);
        let plan = plan_actions(dynamics, &g, &goal, steps - t, action_cost);
        let prev = pos.clone();
        recipe.step(params, &mut pos, &mut vel, plan[0]);
        frame = learnsim_sim::rope::frame(&pos, &prev, recipe.dt);
    }
    frame
}

/// The random-action baseline from the same start: the data's action rule for `steps`.
pub fn random_actions_to(
    recipe: &RopeRecipe,
    params: &learnsim_sim::rope::RopeParams,
    start: &[[f64; 4]],
    steps: usize,
    seed: u64,
) -> Vec<[f64; 4]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pos: Vec<[f64; 2]> = start.iter().map(|s| [s[0], s[1]]).collect();
    let mut vel: Vec<[f64; 2]> = vec![[0.0; 2]; pos.len()];
    let mut frame = start.to_vec();
    for _ in 0..steps {
        let u =
            rng.random_range(-1.0..=1.0) * recipe.action_scale - pos[0][0] * recipe.action_centre;
        let prev = pos.clone();
        recipe.step(params, &mut pos, &mut vel, u);
        frame = learnsim_sim::rope::frame(&pos, &prev, recipe.dt);
    }
    frame
}
