//! The Kob–Andersen binary Lennard-Jones mixture (Kob & Andersen 1995) in a periodic cube:
//! the glass former of Bapst et al. (2020).
//!
//! Reduced LJ units (σ_AA = ε_AA = m = k_B = 1). Pairs interact through
//! U(r) = 4ε_αβ[(σ_αβ/r)¹² − (σ_αβ/r)⁶] − U(r_c), truncated at r_c = 2.5σ_αβ and shifted so the
//! energy is continuous. Forces come from a Verlet list (cut-off + skin) that learnsim-core's
//! periodic cell list builds and that is rebuilt once any particle has moved half the skin.
//! Positions are kept *unwrapped*, so displacements over long runs (propensities, the self
//! intermediate scattering function) need no image bookkeeping.

use learnsim_core::{CellList, Domain, SelfEdges};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Particle species: A (80 %) or B (20 %).
pub type Species = u8;
/// Species A, the majority (propensity is scored on A particles).
pub const SPECIES_A: Species = 0;
/// Species B.
pub const SPECIES_B: Species = 1;

/// The KA parameters: ε_αβ and σ_αβ, and the cut-off in units of σ_αβ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KobAndersen {
    /// ε_AA, ε_AB, ε_BB as a symmetric matrix.
    pub epsilon: [[f64; 2]; 2],
    /// σ_AA, σ_AB, σ_BB as a symmetric matrix.
    pub sigma: [[f64; 2]; 2],
    /// r_c / σ_αβ.
    pub cutoff_ratio: f64,
}

impl Default for KobAndersen {
    /// Kob & Andersen's mixture: ε_AB = 1.5, ε_BB = 0.5, σ_AB = 0.8, σ_BB = 0.88, r_c = 2.5σ.
    fn default() -> Self {
        Self {
            epsilon: [[1.0, 1.5], [1.5, 0.5]],
            sigma: [[1.0, 0.8], [0.8, 0.88]],
            cutoff_ratio: 2.5,
        }
    }
}

impl KobAndersen {
    /// The largest cut-off over species pairs.
    pub fn max_cutoff(&self) -> f64 {
        self.cutoff_ratio * self.sigma.iter().flatten().copied().fold(0.0, f64::max)
    }

    fn unshifted(&self, a: usize, b: usize, r2: f64) -> (f64, f64) {
        let sr2 = self.sigma[a][b] * self.sigma[a][b] / r2;
        let sr6 = sr2 * sr2 * sr2;
        let eps = self.epsilon[a][b];
        (
            4.0 * eps * (sr6 * sr6 - sr6),
            24.0 * eps * (2.0 * sr6 * sr6 - sr6) / r2,
        )
    }

    /// (U(r), F(r)/r) of species `a` and `b` at squared distance `r2`, or `None` beyond the
    /// cut-off. The force on the first particle is `F/r · (x_a − x_b)`.
    pub fn pair(&self, a: Species, b: Species, r2: f64) -> Option<(f64, f64)> {
        let (a, b) = (usize::from(a), usize::from(b));
        let rc = self.cutoff_ratio * self.sigma[a][b];
        if r2 >= rc * rc {
            return None;
        }
        let (u, f_over_r) = self.unshifted(a, b, r2);
        Some((u - self.unshifted(a, b, rc * rc).0, f_over_r))
    }
}

/// A KA configuration in a periodic cube, with its velocities, forces and Verlet list.
#[derive(Debug, Clone)]
pub struct GlassSystem {
    /// The potential.
    pub potential: KobAndersen,
    /// Edge of the periodic cube.
    pub box_length: f64,
    /// Species of each particle.
    pub species: Vec<Species>,
    /// Unwrapped positions.
    pub positions: Vec<[f64; 3]>,
    /// Velocities.
    pub velocities: Vec<[f64; 3]>,
    forces: Vec<[f64; 3]>,
    per_particle_energy: Vec<f64>,
    table: [[PairConstants; 2]; 2],
    pairs: Vec<ListedPair>,
    listed_at: Vec<[f64; 3]>,
    skin: f64,
}

/// One species pair's constants, so the force loop does no divisions beyond 1/r².
#[derive(Debug, Clone, Copy, Default)]
struct PairConstants {
    sigma2: f64,
    cutoff2: f64,
    four_eps: f64,
    shift: f64,
}

/// A Verlet-list pair `i < j` with the periodic image fixed at build time: the displacement
/// is `x_i − x_j − image`. The image of a pair within the cut-off cannot change before the
/// next rebuild: that needs |x_i − x_j| to cross L/2 > cut-off + skin.
#[derive(Debug, Clone, Copy)]
struct ListedPair {
    i: u32,
    j: u32,
    image: [f64; 3],
    constants: PairConstants,
}

