//! D3M (He et al. 2019): a periodic 3D U-Net mapping the Zel'dovich displacement field to the
//! particle-mesh N-body one, trained on the residual Ψ_PM − Ψ_ZA; and the case's metrics
//! (displacement error, density power spectra, transfer function and cross-correlation),
//! computed on the host in f64.

use crate::TrainError;
use crate::object_dynamics::seeded_init;
use crate::trainer::LossPoint;
use crate::{Checkpointing, FirstValidation, FitPlan, Keep, Validation};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use learnsim_models::{UNet3d, UNet3dConfig};
use learnsim_sim::kob_andersen::AXIS_PERMUTATIONS;
use learnsim_sim::spectral::cosmology::{CosmologyRecipe, lattice_point};
use learnsim_sim::spectral::{Fft3, ParticleMesh};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `pm-cosmo` case's configuration (`configs/pm-cosmo.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosmologyConfig {
    /// Seed of the universes, the initialisation and the batches.
    pub seed: u64,
    /// The universes (`[universe]` table).
    pub universe: CosmologyRecipe,
    /// Universes to train on.
    pub train: usize,
    /// Universes that pick the best weights.
    pub valid: usize,
    /// Universes scored at the training amplitude.
    pub test: usize,
    /// Universes scored at `extrapolation_power` × the training power spectrum.
    pub extrapolation: usize,
    /// The power-spectrum scale of the extrapolation test (1.5).
    pub extrapolation_power: f64,
    /// Channels per U-Net level, finest first.
    pub widths: Vec<usize>,
    /// Adam steps.
    pub steps: usize,
    /// Universes per step.
    pub batch_size: usize,
    /// Adam learning rate at the first step.
    pub lr: f64,
    /// … and at the last (geometric in between).
    pub lr_final: f64,
    /// Steps between validations.
    pub valid_every: usize,
    /// Random cube symmetries (48) and periodic shifts of each training universe, under
    /// which the N-body map is equivariant.
    pub augment: bool,
}

/// One universe's displacement fields at a = 1, component-first `[c][x][y][z]` (3n³ f32).
#[derive(Debug, Clone, PartialEq)]
pub struct Displacements {
    /// Zel'dovich (the model's input).
    pub zeldovich: Vec<f32>,
    /// 2LPT (the baseline).
    pub second_order: Vec<f32>,
    /// Particle-mesh N-body (the target).
    pub n_body: Vec<f32>,
}

/// A trained U-Net and its curves.
#[derive(Debug)]
pub struct TrainedUNet {
    model: UNet3d,
    /// Inputs and outputs are divided by this (the training Ψ_ZA's rms component).
    pub scale: f32,
    /// Training loss (normalised MSE of the residual) per step.
    pub train_loss: Vec<LossPoint>,
    /// Validation relative displacement error per validation.
    pub valid_error: Vec<LossPoint>,
    /// The step whose weights were kept.
    pub best_step: usize,
    /// Wall-clock seconds of training, over every segment of a resumed run.
    pub seconds: f64,
}

/// A cube symmetry (axis permutation and flips) and a periodic shift of the lattice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CubeSymmetry {
    /// New axis d takes old axis `permutation[d]`.
    pub permutation: [usize; 3],
    /// Whether new axis d is flipped.
    pub flip: [bool; 3],
    /// Periodic shift of the new lattice, per axis.
    pub shift: [usize; 3],
}

impl CubeSymmetry {
    /// The identity.
    pub const IDENTITY: Self = Self {
        permutation: [0, 1, 2],
        flip: [false; 3],
        shift: [0; 3],
    };

    /// One of the 48 × n³ at random.
    pub fn random(rng: &mut impl Rng, n: usize) -> Self {
        Self {
            permutation: AXIS_PERMUTATIONS[rng.random_range(0..6)],
            flip: std::array::from_fn(|_| rng.random_bool(0.5)),
            shift: std::array::from_fn(|_| rng.random_range(0..n)),
        }
    }

    /// The transformed vector field: u′(j) = R·u(i) where the lattice point i maps to j (a
    /// flip takes i to −i mod n and negates that component).
    pub fn apply(&self, u: &[f32], n: usize) -> Vec<f32> {
        let points = n * n * n;
        let mut out = vec![0.0; 3 * points];
        for (p, q) in (0..points).map(|p| (p, lattice_point(p, n))) {
            let old = q.map(|v| v as usize);
            let mut new = [0usize; 3];
            for d in 0..3 {
                let v = old[self.permutation[d]];
                let v = if self.flip[d] { (n - v) % n } else { v };
                new[d] = (v + self.shift[d]) % n;
            }
            let target = (new[0] * n + new[1]) * n + new[2];
            for d in 0..3 {
                let v = u[self.permutation[d] * points + p];
                out[d * points + target] = if self.flip[d] { -v } else { v };
            }
        }
        out
    }
}

