//! Transport-velocity formulation (Adami, Hu & Adams 2013, "A transport-velocity formulation for
//! smoothed particle hydrodynamics", J. Comput. Phys. 241).
//!
//! Particles move with a transport velocity ṽ = v + dt·ã, where ã comes from a constant
//! background pressure p_b: −(p_b/mᵢ) Σⱼ (Vᵢ² + Vⱼ²) ∇ᵢWᵢⱼ. On a disordered distribution this
//! pushes particles back towards uniform spacing; the momentum equation gets the matching
//! correction ∇·A with A = ρ v (ṽ − v)ᵀ (eq. 8 of the paper).

use super::{Sph, SphState};
use rayon::prelude::*;

/// Momentum and transport accelerations of one particle.
#[derive(Debug, Clone, Copy, Default)]
struct Rates {
    acceleration: [f64; 2],
    transport: [f64; 2],
}

/// One step: summation density, forces, then v += dt·a, ṽ = v + dt·ã, x += dt·ṽ.
pub fn substep(solver: &mut Sph, state: &mut SphState, background_pressure: f64) {
    let cfg = solver.config;
    let kernel = cfg.kernel();
    let m = cfg.particle_mass();
    let eta = cfg.rest_density * cfg.viscosity;
    let neighbors = solver.neighbors(&state.particles.position);
    let n = state.particles.n_particles();
    let w0 = kernel.value(0.0);
    state.density = (0..n)
        .into_par_iter()
        .map(|i| {
            m * (w0
                + neighbors
                    .of(i)
                    .iter()
                    .map(|pair| kernel.value(pair.r))
                    .sum::<f64>())
        })
        .collect();
    let p = &state.particles;
    let density = &state.density;
    let transport = &state.transport_velocity;
    let pressure: Vec<f64> = density.iter().map(|&rho| cfg.pressure(rho)).collect();
    // A = ρ v (ṽ − v)ᵀ per particle.
    let stress_a: Vec<[[f64; 2]; 2]> = (0..n)
        .map(|i| {
            let v = p.velocity[i];
            let dv = [transport[i][0] - v[0], transport[i][1] - v[1]];
            std::array::from_fn(|a| std::array::from_fn(|b| density[i] * v[a] * dv[b]))
        })
        .collect();

    let rates: Vec<Rates> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut rates = Rates::default();
            let vol_i = m / density[i];
            for pair in neighbors.of(i) {
                let (j, x_ij, r) = (pair.j, pair.x_ij, pair.r);
                if r <= 0.0 {
                    continue;
                }
                let vol_j = m / density[j];
                let vol2 = vol_i * vol_i + vol_j * vol_j;
                let dw = kernel.derivative(r);
                let grad = [dw * x_ij[0] / r, dw * x_ij[1] / r];
                // Density-weighted inter-particle pressure p̃ᵢⱼ.
                let p_ij = (density[j] * pressure[i] + density[i] * pressure[j])
                    / (density[i] + density[j]);
                let v_ij = [
                    p.velocity[i][0] - p.velocity[j][0],
                    p.velocity[i][1] - p.velocity[j][1],
                ];
                for a in 0..2 {
                    let a_term = 0.5
                        * ((stress_a[i][a][0] + stress_a[j][a][0]) * grad[0]
                            + (stress_a[i][a][1] + stress_a[j][a][1]) * grad[1]);
                    rates.acceleration[a] +=
                        vol2 / m * (-p_ij * grad[a] + eta * v_ij[a] / r * dw + a_term);
                    rates.transport[a] += -background_pressure / m * vol2 * grad[a];
                }
            }
            for a in 0..2 {
                rates.acceleration[a] += cfg.gravity[a];
            }
            rates
        })
        .collect();

    let dt = cfg.dt;
    for (i, rate) in rates.iter().enumerate() {
        if state.particles.kind[i].is_kinematic() {
            continue;
        }
        let mut v = state.particles.velocity[i];
        v[0] += dt * rate.acceleration[0];
        v[1] += dt * rate.acceleration[1];
        let tv = [v[0] + dt * rate.transport[0], v[1] + dt * rate.transport[1]];
        let mut x = state.particles.position[i];
        solver.advect(&mut x, &mut v, [dt * tv[0], dt * tv[1]]);
        state.particles.position[i] = x;
        state.particles.velocity[i] = v;
        state.transport_velocity[i] = tv;
    }
    solver.recycle(neighbors);
}
