//! TF-Net (Wang et al. 2020) on Kolmogorov-forced 2D turbulence: autoregressive training over
//! a few unrolled steps with the divergence penalty, rollouts, and the case's metrics (RMSE per
//! step, mean |div u| by central differences, log-spectral distance of E(k)), computed on the
//! host in f64.

use crate::TrainError;
use crate::object_dynamics::seeded_init;
use crate::trainer::LossPoint;
use crate::{Checkpointing, FirstValidation, FitPlan, Keep, Validation};
use burn::tensor::{Device, Tensor, TensorData};
use learnsim_models::{Fno2dConfig, TfNetConfig, WindowModel};
use learnsim_sim::spectral::Fft2;
use learnsim_sim::spectral::kolmogorov::KolmogorovRecipe;
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `kolmogorov-2d` case's configuration (`configs/kolmogorov-2d.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KolmogorovConfig {
    /// Seed of the runs, the initialisation and the batches.
    pub seed: u64,
    /// The flow (`[flow]` table).
    pub flow: KolmogorovRecipe,
    /// Independent runs; all but the last train, the last is split in time into validation
    /// and test frames.
    pub runs: usize,
    /// Frames of the last run that validate (the rest test).
    pub valid_frames: usize,
    /// Input window L.
    pub input_frames: usize,
    /// TF-Net's moving-average length.
    pub time_range: usize,
    /// Frames predicted (and unrolled) per training sample.
    pub output_frames: usize,
    /// Rollout length of the test.
    pub test_horizon: usize,
    /// Test windows start this many frames apart.
    pub test_stride: usize,
    /// Encoder widths, finest first.
    pub widths: Vec<usize>,
    /// Adam steps per model.
    pub steps: usize,
    /// Windows per step.
    pub batch_size: usize,
    /// Adam learning rate at the first step.
    pub lr: f64,
    /// Learning-rate factor per `decay_every` steps (TF-Net's StepLR).
    pub decay: f64,
    /// Steps per learning-rate decay.
    pub decay_every: usize,
    /// Weight of the divergence penalty MSE(div u, 0) in TF-Net's loss.
    pub divergence_coef: f64,
    /// The derivative the penalty takes div u with.
    #[serde(default)]
    pub divergence_operator: DivergenceOperator,
    /// Steps between validations.
    pub valid_every: usize,
    /// Fourier modes per axis of the FNO baseline.
    pub fno_modes: usize,
    /// Channels of the FNO baseline's Fourier layers.
    pub fno_width: usize,
}

/// The derivative of TF-Net's divergence penalty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DivergenceOperator {
    /// Periodic central differences (TF-Net's own, up to its one-sided edges). The
    /// simulator's frames are not free of it: at shell k it reads sin(kh)/h for k, so the
    /// penalty pulls the highest shells away from the truth.
    Central,
    /// The Fourier derivative, the simulator's own: its frames are free of it to round-off,
    /// so the penalty acts only on what the network adds.
    #[default]
    Spectral,
}

/// The next-frame models of the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// TF-Net: filters, three encoders, shared decoder.
    TfNet,
    /// The plain U-Net: one encoder, no filters.
    UNet,
}

impl KolmogorovConfig {
    /// TF-Net or the U-Net of this configuration.
    pub fn network(&self, architecture: Architecture) -> TfNetConfig {
        TfNetConfig::new(
            self.input_frames,
            self.time_range,
            self.widths.clone(),
            architecture == Architecture::TfNet,
        )
    }

    /// The FNO baseline of this configuration.
    pub fn fno(&self) -> Fno2dConfig {
        Fno2dConfig::new(
            self.input_frames,
            self.flow.n,
            self.fno_modes,
            self.fno_width,
        )
    }
}

/// A trained model and its curves.
#[derive(Debug)]
pub struct TrainedWindowModel<M> {
    model: M,
    /// Velocities are divided by this (the training frames' rms component).
    pub scale: f32,
    /// Training loss per step.
    pub train_loss: Vec<LossPoint>,
    /// Validation RMSE over the training unroll, per validation.
    pub valid_error: Vec<LossPoint>,
    /// The step whose weights were kept.
    pub best_step: usize,
    /// Wall-clock seconds of training, over every segment of a resumed run.
    pub seconds: f64,
}

/// Frames `[t][c][x][y]` (2n² f32 each) of the windows starting at `starts` in `run`, as a
/// `[batch, frames, 2, n, n]` tensor divided by `scale`.
fn windows(
    run: &[Vec<f32>],
    starts: &[usize],
    frames: usize,
    n: usize,
    scale: f32,
    device: &Device,
) -> Tensor<5> {
    let data: Vec<f32> = starts
        .iter()
        .flat_map(|&s| run[s..s + frames].iter().flatten().map(|v| v / scale))
        .collect();
    Tensor::from_data(
        TensorData::new(data, [starts.len(), frames, 2, n, n]),
        device,
    )
}

