//! Stillinger–Weber silicon: the three-body potential of the SchNet case (`../shared/cases.md`
//! [2] (d)), small clusters inside a soft spherical wall, Langevin sampling and NVE dynamics.
//!
//! Units: eV, Å, fs, atomic mass units. The energy is
//! `E = Σ_{i<j} φ₂(r_ij) + Σ_i Σ_{j<k; j,k≠i} φ₃(r_ij, r_ik, θ_jik)` with
//! `φ₂(r) = A ε (B (σ/r)^p − (σ/r)^q) exp(σ / (r − aσ))` and
//! `φ₃ = λ ε (cos θ_jik − cos θ₀)² exp(γσ / (r_ij − aσ)) exp(γσ / (r_ik − aσ))`,
//! both zero beyond the cutoff `aσ`. Forces are the analytic gradient.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Boltzmann's constant in eV/K.
pub const BOLTZMANN_EV_PER_K: f64 = 8.617_333_262e-5;
/// Acceleration of 1 eV/Å on 1 amu, in Å/fs²: 1.602176634e-19 J / (1.66053907e-27 kg · 1e-10 m)
/// = 9.64853e17 m/s² = 9.64853e-3 Å/fs².
pub const EV_PER_ANGSTROM_AMU_IN_ANGSTROM_PER_FS2: f64 = 9.648_533_212e-3;
/// Mass of silicon in amu.
pub const SILICON_MASS_AMU: f64 = 28.0855;

/// Stillinger–Weber parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StillingerWeber {
    pub epsilon: f64,
    pub sigma: f64,
    pub a_coef: f64,
    pub b_coef: f64,
    pub p: f64,
    pub q: f64,
    pub a_cut: f64,
    pub lambda: f64,
    pub gamma: f64,
    pub cos_theta0: f64,
}

impl Default for StillingerWeber {
    /// The standard silicon parameters (Stillinger & Weber 1985).
    fn default() -> Self {
        Self {
            epsilon: 2.1683,
            sigma: 2.0951,
            a_coef: 7.049_556_277,
            b_coef: 0.602_224_558_4,
            p: 4.0,
            q: 0.0,
            a_cut: 1.80,
            lambda: 21.0,
            gamma: 1.20,
            cos_theta0: -1.0 / 3.0,
        }
    }
}

/// Energy and forces of one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyForces {
    /// Potential energy (eV).
    pub energy: f64,
    /// Forces `−∂E/∂R` (eV/Å), one per atom.
    pub forces: Vec<[f64; 3]>,
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

impl StillingerWeber {
    /// The cutoff `aσ` (Å).
    pub fn cutoff(&self) -> f64 {
        self.a_cut * self.sigma
    }

    /// `φ₂(r)` and `dφ₂/dr`; zero at and beyond the cutoff.
    pub fn pair(&self, r: f64) -> (f64, f64) {
        let rc = self.cutoff();
        if r >= rc {
            return (0.0, 0.0);
        }
        let s = self.sigma / r;
        let poly = self.b_coef * s.powf(self.p) - s.powf(self.q);
        let dpoly = (-self.p * self.b_coef * s.powf(self.p) + self.q * s.powf(self.q)) / r;
        let e = (self.sigma / (r - rc)).exp();
        let de = -e * self.sigma / (r - rc).powi(2);
        let k = self.a_coef * self.epsilon;
        (k * poly * e, k * (dpoly * e + poly * de))
    }

    /// `exp(γσ / (r − aσ))` and its derivative; zero at and beyond the cutoff.
    fn radial3(&self, r: f64) -> (f64, f64) {
        let rc = self.cutoff();
        if r >= rc {
            return (0.0, 0.0);
        }
        let g = self.gamma * self.sigma;
        let e = (g / (r - rc)).exp();
        (e, -e * g / (r - rc).powi(2))
    }

