//! Should rapier be the pendulum's ground truth? Issue #8 asks for rapier (multibody joints)
//! if it reproduces the small-angle period and conserves energy within a derived tolerance,
//! and for our RK4 Lagrangian ODE otherwise. This measures both on a frictionless, unforced
//! 1 kg, 1 m pendulum and prints the table the decision rests on.
//!
//! The tolerance. The learned pendulum models' 20-step open-loop error is about 1e-5 in
//! Δθ² + Δθ̇² (pendulum-mpc, metrics.json), about 3e-3 rad/s rms. Ground truth must be an
//! order of magnitude better than what it scores. An energy error δE moves the rate by
//! δθ̇ ≈ δE / (m l² θ̇), about 3e-4 rad/s for δE = 1e-4·m·g·l at θ̇ ≈ 3 rad/s. So we ask for
//! max |E − E₀| ≤ 1e-4·m·g·l over 20 s, and for the period within 1e-4 relative.
//!
//! Measured (2026-12-04):
//!
//! | engine | period error (θ₀ = 0.05) | max \|E − E₀\|/(mgl), θ₀ = 2, 20 s | final E/E₀ |
//! |---|---|---|---|
//! | rapier, dt 0.02 s, its default joint damping | 1.5e-4 | 1.2 | 0.15 |
//! | rapier, joint damping set to 0 | −1.0e-5 | 2.8e-2 | 0.9998 |
//! | rapier, no joint damping, 20 substeps of 1 ms | −1.2e-8 | 1.4e-3 | 1.0000 |
//! | learnsim RK4 ODE, dt 0.02 s | 1.4e-7 | 7.2e-7 | 1.0000 |
//!
//! Rapier meets the period bar once its default damping (0.1 on every free angular multibody
//! DOF) is turned off. It misses the energy bar by 280× at the case's dt, and still by 14× with
//! 20 substeps. The cause is its semi-implicit Euler step, whose energy error oscillates with
//! an amplitude O(ω·dt). The RK4 ODE stays the ground truth.
//!
//!     cargo run --release -p learnsim-sim --features rapier-example --example rapier_pendulum

// This example's output is its table.
#![allow(clippy::print_stdout)]

use learnsim_sim::pendulum::Pendulum;
use rapier2d_f64::prelude::*;

const DT: f64 = 0.02;
const G: f64 = 9.81;
const L: f64 = 1.0;
const M: f64 = 1.0;
/// Bob radius: its own inertia M·R²/2 adds 5e-5 of M·L², accounted for in the exact period.
const R: f64 = 0.01;

/// (θ, θ̇, E/(m g l)) every step for `seconds` from rest at `theta0`, through rapier.
fn rapier_run(
    theta0: f64,
    seconds: f64,
    substeps: usize,
    joint_damping: bool,
) -> Vec<(f64, f64, f64)> {
    let mut bodies = RigidBodySet::new();
    let mut colliders = ColliderSet::new();
    let mut impulse_joints = ImpulseJointSet::new();
    let mut multibody_joints = MultibodyJointSet::new();
    let base = bodies.insert(RigidBodyBuilder::fixed().build());
    let start = Vector::new(L * theta0.sin(), -L * theta0.cos());
    let bob = bodies.insert(
        RigidBodyBuilder::dynamic()
            .translation(start)
            .can_sleep(false)
            .build(),
    );
    colliders.insert_with_parent(
        ColliderBuilder::ball(R)
            .density(M / (std::f64::consts::PI * R * R))
            .build(),
        bob,
        &mut bodies,
    );
    let joint = RevoluteJointBuilder::new()
        .local_anchor1(Vector::new(0.0, 0.0))
        .local_anchor2(Vector::new(-start.x, -start.y));
    let handle = multibody_joints
        .insert(base, bob, joint, true)
        .expect("a tree");
    if !joint_damping {
        // Rapier gives every free angular multibody DOF a damping of 0.1 by default.
        let (multibody, _) = multibody_joints.get_mut(handle).expect("just inserted");
        multibody.damping_mut().fill(0.0);
    }
    let parameters = IntegrationParameters {
        dt: DT / substeps as f64,
        ..IntegrationParameters::default()
    };
    let mut pipeline = PhysicsPipeline::new();
    let mut islands = IslandManager::new();
    let mut broad_phase = BroadPhaseBvh::new();
    let mut soft_bodies = SoftBodySet::new();
    let mut narrow_phase = NarrowPhase::new();
    let mut ccd = CCDSolver::new();
    let gravity = Vector::new(0.0, -G);
    let steps = (seconds / DT).round() as usize;
    let mut out = Vec::with_capacity(steps);
    for _ in 0..steps {
        for _ in 0..substeps {
            pipeline.step(
                gravity,
                &parameters,
                &mut islands,
                &mut broad_phase,
                &mut narrow_phase,
                &mut bodies,
                &mut colliders,
                &mut impulse_joints,
                &mut multibody_joints,
                &mut soft_bodies,
                &mut ccd,
                &(),
                &(),
            );
        }
        let b = &bodies[bob];
        let (p, v, w) = (b.translation(), b.linvel(), b.angvel());
        let theta = p.x.atan2(-p.y);
        let omega = (p.x * v.y - p.y * v.x) / (p.x * p.x + p.y * p.y);
        let inertia = 0.5 * M * R * R;
        let energy = 0.5 * M * (v.x * v.x + v.y * v.y) + 0.5 * inertia * w * w + M * G * (p.y + L);
        out.push((theta, omega, energy / (M * G * L)));
    }
    out
}

