//! Models that map a window of field frames to the next frame (TF-Net, the U-Net, the FNO),
//! so that one training loop and one rollout serve them all.

use burn::module::Module;
use burn::tensor::Tensor;

/// A next-frame model over windows of 2-component periodic fields.
pub trait WindowModel: Module {
    /// The next frame from a window of L frames.
    ///
    /// # Shapes
    /// - `window`: `[batch, L, 2, n, n]` → `[batch, 2, n, n]`
    fn forward(&self, window: Tensor<5>) -> Tensor<4>;
}
