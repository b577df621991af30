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
