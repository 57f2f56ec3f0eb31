//! The 1D1V electrostatic particle-in-cell loop: cloud-in-cell deposition and interpolation on
//! a periodic grid, a pluggable field solve, leapfrog push.
//!
//! Normalised units: electron plasma frequency ω_p = 1, electron charge −1 and mass 1, mean
//! electron density 1 over a uniform ion background of density +1 (so ρ = 1 − n_e), Debye
//! length λ_D = v_th/ω_p = 1 for a unit thermal speed. Gauss: dE/dx = ρ; motion: dv/dt = −E.

use super::poisson::FieldSolver;
use crate::SimError;

/// Electrons as equal-weight macro-particles in D dimensions: positions in [0, L)^D, velocities.
#[derive(Debug, Clone, PartialEq)]
pub struct Electrons<const D: usize> {
    /// Positions.
    pub x: Vec<[f64; D]>,
    /// Velocities (at the time the owner says: t for an initial state, t − dt/2 inside the loop).
    pub v: Vec<[f64; D]>,
}

impl<const D: usize> Electrons<D> {
    /// Number of macro-particles.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

/// A periodic grid of `cells` nodes per axis at x_j = jΔx over [0, `length`)^D. Grid fields are
/// flat, x the slowest index (node (i, j) of a 2D grid at i·cells + j); a vector field stores
/// its D components one after the other (component-major).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid<const D: usize> {
    /// Nodes per axis.
    pub cells: usize,
    /// Box length L per axis.
    pub length: f64,
}

/// The 1D grid.
pub type Grid1 = Grid<1>;

impl<const D: usize> Grid<D> {
    /// Node spacing Δx = L / cells.
    pub fn dx(&self) -> f64 {
        self.length / self.cells as f64
    }

    /// Nodes in the grid, cells^D.
    pub fn nodes(&self) -> usize {
        self.cells.pow(D as u32)
    }

    /// Calls `f(node, weight)` for the 2^D cloud-in-cell corners of a particle at `x`.
    fn corners(&self, x: &[f64; D], mut f: impl FnMut(usize, f64)) {
        let n = self.cells;
        let inv_dx = 1.0 / self.dx();
        let mut base = [0usize; D];
        let mut frac = [0.0f64; D];
        for d in 0..D {
            let s = x[d] * inv_dx;
            base[d] = (s.floor() as usize).min(n - 1);
            frac[d] = s - base[d] as f64;
        }
        for corner in 0..(1usize << D) {
            let (mut node, mut weight) = (0usize, 1.0f64);
            for d in 0..D {
                let up = (corner >> (D - 1 - d)) & 1 == 1;
                let j = if up { (base[d] + 1) % n } else { base[d] };
                weight *= if up { frac[d] } else { 1.0 - frac[d] };
                node = node * n + j;
            }
            f(node, weight);
        }
    }

    /// Charge density ρ = 1 − n_e at the nodes, n_e from cloud-in-cell weights of particles of
    /// weight L^D/N (mean electron density 1).
    ///
    /// # Shapes
    /// - `x`: `[particles]`; `rho`: `[cells^D]`, overwritten
    pub fn deposit(&self, x: &[[f64; D]], rho: &mut [f64]) {
        rho.iter_mut().for_each(|r| *r = 0.0);
        for xp in x {
            self.corners(xp, |node, w| rho[node] += w);
        }
        // Each particle carries charge weight (L^D/N)/Δx^D = cells^D/N per node.
        let per = self.nodes() as f64 / x.len() as f64;
        for r in rho.iter_mut() {
            *r = 1.0 - *r * per;
        }
    }

    /// The vector field `field` (`[D × cells^D]`, component-major) at `x`, by the same
    /// cloud-in-cell weights.
    pub fn gather(&self, field: &[f64], x: &[f64; D]) -> [f64; D] {
        let nodes = self.nodes();
        let mut out = [0.0; D];
        self.corners(x, |node, w| {
            for (c, o) in out.iter_mut().enumerate() {
                *o += field[c * nodes + node] * w;
            }
        });
        out
    }

