//! Per-step neighbour pairs with their geometry, shared by both SPH formulations.

use learnsim_core::{CellList, SelfEdges};

/// One neighbour `j` of a receiver `i`: index, x_ij = x_i − x_j (minimum image), r = |x_ij|.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    pub j: usize,
    pub x_ij: [f64; 2],
    pub r: f64,
}

/// Neighbour lists in CSR form: the pairs of receiver `i` are `pairs[offsets[i]..offsets[i+1]]`.
#[derive(Debug, Clone)]
pub struct Neighbors {
    pub offsets: Vec<usize>,
    pub pairs: Vec<Pair>,
}

impl Neighbors {
    /// All pairs within the kernel support, self excluded.
    pub fn new(cells: &CellList<2>, positions: &[[f64; 2]]) -> Self {
        let edges = cells.edges(positions, SelfEdges::Exclude);
        let mut offsets = vec![0usize; positions.len() + 1];
        for &r in &edges.receivers {
            offsets[r as usize + 1] += 1;
        }
        for i in 0..positions.len() {
            offsets[i + 1] += offsets[i];
        }
        let pairs = edges
            .senders
            .iter()
            .zip(&edges.receivers)
            .map(|(&j, &i)| {
                let x_ij = cells.domain().displacement(&positions[i as usize], &positions[j as usize]);
                Pair {
                    j: j as usize,
                    x_ij,
                    r: (x_ij[0] * x_ij[0] + x_ij[1] * x_ij[1]).sqrt(),
                }
            })
            .collect();
        Self { offsets, pairs }
    }

    /// The pairs of receiver `i`.
    pub fn of(&self, i: usize) -> &[Pair] {
        &self.pairs[self.offsets[i]..self.offsets[i + 1]]
    }
}
