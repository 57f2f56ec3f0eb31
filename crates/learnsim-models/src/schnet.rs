//! SchNet (Schütt et al. 2017): continuous-filter convolutions over interatomic distances,
//! Gaussian radial basis, cosine cutoff, shifted softplus, energy as a sum of atomwise outputs.
//! Distances are computed from the positions tensor inside the graph, so forces are
//! `−∂E/∂R` by burn's autodiff (see [`SchNet::energy_and_forces`]).

use crate::graph::{gather, scatter_add};
use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::softplus;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Sizes of a SchNet. Defaults: the CPU recipe of `cases.md` [2] (d) (F = 32, 3 interactions,
/// 25 Gaussians on [0, 5 Å], cutoff 5 Å, readout 32 → 16 → 1).
#[derive(Config, Debug)]
pub struct SchNetConfig {
    /// Feature width F.
    #[config(default = 32)]
    pub features: usize,
    /// Interaction blocks.
    #[config(default = 3)]
    pub interactions: usize,
    /// Gaussians of the radial basis.
    #[config(default = 25)]
    pub n_rbf: usize,
    /// Cutoff radius (Å).
    #[config(default = 5.0)]
    pub cutoff: f64,
    /// Hidden width of the atomwise readout.
    #[config(default = 16)]
    pub readout_hidden: usize,
}

/// One interaction block: in2f → cfconv (filter network × cosine cutoff) → f2out, residual.
#[derive(Module, Debug)]
pub struct SchNetInteraction {
    in2f: Linear,
    filter1: Linear,
    filter2: Linear,
    f2out1: Linear,
    f2out2: Linear,
}

/// The network (one atomic species, so the embedding is one learned vector).
#[derive(Module, Debug)]
pub struct SchNet {
    embedding: Param<Tensor<2>>,
    blocks: Vec<SchNetInteraction>,
    readout1: Linear,
    readout2: Linear,
    #[module(skip)]
    n_rbf: usize,
    #[module(skip)]
    cutoff: f64,
}

/// Shifted softplus, `ln(1 + eˣ) − ln 2` (zero at zero).
pub fn ssp<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    softplus(x, 1.0).sub_scalar(std::f64::consts::LN_2)
}

impl SchNetConfig {
    /// Builds the network with burn's default initialisation.
    pub fn init(&self, device: &Device) -> SchNet {
        let f = self.features;
        let linear = |i, o, bias| LinearConfig::new(i, o).with_bias(bias).init(device);
        SchNet {
            embedding: Param::from_tensor(Tensor::random(
                [1, f],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                device,
            )),
            blocks: (0..self.interactions)
                .map(|_| SchNetInteraction {
                    in2f: linear(f, f, false),
                    filter1: linear(self.n_rbf, f, true),
                    filter2: linear(f, f, true),
                    f2out1: linear(f, f, true),
                    f2out2: linear(f, f, true),
                })
                .collect(),
            readout1: linear(f, self.readout_hidden, true),
            readout2: linear(self.readout_hidden, 1, true),
            n_rbf: self.n_rbf,
            cutoff: self.cutoff,
        }
    }
}

/// A batch of molecules as one graph: every ordered pair of distinct atoms of a molecule.
#[derive(Debug, Clone)]
pub struct AtomsGraph {
    /// Atoms per molecule, in order.
    pub atoms: Vec<usize>,
    /// Sender of each pair (global atom index).
    pub senders: Vec<i64>,
    /// Receiver of each pair.
    pub receivers: Vec<i64>,
    /// Molecule of each atom.
    pub molecule: Vec<i64>,
}

impl AtomsGraph {
    /// All ordered pairs within each molecule of the given sizes.
    pub fn new(atoms: &[usize]) -> Self {
        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        let mut molecule = Vec::new();
        let mut offset = 0i64;
        for (m, &n) in atoms.iter().enumerate() {
            for i in 0..n as i64 {
                molecule.push(m as i64);
                for j in 0..n as i64 {
                    if i != j {
                        senders.push(offset + j);
                        receivers.push(offset + i);
                    }
                }
            }
            offset += n as i64;
        }
        Self {
            atoms: atoms.to_vec(),
            senders,
            receivers,
            molecule,
        }
    }

