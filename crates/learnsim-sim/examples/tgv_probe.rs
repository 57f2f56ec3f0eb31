use learnsim_core::Stepper;
use learnsim_sim::scenes::{TaylorGreenScene, taylor_green};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
fn main() {
    let args: Vec<f64> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let mut config = learnsim_sim::case::tgv_config(args[0]);
    config.formulation = learnsim_sim::sph::Formulation::TransportVelocity { background_pressure: args[1] }; config.smoothing_ratio = args[2];
    config.viscosity = args[4]; config.dt = args[5]; config.steps_per_frame = (0.04/args[5]).round() as usize; config.sound_speed = args[6];
    let mut state = taylor_green(&TaylorGreenScene { amplitude: std::env::var("AMP").map(|v| v.parse().unwrap()).unwrap_or(1.0) }, &config, &mut ChaCha8Rng::seed_from_u64(7));
    let mut solver = config.init().unwrap();
    let e0 = solver.kinetic_energy(&state);
    let mut worst: f64 = 0.0;
    for frame in 1..=(std::env::var("NF").map(|v| v.parse().unwrap()).unwrap_or(25)) {
        solver.step(&mut state).unwrap();
        let t = frame as f64 * 0.04;
        let exact = (-16.0 * std::f64::consts::PI.powi(2) * 0.01 * t).exp();
        let r = solver.kinetic_energy(&state) / e0;
        worst = worst.max((r - exact).abs() / exact);
        let vmax = state.particles.velocity.iter().map(|v| (v[0]*v[0]+v[1]*v[1]).sqrt()).fold(0.0f64, f64::max);
        let rmin = state.density.iter().cloned().fold(f64::MAX, f64::min);
        let rmax = state.density.iter().cloned().fold(0.0f64, f64::max);
        if frame % 2 == 0 { println!("t={t:.2} {r:.4}/{exact:.4} vmax {vmax:.3} rho [{rmin:.4},{rmax:.4}]"); }
    }
    println!("\nworst {worst:.4}");
}
