//! The force-matching gradient (`learnsim_train::schnet::force_matching_loss`) against a
//! finite-difference reference in f64: burn's device runs in f64 for this binary, the
//! reference differentiates the force loss itself (forces by autodiff) along random directions
//! in parameter space, and the central-difference step h of the surrogate is swept.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use learnsim_models::{AtomsGraph, SchNet, SchNetConfig, default_training_device};
use learnsim_sim::stillinger_weber::{Configuration, StillingerWeber};
use learnsim_train::schnet::{EnergyScale, LossWeights, force_matching_loss};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn device() -> Device {
    let mut device = default_training_device();
    // Fails only if a tensor was made on this device before: the first thing the test does.
    device
        .configure(FloatDType::F64)
        .expect("the f64 device is configured before any tensor");
    device.seed(3);
    device
}

/// Two small silicon clusters (4 and 5 atoms) with their Stillinger–Weber energies and forces.
fn clusters() -> Vec<Configuration> {
    let sw = StillingerWeber::default();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    [4usize, 5]
        .iter()
        .map(|&n| {
            // Jittered positions around a compact arrangement: neighbours ~2.4 Å apart.
            let positions: Vec<[f64; 3]> = (0..n)
                .map(|k| {
                    let base = [(k % 2) as f64, ((k / 2) % 2) as f64, (k / 4) as f64];
                    base.map(|b| b * 2.4 + rng.random_range(-0.3..0.3))
                })
                .collect();
            let ef = sw.energy_forces(&positions);
            Configuration {
                positions,
                energy: ef.energy,
                forces: ef.forces,
            }
        })
        .collect()
}

struct Collect(Vec<f64>, Option<burn::tensor::Gradients>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = match &self.1 {
            Some(grads) => param
                .val()
                .grad(grads)
                .expect("every parameter has a gradient"),
            None => param.val().inner(),
        };
        self.0.extend(
            t.into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .expect("f64"),
        );
    }
}

struct Shift<'a>(&'a [f64], usize);

impl ModuleMapper for Shift<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let n = param.val().shape().num_elements();
        let delta = self.0[self.1..self.1 + n].to_vec();
        self.1 += n;
        param.map(|t| {
            let shape = t.shape();
            let device = t.device();
            t + Tensor::from_data(TensorData::new(delta, shape), &device)
        })
    }
}

/// The force MSE (normalised units) of `model` on `configs`, all in f64: forces by autodiff.
fn force_mse(
    model: &SchNet,
    scale: &EnergyScale,
    configs: &[Configuration],
    device: &Device,
) -> f64 {
    let sizes: Vec<usize> = configs.iter().map(|c| c.positions.len()).collect();
    let graph = AtomsGraph::new(&sizes);
    let flat: Vec<f64> = configs
        .iter()
        .flat_map(|c| c.positions.iter().flatten().copied())
        .collect();
    let x =
        Tensor::<2>::from_data(TensorData::new(flat, [graph.n_atoms(), 3]), device).require_grad();
    let grads = model.forward(x.clone(), &graph).sum().backward();
    let gradient: Vec<f64> = x
        .grad(&grads)
        .expect("positions track gradients")
        .into_data()
        .convert::<f64>()
        .try_to_vec()
        .expect("f64");
    let targets = configs
        .iter()
        .flat_map(|c| c.forces.iter().flatten().map(|f| f / scale.scale));
    gradient
        .iter()
        .zip(targets)
        .map(|(g, t)| (-g - t).powi(2))
        .sum::<f64>()
        / gradient.len() as f64
}

