//! Spectral energy of an image, to measure aliasing.

use std::f64::consts::PI;

use crate::raster::Image;

/// Fraction of the image's spectral energy (mean removed, channels summed) at frequencies
/// above `cutoff` cycles per image side along either axis: $|k_r| > $ `cutoff` or
/// $|k_c| > $ `cutoff`. With `cutoff` = half a training grid's size, this is the energy above
/// that grid's Nyquist frequency.
pub fn energy_above(image: &Image, cutoff: f64) -> f64 {
    let (w, h, c) = (image.width, image.height, image.channels);
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
                    let a = -2.0 * PI * (kr * r) as f64 / h as f64;
                    let v = vals[r * w + col] - mean;
                    re += v * a.cos();
                    im += v * a.sin();
                }
                rows[kr * w + col] = (re, im);
            }
        }
        for kr in 0..h {
            for kc in 0..w {
                let (mut re, mut im) = (0.0, 0.0);
                for col in 0..w {
                    let a = -2.0 * PI * (kc * col) as f64 / w as f64;
                    let (x, y) = rows[kr * w + col];
                    re += x * a.cos() - y * a.sin();
                    im += x * a.sin() + y * a.cos();
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