fn tensor(fields: &[Vec<f32>], n: usize, scale: f32, device: &Device) -> Tensor<5> {
    let data: Vec<f32> = fields
        .iter()
        .flat_map(|f| f.iter().map(|v| v / scale))
        .collect();
    Tensor::from_data(TensorData::new(data, [fields.len(), 3, n, n, n]), device)
}

fn check(data: &[Displacements], n: usize, what: &str) -> Result<(), TrainError> {
    if data.is_empty() {
        return Err(TrainError::Data(format!("no {what} universes")));
    }
    for (i, u) in data.iter().enumerate() {
        for (name, f) in [
            ("zeldovich", &u.zeldovich),
            ("2lpt", &u.second_order),
            ("n-body", &u.n_body),
        ] {
            if f.len() != 3 * n * n * n {
                return Err(TrainError::Data(format!(
                    "{what} universe {i}: {name} has {} values, expected 3·{n}³",
                    f.len()
                )));
            }
            if f.iter().any(|v| !v.is_finite()) {
                return Err(TrainError::Data(format!(
                    "{what} universe {i}: non-finite {name} displacement"
                )));
            }
        }
    }
    Ok(())
}

fn predict_with(
    model: &UNet3d,
    scale: f32,
    zeldovich: &[Vec<f32>],
    n: usize,
    device: &Device,
) -> Vec<Vec<f32>> {
    let mut out = Vec::with_capacity(zeldovich.len());
    for chunk in zeldovich.chunks(4) {
        let residual = model.forward(tensor(chunk, n, scale, device));
        let values: Vec<f32> = residual
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 fields");
        for (z, r) in chunk.iter().zip(values.chunks(3 * n * n * n)) {
            out.push(z.iter().zip(r).map(|(z, r)| z + r * scale).collect());
        }
    }
    out
}

/// √(Σ|p − t|² / Σ|t|²) pooled over a set of fields.
pub fn pooled_relative_error(predicted: &[Vec<f32>], truth: &[Vec<f32>]) -> f64 {
    let (mut err, mut norm) = (0.0, 0.0);
    for (p, t) in predicted.iter().zip(truth) {
        for (p, t) in p.iter().zip(t) {
            let (p, t) = (f64::from(*p), f64::from(*t));
            err += (p - t) * (p - t);
            norm += t * t;
        }
    }
    (err / norm).sqrt()
}

