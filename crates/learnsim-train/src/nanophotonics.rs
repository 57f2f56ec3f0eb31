//! ScatterNet (Peurifoy et al. 2018): an MLP from a multilayer sphere's shell thicknesses to
//! its scattering spectrum, and inverse design by gradient descent on the thicknesses through
//! the frozen network.

use crate::TrainError;
use crate::host_adam::HostAdam;
use crate::object_dynamics::seeded_init;
use crate::trainer::LossPoint;
use crate::{Checkpointing, EpochChunks, FirstValidation, FitPlan, Keep, Validation};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use learnsim_models::{Mlp, MlpConfig};
use learnsim_sim::mie::{ScatterRecipe, ScatterSample};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `nanophotonics` case's configuration (`configs/nanophotonics.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScatterTrainConfig {
    /// Seed of the particles, initialisation, batches and design restarts.
    pub seed: u64,
    /// The particles and spectra (`[optics]` table).
    pub optics: ScatterRecipe,
    /// Training spectra.
    pub train_samples: usize,
    /// Validation spectra (model selection).
    pub valid_samples: usize,
    /// Test spectra (scores and design targets).
    pub test_samples: usize,
    /// Width of every hidden layer.
    pub hidden: usize,
    /// Hidden ReLU layers.
    pub n_hidden: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Spectra per step.
    pub batch_size: usize,
    /// Adam learning rate at epoch 0.
    pub lr: f64,
    /// Learning rate factor per epoch.
    pub lr_decay_per_epoch: f64,
    /// Validation every this many epochs; the weights with the lowest validation error are kept.
    pub validate_every: usize,
    /// Inverse design (`[design]` table).
    pub design: DesignConfig,
}

/// Inverse design through the frozen network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignConfig {
    /// Held-out test spectra to match.
    pub targets: usize,
    /// Random starting thicknesses per target.
    pub restarts: usize,
    /// Adam steps per restart.
    pub steps: usize,
    /// Adam learning rate on the standardised thicknesses at step 0.
    pub lr_initial: f64,
    /// … and at the last step (geometric in between).
    pub lr_final: f64,
    /// True-solver evaluations of the random-search baseline per target.
    pub random_search_evaluations: usize,
}

impl ScatterTrainConfig {
    /// The network: thicknesses → `n_hidden` × `hidden` ReLU → spectrum, no LayerNorm.
    pub fn network(&self) -> MlpConfig {
        MlpConfig::new(
            self.optics.layers,
            self.hidden,
            self.n_hidden,
            self.optics.wavelengths,
            false,
        )
    }

    /// Optimiser steps per epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.train_samples.div_ceil(self.batch_size.max(1))
    }

    /// All optimiser steps.
    pub fn steps(&self) -> usize {
        self.epochs * self.steps_per_epoch()
    }
}

/// Per-layer mean and standard deviation of the training thicknesses: the network sees
/// (t − mean)/std.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputScale {
    /// Mean thickness per layer (nm).
    pub mean: Vec<f64>,
    /// Standard deviation per layer (nm).
    pub std: Vec<f64>,
}

impl InputScale {
    fn fit(train: &[ScatterSample]) -> Self {
        let layers = train[0].thicknesses_nm.len();
        let n = train.len() as f64;
        let mean: Vec<f64> = (0..layers)
            .map(|k| train.iter().map(|s| s.thicknesses_nm[k]).sum::<f64>() / n)
            .collect();
        let std = (0..layers)
            .map(|k| {
                let v = train
                    .iter()
                    .map(|s| (s.thicknesses_nm[k] - mean[k]).powi(2))
                    .sum::<f64>()
                    / n;
                v.sqrt().max(1e-9)
            })
            .collect();
        Self { mean, std }
    }

    /// Standardised thicknesses, row after row.
    fn apply(&self, thicknesses: &[&[f64]]) -> Vec<f32> {
        thicknesses
            .iter()
            .flat_map(|t| {
                t.iter()
                    .enumerate()
                    .map(|(k, x)| ((x - self.mean[k]) / self.std[k]) as f32)
            })
            .collect()
    }
}

/// A trained network and its curves.
#[derive(Debug)]
pub struct TrainedScatterNet {
    /// The network with the lowest validation error seen.
    pub model: Mlp,
    /// Input standardisation.
    pub scale: InputScale,
    /// Training MSE per step.
    pub train_loss: Vec<LossPoint>,
    /// Validation mean relative error at each validation (step = optimiser step).
    pub valid_error: Vec<LossPoint>,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Wall-clock seconds of training, over every segment of a resumed run.
    pub seconds: f64,
}

