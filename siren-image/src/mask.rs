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

    /// Everything known except random strokes (scratches or handwriting-like lines) of
    /// `thickness` pixels, drawn until `fraction` of the pixels are missing.
    pub fn strokes(
        width: usize,
        height: usize,
        fraction: f64,
        thickness: f64,
        seed: u64,
    ) -> Result<Self> {
        if !(fraction > 0.0 && fraction < 0.9) {
            return Err(Error::InvalidInput(format!(
                "stroke fraction must be in (0, 0.9), got {fraction}"
            )));
        }
        if !(thickness >= 1.0 && thickness <= (width.min(height) as f64) / 4.0) {
            return Err(Error::InvalidInput(format!(
                "stroke thickness must be between 1 pixel and a quarter of the image side, got {thickness}"
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut known = vec![true; width * height];
        let mut missing = 0usize;
        let goal = (fraction * (width * height) as f64).ceil() as usize;
        let r = thickness / 2.0;
        while missing < goal {
            // a polyline of a few segments, each a tenth to a third of the side long
            let side = width.min(height) as f64;
            let (mut y, mut x) = (
                rng.gen_range(0.0..height as f64),
                rng.gen_range(0.0..width as f64),
            );
            let mut heading: f64 = rng.gen_range(0.0..std::f64::consts::TAU);
            for _ in 0..rng.gen_range(2..6) {
                heading += rng.gen_range(-1.2..1.2);
                let len = rng.gen_range(0.1..0.33) * side;
                let (y1, x1) = (y + len * heading.sin(), x + len * heading.cos());
                let steps = (len / 0.5).ceil() as usize;
                for k in 0..=steps {
                    let t = k as f64 / steps as f64;
                    let (cy, cx) = (y + t * (y1 - y), x + t * (x1 - x));
                    let (r0, r1) = ((cy - r).floor().max(0.0), (cy + r).ceil());
                    let (c0, c1) = ((cx - r).floor().max(0.0), (cx + r).ceil());
                    for py in r0 as usize..(r1 as usize).min(height) {
                        for px in c0 as usize..(c1 as usize).min(width) {
                            let (dy, dx) = (py as f64 + 0.5 - cy, px as f64 + 0.5 - cx);
                            if dy * dy + dx * dx <= r * r && known[py * width + px] {
                                known[py * width + px] = false;
                                missing += 1;
                            }
                        }
                    }
                }
                (y, x) = (y1, x1);
            }
        }
        Ok(Self {
            width,
            height,
            known,
        })
    }

    /// Splits the known pixels: each moves, with probability `fraction`, from this mask into a
    /// validation set that training never sees (for choosing weights and stopping points
    /// without looking at the missing pixels). Returns the training mask and the validation
    /// pixels (`true` where held out).
    pub fn holdout(&self, fraction: f64, seed: u64) -> Result<(Mask, Vec<bool>)> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(Error::InvalidInput(format!(
                "holdout fraction must be in (0, 1), got {fraction}"
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7a11d);
        let mut train = self.clone();
        let mut held = vec![false; self.known.len()];
        for (p, k) in train.known.iter_mut().enumerate() {
            if *k && rng.gen_bool(fraction) {
                *k = false;
                held[p] = true;
            }
        }
        if !train.known.iter().any(|&k| k) || !held.iter().any(|&h| h) {
            return Err(Error::InvalidInput(
                "the holdout leaves no pixel to train on or none to validate with".into(),
            ));
        }
        Ok((train, held))
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
