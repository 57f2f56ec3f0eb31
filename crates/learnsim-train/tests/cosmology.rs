//! The D3M case's symmetry augmentation and metrics: the N-body map commutes with the cube
//! symmetries the training draws, the metrics of a field against itself are exact, and a
//! few Adam steps on real universes lower the validation error from the ZA start.

use learnsim_models::{default_inference_device, default_training_device};
use learnsim_sim::spectral::cosmology::{CosmologyRecipe, LinearField, particle_mesh_run};
use learnsim_train::cosmology::{
    CosmologyConfig, CubeSymmetry, Displacements, pooled_relative_error, train_unet,
    transfer_and_correlation,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn flat(f: &[Vec<f64>; 3]) -> Vec<f32> {
    f.iter().flatten().map(|&v| v as f32).collect()
}

fn split(f: &[f32]) -> [Vec<f64>; 3] {
    let points = f.len() / 3;
    std::array::from_fn(|c| {
        f[c * points..(c + 1) * points]
            .iter()
            .map(|&v| f64::from(v))
            .collect()
    })
}

fn recipe() -> CosmologyRecipe {
    CosmologyRecipe {
        n: 8,
        steps: 10,
        ..CosmologyRecipe::standard()
    }
}

/// Rotating, reflecting or shifting the initial displacements rotates, reflects or shifts the
/// N-body result: the PM solver (cubic mesh, CIC, an axis-symmetric gradient, nodes at cell
/// centres so that a flip maps nodes to nodes) commutes with the 48 cube symmetries and the
/// lattice shifts, which is what licenses them as data augmentation. What differs is f32
/// storage of the inputs (both runs start from the same f32 values) and FFT summation order
/// (≈ 1e-13), amplified by at most a few over 10 steps of mildly non-linear evolution; 1e-6
/// of the displacement scale bounds it.
#[test]
fn n_body_map_commutes_with_cube_symmetries() {
    let recipe = recipe();
    let n = recipe.n;
    let field = LinearField::gaussian(&recipe, 4, 1.0).unwrap();
    // Round through f32 first so that both runs start from identical values.
    let psi1 = split(&flat(&field.zeldovich()));
    let psi2 = split(&flat(&field.second_order()));
    let run = |a: &[Vec<f64>; 3], b: &[Vec<f64>; 3]| {
        flat(&particle_mesh_run(&recipe, a, b, &mut |_| {}).unwrap())
    };
    let base = run(&psi1, &psi2);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let scale = base.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for _ in 0..4 {
        let s = CubeSymmetry::random(&mut rng, n);
        let moved = run(
            &split(&s.apply(&flat(&psi1), n)),
            &split(&s.apply(&flat(&psi2), n)),
        );
        let expected = s.apply(&base, n);
        let worst = moved
            .iter()
            .zip(&expected)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst < 1e-6 * scale.max(1.0), "{s:?}: {worst}");
    }
    // The identity is the identity; a flip twice is too.
    assert_eq!(CubeSymmetry::IDENTITY.apply(&base, n), base);
    let flip = CubeSymmetry {
        permutation: [0, 1, 2],
        flip: [true, false, true],
        shift: [0; 3],
    };
    assert_eq!(flip.apply(&flip.apply(&base, n), n), base);
}

/// A field against itself: zero error, T(k) = r(k) = 1 in every populated shell.
#[test]
fn metrics_of_a_field_against_itself_are_exact() {
    let recipe = recipe();
    let n = recipe.n;
    let psi = flat(&LinearField::gaussian(&recipe, 2, 1.0).unwrap().zeldovich());
    let set = vec![psi];
    assert_eq!(pooled_relative_error(&set, &set), 0.0);
    let (t, r) = transfer_and_correlation(&set, &set, n);
    for k in 1..t.len() {
        assert!(
            (t[k] - 1.0).abs() < 1e-12 && (r[k] - 1.0).abs() < 1e-12,
            "k {k}"
        );
    }
}

