//! Spectral energy of an image, to measure aliasing.

use std::f64::consts::PI;

use crate::raster::Image;

/// Fraction of the image's spectral energy (mean removed, channels summed) at frequencies
/// above `cutoff` cycles per image side along either axis: $|k_r| > $ `cutoff` or
/// $|k_c| > $ `cutoff`. With `cutoff` = half a training grid's size, this is the energy above
/// that grid's Nyquist frequency.
pub fn energy_above(image: &Image, cutoff: f64) -> f64 {
    let (w, h, c) = (image.width, image.height, image.channels);
    // e^{-2 pi i k / n} for k < n: the DFT's factors, looked up by (k * r) mod n
    let twiddles = |n: usize| -> Vec<(f64, f64)> {
        (0..n)
            .map(|k| {
                let a = -2.0 * PI * k as f64 / n as f64;
                (a.cos(), a.sin())
            })
            .collect()
    };
    let (tw_h, tw_w) = (twiddles(h), twiddles(w));
    let (mut high, mut total) = (0.0, 0.0);
    for ch in 0..c {
        let vals = image.channel(ch);
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        // DFT along rows of each column, then along columns: separable 2-D DFT.
        let mut rows: Vec<(f64, f64)> = vec![(0.0, 0.0); w * h];
        for kr in 0..h {
            for col in 0..w {
                let (mut re, mut im) = (0.0, 0.0);
                for r in 0..h {
                    let (cos, sin) = tw_h[(kr * r) % h];
                    let v = vals[r * w + col] - mean;
                    re += v * cos;
                    im += v * sin;
                }
                rows[kr * w + col] = (re, im);
            }
        }
        for kr in 0..h {
            for kc in 0..w {
                let (mut re, mut im) = (0.0, 0.0);
                for col in 0..w {
                    let (cos, sin) = tw_w[(kc * col) % w];
                    let (x, y) = rows[kr * w + col];
                    re += x * cos - y * sin;
                    im += x * sin + y * cos;
                }
                let e = re * re + im * im;
                let fr = kr.min(h - kr) as f64;
                let fc = kc.min(w - kc) as f64;
                total += e;
                if fr > cutoff || fc > cutoff {
                    high += e;
                }
            }
        }
    }
    if total == 0.0 {
        0.0
    } else {
        high / total
    }
}
