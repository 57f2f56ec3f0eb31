//! SchNet as physics: autodiff forces are the energy's negative gradient (finite differences),
//! the energy is invariant under rotation, translation and permutation of atoms, the forces
//! sum to zero, and a cutoff that excludes a far atom makes it invisible.

use burn::tensor::{Tensor, TensorData};
use learnsim_models::{AtomsGraph, SchNet, SchNetConfig, default_training_device};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn model() -> (SchNet, burn::tensor::Device) {
    let device = default_training_device();
    device.seed(5);
    (SchNetConfig::new().init(&device), device)
}

fn cluster(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * 3).map(|_| rng.random_range(-2.0f32..2.0)).collect()
}

fn energy(model: &SchNet, x: &[f32], device: &burn::tensor::Device) -> f32 {
    let graph = AtomsGraph::new(&[x.len() / 3]);
    let t = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [x.len() / 3, 3]), device);
    model.forward(t, &graph).into_scalar()
}

#[test]
fn autodiff_forces_match_finite_differences() {
    let (model, device) = model();
    let x = cluster(6, 1);
    let graph = AtomsGraph::new(&[6]);
    let (_, gradient) = model.output_and_gradient(&x, &graph, &device);
    // Central differences in f32 with h = 1e-2 Å: the network is smooth (ssp, Gaussians,
    // cosine cutoff) with curvature O(1) per Å², so truncation is h²·|E'''|/6 ≈ 1e-4 and
    // rounding ε·|E|/(2h) ≈ 6e-8·10/2e-2 ≈ 3e-5; 2e-3 absolute plus 1e-2 relative is ample yet
    // catches a wrong sign or a missing term.
    let h = 1e-2f32;
    for k in 0..x.len() {
        let mut plus = x.clone();
        plus[k] += h;
        let mut minus = x.clone();
        minus[k] -= h;
        let fd = (energy(&model, &plus, &device) - energy(&model, &minus, &device)) / (2.0 * h);
        assert!(
            (fd - gradient[k]).abs() < 2e-3 + 1e-2 * fd.abs(),
            "dE/dx[{k}]: fd {fd} vs autodiff {}",
            gradient[k]
        );
    }
    // Translation invariance: the gradient sums to zero over atoms (f32 round-off).
    for d in 0..3 {
        let total: f32 = (0..6).map(|i| gradient[i * 3 + d]).sum();
        assert!(total.abs() < 1e-4, "Σ dE/dx_{d} = {total}");
    }
}

#[test]
fn the_energy_is_invariant_under_rotation_translation_and_permutation() {
    let (model, device) = model();
    let x = cluster(7, 2);
    let e = energy(&model, &x, &device);
    let (c, s) = (0.7f32.cos(), 0.7f32.sin());
    let moved: Vec<f32> = x
        .chunks(3)
        .flat_map(|p| {
            [
                c * p[0] + s * p[2] + 1.0,
                p[1] - 3.0,
                -s * p[0] + c * p[2] + 0.5,
            ]
        })
        .collect();
    let permuted: Vec<f32> = x.chunks(3).rev().flatten().copied().collect();
    // f32 distances change in the last bits under rotation: |E| ~ 10, so 1e-4 relative.
    for (what, y) in [("rotated", moved), ("permuted", permuted)] {
        let e2 = energy(&model, &y, &device);
        assert!(
            (e2 - e).abs() < 1e-4 * (1.0 + e.abs()),
            "{what}: {e2} vs {e}"
        );
    }
}

#[test]
fn atoms_beyond_the_cutoff_do_not_interact() {
    // Two molecules in one batch give the same energies as each alone, and an atom 20 Å away
    // from a molecule adds exactly one isolated atom's energy.
    let (model, device) = model();
    let a = cluster(4, 3);
    let b = cluster(5, 4);
    let both: Vec<f32> = a.iter().chain(&b).copied().collect();
    let graph = AtomsGraph::new(&[4, 5]);
    let t = Tensor::<2>::from_data(TensorData::new(both, [9, 3]), &device);
    let batched: Vec<f32> = model.forward(t, &graph).into_data().try_to_vec().unwrap();
    assert!((batched[0] - energy(&model, &a, &device)).abs() < 1e-5);
    assert!((batched[1] - energy(&model, &b, &device)).abs() < 1e-5);
    let mut far = a.clone();
    far.extend_from_slice(&[20.0, 20.0, 20.0]);
    let lone = energy(&model, &[0.0, 0.0, 0.0], &device);
    let e = energy(&model, &far, &device);
    assert!((e - energy(&model, &a, &device) - lone).abs() < 1e-5, "{e}");
}
