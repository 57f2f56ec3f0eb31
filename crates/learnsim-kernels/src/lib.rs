//! CPU compute kernels for learnsim.
//!
//! Today this is one thing: [`matmul`], a safe, bounds-checked wrapper over the `gemm` crate's
//! f32 matrix product (the crate burn's `flex` backend uses), on strided row- or column-major
//! views. It exists so that the fused GNS kernel in `learnsim-models` can call the product on
//! cache-sized row blocks of its buffers without going through tensors (see
//! `docs/performance.md` for the measurement that motivated it). This is the only learnsim
//! crate that contains `unsafe`, and only in [`matmul`].

/// A read-only strided matrix view into a slice: element (i, j) is
/// `data[i·row_stride + j·col_stride]`.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// A writable strided matrix view into a slice; element (i, j) as in [`MatRef`].
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// The number of slice elements a strided view reaches (one past its last element).
fn extent(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * row_stride + (cols - 1) * col_stride + 1
    }
}

impl<'a> MatRef<'a> {
    /// A row-major `[rows, cols]` matrix stored contiguously.
    ///
    /// # Panics
    /// If `data` is shorter than `rows · cols`.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols, 1)
    }

    /// A strided view.
    ///
    /// # Panics
    /// If the view reaches past the end of `data`.
    pub fn strided(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        let need = extent(rows, cols, row_stride, col_stride);
        assert!(
            need <= data.len(),
            "a [{rows}, {cols}] view with strides ({row_stride}, {col_stride}) reaches element {need} of a slice of {}",
            data.len()
        );
        Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Rows and columns.
    pub fn shape(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }
}

impl<'a> MatMut<'a> {
    /// A row-major `[rows, cols]` matrix stored contiguously.
    ///
    /// # Panics
    /// If `data` is shorter than `rows · cols`.
    pub fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        let need = rows * cols;
        assert!(
            need <= data.len(),
            "a [{rows}, {cols}] matrix needs {need} elements, the slice has {}",
            data.len()
        );
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// Rows and columns.
    pub fn shape(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }
}

/// Whether [`matmul`] splits one product over rayon's threads, or runs it on the calling
/// thread (for products already inside a parallel loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// On the calling thread.
    One,
    /// On rayon's pool.
    Rayon,
}

