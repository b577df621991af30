//! Poisson image reconstruction (the paper's experiment): fit $\phi$ so that
//! $\nabla\phi$ matches the image's Sobel gradient, or $\Delta\phi$ its discrete Laplacian,
//! never showing it a pixel value.
//!
//! Targets are in the units of the fit: values in $[-1, 1]$, derivatives with respect to the
//! coordinates in $[-1, 1]^2$. Sobel (kernel $\lbrack 1,2,1\rbrack^T \lbrack -1,0,1\rbrack$, edge pixels replicated)
//! divided by 8 estimates the per-pixel derivative; times $(n-1)/2$ converts to coordinate
//! units. The Laplacian is the 5-point stencil with replicated edges, times $((n-1)/2)^2$.
//!
//! Derivatives cannot see constants: $\phi$ is determined up to an additive constant from
//! the gradient (and up to a harmonic function from the Laplacian). [`offset_corrected`]
//! removes the constant — it shifts the prediction to the image's mean — before PSNR;
//! nothing removes the harmonic part, which is why Laplacian reconstructions score lower.

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};
use siren_core::train::{mse, to_matrix, train_step};
use siren_core::Backend;
use siren_core::{Error, Float, Order, Result};

use crate::fit::{run_fit, FitConfig, Fitted, StepRecord};
use crate::metrics::psnr;
use crate::raster::Image;
use crate::render::predict;

/// What the network is supervised with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoissonTarget {
    /// $\nabla\phi$ against the Sobel gradient.
    #[default]
    Gradient,
    /// $\Delta\phi$ against the discrete Laplacian.
    Laplacian,
}

fn clamped(image: &Image, ch: usize, r: i64, c: i64) -> f64 {
    let r = r.clamp(0, image.height as i64 - 1) as usize;
    let c = c.clamp(0, image.width as i64 - 1) as usize;
    2.0 * image.data[(r * image.width + c) * image.channels + ch] as f64 - 1.0
}

/// Sobel gradient of the signed image in coordinate units, as a `(2, H*W, channels)` stack:
/// first $\partial/\partial\text{row}$, then $\partial/\partial\text{col}$.
pub fn sobel_gradient(image: &Image) -> Vec<f64> {
    let (w, h, c) = (image.width, image.height, image.channels);
    let (sr, sc) = ((h.max(2) - 1) as f64 / 2.0, (w.max(2) - 1) as f64 / 2.0);
    let mut out = vec![0.0; 2 * w * h * c];
    for r in 0..h as i64 {
        for col in 0..w as i64 {
            for ch in 0..c {
                let v = |dr: i64, dc: i64| clamped(image, ch, r + dr, col + dc);
                let gr =
                    (v(1, -1) + 2.0 * v(1, 0) + v(1, 1)) - (v(-1, -1) + 2.0 * v(-1, 0) + v(-1, 1));
                let gc =
                    (v(-1, 1) + 2.0 * v(0, 1) + v(1, 1)) - (v(-1, -1) + 2.0 * v(0, -1) + v(1, -1));
                let p = (r as usize * w + col as usize) * c + ch;
                out[p] = gr / 8.0 * sr;
                out[w * h * c + p] = gc / 8.0 * sc;
            }
        }
    }
    out
}

/// 5-point Laplacian of the signed image in coordinate units, `(H*W, channels)`.
pub fn discrete_laplacian(image: &Image) -> Vec<f64> {
    let (w, h, c) = (image.width, image.height, image.channels);
    let (sr, sc) = (
        ((h.max(2) - 1) as f64 / 2.0).powi(2),
        ((w.max(2) - 1) as f64 / 2.0).powi(2),
    );
    let mut out = vec![0.0; w * h * c];
    for r in 0..h as i64 {
        for col in 0..w as i64 {
            for ch in 0..c {
                let v = |dr: i64, dc: i64| clamped(image, ch, r + dr, col + dc);
                out[(r as usize * w + col as usize) * c + ch] =
                    (v(1, 0) + v(-1, 0) - 2.0 * v(0, 0)) * sr
                        + (v(0, 1) + v(0, -1) - 2.0 * v(0, 0)) * sc;
            }
        }
    }
    out
}

/// `estimate` shifted per channel so its mean equals `truth`'s.
pub fn offset_corrected(estimate: &Image, truth: &Image) -> Result<Image> {
    if estimate.data.len() != truth.data.len() {
        return Err(Error::InvalidInput("images differ in size".into()));
    }
    let c = truth.channels;
    let mut out = estimate.clone();
    for ch in 0..c {
        let mean = |img: &Image| {
            img.data
                .iter()
                .skip(ch)
                .step_by(c)
                .map(|&v| v as f64)
                .sum::<f64>()
        };
        let shift = ((mean(truth) - mean(estimate)) / (truth.data.len() / c) as f64) as f32;
        out.data
            .iter_mut()
            .skip(ch)
            .step_by(c)
            .for_each(|v| *v += shift);
    }
    Ok(out)
}

/// Fits $\phi$ to `image`'s derivatives only. PSNR in the log is after offset correction.
pub fn poisson_reconstruct<E: Float, D: Backend<E>>(
    image: &Image,
    target: PoissonTarget,
    config: &FitConfig,
    device: &D,
    observe: impl FnMut(&StepRecord),
) -> Result<Fitted<E, D>> {
    config.validate()?;
    if config.batch.is_some() {
        return Err(Error::InvalidConfig(
            "Poisson reconstruction fits the full grid; omit batch".into(),
        ));
    }
    let (n, c) = (image.width * image.height, image.channels);
    let x = to_matrix::<E, D>(device, &image.coords(), 2);
    let goal = match target {
        PoissonTarget::Gradient => to_matrix::<E, D>(device, &sobel_gradient(image), c),
        PoissonTarget::Laplacian => to_matrix::<E, D>(device, &discrete_laplacian(image), c),
    };
    run_fit(
        config,
        c,
        &format!("poisson {target:?} {}", image.fingerprint()),
        device,
        |_, network, adam| {
            train_step(network, adam, |net, tr| match target {
                PoissonTarget::Gradient => {
                    let jet = net.jet(&x, Order::Gradient, tr)?;
                    let g = jet.gradient.expect("gradient carried");
                    let g = tr.apply(g, |g| g.reshape_like(&(2 * n, c)));
                    Ok(mse(tr, g, &goal))
                }
                PoissonTarget::Laplacian => {
                    let jet = net.jet_laplacians(&x, &[&[0, 1]], tr)?;
                    let lap = jet.laplacian(tr, &[0, 1])?;
                    Ok(mse(tr, lap, &goal))
                }
            })
        },
        |network| {
            let corrected = offset_corrected(&predict(network, image.width, image.height)?, image)?;
            Ok((psnr(&corrected, image, None)?, None))
        },
        observe,
    )
}