/// The periodic central-difference divergence of `[batch, 2, n, n]` fields with spacing h.
fn central_divergence(u: Tensor<4>, spacing: f64) -> Tensor<4> {
    let d = |f: Tensor<4>, dim: usize| {
        (f.clone().roll_dim(-1, dim) - f.roll_dim(1, dim)) / (2.0 * spacing)
    };
    d(u.clone().narrow(1, 0, 1), 2) + d(u.narrow(1, 1, 1), 3)
}

/// The Fourier differentiation matrix on n (even) points of [0, 2π): (D f)_j is the
/// derivative at x_j of f's trigonometric interpolant without its Nyquist mode,
/// D_jl = ½(−1)^{j−l} cot((j − l)h/2), D_jj = 0 (Trefethen, *Spectral Methods in MATLAB*, ch. 3).
/// It is exact for every mode |k| < n/2; D is antisymmetric.
pub fn fourier_derivative_matrix(n: usize, device: &Device) -> Tensor<2> {
    assert!(
        n.is_multiple_of(2),
        "the Fourier derivative needs an even n, got {n}"
    );
    let h = std::f64::consts::TAU / n as f64;
    let values: Vec<f32> = (0..n * n)
        .map(|p| {
            let d = (p / n) as i64 - (p % n) as i64;
            if d == 0 {
                0.0
            } else {
                let sign = if d.rem_euclid(2) == 0 { 1.0 } else { -1.0 };
                (0.5 * sign / (d as f64 * h / 2.0).tan()) as f32
            }
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [n, n]), device)
}

/// The spectral divergence ∂u/∂x + ∂v/∂y of `[batch, 2, n, n]` fields (`[c][x][y]`) on
/// [0, 2π)², with `d` = [`fourier_derivative_matrix`]: D·u along x by one broadcast
/// left-multiplication, and v·Dᵀ along y.
///
/// # Shapes
/// - `u`: `[batch, 2, n, n]` → `[batch, 1, n, n]`
pub fn spectral_divergence(u: Tensor<4>, d: &Tensor<2>) -> Tensor<4> {
    let [b, _, n, m] = u.dims();
    let dudx = d
        .clone()
        .unsqueeze::<3>()
        .matmul(u.clone().narrow(1, 0, 1).reshape([b, n, m]));
    let dvdy = u
        .narrow(1, 1, 1)
        .reshape([b * n, m])
        .matmul(d.clone().transpose())
        .reshape([b, n, m]);
    (dudx + dvdy).reshape([b, 1, n, m])
}

/// Rolls `model` out for `steps` frames from `window` (`[batch, L, 2, n, n]`), returning the
/// predictions `[step][batch, 2, n, n]`.
fn unroll<M: WindowModel>(model: &M, window: Tensor<5>, steps: usize) -> Vec<Tensor<4>> {
    let [b, frames, c, n, m] = window.dims();
    let mut window = window;
    let mut out = Vec::with_capacity(steps);
    for _ in 0..steps {
        let next = model.forward(window.clone());
        window = Tensor::cat(
            vec![
                window.narrow(1, 1, frames - 1),
                next.clone().reshape([b, 1, c, n, m]),
            ],
            1,
        );
        out.push(next);
    }
    out
}

fn check(runs: &[Vec<Vec<f32>>], n: usize) -> Result<(), TrainError> {
    for (r, run) in runs.iter().enumerate() {
        for (t, f) in run.iter().enumerate() {
            if f.len() != 2 * n * n {
                return Err(TrainError::Data(format!(
                    "run {r} frame {t}: {} values, expected 2·{n}²",
                    f.len()
                )));
            }
            if f.iter().any(|v| !v.is_finite()) {
                return Err(TrainError::Data(format!(
                    "run {r} frame {t}: non-finite value"
                )));
            }
        }
    }
    Ok(())
}

