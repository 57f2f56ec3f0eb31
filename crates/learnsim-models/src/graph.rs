//! Message-passing primitives on edge lists.

use burn::tensor::{IndexingUpdateOp, Int, Tensor};

/// Rows of `nodes` at `indices`.
///
/// # Shapes
/// - `nodes`: `[N, F]`, `indices`: `[E]`
/// - returns: `[E, F]`
pub fn gather(nodes: Tensor<2>, indices: Tensor<1, Int>) -> Tensor<2> {
    nodes.select(0, indices)
}

/// Sum of edge rows per receiver (sum aggregation of GNS).
///
/// # Shapes
/// - `edges`: `[E, F]`, `receivers`: `[E]`
/// - returns: `[n_nodes, F]`
pub fn scatter_add(edges: Tensor<2>, receivers: Tensor<1, Int>, n_nodes: usize) -> Tensor<2> {
    let [_, width] = edges.dims();
    Tensor::zeros([n_nodes, width], &edges.device()).select_assign(
        0,
        receivers,
        edges,
        IndexingUpdateOp::Add,
    )
}