/// Fields with known T(k) and r(k). At a tiny amplitude (power 1e-8 of the recipe's: rms
/// displacement 1e-4 cells) the CIC density is linear in the displacement, δ = −∇·ψ to
/// O(1e-4), so a copy scaled by α has T(k) = |α| and r(k) = sign(α) in every shell, up to that
/// O(1e-4) (bound 1e-3). A metric that forgot the square root (T = α²) or normalised r by one
/// spectrum only fails it.
#[test]
fn metrics_of_scaled_fields_have_their_analytic_transfer_and_correlation() {
    let recipe = recipe();
    let n = recipe.n;
    let psi = flat(&LinearField::gaussian(&recipe, 3, 1e-8).unwrap().zeldovich());
    let rms = (psi.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / psi.len() as f64).sqrt();
    assert!(rms < 1e-3, "rms displacement {rms} cells");
    for alpha in [0.5f32, -1.0, 2.0] {
        let scaled: Vec<f32> = psi.iter().map(|v| alpha * v).collect();
        let (t, r) = transfer_and_correlation(&[scaled], std::slice::from_ref(&psi), n);
        for k in 1..t.len() {
            let (want_t, want_r) = (f64::from(alpha.abs()), f64::from(alpha.signum()));
            assert!(
                (t[k] / want_t - 1.0).abs() < 1e-3,
                "α {alpha}, k {k}: T {}",
                t[k]
            );
            assert!((r[k] - want_r).abs() < 1e-3, "α {alpha}, k {k}: r {}", r[k]);
        }
    }
}

/// 120 Adam steps on 12 small universes: the U-Net starts at ZA (zero head) and the kept
/// weights do better than ZA on the validation universes (the residual Ψ_PM − Ψ_ZA is the
/// 2LPT-like term, which even a few steps begin to learn). With 60 steps the best validation
/// error was 0.870 of ZA's here and 0.915 in a clean-clone CI run (the same code: the test
/// binary's other tests running beside it change the result), too close to the 0.9 bound;
/// 120 steps give 0.665 (measured), the same bound with room.
#[test]
fn a_short_training_improves_on_zeldovich() {
    let recipe = recipe();
    let n = recipe.n;
    let universes: Vec<Displacements> = (0..14)
        .map(|i| {
            let u = learnsim_sim::spectral::cosmology::universe(&recipe, 100 + i, 1.0, &mut |_| {})
                .unwrap();
            Displacements {
                zeldovich: flat(&u.zeldovich),
                second_order: flat(&u.second_order),
                n_body: flat(&u.n_body),
            }
        })
        .collect();
    let config = CosmologyConfig {
        seed: 0,
        universe: recipe,
        train: 12,
        valid: 2,
        test: 0,
        extrapolation: 0,
        extrapolation_power: 1.5,
        widths: vec![8, 16],
        steps: 120,
        batch_size: 4,
        lr: 3e-3,
        lr_final: 1e-3,
        valid_every: 10,
        augment: true,
    };
    let (train, valid) = universes.split_at(12);
    let model = train_unet(
        &config,
        train,
        valid,
        &default_training_device(),
        None,
        &mut |_, _| {},
    )
    .unwrap();
    let start = f64::from(model.valid_error[0].loss);
    let best = model
        .valid_error
        .iter()
        .map(|p| f64::from(p.loss))
        .fold(f64::INFINITY, f64::min);
    assert!(best < 0.9 * start, "validation {start} → {best}");
    let za: Vec<Vec<f32>> = valid.iter().map(|u| u.zeldovich.clone()).collect();
    let truth: Vec<Vec<f32>> = valid.iter().map(|u| u.n_body.clone()).collect();
    let predicted = model.predict(&za, n, &default_inference_device());
    let error = pooled_relative_error(&predicted, &truth);
    assert!((error - best).abs() < 1e-4, "{error} vs {best}");
}
