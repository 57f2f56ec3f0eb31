//! A water column collapsing in an open tank with wall particles (LagrangeBench's dam break).

use crate::sph::{FLUID, SphConfig, SphState};
use learnsim_core::{ParticleKind, ParticleState};
use rand::Rng;

/// Parameters of a dam-break scene. The tank's inner floor is y = 0, its inner side walls
/// x = 0 and x = `tank_width`; walls are `wall_layers` rows of kinematic particles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DamBreakScene {
    /// Inner width of the tank.
    pub tank_width: f64,
    /// Inner height of the tank (the side walls reach it).
    pub tank_height: f64,
    /// Range of the column width.
    pub column_width: (f64, f64),
    /// Range of the column height.
    pub column_height: (f64, f64),
    /// Rows of wall particles (the kernel support is 2.6 dx, so 3 rows).
    pub wall_layers: usize,
}

/// Builds the tank and a column of random size at its left wall, at hydrostatic density.
pub fn dam_break(scene: &DamBreakScene, config: &SphConfig, rng: &mut impl Rng) -> SphState {
    let dx = config.dx;
    let g = config.gravity[1].abs();
    let width = rng.random_range(scene.column_width.0..=scene.column_width.1);
    let height = rng.random_range(scene.column_height.0..=scene.column_height.1);
    let (nx, ny) = (
        (width / dx).round() as usize,
        (height / dx).round() as usize,
    );
    let column_top = ny as f64 * dx;
    let hydrostatic =
        |y: f64| config.density_for_pressure(config.rest_density * g * (column_top - y).max(0.0));

    let mut position = Vec::new();
    let mut kind = Vec::new();
    let mut density = Vec::new();
    for i in 0..nx {
        for j in 0..ny {
            let x = [(i as f64 + 0.5) * dx, (j as f64 + 0.5) * dx];
            position.push(x);
            kind.push(FLUID);
            density.push(hydrostatic(x[1]));
        }
    }
    let n_wide = (scene.tank_width / dx).round() as usize;
    let n_high = (scene.tank_height / dx).round() as usize;
    let layers = scene.wall_layers as isize;
    // Floor under the tank and its corners, then the two side walls above the floor.
    for i in -layers..(n_wide as isize + layers) {
        for l in 0..layers {
            let y = -(l as f64 + 0.5) * dx;
            position.push([(i as f64 + 0.5) * dx, y]);
            kind.push(ParticleKind::Wall);
            density.push(hydrostatic(y));
        }
    }
    for j in 0..n_high {
        let y = (j as f64 + 0.5) * dx;
        for l in 0..layers {
            for x in [
                -(l as f64 + 0.5) * dx,
                scene.tank_width + (l as f64 + 0.5) * dx,
            ] {
                position.push([x, y]);
                kind.push(ParticleKind::Wall);
                density.push(hydrostatic(y));
            }
        }
    }
    let n = position.len();
    SphState::new(
        ParticleState {
            position,
            velocity: vec![[0.0; 2]; n],
            kind,
        },
        density,
    )
}
