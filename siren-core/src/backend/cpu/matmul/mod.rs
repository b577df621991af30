//! Matrix products on row-major slices, the work that dominates a SIREN training step.
//!
//! A step of the CPU backend ([`crate::backend::cpu`]) is, by FLOPs, almost all products
//! $P = H W^\top$, $\bar H = \bar P W$ and $\bar W \mathrel{+}= \bar P^\top H$ over tall
//! stacks (tens of thousands of rows, a few hundred columns). They run here:
//!
//! * **Threads.** A large product is split across rayon's threads, each running a
//!   single-threaded kernel on its share: by rows of the output when there are many, otherwise
//!   by the inner dimension into per-thread partial sums that are added at the end.
//!   `gemm` 0.18's own threading reached only 1.3x on two cores for these shapes (105 against
//!   79 GFLOP/s on one core); the split reaches close to 2x.
//! * **Kernel.** `f32` products whose output has a multiple of 16 columns go through this
//!   crate's AVX2 + FMA kernel when the CPU has them (BLIS-style packing, a $6 \times 16$
//!   register tile, or $12 \times 16$ in AVX-512 registers where the CPU has those);
//!   everything else (`f64`, narrow outputs, other CPUs) through `gemm`.
//!
//! Results agree with the definition to rounding (tested in this module);
//! [`matmul`] is the public entry, used by the benchmarks as the machine's product rate.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
// The AVX-512 tile reads the panels the AVX2 kernel packs.
#[cfg(target_arch = "x86_64")]
const _: () = assert!(avx2::NR == avx512::NR && avx2::MR == avx512::PANEL);

use std::any::TypeId;

use rayon::prelude::*;

use crate::{Error, Float, Result};

/// Below this many multiply-adds a product runs on the calling thread.
const PARALLEL_WORK: usize = 1 << 20;

/// Fewest output rows (or inner terms) one thread takes when a product is split.
const MIN_SPLIT: usize = 64;

/// A matrix on a slice: element `(i, j)` at `i * rs + j * cs`.
#[derive(Clone, Copy)]
struct View<'a, E> {
    data: &'a [E],
    rs: usize,
    cs: usize,
}

impl<'a, E> View<'a, E> {
    /// A row-major matrix whose rows are `stride` apart.
    fn rows(data: &'a [E], stride: usize) -> Self {
        View {
            data,
            rs: stride,
            cs: 1,
        }
    }

    /// A matrix whose columns are contiguous and `stride` apart (a row-major one, transposed).
    fn columns(data: &'a [E], stride: usize) -> Self {
        View {
            data,
            rs: 1,
            cs: stride,
        }
    }

    /// Whether a `rows x cols` matrix with these strides lies inside the slice.
    fn holds(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }

    /// The sub-matrix from element `(row, col)` on.
    fn offset(self, row: usize, col: usize) -> Self {
        let start = (row * self.rs + col * self.cs).min(self.data.len());
        View {
            data: &self.data[start..],
            ..self
        }
    }
}

/// `out (rows x cols) = a (rows x inner) * b (inner x cols)`, all row-major, on every thread.
///
/// ```
/// let a = [1.0f32, 2.0, 3.0, 4.0]; // 2 x 2
/// let b = [1.0f32, 0.0, 1.0, 1.0]; // 2 x 2
/// let mut out = [0.0f32; 4];
/// siren_core::backend::cpu::matmul::matmul(&a, &b, &mut out, (2, 2, 2))?;
/// assert_eq!(out, [3.0, 2.0, 7.0, 4.0]);
/// # Ok::<(), siren_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidInput`] when a slice's length does not match the shape.
pub fn matmul<E: Float>(
    a: &[E],
    b: &[E],
    out: &mut [E],
    (rows, cols, inner): (usize, usize, usize),
) -> Result<()> {
    if a.len() != rows * inner || b.len() != inner * cols || out.len() != rows * cols {
        return Err(Error::InvalidInput(format!(
            "matmul of ({rows} x {inner}) by ({inner} x {cols}) needs slices of {}, {} and {} \
             elements, got {}, {} and {}",
            rows * inner,
            inner * cols,
            rows * cols,
            a.len(),
            b.len(),
            out.len()
        )));
    }
    let a = View::rows(a, inner);
    let b = View::rows(b, cols);
    product(out, (rows, cols, inner), false, a, b, E::one());
    Ok(())
}

