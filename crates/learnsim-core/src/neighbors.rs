//! Radius neighbour search with a cell list, periodic-aware.
//!
//! The edge list is the contract a GNS builds its graph from, so its order is fixed: sorted by
//! receiver, then by sender. Receivers-sorted edges also let a scatter-add be a segmented sum.

use crate::{CoreError, Domain, Real};
use rayon::prelude::*;

/// Whether a particle is its own neighbour. DeepMind's GNS (a KD-tree ball query) includes
/// self-edges; pair potentials exclude them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfEdges {
    /// Each particle gets an edge to itself.
    Include,
    /// No particle is its own neighbour.
    Exclude,
}

/// Directed edges `senders[k] → receivers[k]`, sorted by receiver then sender.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edges {
    /// Index of the particle each edge comes from.
    pub senders: Vec<u32>,
    /// Index of the particle each edge goes to.
    pub receivers: Vec<u32>,
}

impl Edges {
    /// Number of edges.
    pub fn len(&self) -> usize {
        self.senders.len()
    }

    /// Whether there are no edges.
    pub fn is_empty(&self) -> bool {
        self.senders.is_empty()
    }
}

/// Upper bound on the number of cells, so that a tiny radius in a huge box cannot exhaust
/// memory; past it cells grow, which stays correct because a cell only needs to be ≥ the radius.
const MAX_CELLS: usize = 1 << 22;

/// Relative slack on the cell size. With cells at least `r·(1 + 1e-6)` wide, a pair within `r`
/// sits in adjacent cells even when rounding of `(x − lo) / size` (relative error ~1e-16) puts a
/// particle lying exactly on a cell edge into the cell below.
const CELL_SLACK: Real = 1e-6;

/// A uniform grid of cells no smaller than the search radius.
#[derive(Debug, Clone)]
pub struct CellList<const D: usize> {
    domain: Domain<D>,
    radius: Real,
    n_cells: [usize; D],
    cell_size: [Real; D],
}

impl<const D: usize> CellList<D> {
    /// A cell list for `domain` and search `radius`.
    pub fn new(domain: Domain<D>, radius: Real) -> Result<Self, CoreError> {
        assert!(D <= 3, "cell lists support 1 to 3 dimensions");
        if !(radius.is_finite() && radius > 0.0) {
            return Err(CoreError::InvalidRadius(radius));
        }
        let extent = domain.extent();
        let mut n_cells: [usize; D] = std::array::from_fn(|axis| {
            let n = (extent[axis] / (radius * (1.0 + CELL_SLACK))).floor();
            if n.is_finite() && n >= 1.0 {
                n.min(MAX_CELLS as Real) as usize
            } else {
                1
            }
        });
        while n_cells.iter().fold(1usize, |acc, &n| acc.saturating_mul(n)) > MAX_CELLS {
            n_cells.iter_mut().for_each(|n| *n = (*n / 2).max(1));
        }
        let cell_size = std::array::from_fn(|axis| extent[axis] / n_cells[axis] as Real);
        Ok(Self {
            domain,
            radius,
            n_cells,
            cell_size,
        })
    }

    /// The domain the cells cover.
    pub fn domain(&self) -> &Domain<D> {
        &self.domain
    }

    /// Cells per axis.
    pub fn n_cells(&self) -> [usize; D] {
        self.n_cells
    }

    /// Integer cell coordinates of a point: periodic axes wrap, walled axes clamp (a particle
    /// outside a wall still finds its neighbours, because clamping never separates a pair by more
    /// than one cell).
    fn cell_of(&self, x: &[Real; D]) -> [usize; D] {
        let mut wrapped = *x;
        self.domain.wrap(&mut wrapped);
        std::array::from_fn(|axis| {
            let c = ((wrapped[axis] - self.domain.lower[axis]) / self.cell_size[axis]).floor();
            if c.is_nan() || c < 0.0 {
                0
            } else {
                (c as usize).min(self.n_cells[axis] - 1)
            }
        })
    }

    fn flat(&self, cell: &[usize; D]) -> usize {
        let mut index = 0;
        for axis in 0..D {
            index = index * self.n_cells[axis] + cell[axis];
        }
        index
    }

