//! Hard physical constraints in a CNN for 3D turbulence (Mohan et al. 2020): the periodic
//! convolutional autoencoder trained to reconstruct forced isotropic turbulence snapshots,
//! once decoding the velocity and once a vector potential whose discrete curl is the
//! velocity; and the field metrics the case scores them by (computed on the host in f64).

use crate::TrainError;
use crate::object_dynamics::seeded_init;
use crate::trainer::LossPoint;
use crate::{Checkpointing, EpochChunks, FirstValidation, FitPlan, Keep, Validation};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use learnsim_models::{FieldAutoencoder, FieldAutoencoderConfig, FieldOutput};
use learnsim_sim::spectral::Fft3;
use learnsim_sim::spectral::turbulence::TurbulenceRecipe;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `hit-3d` case's configuration (`configs/hit-3d.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurbulenceConfig {
    /// Seed of the initial field, the initialisation and the batches.
    pub seed: u64,
    /// The flow (`[flow]` table).
    pub flow: TurbulenceRecipe,
    /// Snapshots (the last ones in time) held out for the scores.
    pub test_snapshots: usize,
    /// Snapshots before the test ones held out for validation (best epoch).
    pub valid_snapshots: usize,
    /// Channels after each stride-2 level.
    pub widths: Vec<usize>,
    /// Passes over the training snapshots, per variant.
    pub epochs: usize,
    /// Snapshots per step.
    pub batch_size: usize,
    /// Adam learning rate at the first epoch.
    pub lr: f64,
    /// … and at the last (geometric in between).
    pub lr_final: f64,
    /// What the constrained variant's decoder outputs: `vector-potential` (A itself, as in
    /// Mohan et al.) or `leray-potential` (v, with A = (−Δ_h)⁻¹ curl_h v); u = curl_h A in both.
    #[serde(default = "leray")]
    pub constrained: FieldOutput,
}

fn leray() -> FieldOutput {
    FieldOutput::LerayPotential
}

impl TurbulenceConfig {
    /// The network of one variant (curl_h with the grid's physical spacing).
    pub fn network(&self, output: FieldOutput) -> FieldAutoencoderConfig {
        FieldAutoencoderConfig::new(3, self.widths.clone(), output, self.flow.spacing())
    }
}

/// A trained autoencoder and its curves.
#[derive(Debug)]
pub struct TrainedAutoencoder {
    model: FieldAutoencoder,
    /// Inputs and outputs are divided by this (the training fields' rms component).
    pub scale: f32,
    /// Training loss (normalised MSE) per step.
    pub train_loss: Vec<LossPoint>,
    /// Validation relative L2 error per epoch.
    pub valid_error: Vec<LossPoint>,
    /// The epoch whose weights were kept (lowest validation error).
    pub best_epoch: usize,
    /// Wall-clock seconds of training, over every segment of a resumed run.
    pub seconds: f64,
}

fn batch(fields: &[&Vec<f32>], n: usize, scale: f32, device: &Device) -> Tensor<5> {
    let data: Vec<f32> = fields
        .iter()
        .flat_map(|f| f.iter().map(|v| v / scale))
        .collect();
    Tensor::from_data(TensorData::new(data, [fields.len(), 3, n, n, n]), device)
}

fn check(fields: &[Vec<f32>], n: usize, what: &str) -> Result<(), TrainError> {
    if fields.is_empty() {
        return Err(TrainError::Data(format!("no {what} snapshots")));
    }
    for (i, f) in fields.iter().enumerate() {
        if f.len() != 3 * n * n * n {
            return Err(TrainError::Data(format!(
                "{what} snapshot {i}: {} values, expected 3·{n}³",
                f.len()
            )));
        }
        if f.iter().any(|v| !v.is_finite()) {
            return Err(TrainError::Data(format!(
                "{what} snapshot {i}: non-finite value"
            )));
        }
    }
    Ok(())
}

