//! Image panels with captions, a title and a note.

use image::Rgb;
use siren_core::{Error, Result};
use siren_image::poisson::{discrete_laplacian, sobel_gradient};
use siren_image::Image;

use super::{diverging, draw_error, encode_png, register_font, SANS};

/// What a Poisson run is supervised by, as a picture: the norm of `img`'s Sobel gradient, or
/// its discrete Laplacian (`laplacian`; the mean over channels), by [`derivative_picture`].
pub fn supervision_picture(img: &Image, laplacian: bool) -> Result<Image> {
    let (n, c) = (img.width * img.height, img.channels);
    let values: Vec<f64> = if laplacian {
        let l = discrete_laplacian(img);
        (0..n)
            .map(|p| l[p * c..(p + 1) * c].iter().sum::<f64>() / c as f64)
            .collect()
    } else {
        let g = sobel_gradient(img);
        (0..n)
            .map(|p| {
                (0..c)
                    .map(|k| g[p * c + k].powi(2) + g[(n + p) * c + k].powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .collect()
    };
    derivative_picture(img.width, img.height, &values, laplacian)
}

/// A derivative field as a picture: a norm in grey from 0 to its 99th percentile, a `signed`
/// field blue-white-red on a scale of its 99th percentile of |v| (so a few large values do
/// not wash the rest out).
pub fn derivative_picture(
    width: usize,
    height: usize,
    values: &[f64],
    signed: bool,
) -> Result<Image> {
    let mut sorted: Vec<f64> = values
        .iter()
        .map(|v| v.abs())
        .filter(|v| v.is_finite())
        .collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let scale = sorted
        .get((sorted.len() * 99) / 100)
        .copied()
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0);
    let data = if signed {
        values
            .iter()
            .flat_map(|v| {
                let Rgb(rgb) = diverging(v / scale);
                rgb.map(|b| b as f32 / 255.0)
            })
            .collect()
    } else {
        values
            .iter()
            .flat_map(|v| {
                let g = (v / scale).clamp(0.0, 1.0) as f32;
                [g, g, g]
            })
            .collect()
    };
    Image::new(width, height, 3, data)
}

/// Paints `img` enlarged `zoom` times (nearest neighbour; grey as RGB) into the `width`-wide
/// RGB buffer `rgb` with its top-left corner at `(x0, y0)`.
fn paint(
    rgb: &mut [u8],
    width: usize,
    img: &siren_image::Image,
    zoom: usize,
    (x0, y0): (usize, usize),
) {
    for py in 0..img.height * zoom {
        for px in 0..img.width * zoom {
            let p = (py / zoom) * img.width + px / zoom;
            let v = |ch: usize| {
                let ch = if img.channels == 1 { 0 } else { ch };
                (img.data[p * img.channels + ch].clamp(0.0, 1.0) * 255.0).round() as u8
            };
            let o = ((y0 + py) * width + x0 + px) * 3;
            rgb[o..o + 3].copy_from_slice(&[v(0), v(1), v(2)]);
        }
    }
}

/// One image of an [`image_figure`], with its caption.
pub struct ImagePanel<'a> {
    /// The image (grey or RGB).
    pub image: &'a siren_image::Image,
    /// First caption line (the method's name).
    pub label: String,
    /// Second caption line (its score), or empty.
    pub detail: String,
}

/// Writes a PNG of image panels in rows of `columns`, each enlarged (nearest neighbour) to at
/// least 256 pixels wide, its name and score printed above it, a title and a note on top.
pub fn image_figure(
    path: &std::path::Path,
    title: &str,
    note: &str,
    panels: &[ImagePanel],
    columns: usize,
) -> Result<()> {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let Some(first) = panels.first() else {
        return Err(Error::InvalidInput("an image figure needs panels".into()));
    };
    let (iw, ih) = (first.image.width, first.image.height);
    if columns == 0
        || panels
            .iter()
            .any(|p| (p.image.width, p.image.height) != (iw, ih))
    {
        return Err(Error::InvalidInput(
            "an image figure's panels must share one size".into(),
        ));
    }
    register_font()?;
    let zoom = 256usize.div_ceil(iw).max(1);
    let (pw, ph) = (iw * zoom, ih * zoom);
    let (top, caption, gap, margin) = (60usize, 44usize, 12usize, 12usize);
    let rows = panels.len().div_ceil(columns);
    let cols = columns.min(panels.len());
    let w = 2 * margin + cols * pw + (cols - 1) * gap;
    let h = top + rows * (caption + ph) + (rows - 1) * gap + margin;
    let mut rgb = vec![255u8; w * h * 3];
    let origin = |k: usize| {
        let (r, c) = (k / columns, k % columns);
        (margin + c * (pw + gap), top + r * (caption + ph + gap))
    };
    for (k, panel) in panels.iter().enumerate() {
        let (x0, y0) = origin(k);
        paint(&mut rgb, w, panel.image, zoom, (x0, y0 + caption));
    }
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (w as u32, h as u32)).into_drawing_area();
        let text = |size: u32| (SANS, size).into_font().color(&BLACK);
        area.draw(&Text::new(title, (margin as i32, 8), text(20)))
            .map_err(draw_error)?;
        area.draw(&Text::new(
            note,
            (margin as i32, 34),
            (SANS, 13).into_font().color(&RGBColor(90, 90, 90)),
        ))
        .map_err(draw_error)?;
        for (k, panel) in panels.iter().enumerate() {
            let (x0, y0) = origin(k);
            let centre = (x0 + pw / 2) as i32;
            let style = text(16).pos(Pos::new(HPos::Center, VPos::Top));
            area.draw(&Text::new(
                panel.label.as_str(),
                (centre, y0 as i32 + 2),
                style,
            ))
            .map_err(draw_error)?;
            let style = (SANS, 14)
                .into_font()
                .color(&RGBColor(60, 60, 60))
                .pos(Pos::new(HPos::Center, VPos::Top));
            area.draw(&Text::new(
                panel.detail.as_str(),
                (centre, y0 as i32 + 22),
                style,
            ))
            .map_err(draw_error)?;
        }
        area.present().map_err(draw_error)?;
    }
    encode_png(path, w as u32, h as u32, rgb)
}

