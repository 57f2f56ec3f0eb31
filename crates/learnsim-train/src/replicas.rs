//! Keeping burn models in step across the ranks of a data-parallel group ([`crate::distributed`]):
//! rank 0's weights copied to every rank, and each step's gradients averaged over the ranks in
//! one all-reduce. The shared fit loop ([`crate::fit`]) and the GNS trainer's burn kernel use
//! them; the fused GNS kernel has its own flat buffers.

use crate::distributed::Collective;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

/// `model` with rank 0's weights (one broadcast of every float parameter, in the model's
/// visiting order), tracked for autodiff: the ranks then take identical steps.
pub(crate) fn broadcast_weights<M: Module>(world: &dyn Collective, model: M) -> M {
    let mut arrays = crate::model_parameters(&model);
    let mut flat = crate::distributed::pack(&arrays.iter_mut().collect::<Vec<_>>(), 0);
    world.broadcast(&mut flat);
    crate::distributed::unpack(&flat, arrays.iter_mut().collect());
    model.map(&mut Trainable {
        params: &arrays,
        next: 0,
    })
}

/// Averages burn's autodiff gradients over the ranks: every float parameter's gradient, in the
/// model's visiting order, times `weight`, packed into one buffer with `weight · local_loss` and
/// `count`, summed over the ranks, divided by `max(Σ count, 1)` and put back. With a rank's loss
/// the mean over its `count` items of a global batch and `weight = max(count, 1)`, that is the
/// gradient of the mean over the whole batch (the fit loop's ranks each average an equal part:
/// `weight = count = 1`). A parameter without a gradient on this rank contributes zeros (every
/// rank runs the same network, so none does in practice). Returns the global batch's loss.
pub(crate) fn all_reduce_gradients<M: Module>(
    world: &dyn Collective,
    model: &M,
    grads: &mut GradientsParams,
    local_loss: f32,
    weight: f32,
    count: f32,
) -> f32 {
    let mut take = Take {
        grads,
        flat: Vec::new(),
        device: None,
    };
    model.visit(&mut take);
    let Take {
        grads,
        mut flat,
        device,
    } = take;
    flat.iter_mut().for_each(|g| *g *= weight);
    flat.push(local_loss * weight);
    flat.push(count);
    world.all_reduce_sum(&mut flat);
    let scale = 1.0 / flat[flat.len() - 1].max(1.0);
    flat.iter_mut().for_each(|g| *g *= scale);
    let loss = flat[flat.len() - 2];
    if let Some(device) = device {
        model.visit(&mut Put {
            grads,
            flat: &flat,
            at: 0,
            device,
        });
    }
    loss
}

/// Replaces every float parameter by the next of `params` (visiting order), tracked for
/// autodiff.
struct Trainable<'a> {
    params: &'a [Vec<f32>],
    next: usize,
}

impl ModuleMapper for Trainable<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let values = self.params[self.next].clone();
        self.next += 1;
        param.map(|tensor| {
            let (shape, device) = (tensor.shape(), tensor.device());
            Tensor::from_data(TensorData::new(values, shape), &device).require_grad()
        })
    }
}

/// Moves every parameter's gradient out of `grads` into `flat` (zeros where it has none).
struct Take<'a> {
    grads: &'a mut GradientsParams,
    flat: Vec<f32>,
    device: Option<Device>,
}

impl ModuleVisitor for Take<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        match self.grads.remove::<D>(param.id) {
            Some(g) => {
                self.device.get_or_insert_with(|| g.device());
                self.flat.extend(
                    g.into_data()
                        .convert::<f32>()
                        .try_into_vec::<f32>()
                        .expect("f32 gradients"),
                );
            }
            None => {
                let n = param.val().shape().num_elements();
                self.flat.extend(std::iter::repeat_n(0.0, n));
            }
        }
    }
}

/// Registers `flat`'s values, in [`Take`]'s order, as every parameter's gradient.
struct Put<'a> {
    grads: &'a mut GradientsParams,
    flat: &'a [f32],
    at: usize,
    device: Device,
}

impl ModuleVisitor for Put<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let shape = param.val().shape();
        let n = shape.num_elements();
        let values = self.flat[self.at..self.at + n].to_vec();
        self.at += n;
        self.grads.register::<D>(
            param.id,
            Tensor::from_data(TensorData::new(values, shape), &self.device),
        );
    }
}