#[test]
fn the_force_loss_gradient_matches_finite_differences_in_f64() {
    let device = device();
    let network = SchNetConfig::new()
        .with_features(8)
        .with_interactions(2)
        .with_n_rbf(12)
        .with_readout_hidden(8);
    let model: SchNet = network.init(&device);
    let configs = clusters();
    let scale = EnergyScale::fit(&configs);
    let refs: Vec<&Configuration> = configs.iter().collect();
    let mut params = Collect(vec![], None);
    model.visit(&mut params);
    let count = params.0.len();

    let gradient = |h: f64| -> Vec<f64> {
        let weights = LossWeights {
            energy: 0.0,
            force: 1.0,
            force_step: h,
        };
        let loss = force_matching_loss(&model, &scale, &refs, weights, &device);
        let mut grads = Collect(vec![], Some(loss.backward()));
        model.visit(&mut grads);
        grads.0
    };
    // Directions in parameter space: the gradient's own (where an error in its size shows)
    // and two random ones (where an error in its direction shows), all of unit length. The
    // reference derivative of the force MSE along each: central differences with η = 1e-4,
    // truncation η²·|L'''|/6 ~ 1e-9 and f64 round-off 1e-16·|L|/η ~ 1e-12 relative.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let unit = |d: Vec<f64>| -> Vec<f64> {
        let norm = d.iter().map(|v| v * v).sum::<f64>().sqrt();
        d.iter().map(|v| v / norm).collect()
    };
    let mut directions = vec![unit(gradient(1e-4))];
    for _ in 0..2 {
        directions.push(unit(
            (0..count).map(|_| rng.random_range(-1.0..1.0)).collect(),
        ));
    }
    let eta = 1e-4;
    let reference: Vec<f64> = directions
        .iter()
        .map(|d| {
            let plus: Vec<f64> = d.iter().map(|v| v * eta).collect();
            let minus: Vec<f64> = d.iter().map(|v| -v * eta).collect();
            let up = model.clone().map(&mut Shift(&plus, 0));
            let down = model.clone().map(&mut Shift(&minus, 0));
            (force_mse(&up, &scale, &configs, &device)
                - force_mse(&down, &scale, &configs, &device))
                / (2.0 * eta)
        })
        .collect();
    // |∇L| itself: the reference along its own direction.
    let size = reference[0].abs();

    let mut errors = vec![];
    for h in [1e-1, 3e-2, 1e-2, 3e-3, 1e-3] {
        let weights = LossWeights {
            energy: 0.0,
            force: 1.0,
            force_step: h,
        };
        let loss = force_matching_loss(&model, &scale, &refs, weights, &device);
        // The value is the force MSE itself.
        let value = loss
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap()[0];
        let exact = force_mse(&model, &scale, &configs, &device);
        assert!(
            (value - exact).abs() <= 1e-6 * exact,
            "loss value {value} vs force MSE {exact}"
        );
        let g = gradient(h);
        let worst = directions
            .iter()
            .zip(&reference)
            .map(|(d, r)| (g.iter().zip(d).map(|(g, d)| g * d).sum::<f64>() - r).abs() / size)
            .fold(0.0, f64::max);
        errors.push(worst);
    }
    // The surrogate's error is the central difference's O(h²): the displacement is h per
    // coordinate on average but up to several h where the residual concentrates, and the
    // network varies on the Gaussians' spacing (5/11 Å here) and faster through their
    // products, so (h/ℓ)²/6 with ℓ ~ 0.1 Å: 1.5e-4 at the default h = 3e-3. 1e-3 leaves room
    // and catches any wrong factor (2, rms, h) or sign, errors of O(1).
    let at_default = errors[3];
    assert!(
        at_default < 1e-3,
        "error {at_default:.2e} of |∇L| at h = 3e-3 (h = 0.1 … 1e-3: {errors:?})"
    );
    // And the error shrinks like h²: ×100 from 3e-2 to 3e-3 (≥ 30 leaves room for the
    // higher-order terms and the f32 rounding floor of the displaced positions).
    assert!(errors[1] > 30.0 * at_default, "{errors:?}");
    assert_eq!(
        learnsim_train::schnet::DEFAULT_FORCE_STEP,
        3e-3,
        "the step this test justifies"
    );
}