/// Minimum-image displacement in a cube of edge `l`.
fn min_image(mut d: [f64; 3], l: f64) -> [f64; 3] {
    for v in &mut d {
        *v -= l * (*v / l).round();
    }
    d
}

impl GlassSystem {
    /// `n_a + n_b` particles on the sites of an FCC lattice at number density `density`
    /// (the first `n_a + n_b` sites of the smallest lattice that holds them), species placed at
    /// random, at rest. Melt it before use.
    pub fn lattice(n_a: usize, n_b: usize, density: f64, rng: &mut ChaCha8Rng) -> Self {
        let n = n_a + n_b;
        assert!(n > 0, "a KA system needs particles");
        let box_length = (n as f64 / density).cbrt();
        let cells = (1..).find(|k| 4 * k * k * k >= n).unwrap_or(1);
        let a = box_length / cells as f64;
        let basis = [
            [0.0, 0.0, 0.0],
            [0.5, 0.5, 0.0],
            [0.5, 0.0, 0.5],
            [0.0, 0.5, 0.5],
        ];
        let mut positions = Vec::with_capacity(n);
        'fill: for i in 0..cells {
            for j in 0..cells {
                for k in 0..cells {
                    for b in basis {
                        if positions.len() == n {
                            break 'fill;
                        }
                        positions.push([
                            (i as f64 + b[0] + 0.25) * a,
                            (j as f64 + b[1] + 0.25) * a,
                            (k as f64 + b[2] + 0.25) * a,
                        ]);
                    }
                }
            }
        }
        let mut species = vec![SPECIES_A; n];
        let mut order: Vec<usize> = (0..n).collect();
        for i in 0..n_b {
            let j = rng.random_range(i..n);
            order.swap(i, j);
            species[order[i]] = SPECIES_B;
        }
        Self::new(KobAndersen::default(), box_length, species, positions)
    }

    /// A system from explicit positions (unwrapped or not), at rest.
    pub fn new(
        potential: KobAndersen,
        box_length: f64,
        species: Vec<Species>,
        positions: Vec<[f64; 3]>,
    ) -> Self {
        assert_eq!(species.len(), positions.len(), "one species per particle");
        let skin = 0.3;
        assert!(
            potential.max_cutoff() + skin < 0.5 * box_length,
            "box edge {box_length} too small for cut-off {} + skin {skin} (minimum image)",
            potential.max_cutoff()
        );
        let n = positions.len();
        let table = std::array::from_fn(|a| {
            std::array::from_fn(|b| {
                let rc = potential.cutoff_ratio * potential.sigma[a][b];
                PairConstants {
                    sigma2: potential.sigma[a][b] * potential.sigma[a][b],
                    cutoff2: rc * rc,
                    four_eps: 4.0 * potential.epsilon[a][b],
                    shift: potential.unshifted(a, b, rc * rc).0,
                }
            })
        });
        let mut system = Self {
            table,
            potential,
            box_length,
            species,
            velocities: vec![[0.0; 3]; n],
            forces: vec![[0.0; 3]; n],
            per_particle_energy: vec![0.0; n],
            listed_at: positions.clone(),
            positions,
            pairs: Vec::new(),
            skin,
        };
        system.rebuild_list();
        system.compute_forces();
        system
    }

    /// Number of particles.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether there are no particles.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// The periodic domain `[0, L)³`.
    pub fn domain(&self) -> Domain<3> {
        Domain::new([0.0; 3], [self.box_length; 3], [true; 3]).expect("positive box edge")
    }

    /// Positions wrapped into `[0, L)³`.
    pub fn wrapped_positions(&self) -> Vec<[f64; 3]> {
        let domain = self.domain();
        self.positions
            .iter()
            .map(|x| {
                let mut x = *x;
                domain.wrap(&mut x);
                x
            })
            .collect()
    }

    fn rebuild_list(&mut self) {
        let l = self.box_length;
        let reach = self.potential.max_cutoff() + self.skin;
        let (positions, species, table) = (&self.positions, &self.species, &self.table);
        let skin = self.skin;
        let listed = |i: u32, j: u32| {
            let (xi, xj) = (positions[i as usize], positions[j as usize]);
            let image: [f64; 3] = std::array::from_fn(|a| l * ((xi[a] - xj[a]) / l).round());
            let r2: f64 = (0..3).map(|a| (xi[a] - xj[a] - image[a]).powi(2)).sum();
            let constants =
                table[usize::from(species[i as usize])][usize::from(species[j as usize])];
            // Each species pair is listed out to its own cut-off + skin.
            let reach = constants.cutoff2.sqrt() + skin;
            (r2 <= reach * reach).then_some(ListedPair {
                i,
                j,
                image,
                constants,
            })
        };
        self.pairs.clear();
        if l < 3.0 * reach {
            // Fewer than three cells per axis: the cell list would visit every particle from
            // every particle anyway (measured: its per-receiver vectors, sort and threads cost
            // more than the force loop at N = 256), so test all pairs directly.
            let n = positions.len() as u32;
            for i in 0..n {
                self.pairs.extend((i + 1..n).filter_map(|j| listed(i, j)));
            }
        } else {
            let cells = CellList::new(self.domain(), reach).expect("valid cell list");
            let edges = cells.edges(&self.wrapped_positions(), SelfEdges::Exclude);
            self.pairs.extend(
                edges
                    .senders
                    .iter()
                    .zip(&edges.receivers)
                    .filter(|(s, r)| s < r)
                    .filter_map(|(&i, &j)| listed(i, j)),
            );
        }
        self.listed_at.clone_from(&self.positions);
    }

    fn list_is_stale(&self) -> bool {
        let limit = (0.5 * self.skin) * (0.5 * self.skin);
        self.positions
            .iter()
            .zip(&self.listed_at)
            .any(|(x, y)| (0..3).map(|a| (x[a] - y[a]).powi(2)).sum::<f64>() > limit)
    }

    fn compute_forces(&mut self) {
        if self.list_is_stale() {
            self.rebuild_list();
        }
        self.forces.iter_mut().for_each(|f| *f = [0.0; 3]);
        self.per_particle_energy.iter_mut().for_each(|u| *u = 0.0);
        for pair in &self.pairs {
            let (i, j) = (pair.i as usize, pair.j as usize);
            let (xi, xj) = (self.positions[i], self.positions[j]);
            let d: [f64; 3] = std::array::from_fn(|a| xi[a] - xj[a] - pair.image[a]);
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            let c = &pair.constants;
            if r2 >= c.cutoff2 {
                continue;
            }
            let inv_r2 = 1.0 / r2;
            let sr2 = c.sigma2 * inv_r2;
            let sr6 = sr2 * sr2 * sr2;
            let half_u = 0.5 * (c.four_eps * (sr6 * sr6 - sr6) - c.shift);
            let f_over_r = 6.0 * c.four_eps * (2.0 * sr6 * sr6 - sr6) * inv_r2;
            for a in 0..3 {
                self.forces[i][a] += f_over_r * d[a];
                self.forces[j][a] -= f_over_r * d[a];
            }
            self.per_particle_energy[i] += half_u;
            self.per_particle_energy[j] += half_u;
        }
    }

    /// Forces on each particle at the current positions.
    pub fn forces(&self) -> &[[f64; 3]] {
        &self.forces
    }

    /// Each particle's potential energy: half of each of its pair energies.
    pub fn per_particle_energy(&self) -> &[f64] {
        &self.per_particle_energy
    }

    /// Total potential energy.
    pub fn potential_energy(&self) -> f64 {
        self.per_particle_energy.iter().sum()
    }

    /// Total kinetic energy (m = 1).
    pub fn kinetic_energy(&self) -> f64 {
        0.5 * self
            .velocities
            .iter()
            .map(|v| v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
            .sum::<f64>()
    }

    /// Instantaneous temperature 2K / (3N − 3) (total momentum is zero).
    pub fn temperature(&self) -> f64 {
        2.0 * self.kinetic_energy() / (3.0 * self.len() as f64 - 3.0)
    }

    /// Total momentum.
    pub fn momentum(&self) -> [f64; 3] {
        let mut p = [0.0; 3];
        for v in &self.velocities {
            for a in 0..3 {
                p[a] += v[a];
            }
        }
        p
    }

    /// Fresh Maxwell–Boltzmann velocities at `temperature`: total momentum removed, then
    /// rescaled to exactly `temperature` (as LAMMPS's `velocity create`).
    pub fn thermalize(&mut self, temperature: f64, rng: &mut ChaCha8Rng) {
        for v in &mut self.velocities {
            *v = [0; 3].map(|_| StandardNormal.sample(rng));
        }
        let p = self.momentum();
        let n = self.len() as f64;
        for v in &mut self.velocities {
            for a in 0..3 {
                v[a] -= p[a] / n;
            }
        }
        let scale = (temperature / self.temperature()).sqrt();
        for v in &mut self.velocities {
            v.iter_mut().for_each(|c| *c *= scale);
        }
    }

    /// The closing half of either integrator: forces at the new positions, then the last
    /// half-kick v += dt/2 · F.
    fn forces_and_half_kick(&mut self, dt: f64) {
        self.compute_forces();
        for (v, f) in self.velocities.iter_mut().zip(&self.forces) {
            for a in 0..3 {
                v[a] += 0.5 * dt * f[a];
            }
        }
    }

    /// One velocity-Verlet step of `dt` (NVE).
    pub fn step_nve(&mut self, dt: f64) {
        for ((x, v), f) in self
            .positions
            .iter_mut()
            .zip(&mut self.velocities)
            .zip(&self.forces)
        {
            for a in 0..3 {
                v[a] += 0.5 * dt * f[a];
                x[a] += dt * v[a];
            }
        }
        self.forces_and_half_kick(dt);
    }

    /// One BAOAB Langevin step of `dt` at `temperature` with friction `gamma` (NVT; the
    /// thermostat of the equilibration runs only).
    pub fn step_langevin(&mut self, dt: f64, temperature: f64, gamma: f64, rng: &mut ChaCha8Rng) {
        let c1 = (-gamma * dt).exp();
        let c2 = ((1.0 - c1 * c1) * temperature).sqrt();
        for ((x, v), f) in self
            .positions
            .iter_mut()
            .zip(&mut self.velocities)
            .zip(&self.forces)
        {
            for a in 0..3 {
                v[a] += 0.5 * dt * f[a];
                x[a] += 0.5 * dt * v[a];
                let xi: f64 = StandardNormal.sample(rng);
                v[a] = c1 * v[a] + c2 * xi;
                x[a] += 0.5 * dt * v[a];
            }
        }
        self.forces_and_half_kick(dt);
    }

    /// Number of neighbours of each particle within `radius` (minimum image).
    pub fn neighbour_counts(&self, radius: f64) -> Vec<usize> {
        let cells = CellList::new(self.domain(), radius).expect("valid cell list");
        let edges = cells.edges(&self.wrapped_positions(), SelfEdges::Exclude);
        let mut counts = vec![0; self.len()];
        for &r in &edges.receivers {
            counts[r as usize] += 1;
        }
        counts
    }

    /// Forces by the O(N²) double loop over minimum images (the Verlet list's reference).
    pub fn brute_force_forces(&self) -> Vec<[f64; 3]> {
        let mut forces = vec![[0.0; 3]; self.len()];
        for i in 0..self.len() {
            for j in 0..self.len() {
                if i == j {
                    continue;
                }
                let (xi, xj) = (self.positions[i], self.positions[j]);
                let d = min_image(
                    [xi[0] - xj[0], xi[1] - xj[1], xi[2] - xj[2]],
                    self.box_length,
                );
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if let Some((_, f)) = self.potential.pair(self.species[i], self.species[j], r2) {
                    for a in 0..3 {
                        forces[i][a] += f * d[a];
                    }
                }
            }
        }
        forces
    }
}

