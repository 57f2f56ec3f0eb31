//! Data-parallel training (`mpirun`, docs/cluster.md): rank 0's weights broadcast once, each
//! step's gradients summed over the ranks, and a check that every rank holds the same weights.

use super::{TrainError, Trainer};
use crate::distributed::{self, Collective};
use burn::module::Module;
use burn::optim::GradientsParams;
use learnsim_models::FusedGnsModelTrainer;

impl Trainer {
    /// Rank 0's weights copied to every rank, once before the first step of a data-parallel
    /// process (a fresh run or a resumed one): the ranks then take identical steps.
    pub(super) fn synchronise(&mut self, world: &dyn Collective) -> Result<(), TrainError> {
        match self.fused.as_mut() {
            Some(fused) => {
                let arrays = fused.parameters_mut();
                let mut flat = distributed::pack(&arrays, 0);
                world.broadcast(&mut flat);
                distributed::unpack(&flat, arrays);
                super::write_fused(&mut self.model, fused, &self.device);
            }
            None => {
                // burn's kernel: the weights themselves, in the model's visiting order.
                self.model = crate::replicas::broadcast_weights(world, self.model.clone());
            }
        }
        // A fresh average starts at the weights trained from (a resumed one was read from the
        // checkpoint every rank shares).
        if let Some(average) = &mut self.average
            && average.updates() == 0
        {
            average.restore(&self.model, 0);
        }
        self.synced = true;
        Ok(())
    }

    /// Checks that every rank of the process group holds rank 0's weights, bit for bit (one
    /// broadcast of the weights), and returns their checksum (FNV-1a over the bits of every
    /// parameter, in the model's order). Alone, only the checksum.
    ///
    /// # Errors
    /// When a rank's weights differ from rank 0's (the message names the rank and the count).
    pub fn check_replicas(&self) -> Result<u64, TrainError> {
        let weights: Vec<f32> = crate::model_parameters(&self.model).concat();
        let world = distributed::world();
        if world.size() > 1 {
            let mut root = weights.clone();
            world.broadcast(&mut root);
            let differ = root
                .iter()
                .zip(&weights)
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            if differ > 0 {
                return Err(TrainError::Data(format!(
                    "rank {} holds weights other than rank 0's ({differ} of {} values differ) at step {}",
                    world.rank(),
                    weights.len(),
                    self.state.step
                )));
            }
        }
        Ok(weights.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, w| {
            (h ^ u64::from(w.to_bits())).wrapping_mul(0x0100_0000_01b3)
        }))
    }
}

/// The gradient and loss of the whole batch from each rank's part: the masked MSE of one
/// process, `Σ m·e² / max(Σ m, 1)` over the global batch. Each rank's kernel left
/// `∇(S_r / max(c_r, 1))` (its squared-error sum `S_r`, mask count `c_r`); one all-reduce sums
/// `[∇S_r, S_r, c_r]` and every rank divides by `max(Σ c_r, 1)`. Returns the batch's loss.
pub(super) fn all_reduce_gradients(
    world: &dyn Collective,
    fused: &mut FusedGnsModelTrainer,
    local_loss: f32,
    mask: &[f32],
) -> f32 {
    let count: f32 = mask.iter().sum();
    let local_scale = count.max(1.0);
    let grads = fused.gradients_mut();
    let mut flat = distributed::pack(&grads, 2);
    flat.iter_mut().for_each(|g| *g *= local_scale);
    flat.push(local_loss * local_scale);
    flat.push(count);
    world.all_reduce_sum(&mut flat);
    let scale = 1.0 / flat[flat.len() - 1].max(1.0);
    flat.iter_mut().for_each(|g| *g *= scale);
    let rest = distributed::unpack(&flat, grads);
    rest[0]
}

/// [`all_reduce_gradients`] for burn's autodiff gradients (burn's kernel: the equivariant
/// network, or GNS with `kernel = "burn"`): each rank's gradient scaled by its mask count, the
/// sum divided by the global count, as the fused path does. Returns the batch's loss.
pub(super) fn all_reduce_burn_gradients<M: Module>(
    world: &dyn Collective,
    model: &M,
    grads: &mut GradientsParams,
    local_loss: f32,
    mask: &[f32],
) -> f32 {
    let count: f32 = mask.iter().sum();
    crate::replicas::all_reduce_gradients(world, model, grads, local_loss, count.max(1.0), count)
}
