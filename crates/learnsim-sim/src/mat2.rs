//! 2×2 matrices and their singular value decomposition, as MPM's constitutive models need.

/// A row-major 2×2 matrix.
pub type Mat2 = [[f64; 2]; 2];

/// The identity.
pub const IDENTITY: Mat2 = [[1.0, 0.0], [0.0, 1.0]];

/// `a · b`.
pub fn mul(a: &Mat2, b: &Mat2) -> Mat2 {
    std::array::from_fn(|i| std::array::from_fn(|j| a[i][0] * b[0][j] + a[i][1] * b[1][j]))
}

/// `aᵀ`.
pub fn transpose(a: &Mat2) -> Mat2 {
    [[a[0][0], a[1][0]], [a[0][1], a[1][1]]]
}

/// `a · diag(d) · bᵀ`.
pub fn compose(a: &Mat2, d: [f64; 2], b: &Mat2) -> Mat2 {
    std::array::from_fn(|i| {
        std::array::from_fn(|j| a[i][0] * d[0] * b[j][0] + a[i][1] * d[1] * b[j][1])
    })
}

/// Determinant.
pub fn det(a: &Mat2) -> f64 {
    a[0][0] * a[1][1] - a[0][1] * a[1][0]
}

/// Rotation by `angle` given as (cos, sin).
fn rotation(c: f64, s: f64) -> Mat2 {
    [[c, -s], [s, c]]
}

/// Singular value decomposition `F = U · diag(σ) · Vᵀ` with `U` and `V` proper rotations.
///
/// As in Taichi's `ti.svd`, a reflection (det F < 0) shows up as a negative second singular
/// value rather than an improper `U`. Built from the polar decomposition `F = R·S` (R from the
/// skew part) followed by a Jacobi rotation that diagonalises the symmetric `S`.
pub fn svd(f: &Mat2) -> (Mat2, [f64; 2], Mat2) {
    let x = f[0][0] + f[1][1];
    let y = f[1][0] - f[0][1];
    let norm = x.hypot(y);
    let (c, s) = if norm > 1e-300 {
        (x / norm, y / norm)
    } else {
        (1.0, 0.0)
    };
    let r = rotation(c, s);
    let sym = mul(&transpose(&r), f);
    let (a, b, d) = (sym[0][0], 0.5 * (sym[0][1] + sym[1][0]), sym[1][1]);
    let theta = 0.5 * (2.0 * b).atan2(a - d);
    let (cv, sv) = (theta.cos(), theta.sin());
    let v = rotation(cv, sv);
    let sigma = [
        cv * cv * a + 2.0 * cv * sv * b + sv * sv * d,
        sv * sv * a - 2.0 * cv * sv * b + cv * cv * d,
    ];
    (mul(&r, &v), sigma, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svd_reconstructs_and_has_rotation_factors() {
        let cases: [Mat2; 5] = [
            IDENTITY,
            [[1.2, 0.3], [-0.1, 0.8]],
            [[0.0, -1.0], [1.0, 0.0]],
            [[2.0, 0.0], [0.0, -0.5]],
            [[1e-3, 5.0], [0.2, 1e-4]],
        ];
        for f in cases {
            let (u, sigma, v) = svd(&f);
            let back = compose(&u, sigma, &v);
            for i in 0..2 {
                for j in 0..2 {
                    // Rounding of a handful of f64 products on entries of size ≤ 5.
                    assert!((back[i][j] - f[i][j]).abs() < 1e-12, "{f:?} -> {back:?}");
                }
            }
            assert!((det(&u) - 1.0).abs() < 1e-12 && (det(&v) - 1.0).abs() < 1e-12);
            assert!((sigma[0] * sigma[1] - det(&f)).abs() < 1e-12);
        }
    }
}
