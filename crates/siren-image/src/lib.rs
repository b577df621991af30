//! # siren-image (not built yet)
//!
//! Will own image fitting and inpainting with SIRENs: coordinate grids and PSNR/SSIM, the total
//! variation and Hessian-Frobenius priors computed from [`siren_core`]'s derivative pass, the
//! stochastic anti-aliasing (tent) kernel, Poisson reconstruction from gradients or Laplacians,
//! and rendering a fitted model at any resolution and extent. Nothing is implemented yet.
