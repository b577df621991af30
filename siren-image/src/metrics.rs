//! Image quality: PSNR and SSIM on values in $[0, 1]$, over the whole image or a mask.

use siren_core::{Error, Result};

use crate::raster::Image;

fn check(a: &Image, b: &Image) -> Result<()> {
    if (a.width, a.height, a.channels) != (b.width, b.height, b.channels) {
        return Err(Error::InvalidInput(format!(
            "cannot compare a {}x{}x{} image with a {}x{}x{} one",
            a.width, a.height, a.channels, b.width, b.height, b.channels
        )));
    }
    Ok(())
}

/// PSNR in dB of `estimate` against `truth`, both clipped to $[0, 1]$:
/// $-10 \log_{10} \mathrm{MSE}$. Only pixels where `mask` is true count, if given.
/// Identical images give `f64::INFINITY`.
pub fn psnr(estimate: &Image, truth: &Image, mask: Option<&[bool]>) -> Result<f64> {
    check(estimate, truth)?;
    let c = truth.channels;
    let (mut sum, mut count) = (0.0f64, 0usize);
    for (p, (e, t)) in estimate
        .data
        .chunks(c)
        .zip(truth.data.chunks(c))
        .enumerate()
    {
        if mask.is_some_and(|m| !m[p]) {
            continue;
        }
        for (x, y) in e.iter().zip(t) {
            let d = x.clamp(0.0, 1.0) as f64 - y.clamp(0.0, 1.0) as f64;
            sum += d * d;
            count += 1;
        }
    }
    if count == 0 {
        return Err(Error::InvalidInput("the mask selects no pixels".into()));
    }
    Ok(siren_core::stats::psnr_from_mse(sum / count as f64, 1.0))
}

/// SSIM (Wang et al. 2004) as scikit-image's `structural_similarity(gaussian_weights=True,
/// sigma=1.5, use_sample_covariance=False, data_range=1)` computes it: an 11x11 Gaussian
/// window of sigma 1.5, $K_1 = 0.01$, $K_2 = 0.03$, population (co)variances, and the SSIM map
/// averaged over pixels at least 5 from the border (where the window fits), and channels.
/// With `mask`, only those pixels the mask selects count.
pub fn ssim(estimate: &Image, truth: &Image, mask: Option<&[bool]>) -> Result<f64> {
    check(estimate, truth)?;
    let (w, h, c) = (truth.width, truth.height, truth.channels);
    let radius = 5i64;
    let kernel: Vec<f64> = (-radius..=radius)
        .map(|i| (-(i * i) as f64 / (2.0 * 1.5 * 1.5)).exp())
        .collect();
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let (mut total, mut count) = (0.0, 0usize);
    for ch in 0..c {
        let (x, y) = (estimate.channel(ch), truth.channel(ch));
        let blur = |f: &dyn Fn(usize) -> f64| -> Vec<f64> { gaussian_blur(w, h, &kernel, f) };
        let mx = blur(&|i| x[i]);
        let my = blur(&|i| y[i]);
        let mxx = blur(&|i| x[i] * x[i]);
        let myy = blur(&|i| y[i] * y[i]);
        let mxy = blur(&|i| x[i] * y[i]);
        for p in 0..w * h {
            let (row, col) = (p / w, p % w);
            let inside = row >= 5 && col >= 5 && row + 5 < h && col + 5 < w;
            if !inside || mask.is_some_and(|m| !m[p]) {
                continue;
            }
            let (vx, vy, cxy) = (
                mxx[p] - mx[p] * mx[p],
                myy[p] - my[p] * my[p],
                mxy[p] - mx[p] * my[p],
            );
            total += ((2.0 * mx[p] * my[p] + c1) * (2.0 * cxy + c2))
                / ((mx[p] * mx[p] + my[p] * my[p] + c1) * (vx + vy + c2));
            count += 1;
        }
    }
    if count == 0 {
        return Err(Error::InvalidInput(
            "SSIM needs pixels at least 5 from the border (images of 11x11 or more) in the mask"
                .into(),
        ));
    }
    Ok(total / count as f64)
}

/// Separable normalised Gaussian blur with the kernel truncated (and renormalised) at borders.
fn gaussian_blur(w: usize, h: usize, kernel: &[f64], f: &dyn Fn(usize) -> f64) -> Vec<f64> {
    let r = (kernel.len() / 2) as i64;
    let mut rows = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let (mut s, mut n) = (0.0, 0.0);
            for (k, &kv) in kernel.iter().enumerate() {
                let xx = x as i64 + k as i64 - r;
                if (0..w as i64).contains(&xx) {
                    s += kv * f(y * w + xx as usize);
                    n += kv;
                }
            }
            rows[y * w + x] = s / n;
        }
    }
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let (mut s, mut n) = (0.0, 0.0);
            for (k, &kv) in kernel.iter().enumerate() {
                let yy = y as i64 + k as i64 - r;
                if (0..h as i64).contains(&yy) {
                    s += kv * rows[yy as usize * w + x];
                    n += kv;
                }
            }
            out[y * w + x] = s / n;
        }
    }
    out
}
