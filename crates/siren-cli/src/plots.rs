//! Field figures: a grid of panels, one colour scale per column.

use image::{Rgb, RgbImage};
use siren_core::io::write_atomic;
use siren_core::{Error, Result};

/// Blue (negative) - white - red (positive), `v` in [-1, 1].
fn diverging(v: f64) -> Rgb<u8> {
    let v = v.clamp(-1.0, 1.0);
    let fade = |t: f64| (255.0 * (1.0 - t)).round() as u8;
    if v >= 0.0 {
        Rgb([255, fade(v), fade(v)])
    } else {
        Rgb([fade(-v), fade(-v), 255])
    }
}

/// Writes a PNG of `rows x cols` panels, each an `n x n` row-major field (first index down),
/// separated by 4 white pixels; column `c` is scaled by `scales[c]` (values map to [-1, 1]).
pub fn field_grid(
    path: &std::path::Path,
    panels: &[Vec<Vec<f64>>],
    n: usize,
    scales: &[f64],
) -> Result<()> {
    let rows = panels.len();
    let cols = panels.first().map_or(0, |r| r.len());
    if rows == 0 || cols == 0 || scales.len() != cols {
        return Err(Error::InvalidInput(
            "a figure needs panels and one scale per column".into(),
        ));
    }
    let gap = 4;
    let (w, h) = (cols * n + (cols - 1) * gap, rows * n + (rows - 1) * gap);
    let mut img = RgbImage::from_pixel(w as u32, h as u32, Rgb([255, 255, 255]));
    for (r, row) in panels.iter().enumerate() {
        for (c, field) in row.iter().enumerate() {
            let s = if scales[c] > 0.0 { scales[c] } else { 1.0 };
            for (p, v) in field.iter().enumerate().take(n * n) {
                let (i, j) = (p / n, p % n);
                img.put_pixel(
                    (c * (n + gap) + j) as u32,
                    (r * (n + gap) + i) as u32,
                    diverging(v / s),
                );
            }
        }
    }
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| Error::InvalidInput(format!("cannot encode PNG: {e}")))?;
    write_atomic(path, bytes.get_ref())
}

/// One histogram panel: samples, the x range shown, and a reference density drawn over it.
pub struct Histogram<'a> {
    /// The samples.
    pub samples: &'a [f64],
    /// `(lo, hi)` shown; samples outside are not drawn.
    pub range: (f64, f64),
    /// The density the samples should follow.
    pub density: &'a dyn Fn(f64) -> f64,
}

/// Writes a PNG of `rows x cols` histogram panels (grey bars, the reference density in red),
/// each `width x height` pixels, 6 pixels apart.
pub fn histogram_grid(
    path: &std::path::Path,
    panels: &[Vec<Histogram>],
    width: usize,
    height: usize,
) -> Result<()> {
    let rows = panels.len();
    let cols = panels.first().map_or(0, |r| r.len());
    if rows == 0 || cols == 0 || width < 8 || height < 8 {
        return Err(Error::InvalidInput(
            "a histogram figure needs panels".into(),
        ));
    }
    let gap = 6;
    let (w, h) = (
        cols * width + (cols - 1) * gap,
        rows * height + (rows - 1) * gap,
    );
    let mut img = RgbImage::from_pixel(w as u32, h as u32, Rgb([255, 255, 255]));
    for (r, row) in panels.iter().enumerate() {
        for (c, panel) in row.iter().enumerate() {
            let (x0, y0) = (c * (width + gap), r * (height + gap));
            let (lo, hi) = panel.range;
            let bins = width;
            let bin_width = (hi - lo) / bins as f64;
            let mut counts = vec![0usize; bins];
            for &v in panel.samples {
                if v >= lo && v < hi {
                    counts[((v - lo) / bin_width) as usize] += 1;
                }
            }
            let n = panel.samples.len().max(1) as f64;
            let densities: Vec<f64> = counts.iter().map(|&k| k as f64 / (n * bin_width)).collect();
            let curve: Vec<f64> = (0..bins)
                .map(|b| (panel.density)(lo + (b as f64 + 0.5) * bin_width))
                .collect();
            // Shared vertical scale: the larger of the two, with the arcsine's poles capped.
            let top = densities
                .iter()
                .chain(&curve)
                .cloned()
                .filter(|v| v.is_finite())
                .fold(0.0f64, f64::max)
                .min(
                    3.0 * curve
                        .iter()
                        .cloned()
                        .filter(|v| v.is_finite())
                        .fold(0.0, f64::max)
                        .max(1e-9),
                )
                .max(1e-9);
            let to_y = |d: f64| ((d / top).clamp(0.0, 1.0) * (height - 2) as f64) as usize;
            for b in 0..bins {
                for y in 0..to_y(densities[b]) {
                    img.put_pixel(
                        (x0 + b) as u32,
                        (y0 + height - 1 - y) as u32,
                        Rgb([160, 160, 160]),
                    );
                }
                let y = to_y(curve[b]);
                for dy in 0..2 {
                    let yy = (y0 + height - 1).saturating_sub(y + dy).max(y0);
                    img.put_pixel((x0 + b) as u32, yy as u32, Rgb([220, 30, 30]));
                }
            }
            for b in 0..width {
                img.put_pixel((x0 + b) as u32, (y0 + height - 1) as u32, Rgb([0, 0, 0]));
            }
        }
    }
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| Error::InvalidInput(format!("cannot encode PNG: {e}")))?;
    write_atomic(path, bytes.get_ref())
}
