//! Smoothness priors on the fitted function $\phi$, from siren-core's derivative pass.
//!
//! At $N$ points $x_n$ sampled over the whole domain (the missing region included):
//! $$\mathrm{TV}(\phi) = \frac1N \sum_n \sum_c \lVert \nabla \phi_c(x_n) \rVert_1, \qquad
//!   \mathrm{FH}(\phi) = \frac1N \sum_n \sum_c \lVert \mathrm{Hess}\, \phi_c(x_n) \rVert_F,$$
//! with $\lVert H \rVert_F^2 = \sum_i H_{ii}^2 + 2 \sum_{i<j} H_{ij}^2$. Derivatives are with
//! respect to the coordinates in $[-1, 1]^2$. The Frobenius norm is taken as
//! $\sqrt{\lVert H \rVert_F^2 + \varepsilon}$ with $\varepsilon = 10^{-12}$ so its gradient stays
//! finite where the Hessian vanishes.

use dfdx::prelude::*;
use siren_core::Backend;
use siren_core::{Error, Float, Jet, Result, Tracer};

/// A smoothness prior and its weight in the loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Prior {
    /// No prior.
    None,
    /// Total variation with this weight.
    TotalVariation(f64),
    /// Hessian-Frobenius with this weight.
    HessianFrobenius(f64),
}

impl Prior {
    /// The prior's weight (0 for none).
    pub fn weight(&self) -> f64 {
        match *self {
            Prior::None => 0.0,
            Prior::TotalVariation(w) | Prior::HessianFrobenius(w) => w,
        }
    }

    /// Short name for file names and tables.
    pub fn name(&self) -> &'static str {
        match self {
            Prior::None => "no prior",
            Prior::TotalVariation(_) => "TV",
            Prior::HessianFrobenius(_) => "FH",
        }
    }
}

/// TV of the jet's function at its points (needs the gradient), recorded on `tr`.
pub fn tv_prior<E: Float, D: Backend<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    jet: &Jet<E, D>,
) -> Result<Tensor<(), E, D>> {
    let g = jet
        .gradient
        .clone()
        .ok_or_else(|| Error::InvalidInput("TV needs the gradient (Order::Gradient)".into()))?;
    let n = g.shape().1 as f64;
    Ok(tr.apply(g, |g| g.abs().sum::<(), _>() * E::of(1.0 / n)))
}

/// Hessian-Frobenius of the jet's function at its points (needs [`siren_core::Order::Hessian`]
/// when there is more than one coordinate), recorded on `tr`.
pub fn hessian_frobenius_prior<E: Float, D: Backend<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    jet: &Jet<E, D>,
) -> Result<Tensor<(), E, D>> {
    let diag = jet.hessian_diag.clone().ok_or_else(|| {
        Error::InvalidInput("FH needs second derivatives (Order::Hessian)".into())
    })?;
    let d = diag.shape().0;
    let n = diag.shape().1 as f64;
    let squares = tr.apply(diag, |h| h.square().sum::<(usize, usize), Axis<0>>());
    let squares = match (&jet.hessian_mixed, d > 1) {
        (Some(mixed), _) => {
            let mixed = tr.apply(mixed.clone(), |h| {
                h.square().sum::<(usize, usize), Axis<0>>()
            });
            tr.apply(squares, |s| s + mixed * E::of(2.0))
        }
        (None, true) => {
            return Err(Error::InvalidInput(
                "FH needs the mixed terms (Order::Hessian)".into(),
            ))
        }
        (None, false) => squares,
    };
    Ok(tr.apply(squares, |s| {
        (s + E::of(1e-12)).sqrt().sum::<(), _>() * E::of(1.0 / n)
    }))
}
