//! The pendulum models' tensor dynamics against the f64 simulator.

use burn::tensor::{Tensor, TensorData};
use learnsim_models::default_inference_device;
use learnsim_sim::pendulum::Pendulum;
use learnsim_train::pendulum::{Dynamics, TrueDynamics};

/// The planner of the true-model MPC is the simulator's RK4 written in f32 tensor ops: one
/// step from the same states and torques must agree with the f64 step to f32 round-off of
/// O(1) quantities (a few ulps of 1e-7 per operation, ~30 operations): 1e-5.
#[test]
fn tensor_rk4_matches_the_simulator() {
    let p = Pendulum::standard();
    let device = default_inference_device();
    let states = [[0.1, 0.0], [2.0, -3.0], [-3.0, 5.0], [3.1, 0.2]];
    let torques = [0.0, 4.0, -2.5, 10.0];
    let flat: Vec<f32> = states.iter().flat_map(|s| s.map(|v| v as f32)).collect();
    // The tensor model takes torques already within the limit, as the MPC planner's are.
    let clipped: Vec<f32> = torques
        .iter()
        .map(|u: &f64| u.clamp(-p.max_torque, p.max_torque) as f32)
        .collect();
    let next = TrueDynamics(p.clone())
        .step(
            Tensor::from_data(TensorData::new(flat, [4, 2]), &device),
            Tensor::from_data(TensorData::new(clipped, [4, 1]), &device),
        )
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for (i, (s, u)) in states.iter().zip(torques).enumerate() {
        let exact = p.step(*s, u);
        for d in 0..2 {
            let got = f64::from(next[2 * i + d]);
            assert!(
                (got - exact[d]).abs() < 1e-5,
                "state {i}: {got} vs {}",
                exact[d]
            );
        }
    }
}

/// No force depends on where the cart stands, and neither model sees it: states that differ
/// only in the cart's position step to states that differ by the same shift, for any weights
/// (here untrained ones) and both GN architectures. The shifted sums round differently in f32
/// (positions O(1): a few ulps of 1e-7), hence 1e-6.
#[test]
fn cartpole_models_are_translation_invariant_along_the_rail() {
    use learnsim_train::pendulum::{
        GnArchitecture, GnDynamics, MlpDynamics, PendulumConfig, PendulumScale, Plant,
    };
    let config: PendulumConfig = crate::common::shipped("pendulum-mpc");
    let plant = Plant::Cartpole(config.cartpole.clone());
    let device = default_inference_device();
    let scale = PendulumScale {
        state_std: vec![1.0, 2.0, 1.5, 3.0],
        delta_mean: vec![0.0, 0.01, 0.0, -0.02],
        delta_std: vec![0.05, 0.2, 0.06, 0.4],
    };
    let states = |shift: f32| {
        let rows = [[0.3f32, -1.0, 2.0, 0.5], [-0.7, 0.4, -1.2, -2.0]];
        let flat: Vec<f32> = rows
            .iter()
            .flat_map(|r| [r[0] + shift, r[1], r[2], r[3]])
            .collect();
        Tensor::<2>::from_data(TensorData::new(flat, [2, 4]), &device)
    };
    let forces = || Tensor::<2>::from_data(TensorData::new(vec![3.0f32, -7.5], [2, 1]), &device);
    let check = |name: &str, model: &dyn Dynamics| {
        let here = model
            .step(states(0.0), forces())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let there = model
            .step(states(2.5), forces())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (i, (a, b)) in here.iter().zip(&there).enumerate() {
            let shift = if i % 4 == 0 { 2.5 } else { 0.0 };
            assert!(
                (b - a - shift).abs() < 1e-6,
                "{name}, entry {i}: {a} vs {b}"
            );
        }
    };
    for architecture in [GnArchitecture::GnGn, GnArchitecture::EncodeProcessDecode] {
        let gn = GnDynamics {
            model: config.gn(architecture, &plant, &device),
            scale: scale.clone(),
            plant: plant.clone(),
        };
        check(architecture.name(), &gn);
    }
    let mlp = MlpDynamics {
        model: config.mlp(&plant, 5000).init(&device),
        scale,
        plant: plant.clone(),
    };
    check("mlp", &mlp);
}