/// `out (rows x cols, row-major) = [out +] scale * lhs (rows x inner) * rhs (inner x cols)`,
/// split across rayon's threads when large (see the module docs).
fn product<E: Float>(
    out: &mut [E],
    (rows, cols, inner): (usize, usize, usize),
    accumulate: bool,
    lhs: View<E>,
    rhs: View<E>,
    scale: E,
) {
    assert!(out.len() == rows * cols && lhs.holds(rows, inner) && rhs.holds(inner, cols));
    let threads = rayon::current_num_threads();
    if threads == 1 || rows * cols * inner <= PARALLEL_WORK {
        serial(out, (rows, cols, inner), accumulate, lhs, rhs, scale);
    } else if rows >= threads * MIN_SPLIT {
        // Disjoint row blocks of the output: no reduction needed.
        let per = rows.div_ceil(threads);
        out.par_chunks_mut(per * cols)
            .enumerate()
            .for_each(|(t, out)| {
                let r = out.len() / cols;
                let lhs = lhs.offset(t * per, 0);
                serial(out, (r, cols, inner), accumulate, lhs, rhs, scale);
            });
    } else if inner >= threads * MIN_SPLIT {
        // Partial sums over disjoint ranges of the inner dimension; the first range goes
        // straight into `out`, the others into their own buffers added at the end.
        let per = inner.div_ceil(threads);
        let parts: Vec<(usize, usize)> = (0..inner)
            .step_by(per)
            .map(|k0| (k0, per.min(inner - k0)))
            .collect();
        let (partials, ()) = rayon::join(
            || {
                parts[1..]
                    .par_iter()
                    .map(|&(k0, k)| {
                        let mut part = vec![E::zero(); rows * cols];
                        let (l, r) = (lhs.offset(0, k0), rhs.offset(k0, 0));
                        serial(&mut part, (rows, cols, k), false, l, r, scale);
                        part
                    })
                    .collect::<Vec<_>>()
            },
            || serial(out, (rows, cols, parts[0].1), accumulate, lhs, rhs, scale),
        );
        for part in &partials {
            for (o, p) in out.iter_mut().zip(part) {
                *o += *p;
            }
        }
    } else {
        serial(out, (rows, cols, inner), accumulate, lhs, rhs, scale);
    }
}

/// Outputs narrower than this go through [`narrow`].
const NARROW: usize = 8;

#[inline(always)]
/// [`serial`] for an output of a few columns (a linear last layer, or the first layer's
/// input gradient and weight gradient over 2 or 3 coordinates): one pass over the tall
/// operand, vectorised along its long side. `gemm` ran these shapes at a few GFLOP/s.
fn narrow<E: Float>(
    out: &mut [E],
    (rows, cols, inner): (usize, usize, usize),
    accumulate: bool,
    lhs: View<E>,
    rhs: View<E>,
    scale: E,
) {
    let mut fresh = vec![E::zero(); rows * cols];
    if lhs.cs == 1 {
        // Rows of `lhs` are contiguous: a dot product with each column of `rhs`.
        let columns: Vec<Vec<E>> = (0..cols)
            .map(|j| {
                (0..inner)
                    .map(|t| rhs.data[t * rhs.rs + j * rhs.cs])
                    .collect()
            })
            .collect();
        for (i, o) in fresh.chunks_exact_mut(cols).enumerate() {
            let row = &lhs.data[i * lhs.rs..i * lhs.rs + inner];
            for (o, column) in o.iter_mut().zip(&columns) {
                *o = dot(row, column);
            }
        }
    } else {
        // Columns of `lhs` are contiguous (a transposed stack): accumulate each of them,
        // weighted by a row of `rhs`, into the output's columns.
        let mut by_column = vec![E::zero(); cols * rows];
        for t in 0..inner {
            let column = &lhs.data[t * lhs.cs..t * lhs.cs + rows];
            for (j, acc) in by_column.chunks_exact_mut(rows).enumerate() {
                let b = rhs.data[t * rhs.rs + j * rhs.cs];
                acc.iter_mut().zip(column).for_each(|(a, &x)| *a += x * b);
            }
        }
        for (j, acc) in by_column.chunks_exact(rows).enumerate() {
            for (i, &v) in acc.iter().enumerate() {
                fresh[i * cols + j] = v;
            }
        }
    }
    for (o, &v) in out.iter_mut().zip(&fresh) {
        *o = if accumulate {
            *o + scale * v
        } else {
            scale * v
        };
    }
}

