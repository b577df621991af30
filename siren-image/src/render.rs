//! Evaluating a fitted network on any pixel grid and any extent of the plane.

use siren_core::train::to_matrix;
use siren_core::Backend;
use siren_core::{Error, Float, Network, Result};

use crate::raster::Image;

/// Points evaluated per forward pass, to bound memory at large sizes.
const CHUNK: usize = 65_536;

/// Renders `network` on a `width x height` grid over $[lo, hi]^2$ (the training domain is
/// $[-1, 1]^2$; a wider extent extrapolates, as in the paper's outpainting figure).
pub fn render<E: Float, D: Backend<E>>(
    network: &Network<E, D>,
    width: usize,
    height: usize,
    extent: (f64, f64),
) -> Result<Image> {
    let (lo, hi) = extent;
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return Err(Error::InvalidInput(format!(
            "extent must have lo < hi, got {lo},{hi}"
        )));
    }
    if width == 0 || height == 0 {
        return Err(Error::InvalidInput(format!(
            "cannot render a {width}x{height} image"
        )));
    }
    crate::raster::check_pixels(width, height)?;
    let c = network.config().out_features;
    if network.config().in_features != 2 || !(c == 1 || c == 3) {
        return Err(Error::InvalidInput(format!(
            "an image network maps 2 coordinates to 1 or 3 channels; this one maps {} to {c}",
            network.config().in_features
        )));
    }
    let coords: Vec<f64> = siren_core::train::grid(&[height, width])
        .into_iter()
        .map(|g| lo + (hi - lo) * (g + 1.0) / 2.0)
        .collect();
    let mut values = Vec::with_capacity(width * height * c);
    for chunk in coords.chunks(CHUNK * 2) {
        let x = to_matrix::<E, D>(network.device(), chunk, 2);
        values.extend(
            network
                .forward(&x)?
                .as_vec()
                .into_iter()
                .map(|v| v.as_f64()),
        );
    }
    Image::from_signed(width, height, c, &values)
}

/// The network on the training grid of a `width x height` image.
pub fn predict<E: Float, D: Backend<E>>(
    network: &Network<E, D>,
    width: usize,
    height: usize,
) -> Result<Image> {
    render(network, width, height, (-1.0, 1.0))
}
