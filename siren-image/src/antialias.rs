//! The stochastic anti-aliasing kernel $h$: a pixel is the mean of $\phi$ over a tent
//! (bilinear) footprint rather than $\phi$ at the pixel centre.
//!
//! Offsets $(\delta_r, \delta_c)$ follow $p(\delta) \propto (1-|\delta_r|)(1-|\delta_c|)$ on
//! $[-1, 1]^2$ in units of the footprint's half-width (one pixel: a bilinear pixel; the
//! original code's is half a pixel, one offset shared by both axes): each component is $u_1 + u_2 - 1$ with $u_i \sim U(0, 1)$, whose
//! law is exactly the tent. Fresh offsets are drawn every step, so training minimises the
//! loss of the filtered signal $h * \phi$ in expectation.

use rand::Rng;

/// One tent-distributed number on $[-1, 1]$.
pub fn tent_sample(rng: &mut impl Rng) -> f64 {
    rng.gen::<f64>() + rng.gen::<f64>() - 1.0
}

/// CDF of the tent law on $[-1, 1]$.
pub fn tent_cdf(x: f64) -> f64 {
    let x = x.clamp(-1.0, 1.0);
    if x < 0.0 {
        0.5 * (1.0 + x) * (1.0 + x)
    } else {
        1.0 - 0.5 * (1.0 - x) * (1.0 - x)
    }
}

/// `samples` jittered copies of `coords` (row-major `(M, 2)`), stacked sample-major
/// `(samples * M, 2)`: copy `k` of point `m` is at row `k * M + m`, offset by a tent draw
/// scaled by `pixel_size` (the footprint's half-width in coordinate units, `(rows, cols)`).
pub fn jittered_coords(
    rng: &mut impl Rng,
    coords: &[f64],
    samples: usize,
    pixel_size: (f64, f64),
) -> Vec<f64> {
    let mut out = Vec::with_capacity(coords.len() * samples);
    for _ in 0..samples {
        for p in coords.chunks(2) {
            out.push(p[0] + tent_sample(rng) * pixel_size.0);
            out.push(p[1] + tent_sample(rng) * pixel_size.1);
        }
    }
    out
}
