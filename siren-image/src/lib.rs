//! # siren-image
//!
//! The paper's image experiments on real images: fitting ([`fit`]), rendering at any
//! resolution and extent ([`render`](mod@render)), inpainting from a partial image with total-variation
//! and Hessian-Frobenius priors and the stochastic anti-aliasing kernel ([`inpaint`](mod@inpaint),
//! [`priors`], [`antialias`]), the classical baselines it is compared with ([`diffusion`],
//! [`dip`]), Poisson reconstruction from gradients or Laplacians ([`poisson`]), and the
//! metrics ([`metrics`], [`spectrum`]).
//!
//! Pixel coordinates follow the original code: $(\text{row}, \text{col})$ mapped to
//! $[-1, 1]^2$ with $2i/(n-1) - 1$, values mapped to $[-1, 1]$ ([`raster`]).
//!
//! Fitting the embedded cameraman at 32x32 with a small SIREN:
//!
//! ```
//! use dfdx::prelude::*;
//! use siren_image::{fit_image, FitConfig, Image};
//!
//! let image = Image::camera().resized(32, 32)?;
//! let config = FitConfig {
//!     hidden_features: 64,
//!     steps: 100,
//!     eval_every: 0,
//!     ..FitConfig::default()
//! };
//! let fitted = fit_image::<f32, Cpu>(&image, &config, &Cpu::default(), |_| {})?;
//! let psnr = fitted.history.last().and_then(|r| r.psnr).expect("measured at the last step");
//! assert!(psnr > 30.0, "PSNR {psnr:.1} dB");
//! # Ok::<(), siren_core::Error>(())
//! ```

pub mod antialias;
pub mod diffusion;
pub mod dip;
pub mod fit;
pub mod inpaint;
pub mod mask;
pub mod metrics;
pub mod poisson;
pub mod priors;
pub mod raster;
pub mod render;
pub mod spectrum;

pub use fit::{fit_image, FitConfig, Fitted, ImageModel, StepRecord};
pub use inpaint::{inpaint, inpaint_validated, InpaintConfig};
pub use mask::Mask;
pub use priors::Prior;
pub use raster::Image;
pub use render::{predict, render, render_derivative, render_region, render_values, Derivative};
