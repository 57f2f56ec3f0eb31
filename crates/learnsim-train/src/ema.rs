//! Exponential moving average of a model's weights (Polyak averaging), kept on the host.
//!
//! The decay ramps up as TensorFlow's `ExponentialMovingAverage(num_updates)`:
//! `d_t = min(decay, (1 + t)/(10 + t))`, so that the average forgets the random initial
//! weights within the first few hundred steps instead of over 1/(1 − decay) steps.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};

/// The averaged float parameters of a model, in the order burn visits them.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightAverage {
    decay: f64,
    updates: u64,
    params: Vec<Vec<f32>>,
}

struct Collect(Vec<Vec<f32>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(
            param
                .val()
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .expect("f32 parameters"),
        );
    }
}

struct Replace<'a> {
    params: &'a [Vec<f32>],
    next: usize,
}

impl ModuleMapper for Replace<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let values = self.params[self.next].clone();
        self.next += 1;
        param.map(|tensor| {
            let shape = tensor.shape();
            let device = tensor.device();
            Tensor::from_data(TensorData::new(values, shape), &device)
        })
    }
}

/// Every float parameter of `model`, in visiting order.
pub fn parameters<M: Module>(model: &M) -> Vec<Vec<f32>> {
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

/// `model` with its float parameters replaced by `params` (visiting order, same shapes).
///
/// # Panics
/// If `params` does not match the model's parameters in count or size.
pub fn with_parameters<M: Module>(model: M, params: &[Vec<f32>]) -> M {
    let sizes: Vec<usize> = parameters(&model).iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        params.iter().map(Vec::len).collect::<Vec<_>>(),
        "parameter sizes differ"
    );
    model.map(&mut Replace { params, next: 0 })
}

impl WeightAverage {
    /// An average that starts at `model`'s weights.
    pub fn new<M: Module>(decay: f64, model: &M) -> Self {
        Self {
            decay,
            updates: 0,
            params: parameters(model),
        }
    }

    /// The decay of the next update: `min(decay, (1 + t)/(10 + t))`.
    pub fn next_decay(&self) -> f64 {
        let t = self.updates as f64;
        self.decay.min((1.0 + t) / (10.0 + t))
    }

    /// `average ← d·average + (1 − d)·weights` with `d` from [`next_decay`](Self::next_decay).
    pub fn update<M: Module>(&mut self, model: &M) {
        let d = self.next_decay() as f32;
        for (average, current) in self.params.iter_mut().zip(parameters(model)) {
            for (a, w) in average.iter_mut().zip(current) {
                *a = d * *a + (1.0 - d) * w;
            }
        }
        self.updates += 1;
    }

    /// `like` with the averaged weights.
    pub fn model<M: Module>(&self, like: M) -> M {
        with_parameters(like, &self.params)
    }

    /// Updates so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// Restores the average from a model holding it and the number of updates behind it.
    pub fn restore<M: Module>(&mut self, model: &M, updates: u64) {
        self.params = parameters(model);
        self.updates = updates;
    }
}
