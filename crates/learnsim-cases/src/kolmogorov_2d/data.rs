//! kolmogorov-2d's data: pseudo-spectral vorticity runs cached as a Well-layout HDF5 file, and
//! `learnsim generate kolmogorov-2d`.

use super::NAME;
use crate::GenerateArgs;
use crate::runner::generate_setup;
use anyhow::{Context, Result};
use indicatif::{MultiProgress, ProgressStyle};
use learnsim_data::{
    GridField, WellGrid, from_component_last, read_well_grid, to_component_last, write_well_grid,
};
use learnsim_sim::spectral::kolmogorov::{KolmogorovRecipe, kolmogorov_run};
use learnsim_sim::{Split, trajectory_seed};
use learnsim_train::tfnet::KolmogorovConfig;
use rayon::prelude::*;
use std::path::Path;

pub(super) fn parameters(recipe: &KolmogorovRecipe, seed: u64) -> Vec<(String, f64)> {
    let mut p = vec![
        ("n".to_string(), recipe.n as f64),
        ("viscosity".into(), recipe.viscosity),
        ("drag".into(), recipe.drag),
        ("forcing".into(), recipe.forcing),
        (
            "forcing_wavenumber".into(),
            recipe.forcing_wavenumber as f64,
        ),
        ("dt".into(), recipe.dt),
        ("spin_up".into(), recipe.spin_up),
        ("frame_steps".into(), recipe.frame_steps as f64),
        ("initial_vorticity".into(), recipe.initial_vorticity),
        ("seed".into(), seed as f64),
    ];
    p.sort_by(|a, b| a.0.cmp(&b.0));
    p
}

/// The runs' velocity frames, reused from `path` when it holds this recipe's, else simulated
/// (runs in parallel) and written.
pub(super) fn flow_data(
    path: &Path,
    config: &KolmogorovConfig,
) -> Result<(Vec<Vec<Vec<f32>>>, bool)> {
    let recipe = &config.flow;
    let wanted = parameters(recipe, config.seed);
    let n = recipe.n;
    let points = n * n;
    if path.exists() {
        match read_well_grid(path) {
            Ok(grid)
                if grid.parameters == wanted
                    && grid.n_trajectories == config.runs
                    && grid.time.len() == recipe.frames =>
            {
                let velocity = grid
                    .field("velocity")
                    .with_context(|| format!("{}: no velocity field", path.display()))?;
                let frames: Vec<Vec<f32>> = velocity
                    .values
                    .chunks(2 * points)
                    .map(|f| from_component_last(f, 2))
                    .collect();
                return Ok((
                    frames.chunks(recipe.frames).map(<[_]>::to_vec).collect(),
                    true,
                ));
            }
            Ok(_) => crate::progress::note(format_args!(
                "{}: made with another recipe; simulating again",
                path.display()
            )),
            Err(e) => crate::progress::note(format_args!("{e}; simulating again")),
        }
    }
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template(
        "simulate run {prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} frames (ETA {eta})",
    )
    .expect("valid template");
    let runs = (0..config.runs)
        .into_par_iter()
        .map(|r| {
            let progress = bars.add(
                crate::progress::bar(recipe.frames as u64)
                    .with_style(style.clone())
                    .with_prefix(r.to_string()),
            );
            let seed = trajectory_seed(config.seed, Split::Train, r);
            let run = kolmogorov_run(recipe, seed, &mut |f| progress.set_position(f as u64))
                .with_context(|| format!("run {r} (seed {seed})"))?;
            progress.finish_and_clear();
            Ok(run)
        })
        .collect::<Result<Vec<_>>>()?;
    let h = std::f64::consts::TAU / n as f64;
    let axis: Vec<f64> = (0..n).map(|i| i as f64 * h).collect();
    let grid = WellGrid {
        name: NAME.into(),
        spatial_dims: vec!["x".into(), "y".into()],
        coordinates: vec![axis.clone(), axis],
        time: runs[0].times.clone(),
        n_trajectories: config.runs,
        parameters: wanted,
        fields: vec![GridField {
            name: "velocity".into(),
            order: 1,
            values: runs
                .iter()
                .flat_map(|run| run.frames.iter())
                .flat_map(|f| to_component_last(f, 2))
                .collect(),
        }],
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_well_grid(path, &grid)?;
    Ok((runs.into_iter().map(|r| r.frames).collect(), false))
}

/// `learnsim generate kolmogorov-2d`: the config's flows in The Well's format,
/// `OUT/kolmogorov-2d.hdf5` (default `data/kolmogorov-2d`; reused when it holds the recipe).
pub(super) fn generate(args: &GenerateArgs) -> Result<String> {
    let (config, tier, out) = generate_setup::<KolmogorovConfig>(args, NAME)?;
    config.flow.check()?;
    let path = out.join(format!("{NAME}.hdf5"));
    let (runs, cached) = flow_data(&path, &config)?;
    Ok(format!(
        "{NAME} ({tier} tier): {} runs of {} frames on {}² in {}{}",
        runs.len(),
        config.flow.frames,
        config.flow.n,
        path.display(),
        if cached {
            " (already there, same recipe)"
        } else {
            ""
        }
    ))
}
