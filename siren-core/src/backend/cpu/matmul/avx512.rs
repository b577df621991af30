//! The AVX-512 output tile of [`super::avx2::gemm`], for CPUs that have it.
//!
//! It reads the same packed operands as the AVX2 tile, two panels of each at once: the right
//! operand's 16-column panels (one 512-bit register per row of a panel) and the left
//! operand's 6-row panels. A $12 \times 32$ tile keeps 24 accumulators in registers, with
//! two loads of the right operand and twelve broadcasts per 24 FMAs, so the two FMA ports,
//! not the loads, set its pace; the AVX2 tile does half the work per instruction.

use std::arch::x86_64::*;

/// Columns of one packed panel of the right operand: the AVX2 kernel's, which packs them.
pub(crate) const NR: usize = 16;
/// Rows of one packed panel of the left operand.
pub(crate) const PANEL: usize = 6;

/// Whether the CPU runs this tile.
pub(crate) fn available() -> bool {
    std::is_x86_feature_detected!("avx512f")
}

/// One `(6 P) x (16 Q)` output tile: `c = [c +] alpha * a * b` from `P` packed 6-row panels
/// of the left operand and `Q` 16-column panels of the right, storing the first `rows` rows.
///
/// # Safety
/// The CPU must support AVX-512F; each `a[p]` must hold `kc` columns of 6 values, each
/// `b[q]` `kc` rows of 16; `c` must hold `rows` rows of `16 Q` values, `ldc` apart.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
pub(crate) unsafe fn tile<const P: usize, const Q: usize>(
    kc: usize,
    mut a: [*const f32; P],
    mut b: [*const f32; Q],
    c: *mut f32,
    ldc: usize,
    rows: usize,
    alpha: f32,
    add: bool,
) {
    // As the AVX2 tile: fetch the output now, read only after the loop.
    for i in 0..rows {
        for q in 0..Q {
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + q * NR).cast());
        }
    }
    let mut acc = [[[_mm512_setzero_ps(); Q]; PANEL]; P];
    for _ in 0..kc {
        let mut bv = [_mm512_setzero_ps(); Q];
        for q in 0..Q {
            bv[q] = _mm512_loadu_ps(b[q]);
            b[q] = b[q].add(NR);
        }
        for p in 0..P {
            for i in 0..PANEL {
                let x = _mm512_set1_ps(*a[p].add(i));
                for q in 0..Q {
                    acc[p][i][q] = _mm512_fmadd_ps(x, bv[q], acc[p][i][q]);
                }
            }
            a[p] = a[p].add(PANEL);
        }
    }
    // Indexed, not iterated: an iterator over `acc` takes its address, and the accumulators
    // were then written to the stack on every step of the loop above.
    let alpha = _mm512_set1_ps(alpha);
    for p in 0..P {
        for i in 0..PANEL {
            let r = p * PANEL + i;
            if r >= rows {
                return;
            }
            for q in 0..Q {
                let out = c.add(r * ldc + q * NR);
                let v = if add {
                    _mm512_fmadd_ps(alpha, acc[p][i][q], _mm512_loadu_ps(out))
                } else {
                    _mm512_mul_ps(alpha, acc[p][i][q])
                };
                _mm512_storeu_ps(out, v);
            }
        }
    }
}