    /// Total atoms.
    pub fn n_atoms(&self) -> usize {
        self.molecule.len()
    }
}

impl SchNet {
    /// Per-molecule outputs (the sum of atomwise outputs).
    ///
    /// # Shapes
    /// - `positions`: `[A, 3]` (Å; may track gradients)
    /// - returns: `[M]`, one value per molecule of `graph`
    pub fn forward(&self, positions: Tensor<2>, graph: &AtomsGraph) -> Tensor<1> {
        let device = positions.device();
        let n_atoms = graph.n_atoms();
        let index = |v: &[i64]| {
            Tensor::<1, Int>::from_data(TensorData::new(v.to_vec(), [v.len()]), &device)
        };
        let (senders, receivers) = (index(&graph.senders), index(&graph.receivers));
        let d = gather(positions.clone(), senders.clone()) - gather(positions, receivers.clone());
        let r = d.powf_scalar(2.0).sum_dim(1).sqrt(); // [P, 1]
        // Gaussians with centres linspace(0, cutoff, n_rbf) and width = their spacing.
        let width = self.cutoff / (self.n_rbf - 1).max(1) as f64;
        let centres: Vec<f32> = (0..self.n_rbf).map(|k| (k as f64 * width) as f32).collect();
        let centres = Tensor::<2>::from_data(TensorData::new(centres, [1, self.n_rbf]), &device);
        let rbf = (r.clone() - centres)
            .div_scalar(width)
            .powf_scalar(2.0)
            .mul_scalar(-0.5)
            .exp(); // [P, K]
        // Cosine cutoff ½(cos(π r / r_c) + 1) inside r_c, zero outside (its value and slope are
        // zero at r_c, so the mask adds no discontinuity).
        let inside = r.clone().lower_elem(self.cutoff).float();
        let fc = r
            .mul_scalar(std::f64::consts::PI / self.cutoff)
            .cos()
            .add_scalar(1.0)
            .mul_scalar(0.5)
            * inside; // [P, 1]
        let ones = Tensor::<2>::ones([n_atoms, 1], &device);
        let mut x = ones.matmul(self.embedding.val()); // [A, F]
        for block in &self.blocks {
            let w = block
                .filter2
                .forward(ssp(block.filter1.forward(rbf.clone())))
                * fc.clone();
            let xj = gather(block.in2f.forward(x.clone()), senders.clone());
            let v = scatter_add(xj * w, receivers.clone(), n_atoms);
            let v = block.f2out2.forward(ssp(block.f2out1.forward(v)));
            x = x + v;
        }
        let atomwise = self.readout2.forward(ssp(self.readout1.forward(x))); // [A, 1]
        let molecule = index(&graph.molecule);
        scatter_add(atomwise, molecule, graph.atoms.len()).reshape([graph.atoms.len()])
    }

    /// Outputs and their gradient with respect to the positions (both per molecule, host side).
    /// The model must live on an autodiff device.
    ///
    /// # Shapes
    /// - `positions`: `[A·3]` flattened, f32
    /// - returns: (`[M]` outputs, `[A·3]` ∂(Σ outputs)/∂R)
    pub fn output_and_gradient(
        &self,
        positions: &[f32],
        graph: &AtomsGraph,
        device: &Device,
    ) -> (Vec<f32>, Vec<f32>) {
        let x = Tensor::<2>::from_data(
            TensorData::new(positions.to_vec(), [graph.n_atoms(), 3]),
            device,
        )
        .require_grad();
        let out = self.forward(x.clone(), graph);
        let values = out
            .clone()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 outputs");
        let grads = out.sum().backward();
        let gradient = x
            .grad(&grads)
            .expect("positions track gradients on an autodiff device")
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 gradient");
        (values, gradient)
    }
}
