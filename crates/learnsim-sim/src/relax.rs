//! Relaxation to a local energy minimum: FIRE (Bitzek, Koskinen, Gähler, Moseler & Gumbsch
//! 2006, "Structural relaxation made simple"), run for many structures at once so that a
//! learned force field evaluates them as one batch, and the RMSD of two structures after the
//! best rotation (Kabsch 1976).
//!
//! FIRE is damped molecular dynamics with unit masses: the velocity is turned towards the force
//! (`v ← (1 − α)v + α|v|F̂`) while the power `F·v` stays positive, the time step grows by
//! `f_inc` after `n_min` such steps and α decays by `f_α`; on an uphill step (`F·v ≤ 0`) the
//! velocity is zeroed, the time step cut by `f_dec` and α reset. The parameters and the cap on
//! the step length are ASE's (`ase.optimize.FIRE`), the reference implementation users compare
//! against. Units: Å, eV, and ASE's time unit (Å·(amu/eV)^½ with the unit mass).

use crate::stillinger_weber::EnergyForces;
use nalgebra::Matrix3;

/// FIRE's parameters (ASE's defaults) and the convergence test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fire {
    /// Initial time step.
    pub dt: f64,
    /// Largest time step.
    pub dt_max: f64,
    /// Largest displacement of the whole structure in one step (Å, Euclidean norm over atoms).
    pub max_step: f64,
    /// Downhill steps before the time step may grow.
    pub n_min: usize,
    /// Time-step growth on a downhill step.
    pub f_inc: f64,
    /// Time-step cut on an uphill step.
    pub f_dec: f64,
    /// Initial mixing α.
    pub alpha_start: f64,
    /// α's decay on a downhill step.
    pub f_alpha: f64,
    /// Converged when every atom's force is below this (eV/Å).
    pub fmax: f64,
    /// Steps at most.
    pub max_steps: usize,
}

impl Default for Fire {
    /// ASE's FIRE with `fmax` 0.01 eV/Å and at most 5000 steps.
    fn default() -> Self {
        Self {
            dt: 0.1,
            dt_max: 1.0,
            max_step: 0.2,
            n_min: 5,
            f_inc: 1.1,
            f_dec: 0.5,
            alpha_start: 0.1,
            f_alpha: 0.99,
            fmax: 0.01,
            max_steps: 5000,
        }
    }
}

/// The end of one relaxation.
#[derive(Debug, Clone, PartialEq)]
pub struct Relaxed {
    /// Final positions (Å).
    pub positions: Vec<[f64; 3]>,
    /// Energy at the final positions, as the force field gives it (eV).
    pub energy: f64,
    /// Largest atomic force at the final positions (eV/Å).
    pub max_force: f64,
    /// Force evaluations taken (the start's included).
    pub evaluations: usize,
    /// Whether `max_force ≤ fmax` was reached within `max_steps`.
    pub converged: bool,
}

struct State {
    x: Vec<[f64; 3]>,
    v: Vec<[f64; 3]>,
    dt: f64,
    alpha: f64,
    downhill: usize,
    moving: bool,
    last: Option<EnergyForces>,
    evaluations: usize,
    done: bool,
}

fn largest_force(forces: &[[f64; 3]]) -> f64 {
    forces
        .iter()
        .map(|f| (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt())
        .fold(0.0, f64::max)
}

fn dot(a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| a[0] * b[0] + a[1] * b[1] + a[2] * b[2])
        .sum()
}

impl Fire {
    /// Relaxes every start at once. `forces` gets the positions of the structures still
    /// running and returns their energies and forces in the same order (one batch per step).
    /// A non-finite energy or force stops that structure where it is, not converged.
    pub fn relax_many(
        &self,
        starts: &[Vec<[f64; 3]>],
        mut forces: impl FnMut(&[Vec<[f64; 3]>]) -> Vec<EnergyForces>,
    ) -> Vec<Relaxed> {
        let mut states: Vec<State> = starts
            .iter()
            .map(|x| State {
                x: x.clone(),
                v: vec![[0.0; 3]; x.len()],
                dt: self.dt,
                alpha: self.alpha_start,
                downhill: 0,
                moving: false,
                last: None,
                evaluations: 0,
                done: false,
            })
            .collect();
        for _ in 0..=self.max_steps {
            let running: Vec<usize> = (0..states.len()).filter(|&k| !states[k].done).collect();
            if running.is_empty() {
                break;
            }
            let positions: Vec<Vec<[f64; 3]>> =
                running.iter().map(|&k| states[k].x.clone()).collect();
            let answers = forces(&positions);
            assert_eq!(answers.len(), running.len(), "one answer per structure");
            for (&k, answer) in running.iter().zip(answers) {
                let state = &mut states[k];
                state.evaluations += 1;
                let finite = answer.energy.is_finite()
                    && answer.forces.iter().flatten().all(|f| f.is_finite());
                let converged = finite && largest_force(&answer.forces) <= self.fmax;
                let out_of_steps = state.evaluations > self.max_steps;
                state.last = Some(answer);
                if !finite || converged || out_of_steps {
                    state.done = true;
                    continue;
                }
                self.step(state);
            }
        }
        states
            .into_iter()
            .map(|s| {
                let last = s.last.expect("every structure is evaluated at least once");
                let max_force = largest_force(&last.forces);
                Relaxed {
                    converged: last.energy.is_finite() && max_force <= self.fmax,
                    max_force,
                    energy: last.energy,
                    positions: s.x,
                    evaluations: s.evaluations,
                }
            })
            .collect()
    }

