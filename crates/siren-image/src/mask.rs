//! Which pixels an inpainting run may see.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_core::{Error, Result};

use crate::raster::Image;

/// Known (`true`) and missing pixels of a `width x height` image, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Mask {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `true` where the pixel is known.
    pub known: Vec<bool>,
}

impl Mask {
    /// Each pixel known with probability `keep`, independently, from `seed`.
    pub fn random(width: usize, height: usize, keep: f64, seed: u64) -> Result<Self> {
        if !(keep > 0.0 && keep <= 1.0) {
            return Err(Error::InvalidInput(format!(
                "keep fraction must be in (0, 1], got {keep}"
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let known = (0..width * height).map(|_| rng.gen_bool(keep)).collect();
        Ok(Self {
            width,
            height,
            known,
        })
    }

    /// Everything known except a centred block covering `fraction` of each side.
    pub fn centre_block(width: usize, height: usize, fraction: f64) -> Result<Self> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(Error::InvalidInput(format!(
                "block fraction must be in (0, 1), got {fraction}"
            )));
        }
        let (bw, bh) = (
            (width as f64 * fraction).round() as usize,
            (height as f64 * fraction).round() as usize,
        );
        let (x0, y0) = ((width - bw) / 2, (height - bh) / 2);
        let known = (0..width * height)
            .map(|p| {
                let (r, c) = (p / width, p % width);
                !((y0..y0 + bh).contains(&r) && (x0..x0 + bw).contains(&c))
            })
            .collect();
        Ok(Self {
            width,
            height,
            known,
        })
    }

    /// A mask image: pixels brighter than half are known. Resized (nearest) to the target size.
    pub fn from_png(path: impl AsRef<Path>, width: usize, height: usize) -> Result<Self> {
        let img = Image::open(path)?.to_grey();
        let known = (0..width * height)
            .map(|p| {
                let (r, c) = (p / width, p % width);
                let (sr, sc) = (r * img.height / height, c * img.width / width);
                img.data[sr * img.width + sc] > 0.5
            })
            .collect();
        Ok(Self {
            width,
            height,
            known,
        })
    }

    /// Indices of the known pixels.
    pub fn known_indices(&self) -> Vec<usize> {
        (0..self.known.len()).filter(|&p| self.known[p]).collect()
    }

    /// The complement: `true` where the pixel is missing.
    pub fn missing(&self) -> Vec<bool> {
        self.known.iter().map(|k| !k).collect()
    }

    /// `image` with missing pixels set to `fill` (for showing the input).
    pub fn apply(&self, image: &Image, fill: f32) -> Image {
        let mut out = image.clone();
        for (p, px) in out.data.chunks_mut(image.channels).enumerate() {
            if !self.known[p] {
                px.iter_mut().for_each(|v| *v = fill);
            }
        }
        out
    }
}
