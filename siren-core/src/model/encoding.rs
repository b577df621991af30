//! The input encoding's features and their derivatives: the one place the formulas live, for
//! both backends.
//!
//! [`Encoding::Positional`] with $L$ octaves maps $x \in \mathbb{R}^d$ to $d(1 + 2L)$ features:
//! the coordinates themselves, then for $k < L$ and each $j$ the pair
//! $\sin(w_k x_j), \cos(w_k x_j)$ with $w_k = 2^k \pi$. Every feature depends on one
//! coordinate, so its derivatives along that coordinate are all a jet needs (mixed second
//! derivatives are zero). With the sine's $s_m$ from [`LayerActivation::derivatives`]
//! ($s_0 = \sin$, $s_1 = \cos$, $s_{m+4} = s_m$), the $m$-th derivative of $\sin(w x)$ is
//! $w^m s_m(w x)$ and that of $\cos(w x) = s_1(w x)$ is $w^m s_{m+1}(w x)$.

use crate::model::activation::{Elementwise, LayerActivation};
use crate::model::config::Encoding;

/// One feature of the encoding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Feature {
    /// The coordinate it depends on.
    pub coord: usize,
    /// `None`: the coordinate itself; else `(w, q)`: $s_q(w x)$, $q = 0$ for the sine and 1
    /// for the cosine.
    pub sine: Option<(f64, usize)>,
}

impl Feature {
    /// The feature and its first three derivatives along its coordinate, at `x` (the
    /// coordinate's value).
    #[inline(always)]
    pub fn derivatives<V: Elementwise>(&self, x: &V) -> [V; 4] {
        match self.sine {
            None => LayerActivation::Identity.derivatives(x),
            Some((w, q)) => {
                let s = LayerActivation::Sine(1.0).derivatives(&x.scale(w));
                [
                    s[q % 4].clone(),
                    s[(q + 1) % 4].scale(w),
                    s[(q + 2) % 4].scale(w * w),
                    s[(q + 3) % 4].scale(w * w * w),
                ]
            }
        }
    }
}

impl Encoding {
    /// Octaves of a positional encoding for a signal of `samples` samples per side: the
    /// original code's Nyquist rule $L = \lfloor \log_2 (\text{samples} / 4) \rfloor$ (at
    /// least 1), so the highest frequency stays below the grid's Nyquist rate.
    pub fn nyquist_frequencies(samples: usize) -> usize {
        let rate = samples as f64 / 4.0;
        (rate.log2().floor().max(1.0)) as usize
    }

    /// The features of `d` coordinates, in column order.
    pub fn features(self, d: usize) -> Vec<Feature> {
        let mut out: Vec<Feature> = (0..d).map(|coord| Feature { coord, sine: None }).collect();
        if let Encoding::Positional { frequencies } = self {
            for k in 0..frequencies {
                let w = std::f64::consts::PI * (1u64 << k) as f64;
                for coord in 0..d {
                    out.push(Feature {
                        coord,
                        sine: Some((w, 0)),
                    });
                    out.push(Feature {
                        coord,
                        sine: Some((w, 1)),
                    });
                }
            }
        }
        out
    }
}