    /// Flat indices of the (up to 3^D ≤ 27) cells around `cell`, deduplicated and sorted into
    /// `out`, returning how many there are. Periodic axes with fewer than three cells would
    /// otherwise visit a cell twice. No allocation: this runs once per particle per step.
    fn neighbor_cells(&self, cell: &[usize; D], out: &mut [usize; 27]) -> usize {
        let mut count = 0;
        'offsets: for code in 0..3usize.pow(D as u32) {
            let mut neighbor = [0usize; D];
            let mut rest = code;
            for axis in 0..D {
                let offset = (rest % 3) as isize - 1;
                rest /= 3;
                let n = self.n_cells[axis] as isize;
                let c = cell[axis] as isize + offset;
                neighbor[axis] = if self.domain.periodic[axis] {
                    c.rem_euclid(n) as usize
                } else if (0..n).contains(&c) {
                    c as usize
                } else {
                    continue 'offsets;
                };
            }
            out[count] = self.flat(&neighbor);
            count += 1;
        }
        let cells = &mut out[..count];
        cells.sort_unstable();
        let mut unique = 0;
        for k in 0..count {
            if k == 0 || cells[k] != cells[unique - 1] {
                cells[unique] = cells[k];
                unique += 1;
            }
        }
        unique
    }

    /// All pairs within the radius (minimum image on periodic axes), as receivers-sorted edges.
    ///
    /// # Shapes
    /// - `positions`: `[N]` points of `D` coordinates.
    /// - returns: `E` edges, `E = Σ_i |{j : |x_j − x_i| ≤ r}|` (minus `N` without self-edges).
    pub fn edges(&self, positions: &[[Real; D]], self_edges: SelfEdges) -> Edges {
        assert!(
            positions.len() < u32::MAX as usize,
            "particle count must fit in u32"
        );
        let n_total: usize = self.n_cells.iter().product();
        // Counting sort of particles into cells; stable, so cell contents are in index order.
        let cells: Vec<usize> = positions
            .iter()
            .map(|x| self.flat(&self.cell_of(x)))
            .collect();
        let mut start = vec![0u32; n_total + 1];
        for &c in &cells {
            start[c + 1] += 1;
        }
        for c in 0..n_total {
            start[c + 1] += start[c];
        }
        let mut fill = start.clone();
        let mut sorted = vec![0u32; positions.len()];
        for (i, &c) in cells.iter().enumerate() {
            sorted[fill[c] as usize] = i as u32;
            fill[c] += 1;
        }

        let r2 = self.radius * self.radius;
        let per_receiver: Vec<Vec<u32>> = positions
            .par_iter()
            .enumerate()
            .map(|(i, xi)| {
                let mut senders = Vec::new();
                let mut cells = [0usize; 27];
                let n_cells = self.neighbor_cells(&self.cell_of(xi), &mut cells);
                for &c in &cells[..n_cells] {
                    for &j in &sorted[start[c] as usize..start[c + 1] as usize] {
                        if j as usize == i && self_edges == SelfEdges::Exclude {
                            continue;
                        }
                        let d = self.domain.displacement(&positions[j as usize], xi);
                        if Domain::<D>::norm_squared(&d) <= r2 {
                            senders.push(j);
                        }
                    }
                }
                senders.sort_unstable();
                senders
            })
            .collect();

        let n_edges = per_receiver.iter().map(Vec::len).sum();
        let mut edges = Edges {
            senders: Vec::with_capacity(n_edges),
            receivers: Vec::with_capacity(n_edges),
        };
        for (i, senders) in per_receiver.into_iter().enumerate() {
            edges
                .receivers
                .extend(std::iter::repeat_n(i as u32, senders.len()));
            edges.senders.extend(senders);
        }
        edges
    }
}