/// Trains the model `init` builds on the training runs, with the divergence penalty weighted
/// by `divergence_coef`, through the shared fit loop; keeps the weights with the lowest
/// validation RMSE. With `checkpoint`, saves itself there every `valid_every` steps and
/// resumes from a checkpoint of the same plan.
#[expect(
    clippy::too_many_arguments,
    reason = "the model, its data, its checkpoint, its progress"
)]
pub fn train_window_model<M: WindowModel>(
    config: &KolmogorovConfig,
    init: impl Fn(&Device) -> M,
    divergence_coef: f64,
    train: &[Vec<Vec<f32>>],
    valid: &[Vec<f32>],
    device: &Device,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<TrainedWindowModel<M>, TrainError> {
    let n = config.flow.n;
    check(train, n)?;
    check(std::slice::from_ref(&valid.to_vec()), n)?;
    let span = config.input_frames + config.output_frames;
    if config.time_range == 0 || config.time_range > config.input_frames {
        return Err(TrainError::Data(format!(
            "time_range {} must be in 1..={}",
            config.time_range, config.input_frames
        )));
    }
    if !n.is_multiple_of(1 << config.widths.len()) {
        return Err(TrainError::Data(format!(
            "n = {n} is not divisible by 2^{}",
            config.widths.len()
        )));
    }
    let samples: Vec<(usize, usize)> = train
        .iter()
        .enumerate()
        .flat_map(|(r, run)| (0..(run.len() + 1).saturating_sub(span)).map(move |s| (r, s)))
        .collect();
    if samples.is_empty() || valid.len() < span {
        return Err(TrainError::Data(format!(
            "runs too short for windows of {span} frames"
        )));
    }
    let count: usize = train.iter().flatten().map(Vec::len).sum();
    let scale = (train
        .iter()
        .flatten()
        .flatten()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        / count as f64)
        .sqrt() as f32;
    let spacing = std::f64::consts::TAU / n as f64;
    // The Fourier derivative matrix only where the penalty uses it.
    let fourier = match config.divergence_operator {
        DivergenceOperator::Spectral if divergence_coef > 0.0 => {
            if !n.is_multiple_of(2) {
                return Err(TrainError::Data(format!(
                    "n = {n}: the spectral divergence needs an even grid"
                )));
            }
            Some(fourier_derivative_matrix(n, device))
        }
        _ => None,
    };
    let divergence = |p: Tensor<4>| match &fourier {
        Some(d) => spectral_divergence(p, d),
        None => central_divergence(p, spacing),
    };
    let model = seeded_init(device, config.seed, || init(device));
    let inference = device.clone().inner();
    // Validation: non-overlapping windows of the validation frames, unrolled like training.
    let valid_starts: Vec<usize> = (0..=valid.len() - span).step_by(span).collect();
    let validate = |model: &M| -> f64 {
        let model = model.valid();
        let mut total = 0.0;
        for chunk in valid_starts.chunks(8) {
            let x = windows(valid, chunk, config.input_frames, n, scale, &inference);
            let predicted = unroll(&model, x, config.output_frames);
            for (k, p) in predicted.into_iter().enumerate() {
                let truth: Vec<usize> = chunk.iter().map(|s| s + config.input_frames + k).collect();
                let t = windows(valid, &truth, 1, n, scale, &inference).reshape(p.dims());
                let diff = p - t;
                let mse: f32 = (diff.clone() * diff).mean().into_scalar();
                total += f64::from(mse) * chunk.len() as f64;
            }
        }
        (total / (valid_starts.len() * config.output_frames) as f64).sqrt() * f64::from(scale)
    };
    let plan = FitPlan {
        steps: config.steps,
        validation: Validation::Every {
            steps: config.valid_every,
            first: FirstValidation::BeforeTraining,
        },
        keep: Keep::BestValidated,
        checkpoint: Checkpointing::in_dir(checkpoint, config.valid_every),
    };
    let step_loss = |model: &M, _: usize, rng: &mut ChaCha8Rng| {
        let pick: Vec<(usize, usize)> = (0..config.batch_size)
            .map(|_| samples[rng.random_range(0..samples.len())])
            .collect();
        let stack = |offset: usize, frames: usize| -> Tensor<5> {
            Tensor::cat(
                pick.iter()
                    .map(|&(r, s)| windows(&train[r], &[s + offset], frames, n, scale, device))
                    .collect(),
                0,
            )
        };
        let x = stack(0, config.input_frames);
        let y = stack(config.input_frames, config.output_frames);
        let predicted = unroll(model, x, config.output_frames);
        let mut loss = None;
        for (k, p) in predicted.into_iter().enumerate() {
            let t = y.clone().narrow(1, k, 1).squeeze_dim::<4>(1);
            let diff = p.clone() - t;
            let mut term = (diff.clone() * diff).mean();
            if divergence_coef > 0.0 {
                let div = divergence(p);
                term = term + (div.clone() * div).mean() * divergence_coef;
            }
            loss = Some(match loss {
                None => term,
                Some(l) => l + term,
            });
        }
        loss.expect("output_frames > 0")
    };
    let fitted = crate::fit(
        &plan,
        model,
        ChaCha8Rng::seed_from_u64(config.seed ^ 0x7F_2E7),
        |step| config.lr * config.decay.powi((step / config.decay_every.max(1)) as i32),
        step_loss,
        validate,
        &mut crate::fit::reporting(progress),
    )?;
    Ok(TrainedWindowModel {
        model: fitted.model.valid(),
        scale,
        train_loss: crate::fit::counted_from_one(fitted.train_loss),
        valid_error: fitted.valid_loss,
        best_step: fitted.best_step,
        seconds: fitted.seconds,
    })
}

impl<M: WindowModel> TrainedWindowModel<M> {
    /// Rollouts of `steps` frames from the windows starting at `starts` in `run`:
    /// `[window][step]` frames (2n² f32, physical units).
    pub fn rollouts(
        &self,
        run: &[Vec<f32>],
        starts: &[usize],
        input_frames: usize,
        steps: usize,
        n: usize,
        device: &Device,
    ) -> Vec<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(starts.len());
        for chunk in starts.chunks(8) {
            let x = windows(run, chunk, input_frames, n, self.scale, device);
            let predicted = unroll(&self.model, x, steps);
            let mut per_window = vec![Vec::with_capacity(steps); chunk.len()];
            for p in predicted {
                let values: Vec<f32> = p.into_data().try_to_vec::<f32>().expect("f32 frames");
                for (w, f) in per_window.iter_mut().zip(values.chunks(2 * n * n)) {
                    w.push(f.iter().map(|v| v * self.scale).collect());
                }
            }
            out.extend(per_window);
        }
        out
    }

    /// Trainable parameters.
    pub fn parameters(&self) -> usize {
        self.model.num_params()
    }
}

