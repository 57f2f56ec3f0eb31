//! The fused trainer against burn's autodiff: the same gradients, and deterministic steps
//! that write back into burn.

use super::*;
use crate::{GnsConfig, default_inference_device};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Problem {
    nodes: Vec<f32>,
    edges: Vec<f32>,
    senders: Vec<i64>,
    receivers: Vec<i64>,
    target: Vec<f32>,
    weights: Vec<f32>,
}

/// 150 nodes, 1200 random edges (several row blocks of each), a 0/1 mask on the outputs,
/// for a 2D GNS (5 node inputs, 3 edge inputs, 2 outputs).
fn problem(rng: &mut ChaCha8Rng) -> Problem {
    problem_sized(rng, 5, 3, 2)
}

/// [`problem`] with `node_in` node inputs, `edge_in` edge inputs and `out` outputs.
fn problem_sized(rng: &mut ChaCha8Rng, node_in: usize, edge_in: usize, out: usize) -> Problem {
    let (n, e) = (150, 1200);
    let mut u = |k: usize| -> Vec<f32> { (0..k).map(|_| rng.random_range(-1.0..1.0)).collect() };
    let nodes = u(n * node_in);
    let edges = u(e * edge_in);
    let target = u(n * out);
    let weights = (0..n * out)
        .map(|i| if i % 7 == 3 { 0.0 } else { 1.0 })
        .collect();
    Problem {
        nodes,
        edges,
        senders: (0..e).map(|_| rng.random_range(0..n as i64)).collect(),
        receivers: (0..e).map(|_| rng.random_range(0..n as i64)).collect(),
        target,
        weights,
    }
}

/// burn's autodiff gradients of every parameter, in [`FusedGns::arrays_mut`]'s order.
fn burn_gradients(gns: &Gns, grads: &burn::optim::GradientsParams) -> Vec<Vec<f32>> {
    fn host<const D: usize>(t: Option<burn::tensor::Tensor<D>>) -> Vec<f32> {
        t.expect("a gradient for every parameter")
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32")
    }
    let (node_encoder, edge_encoder, blocks, decoder) = gns.parts();
    let mut mlps = vec![node_encoder, edge_encoder];
    for b in blocks {
        let (e, n) = b.parts();
        mlps.push(e);
        mlps.push(n);
    }
    mlps.push(decoder);
    let mut out = Vec::new();
    for mlp in mlps {
        let (layers, norm) = mlp.parts();
        for l in layers {
            out.push(host(grads.get::<2>(l.weight.id)));
            out.push(host(grads.get::<1>(l.bias.as_ref().expect("bias").id)));
        }
        if let Some(n) = norm {
            out.push(host(grads.get::<1>(n.gamma.id)));
            out.push(host(grads.get::<1>(n.beta.as_ref().expect("beta").id)));
        }
    }
    out
}