/// [`narrow`] compiled for AVX2 + FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn narrow_avx2<E: Float>(
    out: &mut [E],
    shape: (usize, usize, usize),
    accumulate: bool,
    lhs: View<E>,
    rhs: View<E>,
    scale: E,
) {
    narrow(out, shape, accumulate, lhs, rhs, scale)
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// `a . b`, in eight lanes the compiler can vectorise.
#[inline(always)]
fn dot<E: Float>(a: &[E], b: &[E]) -> E {
    let mut lanes = [E::zero(); 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: E = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .fold(E::zero(), |s, (&x, &y)| s + x * y);
    for (x, y) in a8.zip(b8) {
        for j in 0..8 {
            lanes[j] += x[j] * y[j];
        }
    }
    lanes.iter().fold(tail, |s, &v| s + v)
}

/// Whether this crate's AVX2 kernel runs `f32` products with `cols` output columns.
fn use_kernel<E: 'static>(cols: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        TypeId::of::<E>() == TypeId::of::<f32>() && cols.is_multiple_of(avx2::NR) && has_avx2_fma()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = cols;
        false
    }
}

/// [`product`] on the calling thread.
fn serial<E: Float>(
    out: &mut [E],
    (rows, cols, inner): (usize, usize, usize),
    accumulate: bool,
    lhs: View<E>,
    rhs: View<E>,
    scale: E,
) {
    serial_packed(
        out,
        (rows, cols, inner),
        accumulate,
        lhs,
        rhs,
        None,
        scale,
        &[],
    );
}

