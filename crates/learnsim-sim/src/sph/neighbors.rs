//! Per-step neighbour pairs with their geometry, shared by both SPH formulations, drawn from a
//! Verlet list that is rebuilt only when some particle has moved half its skin.

use learnsim_core::{CellList, Domain, SelfEdges};
use rayon::prelude::*;

/// Skin of the Verlet list as a fraction of the smoothing length. Rebuilding every step cost
/// more than the forces; with a skin of 0.3 h the list lasts 5–10 steps in the flagship scenes.
pub const SKIN_OVER_H: f64 = 0.3;

/// Candidate pairs within `support + skin` of the positions at the last rebuild.
#[derive(Debug, Clone)]
pub struct VerletList {
    cells: CellList<2>,
    skin: f64,
    offsets: Vec<usize>,
    receivers: Vec<u32>,
    senders: Vec<u32>,
    reference: Vec<[f64; 2]>,
}

impl VerletList {
    /// An empty list for the given cell list (built with radius `support + skin`).
    pub fn new(cells: CellList<2>, skin: f64) -> Self {
        Self {
            cells,
            skin,
            offsets: vec![0],
            receivers: Vec::new(),
            senders: Vec::new(),
            reference: Vec::new(),
        }
    }

    /// Rebuilds the candidates if the particle count changed or any particle moved more than
    /// half the skin since the last build (two particles closing in can then each have moved
    /// skin/2, so no pair within the support can be missing).
    pub fn update(&mut self, positions: &[[f64; 2]]) {
        let domain = *self.cells.domain();
        let limit2 = (0.5 * self.skin).powi(2);
        let stale = self.reference.len() != positions.len()
            || positions
                .iter()
                .zip(&self.reference)
                .any(|(x, x0)| Domain::<2>::norm_squared(&domain.displacement(x, x0)) > limit2);
        if !stale {
            return;
        }
        let edges = self.cells.edges(positions, SelfEdges::Exclude);
        self.offsets = vec![0usize; positions.len() + 1];
        for &r in &edges.receivers {
            self.offsets[r as usize + 1] += 1;
        }
        for i in 0..positions.len() {
            self.offsets[i + 1] += self.offsets[i];
        }
        self.receivers = edges.receivers;
        self.senders = edges.senders;
        self.reference = positions.to_vec();
    }

    /// The domain the list lives in.
    pub fn domain(&self) -> &Domain<2> {
        self.cells.domain()
    }
}

/// One neighbour `j` of a receiver `i`: index, x_ij = x_i − x_j (minimum image), r = |x_ij|.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    pub j: usize,
    pub x_ij: [f64; 2],
    pub r: f64,
}

/// Neighbour lists in CSR form: the pairs of receiver `i` are `pairs[offsets[i]..offsets[i+1]]`.
/// Pairs beyond the kernel support may appear; the kernel and its gradient vanish there.
#[derive(Debug, Clone, Default)]
pub struct Neighbors {
    pub offsets: Vec<usize>,
    pub pairs: Vec<Pair>,
}

impl Neighbors {
    /// Refills these lists with the current geometry of every candidate pair of `list`,
    /// reusing their buffers: a fresh 1–2 MB vector every substep cost a quarter of tgv-2d's
    /// generation time in page faults and copies (`perf`).
    pub fn update(&mut self, list: &VerletList, positions: &[[f64; 2]]) {
        let domain = list.domain();
        self.offsets.clone_from(&list.offsets);
        self.pairs.resize(
            list.senders.len(),
            Pair {
                j: 0,
                x_ij: [0.0; 2],
                r: 0.0,
            },
        );
        self.pairs
            .par_iter_mut()
            .zip(list.receivers.par_iter().zip(&list.senders))
            .for_each(|(pair, (&i, &j))| {
                let x_ij = domain.displacement(&positions[i as usize], &positions[j as usize]);
                *pair = Pair {
                    j: j as usize,
                    x_ij,
                    r: (x_ij[0] * x_ij[0] + x_ij[1] * x_ij[1]).sqrt(),
                };
            });
    }

    /// The pairs of receiver `i`.
    pub fn of(&self, i: usize) -> &[Pair] {
        &self.pairs[self.offsets[i]..self.offsets[i + 1]]
    }
}
