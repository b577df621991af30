//! Evaluating a fitted network on any pixel grid and any extent of the plane.

use siren_core::train::to_matrix;
use siren_core::Backend;
use siren_core::{Error, Float, Matrix, Network, Order, Result, Tracer};

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
    render_region(network, width, height, extent, extent)
}

/// Renders `network` on a `width x height` grid over the rectangle with columns from `x.0` to
/// `x.1` and rows from `y.0` to `y.1` (any part of the plane, at any zoom).
pub fn render_region<E: Float, D: Backend<E>>(
    network: &Network<E, D>,
    width: usize,
    height: usize,
    x: (f64, f64),
    y: (f64, f64),
) -> Result<Image> {
    let values = render_values(network, width, height, x, y)?;
    Image::from_signed(width, height, network.config().out_features, &values)
}

/// The network's outputs on the grid of [`render_region`] as they are (not mapped to pixel
/// values or clamped), row-major with the channels last.
pub fn render_values<E: Float, D: Backend<E>>(
    network: &Network<E, D>,
    width: usize,
    height: usize,
    x: (f64, f64),
    y: (f64, f64),
) -> Result<Vec<f64>> {
    let c = image_channels(network)?;
    let coords = region_coords(width, height, x, y)?;
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
    Ok(values)
}

/// A derivative of an image network, one number per pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Derivative {
    /// $\lVert \nabla u \rVert$ over all channels, $\sqrt{\sum_c |\nabla u_c|^2}$.
    GradientNorm,
    /// $\Delta u$, the mean over the channels.
    Laplacian,
}

/// `derivative` of `network` on the grid of [`render_region`], row-major, with respect to the
/// coordinates (the training domain is $[-1, 1]^2$). The derivatives are exact: carried
/// forward through the layers by [`Network::jet`], not differenced.
pub fn render_derivative<E: Float, D: Backend<E>>(
    network: &Network<E, D>,
    width: usize,
    height: usize,
    (x, y): ((f64, f64), (f64, f64)),
    derivative: Derivative,
) -> Result<Vec<f64>> {
    let c = image_channels(network)?;
    let coords = region_coords(width, height, x, y)?;
    let mut out = Vec::with_capacity(width * height);
    // A derivative pass carries several rows per point: smaller chunks bound its memory.
    for chunk in coords.chunks(CHUNK / 4 * 2) {
        let points = chunk.len() / 2;
        let x = to_matrix::<E, D>(network.device(), chunk, 2);
        let mut tr = Tracer::inference();
        let host =
            |m: Matrix<E, D>| -> Vec<f64> { m.as_vec().into_iter().map(|v| v.as_f64()).collect() };
        match derivative {
            Derivative::GradientNorm => {
                let jet = network.jet(&x, Order::Gradient, &mut tr)?;
                let (d0, d1) = (
                    host(jet.partial(&mut tr, 0)?),
                    host(jet.partial(&mut tr, 1)?),
                );
                out.extend((0..points).map(|p| {
                    (0..c)
                        .map(|k| d0[p * c + k].powi(2) + d1[p * c + k].powi(2))
                        .sum::<f64>()
                        .sqrt()
                }));
            }
            Derivative::Laplacian => {
                let jet = network.jet_laplacians(&x, &[&[0, 1]], &mut tr)?;
                let lap = host(jet.laplacian(&mut tr, &[0, 1])?);
                out.extend(
                    (0..points).map(|p| lap[p * c..(p + 1) * c].iter().sum::<f64>() / c as f64),
                );
            }
        }
    }
    Ok(out)
}

/// The output channels of an image network (1 or 3), or an error saying what it is instead.
fn image_channels<E: Float, D: Backend<E>>(network: &Network<E, D>) -> Result<usize> {
    let c = network.config().out_features;
    if network.config().in_features != 2 || !(c == 1 || c == 3) {
        return Err(Error::InvalidInput(format!(
            "an image network maps 2 coordinates to 1 or 3 channels; this one maps {} to {c}",
            network.config().in_features
        )));
    }
    Ok(c)
}

/// The (row, column) coordinates of a `width x height` grid over the rectangle `x` by `y`,
/// checked: finite ranges with lo < hi, and a size that fits in memory.
fn region_coords(width: usize, height: usize, x: (f64, f64), y: (f64, f64)) -> Result<Vec<f64>> {
    for (lo, hi) in [x, y] {
        if !(lo.is_finite() && hi.is_finite() && hi > lo) {
            return Err(Error::InvalidInput(format!(
                "extent must have lo < hi, got {lo},{hi}"
            )));
        }
    }
    if width == 0 || height == 0 {
        return Err(Error::InvalidInput(format!(
            "cannot render a {width}x{height} image"
        )));
    }
    crate::raster::check_pixels(width, height)?;
    let mut coords = siren_core::train::grid(&[height, width]);
    for p in coords.chunks_mut(2) {
        p[0] = y.0 + (y.1 - y.0) * (p[0] + 1.0) / 2.0;
        p[1] = x.0 + (x.1 - x.0) * (p[1] + 1.0) / 2.0;
    }
    Ok(coords)
}

/// The network on the training grid of a `width x height` image.
pub fn predict<E: Float, D: Backend<E>>(
    network: &Network<E, D>,
    width: usize,
    height: usize,
) -> Result<Image> {
    render(network, width, height, (-1.0, 1.0))
}
