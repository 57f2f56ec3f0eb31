//! hit-3d's data: forced isotropic turbulence runs cached as a Well-layout HDF5 file, and `learnsim
//! generate hit-3d`.

use super::NAME;
use crate::GenerateArgs;
use crate::runner::generate_setup;
use anyhow::{Context, Result};
use indicatif::ProgressStyle;
use learnsim_data::{
    GridField, WellGrid, from_component_last, read_well_grid, to_component_last, write_well_grid,
};
use learnsim_sim::spectral::turbulence::{TurbulenceRecipe, forced_run};
use learnsim_train::turbulence::TurbulenceConfig;
use std::path::Path;

/// The recipe as named parameters of the data file (and the key of its reuse).
pub(super) fn parameters(recipe: &TurbulenceRecipe, seed: u64) -> Vec<(String, f64)> {
    let mut p = vec![
        ("n".to_string(), recipe.n as f64),
        ("injection".into(), recipe.injection),
        ("forcing_wavenumber".into(), recipe.forcing_wavenumber),
        ("kmax_eta".into(), recipe.kmax_eta),
        ("viscosity".into(), recipe.viscosity()),
        ("initial_energy".into(), recipe.initial_energy),
        ("initial_peak".into(), recipe.initial_peak),
        ("cfl".into(), recipe.cfl),
        ("spin_up".into(), recipe.spin_up),
        ("snapshot_turnovers".into(), recipe.snapshot_turnovers),
        ("seed".into(), seed as f64),
    ];
    p.sort_by(|a, b| a.0.cmp(&b.0));
    p
}

/// The run's statistics, stored in the cache file beside the recipe's parameters under these
/// names: turnover time, Re_λ, mean dissipation / injection.
pub(super) const STATS: [&str; 3] = [
    "run_turnover_time",
    "run_reynolds_lambda",
    "run_dissipation_over_injection",
];

/// [turnover time, Re_λ, mean dissipation / injection] of a run, in [`STATS`]' order.
pub(super) type FlowStats = [f64; 3];

/// Splits a cache file's parameters into the recipe's and the run's statistics (absent in
/// files written before the statistics were stored).
pub(super) fn split_parameters(
    stored: &[(String, f64)],
) -> (Vec<(String, f64)>, Option<FlowStats>) {
    let stat = |name: &str| stored.iter().find(|(k, _)| k == name).map(|p| p.1);
    let recipe = stored
        .iter()
        .filter(|(k, _)| !STATS.contains(&k.as_str()))
        .cloned()
        .collect();
    let stats = match STATS.map(stat) {
        [Some(a), Some(b), Some(c)] => Some([a, b, c]),
        _ => None,
    };
    (recipe, stats)
}

/// The simulated snapshots (`[c][x][y][z]`, f32) with their times and the run's statistics.
pub(super) struct FlowData {
    pub(super) snapshots: Vec<Vec<f32>>,
    pub(super) time: Vec<f64>,
    /// The run's statistics, fresh or cached.
    pub(super) stats: FlowStats,
    pub(super) cached: bool,
}

/// Reuses `path` when it holds this recipe's run, else simulates and writes it.
pub(super) fn flow_data(path: &Path, config: &TurbulenceConfig) -> Result<FlowData> {
    let recipe = &config.flow;
    let wanted = parameters(recipe, config.seed);
    let points = recipe.n.pow(3);
    if path.exists() {
        match read_well_grid(path).map(|grid| (split_parameters(&grid.parameters), grid)) {
            Ok(((recipe_parameters, Some(stats)), grid))
                if recipe_parameters == wanted && grid.time.len() == recipe.snapshots =>
            {
                let velocity = grid
                    .field("velocity")
                    .context("cached turbulence file has no velocity field")?;
                let frame = 3 * points;
                return Ok(FlowData {
                    snapshots: velocity
                        .values
                        .chunks(frame)
                        .map(|f| from_component_last(f, 3))
                        .collect(),
                    time: grid.time,
                    stats,
                    cached: true,
                });
            }
            Ok(_) => crate::progress::note(format_args!(
                "{}: made with another recipe or without the run's statistics; simulating again",
                path.display()
            )),
            Err(e) => crate::progress::note(format_args!("{e}; simulating again")),
        }
    }
    let progress = crate::progress::bar(recipe.snapshots as u64).with_style(
        ProgressStyle::with_template(
            "simulate turbulence [{elapsed_precise}] {wide_bar} {pos}/{len} snapshots",
        )
        .expect("valid template"),
    );
    let run = forced_run(recipe, config.seed, &mut |done, _| {
        progress.set_position(done as u64)
    })?;
    progress.finish_and_clear();
    let mean_dissipation = run.dissipations.iter().sum::<f64>() / run.dissipations.len() as f64;
    let stats = [
        run.turnover,
        run.reynolds_lambda,
        mean_dissipation / recipe.injection,
    ];
    let mut stored = wanted;
    stored.extend(STATS.iter().zip(stats).map(|(k, v)| (k.to_string(), v)));
    let h = recipe.spacing();
    let axis: Vec<f64> = (0..recipe.n).map(|i| i as f64 * h).collect();
    let grid = WellGrid {
        name: NAME.into(),
        spatial_dims: vec!["x".into(), "y".into(), "z".into()],
        coordinates: vec![axis.clone(), axis.clone(), axis],
        time: run.times.clone(),
        n_trajectories: 1,
        parameters: stored,
        fields: vec![GridField {
            name: "velocity".into(),
            order: 1,
            values: run
                .snapshots
                .iter()
                .flat_map(|u| to_component_last(u, 3))
                .collect(),
        }],
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_well_grid(path, &grid)?;
    Ok(FlowData {
        snapshots: run.snapshots,
        time: run.times,
        stats,
        cached: false,
    })
}
/// `learnsim generate hit-3d`: the config's forced turbulence in The Well's format,
/// `OUT/hit-3d.hdf5` (default `data/hit-3d`; reused when it holds the recipe).
pub(super) fn generate(args: &GenerateArgs) -> Result<String> {
    let (config, tier, out) = generate_setup::<TurbulenceConfig>(args, NAME)?;
    config.flow.check()?;
    let path = out.join(format!("{NAME}.hdf5"));
    let data = flow_data(&path, &config)?;
    Ok(format!(
        "{NAME} ({tier} tier): {} snapshots on {}³ in {}{}",
        data.snapshots.len(),
        config.flow.n,
        path.display(),
        if data.cached {
            " (already there, same recipe)"
        } else {
            ""
        }
    ))
}