    /// One FIRE step from the forces at the current positions (ASE's order: mix and adapt,
    /// then an Euler step of the velocity and the position, the displacement capped).
    fn step(&self, state: &mut State) {
        let f = &state.last.as_ref().expect("forces of this step").forces;
        let power = dot(f, &state.v);
        if !state.moving {
            // The first step starts from rest: no mixing, no adaptation (as ASE's).
            state.moving = true;
        } else if power > 0.0 {
            let v_norm = dot(&state.v, &state.v).sqrt();
            let f_norm = dot(f, f).sqrt().max(f64::MIN_POSITIVE);
            for (v, f) in state.v.iter_mut().zip(f) {
                for a in 0..3 {
                    v[a] = (1.0 - state.alpha) * v[a] + state.alpha * f[a] / f_norm * v_norm;
                }
            }
            if state.downhill > self.n_min {
                state.dt = (state.dt * self.f_inc).min(self.dt_max);
                state.alpha *= self.f_alpha;
            }
            state.downhill += 1;
        } else {
            state.v.iter_mut().for_each(|v| *v = [0.0; 3]);
            state.alpha = self.alpha_start;
            state.dt *= self.f_dec;
            state.downhill = 0;
        }
        for (v, f) in state.v.iter_mut().zip(f) {
            for a in 0..3 {
                v[a] += state.dt * f[a];
            }
        }
        let dr: Vec<[f64; 3]> = state.v.iter().map(|v| v.map(|c| c * state.dt)).collect();
        let norm = dot(&dr, &dr).sqrt();
        let shrink = if norm > self.max_step {
            self.max_step / norm
        } else {
            1.0
        };
        for (x, d) in state.x.iter_mut().zip(&dr) {
            for a in 0..3 {
                x[a] += shrink * d[a];
            }
        }
    }
}

fn centred(x: &[[f64; 3]]) -> Vec<[f64; 3]> {
    let n = x.len().max(1) as f64;
    let c = [0, 1, 2].map(|a| x.iter().map(|p| p[a]).sum::<f64>() / n);
    x.iter()
        .map(|p| [p[0] - c[0], p[1] - c[1], p[2] - c[2]])
        .collect()
}

/// Root-mean-square distance between two structures of the same atoms (same order) after
/// removing the translation and the best proper rotation (Kabsch): with `H = Σ aᵢbᵢᵀ` of the
/// centred positions and its singular values σ₁ ≥ σ₂ ≥ σ₃,
/// `N·RMSD² = Σ|aᵢ|² + Σ|bᵢ|² − 2(σ₁ + σ₂ + s·σ₃)`, `s = sign det H` (a reflection is not a
/// rotation). Mirror images are therefore different structures. NaN when a coordinate is not
/// finite.
///
/// # Panics
/// If the structures have different numbers of atoms.
pub fn aligned_rmsd(a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
    assert_eq!(a.len(), b.len(), "the same atoms in both structures");
    if a.is_empty() {
        return 0.0;
    }
    // A structure with a non-finite coordinate has no distance to anything (and an SVD of
    // NaNs need not terminate).
    if a.iter().chain(b).flatten().any(|c| !c.is_finite()) {
        return f64::NAN;
    }
    let (a, b) = (centred(a), centred(b));
    let mut h = Matrix3::<f64>::zeros();
    for (p, q) in a.iter().zip(&b) {
        for i in 0..3 {
            for j in 0..3 {
                h[(i, j)] += p[i] * q[j];
            }
        }
    }
    let mut sigma: Vec<f64> = h
        .svd(false, false)
        .singular_values
        .iter()
        .copied()
        .collect();
    sigma.sort_by(|x, y| y.total_cmp(x));
    let s = if h.determinant() < 0.0 { -1.0 } else { 1.0 };
    let norms: f64 = a
        .iter()
        .chain(&b)
        .map(|p| p[0] * p[0] + p[1] * p[1] + p[2] * p[2])
        .sum();
    let msd = (norms - 2.0 * (sigma[0] + sigma[1] + s * sigma[2])) / a.len() as f64;
    msd.max(0.0).sqrt()
}