/// Root-mean-square difference of two frames.
pub fn rmse(a: &[f32], b: &[f32]) -> f64 {
    (a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len() as f64)
        .sqrt()
}

/// mean |∂u/∂x + ∂v/∂y| by periodic central differences of a `[c][x][y]` frame on [0, 2π)².
pub fn mean_abs_divergence(frame: &[f32], n: usize) -> f64 {
    let h = std::f64::consts::TAU / n as f64;
    let at = |c: usize, i: usize, j: usize| f64::from(frame[(c * n + i % n) * n + j % n]);
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..n {
            let dudx = (at(0, i + 1, j) - at(0, i + n - 1, j)) / (2.0 * h);
            let dvdy = (at(1, i, j + 1) - at(1, i, j + n - 1)) / (2.0 * h);
            total += (dudx + dvdy).abs();
        }
    }
    total / (n * n) as f64
}

/// The forward transform of component `c` of a `[c][x][y]` frame.
fn component_transform(frame: &[f32], c: usize, fft: &Fft2) -> Vec<Complex64> {
    let n = fft.n();
    let mut a: Vec<Complex64> = frame[c * n * n..(c + 1) * n * n]
        .iter()
        .map(|&v| Complex64::new(f64::from(v), 0.0))
        .collect();
    fft.forward(&mut a);
    a
}

/// mean |∂u/∂x + ∂v/∂y| by Fourier derivatives (the simulator's own, Nyquist modes dropped)
/// of a `[c][x][y]` frame on [0, 2π)².
pub fn mean_abs_spectral_divergence(frame: &[f32], fft: &Fft2) -> f64 {
    let n = fft.n();
    let half = n as f64 / 2.0;
    let mut div = vec![Complex64::new(0.0, 0.0); n * n];
    for c in 0..2 {
        let a = component_transform(frame, c, fft);
        for (m, (d, v)) in div.iter_mut().zip(&a).enumerate() {
            let k = fft.wavevector(m)[c];
            if k.abs() < half {
                *d += Complex64::new(0.0, k) * v;
            }
        }
    }
    fft.inverse(&mut div);
    div.iter().map(|v| v.re.abs()).sum::<f64>() / (n * n) as f64
}

/// Shell kinetic-energy spectrum E(k) = Σ_{round|k| = k} ½|û|²/n⁴, k = 0, …, n/2, of a
/// `[c][x][y]` frame.
pub fn energy_spectrum_2d(frame: &[f32], fft: &Fft2) -> Vec<f64> {
    let n = fft.n();
    let mut e = vec![0.0; n / 2 + 1];
    let norm = 1.0 / (fft.len() as f64).powi(2);
    for c in 0..2 {
        let a = component_transform(frame, c, fft);
        for (m, v) in a.iter().enumerate() {
            let k = fft.wavevector(m);
            let shell = (k[0] * k[0] + k[1] * k[1]).sqrt().round() as usize;
            if shell < e.len() {
                e[shell] += 0.5 * norm * v.norm_sqr();
            }
        }
    }
    e
}

/// Log-spectral distance √(mean_k (log₁₀ E_a(k) − log₁₀ E_b(k))²) over shells 1, …, `top`.
pub fn log_spectral_distance(a: &[f64], b: &[f64], top: usize) -> f64 {
    let d: Vec<f64> = (1..=top.min(a.len() - 1))
        .filter(|&k| a[k] > 0.0 && b[k] > 0.0)
        .map(|k| (a[k].log10() - b[k].log10()).powi(2))
        .collect();
    (d.iter().sum::<f64>() / d.len().max(1) as f64).sqrt()
}
