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
