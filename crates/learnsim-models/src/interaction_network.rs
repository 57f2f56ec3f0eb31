//! Interaction Network (Battaglia et al. 2016): a relational MLP f_R on every relation
//! [relation attributes, receiver, sender] gives an effect; effects are summed per receiver; an
//! object MLP f_O on [object, Σ effects] predicts the object's output (Δv for n-body).

use crate::graph::{gather, scatter_add};
use crate::{Mlp, MlpConfig};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

/// Sizes of an Interaction Network. Defaults are the CPU recipe of `cases.md` [1] (d):
/// f_R 3×64 → 32, f_O 1×64 → output; the paper's sizes are 4×150 → 50 and 1×100.
#[derive(Config, Debug)]
pub struct InteractionNetworkConfig {
    /// Object feature width (n-body: mass and velocity, 3).
    pub object_in: usize,
    /// Relation attribute width (n-body: Δx, Δy, |Δ|, 3).
    pub relation_in: usize,
    /// Output width per object (n-body: Δv, 2).
    pub output: usize,
    /// Hidden width of f_R.
    #[config(default = 64)]
    pub relation_hidden: usize,
    /// Hidden layers of f_R.
    #[config(default = 3)]
    pub relation_layers: usize,
    /// Effect width (f_R's output).
    #[config(default = 32)]
    pub effect: usize,
    /// Hidden width of f_O.
    #[config(default = 64)]
    pub object_hidden: usize,
    /// Hidden layers of f_O.
    #[config(default = 1)]
    pub object_layers: usize,
}

/// The network.
#[derive(Module, Debug)]
pub struct InteractionNetwork {
    relational: Mlp,
    object: Mlp,
}

impl InteractionNetworkConfig {
    /// Builds the network with burn's default initialisation.
    pub fn init(&self, device: &Device) -> InteractionNetwork {
        let relation_width = self.relation_in + 2 * self.object_in;
        InteractionNetwork {
            relational: MlpConfig::new(
                relation_width,
                self.relation_hidden,
                self.relation_layers,
                self.effect,
                false,
            )
            .init(device),
            object: MlpConfig::new(
                self.object_in + self.effect,
                self.object_hidden,
                self.object_layers,
                self.output,
                false,
            )
            .init(device),
        }
    }
}

impl InteractionNetwork {
    /// # Shapes
    /// - `objects`: `[N, object_in]`, `relations`: `[E, relation_in]`
    /// - `senders`, `receivers`: `[E]`, indices into N
    /// - returns: `[N, output]`
    pub fn forward(
        &self,
        objects: Tensor<2>,
        relations: Tensor<2>,
        senders: Tensor<1, Int>,
        receivers: Tensor<1, Int>,
    ) -> Tensor<2> {
        let [n, _] = objects.dims();
        let relation_input = Tensor::cat(
            vec![
                relations,
                gather(objects.clone(), receivers.clone()),
                gather(objects.clone(), senders),
            ],
            1,
        );
        let effects = self.relational.forward(relation_input);
        let summed = scatter_add(effects, receivers, n);
        self.object.forward(Tensor::cat(vec![objects, summed], 1))
    }
}
