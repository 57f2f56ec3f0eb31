//! `learnsim run hit-3d`: hard physical constraints in a CNN for 3D turbulence (Mohan et al.
//! 2020) — a forced isotropic turbulence run from the pseudo-spectral solver, cached as a
//! Well-layout HDF5 file → the periodic convolutional autoencoder trained twice, decoding the
//! velocity and decoding (through a fixed Leray layer by default) a vector potential A with
//! u = curl_h A → reconstruction error,
//! discrete divergence, energy spectra and the ∂u/∂x PDF on the held-out snapshots →
//! metrics.json, report.md, plots, leaderboard row.

use crate::bars::PassIf;
use crate::bars::{all_pass, bar};
use crate::plots::{self, XySeries, field_panels, xy_plot};
use crate::request::RunArgs;
use crate::runner::{Losses, Report, Setup, finish, setup_validated, train_network};
use crate::side_by_side::side_by_side;
use anyhow::{Result, bail};
use indicatif::MultiProgress;
use learnsim_models::{FieldOutput, default_inference_device, default_training_device};
use learnsim_sim::spectral::Fft3;
use learnsim_train::turbulence::{
    TrainedAutoencoder, TurbulenceConfig, derivative, divergence_ratio, energy_spectrum,
    gradient_pdf, relative_l2, train_autoencoder,
};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// Registry name.
pub const NAME: &str = "hit-3d";
/// One line for `learnsim cases`.
pub const DESCRIPTION: &str =
    "Hard divergence-free constraint (u = curl A) in a conv autoencoder, 3D forced turbulence";

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

/// Wavenumbers whose spectrum the bar checks: 1, …, this.
const SPECTRUM_BAR_K: usize = 8;

/// Scores of one variant on the test snapshots.
struct Scores {
    relative_l2: f64,
    divergence: f64,
    spectrum: Vec<f64>,
    worst_spectrum: f64,
    pdf: Vec<f64>,
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, c) = v.fold((0.0, 0usize), |(s, c), x| (s + x, c + 1));
    s / c.max(1) as f64
}

fn mean_spectrum(fields: &[Vec<f32>], fft: &Fft3) -> Vec<f64> {
    let spectra: Vec<Vec<f64>> = fields.iter().map(|u| energy_spectrum(u, fft)).collect();
    (0..spectra[0].len())
        .map(|k| mean(spectra.iter().map(|s| s[k])))
        .collect()
}

const PDF_BINS: usize = 60;

fn mean_pdf(fields: &[Vec<f32>], n: usize, h: f64, range: f64) -> Vec<f64> {
    let pdfs: Vec<Vec<f64>> = fields
        .iter()
        .map(|u| gradient_pdf(u, n, h, range, PDF_BINS))
        .collect();
    (0..PDF_BINS)
        .map(|b| mean(pdfs.iter().map(|p| p[b])))
        .collect()
}

fn score(
    predicted: &[Vec<f32>],
    truth: &[Vec<f32>],
    truth_spectrum: &[f64],
    config: &TurbulenceConfig,
    fft: &Fft3,
    pdf_range: f64,
) -> Scores {
    let (n, h) = (config.flow.n, config.flow.spacing());
    let spectrum = mean_spectrum(predicted, fft);
    let top = SPECTRUM_BAR_K.min(n / 2);
    let worst_spectrum = (1..=top)
        .map(|k| (spectrum[k] / truth_spectrum[k] - 1.0).abs())
        .fold(0.0, f64::max);
    Scores {
        relative_l2: mean(predicted.iter().zip(truth).map(|(p, t)| relative_l2(p, t))),
        divergence: mean(predicted.iter().map(|p| divergence_ratio(p, n, h))),
        spectrum,
        worst_spectrum,
        pdf: mean_pdf(predicted, n, h, pdf_range),
    }
}