    /// `x` wrapped into [0, L).
    pub fn wrap(&self, x: f64) -> f64 {
        let w = x.rem_euclid(self.length);
        if w >= self.length { 0.0 } else { w }
    }
}

/// What a run records besides its per-step energies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Record (ρ, E) on the grid every this many steps (0: never).
    pub fields_every: usize,
    /// Steps at which to keep the particles' phase space (x, v).
    pub phase_space_at: Vec<usize>,
    /// The Fourier mode whose power is recorded every step.
    pub mode: usize,
}

/// The grid fields at one step.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldFrame {
    /// Step.
    pub step: usize,
    /// ρ at the nodes (`[cells^D]`).
    pub rho: Vec<f64>,
    /// E at the nodes, as the run's solver gave it (`[D × cells^D]`, component-major).
    pub e: Vec<f64>,
}

/// Phase space (x, v_x) at one step (velocities interpolated to the step:
/// (v_{n−½} + v_{n+½})/2).
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSpace {
    /// Step.
    pub step: usize,
    /// Positions.
    pub x: Vec<f32>,
    /// Velocities.
    pub v: Vec<f32>,
}

/// A run's diagnostics, one entry per step 0..=steps (the state at t = n·dt).
#[derive(Debug, Clone, PartialEq)]
pub struct PicHistory {
    /// Time step.
    pub dt: f64,
    /// Box length.
    pub length: f64,
    /// Field energy ½ Σ_j E_j² Δx.
    pub field_energy: Vec<f64>,
    /// Kinetic energy ½ Σ w v², v² the mean of v_{n−½}² and v_{n+½}² (w = L/N).
    pub kinetic_energy: Vec<f64>,
    /// Momentum Σ w v per component (v the mean of v_{n∓½}).
    pub momentum: Vec<Vec<f64>>,
    /// Power |E_m|² of the recorded mode (wavevector (m, 0, …) of E's first component).
    pub mode_power: Vec<f64>,
    /// Recorded grid fields.
    pub fields: Vec<FieldFrame>,
    /// Recorded phase-space snapshots.
    pub phase_space: Vec<PhaseSpace>,
    /// Seconds spent in the field solver.
    pub solve_seconds: f64,
    /// Number of field solves.
    pub solves: usize,
}

impl PicHistory {
    /// Times t_n = n·dt of the per-step series.
    pub fn times(&self) -> Vec<f64> {
        (0..self.field_energy.len())
            .map(|n| n as f64 * self.dt)
            .collect()
    }

    /// Field + kinetic energy per step.
    pub fn total_energy(&self) -> Vec<f64> {
        self.field_energy
            .iter()
            .zip(&self.kinetic_energy)
            .map(|(w, k)| w + k)
            .collect()
    }

    /// max_n |E_n − E_0| / E_0 of the total energy.
    pub fn energy_drift(&self) -> f64 {
        let total = self.total_energy();
        let e0 = total[0];
        total
            .iter()
            .map(|e| (e - e0).abs() / e0.abs())
            .fold(0.0, f64::max)
    }
}