    /// Energy and forces of `positions` (Å), no periodic images.
    pub fn energy_forces(&self, positions: &[[f64; 3]]) -> EnergyForces {
        let n = positions.len();
        let rc = self.cutoff();
        let mut energy = 0.0;
        let mut forces = vec![[0.0; 3]; n];
        // Neighbours within the cutoff, with their displacement and distance.
        let mut neighbours: Vec<Vec<(usize, [f64; 3], f64)>> = vec![Vec::new(); n];
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let d = sub(positions[j], positions[i]);
                let r = dot(d, d).sqrt();
                if r < rc {
                    neighbours[i].push((j, d, r));
                }
            }
        }
        for i in 0..n {
            for &(j, d, r) in &neighbours[i] {
                if j > i {
                    let (phi, dphi) = self.pair(r);
                    energy += phi;
                    for a in 0..3 {
                        let f = dphi * d[a] / r;
                        forces[i][a] += f;
                        forces[j][a] -= f;
                    }
                }
            }
            let list = &neighbours[i];
            for x in 0..list.len() {
                for y in x + 1..list.len() {
                    let (j, u, ru) = list[x];
                    let (k, v, rv) = list[y];
                    let cos = dot(u, v) / (ru * rv);
                    let (eu, deu) = self.radial3(ru);
                    let (ev, dev) = self.radial3(rv);
                    let delta = cos - self.cos_theta0;
                    let le = self.lambda * self.epsilon;
                    energy += le * delta * delta * eu * ev;
                    // ∂h/∂u and ∂h/∂v, where u = x_j − x_i, v = x_k − x_i.
                    let dh_dcos = 2.0 * le * delta * eu * ev;
                    let dh_dru = le * delta * delta * deu * ev;
                    let dh_drv = le * delta * delta * eu * dev;
                    for a in 0..3 {
                        let dcos_du = v[a] / (ru * rv) - cos * u[a] / (ru * ru);
                        let dcos_dv = u[a] / (ru * rv) - cos * v[a] / (rv * rv);
                        let gu = dh_dcos * dcos_du + dh_dru * u[a] / ru;
                        let gv = dh_dcos * dcos_dv + dh_drv * v[a] / rv;
                        forces[j][a] -= gu;
                        forces[k][a] -= gv;
                        forces[i][a] += gu + gv;
                    }
                }
            }
        }
        EnergyForces { energy, forces }
    }
}

/// Sampling of Si clusters: Langevin dynamics inside a soft spherical wall.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterSampling {
    /// Atoms per cluster.
    pub n_atoms: usize,
    /// Temperature (K).
    pub temperature: f64,
    /// Time step (fs).
    pub dt: f64,
    /// Langevin friction (1/fs).
    pub friction: f64,
    /// Radius beyond which the harmonic wall acts (Å).
    pub wall_radius: f64,
    /// Wall stiffness (eV/Å²).
    pub wall_stiffness: f64,
    /// Steps between samples.
    pub sample_every: usize,
    /// Steps before the first sample.
    pub equilibration: usize,
}

impl ClusterSampling {
    /// The recipe: 1000 K, dt 1 fs, friction 0.01/fs, wall at 6 Å, a sample every 50 steps.
    pub fn recipe(n_atoms: usize) -> Self {
        Self {
            n_atoms,
            temperature: 1000.0,
            dt: 1.0,
            friction: 0.01,
            wall_radius: 6.0,
            wall_stiffness: 1.0,
            sample_every: 50,
            equilibration: 2000,
        }
    }
}

/// One sampled configuration with its Stillinger–Weber energy and forces (the wall, a sampling
/// device only, is not part of them).
#[derive(Debug, Clone, PartialEq)]
pub struct Configuration {
    /// Positions (Å).
    pub positions: Vec<[f64; 3]>,
    /// SW energy (eV).
    pub energy: f64,
    /// SW forces (eV/Å).
    pub forces: Vec<[f64; 3]>,
}

/// The harmonic wall's energy and forces: `½ k (|x| − R)²` beyond `R`.
fn wall(positions: &[[f64; 3]], radius: f64, stiffness: f64) -> (f64, Vec<[f64; 3]>) {
    let mut energy = 0.0;
    let forces = positions
        .iter()
        .map(|x| {
            let r = dot(*x, *x).sqrt();
            if r <= radius {
                return [0.0; 3];
            }
            let over = r - radius;
            energy += 0.5 * stiffness * over * over;
            let f = -stiffness * over / r;
            [f * x[0], f * x[1], f * x[2]]
        })
        .collect();
    (energy, forces)
}

/// A compact random start: atoms on a jittered cubic lattice of spacing 2.4 Å around the origin.
pub fn initial_cluster(n_atoms: usize, rng: &mut ChaCha8Rng) -> Vec<[f64; 3]> {
    let side = (n_atoms as f64).cbrt().ceil() as usize;
    let jitter = Normal::new(0.0, 0.1).expect("valid normal");
    let spacing = 2.4;
    let centre = (side as f64 - 1.0) / 2.0;
    (0..n_atoms)
        .map(|k| {
            let (x, y, z) = (k % side, (k / side) % side, k / (side * side));
            [x, y, z].map(|c| (c as f64 - centre) * spacing + jitter.sample(rng))
        })
        .collect()
}