/// [`serial`], with `rhs` already packed for the AVX2 kernel when `packed` is given, and
/// `fetch` brought toward the cache while the kernel runs.
#[allow(clippy::too_many_arguments)]
fn serial_packed<E: Float>(
    out: &mut [E],
    (rows, cols, inner): (usize, usize, usize),
    accumulate: bool,
    lhs: View<E>,
    rhs: View<E>,
    packed: Option<&[f32]>,
    scale: E,
    fetch: &[E],
) {
    assert!(out.len() == rows * cols && lhs.holds(rows, inner) && rhs.holds(inner, cols));
    if cols < NARROW && inner > 0 && (lhs.cs == 1 || lhs.rs == 1) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked just now).
            unsafe { narrow_avx2(out, (rows, cols, inner), accumulate, lhs, rhs, scale) };
            return;
        }
        narrow(out, (rows, cols, inner), accumulate, lhs, rhs, scale);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if rows >= 6 && use_kernel::<E>(cols) {
        let strided = |v: View<E>| avx2::Strided {
            ptr: v.data.as_ptr().cast::<f32>(),
            rs: v.rs,
            cs: v.cs,
        };
        // SAFETY: E is f32 (checked by `use_kernel`, with the CPU features), every index the
        // strides reach lies inside its slice (asserted above), `packed` is `rhs` packed by
        // `avx2::pack` (see `Prepared`), and `out` is a distinct mutable slice.
        unsafe {
            avx2::gemm(
                (rows, cols, inner),
                out.as_mut_ptr().cast::<f32>(),
                cols,
                accumulate,
                strided(lhs),
                match packed {
                    Some(p) => avx2::Rhs::Packed(p),
                    None => avx2::Rhs::Strided(strided(rhs)),
                },
                scale.as_f64() as f32,
                // SAFETY: E is f32 (as above); only the address range is read.
                std::slice::from_raw_parts(fetch.as_ptr().cast::<f32>(), fetch.len()),
            );
        }
        return;
    }
    // SAFETY: every index the strides reach lies inside its slice (asserted above).
    unsafe {
        gemm::gemm(
            rows,
            cols,
            inner,
            out.as_mut_ptr(),
            1,
            cols as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            if accumulate { E::one() } else { E::zero() },
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// A layer's weight as the right operand of many products on the calling thread (one per
/// chunk of rows, on every thread), packed once for the AVX2 kernel where it runs.
pub(crate) struct Prepared<'a, E> {
    view: View<'a, E>,
    inner: usize,
    cols: usize,
    packed: Option<Vec<f32>>,
}

impl<'a, E: Float> Prepared<'a, E> {
    /// $W^\top$ for `w (m x n)`: products `a (r x n) * w^T`.
    pub(crate) fn transposed(w: &'a [E], m: usize, n: usize) -> Self {
        Self::new(View::columns(w, n), n, m)
    }

    /// `w (m x n)` itself: products `g (r x m) * w`.
    pub(crate) fn plain(w: &'a [E], m: usize, n: usize) -> Self {
        Self::new(View::rows(w, n), m, n)
    }

    fn new(view: View<'a, E>, inner: usize, cols: usize) -> Self {
        assert!(view.holds(inner, cols));
        #[cfg(target_arch = "x86_64")]
        let packed = use_kernel::<E>(cols).then(|| {
            let b = avx2::Strided {
                ptr: view.data.as_ptr().cast::<f32>(),
                rs: view.rs,
                cs: view.cs,
            };
            // SAFETY: E is f32 and the CPU has AVX2 and FMA (`use_kernel`); the view holds
            // the matrix (asserted above).
            unsafe { avx2::pack(inner, cols, b) }
        });
        #[cfg(not(target_arch = "x86_64"))]
        let packed = None;
        Prepared {
            view,
            inner,
            cols,
            packed,
        }
    }

    /// `out (r x cols) = scale * a (r x inner, row-major) * self`, on the calling thread.
    pub(crate) fn times(&self, a: &[E], out: &mut [E], scale: E) {
        self.times_fetching(a, out, scale, &[]);
    }

    /// [`Prepared::times`], bringing `next` (what the caller reads right after, from memory)
    /// into L2 while the product runs, where the AVX2 kernel runs it.
    pub(crate) fn times_fetching(&self, a: &[E], out: &mut [E], scale: E, next: &[E]) {
        let rows = a.len() / self.inner;
        let a = View::rows(a, self.inner);
        // The kernel needs six rows; fewer go through `gemm` unpacked.
        let packed = self.packed.as_deref().filter(|_| rows >= 6);
        let shape = (rows, self.cols, self.inner);
        serial_packed(out, shape, false, a, self.view, packed, scale, next);
    }
}

/// `out (m x n) += scale * g^T h` on the calling thread, `g` is `(r x m)`, `h` is `(r x n)`.
pub(crate) fn add_transpose_times_on_this_thread<E: Float>(
    g: &[E],
    h: &[E],
    out: &mut [E],
    m: usize,
    n: usize,
    scale: E,
) {
    let rows = g.len() / m;
    let gt = View::columns(g, m);
    let h = View::rows(h, n);
    serial(out, (m, n, rows), true, gt, h, scale);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// `a (r x k) * b (k x c)` by the definition, in f64.
    fn naive(
        a: impl Fn(usize, usize) -> f32,
        b: impl Fn(usize, usize) -> f32,
        r: usize,
        c: usize,
        k: usize,
    ) -> Vec<f64> {
        let mut out = vec![0.0; r * c];
        for i in 0..r {
            for j in 0..c {
                out[i * c + j] = (0..k).map(|t| a(i, t) as f64 * b(t, j) as f64).sum();
            }
        }
        out
    }

    fn assert_close(got: &[f32], want: &[f64], k: usize, what: &str) {
        assert_eq!(got.len(), want.len());
        // Rounding of a length-k dot product of values in [-1, 1] (with a scale <= 2).
        let tol = 4.0 * f32::EPSILON as f64 * (k as f64 + 1.0);
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g as f64 - w).abs() <= tol,
                "{what}: element {i}: {g} vs {w}"
            );
        }
    }

    /// Shapes around the kernel's tile and block sizes (6 x 16 tiles, 256-deep, 120-row
    /// blocks), odd sizes that fall back to `gemm`, and sizes large enough to be split
    /// across threads.
    const SHAPES: [(usize, usize, usize); 9] = [
        (1, 16, 1),
        (7, 16, 3),
        (13, 32, 257),
        (121, 48, 300),
        (250, 256, 256),
        (3000, 64, 130),
        (5, 1, 9),
        (33, 3, 40),
        (70, 17, 600),
    ];

    #[test]
    fn row_major_products_match_the_definition() {
        for &(r, c, k) in &SHAPES {
            let (a, b) = (values(r * k, 1), values(k * c, 2));
            let mut out = vec![0.0f32; r * c];
            matmul(&a, &b, &mut out, (r, c, k)).unwrap();
            let want = naive(|i, t| a[i * k + t], |t, j| b[t * c + j], r, c, k);
            assert_close(&out, &want, k, &format!("matmul {r}x{k}x{c}"));
        }
    }

    /// The products the CPU kernels run on one thread: a layer's weight prepared (packed)
    /// once, transposed or plain, and the accumulated weight gradient.
    #[test]
    fn transposed_and_accumulating_products_match_the_definition() {
        for &(r, m, n) in &SHAPES {
            // a (r x n) times w^T, w (m x n).
            let (a, w) = (values(r * n, 3), values(m * n, 4));
            let mut out = vec![0.0f32; r * m];
            Prepared::transposed(&w, m, n).times(&a, &mut out, 2.0);
            let want = naive(|i, t| 2.0 * a[i * n + t], |t, j| w[j * n + t], r, m, n);
            assert_close(&out, &want, n, &format!("transposed {r}x{n}x{m}"));

            // g (r x m) times w (m x n).
            let g = values(r * m, 5);
            let mut out = vec![0.0f32; r * n];
            Prepared::plain(&w, m, n).times(&g, &mut out, 0.5);
            let want = naive(|i, t| 0.5 * g[i * m + t], |t, j| w[t * n + j], r, n, m);
            assert_close(&out, &want, m, &format!("plain {r}x{m}x{n}"));

            // out (m x n) += g^T h, h (r x n), onto a non-zero start.
            let h = values(r * n, 6);
            let start = values(m * n, 7);
            let mut out = start.clone();
            add_transpose_times_on_this_thread(&g, &h, &mut out, m, n, 1.5);
            let mut want = naive(|i, t| 1.5 * g[t * m + i], |t, j| h[t * n + j], m, n, r);
            want.iter_mut()
                .zip(&start)
                .for_each(|(w, &s)| *w += s as f64);
            assert_close(&out, &want, r, &format!("add_transpose_times {m}x{r}x{n}"));
        }
    }

    #[test]
    fn mismatched_slices_are_an_error() {
        let err = matmul(&[1.0f32; 6], &[1.0; 5], &mut [0.0; 4], (2, 2, 3)).unwrap_err();
        assert!(
            err.to_string()
                .contains("needs slices of 6, 6 and 4 elements, got 6, 5 and 4"),
            "{err}"
        );
    }
}
