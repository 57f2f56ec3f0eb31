//! Physical baselines that go through the same rollout engine as the learned simulators.

use crate::FrameStepper;
use learnsim_core::Trajectory;

/// x_{t+1} = x_t: nothing moves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Persistence;

impl FrameStepper for Persistence {
    fn warmup(&self) -> usize {
        1
    }

    fn next_frame(&mut self, past: &[&[f32]], _: &Trajectory, _: usize) -> Vec<f32> {
        past[past.len() - 1].to_vec()
    }
}

/// x_{t+1} = 2x_t − x_{t−1}.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConstantVelocity;

impl FrameStepper for ConstantVelocity {
    fn warmup(&self) -> usize {
        2
    }

    fn next_frame(&mut self, past: &[&[f32]], _: &Trajectory, _: usize) -> Vec<f32> {
        let (prev, cur) = (past[past.len() - 2], past[past.len() - 1]);
        cur.iter().zip(prev).map(|(c, p)| 2.0 * c - p).collect()
    }
}

/// x_{t+1} = 2x_t − x_{t−1} + g·Δt², clamped to the walls.
#[derive(Debug, Clone)]
pub struct Ballistic {
    /// Gravity times the frame interval squared, per axis.
    pub gravity_dt2: Vec<f64>,
    /// Walls `[lo, hi]` per axis; `None` on periodic axes.
    pub walls: Vec<Option<[f64; 2]>>,
}

impl FrameStepper for Ballistic {
    fn warmup(&self) -> usize {
        2
    }

    fn next_frame(&mut self, past: &[&[f32]], trajectory: &Trajectory, _: usize) -> Vec<f32> {
        let (prev, cur) = (past[past.len() - 2], past[past.len() - 1]);
        let dim = trajectory.dim;
        cur.iter()
            .zip(prev)
            .enumerate()
            .map(|(k, (c, p))| {
                let a = k % dim;
                let x = 2.0 * *c as f64 - *p as f64 + self.gravity_dt2[a];
                match self.walls[a] {
                    Some([lo, hi]) => x.clamp(lo, hi) as f32,
                    None => x as f32,
                }
            })
            .collect()
    }
}
