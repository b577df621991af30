//! Inpainting with a SIREN: fit the known pixels only, with a smoothness prior over the whole
//! domain and, optionally, the anti-aliasing kernel.
//!
//! Loss per step (the seed's form):
//! $$\mathcal L = \mathrm{RMSE}\big((h * \phi)(x_k),\ b_k\big)_{k \in \text{known}} +
//!   \lambda\, P(\phi),$$
//! where $h * \phi$ is $\phi$ itself without anti-aliasing, or the mean of $\phi$ at `K` tent
//! offsets per pixel ([`crate::antialias`]), and $P$ is TV or FH ([`crate::priors`]) at
//! `prior_points` points drawn uniformly from $[-1, 1]^2$ each step.

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};
use siren_core::train::{gather_rows, to_matrix, train_step, uniform_points};
use siren_core::{Adam, Error, Float, Network, Order, Result};

use crate::antialias::jittered_coords;
use crate::fit::{run_fit, FitConfig, Fitted, StepRecord};
use crate::mask::Mask;
use crate::metrics::psnr;
use crate::priors::{hessian_frobenius_prior, tv_prior, Prior};
use crate::raster::Image;
use crate::render::predict;
use siren_core::train::step_rng;

/// Settings of one inpainting run.
#[derive(Clone, Debug, PartialEq)]
pub struct InpaintConfig {
    /// Network and optimiser.
    pub fit: FitConfig,
    /// Smoothness prior and weight.
    pub prior: Prior,
    /// Points per step at which the prior is evaluated.
    pub prior_points: usize,
    /// `Some(K)`: the anti-aliasing kernel with `K` offsets per pixel; `None`: point samples.
    pub antialias: Option<usize>,
}

/// Settings as they appear in config files (the prior split into kind and weight).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorKind {
    /// No prior.
    #[default]
    None,
    /// Total variation.
    Tv,
    /// Hessian-Frobenius.
    Fh,
}

impl PriorKind {
    /// The prior with a weight.
    pub fn with_weight(&self, weight: f64) -> Prior {
        match self {
            PriorKind::None => Prior::None,
            PriorKind::Tv => Prior::TotalVariation(weight),
            PriorKind::Fh => Prior::HessianFrobenius(weight),
        }
    }
}

impl InpaintConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        self.fit.validate()?;
        let w = self.prior.weight();
        if !(w.is_finite() && w >= 0.0) {
            return Err(Error::InvalidConfig(format!(
                "prior weight must be >= 0, got {w}"
            )));
        }
        if self.prior != Prior::None && self.prior_points == 0 {
            return Err(Error::InvalidConfig(
                "prior_points must be at least 1".into(),
            ));
        }
        if self.antialias == Some(0) {
            return Err(Error::InvalidConfig(
                "antialias samples must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// Inpaints `image` seen through `mask`. PSNR in the log is against the full `image`.
pub fn inpaint<E: Float, D: Device<E>>(
    image: &Image,
    mask: &Mask,
    config: &InpaintConfig,
    device: &D,
    observe: impl FnMut(&StepRecord),
) -> Result<Fitted<E, D>> {
    config.validate()?;
    if (mask.width, mask.height) != (image.width, image.height) {
        return Err(Error::InvalidInput(format!(
            "mask is {}x{} but the image is {}x{}",
            mask.width, mask.height, image.width, image.height
        )));
    }
    let known = mask.known_indices();
    if known.is_empty() {
        return Err(Error::InvalidInput("the mask keeps no pixel".into()));
    }
    let c = image.channels;
    let fit = &config.fit;
    let coords = gather_rows(&image.coords(), 2, &known);
    let target = to_matrix::<E, D>(device, &gather_rows(&image.to_signed(), c, &known), c);
    let plain = to_matrix::<E, D>(device, &coords, 2);
    let m = known.len();
    let step = |s: usize, network: &mut Network<E, D>, adam: &mut Adam<E, D>| {
        let mut rng = step_rng(fit.seed ^ 0x5eed, s);
        let samples = match config.antialias {
            Some(k) => Some((
                k,
                to_matrix::<E, D>(
                    device,
                    &jittered_coords(&mut rng, &coords, k, image.pixel_size()),
                    2,
                ),
            )),
            None => None,
        };
        let prior_x = (config.prior != Prior::None).then(|| {
            to_matrix::<E, D>(
                device,
                &uniform_points(&mut rng, config.prior_points, &[-1.0, -1.0], &[1.0, 1.0]),
                2,
            )
        });
        train_step(network, adam, |net, tr| {
            let pixels = match &samples {
                None => net.jet(&plain, Order::Value, tr)?.value,
                Some((k, x)) => {
                    let v = net.jet(x, Order::Value, tr)?.value;
                    let k = *k;
                    tr.apply(v, |v| {
                        v.reshape_like(&(k, m, c)).mean::<(usize, usize), Axis<0>>()
                    })
                }
            };
            let t = target.clone();
            let rmse = tr.apply(pixels, |p| ((p - t).square().mean() + E::of(1e-12)).sqrt());
            let Some(px) = &prior_x else { return Ok(rmse) };
            let prior = match config.prior {
                Prior::TotalVariation(_) => {
                    let jet = net.jet(px, Order::Gradient, tr)?;
                    tv_prior(tr, &jet)?
                }
                Prior::HessianFrobenius(_) => {
                    let jet = net.jet(px, Order::Hessian, tr)?;
                    hessian_frobenius_prior(tr, &jet)?
                }
                Prior::None => unreachable!("prior points exist only with a prior"),
            };
            let (r, p) = (rmse.as_vec()[0].as_f64(), prior.as_vec()[0].as_f64());
            if !(r.is_finite() && p.is_finite()) {
                return Err(Error::Diverged(format!(
                    "a loss term is not finite: image RMSE {r}, {} {p}",
                    config.prior.name()
                )));
            }
            let w = E::of(config.prior.weight());
            Ok(tr.apply2(rmse, prior, |r, p| r + p * w))
        })
    };
    run_fit(
        fit,
        c,
        device,
        step,
        |network| psnr(&predict(network, image.width, image.height)?, image, None),
        observe,
    )
}