/// Runs `steps` leapfrog steps from `initial` (velocities at t = 0) with `solver`.
///
/// Each step deposits ρ at x_n, solves for E_n, interpolates it to the particles and advances
/// v_{n−½} → v_{n+½} = v_{n−½} − E(x_n) dt and x_{n+1} = x_n + v_{n+½} dt (wrapped). The first
/// half-step back, v_{−½} = v_0 + E(x_0) dt/2, uses the same solver.
///
/// # Errors
/// [`SimError::NonFinite`] if a particle's state or the field becomes non-finite (a learned
/// solver that blows up).
pub fn run_pic<const D: usize>(
    grid: Grid<D>,
    initial: &Electrons<D>,
    dt: f64,
    steps: usize,
    solver: &mut dyn FieldSolver,
    record: &Record,
) -> Result<PicHistory, SimError> {
    let np = initial.len();
    if np == 0 || grid.cells < 4 {
        return Err(SimError::Scene(format!(
            "a PIC run needs particles and at least 4 cells (got {np} particles, {} cells)",
            grid.cells
        )));
    }
    let dx = grid.dx();
    let cell_volume = dx.powi(D as i32);
    let weight = grid.length.powi(D as i32) / np as f64;
    let nodes = grid.nodes();
    let mut x = initial.x.clone();
    let mut v = initial.v.clone();
    let mut rho = vec![0.0; nodes];
    let mut e = vec![0.0; D * nodes];
    let mut history = PicHistory {
        dt,
        length: grid.length,
        field_energy: Vec::with_capacity(steps + 1),
        kinetic_energy: Vec::with_capacity(steps + 1),
        momentum: Vec::with_capacity(steps + 1),
        mode_power: Vec::with_capacity(steps + 1),
        fields: Vec::new(),
        phase_space: Vec::new(),
        solve_seconds: 0.0,
        solves: 0,
    };
    let mut field = |x: &[[f64; D]], rho: &mut [f64], e: &mut [f64], history: &mut PicHistory| {
        grid.deposit(x, rho);
        let clock = std::time::Instant::now();
        solver.solve(rho, dx, e);
        history.solve_seconds += clock.elapsed().as_secs_f64();
        history.solves += 1;
    };
    // v_{−½}
    field(&x, &mut rho, &mut e, &mut history);
    for (vp, xp) in v.iter_mut().zip(&x) {
        let f = grid.gather(&e, xp);
        for d in 0..D {
            vp[d] += 0.5 * dt * f[d];
        }
    }
    for n in 0..=steps {
        if n > 0 {
            field(&x, &mut rho, &mut e, &mut history);
        }
        if let Some(j) = e.iter().position(|f| !f.is_finite()) {
            return Err(SimError::NonFinite {
                step: n,
                particle: j,
            });
        }
        let (mut kinetic, mut momentum) = (0.0, [0.0; D]);
        let keep_phase = record.phase_space_at.contains(&n);
        let (mut px, mut pv) = (Vec::new(), Vec::new());
        for (vp, xp) in v.iter_mut().zip(&x) {
            let before = *vp;
            let f = grid.gather(&e, xp);
            let (mut b2, mut a2) = (0.0, 0.0);
            for d in 0..D {
                vp[d] -= dt * f[d];
                b2 += before[d] * before[d];
                a2 += vp[d] * vp[d];
                momentum[d] += 0.5 * (before[d] + vp[d]);
            }
            kinetic += 0.25 * (b2 + a2);
            if keep_phase {
                px.push(xp[0] as f32);
                pv.push((0.5 * (before[0] + vp[0])) as f32);
            }
        }
        history
            .field_energy
            .push(0.5 * e.iter().map(|f| f * f).sum::<f64>() * cell_volume);
        history.kinetic_energy.push(kinetic * weight);
        history
            .momentum
            .push(momentum.iter().map(|p| p * weight).collect());
        history.mode_power.push(super::poisson::mode_power(
            &e[..nodes],
            grid.cells,
            record.mode,
        ));
        if record.fields_every > 0 && n % record.fields_every == 0 {
            history.fields.push(FieldFrame {
                step: n,
                rho: rho.clone(),
                e: e.clone(),
            });
        }
        if keep_phase {
            history.phase_space.push(PhaseSpace {
                step: n,
                x: px,
                v: pv,
            });
        }
        if n == steps {
            break;
        }
        for (i, (xp, vp)) in x.iter_mut().zip(&v).enumerate() {
            for d in 0..D {
                let next = xp[d] + vp[d] * dt;
                if !next.is_finite() {
                    return Err(SimError::NonFinite {
                        step: n,
                        particle: i,
                    });
                }
                xp[d] = grid.wrap(next);
            }
        }
    }
    Ok(history)
}