/// The O(N²) reference: every pair within `radius` under `domain`'s minimum image, in the same
/// order as [`CellList::edges`].
pub fn brute_force_edges<const D: usize>(
    domain: &Domain<D>,
    radius: Real,
    positions: &[[Real; D]],
    self_edges: SelfEdges,
) -> Edges {
    let mut edges = Edges::default();
    for (i, xi) in positions.iter().enumerate() {
        for (j, xj) in positions.iter().enumerate() {
            if i == j && self_edges == SelfEdges::Exclude {
                continue;
            }
            if Domain::<D>::norm_squared(&domain.displacement(xj, xi)) <= radius * radius {
                edges.senders.push(j as u32);
                edges.receivers.push(i as u32);
            }
        }
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_points<const D: usize>(n: usize, domain: &Domain<D>, seed: u64) -> Vec<[Real; D]> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| std::array::from_fn(|a| rng.random_range(domain.lower[a]..domain.upper[a])))
            .collect()
    }

    fn check<const D: usize>(domain: Domain<D>, radius: Real, points: &[[Real; D]]) {
        let cells = CellList::new(domain, radius).unwrap();
        for self_edges in [SelfEdges::Include, SelfEdges::Exclude] {
            let fast = cells.edges(points, self_edges);
            let slow = brute_force_edges(&domain, radius, points, self_edges);
            assert_eq!(
                fast, slow,
                "cell list disagrees with brute force ({self_edges:?})"
            );
        }
    }

    #[test]
    fn matches_brute_force_on_random_walled_points_2d_and_3d() {
        let d2 = Domain::walled([0.1, 0.1], [0.9, 0.9]).unwrap();
        check(d2, 0.05, &random_points(800, &d2, 1));
        let d3 = Domain::walled([0.0; 3], [1.0, 0.5, 2.0]).unwrap();
        check(d3, 0.12, &random_points(600, &d3, 2));
    }

    #[test]
    fn matches_brute_force_on_random_periodic_points() {
        let d2 = Domain::new([0.0, 0.0], [1.0, 1.0], [true, true]).unwrap();
        check(d2, 0.07, &random_points(700, &d2, 3));
        let mixed = Domain::new([0.0; 3], [1.0; 3], [true, false, true]).unwrap();
        check(mixed, 0.15, &random_points(500, &mixed, 4));
    }

    #[test]
    fn periodic_axis_with_fewer_than_three_cells_counts_each_pair_once() {
        // Box of 1 with radius 0.45: two cells per axis, so ±1 offsets alias the same cell.
        let d2 = Domain::new([0.0, 0.0], [1.0, 1.0], [true, true]).unwrap();
        assert_eq!(CellList::new(d2, 0.45).unwrap().n_cells(), [2, 2]);
        check(d2, 0.45, &random_points(200, &d2, 5));
    }

    #[test]
    fn particles_exactly_on_cell_edges_and_at_the_radius() {
        // A lattice with spacing equal to the radius: every nearest-neighbour pair lies exactly
        // at distance r and every particle on a cell edge; both must be found.
        let domain = Domain::walled([0.0, 0.0], [1.0, 1.0]).unwrap();
        let r = 0.125;
        let points: Vec<[Real; 2]> = (0..=8)
            .flat_map(|i| (0..=8).map(move |j| [i as Real * r, j as Real * r]))
            .collect();
        check(domain, r, &points);
        let periodic = Domain::new([0.0, 0.0], [1.0, 1.0], [true, true]).unwrap();
        check(periodic, r, &points);
    }

    #[test]
    fn empty_input_and_points_outside_walls() {
        let domain = Domain::walled([0.0, 0.0], [1.0, 1.0]).unwrap();
        let cells = CellList::new(domain, 0.1).unwrap();
        assert!(cells.edges(&[], SelfEdges::Include).is_empty());
        let outside = [[-0.05, 0.5], [0.02, 0.5], [1.2, 1.2], [1.15, 1.2]];
        check(domain, 0.1, &outside);
    }

    #[test]
    fn radius_larger_than_box_and_absurd_sizes_are_handled() {
        let domain = Domain::new([0.0, 0.0], [1.0, 1.0], [false, true]).unwrap();
        check(domain, 3.0, &random_points(50, &domain, 6));
        assert!(CellList::new(domain, 0.0).is_err());
        assert!(CellList::new(domain, f64::NAN).is_err());
        let huge = Domain::walled([0.0; 3], [1e6; 3]).unwrap();
        let cells = CellList::new(huge, 1e-3).unwrap();
        assert!(cells.n_cells().iter().product::<usize>() <= MAX_CELLS);
    }
}
