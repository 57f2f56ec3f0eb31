//! 1–3 random rectangular blocks of material with random velocities: the GNS paper's MPM scenes.

use crate::SimError;
use learnsim_core::{ParticleKind, ParticleState};
use rand::Rng;

/// Parameters of a random-blocks scene.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlocksScene {
    /// Spacing of the particle lattice inside a block.
    pub spacing: f64,
    /// Inclusive range of the total particle count.
    pub n_particles: (usize, usize),
    /// Largest number of blocks (at least one is placed).
    pub max_blocks: usize,
    /// Largest initial speed of a block.
    pub max_speed: f64,
    /// Region blocks must lie in, `[lo, hi]` on both axes.
    pub region: (f64, f64),
    /// Kind of every particle.
    pub kind: ParticleKind,
}

#[derive(Debug, Clone, Copy)]
struct Rect {
    lo: [f64; 2],
    hi: [f64; 2],
}

impl Rect {
    fn overlaps(&self, other: &Rect, margin: f64) -> bool {
        (0..2).all(|a| self.lo[a] < other.hi[a] + margin && other.lo[a] < self.hi[a] + margin)
    }
}

/// Samples a scene: a particle budget split over 1..=max_blocks blocks of random aspect ratio,
/// placed without overlap (rejection sampling), each moving with one random velocity of
/// magnitude up to `max_speed`. Lattice positions carry a jitter of ±0.1 spacing so that no
/// perfect symmetry survives.
pub fn random_blocks(
    scene: &BlocksScene,
    rng: &mut impl Rng,
) -> Result<ParticleState<2>, SimError> {
    let s = scene.spacing;
    let total = rng.random_range(scene.n_particles.0..=scene.n_particles.1);
    let n_blocks = rng.random_range(1..=scene.max_blocks.max(1));
    let (lo, hi) = scene.region;
    let mut placed: Vec<(Rect, usize, usize)> = Vec::new();
    'blocks: for b in 0..n_blocks {
        let n_block = total / n_blocks + usize::from(b < total % n_blocks);
        let area = n_block as f64 * s * s;
        for _ in 0..1000 {
            let aspect: f64 = rng.random_range(0.5..2.0);
            let nx = ((area * aspect).sqrt() / s).round().max(1.0) as usize;
            let ny = n_block.div_ceil(nx);
            let size = [nx as f64 * s, ny as f64 * s];
            if size[0] >= hi - lo || size[1] >= hi - lo {
                continue;
            }
            let x0 = [
                rng.random_range(lo..hi - size[0]),
                rng.random_range(lo..hi - size[1]),
            ];
            let rect = Rect {
                lo: x0,
                hi: [x0[0] + size[0], x0[1] + size[1]],
            };
            if placed.iter().all(|(p, _, _)| !p.overlaps(&rect, 4.0 * s)) {
                placed.push((rect, nx, n_block));
                continue 'blocks;
            }
        }
        if placed.is_empty() {
            return Err(SimError::Scene(format!(
                "could not place a block of {n_block} particles in [{lo}, {hi}]²"
            )));
        }
    }

    let mut position = Vec::with_capacity(total);
    let mut velocity = Vec::with_capacity(total);
    for (rect, nx, n_block) in placed {
        let speed = rng.random_range(0.0..=scene.max_speed);
        let angle = rng.random_range(0.0..std::f64::consts::TAU);
        let v = [speed * angle.cos(), speed * angle.sin()];
        for k in 0..n_block {
            let (i, j) = (k % nx, k / nx);
            let jitter: [f64; 2] = [rng.random_range(-0.1..0.1), rng.random_range(-0.1..0.1)];
            position.push([
                rect.lo[0] + (i as f64 + 0.5 + jitter[0]) * s,
                rect.lo[1] + (j as f64 + 0.5 + jitter[1]) * s,
            ]);
            velocity.push(v);
        }
    }
    let n = position.len();
    Ok(ParticleState {
        position,
        velocity,
        kind: vec![scene.kind; n],
    })
}
