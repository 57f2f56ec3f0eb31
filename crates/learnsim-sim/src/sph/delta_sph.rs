//! δ-SPH step: continuity density with density diffusion, Morris viscosity, dynamic boundary
//! particles, a rigid body moved by the forces on its particles, semi-implicit Euler.

use super::{Contact, Sph, SphState, is_fluid};
use learnsim_core::ParticleKind;
use rayon::prelude::*;

/// Rates of change of one particle. A body particle's `acceleration` is the pair terms it would
/// get as a fluid particle of mass m (so m times it is the exact reaction of the force it
/// exerts) plus the wall contact divided by m.
#[derive(Debug, Clone, Copy, Default)]
struct Rates {
    acceleration: [f64; 2],
    density_rate: f64,
}

/// One semi-implicit Euler step: v += dt·a, x += dt·v (fluid, and the body as a whole),
/// ρ += dt·dρ/dt (all).
pub fn substep(solver: &mut Sph, state: &mut SphState, delta: f64) {
    let cfg = solver.config;
    let kernel = cfg.kernel();
    let h = kernel.h;
    let eta2 = 0.01 * h * h;
    let m = cfg.particle_mass();
    let neighbors = solver.neighbors(&state.particles.position);
    let p = &state.particles;
    let contact = state
        .body
        .as_ref()
        .map(|body| Contact::of(body, cfg.dx, cfg.dt));
    // No tension anywhere: a free surface carries no negative pressure (where the kernel is cut
    // off there, density reads low and a negative pressure would pull the surface into clumps),
    // and a dynamic wall particle only pushes.
    let pressure: Vec<f64> = state
        .density
        .iter()
        .map(|&rho| cfg.pressure(rho).max(0.0))
        .collect();

    let rates: Vec<Rates> = (0..p.n_particles())
        .into_par_iter()
        .map(|i| {
            let mut rates = Rates::default();
            let (rho_i, p_i) = (state.density[i], pressure[i]);
            let fluid_i = is_fluid(p.kind[i]);
            let body_i = p.kind[i] == ParticleKind::Rigid;
            for pair in neighbors.of(i) {
                let (j, x_ij, r) = (pair.j, pair.x_ij, pair.r);
                if r <= 0.0 {
                    continue;
                }
                let r2 = r * r;
                let dw = kernel.derivative(r);
                let grad = [dw * x_ij[0] / r, dw * x_ij[1] / r];
                let v_ij = [
                    p.velocity[i][0] - p.velocity[j][0],
                    p.velocity[i][1] - p.velocity[j][1],
                ];
                let rho_j = state.density[j];
                let fluid_j = is_fluid(p.kind[j]);
                if !fluid_i && !fluid_j {
                    // Boundary with boundary: a body particle touching a wall feels the contact
                    // spring; no density or pressure terms (walls and bodies keep theirs from
                    // the fluid alone; between walls v_ij = 0 anyway).
                    if let (true, true, Some(contact)) = (body_i, p.kind[j].is_kinematic(), contact)
                    {
                        let f = contact.force(x_ij, r, v_ij);
                        for a in 0..2 {
                            rates.acceleration[a] += f[a] / m;
                        }
                    }
                    continue;
                }
                // Continuity: dρᵢ/dt = Σ mⱼ vᵢⱼ·∇ᵢWᵢⱼ.
                rates.density_rate += m * (v_ij[0] * grad[0] + v_ij[1] * grad[1]);
                let x_dot_grad = x_ij[0] * grad[0] + x_ij[1] * grad[1];
                if fluid_i && fluid_j {
                    // δ-SPH diffusion: δ h c₀ Σ 2(ρⱼ − ρᵢ)(xⱼᵢ·∇ᵢWᵢⱼ)/(r² + η²) Vⱼ.
                    rates.density_rate +=
                        delta * h * cfg.sound_speed * 2.0 * (rho_j - rho_i) * (-x_dot_grad)
                            / (r2 + eta2)
                            * (m / rho_j);
                }
                if fluid_i || body_i {
                    let p_term = m * (p_i / (rho_i * rho_i) + pressure[j] / (rho_j * rho_j));
                    // Morris: Σ mⱼ (μᵢ + μⱼ) xᵢⱼ·∇ᵢWᵢⱼ / (ρᵢρⱼ(r² + η²)) vᵢⱼ with μ = ρν.
                    let visc = m * cfg.viscosity * (rho_i + rho_j) * x_dot_grad
                        / (rho_i * rho_j * (r2 + eta2));
                    for a in 0..2 {
                        rates.acceleration[a] += -p_term * grad[a] + visc * v_ij[a];
                    }
                }
            }
            if fluid_i {
                for a in 0..2 {
                    rates.acceleration[a] += cfg.gravity[a];
                }
            }
            rates
        })
        .collect();

    let dt = cfg.dt;
    if let Some(body) = state.body.as_mut() {
        let (mut force, mut torque) = ([0.0; 2], 0.0);
        for (k, i) in body.particles.clone().enumerate() {
            let f = [m * rates[i].acceleration[0], m * rates[i].acceleration[1]];
            let r = body.arm(k);
            force[0] += f[0];
            force[1] += f[1];
            torque += r[0] * f[1] - r[1] * f[0];
        }
        body.advance(force, torque, cfg.gravity, dt, &cfg.domain);
        body.place(
            &cfg.domain,
            &mut state.particles.position,
            &mut state.particles.velocity,
        );
    }
    for (i, rate) in rates.iter().enumerate() {
        state.density[i] += dt * rate.density_rate;
        if !is_fluid(state.particles.kind[i]) {
            continue;
        }
        let mut v = state.particles.velocity[i];
        v[0] += dt * rate.acceleration[0];
        v[1] += dt * rate.acceleration[1];
        let mut x = state.particles.position[i];
        let step = [dt * v[0], dt * v[1]];
        solver.advect(&mut x, &mut v, step);
        state.particles.position[i] = x;
        state.particles.velocity[i] = v;
    }
    solver.recycle(neighbors);
}
