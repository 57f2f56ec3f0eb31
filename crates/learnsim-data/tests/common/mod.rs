//! Shared fixtures for the data tests.

use learnsim_core::{Metadata, ParticleKind, Trajectory, TypeConvention};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A trajectory with distinct, reproducible values: x = frame + particle/128 + axis/1024, exact in f32 and in numpy alike.
pub fn trajectory(
    n_frames: usize,
    n_particles: usize,
    dim: usize,
    wall_every: usize,
) -> Trajectory {
    let mut position = Vec::with_capacity(n_frames * n_particles * dim);
    for t in 0..n_frames {
        for p in 0..n_particles {
            for a in 0..dim {
                position.push(t as f32 + p as f32 / 128.0 + a as f32 / 1024.0);
            }
        }
    }
    let kind = (0..n_particles)
        .map(|p| {
            if wall_every > 0 && p % wall_every == 0 {
                ParticleKind::Wall
            } else {
                ParticleKind::Water
            }
        })
        .collect();
    Trajectory::new(dim, n_frames, position, kind).unwrap()
}

/// A valid metadata for 2D data.
pub fn metadata() -> Metadata {
    Metadata {
        dim: 2,
        bounds: vec![[0.1, 0.9]; 2],
        dt: 0.0025,
        default_connectivity_radius: 0.015,
        periodic_boundary_conditions: vec![false; 2],
        num_particles_max: 7,
        sequence_length_train: 4,
        sequence_length_test: 4,
        vel_mean: vec![0.0; 2],
        vel_std: vec![1.0; 2],
        acc_mean: vec![0.0; 2],
        acc_std: vec![1.0; 2],
        dx: 0.0039,
        particle_type_convention: TypeConvention::Lagrangebench,
        gravity: vec![0.0, -9.8],
        case: "water-drop-2d".into(),
        solver: "mls-mpm".into(),
        tier: "cpu".into(),
        seed: 0,
        num_trajectories: [2, 1, 1],
        scene: None,
        features: Default::default(),
    }
}

/// The Python with the interop packages: `LEARNSIM_PYTHON`, else the workspace `.venv`, else
/// `python3`.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("LEARNSIM_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Runs `script` with `args`, failing the test with Python's stderr if it fails.
pub fn run_python(script: &str, args: &[&Path]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("cannot start Python: run scripts/test.sh, which installs h5py into .venv");
    assert!(
        out.status.success(),
        "Python failed (h5py and numpy are needed; scripts/test.sh installs them):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