/// Langevin (BAOAB) sampling of `count` configurations of one cluster size from `seed`.
pub fn sample_clusters(
    potential: &StillingerWeber,
    sampling: &ClusterSampling,
    count: usize,
    seed: u64,
) -> Vec<Configuration> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = initial_cluster(sampling.n_atoms, &mut rng);
    let kt = BOLTZMANN_EV_PER_K * sampling.temperature;
    let accel = EV_PER_ANGSTROM_AMU_IN_ANGSTROM_PER_FS2 / SILICON_MASS_AMU;
    // Thermal velocity std in Å/fs: sqrt(kT/m) with kT/m in eV/amu → (Å/fs)² via `accel`·m.
    let v_std = (kt * accel).sqrt();
    let normal = Normal::new(0.0, 1.0).expect("valid normal");
    let mut v: Vec<[f64; 3]> = (0..x.len())
        .map(|_| [0; 3].map(|_| v_std * normal.sample(&mut rng)))
        .collect();
    let total_force = |x: &[[f64; 3]]| {
        let sw = potential.energy_forces(x);
        let (_, fw) = wall(x, sampling.wall_radius, sampling.wall_stiffness);
        sw.forces
            .iter()
            .zip(fw)
            .map(|(a, b)| [a[0] + b[0], a[1] + b[1], a[2] + b[2]])
            .collect::<Vec<_>>()
    };
    let dt = sampling.dt;
    let c1 = (-sampling.friction * dt).exp();
    let c2 = (1.0 - c1 * c1).sqrt() * v_std;
    let mut f = total_force(&x);
    let mut out = Vec::with_capacity(count);
    let mut step = 0usize;
    while out.len() < count {
        // B A O A B.
        for (vi, fi) in v.iter_mut().zip(&f) {
            for a in 0..3 {
                vi[a] += 0.5 * dt * accel * fi[a];
            }
        }
        for (xi, vi) in x.iter_mut().zip(&v) {
            for a in 0..3 {
                xi[a] += 0.5 * dt * vi[a];
            }
        }
        for vi in v.iter_mut() {
            for a in 0..3 {
                vi[a] = c1 * vi[a] + c2 * normal.sample(&mut rng);
            }
        }
        for (xi, vi) in x.iter_mut().zip(&v) {
            for a in 0..3 {
                xi[a] += 0.5 * dt * vi[a];
            }
        }
        f = total_force(&x);
        for (vi, fi) in v.iter_mut().zip(&f) {
            for a in 0..3 {
                vi[a] += 0.5 * dt * accel * fi[a];
            }
        }
        step += 1;
        if step >= sampling.equilibration && step.is_multiple_of(sampling.sample_every) {
            let sw = potential.energy_forces(&x);
            out.push(Configuration {
                positions: x.clone(),
                energy: sw.energy,
                forces: sw.forces,
            });
        }
    }
    out
}

/// Kinetic energy (eV) of velocities in Å/fs for atoms of mass `mass` (amu).
pub fn kinetic_energy(velocities: &[[f64; 3]], mass: f64) -> f64 {
    0.5 * mass / EV_PER_ANGSTROM_AMU_IN_ANGSTROM_PER_FS2
        * velocities.iter().map(|v| dot(*v, *v)).sum::<f64>()
}

/// Velocity Verlet under `force` (returning energy and forces) for `steps` steps of `dt` fs;
/// returns `(potential, kinetic)` after every step, the start included.
pub fn nve(
    mut force: impl FnMut(&[[f64; 3]]) -> EnergyForces,
    positions: &mut [[f64; 3]],
    velocities: &mut [[f64; 3]],
    mass: f64,
    dt: f64,
    steps: usize,
) -> Vec<(f64, f64)> {
    let accel = EV_PER_ANGSTROM_AMU_IN_ANGSTROM_PER_FS2 / mass;
    let mut current = force(positions);
    let mut energies = vec![(current.energy, kinetic_energy(velocities, mass))];
    for _ in 0..steps {
        for ((x, v), f) in positions
            .iter_mut()
            .zip(velocities.iter_mut())
            .zip(&current.forces)
        {
            for a in 0..3 {
                v[a] += 0.5 * dt * accel * f[a];
                x[a] += dt * v[a];
            }
        }
        current = force(positions);
        for (v, f) in velocities.iter_mut().zip(&current.forces) {
            for a in 0..3 {
                v[a] += 0.5 * dt * accel * f[a];
            }
        }
        energies.push((current.energy, kinetic_energy(velocities, mass)));
    }
    energies
}
