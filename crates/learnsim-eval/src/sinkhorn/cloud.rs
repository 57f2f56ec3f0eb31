//! Particle clouds sorted into the cells of a uniform grid, so that the Sinkhorn kernel can
//! bound whole blocks of the cost matrix at once.

/// A uniform grid shared by both clouds of an OT problem: cell indices of a row and a column
/// point give bounds on their (minimum-image) distance.
#[derive(Debug, Clone)]
pub(super) struct Geometry {
    /// Lower corner per axis (0 on periodic axes, whose coordinates are wrapped into [0, L)).
    lo: Vec<f64>,
    /// Cell side per axis.
    side: Vec<f64>,
    /// Cells per axis.
    pub(super) n: Vec<usize>,
    /// Box length of each periodic axis.
    pub(super) period: Vec<Option<f64>>,
    /// Cells per tile side. Cells are numbered tile by tile, so the points of a tile (the rows
    /// the kernel handles together) are contiguous in cell order.
    tile: usize,
}

impl Geometry {
    /// Cells of side about `side` over the bounding box of `points` (every cloud of the
    /// problem), or over the period on periodic axes; at most `max_cells` cells in all.
    pub(super) fn new(
        points: &[&[f32]],
        dim: usize,
        period: &[Option<f64>],
        side: f64,
        tile: usize,
        max_cells: usize,
    ) -> Self {
        let period: Vec<Option<f64>> = (0..dim).map(|a| period.get(a).copied().flatten()).collect();
        let mut lo = vec![f64::INFINITY; dim];
        let mut hi = vec![f64::NEG_INFINITY; dim];
        for cloud in points {
            for p in cloud.chunks_exact(dim) {
                for a in 0..dim {
                    let v = f64::from(p[a]);
                    lo[a] = lo[a].min(v);
                    hi[a] = hi[a].max(v);
                }
            }
        }
        let mut side = side.max(f64::MIN_POSITIVE);
        loop {
            let mut g = Self {
                lo: vec![0.0; dim],
                side: vec![0.0; dim],
                n: vec![1; dim],
                period: period.clone(),
                tile: tile.max(1),
            };
            for a in 0..dim {
                let (origin, extent) = match period[a] {
                    Some(l) => (0.0, l),
                    None if lo[a].is_finite() => (lo[a], hi[a] - lo[a]),
                    None => (0.0, 0.0),
                };
                let n = if period[a].is_some() {
                    (extent / side).floor().max(1.0)
                } else {
                    (extent / side).ceil().max(1.0)
                };
                g.n[a] = n.min(1e9) as usize;
                g.lo[a] = origin;
                g.side[a] = if extent > 0.0 {
                    extent / g.n[a] as f64
                } else {
                    side
                };
            }
            if g.n_cells() <= max_cells.max(1) {
                return g;
            }
            side *= 1.25;
        }
    }

    /// One cell holding everything: the dense kernel.
    pub(super) fn single(dim: usize, period: &[Option<f64>]) -> Self {
        let period: Vec<Option<f64>> = (0..dim).map(|a| period.get(a).copied().flatten()).collect();
        Self {
            lo: vec![0.0; dim],
            side: period.iter().map(|p| p.unwrap_or(f64::INFINITY)).collect(),
            n: vec![1; dim],
            period,
            tile: 1,
        }
    }

    /// The largest squared cell side.
    pub(super) fn max_side2(&self) -> f64 {
        self.side.iter().map(|s| s * s).fold(0.0, f64::max)
    }

    pub(super) fn dim(&self) -> usize {
        self.n.len()
    }

    /// Linear cell indices run over `0..n_cells()`; some at the edges are never occupied.
    pub(super) fn n_cells(&self) -> usize {
        self.n_tiles() * self.cells_per_tile()
    }

    fn tiles_per_axis(&self, a: usize) -> usize {
        self.n[a].div_ceil(self.tile)
    }

    /// Tiles in all.
    pub(super) fn n_tiles(&self) -> usize {
        (0..self.dim()).map(|a| self.tiles_per_axis(a)).product()
    }

