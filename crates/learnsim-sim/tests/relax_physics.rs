//! FIRE relaxation and the aligned RMSD as geometry and physics: a quadratic bowl and the
//! Stillinger–Weber dimer relax to their known minima, relaxation is equivariant under a rigid
//! motion of the start, a batch relaxes exactly as its members alone, and the RMSD ignores
//! rigid motions but not a reflection.

use learnsim_sim::relax::{Fire, aligned_rmsd};
use learnsim_sim::stillinger_weber::{
    ClusterSampling, EnergyForces, StillingerWeber, sample_clusters,
};

fn tight() -> Fire {
    Fire {
        fmax: 1e-8,
        max_steps: 20_000,
        ..Fire::default()
    }
}

fn rotate(x: &[[f64; 3]], angle: f64, shift: [f64; 3]) -> Vec<[f64; 3]> {
    // A rotation about the axis (1, 1, 1)/√3 (Rodrigues), then a translation.
    let k = [1.0 / 3f64.sqrt(); 3];
    let (c, s) = (angle.cos(), angle.sin());
    x.iter()
        .map(|p| {
            let kdotp = k[0] * p[0] + k[1] * p[1] + k[2] * p[2];
            let cross = [
                k[1] * p[2] - k[2] * p[1],
                k[2] * p[0] - k[0] * p[2],
                k[0] * p[1] - k[1] * p[0],
            ];
            [0, 1, 2].map(|a| p[a] * c + cross[a] * s + k[a] * kdotp * (1.0 - c) + shift[a])
        })
        .collect()
}

#[test]
fn fire_finds_the_minimum_of_an_anisotropic_bowl() {
    // E = ½ Σ k_a x_a² with stiffnesses 1 to 100 (a condition number of 100): at |F| ≤ fmax
    // every coordinate is within fmax / k_min = 1e-8 Å of zero.
    let k = [1.0, 10.0, 100.0];
    let bowl = |xs: &[Vec<[f64; 3]>]| -> Vec<EnergyForces> {
        xs.iter()
            .map(|x| EnergyForces {
                energy: x
                    .iter()
                    .map(|p| (0..3).map(|a| 0.5 * k[a] * p[a] * p[a]).sum::<f64>())
                    .sum(),
                forces: x.iter().map(|p| [0, 1, 2].map(|a| -k[a] * p[a])).collect(),
            })
            .collect()
    };
    let start = vec![[1.0, -2.0, 0.5], [-0.3, 0.7, 1.5]];
    let out = tight().relax_many(&[start], bowl).remove(0);
    assert!(out.converged, "{out:?}");
    for p in &out.positions {
        for &c in p {
            assert!(c.abs() <= 1e-8, "{:?}", out.positions);
        }
    }
    assert!(out.energy < 1e-15);
}

#[test]
fn a_stillinger_weber_dimer_relaxes_to_the_pair_minimum() {
    // The dimer's only degree of freedom is its length; its minimum is the pair minimum
    // 2^{1/6} σ. With the bond's curvature φ₂''(r₀) (central differences below), at
    // |F| ≤ 1e-8 eV/Å the length is within about 1e-8 / φ₂'' of r₀.
    let p = StillingerWeber::default();
    let r0 = 2f64.powf(1.0 / 6.0) * p.sigma;
    let h = 1e-4;
    let curvature = (p.pair(r0 + h).1 - p.pair(r0 - h).1) / (2.0 * h);
    assert!(curvature > 1.0, "a stiff bond: φ₂'' = {curvature} eV/Å²");
    let start = vec![[0.0, 0.0, 0.0], [2.9, 0.4, -0.2]];
    let out = tight()
        .relax_many(&[start], |xs| {
            xs.iter().map(|x| p.energy_forces(x)).collect()
        })
        .remove(0);
    assert!(out.converged);
    let d = out.positions[0]
        .iter()
        .zip(&out.positions[1])
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    // Two atoms each off by ≤ fmax/φ₂'' along the bond, plus p.pair's own minimum offset
    // (its A, B are given to 10 digits: |φ₂'(r₀)| < 1e-6, so ≤ 1e-6/φ₂'' more).
    assert!(
        (d - r0).abs() <= (2e-8 + 1e-6) / curvature,
        "bond {d} vs r₀ {r0}"
    );
    assert!((out.energy + p.epsilon).abs() < 1e-7 * p.epsilon);
}

