//! Images as the networks see them: row-major pixels in $[0, 1]$, 1 or 3 channels.
//!
//! # Coordinates
//! Pixel `(row, col)` of an `H x W` image sits at the coordinate
//! $(2\,\text{row}/(H-1) - 1,\ 2\,\text{col}/(W-1) - 1)$ in $[-1, 1]^2$ — the original code's
//! `get_mgrid` convention, first coordinate the row — and values are mapped to $[-1, 1]$ for
//! fitting ([`Image::to_signed`]).

use std::path::Path;

use image::{imageops::FilterType, DynamicImage, GrayImage, RgbImage};
use siren_core::io::write_atomic;
use siren_core::{Error, Result};

/// Errors when a `width x height` image would exceed [`MAX_IMAGE_PIXELS`], naming the memory
/// it would take.
pub fn check_pixels(width: usize, height: usize) -> Result<()> {
    let pixels = width as u128 * height as u128;
    if pixels > MAX_IMAGE_PIXELS as u128 {
        return Err(Error::InvalidInput(format!(
            "a {width}x{height} image has {pixels} pixels (about {:.0} GB as RGB f32); at most \
             {MAX_IMAGE_PIXELS} are made: choose a smaller size",
            pixels as f64 * 12e-9
        )));
    }
    Ok(())
}

/// Largest image file [`Image::open`] reads (256 MiB).
pub const MAX_IMAGE_BYTES: u64 = 1 << 28;
/// Most pixels [`Image::open`] decodes (16,384 x 16,384).
pub const MAX_IMAGE_PIXELS: u64 = 1 << 28;

/// A row-major image with `channels` interleaved values per pixel in $[0, 1]$.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// `height * width * channels` values in $[0, 1]$.
    pub data: Vec<f32>,
}

impl Image {
    /// An image from raw values; errors if the length disagrees with the shape.
    pub fn new(width: usize, height: usize, channels: usize, data: Vec<f32>) -> Result<Self> {
        if !(channels == 1 || channels == 3) {
            return Err(Error::InvalidInput(format!(
                "images have 1 or 3 channels, not {channels}"
            )));
        }
        if width == 0 || height == 0 || data.len() != width * height * channels {
            return Err(Error::InvalidInput(format!(
                "a {width}x{height}x{channels} image needs {} values, got {}",
                width * height * channels,
                data.len()
            )));
        }
        Ok(Self {
            width,
            height,
            channels,
            data,
        })
    }

    /// The embedded CC0 cameraman (`skimage.data.camera()`, 512x512 grey; see `data/README.md`).
    pub fn camera() -> Self {
        let decoded = image::load_from_memory(include_bytes!("../data/camera.png"))
            .expect("the embedded camera.png is a valid PNG");
        Self::from_dynamic(&decoded)
    }

    /// A fingerprint of the image's size and values, e.g. `32x32x1:9a0f...`: what a
    /// checkpoint records so that it is resumed only on the same image.
    pub fn fingerprint(&self) -> String {
        let bytes: Vec<u8> = self.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        format!(
            "{}x{}x{}:{:016x}",
            self.width,
            self.height,
            self.channels,
            siren_core::io::fnv1a(&bytes)
        )
    }