    /// Linear cell indices per tile: tile t holds `t·c..(t + 1)·c`.
    pub(super) fn cells_per_tile(&self) -> usize {
        self.tile.pow(self.dim() as u32)
    }

    /// Per-axis cell index ranges `[lo, hi]` of tile `t`.
    pub(super) fn tile_box(&self, mut t: usize) -> Vec<(usize, usize)> {
        (0..self.dim())
            .map(|a| {
                let k = self.tiles_per_axis(a);
                let ta = t % k;
                t /= k;
                let lo = ta * self.tile;
                (lo, (lo + self.tile - 1).min(self.n[a] - 1))
            })
            .collect()
    }

    /// The coordinate as the kernel uses it: wrapped into [0, L) on periodic axes.
    fn wrap(&self, a: usize, v: f64) -> f64 {
        match self.period[a] {
            Some(l) => v.rem_euclid(l),
            None => v,
        }
    }

    fn axis_cell(&self, a: usize, v: f64) -> usize {
        if self.n[a] == 1 {
            return 0;
        }
        let c = ((v - self.lo[a]) / self.side[a]).floor();
        (c.max(0.0) as usize).min(self.n[a] - 1)
    }

    /// Linear index of the cell of per-axis indices `c`: its tile's index times the cells per
    /// tile, plus its index within the tile.
    pub(super) fn linear(&self, c: &[usize]) -> usize {
        let (mut tile, mut within) = (0, 0);
        for a in (0..self.dim()).rev() {
            tile = tile * self.tiles_per_axis(a) + c[a] / self.tile;
            within = within * self.tile + c[a] % self.tile;
        }
        tile * self.cells_per_tile() + within
    }

    /// Cells between cell `j` and the interval of cells `[lo, hi]` along axis `a`: 0 inside
    /// it, the shorter way round on a periodic axis.
    fn gap(&self, a: usize, (lo, hi): (usize, usize), j: usize) -> usize {
        let n = self.n[a];
        if self.period[a].is_some() {
            let o = (j + n - lo) % n;
            let width = hi - lo;
            if o <= width {
                0
            } else {
                (o - width).min(n - o)
            }
        } else if j < lo {
            lo - j
        } else {
            j.saturating_sub(hi)
        }
    }

    /// A lower bound on the squared (minimum-image) distance between any point of the box of
    /// cells `b` (per-axis `[lo, hi]`) and any point of cell `j` (per-axis indices). Points of
    /// cell c on axis a lie in [lo + c·s, lo + (c + 1)·s], so a gap of Δ cells leaves at least
    /// (Δ − 1)·s between the points.
    pub(super) fn distance2_lower_bound(&self, b: &[(usize, usize)], j: &[usize]) -> f64 {
        (0..self.dim())
            .map(|a| {
                let s = self.side[a];
                if s.is_infinite() {
                    // The single-cell geometry of a non-periodic axis.
                    return 0.0;
                }
                let near = (self.gap(a, b[a], j[a]) as f64 - 1.0).max(0.0) * s;
                near * near
            })
            .sum()
    }

    /// Cells within `r` cells of the interval `[lo, hi]` along axis `a`.
    pub(super) fn axis_range(&self, a: usize, (lo, hi): (usize, usize), r: usize) -> Vec<usize> {
        let n = self.n[a];
        let span = hi - lo + 1 + 2 * r;
        if self.period[a].is_some() {
            if span >= n {
                (0..n).collect()
            } else {
                (0..span)
                    .map(|o| (lo + n * (r / n + 1) + o - r) % n)
                    .collect()
            }
        } else {
            (lo.saturating_sub(r)..=(hi + r).min(n - 1)).collect()
        }
    }

    /// Cells that lie within distance `radius` along axis `a`, in cells.
    pub(super) fn cells_within(&self, a: usize, radius: f64) -> usize {
        if !radius.is_finite() {
            return self.n[a];
        }
        ((radius / self.side[a]).ceil() as usize)
            .saturating_add(1)
            .min(self.n[a])
    }
}