/// The same through our RK4 ODE (no friction, no torque).
fn ode_run(theta0: f64, seconds: f64) -> Vec<(f64, f64, f64)> {
    let p = Pendulum {
        mass: M,
        length: L,
        gravity: G,
        damping: 0.0,
        dt: DT,
        ..Pendulum::standard()
    };
    let steps = (seconds / DT).round() as usize;
    let mut s = [theta0, 0.0];
    (0..steps)
        .map(|_| {
            s = p.step(s, 0.0);
            let e = 0.5 * M * L * L * s[1] * s[1] + M * G * L * (1.0 - s[0].cos());
            (s[0], s[1], e / (M * G * L))
        })
        .collect()
}

/// Mean period from upward zero crossings of θ (linear interpolation).
fn period(run: &[(f64, f64, f64)]) -> f64 {
    let mut crossings = Vec::new();
    for (k, w) in run.windows(2).enumerate() {
        let (a, b) = (w[0].0, w[1].0);
        if a < 0.0 && b >= 0.0 {
            crossings.push((k as f64 + 1.0 + a / (a - b)) * DT);
        }
    }
    (crossings[crossings.len() - 1] - crossings[0]) / (crossings.len() - 1) as f64
}

fn main() {
    let theta0 = 0.05;
    // Exact small-amplitude period with the bob's own inertia, plus the first amplitude
    // correction (1 + θ₀²/16).
    let exact = 2.0
        * std::f64::consts::PI
        * ((M * L * L + 0.5 * M * R * R) / (M * G * L)).sqrt()
        * (1.0 + theta0 * theta0 / 16.0);
    let exact_ode = 2.0 * std::f64::consts::PI * (L / G).sqrt() * (1.0 + theta0 * theta0 / 16.0);
    println!(
        "| engine | period error (θ₀ = 0.05) | max |E − E₀|/(mgl), θ₀ = 2, 20 s | final E/E₀, θ₀ = 2 |"
    );
    println!("|---|---|---|---|");
    for (name, small, large, reference) in [
        (
            "rapier2d-f64 0.36 multibody, dt 0.02 s, its default joint damping",
            rapier_run(theta0, 20.0, 1, true),
            rapier_run(2.0, 20.0, 1, true),
            exact,
        ),
        (
            "the same, joint damping set to 0",
            rapier_run(theta0, 20.0, 1, false),
            rapier_run(2.0, 20.0, 1, false),
            exact,
        ),
        (
            "no joint damping, 20 substeps of 1 ms",
            rapier_run(theta0, 20.0, 20, false),
            rapier_run(2.0, 20.0, 20, false),
            exact,
        ),
        (
            "learnsim RK4 ODE",
            ode_run(theta0, 20.0),
            ode_run(2.0, 20.0),
            exact_ode,
        ),
    ] {
        let e0 = 1.0 - 2.0f64.cos();
        let drift = large.iter().map(|s| (s.2 - e0).abs()).fold(0.0, f64::max);
        println!(
            "| {name} | {:.2e} | {:.2e} | {:.4} |",
            period(&small) / reference - 1.0,
            drift,
            large.last().unwrap().2 / e0
        );
    }
}
