//! Classical diffusion inpainting: the missing pixels solve Laplace's equation
//! $\Delta u = 0$ with the known pixels as Dirichlet values (5-point stencil; at the image
//! border only the neighbours that exist count, i.e. zero-flux), by conjugate gradients.

use siren_core::{Error, Result};

use crate::mask::Mask;
use crate::raster::Image;

/// Fills `image`'s missing pixels (per `mask`) harmonically, channel by channel.
///
/// Each missing pixel $p$ satisfies $\sum_{q \sim p} (u_p - u_q) = 0$; the system is symmetric
/// positive definite when every connected missing region touches a known pixel, and CG runs
/// until the residual falls below `1e-10` relative to the right-hand side.
pub fn diffusion_inpaint(image: &Image, mask: &Mask) -> Result<Image> {
    if (mask.width, mask.height) != (image.width, image.height) {
        return Err(Error::InvalidInput("mask and image sizes differ".into()));
    }
    if mask.known.iter().all(|k| !k) {
        return Err(Error::InvalidInput("the mask keeps no pixel".into()));
    }
    let (w, h, c) = (image.width, image.height, image.channels);
    let unknown: Vec<usize> = (0..w * h).filter(|&p| !mask.known[p]).collect();
    let mut index = vec![usize::MAX; w * h];
    for (i, &p) in unknown.iter().enumerate() {
        index[p] = i;
    }
    let neighbours = |p: usize| {
        let (r, col) = (p / w, p % w);
        let mut out = [usize::MAX; 4];
        if r > 0 {
            out[0] = p - w;
        }
        if r + 1 < h {
            out[1] = p + w;
        }
        if col > 0 {
            out[2] = p - 1;
        }
        if col + 1 < w {
            out[3] = p + 1;
        }
        out
    };
    // A x: degree * x_p - sum of unknown neighbours.
    let apply = |x: &[f64], out: &mut [f64]| {
        for (i, &p) in unknown.iter().enumerate() {
            let mut s = 0.0;
            for q in neighbours(p).into_iter().filter(|&q| q != usize::MAX) {
                s += x[i];
                if index[q] != usize::MAX {
                    s -= x[index[q]];
                }
            }
            out[i] = s;
        }
    };
    let mut result = image.clone();
    for ch in 0..c {
        let value = |p: usize| image.data[p * c + ch] as f64;
        let b: Vec<f64> = unknown
            .iter()
            .map(|&p| {
                neighbours(p)
                    .into_iter()
                    .filter(|&q| q != usize::MAX && mask.known[q])
                    .map(value)
                    .sum()
            })
            .collect();
        let x = conjugate_gradient(&apply, &b, 1e-10, 20 * unknown.len() + 100);
        for (i, &p) in unknown.iter().enumerate() {
            result.data[p * c + ch] = x[i] as f32;
        }
    }
    Ok(result)
}

fn conjugate_gradient(
    apply: &dyn Fn(&[f64], &mut [f64]),
    b: &[f64],
    tol: f64,
    max_iter: usize,
) -> Vec<f64> {
    let n = b.len();
    let mut x = vec![0.0; n];
    let mut r = b.to_vec();
    let mut p = r.clone();
    let mut ap = vec![0.0; n];
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let bnorm = dot(b, b).sqrt().max(1e-300);
    let mut rr = dot(&r, &r);
    for _ in 0..max_iter {
        if rr.sqrt() <= tol * bnorm {
            break;
        }
        apply(&p, &mut ap);
        let alpha = rr / dot(&p, &ap);
        for i in 0..n {
            x[i] += alpha * p[i];
            r[i] -= alpha * ap[i];
        }
        let rr_new = dot(&r, &r);
        let beta = rr_new / rr;
        for i in 0..n {
            p[i] = r[i] + beta * p[i];
        }
        rr = rr_new;
    }
    x
}