fn silicon_starts(n: usize, count: usize) -> Vec<Vec<[f64; 3]>> {
    let sw = StillingerWeber::default();
    sample_clusters(&sw, &ClusterSampling::recipe(n), count, 7)
        .into_iter()
        .map(|c| c.positions)
        .collect()
}

#[test]
fn relaxing_a_batch_is_relaxing_each_alone_and_lowers_the_energy() {
    let sw = StillingerWeber::default();
    let field = |xs: &[Vec<[f64; 3]>]| -> Vec<EnergyForces> {
        xs.iter().map(|x| sw.energy_forces(x)).collect()
    };
    let starts = silicon_starts(8, 4);
    let fire = Fire::default();
    let together = fire.relax_many(&starts, field);
    for (start, batch) in starts.iter().zip(&together) {
        let alone = fire
            .relax_many(std::slice::from_ref(start), field)
            .remove(0);
        // Each structure keeps its own time step and α: bit for bit the same.
        assert_eq!(&alone, batch);
        assert!(batch.converged, "{} evaluations", batch.evaluations);
        assert!(batch.max_force <= fire.fmax);
        assert!(batch.energy < sw.energy_forces(start).energy);
    }
    // The starts differ, so their evaluation counts do: structures finish on their own.
    let counts: Vec<usize> = together.iter().map(|r| r.evaluations).collect();
    assert!(counts.iter().any(|&c| c != counts[0]), "{counts:?}");
}

#[test]
fn relaxation_commutes_with_a_rigid_motion_of_the_start() {
    // SW is invariant and FIRE's update uses only dot products and the forces, which rotate
    // with the structure: the relaxed structure of a rotated start is the rotated relaxed
    // structure, to the round-off of ~500 steps (1e-9 Å is far above f64's 1e-15 per step and
    // far below a change of basin, ≥ 0.1 Å).
    let sw = StillingerWeber::default();
    let field = |xs: &[Vec<[f64; 3]>]| -> Vec<EnergyForces> {
        xs.iter().map(|x| sw.energy_forces(x)).collect()
    };
    let start = silicon_starts(9, 1).remove(0);
    let moved = rotate(&start, 1.1, [3.0, -1.0, 0.25]);
    let fire = Fire {
        fmax: 1e-6,
        ..Fire::default()
    };
    let out = fire.relax_many(&[start.clone(), moved], field);
    assert!(out[0].converged && out[1].converged);
    let expected = rotate(&out[0].positions, 1.1, [3.0, -1.0, 0.25]);
    let worst = expected
        .iter()
        .zip(&out[1].positions)
        .map(|(a, b)| (0..3).map(|k| (a[k] - b[k]).abs()).fold(0.0, f64::max))
        .fold(0.0, f64::max);
    assert!(worst < 1e-6, "rotated relaxation off by {worst} Å");
    assert!((out[0].energy - out[1].energy).abs() < 1e-9);
    // And the aligned RMSD of the two relaxed structures sees the same structure.
    assert!(aligned_rmsd(&out[0].positions, &out[1].positions) < 1e-6);
}

#[test]
fn the_aligned_rmsd_ignores_rigid_motions_and_not_reflections() {
    let a = silicon_starts(10, 1).remove(0);
    let b = rotate(&a, 2.3, [-4.0, 0.5, 9.0]);
    // Exact algebra up to f64 round-off of |x|² ~ 10 Å² summed over 10 atoms: 1e-6 Å.
    assert!(aligned_rmsd(&a, &b) < 1e-6, "{}", aligned_rmsd(&a, &b));
    // Moving one atom by d changes the unaligned RMSD by d/√N; alignment can only lower it.
    let mut c = b.clone();
    c[3][0] += 0.5;
    let r = aligned_rmsd(&a, &c);
    assert!(r > 0.0 && r <= 0.5 / 10f64.sqrt() + 1e-9, "{r}");
    // A random 10-atom cluster is chiral: its mirror image is no rotation of it.
    let mirror: Vec<[f64; 3]> = a.iter().map(|p| [-p[0], p[1], p[2]]).collect();
    assert!(
        aligned_rmsd(&a, &mirror) > 0.1,
        "{}",
        aligned_rmsd(&a, &mirror)
    );
}
