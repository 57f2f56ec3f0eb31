//! A granular column resting on the floor, released at rest: the column collapse experiments
//! (Lube et al. 2005; Lajeunesse et al. 2005) and geoelements' sand datasets, whose runout the
//! friction angle sets.

use crate::SimError;
use learnsim_core::{ParticleKind, ParticleState};
use rand::Rng;

/// Parameters of a column-collapse scene.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnScene {
    /// Spacing of the particle lattice inside the column.
    pub spacing: f64,
    /// Inclusive range of the particle count.
    pub n_particles: (usize, usize),
    /// Range of the aspect ratio height / width (the experiments' `a`).
    pub aspect: (f64, f64),
    /// Floor and walls: the column stands on `region.0` and lies within `[lo, hi]` across.
    pub region: (f64, f64),
    /// Kind of every particle.
    pub kind: ParticleKind,
}

/// Samples a column: a particle count and an aspect ratio drawn uniformly, the column standing
/// on the floor at a uniformly drawn place at least `margin` from each side wall, every particle
/// at rest. Lattice positions carry a jitter of ±0.1 spacing, as in the block scenes; the
/// bottom row keeps its jitter inside the column (no particle below the floor).
pub fn column_collapse(
    scene: &ColumnScene,
    margin: f64,
    rng: &mut impl Rng,
) -> Result<ParticleState<2>, SimError> {
    let s = scene.spacing;
    let (lo, hi) = scene.region;
    let total = rng.random_range(scene.n_particles.0..=scene.n_particles.1);
    let aspect = rng.random_range(scene.aspect.0..=scene.aspect.1);
    // n = nx · ny with ny / nx = aspect.
    let nx = ((total as f64 / aspect).sqrt()).round().max(1.0) as usize;
    let ny = total.div_ceil(nx);
    let size = [nx as f64 * s, ny as f64 * s];
    if size[0] + 2.0 * margin >= hi - lo || size[1] >= hi - lo {
        return Err(SimError::Scene(format!(
            "a column of {nx} × {ny} particles (spacing {s}) does not fit in [{lo}, {hi}]² with {margin} from the walls"
        )));
    }
    let x0 = rng.random_range(lo + margin..=hi - margin - size[0]);
    let mut position = Vec::with_capacity(total);
    for k in 0..total {
        let (i, j) = (k % nx, k / nx);
        let jitter: [f64; 2] = [rng.random_range(-0.1..0.1), rng.random_range(-0.1..0.1)];
        position.push([
            x0 + (i as f64 + 0.5 + jitter[0]) * s,
            lo + (j as f64 + 0.5 + jitter[1]) * s,
        ]);
    }
    Ok(ParticleState::at_rest(position, vec![scene.kind; total]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn a_column_stands_on_the_floor_at_rest_with_its_aspect_ratio() {
        let scene = ColumnScene {
            spacing: 1.0 / 256.0,
            n_particles: (300, 600),
            aspect: (1.0, 3.0),
            region: (0.1, 0.9),
            kind: ParticleKind::Sand,
        };
        for seed in 0..20 {
            let state =
                column_collapse(&scene, 0.05, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            let n = state.position.len();
            assert!((300..=600).contains(&n));
            assert!(state.velocity.iter().all(|v| *v == [0.0, 0.0]));
            let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
            for p in &state.position {
                for a in 0..2 {
                    lo[a] = lo[a].min(p[a]);
                    hi[a] = hi[a].max(p[a]);
                }
            }
            // Particle centres lie half a spacing (± the 0.1 jitter) inside the column's edges.
            let s = scene.spacing;
            assert!(
                lo[1] >= 0.1 + 0.4 * s && lo[1] <= 0.1 + 0.6 * s,
                "on the floor: {lo:?}"
            );
            assert!(
                lo[0] >= 0.15 && hi[0] <= 0.85,
                "away from the walls: {lo:?} {hi:?}"
            );
            // The top row may be partial, so the measured aspect lies within one row of the
            // drawn one: (ny − 1)/nx ≤ a' ≤ (ny + 1)/nx, a ∈ [1, 3], nx ≥ 10 here.
            let aspect = (hi[1] - lo[1] + s) / (hi[0] - lo[0] + s);
            assert!((0.85..=3.3).contains(&aspect), "aspect {aspect}");
        }
    }
}
