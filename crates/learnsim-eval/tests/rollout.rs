//! The rollout engine and baselines on hand-computed inputs.

use learnsim_core::{ParticleKind, Trajectory};
use learnsim_eval::{
    Ballistic, ConstantVelocity, FrameStepper, RolloutError, mse_at_horizons, rollout,
    rollout_after,
};

/// One water particle moving at +0.1 per frame in x, one wall particle oscillating.
fn truth(n_frames: usize) -> Trajectory {
    let mut position = Vec::new();
    for t in 0..n_frames {
        position.extend_from_slice(&[0.1 * t as f32, 0.5, 0.5, if t % 2 == 0 { 0.2 } else { 0.3 }]);
    }
    Trajectory::new(
        2,
        n_frames,
        position,
        vec![ParticleKind::Water, ParticleKind::Wall],
    )
    .unwrap()
}

#[test]
fn constant_velocity_is_exact_on_uniform_motion_and_walls_follow_ground_truth() {
    let t = truth(10);
    let r = rollout(&mut ConstantVelocity, &t).unwrap();
    assert_eq!(r.warmup, 2);
    for frame in 0..10 {
        let (p, q) = (r.predicted.frame(frame), t.frame(frame));
        assert!((p[0] - q[0]).abs() < 1e-5 && p[1] == q[1]);
        // The wall zig-zags, which constant velocity would not predict: it comes from truth.
        assert_eq!(&p[2..4], &q[2..4]);
    }
    let mse = mse_at_horizons(&r.predicted, &t, 2, &[None, None]);
    assert!(mse.iter().all(|(_, v)| *v < 1e-10), "{mse:?}");
}

/// Given more input frames than it reads, a stepper copies the truth up to them and predicts
/// from there on its own history; given exactly its own, it is `rollout`.
#[test]
fn rollout_after_starts_predicting_where_its_inputs_end() {
    // A particle accelerating in x, so constant velocity errs by a known amount.
    let position: Vec<f32> = (0..8).flat_map(|t| [0.01 * (t * t) as f32, 0.5]).collect();
    let t = Trajectory::new(2, 8, position, vec![ParticleKind::Water]).unwrap();
    let (after, plain) = (
        rollout_after(&mut ConstantVelocity, &t, 2).unwrap(),
        rollout(&mut ConstantVelocity, &t).unwrap(),
    );
    assert_eq!(
        (after.warmup, after.predicted),
        (plain.warmup, plain.predicted)
    );
    let r = rollout_after(&mut ConstantVelocity, &t, 5).unwrap();
    assert_eq!(r.warmup, 5);
    assert_eq!(r.predicted.position[..10], t.position[..10]);
    // x5 = 2·x4 − x3 = 2·0.16 − 0.09 from the true frames 3 and 4; then from its own.
    let x = |k: usize| r.predicted.frame(k)[0];
    assert!((x(5) - 0.23).abs() < 1e-6, "{}", x(5));
    assert!((x(6) - (2.0 * x(5) - x(4))).abs() < 1e-6);
}

#[test]
fn ballistic_adds_gravity_and_clamps_to_walls() {
    let t = truth(4);
    let mut b = Ballistic {
        gravity_dt2: vec![0.0, -0.3],
        walls: vec![Some([0.0, 1.0]), Some([0.25, 1.0])],
    };
    let past = [t.frame(0), t.frame(1)];
    let next = b.next_frame(&past, &t, 2);
    // x: 2·0.1 − 0 = 0.2; y: 2·0.5 − 0.5 − 0.3 = 0.2, clamped up to the wall at 0.25.
    assert!(
        (next[0] - 0.2).abs() < 1e-6 && (next[1] - 0.25).abs() < 1e-6,
        "{next:?}"
    );
}

/// A stepper that returns NaN from its third prediction on.
struct Exploding(usize);

impl FrameStepper for Exploding {
    fn warmup(&self) -> usize {
        1
    }
    fn next_frame(&mut self, past: &[&[f32]], _: &Trajectory, _: usize) -> Vec<f32> {
        self.0 += 1;
        let mut next = past[past.len() - 1].to_vec();
        if self.0 >= 3 {
            next[0] = f32::NAN;
        }
        next
    }
}

#[test]
fn a_nan_is_reported_with_the_step_it_appeared_at() {
    let err = rollout(&mut Exploding(0), &truth(10)).unwrap_err();
    assert_eq!(
        err,
        RolloutError::NonFinite {
            step: 3,
            frame: 3,
            particle: 0
        }
    );
    assert!(matches!(
        rollout(&mut ConstantVelocity, &truth(2)),
        Err(RolloutError::TooShort { .. })
    ));
}
