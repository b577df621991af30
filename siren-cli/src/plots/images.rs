//! Image panels with captions, a title and a note.

use siren_core::{Error, Result};

use super::{draw_error, encode_png, register_font, SANS};

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
        let img = panel.image;
        for py in 0..ph {
            for px in 0..pw {
                let p = (py / zoom) * iw + px / zoom;
                let v = |ch: usize| {
                    let ch = if img.channels == 1 { 0 } else { ch };
                    (img.data[p * img.channels + ch].clamp(0.0, 1.0) * 255.0).round() as u8
                };
                let o = ((y0 + caption + py) * w + x0 + px) * 3;
                rgb[o..o + 3].copy_from_slice(&[v(0), v(1), v(2)]);
            }
        }
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