/// Points of one cloud sorted by cell, structure of arrays, with a log-weight per point.
#[derive(Debug, Clone)]
pub(super) struct Cloud {
    /// `coords[a][k]`: axis a of the k-th point in cell order.
    pub(super) coords: Vec<Vec<f64>>,
    /// ln of each point's weight (weights sum to 1).
    pub(super) log_w: Vec<f64>,
    /// Points of cell c are `cell_start[c]..cell_start[c + 1]`.
    pub(super) cell_start: Vec<usize>,
    /// Cells holding at least one point.
    pub(super) occupied: Vec<usize>,
}

impl Cloud {
    /// `flat` (`[N·D]`) with uniform weights, bucketed into `geometry`.
    pub(super) fn new(flat: &[f32], geometry: &Geometry) -> Self {
        let dim = geometry.dim();
        let n = flat.len() / dim;
        let mut cells: Vec<(usize, usize)> = flat
            .chunks_exact(dim)
            .enumerate()
            .map(|(k, p)| {
                let c: Vec<usize> = (0..dim)
                    .map(|a| geometry.axis_cell(a, geometry.wrap(a, f64::from(p[a]))))
                    .collect();
                (geometry.linear(&c), k)
            })
            .collect();
        cells.sort_unstable();
        let coords = (0..dim)
            .map(|a| {
                cells
                    .iter()
                    .map(|&(_, k)| geometry.wrap(a, f64::from(flat[k * dim + a])))
                    .collect()
            })
            .collect();
        let log_w = vec![-(n as f64).ln(); n];
        Self::with_cells(coords, log_w, cells.iter().map(|&(c, _)| c), geometry)
    }

    fn with_cells(
        coords: Vec<Vec<f64>>,
        log_w: Vec<f64>,
        sorted_cells: impl Iterator<Item = usize>,
        geometry: &Geometry,
    ) -> Self {
        let k = geometry.n_cells();
        let mut count = vec![0usize; k];
        for c in sorted_cells {
            count[c] += 1;
        }
        let mut cell_start = Vec::with_capacity(k + 1);
        cell_start.push(0);
        for c in &count {
            cell_start.push(cell_start.last().unwrap() + c);
        }
        let occupied = (0..k).filter(|&c| count[c] > 0).collect();
        Self {
            coords,
            log_w,
            cell_start,
            occupied,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.log_w.len()
    }

    /// The same points in the one cell of [`Geometry::single`].
    pub(super) fn as_single_cell(&self) -> Self {
        Self {
            coords: self.coords.clone(),
            log_w: self.log_w.clone(),
            cell_start: vec![0, self.len()],
            occupied: if self.len() > 0 { vec![0] } else { vec![] },
        }
    }

    /// One point per occupied cell at the cell's centroid, weighted by its share of the
    /// points, each in its own cell of the same geometry: the coarse scale of the multiscale
    /// solver.
    pub(super) fn clusters(&self) -> Self {
        let dim = self.coords.len();
        let mut coords = vec![Vec::new(); dim];
        let mut log_w = Vec::new();
        let total: f64 = self.log_w.iter().map(|l| l.exp()).sum();
        for &c in &self.occupied {
            let range = self.cell_start[c]..self.cell_start[c + 1];
            let w: f64 = self.log_w[range.clone()].iter().map(|l| l.exp()).sum();
            for (a, axis) in coords.iter_mut().enumerate() {
                let m = range
                    .clone()
                    .map(|k| self.coords[a][k] * self.log_w[k].exp())
                    .sum::<f64>()
                    / w;
                axis.push(m);
            }
            log_w.push((w / total).ln());
        }
        let mut cell_start = Vec::with_capacity(self.cell_start.len());
        cell_start.push(0);
        for c in 0..self.cell_start.len() - 1 {
            let occupied = self.cell_start[c + 1] > self.cell_start[c];
            cell_start.push(cell_start[c] + usize::from(occupied));
        }
        Self {
            coords,
            log_w,
            cell_start,
            occupied: self.occupied.clone(),
        }
    }
}