/// Trains one autoencoder, its bar in `bars`, checkpointing into (and resuming from)
/// `RUN/checkpoint/NAME`; returns it and its training seconds over every segment of the run.
fn train_variant(
    (config, out): (&TurbulenceConfig, &Path),
    output: FieldOutput,
    (label, name): (&'static str, &str),
    (train, valid): (&[Vec<f32>], &[Vec<f32>]),
    bars: &MultiProgress,
) -> Result<(TrainedAutoencoder, f64)> {
    let steps = config.epochs * train.len().div_ceil(config.batch_size.max(1));
    let trained = train_network(
        out,
        (label, name),
        steps,
        Some(bars),
        |checkpoint, progress| {
            let device = default_training_device();
            let dir = Some(checkpoint);
            train_autoencoder(config, output, train, valid, &device, dir, progress)
        },
    )?;
    let seconds = trained.seconds;
    Ok((trained, seconds))
}

/// A line each for the simulator and the two autoencoders.
fn three_lines(
    path: &Path,
    caption: &str,
    axes: (&str, &str),
    [truth, curl, plain]: [&[(f64, f64)]; 3],
) -> Result<()> {
    let series = [
        ("simulator", truth),
        ("curl-A autoencoder", curl),
        ("plain autoencoder", plain),
    ]
    .map(|(label, points)| XySeries {
        label,
        points,
        line: true,
    });
    xy_plot(path, caption, axes, &series)
}

/// `learnsim run hit-3d`.
pub fn run(args: &RunArgs) -> Result<String> {
    let setup: Setup<TurbulenceConfig> = setup_validated(args, NAME)?;
    let config = &setup.config;
    config.flow.check()?;
    let held_out = config.test_snapshots + config.valid_snapshots;
    if held_out >= config.flow.snapshots {
        bail!(
            "{} snapshots leave none to train on after {} test and {} validation ones",
            config.flow.snapshots,
            config.test_snapshots,
            config.valid_snapshots
        );
    }
    let clock = Instant::now();
    let data = flow_data(&setup.out.join("data").join(format!("{NAME}.hdf5")), config)?;
    let simulate_s = clock.elapsed().as_secs_f64();
    let train_end = config.flow.snapshots - held_out;
    let train = &data.snapshots[..train_end];
    let valid = &data.snapshots[train_end..train_end + config.valid_snapshots];
    let test = &data.snapshots[train_end + config.valid_snapshots..];

    if config.constrained == FieldOutput::Velocity {
        bail!(
            "constrained = \"velocity\" is the plain variant: use vector-potential or leray-potential"
        );
    }
    // Side by side (see `side_by_side`): each keeps its own seed, batches and weights, and its
    // checkpoints in RUN/checkpoint/{curl,plain}.
    let bars = MultiProgress::new();
    let (constrained, plain) = side_by_side(
        &bars,
        |bars| {
            train_variant(
                (config, &setup.out),
                config.constrained,
                ("train curl-A autoencoder", "curl"),
                (train, valid),
                bars,
            )
        },
        |bars| {
            train_variant(
                (config, &setup.out),
                FieldOutput::Velocity,
                ("train plain autoencoder", "plain"),
                (train, valid),
                bars,
            )
        },
    );
    let ((constrained, constrained_s), (plain, plain_s)) = (constrained?, plain?);

    let (n, h) = (config.flow.n, config.flow.spacing());
    let device = default_inference_device();
    let clock = Instant::now();
    let constrained_out = constrained.reconstruct(test, n, &device);
    let plain_out = plain.reconstruct(test, n, &device);
    let eval_s = clock.elapsed().as_secs_f64();
    let fft = Fft3::new(n);
    let truth_spectrum = mean_spectrum(test, &fft);
    // The PDF's range: 6 standard deviations of the true ∂u/∂x.
    let truth_pdf_std = mean(test.iter().map(|u| {
        let d = derivative(u, n, h, 0, 0);
        d.iter().map(|v| v * v).sum::<f64>() / d.len() as f64
    }))
    .sqrt()
    .max(1e-6);
    let pdf_range = 6.0 * truth_pdf_std;
    let truth_pdf = mean_pdf(test, n, h, pdf_range);
    let with = score(
        &constrained_out,
        test,
        &truth_spectrum,
        config,
        &fft,
        pdf_range,
    );
    let without = score(&plain_out, test, &truth_spectrum, config, &fft, pdf_range);
    let truth_divergence = mean(test.iter().map(|u| divergence_ratio(u, n, h)));
    let error_ratio = with.relative_l2 / without.relative_l2;
    let top = SPECTRUM_BAR_K.min(n / 2);

    let spectrum_json = |s: &[f64]| -> Vec<f64> { s[1..=top].to_vec() };
    let metrics = json!({
        "relative_l2": with.relative_l2,
        "divergence_ratio": with.divergence,
        "spectrum_max_relative_error": with.worst_spectrum,
        "relative_l2_ratio_to_unconstrained": error_ratio,
        "spectrum_ratio_by_k": with.spectrum[1..=top].iter().zip(&truth_spectrum[1..=top]).map(|(p, t)| p / t).collect::<Vec<_>>(),
        "parameters": constrained.parameters(),
        "best_epoch": constrained.best_epoch,
    });
    let bars = vec![
        bar(
            "constrained mean|div_h u| / rms|∇_h u| (float32 round-off)",
            with.divergence,
            1e-5,
            PassIf::AtMost,
        ),
        bar(
            "unconstrained mean|div_h u| / rms|∇_h u|",
            without.divergence,
            1e-2,
            PassIf::AtLeast,
        ),
        bar(
            "constrained / unconstrained relative L2 reconstruction error",
            error_ratio,
            1.2,
            PassIf::AtMost,
        ),
        bar(
            &format!("constrained max_k≤{top} |E_pred(k)/E_true(k) − 1|"),
            with.worst_spectrum,
            0.15,
            PassIf::AtMost,
        ),
    ];
    let pass = all_pass(&bars);
    let [turnover, reynolds, balance] = data.stats;
    let baselines = json!({
        "unconstrained_autoencoder": {
            "relative_l2": without.relative_l2,
            "divergence_ratio": without.divergence,
            "spectrum_max_relative_error": without.worst_spectrum,
            "parameters": plain.parameters(),
            "best_epoch": plain.best_epoch,
        },
        "ground_truth": {
            "divergence_ratio": truth_divergence,
            "energy_spectrum": spectrum_json(&truth_spectrum),
        },
    });
    let timing = json!({
        "simulate_s": simulate_s,
        "train_constrained_s": constrained_s,
        "train_unconstrained_s": plain_s,
        "eval_s": eval_s,
    });
    let flow = json!({
        "viscosity": config.flow.viscosity(),
        "turnover_time": turnover,
        "reynolds_lambda": reynolds,
        "dissipation_over_injection": balance,
        "from_cache": data.cached,
        "snapshot_times": [data.time.first(), data.time.last()],
    });

    // Spectra on log–log axes.
    let log_spectrum = |s: &[f64]| -> Vec<(f64, f64)> {
        (1..s.len())
            .filter(|&k| s[k] > 0.0 && (k as f64) < n as f64 / 3.0 * 1.5)
            .map(|k| ((k as f64).log10(), s[k].log10()))
            .collect()
    };
    let (t, c, p) = (
        log_spectrum(&truth_spectrum),
        log_spectrum(&with.spectrum),
        log_spectrum(&without.spectrum),
    );
    three_lines(
        &setup.out.join("spectrum.png"),
        "energy spectrum of the test snapshots",
        ("log10 k", "log10 E(k)"),
        [&t, &c, &p],
    )?;
    let pdf_points = |pdf: &[f64]| -> Vec<(f64, f64)> {
        let width = 2.0 * pdf_range / PDF_BINS as f64;
        pdf.iter()
            .enumerate()
            .filter(|&(_, &v)| v > 0.0)
            .map(|(b, &v)| {
                (
                    (-pdf_range + (b as f64 + 0.5) * width) / truth_pdf_std,
                    v.log10(),
                )
            })
            .collect()
    };
    let (t, c, p) = (
        pdf_points(&truth_pdf),
        pdf_points(&with.pdf),
        pdf_points(&without.pdf),
    );
    three_lines(
        &setup.out.join("gradient_pdf.png"),
        "PDF of ∂u/∂x (central differences)",
        ("∂u/∂x / σ", "log10 PDF"),
        [&t, &c, &p],
    )?;
    // u_x on the z = 0 plane of the first test snapshot.
    let slice = |u: &[f32]| -> Vec<f64> { (0..n * n).map(|p| f64::from(u[p * n])).collect() };
    let divergence_slice = |u: &[f32]| -> Vec<f64> {
        let g = learnsim_train::turbulence::velocity_gradient(u, n, h);
        (0..n * n)
            .map(|p| g[0][0][p * n] + g[1][1][p * n] + g[2][2][p * n])
            .collect()
    };
    let (ts, cs, ps) = (
        slice(&test[0]),
        slice(&constrained_out[0]),
        slice(&plain_out[0]),
    );
    field_panels(
        &setup.out.join("fields.png"),
        "u_x on the plane z = 0, first test snapshot",
        &[
            ("simulator", &ts),
            ("curl-A autoencoder", &cs),
            ("plain autoencoder", &ps),
        ],
        n,
    )?;
    let (cd, pd) = (
        divergence_slice(&constrained_out[0]),
        divergence_slice(&plain_out[0]),
    );
    field_panels(
        &setup.out.join("divergence.png"),
        "div_h u on the plane z = 0 (one colour scale)",
        &[("curl-A autoencoder", &cd), ("plain autoencoder", &pd)],
        n,
    )?;

    let constrained_text = match config.constrained {
        FieldOutput::LerayPotential => {
            "The constrained variant's 3 outputs are a field v, made into the vector potential A = (−Δ_h)⁻¹ curl_h v by a fixed spectral layer (Δ_h = div_h grad_h), and u = curl_h A by periodic central differences: the discrete Leray projection of v."
        }
        _ => {
            "The constrained variant's 3 outputs are A and u = curl_h A by periodic central differences."
        }
    };
    let notes = format!(
        "Flow: 3D incompressible Navier–Stokes on [0, 2π)³, {n}³ pseudo-spectral (rotational form, 2/3 rule, Heun with the viscous integrating factor, Courant {}), band forcing on 0 < |k| ≤ {} injecting ε = {} exactly, ν = {:.4} from k_max·η = {}; spin-up {} time units, then {} snapshots {} large-eddy turnovers apart (T_L = {:.2}, Re_λ ≈ {:.0}, mean dissipation / ε = {:.2}). The snapshots are stored in The Well's HDF5 layout under data/. Split in time: the first {} train, the next {} pick the best epoch, the last {} are scored. Autoencoder: periodic 3×3×3 convolutions, stride 2, channels 3 → {:?}, GELU; decoder by sub-pixel convolutions back to 3 channels; {} parameters. {constrained_text} The plain one outputs u. Inputs and outputs scaled by the training rms; MSE loss; Adam, lr {} → {} over {} epochs of batches of {}. Divergence ratio = mean|div_h u| / rms|∇_h u| with the same central differences (the simulator's own fields give {truth_divergence:.2e}: central differences of a spectral field). Spectra are averaged over the test snapshots; the bar checks shells 1–{top}.",
        config.flow.cfl,
        config.flow.forcing_wavenumber,
        config.flow.injection,
        config.flow.viscosity(),
        config.flow.kmax_eta,
        config.flow.spin_up,
        config.flow.snapshots,
        config.flow.snapshot_turnovers,
        turnover,
        reynolds,
        balance,
        train.len(),
        valid.len(),
        test.len(),
        config.widths,
        constrained.parameters(),
        config.lr,
        config.lr_final,
        config.epochs,
        config.batch_size,
    );
    let report = Report {
        model: "conv-autoencoder-curl",
        metrics: json!(metrics),
        baselines,
        context: Some(("flow", flow)),
        bars,
        timing,
        losses: Losses {
            train: &constrained.train_loss,
            check: &constrained.valid_error,
            figure: plots::LossFigure {
                title: "curl-of-A autoencoder: reconstruction loss (normalised velocity MSE)",
                train: "train",
                check: "validation relative L2 error (per epoch)",
            },
        },
        notes,
        figures: vec![
            ("energy spectra", "spectrum.png"),
            ("velocity gradient PDF", "gradient_pdf.png"),
            ("a velocity slice", "fields.png"),
            ("the discrete divergence", "divergence.png"),
        ],
    };
    let summary = format!(
        "{NAME}: relative L2 {:.3} constrained vs {:.3} plain (ratio {error_ratio:.2}); divergence ratio {:.1e} vs {:.1e}; spectrum worst |ratio − 1| for k ≤ {top}: {:.2} (plain {:.2}); pass = {pass}",
        with.relative_l2,
        without.relative_l2,
        with.divergence,
        without.divergence,
        with.worst_spectrum,
        without.worst_spectrum
    );
    finish(&setup, NAME, &report, &summary)
}