/// Self intermediate scattering function of the particles of `species`, spherically averaged:
/// F_s(k) = ⟨sin(k|Δr|) / (k|Δr|)⟩ over Δr = `now` − `start` (unwrapped).
pub fn self_isf(
    start: &[[f64; 3]],
    now: &[[f64; 3]],
    species: &[Species],
    which: Species,
    k: f64,
) -> f64 {
    let (mut sum, mut count) = (0.0, 0usize);
    for ((a, b), &s) in start.iter().zip(now).zip(species) {
        if s != which {
            continue;
        }
        let r = ((0..3).map(|d| (b[d] - a[d]).powi(2)).sum::<f64>()).sqrt();
        let kr = k * r;
        sum += if kr < 1e-8 { 1.0 } else { kr.sin() / kr };
        count += 1;
    }
    sum / count.max(1) as f64
}

/// |r_i(now) − r_i(start)| per particle (unwrapped positions).
pub fn displacements(start: &[[f64; 3]], now: &[[f64; 3]]) -> Vec<f64> {
    start
        .iter()
        .zip(now)
        .map(|(a, b)| ((0..3).map(|d| (b[d] - a[d]).powi(2)).sum::<f64>()).sqrt())
        .collect()
}

/// A cube symmetry as (permutation, signs): coordinate `a` of the image is
/// `signs[a] · x[perm[a]]`.
pub type CubeSymmetry = ([usize; 3], [f64; 3]);

/// The six permutations of three axes (with sign flips, the 48 cube symmetries).
pub const AXIS_PERMUTATIONS: [[usize; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];

/// A uniformly random element of the 48 axis permutations × reflections of the cube.
pub fn random_cube_symmetry(rng: &mut impl Rng) -> CubeSymmetry {
    let perm = AXIS_PERMUTATIONS[rng.random_range(0..6)];
    let signs = [0; 3].map(|_| if rng.random_bool(0.5) { -1.0 } else { 1.0 });
    (perm, signs)
}

/// All 48 axis permutations × reflections of the cube (the octahedral group O_h), identity
/// first.
pub fn cube_symmetries() -> Vec<CubeSymmetry> {
    let mut all = Vec::with_capacity(48);
    for perm in AXIS_PERMUTATIONS {
        for bits in 0..8u8 {
            let signs = [0, 1, 2].map(|a| if bits >> a & 1 == 1 { -1.0 } else { 1.0 });
            all.push((perm, signs));
        }
    }
    all
}
