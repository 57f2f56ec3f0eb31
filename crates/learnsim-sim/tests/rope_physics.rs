//! The rope against exact statics and kinematics.

use learnsim_sim::rope::{RopeParams, RopeRecipe, rope_groups};

/// Two balls and one damped spring, no actions: the rope comes to rest where the spring holds
/// the lower ball's weight, extension m|g|/k. Semi-implicit Euler's fixed points are exactly
/// the zero-force states, and the damping (k/20 against m = 1) removes the motion with a rate
/// of order 10/s, i.e. by e^-100 over 20 s; 1e-9 is round-off.
#[test]
fn hanging_rope_settles_at_the_static_extension() {
    let recipe = RopeRecipe::standard();
    let p = RopeParams {
        n: 2,
        stiffness: 800.0,
        gravity: -5.0,
    };
    let mut pos = vec![[0.0, 1.0], [0.0, 0.7]];
    let mut vel = vec![[0.0; 2]; 2];
    for _ in 0..1000 {
        recipe.step(&p, &mut pos, &mut vel, 0.0);
    }
    let rest = recipe.spacing * recipe.rest_factor;
    let expected = rest + recipe.mass * 5.0 / p.stiffness;
    assert!(((pos[0][1] - pos[1][1]) - expected).abs() < 1e-9, "{pos:?}");
    assert!(pos[1][0].abs() < 1e-12 && vel[1][1].abs() < 1e-9);
}

/// One ball on the groove: an impulse u gives v_x = u/m for good and y stays 1 — exact for
/// semi-implicit Euler (no force along the groove).
#[test]
fn an_impulse_moves_a_lone_ball_along_the_groove() {
    let recipe = RopeRecipe::standard();
    let p = RopeParams {
        n: 1,
        stiffness: 1000.0,
        gravity: -8.0,
    };
    let (mut pos, mut vel) = (vec![[0.2, 1.0]], vec![[0.0; 2]]);
    recipe.step(&p, &mut pos, &mut vel, 0.5);
    for _ in 0..49 {
        recipe.step(&p, &mut pos, &mut vel, 0.0);
    }
    assert!(
        (pos[0][0] - (0.2 + 0.5 * 50.0 * recipe.dt)).abs() < 1e-12,
        "{pos:?}"
    );
    assert_eq!(pos[0][1], 1.0);
}

/// Rollouts: the top ball on the groove in every frame, velocities equal to the finite
/// differences of positions, bounded motion, and the same seed gives the same groups.
#[test]
fn rollouts_keep_the_groove_and_are_seeded() {
    let recipe = RopeRecipe::standard();
    let groups = rope_groups(&recipe, 5..=9, 3, 4, |g| 11 + g as u64);
    assert_eq!(groups, rope_groups(&recipe, 5..=9, 3, 4, |g| 11 + g as u64));
    assert_ne!(groups, rope_groups(&recipe, 5..=9, 3, 4, |g| 12 + g as u64));
    for g in &groups {
        assert!((5..=9).contains(&g.params.n));
        for r in &g.rollouts {
            assert_eq!(r.states.len(), recipe.steps + 1);
            for (t, frame) in r.states.iter().enumerate() {
                assert_eq!(frame.len(), g.params.n);
                assert_eq!(frame[0][1], 1.0);
                for b in frame {
                    assert!(b.iter().all(|v| v.is_finite() && v.abs() < 50.0), "{b:?}");
                }
                if t > 0 {
                    let prev = &r.states[t - 1];
                    let vx = (frame[2][0] - prev[2][0]) / recipe.dt;
                    assert!((vx - frame[2][2]).abs() < 1e-9);
                }
            }
        }
    }
}
