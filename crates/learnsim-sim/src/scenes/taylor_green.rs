//! The 2D Taylor–Green vortex on the periodic unit square.

use crate::sph::{FLUID, SphConfig, SphState};
use learnsim_core::ParticleState;
use rand::Rng;
use std::f64::consts::PI;

/// Parameters of a Taylor–Green scene.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaylorGreenScene {
    /// Velocity amplitude U.
    pub amplitude: f64,
}

/// The analytic field, phase-shifted by `offset` and turning the `sign` way:
/// u = −s·U cos(2πx̃) sin(2πỹ), v = s·U sin(2πx̃) cos(2πỹ), p = −ρU²/4 (cos 4πx̃ + cos 4πỹ),
/// with x̃ = x − x₀. It decays as exp(−8π²νt), so kinetic energy as exp(−16π²νt).
pub fn taylor_green_field(
    x: [f64; 2],
    offset: [f64; 2],
    sign: f64,
    amplitude: f64,
    density: f64,
) -> ([f64; 2], f64) {
    let (px, py) = (2.0 * PI * (x[0] - offset[0]), 2.0 * PI * (x[1] - offset[1]));
    let u = -sign * amplitude * px.cos() * py.sin();
    let v = sign * amplitude * px.sin() * py.cos();
    let p = -density * amplitude * amplitude / 4.0 * ((2.0 * px).cos() + (2.0 * py).cos());
    ([u, v], p)
}

/// Particles on the lattice of spacing `config.dx`, with the TGV velocity and the density that
/// the analytic pressure implies (so the first steps carry no pressure shock). A seed draws the
/// phase offset and the rotation sense.
pub fn taylor_green(scene: &TaylorGreenScene, config: &SphConfig, rng: &mut impl Rng) -> SphState {
    let n_side = (1.0 / config.dx).round() as usize;
    let offset = [rng.random_range(0.0..1.0), rng.random_range(0.0..1.0)];
    let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    let mut position = Vec::with_capacity(n_side * n_side);
    let mut velocity = Vec::with_capacity(n_side * n_side);
    let mut density = Vec::with_capacity(n_side * n_side);
    for i in 0..n_side {
        for j in 0..n_side {
            let x = [(i as f64 + 0.5) * config.dx, (j as f64 + 0.5) * config.dx];
            let (v, p) = taylor_green_field(x, offset, sign, scene.amplitude, config.rest_density);
            position.push(x);
            velocity.push(v);
            density.push(config.density_for_pressure(p));
        }
    }
    let n = position.len();
    SphState::new(
        ParticleState {
            position,
            velocity,
            kind: vec![FLUID; n],
        },
        density,
    )
}