#[test]
fn gradients_match_burn_autodiff() {
    // Every parameter's gradient and the node inputs' gradient, against burn's autodiff of
    // the same masked loss through the same network (two MLP depths), for a 2D GNS (3 edge
    // inputs, 2 outputs) and a 3D one (4 edge inputs, 3 outputs, which 3D datasets reach
    // through `convert` and `train`). Both are f32 and sum in different orders (gemm
    // blocking, grouped row sums over ~1200 edges); the measured gap is ~1e-6 of each
    // array's largest entry. Bound: 1e-3 of the array's largest |g| plus 1e-7, far below a
    // real mistake (a wrong mask, transpose or LayerNorm term changes entries by O(1) of
    // that scale).
    use burn::tensor::{Int, Tensor, TensorData};
    let device = crate::default_training_device();
    for ((node_in, edge_in, out), n_hidden) in [(5, 3, 2), (7, 4, 3)]
        .into_iter()
        .flat_map(|sizes| [1, 2].map(|h| (sizes, h)))
    {
        let mut rng = ChaCha8Rng::seed_from_u64(11 + n_hidden as u64);
        let gns = GnsConfig::new(node_in, edge_in, out)
            .with_latent(16)
            .with_n_hidden(n_hidden)
            .with_message_passing_steps(2)
            .init(&device);
        let p = problem_sized(&mut rng, node_in, edge_in, out);
        let (n, e) = (p.nodes.len() / node_in, p.senders.len());
        let nodes = Tensor::<2>::from_data(TensorData::new(p.nodes.clone(), [n, node_in]), &device)
            .require_grad();
        let prediction = gns.forward(
            nodes.clone(),
            Tensor::from_data(TensorData::new(p.edges.clone(), [e, edge_in]), &device),
            Tensor::<1, Int>::from_data(TensorData::new(p.senders.clone(), [e]), &device),
            Tensor::<1, Int>::from_data(TensorData::new(p.receivers.clone(), [e]), &device),
        );
        let target = Tensor::<2>::from_data(TensorData::new(p.target.clone(), [n, out]), &device);
        let w = Tensor::<2>::from_data(TensorData::new(p.weights.clone(), [n, out]), &device);
        let count = p.weights.iter().sum::<f32>();
        let loss = ((prediction - target).powf_scalar(2.0) * w).sum() / count;
        let burn_loss: f32 = loss.clone().into_scalar();
        let gradients = loss.backward();
        let d_nodes_burn: Vec<f32> = nodes
            .grad(&gradients)
            .expect("node gradient")
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        let params = burn::optim::GradientsParams::from_grads(gradients, &gns);
        let want = burn_gradients(&gns, &params);

        let mut t = FusedGnsTrainer::new(&gns);
        let (fused_loss, d_nodes) = t.loss_and_gradients(
            &p.nodes,
            &p.edges,
            &p.senders,
            &p.receivers,
            &p.target,
            Some(&p.weights),
            true,
        );
        assert!((fused_loss - burn_loss).abs() < 1e-5 * (1.0 + burn_loss.abs()));
        let mut got: Vec<Vec<f32>> = t.grad.arrays_mut().into_iter().map(|a| a.clone()).collect();
        got.push(d_nodes.expect("asked for"));
        let mut want = want;
        want.push(d_nodes_burn);
        assert_eq!(got.len(), want.len());
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.len(), w.len(), "array {k}");
            let scale = w.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            let gap = g
                .iter()
                .zip(w)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                gap <= 1e-3 * scale + 1e-7,
                "{out}D, n_hidden {n_hidden}, array {k} (the last is the node inputs): gap {gap}, scale {scale}"
            );
        }
    }
}

#[test]
fn training_steps_are_deterministic_and_write_back_into_burn() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let device = default_inference_device();
    let gns = GnsConfig::new(5, 3, 2)
        .with_latent(16)
        .with_n_hidden(1)
        .with_message_passing_steps(2)
        .init(&device);
    let p = problem(&mut rng);
    let run = || {
        let mut t = FusedGnsTrainer::new(&gns);
        let losses: Vec<f32> = (0..5)
            .map(|_| {
                let (l, _) = t.loss_and_gradients(
                    &p.nodes,
                    &p.edges,
                    &p.senders,
                    &p.receivers,
                    &p.target,
                    Some(&p.weights),
                    false,
                );
                t.adam_step(1e-3, 0.9, 0.999, 1e-8);
                l
            })
            .collect();
        (t, losses)
    };
    let (t, losses) = run();
    let (_, again) = run();
    let mut t2 = FusedGnsTrainer::new(&gns);
    let mut sizes = Vec::new();
    for _ in 0..4 {
        t2.loss_and_gradients(
            &p.nodes,
            &p.edges,
            &p.senders,
            &p.receivers,
            &p.target,
            None,
            false,
        );
        sizes.push(t2.pool.0.len());
    }
    assert!(
        sizes.windows(2).all(|w| w[0] == w[1]),
        "the buffer pool grows from step to step: {sizes:?}"
    );
    assert_eq!(losses, again, "the same inputs give the same bytes");
    assert!(losses[4] < losses[0], "Adam lowers the loss: {losses:?}");
    // The trained parameters written into burn's network give the fused forward's output
    // (same tolerance reasoning as the inference tests: f32 rounding, ~1e-6).
    let trained = t.write_into(gns.clone(), &device);
    let want = t.network().forward(
        &p.nodes,
        &p.edges,
        &p.senders,
        &p.receivers,
        &mut crate::GnsWorkspace::default(),
    );
    let n = p.nodes.len() / 5;
    let got: Vec<f32> = trained
        .forward(
            burn::tensor::Tensor::from_data(
                burn::tensor::TensorData::new(p.nodes.clone(), [n, 5]),
                &device,
            ),
            burn::tensor::Tensor::from_data(
                burn::tensor::TensorData::new(p.edges.clone(), [p.senders.len(), 3]),
                &device,
            ),
            burn::tensor::Tensor::from_data(
                burn::tensor::TensorData::new(p.senders.clone(), [p.senders.len()]),
                &device,
            ),
            burn::tensor::Tensor::from_data(
                burn::tensor::TensorData::new(p.receivers.clone(), [p.senders.len()]),
                &device,
            ),
        )
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32");
    for (a, b) in got.iter().zip(&want) {
        assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
    }
}
