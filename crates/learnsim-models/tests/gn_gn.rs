//! Contracts of the GN-GN (Sanchez-Gonzalez et al. 2018): permutation equivariance and the
//! reach of its message passing.

use burn::tensor::{Int, Tensor, TensorData};
use learnsim_models::{GnGn, GnGnConfig, default_inference_device};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::{Mutex, PoisonError};

const NODE_IN: usize = 4;
const EDGE_IN: usize = 3;

/// A chain 0 – 1 – … – (n − 1) with both directions of every link, random features.
struct Chain {
    nodes: Vec<f32>,
    edges: Vec<f32>,
    senders: Vec<i64>,
    receivers: Vec<i64>,
}

fn chain(n: usize, seed: u64) -> Chain {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draw =
        |count: usize| -> Vec<f32> { (0..count).map(|_| rng.random_range(-1.0..1.0)).collect() };
    let nodes = draw(n * NODE_IN);
    let (mut senders, mut receivers) = (vec![], vec![]);
    for k in 0..n as i64 - 1 {
        senders.extend([k, k + 1]);
        receivers.extend([k + 1, k]);
    }
    let edges = draw(senders.len() * EDGE_IN);
    Chain {
        nodes,
        edges,
        senders,
        receivers,
    }
}

/// A GN-GN with weights drawn from a fixed seed (under a lock: burn's generator is global to
/// the device, and the tests of this file run on parallel threads).
fn net(blocks: usize) -> GnGn {
    static INIT: Mutex<()> = Mutex::new(());
    let _guard = INIT.lock().unwrap_or_else(PoisonError::into_inner);
    let device = default_inference_device();
    device.seed(7);
    GnGnConfig::new(NODE_IN, EDGE_IN, 2)
        .with_latent(16)
        .with_blocks(blocks)
        .init(&device)
}

fn forward(net: &GnGn, graph: &Chain) -> Vec<f32> {
    let device = default_inference_device();
    let (n, e) = (graph.nodes.len() / NODE_IN, graph.senders.len());
    let ints = |v: &[i64]| Tensor::<1, Int>::from_data(TensorData::new(v.to_vec(), [e]), &device);
    net.forward(
        Tensor::<2>::from_data(TensorData::new(graph.nodes.clone(), [n, NODE_IN]), &device),
        Tensor::<2>::from_data(TensorData::new(graph.edges.clone(), [e, EDGE_IN]), &device),
        ints(&graph.senders),
        ints(&graph.receivers),
    )
    .into_data()
    .try_to_vec::<f32>()
    .unwrap()
}

/// Each block passes messages one link, so with `blocks` = k a change at node 0 reaches nodes
/// 1..=k and no further: nodes > k are bit-identical (the same operations on the same numbers).
/// A random network damps the change at every hop (at 3 hops, by ~1e-7 of the outputs for a
/// change of 0.5), so node 0's features move by 5 and the weights are seeded: the reached
/// nodes then differ, deterministically.
#[test]
fn a_change_travels_one_link_per_block() {
    let n = 6;
    let base = chain(n, 1);
    let mut moved = chain(n, 1);
    for x in &mut moved.nodes[..NODE_IN] {
        *x += 5.0;
    }
    for blocks in [1, 2, 3] {
        let net = net(blocks);
        let (a, b) = (forward(&net, &base), forward(&net, &moved));
        for node in 0..n {
            let changed = (0..2).any(|k| a[2 * node + k] != b[2 * node + k]);
            assert_eq!(
                changed,
                node <= blocks,
                "{blocks} blocks: node {node} changed = {changed}"
            );
        }
    }
}

/// Relabelling the nodes (and the edges' endpoints) permutes the outputs. Sums over a node's
/// ≤ 2 incoming edges are taken in another order, so equality holds to f32 rounding of O(1)
/// values through a few layers: 1e-5.
#[test]
fn relabelling_nodes_permutes_the_outputs() {
    let n = 5;
    let graph = chain(n, 2);
    // perm[new] = old.
    let perm = [3usize, 0, 4, 1, 2];
    let mut inverse = [0usize; 5];
    for (new, &old) in perm.iter().enumerate() {
        inverse[old] = new;
    }
    let relabelled = Chain {
        nodes: perm
            .iter()
            .flat_map(|&o| graph.nodes[NODE_IN * o..NODE_IN * (o + 1)].to_vec())
            .collect(),
        edges: graph.edges.clone(),
        senders: graph
            .senders
            .iter()
            .map(|&s| inverse[s as usize] as i64)
            .collect(),
        receivers: graph
            .receivers
            .iter()
            .map(|&r| inverse[r as usize] as i64)
            .collect(),
    };
    let net = net(2);
    let (a, b) = (forward(&net, &graph), forward(&net, &relabelled));
    for (new, &old) in perm.iter().enumerate() {
        for k in 0..2 {
            assert!(
                (b[2 * new + k] - a[2 * old + k]).abs() < 1e-5,
                "node {old}: {} vs {}",
                b[2 * new + k],
                a[2 * old + k]
            );
        }
    }
}