/// `dst = lhs · rhs`, or `dst += lhs · rhs` with `accumulate`.
///
/// # Shapes
/// - `lhs`: `[m, k]`, `rhs`: `[k, n]`, `dst`: `[m, n]`
///
/// # Panics
/// If the shapes disagree. Every view was bounds-checked when it was made, and `dst` is
/// borrowed mutably, so it cannot alias `lhs` or `rhs`.
pub fn matmul(
    dst: MatMut<'_>,
    lhs: MatRef<'_>,
    rhs: MatRef<'_>,
    accumulate: bool,
    threads: Threads,
) {
    let [m, k] = lhs.shape();
    let [k2, n] = rhs.shape();
    assert_eq!(k, k2, "matmul: lhs is [{m}, {k}] but rhs is [{k2}, {n}]");
    assert_eq!(
        dst.shape(),
        [m, n],
        "matmul: [{m}, {k}]·[{k}, {n}] into a {:?} destination",
        dst.shape()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    dst.data[i * dst.row_stride + j * dst.col_stride] = 0.0;
                }
            }
        }
        return;
    }
    let parallelism = match threads {
        Threads::One => gemm::Parallelism::None,
        Threads::Rayon => gemm::Parallelism::Rayon(0),
    };
    // Strides fit in isize: each is at most a slice length, and slices are at most isize::MAX
    // bytes.
    let s = |x: usize| x as isize;
    // SAFETY: the three views were checked on construction to lie inside their slices for the
    // shapes [m, k], [k, n] and [m, n] asserted above; `dst` is a unique borrow, so the output
    // does not alias an input. gemm reads dst only when `read_dst` (= accumulate) is set, with
    // alpha = 1 (dst kept) and beta = 1 (product added).
    #[expect(unsafe_code, reason = "the one call into gemm; bounds checked above")]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            s(dst.col_stride),
            s(dst.row_stride),
            accumulate,
            lhs.data.as_ptr(),
            s(lhs.col_stride),
            s(lhs.row_stride),
            rhs.data.as_ptr(),
            s(rhs.col_stride),
            s(rhs.row_stride),
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0f64;
                for l in 0..k {
                    acc += f64::from(a[i * k + l]) * f64::from(b[l * n + j]);
                }
                c[i * n + j] = acc as f32;
            }
        }
        c
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    #[test]
    fn matches_the_naive_product_plain_transposed_and_accumulated() {
        let (m, k, n) = (37, 19, 23);
        let a = values(m * k, 1);
        let b = values(k * n, 2);
        let want = naive(&a, &b, m, k, n);
        // Tolerance: k = 19 products of terms ≤ 1 in f32, each rounding ≤ 2^-24 relative;
        // 1e-5 absolute covers 19·6e-8 with room for gemm's different summation order.
        for threads in [Threads::One, Threads::Rayon] {
            let mut c = vec![0.0f32; m * n];
            matmul(
                MatMut::row_major(&mut c, m, n),
                MatRef::row_major(&a, m, k),
                MatRef::row_major(&b, k, n),
                false,
                threads,
            );
            for (x, y) in c.iter().zip(&want) {
                assert!((x - y).abs() < 1e-5, "{x} vs {y}");
            }
            // accumulate: c += a·b gives twice the product
            matmul(
                MatMut::row_major(&mut c, m, n),
                MatRef::row_major(&a, m, k),
                MatRef::row_major(&b, k, n),
                true,
                threads,
            );
            for (x, y) in c.iter().zip(&want) {
                assert!((x - 2.0 * y).abs() < 2e-5, "{x} vs 2·{y}");
            }
        }
        // (aᵀ)ᵀ·b through a transposed view of a stored [k, m] copy
        let mut at = vec![0.0f32; k * m];
        for i in 0..m {
            for l in 0..k {
                at[l * m + i] = a[i * k + l];
            }
        }
        let mut c = vec![0.0f32; m * n];
        matmul(
            MatMut::row_major(&mut c, m, n),
            MatRef::row_major(&at, k, m).t(),
            MatRef::row_major(&b, k, n),
            false,
            Threads::One,
        );
        for (x, y) in c.iter().zip(&want) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    fn empty_inner_dimension_zeroes_or_keeps_the_destination() {
        let mut c = vec![5.0f32; 6];
        matmul(
            MatMut::row_major(&mut c, 2, 3),
            MatRef::row_major(&[], 2, 0),
            MatRef::row_major(&[], 0, 3),
            true,
            Threads::One,
        );
        assert_eq!(c, vec![5.0; 6]);
        matmul(
            MatMut::row_major(&mut c, 2, 3),
            MatRef::row_major(&[], 2, 0),
            MatRef::row_major(&[], 0, 3),
            false,
            Threads::One,
        );
        assert_eq!(c, vec![0.0; 6]);
    }

    #[test]
    #[should_panic(expected = "reaches element")]
    fn a_view_past_the_slice_is_refused() {
        let data = vec![0.0f32; 10];
        let _ = MatRef::strided(&data, 3, 4, 4, 1);
    }

    #[test]
    #[should_panic(expected = "matmul: lhs is")]
    fn mismatched_inner_dimensions_are_refused() {
        let a = vec![0.0f32; 6];
        let mut c = vec![0.0f32; 4];
        matmul(
            MatMut::row_major(&mut c, 2, 2),
            MatRef::row_major(&a, 2, 3),
            MatRef::row_major(&a, 2, 3),
            false,
            Threads::One,
        );
    }
}