/// Mean over spectra and wavelengths of |ŷ − y|/|y| (ScatterNet's "per off").
pub fn mean_relative_error(predicted: &[Vec<f64>], truth: &[&[f64]]) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for (p, t) in predicted.iter().zip(truth) {
        for (a, b) in p.iter().zip(t.iter()) {
            sum += (a - b).abs() / b.abs();
            n += 1;
        }
    }
    sum / n.max(1) as f64
}

/// ‖a − b‖₂ / ‖b‖₂.
pub fn relative_l2(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

fn check(samples: &[ScatterSample], recipe: &ScatterRecipe, what: &str) -> Result<(), TrainError> {
    if samples.is_empty() {
        return Err(TrainError::Data(format!(
            "nanophotonics: no {what} spectra"
        )));
    }
    for (i, s) in samples.iter().enumerate() {
        if s.thicknesses_nm.len() != recipe.layers || s.spectrum.len() != recipe.wavelengths {
            return Err(TrainError::Data(format!(
                "nanophotonics {what} spectrum {i}: {} layers and {} points, the recipe has {} and {}",
                s.thicknesses_nm.len(),
                s.spectrum.len(),
                recipe.layers,
                recipe.wavelengths
            )));
        }
        if s.spectrum.iter().any(|v| !v.is_finite()) {
            return Err(TrainError::Data(format!(
                "nanophotonics {what} spectrum {i}: non-finite values"
            )));
        }
    }
    Ok(())
}

fn rows<'a>(samples: &[&'a ScatterSample]) -> Vec<&'a [f64]> {
    samples
        .iter()
        .map(|s| s.thicknesses_nm.as_slice())
        .collect()
}

fn targets(samples: &[&ScatterSample], device: &Device) -> Tensor<2> {
    let width = samples[0].spectrum.len();
    let flat: Vec<f32> = samples
        .iter()
        .flat_map(|s| s.spectrum.iter().map(|&v| v as f32))
        .collect();
    Tensor::from_data(TensorData::new(flat, [samples.len(), width]), device)
}

/// Trains the MLP with Adam on the MSE of raw spectra through the shared fit loop (the rate
/// decaying per epoch, validation every `validate_every` epochs, the best validated weights
/// kept); with `checkpoint`, saves itself there at each validation and resumes from a
/// checkpoint of the same plan; `progress(step, loss)` after every step.
pub fn train_scatter_net(
    config: &ScatterTrainConfig,
    train: &[ScatterSample],
    valid: &[ScatterSample],
    device: &Device,
    checkpoint: Option<&Path>,
    progress: &mut dyn FnMut(usize, f32),
) -> Result<TrainedScatterNet, TrainError> {
    check(train, &config.optics, "training")?;
    check(valid, &config.optics, "validation")?;
    let scale = InputScale::fit(train);
    let network = config.network();
    let model = seeded_init(device, config.seed, || network.init(device));
    let valid_refs: Vec<&ScatterSample> = valid.iter().collect();
    let valid_truth: Vec<&[f64]> = valid.iter().map(|s| s.spectrum.as_slice()).collect();
    let sampler = EpochChunks::new(
        train.len(),
        config.batch_size,
        ChaCha8Rng::seed_from_u64(config.seed ^ 0x5CA7_7E12),
    );
    let per_epoch = sampler.steps_per_epoch();
    let every = config.validate_every.max(1) * per_epoch;
    let plan = FitPlan {
        steps: config.epochs * per_epoch,
        validation: Validation::Every {
            steps: every,
            first: FirstValidation::BeforeTraining,
        },
        keep: Keep::BestValidated,
        checkpoint: Checkpointing::in_dir(checkpoint, every),
    };
    let fitted = crate::fit(
        &plan,
        model,
        sampler,
        |step| config.lr * config.lr_decay_per_epoch.powi((step / per_epoch) as i32),
        |model, step, sampler: &mut EpochChunks| {
            let batch: Vec<&ScatterSample> =
                sampler.batch(step).iter().map(|&i| &train[i]).collect();
            let x = Tensor::from_data(
                TensorData::new(
                    scale.apply(&rows(&batch)),
                    [batch.len(), config.optics.layers],
                ),
                device,
            );
            let diff = model.forward(x) - targets(&batch, device);
            (diff.clone() * diff).mean()
        },
        |model| {
            let predicted = predict_with(
                &model.valid(),
                &scale,
                &rows(&valid_refs),
                &device.clone().inner(),
            );
            mean_relative_error(&predicted, &valid_truth)
        },
        &mut crate::fit::reporting(progress),
    )?;
    Ok(TrainedScatterNet {
        model: fitted.model,
        scale,
        train_loss: fitted.train_loss,
        valid_error: fitted.valid_loss,
        best_epoch: fitted.best_step / per_epoch,
        seconds: fitted.seconds,
    })
}

