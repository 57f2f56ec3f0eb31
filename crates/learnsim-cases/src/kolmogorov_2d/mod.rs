//! `learnsim run kolmogorov-2d`: TF-Net (Wang et al. 2020) on Kolmogorov-forced 2D
//! turbulence — pseudo-spectral vorticity runs cached as a Well-layout HDF5 file → TF-Net,
//! the plain U-Net, TF-Net without the divergence penalty and an FNO trained
//! autoregressively →
//! 20-step rollouts scored by RMSE, divergence and log-spectral distance against persistence
//! → metrics.json, report.md, plots, leaderboard row.

use crate::bars::PassIf;
use crate::bars::{all_pass, bar};
use crate::plots::{self, XySeries, field_panels, xy_plot};
use crate::request::RunArgs;
use crate::runner::{Losses, Report, Setup, finish, setup_validated, train_network};
use crate::side_by_side::side_by_side;
use anyhow::{Result, bail};
use indicatif::MultiProgress;
use learnsim_models::WindowModel;
use learnsim_models::{default_inference_device, default_training_device};
use learnsim_sim::spectral::Fft2;
use learnsim_train::tfnet::{
    Architecture, KolmogorovConfig, TrainedWindowModel, energy_spectrum_2d, log_spectral_distance,
    mean_abs_divergence, mean_abs_spectral_divergence, rmse, train_window_model,
};
use rayon::prelude::*;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// Registry name.
pub const NAME: &str = "kolmogorov-2d";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str =
    "TF-Net vs U-Net on Kolmogorov-forced 2D turbulence (spectral NS, 20-step rollouts)";

/// The case in the registry ([`crate::registry`]).
pub const CASE: crate::Pipeline = crate::Pipeline {
    name: NAME,
    description: DESCRIPTION,
    kind: crate::CaseKind::Grid,
    ranks: crate::Ranks::One,
    run,
    generate,
};

mod data;

use data::{flow_data, generate};

/// The steps the RMSE bar averages over.
const RMSE_STEPS: usize = 10;

/// One model's (or persistence's) scores over the test windows.
struct Scores {
    /// Mean RMSE per rollout step.
    rmse_by_step: Vec<f64>,
    /// mean|div u| over every predicted frame, by central differences.
    divergence: f64,
    /// The same by Fourier derivatives (the simulator's frames: 0 to round-off).
    spectral_divergence: f64,
    /// E(k) averaged over every predicted frame.
    spectrum: Vec<f64>,
}

impl Scores {
    fn rmse_mean(&self, steps: usize) -> f64 {
        let k = steps.min(self.rmse_by_step.len());
        self.rmse_by_step[..k].iter().sum::<f64>() / k as f64
    }
}

/// ω = ∂v/∂x − ∂u/∂y of a `[2][x][y]` velocity frame on [0, 2π)² by periodic central
/// differences, as an image: row 0 is the top (largest y), column = x.
fn vorticity(frame: &[f32], n: usize) -> Vec<f32> {
    let h = std::f64::consts::TAU / n as f64;
    let at = |c: usize, i: usize, j: usize| f64::from(frame[(c * n + i % n) * n + j % n]);
    let mut image = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let dvdx = (at(1, i + 1, j) - at(1, i + n - 1, j)) / (2.0 * h);
            let dudy = (at(0, i, j + 1) - at(0, i, j + n - 1)) / (2.0 * h);
            image[(n - 1 - j) * n + i] = (dvdx - dudy) as f32;
        }
    }
    image
}

fn score(predicted: &[Vec<Vec<f32>>], truth: &[Vec<Vec<f32>>], n: usize, fft: &Fft2) -> Scores {
    let steps = truth[0].len();
    let windows = predicted.len() as f64;
    let rmse_by_step = (0..steps)
        .map(|k| {
            predicted
                .iter()
                .zip(truth)
                .map(|(p, t)| rmse(&p[k], &t[k]))
                .sum::<f64>()
                / windows
        })
        .collect();
    let frames: Vec<&Vec<f32>> = predicted.iter().flatten().collect();
    let divergence = frames
        .iter()
        .map(|f| mean_abs_divergence(f, n))
        .sum::<f64>()
        / frames.len() as f64;
    let spectral_divergence = frames
        .par_iter()
        .map(|f| mean_abs_spectral_divergence(f, fft))
        .sum::<f64>()
        / frames.len() as f64;
    let spectra: Vec<Vec<f64>> = frames
        .par_iter()
        .map(|f| energy_spectrum_2d(f, fft))
        .collect();
    let spectrum = (0..spectra[0].len())
        .map(|k| spectra.iter().map(|s| s[k]).sum::<f64>() / spectra.len() as f64)
        .collect();
    Scores {
        rmse_by_step,
        divergence,
        spectral_divergence,
        spectrum,
    }
}