    /// Reads a PNG or JPEG. Grey stays grey (1 channel); colour becomes RGB, alpha dropped.
    ///
    /// Only a regular file of at most [`MAX_IMAGE_BYTES`] is read, and the header's size is
    /// checked against [`MAX_IMAGE_PIXELS`] before anything is decoded, so a device, a pipe or
    /// a forged header is an error rather than gigabytes of memory.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bad = |reason: String| Error::BadFile {
            path: path.to_path_buf(),
            what: "PNG or JPEG image",
            reason,
        };
        siren_core::io::check_input_file(path, "PNG or JPEG image", MAX_IMAGE_BYTES)?;
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            action: "cannot read image",
            path: path.to_path_buf(),
            source,
        })?;
        let reader = image::ImageReader::new(std::io::Cursor::new(&bytes))
            .with_guessed_format()
            .map_err(|e| bad(e.to_string()))?;
        let (w, h) = reader.into_dimensions().map_err(|e| bad(e.to_string()))?;
        if w as u64 * h as u64 > MAX_IMAGE_PIXELS {
            return Err(bad(format!(
                "its header says {w}x{h} pixels; at most {MAX_IMAGE_PIXELS} are decoded"
            )));
        }
        let decoded = image::load_from_memory(&bytes).map_err(|e| bad(e.to_string()))?;
        Ok(Self::from_dynamic(&decoded))
    }

    fn from_dynamic(img: &DynamicImage) -> Self {
        let grey = matches!(
            img,
            DynamicImage::ImageLuma8(_)
                | DynamicImage::ImageLuma16(_)
                | DynamicImage::ImageLumaA8(_)
                | DynamicImage::ImageLumaA16(_)
        );
        let (width, height) = (img.width() as usize, img.height() as usize);
        let (channels, data) = if grey {
            let g = img.to_luma32f();
            (1, g.into_raw())
        } else {
            let c = img.to_rgb32f();
            (3, c.into_raw())
        };
        Self {
            width,
            height,
            channels,
            data,
        }
    }

    fn to_dynamic(&self) -> DynamicImage {
        let bytes: Vec<u8> = self
            .data
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        let (w, h) = (self.width as u32, self.height as u32);
        if self.channels == 1 {
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, bytes).expect("sizes agree"))
        } else {
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, bytes).expect("sizes agree"))
        }
    }

    /// Resampled to `width x height` with a triangle (bilinear) filter that widens when
    /// shrinking, as PIL's bilinear resize (the original pipeline's) does.
    pub fn resized(&self, width: usize, height: usize) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::InvalidInput(format!(
                "cannot resize to {width}x{height}"
            )));
        }
        check_pixels(width, height)?;
        if (width, height) == (self.width, self.height) {
            return Ok(self.clone());
        }
        let (w, h) = (self.width as u32, self.height as u32);
        let (nw, nh) = (width as u32, height as u32);
        let data = if self.channels == 1 {
            let buf: image::ImageBuffer<image::Luma<f32>, Vec<f32>> =
                image::ImageBuffer::from_raw(w, h, self.data.clone()).expect("sizes agree");
            image::imageops::resize(&buf, nw, nh, FilterType::Triangle).into_raw()
        } else {
            let buf: image::ImageBuffer<image::Rgb<f32>, Vec<f32>> =
                image::ImageBuffer::from_raw(w, h, self.data.clone()).expect("sizes agree");
            image::imageops::resize(&buf, nw, nh, FilterType::Triangle).into_raw()
        };
        Self::new(width, height, self.channels, data)
    }

    /// The largest centred square (the whole image when it is square already).
    pub fn centre_square(&self) -> Self {
        self.centre_crop(self.width.min(self.height))
    }

    /// The centred `side x side` square (`side` at most the shorter side).
    pub fn centre_crop(&self, side: usize) -> Self {
        let side = side.min(self.width).min(self.height);
        let (x0, y0) = ((self.width - side) / 2, (self.height - side) / 2);
        let c = self.channels;
        let mut data = Vec::with_capacity(side * side * c);
        for r in y0..y0 + side {
            let start = (r * self.width + x0) * c;
            data.extend_from_slice(&self.data[start..start + side * c]);
        }
        Self {
            width: side,
            height: side,
            channels: c,
            data,
        }
    }

    /// Channel `ch` as `f64` values clipped to $[0, 1]$, row-major.
    pub fn channel(&self, ch: usize) -> Vec<f64> {
        self.data
            .iter()
            .skip(ch)
            .step_by(self.channels)
            .map(|v| v.clamp(0.0, 1.0) as f64)
            .collect()
    }

    /// Grey copy (mean of RGB), or itself if already grey.
    pub fn to_grey(&self) -> Self {
        if self.channels == 1 {
            return self.clone();
        }
        let data = self
            .data
            .chunks(3)
            .map(|p| (p[0] + p[1] + p[2]) / 3.0)
            .collect();
        Self {
            channels: 1,
            data,
            ..*self
        }
    }

    /// Writes an 8-bit PNG atomically (values clipped to $[0, 1]$).
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.to_png()?)
    }

    /// The image as 8-bit PNG bytes (values clipped to $[0, 1]$).
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let mut bytes = std::io::Cursor::new(Vec::new());
        self.to_dynamic()
            .write_to(&mut bytes, image::ImageFormat::Png)
            .map_err(|e| Error::InvalidInput(format!("cannot encode PNG: {e}")))?;
        Ok(bytes.into_inner())
    }

    /// Values mapped to $[-1, 1]$, row-major `(H*W, channels)`.
    pub fn to_signed(&self) -> Vec<f64> {
        self.data.iter().map(|&v| 2.0 * v as f64 - 1.0).collect()
    }

    /// An image from values in $[-1, 1]$ (clipped).
    pub fn from_signed(
        width: usize,
        height: usize,
        channels: usize,
        values: &[f64],
    ) -> Result<Self> {
        let data = values
            .iter()
            .map(|&v| (((v + 1.0) / 2.0).clamp(0.0, 1.0)) as f32)
            .collect();
        Self::new(width, height, channels, data)
    }

    /// Pixel coordinates in $[-1, 1]^2$, `(row, col)` per pixel, row-major.
    pub fn coords(&self) -> Vec<f64> {
        siren_core::train::grid(&[self.height, self.width])
    }

    /// Spacing between neighbouring pixels in coordinate units, `(rows, cols)`.
    pub fn pixel_size(&self) -> (f64, f64) {
        let step = |n: usize| if n > 1 { 2.0 / (n - 1) as f64 } else { 2.0 };
        (step(self.height), step(self.width))
    }
}