/// Trains one variant on `train` through the shared fit loop (epochs of a seeded shuffle, the
/// rate decaying per epoch, validation after each epoch), keeping the weights with the lowest
/// validation error; with `checkpoint`, saves itself there after each epoch and resumes from
/// a checkpoint of the same plan.
pub fn train_autoencoder(
    config: &TurbulenceConfig,
    output: FieldOutput,
    train: &[Vec<f32>],
    valid: &[Vec<f32>],
    device: &Device,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<TrainedAutoencoder, TrainError> {
    let n = config.flow.n;
    check(train, n, "training")?;
    check(valid, n, "validation")?;
    if !n.is_multiple_of(1 << config.widths.len()) || config.widths.is_empty() {
        return Err(TrainError::Data(format!(
            "n = {n} is not divisible by 2^{} (one halving per width)",
            config.widths.len()
        )));
    }
    let count = train.iter().map(Vec::len).sum::<usize>() as f64;
    let scale = (train
        .iter()
        .flat_map(|f| f.iter())
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        / count)
        .sqrt() as f32;
    let network = config.network(output);
    let model = seeded_init(device, config.seed, || network.init(device));
    let inference = device.clone().inner();
    let sampler = EpochChunks::new(
        train.len(),
        config.batch_size,
        ChaCha8Rng::seed_from_u64(config.seed ^ 0x7E5B_0A1D),
    );
    let per_epoch = sampler.steps_per_epoch();
    let plan = FitPlan {
        steps: config.epochs * per_epoch,
        validation: Validation::Every {
            steps: per_epoch,
            first: FirstValidation::BeforeTraining,
        },
        keep: Keep::BestValidated,
        checkpoint: Checkpointing::in_dir(checkpoint, per_epoch),
    };
    let decay = (config.lr_final / config.lr).powf(1.0 / (config.epochs.max(2) - 1) as f64);
    let fitted = crate::fit(
        &plan,
        model,
        sampler,
        |step| config.lr * decay.powi((step / per_epoch) as i32),
        |model, step, sampler: &mut EpochChunks| {
            let fields: Vec<&Vec<f32>> = sampler.batch(step).iter().map(|&i| &train[i]).collect();
            let x = batch(&fields, n, scale, device);
            let diff = model.forward(x.clone()) - x;
            (diff.clone() * diff).mean()
        },
        |model| {
            let predicted = reconstruct_with(&model.valid(), scale, valid, n, &inference);
            predicted
                .iter()
                .zip(valid)
                .map(|(p, t)| relative_l2(p, t))
                .sum::<f64>()
                / valid.len() as f64
        },
        &mut crate::fit::reporting(progress),
    )?;
    Ok(TrainedAutoencoder {
        model: fitted.model.valid(),
        scale,
        train_loss: crate::fit::counted_from_one(fitted.train_loss),
        valid_error: fitted.valid_loss,
        best_epoch: fitted.best_step / per_epoch,
        seconds: fitted.seconds,
    })
}

fn reconstruct_with(
    model: &FieldAutoencoder,
    scale: f32,
    fields: &[Vec<f32>],
    n: usize,
    device: &Device,
) -> Vec<Vec<f32>> {
    let mut out = Vec::with_capacity(fields.len());
    for chunk in fields.chunks(4) {
        let refs: Vec<&Vec<f32>> = chunk.iter().collect();
        let y = model.forward(batch(&refs, n, scale, device));
        let values: Vec<f32> = y.into_data().try_to_vec::<f32>().expect("f32 fields");
        for f in values.chunks(3 * n * n * n) {
            out.push(f.iter().map(|v| v * scale).collect());
        }
    }
    out
}

impl TrainedAutoencoder {
    /// Reconstructions of `fields` (3n³ values each) on an inference device.
    pub fn reconstruct(&self, fields: &[Vec<f32>], n: usize, device: &Device) -> Vec<Vec<f32>> {
        reconstruct_with(&self.model, self.scale, fields, n, device)
    }

    /// Trainable parameters.
    pub fn parameters(&self) -> usize {
        self.model.num_params()
    }
}

/// ‖p − t‖ / ‖t‖.
pub fn relative_l2(predicted: &[f32], truth: &[f32]) -> f64 {
    let (mut err, mut norm) = (0.0, 0.0);
    for (p, t) in predicted.iter().zip(truth) {
        let (p, t) = (f64::from(*p), f64::from(*t));
        err += (p - t) * (p - t);
        norm += t * t;
    }
    (err / norm).sqrt()
}

/// The periodic central-difference derivative ∂u_c/∂x_axis of a `[c][x][y][z]` field (n³
/// values, f64).
pub fn derivative(u: &[f32], n: usize, spacing: f64, c: usize, axis: usize) -> Vec<f64> {
    let at = |i: usize, j: usize, l: usize| f64::from(u[((c * n + i) * n + j) * n + l]);
    let mut d = Vec::with_capacity(n * n * n);
    for i in 0..n {
        for j in 0..n {
            for l in 0..n {
                let (mut p, mut m) = ([i, j, l], [i, j, l]);
                p[axis] = (p[axis] + 1) % n;
                m[axis] = (m[axis] + n - 1) % n;
                d.push((at(p[0], p[1], p[2]) - at(m[0], m[1], m[2])) / (2.0 * spacing));
            }
        }
    }
    d
}

/// The 9 periodic central-difference derivatives ∂_j u_i of a `[c][x][y][z]` field, as
/// `grad[i][j]` (n³ values each), in f64.
pub fn velocity_gradient(u: &[f32], n: usize, spacing: f64) -> [[Vec<f64>; 3]; 3] {
    std::array::from_fn(|c| std::array::from_fn(|axis| derivative(u, n, spacing, c, axis)))
}

/// mean|div_h u| / rms|∇_h u| with the periodic central differences of the constraint.
pub fn divergence_ratio(u: &[f32], n: usize, spacing: f64) -> f64 {
    let g = velocity_gradient(u, n, spacing);
    let points = n * n * n;
    let divergence: f64 = (0..points)
        .map(|p| (g[0][0][p] + g[1][1][p] + g[2][2][p]).abs())
        .sum::<f64>()
        / points as f64;
    let gradient: f64 = g
        .iter()
        .flat_map(|row| row.iter())
        .flat_map(|d| d.iter())
        .map(|v| v * v)
        .sum::<f64>()
        / points as f64;
    divergence / gradient.sqrt()
}

/// Shell energy spectrum E(k), k = 0, …, n/2, of a `[c][x][y][z]` field.
pub fn energy_spectrum(u: &[f32], fft: &Fft3) -> Vec<f64> {
    let len = fft.len();
    let components: [Vec<f64>; 3] = std::array::from_fn(|c| {
        u[c * len..(c + 1) * len]
            .iter()
            .map(|&v| f64::from(v))
            .collect()
    });
    fft.spectrum_of(&components)
}

/// Histogram of ∂u/∂x (central differences) over `bins` equal bins on [−range, range], as a
/// probability density (values outside are dropped from the counts but not the total).
pub fn gradient_pdf(u: &[f32], n: usize, spacing: f64, range: f64, bins: usize) -> Vec<f64> {
    let dudx = derivative(u, n, spacing, 0, 0);
    let width = 2.0 * range / bins as f64;
    let mut counts = vec![0.0; bins];
    for &v in &dudx {
        let b = ((v + range) / width).floor();
        if b >= 0.0 && (b as usize) < bins {
            counts[b as usize] += 1.0;
        }
    }
    let total = dudx.len() as f64 * width;
    counts.iter().map(|c| c / total).collect()
}
