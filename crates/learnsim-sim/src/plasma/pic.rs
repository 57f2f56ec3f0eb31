//! The 1D1V electrostatic particle-in-cell loop: cloud-in-cell deposition and interpolation on
//! a periodic grid, a pluggable field solve, leapfrog push.
//!
//! Normalised units: electron plasma frequency ω_p = 1, electron charge −1 and mass 1, mean
//! electron density 1 over a uniform ion background of density +1 (so ρ = 1 − n_e), Debye
//! length λ_D = v_th/ω_p = 1 for a unit thermal speed. Gauss: dE/dx = ρ; motion: dv/dt = −E.

use super::poisson::FieldSolver;
use crate::SimError;

/// Electrons as equal-weight macro-particles: positions in [0, L), velocities.
#[derive(Debug, Clone, PartialEq)]
pub struct Electrons {
    /// Positions.
    pub x: Vec<f64>,
    /// Velocities (at the time the owner says: t for an initial state, t − dt/2 inside the loop).
    pub v: Vec<f64>,
}

impl Electrons {
    /// Number of macro-particles.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

/// A periodic grid of `cells` nodes at x_j = jΔx over [0, `length`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid1 {
    /// Nodes (= cells).
    pub cells: usize,
    /// Box length L.
    pub length: f64,
}

impl Grid1 {
    /// Node spacing Δx = L / cells.
    pub fn dx(&self) -> f64 {
        self.length / self.cells as f64
    }

    /// Charge density ρ_j = 1 − n_j at the nodes, n from cloud-in-cell weights of particles of
    /// weight L/N (mean electron density 1).
    ///
    /// # Shapes
    /// - `x`: `[particles]`; `rho`: `[cells]`, overwritten
    pub fn deposit(&self, x: &[f64], rho: &mut [f64]) {
        let n = self.cells;
        rho.iter_mut().for_each(|r| *r = 0.0);
        let inv_dx = 1.0 / self.dx();
        for &xp in x {
            let s = xp * inv_dx;
            let j = (s.floor() as usize).min(n - 1);
            let f = s - j as f64;
            rho[j] += 1.0 - f;
            rho[(j + 1) % n] += f;
        }
        // Each particle carries charge weight (L/N)/Δx = cells/N per node.
        let per = n as f64 / x.len() as f64;
        for r in rho.iter_mut() {
            *r = 1.0 - *r * per;
        }
    }

    /// The grid field at `x` by the same cloud-in-cell weights (linear interpolation).
    pub fn gather(&self, field: &[f64], x: f64) -> f64 {
        let n = self.cells;
        let s = x / self.dx();
        let j = (s.floor() as usize).min(n - 1);
        let f = s - j as f64;
        field[j] * (1.0 - f) + field[(j + 1) % n] * f
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
    /// ρ at the nodes.
    pub rho: Vec<f64>,
    /// E at the nodes, as the run's solver gave it.
    pub e: Vec<f64>,
}

/// Phase space at one step (velocities interpolated to the step: (v_{n−½} + v_{n+½})/2).
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
    /// Momentum Σ w v (v the mean of v_{n∓½}).
    pub momentum: Vec<f64>,
    /// Power |E_m|² of the recorded mode.
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
pub fn run_pic(
    grid: Grid1,
    initial: &Electrons,
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
    let weight = grid.length / np as f64;
    let mut x = initial.x.clone();
    let mut v = initial.v.clone();
    let mut rho = vec![0.0; grid.cells];
    let mut e = vec![0.0; grid.cells];
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
    let mut field = |x: &[f64], rho: &mut [f64], e: &mut [f64], history: &mut PicHistory| {
        grid.deposit(x, rho);
        let clock = std::time::Instant::now();
        solver.solve(rho, dx, e);
        history.solve_seconds += clock.elapsed().as_secs_f64();
        history.solves += 1;
    };
    // v_{−½}
    field(&x, &mut rho, &mut e, &mut history);
    for (vp, &xp) in v.iter_mut().zip(&x) {
        *vp += 0.5 * dt * grid.gather(&e, xp);
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
        let (mut kinetic, mut momentum) = (0.0, 0.0);
        let keep_phase = record.phase_space_at.contains(&n);
        let (mut px, mut pv) = (Vec::new(), Vec::new());
        for (vp, &xp) in v.iter_mut().zip(&x) {
            let before = *vp;
            *vp -= dt * grid.gather(&e, xp);
            kinetic += 0.25 * (before * before + *vp * *vp);
            momentum += 0.5 * (before + *vp);
            if keep_phase {
                px.push(xp as f32);
                pv.push((0.5 * (before + *vp)) as f32);
            }
        }
        history
            .field_energy
            .push(0.5 * e.iter().map(|f| f * f).sum::<f64>() * dx);
        history.kinetic_energy.push(kinetic * weight);
        history.momentum.push(momentum * weight);
        history
            .mode_power
            .push(super::poisson::mode_power(&e, record.mode));
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
        for (i, (xp, &vp)) in x.iter_mut().zip(&v).enumerate() {
            let next = *xp + vp * dt;
            if !next.is_finite() {
                return Err(SimError::NonFinite {
                    step: n,
                    particle: i,
                });
            }
            *xp = grid.wrap(next);
        }
    }
    Ok(history)
}