/// Images side by side in one row, separated by `gap` white pixels; all must share a height
/// and are converted to RGB if any is.
pub fn side_by_side(images: &[&Image], gap: usize) -> Result<Image> {
    let height = images.first().map(|i| i.height).unwrap_or(0);
    if images.is_empty() || images.iter().any(|i| i.height != height) {
        return Err(Error::InvalidInput(
            "side_by_side needs images of one height".into(),
        ));
    }
    let channels = images.iter().map(|i| i.channels).max().unwrap_or(1);
    let width = images.iter().map(|i| i.width).sum::<usize>() + gap * (images.len() - 1);
    let mut data = vec![1.0f32; width * height * channels];
    let mut x0 = 0;
    for img in images {
        for r in 0..height {
            for c in 0..img.width {
                for ch in 0..channels {
                    let src = if img.channels == 1 { 0 } else { ch };
                    data[(r * width + x0 + c) * channels + ch] =
                        img.data[(r * img.width + c) * img.channels + src];
                }
            }
        }
        x0 += img.width + gap;
    }
    Image::new(width, height, channels, data)
}

/// Images stacked top to bottom, separated by `gap` white pixels; all must share a width.
pub fn stacked(images: &[&Image], gap: usize) -> Result<Image> {
    let width = images.first().map(|i| i.width).unwrap_or(0);
    if images.is_empty() || images.iter().any(|i| i.width != width) {
        return Err(Error::InvalidInput(
            "stacked needs images of one width".into(),
        ));
    }
    let channels = images.iter().map(|i| i.channels).max().unwrap_or(1);
    let height = images.iter().map(|i| i.height).sum::<usize>() + gap * (images.len() - 1);
    let mut data = vec![1.0f32; width * height * channels];
    let mut y0 = 0;
    for img in images {
        for r in 0..img.height {
            for c in 0..width {
                for ch in 0..channels {
                    let src = if img.channels == 1 { 0 } else { ch };
                    data[((y0 + r) * width + c) * channels + ch] =
                        img.data[(r * width + c) * img.channels + src];
                }
            }
        }
        y0 += img.height + gap;
    }
    Image::new(width, height, channels, data)
}

impl Image {
    /// Each pixel repeated `factor x factor` times (nearest neighbour), for viewing small images.
    pub fn upscaled(&self, factor: usize) -> Result<Image> {
        let (w, h, c) = (self.width * factor, self.height * factor, self.channels);
        let mut data = Vec::with_capacity(w * h * c);
        for r in 0..h {
            for col in 0..w {
                let src = ((r / factor) * self.width + col / factor) * c;
                data.extend_from_slice(&self.data[src..src + c]);
            }
        }
        Image::new(w, h, c, data)
    }
}
