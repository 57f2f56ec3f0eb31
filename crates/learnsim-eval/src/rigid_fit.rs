//! The best rigid motion of a body's particles in 2D: how far a prediction is from rigid (the
//! shape error), and the shape matching of DPI-Nets and GNS's BoxBath, which replaces the
//! predicted rigid particles by that motion of the body's true shape.

use learnsim_core::{ParticleKind, Trajectory};

/// The particles of kind [`ParticleKind::Rigid`] of a trajectory.
pub fn rigid_particles(kind: &[ParticleKind]) -> Vec<usize> {
    (0..kind.len())
        .filter(|&i| kind[i] == ParticleKind::Rigid)
        .collect()
}

/// `particles`' positions in a 2D `frame` (`[N·2]`), each the minimum image nearest the first
/// on periodic axes, so that a body straddling a periodic boundary stays in one piece.
pub fn points_2d(frame: &[f32], particles: &[usize], period: &[Option<f64>]) -> Vec<[f64; 2]> {
    let first = particles.first().map_or([0.0; 2], |&i| {
        [f64::from(frame[2 * i]), f64::from(frame[2 * i + 1])]
    });
    particles
        .iter()
        .map(|&i| {
            std::array::from_fn(|a| {
                let mut d = f64::from(frame[2 * i + a]) - first[a];
                if let Some(Some(l)) = period.get(a) {
                    d -= l * (d / l).round();
                }
                first[a] + d
            })
        })
        .collect()
}

/// The rotation and translation that take `reference` closest to `points` in least squares
/// (2D Procrustes: the centroids matched, the angle atan2(Σ r × p, Σ r · p) of the centred
/// points), applied to `reference`.
///
/// # Shapes
/// `reference` and `points` have the same length K ≥ 1; the result too.
pub fn rigid_fit_2d(reference: &[[f64; 2]], points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    assert_eq!(
        reference.len(),
        points.len(),
        "one point per reference point"
    );
    let centroid = |x: &[[f64; 2]]| {
        let n = x.len().max(1) as f64;
        [
            x.iter().map(|p| p[0]).sum::<f64>() / n,
            x.iter().map(|p| p[1]).sum::<f64>() / n,
        ]
    };
    let (c_ref, c_pts) = (centroid(reference), centroid(points));
    let (mut dot, mut cross) = (0.0, 0.0);
    for (r, p) in reference.iter().zip(points) {
        let r = [r[0] - c_ref[0], r[1] - c_ref[1]];
        let p = [p[0] - c_pts[0], p[1] - c_pts[1]];
        dot += r[0] * p[0] + r[1] * p[1];
        cross += r[0] * p[1] - r[1] * p[0];
    }
    let (s, c) = cross.atan2(dot).sin_cos();
    reference
        .iter()
        .map(|r| {
            let r = [r[0] - c_ref[0], r[1] - c_ref[1]];
            [
                c_pts[0] + c * r[0] - s * r[1],
                c_pts[1] + s * r[0] + c * r[1],
            ]
        })
        .collect()
}

/// RMS distance of `points` from the best rigid motion of `reference` (0 for a rigid motion).
///
/// # Shapes
/// As [`rigid_fit_2d`].
pub fn shape_error_2d(reference: &[[f64; 2]], points: &[[f64; 2]]) -> f64 {
    let fit = rigid_fit_2d(reference, points);
    let sum: f64 = fit
        .iter()
        .zip(points)
        .map(|(f, p)| (f[0] - p[0]).powi(2) + (f[1] - p[1]).powi(2))
        .sum();
    (sum / points.len().max(1) as f64).sqrt()
}

/// The rigid body's shape in `truth`'s frame `t` (its rigid particles), or `None` if it has
/// none or is not 2D.
pub fn reference_shape(
    truth: &Trajectory,
    t: usize,
    period: &[Option<f64>],
) -> Option<Vec<[f64; 2]>> {
    let rigid = rigid_particles(&truth.kind);
    (truth.dim == 2 && !rigid.is_empty()).then(|| points_2d(truth.frame(t), &rigid, period))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Vec<[f64; 2]> {
        let mut x = Vec::new();
        for i in 0..4 {
            for j in 0..4 {
                x.push([i as f64 * 0.1, j as f64 * 0.1]);
            }
        }
        x
    }

    #[test]
    fn a_rigid_motion_is_fitted_exactly_and_has_no_shape_error() {
        let reference = square();
        let (s, c) = 0.7f64.sin_cos();
        let moved: Vec<[f64; 2]> = reference
            .iter()
            .map(|r| [c * r[0] - s * r[1] + 3.0, s * r[0] + c * r[1] - 1.0])
            .collect();
        let fit = rigid_fit_2d(&reference, &moved);
        for (f, m) in fit.iter().zip(&moved) {
            assert!((f[0] - m[0]).abs() < 1e-12 && (f[1] - m[1]).abs() < 1e-12);
        }
        assert!(shape_error_2d(&reference, &moved) < 1e-12);
    }

    /// Stretching x by 1 + ε moves a point at centred x by ε·x; the best rigid fit of a
    /// symmetric shape is the identity, so the error is ε·rms(x): for 4 points at ±0.05, ±0.15
    /// that is ε·√(0.0125) = 0.1118·ε.
    #[test]
    fn a_stretch_shows_as_its_rms_displacement() {
        let reference = square();
        let eps = 0.01;
        let stretched: Vec<[f64; 2]> = reference
            .iter()
            .map(|r| [0.15 + (r[0] - 0.15) * (1.0 + eps), r[1]])
            .collect();
        let error = shape_error_2d(&reference, &stretched);
        assert!((error - eps * 0.0125f64.sqrt()).abs() < 1e-12, "{error}");
    }

    #[test]
    fn a_body_across_a_periodic_boundary_stays_whole() {
        let frame = [0.95f32, 0.5, 0.05, 0.5];
        let points = points_2d(&frame, &[0, 1], &[Some(1.0), None]);
        assert!((points[1][0] - 1.05).abs() < 1e-6);
    }
}