/// What every model of the case trains on, and the run folder their checkpoints go in.
struct Fit<'a> {
    config: &'a KolmogorovConfig,
    train: &'a [Vec<Vec<f32>>],
    valid: &'a [Vec<f32>],
    out: &'a Path,
}

impl Fit<'_> {
    /// Trains the model `init` builds with divergence weight `coef`, its bar in `bars`,
    /// checkpointing into (and resuming from) `RUN/checkpoint/NAME`; returns it and its
    /// training seconds over every segment of the run.
    fn model<M: WindowModel>(
        &self,
        init: impl Fn(&burn::tensor::Device) -> M,
        coef: f64,
        (label, name): (&'static str, &str),
        bars: &MultiProgress,
    ) -> Result<(TrainedWindowModel<M>, f64)> {
        let trained = train_network(
            self.out,
            (label, name),
            self.config.steps,
            Some(bars),
            |checkpoint, progress| {
                let (train, valid) = (self.train, self.valid);
                let device = default_training_device();
                let dir = Some(checkpoint);
                train_window_model(
                    self.config,
                    init,
                    coef,
                    train,
                    valid,
                    &device,
                    dir,
                    progress,
                )
            },
        )?;
        let seconds = trained.seconds;
        Ok((trained, seconds))
    }
}

/// `learnsim run kolmogorov-2d`.
pub fn run(args: &RunArgs) -> Result<String> {
    let setup: Setup<KolmogorovConfig> = setup_validated(args, NAME)?;
    let config = &setup.config;
    config.flow.check()?;
    if config.runs < 2 {
        bail!(
            "runs = {}: at least one training run and one held-out run",
            config.runs
        );
    }
    let span = config.input_frames + config.test_horizon;
    if config.valid_frames + span > config.flow.frames {
        bail!(
            "{} frames per run leave no test window of {span} after {} validation frames",
            config.flow.frames,
            config.valid_frames
        );
    }
    let n = config.flow.n;
    let clock = Instant::now();
    let (runs, cached) = flow_data(&setup.out.join("data").join(format!("{NAME}.hdf5")), config)?;
    let simulate_s = clock.elapsed().as_secs_f64();
    let (train, held) = runs.split_at(config.runs - 1);
    let valid = &held[0][..config.valid_frames];
    let test = &held[0][config.valid_frames..];

    let tfnet_config = config.network(Architecture::TfNet);
    let unet_config = config.network(Architecture::UNet);
    let fno_config = config.fno();
    // Two at a time (see `side_by_side`): TF-Net beside the U-Net, then the ablation beside
    // the FNO.
    let bars = MultiProgress::new();
    let fit = Fit {
        config,
        train,
        valid,
        out: &setup.out,
    };
    let coef = config.divergence_coef;
    let (tfnet, unet) = side_by_side(
        &bars,
        |bars| {
            fit.model(
                |d| tfnet_config.init(d),
                coef,
                ("train TF-Net", "tfnet"),
                bars,
            )
        },
        |bars| fit.model(|d| unet_config.init(d), 0.0, ("train U-Net", "unet"), bars),
    );
    let (ablation, fno) = side_by_side(
        &bars,
        |bars| {
            fit.model(
                |d| tfnet_config.init(d),
                0.0,
                ("train TF-Net (coef 0)", "tfnet-no-penalty"),
                bars,
            )
        },
        |bars| fit.model(|d| fno_config.init(d), 0.0, ("train FNO", "fno"), bars),
    );
    let ((tfnet, tfnet_s), (unet, unet_s)) = (tfnet?, unet?);
    let ((ablation, ablation_s), (fno, fno_s)) = (ablation?, fno?);

    let starts: Vec<usize> = (0..=test.len() - span)
        .step_by(config.test_stride.max(1))
        .collect();
    let truth: Vec<Vec<Vec<f32>>> = starts
        .iter()
        .map(|&s| test[s + config.input_frames..s + span].to_vec())
        .collect();
    let persistence: Vec<Vec<Vec<f32>>> = starts
        .iter()
        .map(|&s| vec![test[s + config.input_frames - 1].clone(); config.test_horizon])
        .collect();
    let device = default_inference_device();
    let clock = Instant::now();
    let (h, inputs) = (config.test_horizon, config.input_frames);
    let tf_out = tfnet.rollouts(test, &starts, inputs, h, n, &device);
    let unet_out = unet.rollouts(test, &starts, inputs, h, n, &device);
    let ablation_out = ablation.rollouts(test, &starts, inputs, h, n, &device);
    let fno_out = fno.rollouts(test, &starts, inputs, h, n, &device);
    let eval_s = clock.elapsed().as_secs_f64();
    let frame_seconds = config.flow.dt * config.flow.frame_steps as f64;
    let fft = Fft2::new(n);
    // Shells k = 1..=n/2 (the mean flow, k = 0, has no place on the player's log axis).
    let spectrum = |frame: &[f32]| energy_spectrum_2d(frame, &fft)[1..].to_vec();
    for (w, &start) in starts
        .iter()
        .enumerate()
        .take(crate::playback::MAX_PLAYBACKS)
    {
        let playback = crate::playback::field_window(
            format!("test window {w} (frames {start}–{})", start + span - 1),
            "vorticity",
            [n, n],
            frame_seconds,
            inputs,
            &test[start..start + span],
            &[
                ("tf_net", &tf_out[w]),
                ("u_net", &unet_out[w]),
                ("fno", &fno_out[w]),
                ("persistence", &persistence[w]),
            ],
            |frame| vorticity(frame, n),
            Some(&spectrum),
        );
        crate::playback::write(&setup.out, &format!("test_{w}"), &playback)?;
    }
    let scores = [&tf_out, &unet_out, &ablation_out, &fno_out, &persistence]
        .map(|p| score(p, &truth, n, &fft));
    let true_scores = score(&truth, &truth, n, &fft);
    let top = n / 3;
    let lsd = |s: &Scores| log_spectral_distance(&s.spectrum, &true_scores.spectrum, top);
    let [tf, un, ab, fo, pe] = &scores;
    let rmse10 = |s: &Scores| s.rmse_mean(RMSE_STEPS);
    let bars = vec![
        bar(
            &format!("TF-Net / persistence mean RMSE over {RMSE_STEPS} steps"),
            rmse10(tf) / rmse10(pe),
            0.7,
            PassIf::AtMost,
        ),
        bar(
            &format!("TF-Net / U-Net mean RMSE over {RMSE_STEPS} steps"),
            rmse10(tf) / rmse10(un),
            1.0,
            PassIf::AtMost,
        ),
        bar(
            "TF-Net / U-Net mean |div u|",
            tf.divergence / un.divergence,
            0.8,
            PassIf::AtMost,
        ),
        bar(
            "TF-Net / U-Net log-spectral distance",
            lsd(tf) / lsd(un),
            1.0,
            PassIf::AtMost,
        ),
    ];
    let pass = all_pass(&bars);
    let summary = |s: &Scores| {
        json!({
            "rmse_mean_10": rmse10(s),
            "rmse_by_step": s.rmse_by_step,
            "mean_abs_divergence": s.divergence,
            "mean_abs_spectral_divergence": s.spectral_divergence,
            "log_spectral_distance": lsd(s),
        })
    };
    let mut metrics = summary(tf);
    metrics["parameters"] = json!(tfnet.parameters());
    metrics["best_step"] = json!(tfnet.best_step);
    let baselines = json!({
        "unet": { "parameters": unet.parameters(), "best_step": unet.best_step, "scores": summary(un) },
        "tf_net_coef_0": { "best_step": ablation.best_step, "scores": summary(ab) },
        "fno": { "parameters": fno.parameters(), "best_step": fno.best_step, "scores": summary(fo) },
        "persistence": summary(pe),
        "ground_truth": {
            "mean_abs_divergence": true_scores.divergence,
            "mean_abs_spectral_divergence": true_scores.spectral_divergence,
        },
    });
    let timing = json!({
        "simulate_s": simulate_s,
        "train_tfnet_s": tfnet_s,
        "train_unet_s": unet_s,
        "train_ablation_s": ablation_s,
        "train_fno_s": fno_s,
        "trained_in_pairs": true,
        "eval_s": eval_s,
        "rollout_steps_per_s": (4 * starts.len() * config.test_horizon) as f64 / eval_s,
    });
    let flow = json!({ "from_cache": cached, "runs": config.runs, "test_windows": starts.len() });

    let labels = ["TF-Net", "U-Net", "TF-Net, coef 0", "FNO", "persistence"];
    let curves: Vec<Vec<(f64, f64)>> = scores
        .iter()
        .map(|s| {
            s.rmse_by_step
                .iter()
                .enumerate()
                .map(|(k, &v)| ((k + 1) as f64, v))
                .collect()
        })
        .collect();
    let series: Vec<XySeries<'_>> = labels
        .iter()
        .zip(&curves)
        .map(|(label, points)| XySeries {
            label,
            points,
            line: true,
        })
        .collect();
    xy_plot(
        &setup.out.join("rmse_vs_horizon.png"),
        "RMSE of the velocity against rollout step",
        ("step (Δt = 0.1)", "RMSE"),
        &series,
    )?;
    let log_spectrum = |s: &[f64]| -> Vec<(f64, f64)> {
        (1..=top)
            .filter(|&k| s[k] > 0.0)
            .map(|k| ((k as f64).log10(), s[k].log10()))
            .collect()
    };
    let spectra: Vec<Vec<(f64, f64)>> = [&true_scores, tf, un, fo]
        .iter()
        .map(|s| log_spectrum(&s.spectrum))
        .collect();
    let series: Vec<XySeries<'_>> = ["simulator", "TF-Net", "U-Net", "FNO"]
        .iter()
        .zip(&spectra)
        .map(|(label, points)| XySeries {
            label,
            points,
            line: true,
        })
        .collect();
    xy_plot(
        &setup.out.join("spectrum.png"),
        "kinetic energy spectrum over the predicted frames",
        ("log10 k", "log10 E(k)"),
        &series,
    )?;
    // u on the whole grid at the last step of the first test window.
    let last = config.test_horizon - 1;
    let plane = |f: &[f32]| -> Vec<f64> { f[..n * n].iter().map(|&v| f64::from(v)).collect() };
    let (t, a, b, f) = (
        plane(&truth[0][last]),
        plane(&tf_out[0][last]),
        plane(&unet_out[0][last]),
        plane(&fno_out[0][last]),
    );
    field_panels(
        &setup.out.join("fields.png"),
        &format!("u after {} steps, first test window", config.test_horizon),
        &[
            ("simulator", &t),
            ("TF-Net", &a),
            ("U-Net", &b),
            ("FNO", &f),
        ],
        n,
    )?;
    let r = &config.flow;
    let notes = format!(
        "Flow: 2D incompressible Navier–Stokes in vorticity form on [0, 2π)², {n}² pseudo-spectral (2/3 rule), Lawson integrating-factor RK4 at dt = {}, ν = {}, drag α = {}, forcing {}·cos({}y); {} runs of {} frames every {} time units after a spin-up of {}, cached in The Well's layout under data/. The first {} runs train; the last is split in time: {} frames validate, the rest test ({} windows {} frames apart, {}-step rollouts). Models see {} frames; TF-Net's moving average spans {} frames; encoders {:?} (four stride-2 periodic convolutions, LeakyReLU 0.1), sub-pixel decoder, residual output; {} parameters (U-Net {}). FNO baseline: the window and cos/sin of x and y lifted to {} channels, 4 Fourier layers keeping {} modes per axis (partial DFTs by matmul), pointwise projection through 128 channels, residual output; {} parameters. Loss: Σ over {} unrolled steps of MSE, plus {}·MSE(div u) for TF-Net, div by {:?} derivatives; Adam {} with ×{} every {} steps, {} steps of {} windows; the weights of the best validation RMSE are kept. Scored divergence by periodic central differences (the simulator's own frames: {:.2e}; by Fourier derivatives {:.2e}); log-spectral distance over shells 1–{top}.",
        r.dt,
        r.viscosity,
        r.drag,
        r.forcing,
        r.forcing_wavenumber,
        config.runs,
        r.frames,
        r.dt * r.frame_steps as f64,
        r.spin_up,
        config.runs - 1,
        config.valid_frames,
        starts.len(),
        config.test_stride,
        config.test_horizon,
        config.input_frames,
        config.time_range,
        config.widths,
        tfnet.parameters(),
        unet.parameters(),
        config.fno_width,
        config.fno_modes,
        fno.parameters(),
        config.output_frames,
        config.divergence_coef,
        config.divergence_operator,
        config.lr,
        config.decay,
        config.decay_every,
        config.steps,
        config.batch_size,
        true_scores.divergence,
        true_scores.spectral_divergence,
    );
    let report = Report {
        model: "tf-net",
        metrics: json!(metrics),
        baselines,
        context: Some(("flow", flow)),
        bars,
        timing,
        losses: Losses {
            train: &tfnet.train_loss,
            check: &tfnet.valid_error,
            figure: plots::LossFigure {
                title: "TF-Net: MSE over the unrolled frames + divergence penalty",
                train: "train",
                check: "validation RMSE over the training unroll",
            },
        },
        notes,
        figures: vec![
            ("RMSE against horizon", "rmse_vs_horizon.png"),
            ("energy spectra", "spectrum.png"),
            ("a velocity field", "fields.png"),
        ],
    };
    let summary = format!(
        "{NAME}: mean RMSE over {RMSE_STEPS} steps TF-Net {:.4}, U-Net {:.4}, TF-Net coef 0 {:.4}, FNO {:.4}, persistence {:.4}; divergence {:.3e} vs U-Net {:.3e}; LSD {:.3} vs {:.3}; pass = {pass}",
        rmse10(tf),
        rmse10(un),
        rmse10(ab),
        rmse10(fo),
        rmse10(pe),
        tf.divergence,
        un.divergence,
        lsd(tf),
        lsd(un)
    );
    finish(&setup, NAME, &report, &summary)
}
