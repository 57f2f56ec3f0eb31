//! `learnsim run glass-ka`: glassy dynamics from static structure (Bapst et al. 2020) —
//! Kob–Andersen MD (melt, Langevin equilibration, τ_α from the self-ISF, iso-configurational
//! NVE runs) → a graph network on the radius-2 graph trained on the propensity of A particles
//! → test Pearson r against the linear and type-mean baselines, and under cube symmetries →
//! metrics.json, report.md, plots, leaderboard row.

use crate::GenerateArgs;
use crate::bars::PassIf;
use crate::bars::{all_pass, bar};
use crate::data_file::{self, member};
use crate::plots::{self, XySeries, xy_plot};
use crate::request::RunArgs;
use crate::runner::{Losses, Report, finish, loss_ends, setup_validated, train_network};
use anyhow::{Result, bail};
use indicatif::ProgressStyle;
use learnsim_data::write_bytes_atomically;
use learnsim_eval::pearson;
use learnsim_models::default_training_device;
use learnsim_sim::glass::{GlassDataset, GlassRecipe, PropensitySample, glass_dataset};
use learnsim_sim::kob_andersen::random_cube_symmetry;
use learnsim_sim::{Split, trajectory_seed};
use learnsim_train::glass::{
    GlassTrainConfig, IDENTITY, LinearBaseline, TrainedGlassNetwork, a_values, of_a,
    train_glass_network,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// Registry name.
pub const NAME: &str = "glass-ka";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str =
    "Graph network predicting Kob-Andersen glass propensity from static structure (3D, periodic)";

/// The case in the registry ([`crate::registry`]).
pub const CASE: crate::Pipeline = crate::Pipeline {
    name: NAME,
    description: DESCRIPTION,
    kind: crate::CaseKind::Object,
    ranks: crate::Ranks::One,
    run,
    generate: generate_file,
};

/// Random cube symmetries the equivariance bar tries; the bar takes the largest change.
const SYMMETRY_TRIALS: usize = 8;

/// What `glass_data.json` in the run folder holds: the data and what made it, so a second
/// run with the same recipe and seeds reuses four minutes of MD instead of redoing it.
#[derive(Serialize, Deserialize)]
struct CachedData {
    recipe: GlassRecipe,
    seeds: Vec<u64>,
    data: GlassDataset,
}

/// Reads the cache if it was made by the same recipe and seeds; any other content is reported
/// and ignored (the data are then simulated again and the file replaced).
fn cached(path: &Path, recipe: &GlassRecipe, seeds: &[u64]) -> Option<GlassDataset> {
    let bytes = std::fs::read(path).ok()?;
    let why = match serde_json::from_slice::<CachedData>(&bytes) {
        Err(e) => format!("not a glass data file ({e})"),
        Ok(c) if c.recipe != *recipe || c.seeds != seeds => {
            "made by another recipe or seed".to_string()
        }
        Ok(c) if c.data.samples.len() != seeds.len() => {
            format!("{} samples for {} seeds", c.data.samples.len(), seeds.len())
        }
        Ok(c) => match c
            .data
            .samples
            .iter()
            .enumerate()
            .find_map(|(i, s)| s.check().err().map(|e| format!("configuration {i}: {e}")))
        {
            Some(e) => e,
            None => return Some(c.data),
        },
    };
    crate::progress::note(format_args!("{}: {why}; simulating again", path.display()));
    None
}

/// Simulates every configuration with a progress bar (train seeds first, then test seeds),
/// or reuses `CACHE/glass_data.json` when the recipe and seeds are the same (a run's folder
/// keeps it; `learnsim generate` writes its numpy archives instead).
fn generate(config: &GlassTrainConfig, cache: Option<&Path>) -> Result<GlassDataset> {
    if config.train_configurations == 0
        || config.test_configurations == 0
        || config.md.iso_runs == 0
    {
        bail!(
            "glass-ka config: need training and test configurations and iso-configurational runs"
        );
    }
    let seeds: Vec<u64> = (0..config.train_configurations)
        .map(|i| trajectory_seed(config.seed, Split::Train, i))
        .chain(
            (0..config.test_configurations).map(|i| trajectory_seed(config.seed, Split::Test, i)),
        )
        .collect();
    let recipe = config.md.clone();
    let path = cache.map(|dir| dir.join("glass_data.json"));
    if let Some(data) = path.as_ref().and_then(|p| cached(p, &recipe, &seeds)) {
        crate::progress::note(format_args!(
            "reusing the simulated configurations in {}",
            path.unwrap_or_default().display()
        ));
        return Ok(data);
    }
    let bar = crate::progress::bar(seeds.len() as u64).with_style(
        ProgressStyle::with_template(
            "Kob-Andersen MD [{elapsed_precise}] {wide_bar} {pos}/{len} configurations ({msg})",
        )
        .expect("valid template"),
    );
    bar.set_message("equilibrating, measuring τ_α, then iso-configurational NVE runs");
    bar.enable_steady_tick(std::time::Duration::from_millis(500));
    let done = || bar.inc(1);
    let data = glass_dataset(&recipe, &seeds, &done)?;
    bar.finish_and_clear();
    let Some(path) = path else {
        return Ok(data);
    };
    let cache = CachedData {
        recipe,
        seeds,
        data,
    };
    write_bytes_atomically(&path, serde_json::to_string(&cache)?.as_bytes())?;
    Ok(cache.data)
}

/// (prediction, target) of the A particles of one sample.
fn a_pairs(
    config: &GlassTrainConfig,
    sample: &PropensitySample,
    predicted: &[f64],
) -> Vec<(f64, f64)> {
    of_a(predicted, &sample.species)
        .zip(of_a(&config.targets(sample), &sample.species))
        .collect()
}

fn r_of(pairs: &[(f64, f64)]) -> f64 {
    let (p, t): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    pearson(&p, &t)
}

/// Pearson r over the A particles: (within each configuration, averaged; pooled over all).
fn correlations(
    config: &GlassTrainConfig,
    samples: &[PropensitySample],
    predicted: &[Vec<f64>],
) -> (f64, f64) {
    let per: Vec<Vec<(f64, f64)>> = samples
        .iter()
        .zip(predicted)
        .map(|(s, p)| a_pairs(config, s, p))
        .collect();
    let within = per.iter().map(|p| r_of(p)).sum::<f64>() / per.len().max(1) as f64;
    (within, r_of(&per.concat()))
}

/// The correlation the bars use: within configurations when the targets are relative to
/// each configuration's mean (a pooled r would then mix in nothing but the offsets the
/// target removed), pooled otherwise.
fn score(config: &GlassTrainConfig, (within, pooled): (f64, f64)) -> f64 {
    if config.relative_to_configuration {
        within
    } else {
        pooled
    }
}

/// Mean squared error of the targets over the A particles.
fn mse_on_a(
    config: &GlassTrainConfig,
    samples: &[PropensitySample],
    predicted: &[Vec<f64>],
) -> f64 {
    let pairs: Vec<(f64, f64)> = samples
        .iter()
        .zip(predicted)
        .flat_map(|(s, p)| a_pairs(config, s, p))
        .collect();
    pairs.iter().map(|(p, t)| (p - t).powi(2)).sum::<f64>() / pairs.len().max(1) as f64
}

fn predict_all(
    trained: &TrainedGlassNetwork,
    samples: &[PropensitySample],
    (config, symmetrize): (&GlassTrainConfig, bool),
    symmetry: learnsim_train::glass::CubeSymmetry,
    device: &burn::tensor::Device,
) -> Result<Vec<Vec<f64>>> {
    samples
        .iter()
        .map(|s| Ok(trained.predict(s, config, symmetry, symmetrize, device)?))
        .collect()
}

/// `learnsim generate glass-ka`: the Kob–Andersen configurations and propensities the run
/// trains and scores on, as `OUT/{train,test}.npz` (per configuration `INDEX/positions`
/// `[N, 3]` in σ_AA, wrapped into the box; `INDEX/species` `[N]` (A = 0, B = 1);
/// `INDEX/box_length` `[1]`; `INDEX/propensity` `[N]`, the mean |Δr| at τ_α over the
/// iso-configurational runs; `INDEX/potential_energy` and `INDEX/neighbours` `[N]`, the linear
/// baseline's features) and `tau_alpha` `[1]`, the relaxation time measured at the start.
fn generate_file(args: &GenerateArgs) -> Result<String> {
    let splits = ["train", "test"];
    data_file::generate(args, NAME, &splits, |config: &GlassTrainConfig| {
        let data = generate(config, None)?;
        let (train, test) = data.samples.split_at(config.train_configurations);
        let mut archives =
            data_file::per_item(&[train, test], "configurations", |arrays, i, s| {
                arrays.points(member(i, "positions"), &s.positions);
                let species = s.species.iter().map(|&x| i64::from(x)).collect();
                arrays.ints(member(i, "species"), species);
                arrays.series(member(i, "box_length"), &[s.box_length]);
                arrays.series(member(i, "propensity"), &s.propensity);
                arrays.series(member(i, "potential_energy"), &s.potential_energy);
                let neighbours = s.neighbours.iter().map(|&k| k as i64).collect();
                arrays.ints(member(i, "neighbours"), neighbours);
                Ok(())
            })?;
        for arrays in &mut archives.splits {
            arrays.series("tau_alpha", &[data.relaxation.tau_alpha]);
        }
        Ok(archives)
    })
}

/// `learnsim run glass-ka`.
pub fn run(args: &RunArgs) -> Result<String> {
    let setup = setup_validated(args, NAME)?;
    let config = &setup.config;
    let clock = Instant::now();
    let data = generate(config, Some(&setup.out))?;
    let simulate_s = clock.elapsed().as_secs_f64();
    let tau = data.relaxation.tau_alpha;
    let (train, test) = data.samples.split_at(config.train_configurations);

    let device = default_training_device();
    let trained = train_network(
        &setup.out,
        ("train glass GN", "gn"),
        config.steps(),
        None,
        |checkpoint, progress| {
            train_glass_network(config, train, test, &device, Some(checkpoint), progress)
        },
    )?;
    // Training seconds over every segment of the run (a rerun that resumes adds none).
    let train_s = trained.seconds;

    let clock = Instant::now();
    // The network as trained, then (with `symmetrize`) averaged over the 48 cube symmetries.
    let raw_pred = predict_all(&trained, test, (config, false), IDENTITY, &device)?;
    let predict_s = clock.elapsed().as_secs_f64();
    let raw_r = correlations(config, test, &raw_pred);
    let gn = if config.symmetrize {
        predict_all(&trained, test, (config, true), IDENTITY, &device)?
    } else {
        raw_pred.clone()
    };
    let gn_r = correlations(config, test, &gn);
    let r_gn = score(config, gn_r);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5E77);
    let (mut symmetry_change, mut raw_change) = (0.0f64, 0.0f64);
    for _ in 0..SYMMETRY_TRIALS {
        let g = random_cube_symmetry(&mut rng);
        let moved = predict_all(&trained, test, (config, false), g, &device)?;
        let r = score(config, correlations(config, test, &moved));
        raw_change = raw_change.max((r - score(config, raw_r)).abs());
        if config.symmetrize {
            let moved = predict_all(&trained, test, (config, true), g, &device)?;
            let r = score(config, correlations(config, test, &moved));
            symmetry_change = symmetry_change.max((r - r_gn).abs());
        }
    }
    if !config.symmetrize {
        symmetry_change = raw_change;
    }
    let linear = LinearBaseline::fit(config, train)?;
    let linear_pred: Vec<Vec<f64>> = test.iter().map(|s| linear.predict(s)).collect();
    let linear_r = correlations(config, test, &linear_pred);
    let r_linear = score(config, linear_r);
    let mean_pred: Vec<Vec<f64>> = test
        .iter()
        .map(|s| vec![trained.scale.mean; s.species.len()])
        .collect();
    let (mse_gn, mse_linear, mse_mean) = (
        mse_on_a(config, test, &gn),
        mse_on_a(config, test, &linear_pred),
        mse_on_a(config, test, &mean_pred),
    );
    let r_train = score(
        config,
        correlations(
            config,
            train,
            &predict_all(
                &trained,
                train,
                (config, config.symmetrize),
                IDENTITY,
                &device,
            )?,
        ),
    );
    let raw = a_values(&data.samples, |s| &s.propensity);
    let raw_mean = raw.iter().sum::<f64>() / raw.len() as f64;
    let raw_std =
        (raw.iter().map(|p| (p - raw_mean).powi(2)).sum::<f64>() / raw.len() as f64).sqrt();

    let (first, last) = loss_ends(&trained.test_loss);
    let equilibration_over_tau = config.md.equilibration_time / tau;
    let metrics = json!({
        "pearson_r": r_gn,
        "pearson_r_within_configurations": gn_r.0,
        "pearson_r_pooled": gn_r.1,
        "pearson_r_train": r_train,
        "pearson_r_unsymmetrized": score(config, raw_r),
        "pearson_r_max_change_under_symmetry_unsymmetrized": raw_change,
        "pearson_r_max_change_under_symmetry": symmetry_change,
        "mse": mse_gn,
        "tau_alpha": tau,
        "equilibration_over_tau_alpha": equilibration_over_tau,
        "propensity_mean_a": raw_mean,
        "propensity_std_a": raw_std,
        "target_std_a": trained.scale.std,
        "valid_loss_initial": first,
        "valid_loss_final": last,
    });
    let bars = vec![
        bar(
            if config.relative_to_configuration {
                "test Pearson r (A particles, within each configuration, averaged)"
            } else {
                "test Pearson r (A particles, pooled)"
            },
            r_gn,
            0.3,
            PassIf::AtLeast,
        ),
        bar(
            "test Pearson r minus the linear baseline's",
            r_gn - r_linear,
            0.0,
            PassIf::AtLeast,
        ),
        bar(
            &format!(
                "largest change of test r over {SYMMETRY_TRIALS} random axis permutations × reflections"
            ),
            symmetry_change,
            0.01,
            PassIf::AtMost,
        ),
    ];
    let pass = all_pass(&bars);
    let n_test: usize = test.iter().map(|s| s.species.len()).sum();
    let baselines = json!({
        "linear_energy_neighbours": {
            "pearson_r": r_linear,
            "pearson_r_within_configurations": linear_r.0,
            "pearson_r_pooled": linear_r.1,
            "mse": mse_linear,
            "coefficients": linear.coefficients,
        },
        "type_mean": { "pearson_r": f64::NAN, "mse": mse_mean },
    });
    let timing = json!({
        "simulate_s": simulate_s,
        "train_s": train_s,
        "gn_particles_per_s": n_test as f64 / predict_s,
    });

    // Figures: the relaxation that defines τ_α, and predictions against propensities.
    let isf: Vec<(f64, f64)> = data
        .relaxation
        .times
        .iter()
        .zip(&data.relaxation.isf)
        .filter(|(t, _)| **t > 0.0)
        .map(|(t, f)| (t.log10(), *f))
        .collect();
    let e_line = [
        (isf[0].0, (-1.0f64).exp()),
        (isf[isf.len() - 1].0, (-1.0f64).exp()),
    ];
    let tau_line = [(tau.log10(), 0.0), (tau.log10(), 1.0)];
    xy_plot(
        &setup.out.join("isf.png"),
        &format!(
            "self-ISF of A particles at k = {}, τ_α = {tau:.2}",
            config.md.isf_k
        ),
        ("log10 t (LJ units)", "F_s(k, t)"),
        &[
            XySeries {
                label: "F_s(k, t)",
                points: &isf,
                line: true,
            },
            XySeries {
                label: "1/e",
                points: &e_line,
                line: true,
            },
            XySeries {
                label: "τ_α",
                points: &tau_line,
                line: true,
            },
        ],
    )?;
    let pairs = |pred: &[Vec<f64>]| -> Vec<(f64, f64)> {
        test.iter()
            .zip(pred)
            .flat_map(|(s, p)| a_pairs(config, s, p))
            .map(|(p, t)| (t, p))
            .collect()
    };
    let (gn_points, linear_points) = (pairs(&gn), pairs(&linear_pred));
    let gn_label = format!("graph network (r = {r_gn:.3})");
    let linear_label = format!("linear baseline (r = {r_linear:.3})");
    xy_plot(
        &setup.out.join("propensity.png"),
        if config.relative_to_configuration {
            "test A particles, relative to each configuration's mean"
        } else {
            "test A particles: prediction against propensity"
        },
        ("target: propensity |Δr(τ_α)| (σ)", "prediction (σ)"),
        &[
            XySeries {
                label: &gn_label,
                points: &gn_points,
                line: false,
            },
            XySeries {
                label: &linear_label,
                points: &linear_points,
                line: false,
            },
        ],
    )?;

    let equilibration_warning = if equilibration_over_tau < 5.0 {
        format!(
            " **Warning: the equilibration ({:.1} τ_α) is shorter than the recipe's 5 τ_α; raise equilibration_time.**",
            equilibration_over_tau
        )
    } else {
        String::new()
    };
    let notes = format!(
        "Kob–Andersen mixture, {} A + {} B at density {} (periodic cube), T = {}. Each configuration: FCC lattice, melt at T = {} for {} τ, Langevin (BAOAB, γ = {}) at T for {} τ ({:.1} τ_α), then {} iso-configurational NVE runs (velocity Verlet, dt {}) from fresh Boltzmann velocities; propensity = mean |Δr| at τ_α = {tau:.2}, where the A particles' self-ISF at k = {} reaches 1/e (measured once, before the propensity runs, over {} NVE runs spread across the configurations). {} training and {} test configurations, each from its own seed. Graph network: GNS encode–process–decode, latent {}, {} hidden layer(s) per MLP, {} message-passing steps, on the radius-{} graph (edge input: minimum-image displacement and its length expanded in {} Gaussians on [0.6, {}] (the raw length if 0); node input: one-hot species), loss on the A particles only, {} epochs, batch {}, Adam {} → {}, random axis permutations and reflections: {}; predictions averaged over the 48 cube symmetries: {} (the network alone: test r {:.3}, largest change under a symmetry {:.4}). The test loss curve is monitoring only; the final weights are scored (no selection on test). No gradient clipping (the reference clips the global norm at 1). Targets: {}. The type-mean baseline predicts one constant for all A particles, so its Pearson r is undefined (NaN); its MSE is the target variance. Pooled test r {:.3} (linear {:.3}); within configurations {:.3} (linear {:.3}). Training-set r: {r_train:.3}.{equilibration_warning}",
        config.md.n_a,
        config.md.n_b,
        config.md.density,
        config.md.temperature,
        config.md.melt_temperature,
        config.md.melt_time,
        config.md.friction,
        config.md.equilibration_time,
        equilibration_over_tau,
        config.md.iso_runs,
        config.md.dt,
        config.md.isf_k,
        config.md.isf_runs,
        train.len(),
        test.len(),
        config.latent,
        config.n_hidden,
        config.message_passing_steps,
        config.radius,
        config.distance_basis,
        config.radius,
        config.epochs,
        config.batch_size,
        config.lr_initial,
        config.lr_final,
        config.augment,
        config.symmetrize,
        score(config, raw_r),
        raw_change,
        if config.relative_to_configuration {
            "propensity minus the mean over its configuration's A particles (a 256-particle box's mobility fluctuates as a whole from configuration to configuration; no local structure predicts that), and r is taken within each test configuration and averaged"
        } else {
            "raw propensity, r pooled over all test A particles"
        },
        gn_r.1,
        linear_r.1,
        gn_r.0,
        linear_r.0,
    );
    let report = Report {
        model: "graph-network",
        metrics: json!(metrics),
        baselines,
        context: None,
        bars,
        timing,
        losses: Losses {
            train: &trained.train_loss,
            check: &trained.test_loss,
            figure: plots::LossFigure {
                title: "propensity GNN: MSE over the A particles",
                train: "train",
                check: "test (monitoring only)",
            },
        },
        notes,
        figures: vec![
            ("predicted against measured propensity", "propensity.png"),
            ("self intermediate scattering function", "isf.png"),
        ],
    };
    let summary = format!(
        "{NAME}: test Pearson r {r_gn:.3} (linear baseline {r_linear:.3}, train {r_train:.3}), largest change under cube symmetries {symmetry_change:.4}, τ_α {tau:.2}, pass = {pass}",
    );
    finish(&setup, NAME, &report, &summary)
}
