//! Velocity and acceleration statistics as LagrangeBench computes them: per-frame differences
//! with dt folded in, over every non-kinematic particle and frame, per axis.

use learnsim_core::Trajectory;

/// Mean and standard deviation per axis.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffStats {
    /// Mean of `v_t = x_t − x_{t−1}`.
    pub vel_mean: Vec<f64>,
    /// Std of `v_t`.
    pub vel_std: Vec<f64>,
    /// Mean of `a_t = x_{t+1} − 2x_t + x_{t−1}`.
    pub acc_mean: Vec<f64>,
    /// Std of `a_t`.
    pub acc_std: Vec<f64>,
}

#[derive(Debug, Clone, Default)]
struct Moments {
    n: f64,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
}

impl Moments {
    fn new(dim: usize) -> Self {
        Self {
            n: 0.0,
            sum: vec![0.0; dim],
            sum_sq: vec![0.0; dim],
        }
    }

    fn push(&mut self, axis: usize, value: f64) {
        if axis == 0 {
            self.n += 1.0;
        }
        self.sum[axis] += value;
        self.sum_sq[axis] += value * value;
    }

    fn mean_std(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.n.max(1.0);
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let std = self
            .sum_sq
            .iter()
            .zip(&mean)
            .map(|(sq, m)| (sq / n - m * m).max(0.0).sqrt())
            .collect();
        (mean, std)
    }
}

/// Statistics over `trajectories`. `period` gives the box length of each periodic axis
/// (`None` for walled axes), so that a particle crossing the boundary counts its short step.
pub fn difference_stats(trajectories: &[Trajectory], period: &[Option<f64>]) -> DiffStats {
    let dim = trajectories.first().map_or(period.len(), |t| t.dim);
    let wrap = |d: f64, axis: usize| match period.get(axis).copied().flatten() {
        Some(length) => d - length * (d / length).round(),
        None => d,
    };
    let mut vel = Moments::new(dim);
    let mut acc = Moments::new(dim);
    for t in trajectories {
        let stride = t.n_particles * t.dim;
        let at =
            |frame: usize, p: usize, a: usize| t.position[frame * stride + p * t.dim + a] as f64;
        for p in (0..t.n_particles).filter(|&p| !t.kind[p].is_kinematic()) {
            for frame in 1..t.n_frames {
                for a in 0..dim {
                    let v = wrap(at(frame, p, a) - at(frame - 1, p, a), a);
                    vel.push(a, v);
                    if frame + 1 < t.n_frames {
                        let v_next = wrap(at(frame + 1, p, a) - at(frame, p, a), a);
                        acc.push(a, v_next - v);
                    }
                }
            }
        }
    }
    let (vel_mean, vel_std) = vel.mean_std();
    let (acc_mean, acc_std) = acc.mean_std();
    DiffStats {
        vel_mean,
        vel_std,
        acc_mean,
        acc_std,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use learnsim_core::ParticleKind;

    #[test]
    fn constant_acceleration_gives_hand_computed_stats() {
        // x_t = 0.5 t² on axis 0, 0.5 + 0.1 t (periodic, length 1, wraps) on axis 1.
        let frames = 5;
        let mut position = Vec::new();
        for t in 0..frames {
            let t = t as f32;
            position.extend_from_slice(&[0.5 * t * t, (0.5 + 0.1 * t).rem_euclid(1.0)]);
            position.extend_from_slice(&[9.0, 9.0]); // a wall particle, ignored
        }
        let kind = vec![ParticleKind::Water, ParticleKind::Wall];
        let traj = Trajectory::new(2, frames, position, kind).unwrap();
        let stats = difference_stats(&[traj], &[None, Some(1.0)]);
        // Velocities 0.5, 1.5, 2.5, 3.5 → mean 2, std √1.25; accelerations all 1.
        assert!((stats.vel_mean[0] - 2.0).abs() < 1e-6);
        assert!((stats.vel_std[0] - 1.25f64.sqrt()).abs() < 1e-6);
        assert!((stats.acc_mean[0] - 1.0).abs() < 1e-6 && stats.acc_std[0] < 1e-6);
        // The periodic axis moves by 0.1 every frame, across the wrap too.
        assert!((stats.vel_mean[1] - 0.1).abs() < 1e-6 && stats.vel_std[1] < 1e-6);
    }
}