/// Trains the U-Net on `train` through the shared fit loop, keeping the weights with the
/// lowest validation error; with `checkpoint`, saves itself there every `valid_every` steps
/// and resumes from a checkpoint of the same plan.
pub fn train_unet(
    config: &CosmologyConfig,
    train: &[Displacements],
    valid: &[Displacements],
    device: &Device,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<TrainedUNet, TrainError> {
    let n = config.universe.n;
    check(train, n, "training")?;
    check(valid, n, "validation")?;
    let levels = config.widths.len();
    if levels == 0 || !n.is_multiple_of(1 << (levels - 1)) {
        return Err(TrainError::Data(format!(
            "n = {n} is not divisible by 2^{} (one halving per level below the first)",
            levels.saturating_sub(1)
        )));
    }
    if config.steps == 0 || config.batch_size == 0 {
        return Err(TrainError::Data(
            "steps and batch_size must be positive".into(),
        ));
    }
    let count = train.len() as f64 * 3.0 * (n * n * n) as f64;
    let scale = (train
        .iter()
        .flat_map(|u| u.zeldovich.iter())
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        / count)
        .sqrt() as f32;
    let network = UNet3dConfig::new(3, 3, config.widths.clone());
    let model = seeded_init(device, config.seed, || network.init(device));
    let inference = device.clone().inner();
    let valid_input: Vec<Vec<f32>> = valid.iter().map(|u| u.zeldovich.clone()).collect();
    let valid_truth: Vec<Vec<f32>> = valid.iter().map(|u| u.n_body.clone()).collect();
    let decay = (config.lr_final / config.lr).powf(1.0 / (config.steps.max(2) - 1) as f64);
    let plan = FitPlan {
        steps: config.steps,
        validation: Validation::Every {
            steps: config.valid_every,
            first: FirstValidation::BeforeTraining,
        },
        keep: Keep::BestValidated,
        checkpoint: Checkpointing::in_dir(checkpoint, config.valid_every),
    };
    let fitted = crate::fit(
        &plan,
        model,
        ChaCha8Rng::seed_from_u64(config.seed ^ 0xD3_3D),
        |step| config.lr * decay.powi(step as i32),
        |model, _, rng| {
            let (mut inputs, mut targets) = (Vec::new(), Vec::new());
            for _ in 0..config.batch_size {
                let u = &train[rng.random_range(0..train.len())];
                let symmetry = if config.augment {
                    CubeSymmetry::random(rng, n)
                } else {
                    CubeSymmetry::IDENTITY
                };
                let residual: Vec<f32> = u
                    .n_body
                    .iter()
                    .zip(&u.zeldovich)
                    .map(|(p, z)| p - z)
                    .collect();
                inputs.push(symmetry.apply(&u.zeldovich, n));
                targets.push(symmetry.apply(&residual, n));
            }
            let x = tensor(&inputs, n, scale, device);
            let y = tensor(&targets, n, scale, device);
            let diff = model.forward(x) - y;
            (diff.clone() * diff).mean()
        },
        |model| {
            let predicted = predict_with(&model.valid(), scale, &valid_input, n, &inference);
            pooled_relative_error(&predicted, &valid_truth)
        },
        &mut crate::fit::reporting(progress),
    )?;
    Ok(TrainedUNet {
        model: fitted.model.valid(),
        scale,
        train_loss: crate::fit::counted_from_one(fitted.train_loss),
        valid_error: fitted.valid_loss,
        best_step: fitted.best_step,
        seconds: fitted.seconds,
    })
}

impl TrainedUNet {
    /// Predicted N-body displacements from Zel'dovich ones (3n³ values each).
    pub fn predict(&self, zeldovich: &[Vec<f32>], n: usize, device: &Device) -> Vec<Vec<f32>> {
        predict_with(&self.model, self.scale, zeldovich, n, device)
    }

    /// Trainable parameters.
    pub fn parameters(&self) -> usize {
        self.model.num_params()
    }
}

/// Shell power spectra of the CIC density of particles displaced by two fields (on the n³
/// particle mesh): (P_a, P_b, P_ab) for the shells round(|k|/k_f) = 0, …, n/2.
pub fn density_spectra(a: &[f32], b: &[f32], n: usize) -> [Vec<f64>; 3] {
    let pm = ParticleMesh::new(n, n as f64);
    let fft = Fft3::new(n);
    let points = n * n * n;
    let modes = |psi: &[f32]| -> Vec<Complex64> {
        let positions: Vec<[f64; 3]> = (0..points)
            .map(|p| {
                let q = lattice_point(p, n);
                std::array::from_fn(|d| {
                    (q[d] + f64::from(psi[d * points + p])).rem_euclid(n as f64)
                })
            })
            .collect();
        let mut delta: Vec<Complex64> = pm
            .density(&positions)
            .into_iter()
            .map(|v| Complex64::new(v, 0.0))
            .collect();
        fft.forward(&mut delta);
        delta
    };
    let (da, db) = (modes(a), modes(b));
    let shells = n / 2 + 1;
    let mut out: [Vec<f64>; 3] = std::array::from_fn(|_| vec![0.0; shells]);
    let mut counts = vec![0usize; shells];
    for m in 0..points {
        let k = fft.wavevector(m);
        let shell = (k[0] * k[0] + k[1] * k[1] + k[2] * k[2]).sqrt().round() as usize;
        if shell < shells {
            out[0][shell] += da[m].norm_sqr();
            out[1][shell] += db[m].norm_sqr();
            out[2][shell] += (da[m] * db[m].conj()).re;
            counts[shell] += 1;
        }
    }
    for s in &mut out {
        for (v, &c) in s.iter_mut().zip(&counts) {
            *v /= c.max(1) as f64;
        }
    }
    out
}

/// Transfer function T(k) = √(P̂/P) and cross-correlation r(k) = P×/√(P̂·P) per shell, from
/// spectra summed over a set of universes (predicted vs true).
pub fn transfer_and_correlation(
    predicted: &[Vec<f32>],
    truth: &[Vec<f32>],
    n: usize,
) -> (Vec<f64>, Vec<f64>) {
    let shells = n / 2 + 1;
    let mut sum: [Vec<f64>; 3] = std::array::from_fn(|_| vec![0.0; shells]);
    for (p, t) in predicted.iter().zip(truth) {
        let s = density_spectra(p, t, n);
        for (acc, v) in sum.iter_mut().zip(&s) {
            acc.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
    }
    let transfer = (0..shells)
        .map(|k| (sum[0][k] / sum[1][k]).sqrt())
        .collect();
    let correlation = (0..shells)
        .map(|k| sum[2][k] / (sum[0][k] * sum[1][k]).sqrt())
        .collect();
    (transfer, correlation)
}