/// One block of a [`grid_figure`]: images in rows and columns, with a caption above.
pub struct GridBlock<'a> {
    /// Caption above the block.
    pub caption: String,
    /// `rows x columns` images, all of one size.
    pub images: Vec<Vec<&'a siren_image::Image>>,
}

/// Writes a PNG of blocks laid out `per_line` to a line, each a grid of images enlarged
/// `zoom` times, with `column_labels` above every block's columns, `row_labels` left of every
/// line of blocks, and a title and a note on top (the seed's Figure 5 layout: one block per
/// face, rows = context sizes, columns = models).
#[allow(clippy::too_many_arguments)]
pub fn grid_figure(
    path: &std::path::Path,
    title: &str,
    note: &str,
    row_labels: &[String],
    column_labels: &[String],
    blocks: &[GridBlock],
    per_line: usize,
    zoom: usize,
) -> Result<()> {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let first = blocks
        .first()
        .and_then(|b| b.images.first())
        .and_then(|r| r.first())
        .ok_or_else(|| Error::InvalidInput("a grid figure needs images".into()))?;
    let (iw, ih) = (first.width, first.height);
    let (rows, cols) = (row_labels.len(), column_labels.len());
    let fits = blocks.iter().all(|b| {
        b.images.len() == rows
            && b.images
                .iter()
                .all(|r| r.len() == cols && r.iter().all(|i| (i.width, i.height) == (iw, ih)))
    });
    if !fits || per_line == 0 || zoom == 0 {
        return Err(Error::InvalidInput(
            "a grid figure's blocks must all be rows x columns images of one size".into(),
        ));
    }
    register_font()?;
    let (pw, ph) = (iw * zoom, ih * zoom);
    let (top, caption, labels, left, gap, block_gap, margin) =
        (56usize, 22usize, 18usize, 70usize, 2usize, 20usize, 12usize);
    let lines = blocks.len().div_ceil(per_line);
    let across = per_line.min(blocks.len());
    let block_w = cols * pw + (cols - 1) * gap;
    let block_h = caption + labels + rows * ph + (rows - 1) * gap;
    let w = margin + left + across * block_w + (across - 1) * block_gap + margin;
    let h = top + lines * block_h + (lines - 1) * block_gap + margin;
    let mut rgb = vec![255u8; w * h * 3];
    let origin = |b: usize| {
        let (line, slot) = (b / per_line, b % per_line);
        (
            margin + left + slot * (block_w + block_gap),
            top + line * (block_h + block_gap),
        )
    };
    for (b, block) in blocks.iter().enumerate() {
        let (bx, by) = origin(b);
        for (r, row) in block.images.iter().enumerate() {
            for (c, img) in row.iter().enumerate() {
                let (x0, y0) = (bx + c * (pw + gap), by + caption + labels + r * (ph + gap));
                paint(&mut rgb, w, img, zoom, (x0, y0));
            }
        }
    }
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (w as u32, h as u32)).into_drawing_area();
        let font = |size: u32| (SANS, size).into_font().color(&BLACK);
        area.draw(&Text::new(title, (margin as i32, 8), font(20)))
            .map_err(draw_error)?;
        area.draw(&Text::new(
            note,
            (margin as i32, 32),
            (SANS, 13).into_font().color(&RGBColor(90, 90, 90)),
        ))
        .map_err(draw_error)?;
        for (b, block) in blocks.iter().enumerate() {
            let (bx, by) = origin(b);
            area.draw(&Text::new(
                block.caption.as_str(),
                (bx as i32, by as i32 + 2),
                font(15),
            ))
            .map_err(draw_error)?;
            for (c, label) in column_labels.iter().enumerate() {
                let centre = (bx + c * (pw + gap) + pw / 2) as i32;
                let style = (SANS, 12)
                    .into_font()
                    .color(&RGBColor(60, 60, 60))
                    .pos(Pos::new(HPos::Center, VPos::Top));
                area.draw(&Text::new(
                    label.as_str(),
                    (centre, (by + caption) as i32),
                    style,
                ))
                .map_err(draw_error)?;
            }
            if b % per_line == 0 {
                for (r, label) in row_labels.iter().enumerate() {
                    let y = (by + caption + labels + r * (ph + gap) + ph / 2) as i32;
                    let style = font(13).pos(Pos::new(HPos::Right, VPos::Center));
                    area.draw(&Text::new(label.as_str(), ((bx - 8) as i32, y), style))
                        .map_err(draw_error)?;
                }
            }
        }
        area.present().map_err(draw_error)?;
    }
    encode_png(path, w as u32, h as u32, rgb)
}