/// Spectra of `thicknesses` (rows of nm), in batches of 1024.
fn predict_with(
    model: &Mlp,
    scale: &InputScale,
    thicknesses: &[&[f64]],
    device: &Device,
) -> Vec<Vec<f64>> {
    let layers = scale.mean.len();
    let mut out = Vec::with_capacity(thicknesses.len());
    for chunk in thicknesses.chunks(1024) {
        let x = Tensor::from_data(
            TensorData::new(scale.apply(chunk), [chunk.len(), layers]),
            device,
        );
        let y = model.forward(x);
        let [_, width] = y.dims();
        let flat = y.into_data().try_to_vec::<f32>().expect("f32 spectra");
        out.extend(
            flat.chunks(width)
                .map(|r| r.iter().map(|&v| f64::from(v)).collect()),
        );
    }
    out
}

/// One inverse design: the thicknesses the network found and the network's own loss there.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    /// Thicknesses (nm), inside the recipe's range.
    pub thicknesses_nm: Vec<f64>,
    /// Σ (network(design) − target)² over the spectrum.
    pub network_loss: f64,
}

impl TrainedScatterNet {
    /// Spectra of `thicknesses` (rows of nm) on `device` (an inference device).
    pub fn predict(&self, thicknesses: &[&[f64]], device: &Device) -> Vec<Vec<f64>> {
        predict_with(&self.model.valid(), &self.scale, thicknesses, device)
    }

    /// For each target spectrum, `restarts` Adam descents of Σ(network(t) − target)² on the
    /// standardised thicknesses from uniform random starts, clamped to the recipe's range
    /// after every step; returns the restart with the lowest network loss. All targets and
    /// restarts are one batch (their losses are independent, so the gradient of the sum is
    /// each row's own). `device` must be an autodiff device.
    pub fn design(
        &self,
        target_spectra: &[&[f64]],
        config: &ScatterTrainConfig,
        device: &Device,
    ) -> Vec<Design> {
        let d = &config.design;
        let layers = config.optics.layers;
        let restarts = d.restarts.max(1);
        let rows = target_spectra.len() * restarts;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0xDE51_6E00);
        let lo: Vec<f64> = (0..layers)
            .map(|k| (config.optics.thickness_min_nm - self.scale.mean[k]) / self.scale.std[k])
            .collect();
        let hi: Vec<f64> = (0..layers)
            .map(|k| (config.optics.thickness_max_nm - self.scale.mean[k]) / self.scale.std[k])
            .collect();
        let mut z: Vec<f64> = (0..rows * layers)
            .map(|i| rng.random_range(lo[i % layers]..=hi[i % layers]))
            .collect();
        let width = config.optics.wavelengths;
        let target_rows: Vec<f32> = target_spectra
            .iter()
            .flat_map(|t| std::iter::repeat_n(*t, restarts))
            .flat_map(|t| t.iter().map(|&v| v as f32))
            .collect();
        let target = Tensor::<2>::from_data(TensorData::new(target_rows, [rows, width]), device);
        let mut adam = HostAdam::new(z.len());
        let ratio = d.lr_final / d.lr_initial;
        let row_loss = |z: &[f64], track: bool| {
            let flat: Vec<f32> = z.iter().map(|&x| x as f32).collect();
            let mut x = Tensor::<2>::from_data(TensorData::new(flat, [rows, layers]), device);
            if track {
                x = x.require_grad();
            }
            let diff = self.model.forward(x.clone()) - target.clone();
            ((diff.clone() * diff).sum_dim(1), x)
        };
        for step in 0..d.steps {
            let lr = d.lr_initial * ratio.powf(step as f64 / d.steps.max(1) as f64);
            let (loss, x) = row_loss(&z, true);
            let grads = loss.sum().backward();
            let g = x
                .grad(&grads)
                .expect("thicknesses track gradients on an autodiff device")
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 gradient");
            adam.step(&mut z, &g, lr, |i, x| {
                x.clamp(lo[i % layers], hi[i % layers])
            });
        }
        let (loss, _) = row_loss(&z, false);
        let losses = loss.into_data().try_to_vec::<f32>().expect("f32 losses");
        (0..target_spectra.len())
            .map(|t| {
                let best = (0..restarts)
                    .map(|r| t * restarts + r)
                    .min_by(|&a, &b| losses[a].total_cmp(&losses[b]))
                    .expect("at least one restart");
                Design {
                    thicknesses_nm: (0..layers)
                        .map(|k| z[best * layers + k] * self.scale.std[k] + self.scale.mean[k])
                        .map(|t| {
                            t.clamp(
                                config.optics.thickness_min_nm,
                                config.optics.thickness_max_nm,
                            )
                        })
                        .collect(),
                    network_loss: f64::from(losses[best]),
                }
            })
            .collect()
    }
}
