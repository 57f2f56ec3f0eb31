//! A dam break running into a floating box (after DPI-Nets' and GNS's BoxBath): the dam-break
//! tank and column, a shallow bath of still water over the rest of the floor, and a square
//! block of rigid-body particles lighter than water floating in it.

use crate::scenes::{DamBreakScene, dam_break};
use crate::sph::{RigidBody, SphConfig, SphState, is_fluid};
use learnsim_core::{ParticleKind, ParticleState};
use rand::Rng;

/// Parameters of a box-bath scene.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxBathScene {
    /// The tank and the water column.
    pub tank: DamBreakScene,
    /// Range of the depth of the still bath downstream of the column.
    pub bath_depth: (f64, f64),
    /// Particles along each side of the box (the GNS BoxBath box has 64 particles: 8 × 8).
    pub box_side: usize,
    /// Range of the box's density over the water's rest density (below 1: it floats).
    pub box_density: (f64, f64),
    /// Range of the x of the box's centre.
    pub box_center_x: (f64, f64),
}

/// Builds the dam break of `scene.tank`, a bath from the column's foot to the far wall and a
/// box of random density and position floating in it at rest. The box's particles stand on
/// the fluid's lattice (the bath's cells it covers are left empty), its bottom on the lattice
/// row nearest Archimedes' draft L·ρ_b/ρ₀; everything starts at hydrostatic density, the
/// box's particles at the pressure of their depth in the bath.
pub fn box_bath(scene: &BoxBathScene, config: &SphConfig, rng: &mut impl Rng) -> SphState {
    let column = dam_break(&scene.tank, config, rng);
    let bath = rng.random_range(scene.bath_depth.0..=scene.bath_depth.1);
    let ratio = rng.random_range(scene.box_density.0..=scene.box_density.1);
    let center_x = rng.random_range(scene.box_center_x.0..=scene.box_center_x.1);
    let dx = config.dx;
    let n = scene.box_side;
    let length = n as f64 * dx;
    // Lattice indices of the box's lower-left particle.
    let left = (center_x / dx - 0.5 * n as f64).round() as i64;
    let bottom = ((bath - length * ratio) / dx).round().max(0.0) as i64;
    let in_box = |i: i64, j: i64| {
        (left..left + n as i64).contains(&i) && (bottom..bottom + n as i64).contains(&j)
    };
    let g = config.gravity[1].abs();
    let hydrostatic =
        |y: f64| config.density_for_pressure(config.rest_density * g * (bath - y).max(0.0));

    let mut particles = column.particles;
    let mut density = column.density;
    let column_end = (0..particles.n_particles())
        .filter(|&i| is_fluid(particles.kind[i]))
        .map(|i| particles.position[i][0])
        .fold(0.0, f64::max)
        + 0.5 * dx;
    let (first_column, last_column) = (
        (column_end / dx).round() as i64,
        (scene.tank.tank_width / dx).round() as i64,
    );
    let mut cells = Vec::new();
    for i in first_column..last_column {
        for j in 0..(bath / dx).round() as i64 {
            if !in_box(i, j) {
                cells.push((i, j, ParticleKind::Water));
            }
        }
    }
    let first = particles.n_particles() + cells.len();
    for i in left..left + n as i64 {
        for j in bottom..bottom + n as i64 {
            cells.push((i, j, ParticleKind::Rigid));
        }
    }
    for (i, j, kind) in cells {
        let x = [(i as f64 + 0.5) * dx, (j as f64 + 0.5) * dx];
        particles.position.push(x);
        particles.velocity.push([0.0; 2]);
        particles.kind.push(kind);
        density.push(hydrostatic(x[1]));
    }
    let body = RigidBody::at_rest(
        &particles.position,
        first..first + n * n,
        dx,
        ratio * config.rest_density,
    );
    SphState::new(
        ParticleState {
            position: particles.position,
            velocity: particles.velocity,
            kind: particles.kind,
        },
        density,
    )
    .with_body(body, &config.domain)
}
