//! PDE-Net 2.0's data scheme (aTEAM `burgers2d.py`): second-order upwind advection, the
//! central 5-point Laplacian, Heun (RK2) steps, on the grid's point values.

/// Second-order upwind derivative of `f` along `axis` (0 = x, 1 = y) with velocity `a`.
fn upwind(f: &[f64], a: f64, m: usize, i: usize, j: usize, axis: usize, h: f64) -> f64 {
    let at = |s: isize| {
        let (mut ii, mut jj) = (i as isize, j as isize);
        if axis == 0 {
            ii += s;
        } else {
            jj += s;
        }
        let w = |x: isize| x.rem_euclid(m as isize) as usize;
        f[w(ii) * m + w(jj)]
    };
    if a >= 0.0 {
        (3.0 * at(0) - 4.0 * at(-1) + at(-2)) / (2.0 * h)
    } else {
        (-3.0 * at(0) + 4.0 * at(1) - at(2)) / (2.0 * h)
    }
}

fn laplacian(f: &[f64], m: usize, i: usize, j: usize, h: f64) -> f64 {
    let w = |x: usize, d: isize| (x as isize + d).rem_euclid(m as isize) as usize;
    (f[w(i, 1) * m + j] + f[w(i, -1) * m + j] + f[i * m + w(j, 1)] + f[i * m + w(j, -1)]
        - 4.0 * f[i * m + j])
        / (h * h)
}

use super::Velocity2;

impl Velocity2 {
    /// The right-hand side (u_t, v_t) of viscous Burgers with `uw2` advection, or of the heat
    /// equation when `advection` is off.
    pub fn rhs(&self, viscosity: f64, advection: bool) -> (Vec<f64>, Vec<f64>) {
        let m = self.m;
        let h = std::f64::consts::TAU / m as f64;
        let mut du = vec![0.0; m * m];
        let mut dv = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..m {
                let p = i * m + j;
                let (a, b) = if advection {
                    (self.u[p], self.v[p])
                } else {
                    (0.0, 0.0)
                };
                du[p] = -a * upwind(&self.u, a, m, i, j, 0, h)
                    - b * upwind(&self.u, b, m, i, j, 1, h)
                    + viscosity * laplacian(&self.u, m, i, j, h);
                dv[p] = -a * upwind(&self.v, a, m, i, j, 0, h)
                    - b * upwind(&self.v, b, m, i, j, 1, h)
                    + viscosity * laplacian(&self.v, m, i, j, h);
            }
        }
        (du, dv)
    }

    /// One Heun step, with or without advection.
    pub fn heun(&mut self, viscosity: f64, dt: f64, advection: bool) {
        let (du0, dv0) = self.rhs(viscosity, advection);
        let mid = Velocity2 {
            m: self.m,
            u: self.u.iter().zip(&du0).map(|(x, d)| x + dt * d).collect(),
            v: self.v.iter().zip(&dv0).map(|(x, d)| x + dt * d).collect(),
        };
        let (du1, dv1) = mid.rhs(viscosity, advection);
        for p in 0..self.u.len() {
            self.u[p] += 0.5 * dt * (du0[p] + du1[p]);
            self.v[p] += 0.5 * dt * (dv0[p] + dv1[p]);
        }
    }
}
