//! Labelled grids of field panels with colour bars, and the outlines drawn over them.

use image::Rgb;
use siren_core::{Error, Result};

use super::{draw_error, encode_png, register_font, tick, SANS};

/// Blue (negative) - white - red (positive), `v` in [-1, 1].
pub fn diverging(v: f64) -> Rgb<u8> {
    let v = v.clamp(-1.0, 1.0);
    let fade = |t: f64| (255.0 * (1.0 - t)).round() as u8;
    if v >= 0.0 {
        Rgb([255, fade(v), fade(v)])
    } else {
        Rgb([fade(-v), fade(-v), 255])
    }
}

/// A labelled grid of field panels: rows (e.g. the reference and each model) by columns
/// (times, or real and imaginary parts), column `c` on the colour scale `[-scales[c],
/// scales[c]]` (shared by its rows), with a colour bar under each column.
pub struct FieldFigure {
    /// The figure's title.
    pub title: String,
    /// One title per row.
    pub rows: Vec<String>,
    /// One title per column.
    pub columns: Vec<String>,
    /// `panels[row][column]`: a row-major `n x n` field over $[-1, 1]^2$, first index $x$.
    pub panels: Vec<Vec<Vec<f64>>>,
    /// Nodes per side.
    pub n: usize,
    /// One colour scale per column.
    pub scales: Vec<f64>,
    /// Closed polylines in $(x, y)$ drawn over every panel (a PML's edge, a region of another
    /// speed).
    pub outlines: Vec<Outline>,
    /// A line under the title saying what the outlines are (the axes are always named).
    pub note: String,
}

/// A polyline drawn over a field figure's panels.
pub struct Outline {
    /// Its points in $(x, y)$.
    pub points: Vec<(f64, f64)>,
    /// Dashed (long strokes) or dotted.
    pub dashed: bool,
}

/// Writes `figure` as a PNG: title, column titles, row titles, the panels ($x$ to the right,
/// $y$ up, both over $[-1, 1]$), and under each column a colour bar with its scale.
pub fn field_figure(path: &std::path::Path, figure: &FieldFigure) -> Result<()> {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let rows = figure.panels.len();
    let cols = figure.columns.len();
    let n = figure.n;
    if rows == 0
        || cols == 0
        || n < 2
        || figure.rows.len() != rows
        || figure.scales.len() != cols
        || figure
            .panels
            .iter()
            .any(|r| r.len() != cols || r.iter().any(|p| p.len() != n * n))
    {
        return Err(Error::InvalidInput(
            "a field figure needs rows x columns panels of n x n values, a title per row and a scale per column".into(),
        ));
    }
    register_font()?;
    // panels at least 200 pixels wide, nearest-neighbour
    let zoom = 200usize.div_ceil(n).max(1);
    let p = n * zoom;
    let (left, top, gap, bar) = (110usize, 88usize, 10usize, 64usize);
    let w = left + cols * p + (cols - 1) * gap + 24;
    let h = top + rows * p + (rows - 1) * gap + bar + 16;
    let mut rgb = vec![255u8; w * h * 3];
    let origin = |r: usize, c: usize| (left + c * (p + gap), top + r * (p + gap));
    for (r, row) in figure.panels.iter().enumerate() {
        for (c, field) in row.iter().enumerate() {
            let s = if figure.scales[c] > 0.0 {
                figure.scales[c]
            } else {
                1.0
            };
            let (x0, y0) = origin(r, c);
            for py in 0..p {
                for px in 0..p {
                    // x to the right, y up
                    let (i, j) = (px / zoom, n - 1 - py / zoom);
                    let Rgb([cr, cg, cb]) = diverging(field[i * n + j] / s);
                    let o = ((y0 + py) * w + x0 + px) * 3;
                    rgb[o..o + 3].copy_from_slice(&[cr, cg, cb]);
                }
            }
        }
    }
    // colour bars
    let bar_top = top + rows * p + (rows - 1) * gap + 10;
    for c in 0..cols {
        let (x0, _) = origin(0, c);
        for px in 0..p {
            let v = 2.0 * px as f64 / (p - 1) as f64 - 1.0;
            let Rgb([cr, cg, cb]) = diverging(v);
            for py in bar_top..bar_top + 14 {
                let o = (py * w + x0 + px) * 3;
                rgb[o..o + 3].copy_from_slice(&[cr, cg, cb]);
            }
        }
    }
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (w as u32, h as u32)).into_drawing_area();
        let text = |size: u32| (SANS, size).into_font().color(&BLACK);
        area.draw(&Text::new(figure.title.as_str(), (12, 10), text(22)))
            .map_err(draw_error)?;
        for (c, title) in figure.columns.iter().enumerate() {
            let (x0, _) = origin(0, c);
            let style = text(17).pos(Pos::new(HPos::Center, VPos::Bottom));
            area.draw(&Text::new(
                title.as_str(),
                ((x0 + p / 2) as i32, top as i32 - 8),
                style,
            ))
            .map_err(draw_error)?;
        }
        for (r, title) in figure.rows.iter().enumerate() {
            let (_, y0) = origin(r, 0);
            let style = text(17).pos(Pos::new(HPos::Right, VPos::Center));
            area.draw(&Text::new(
                title.as_str(),
                (left as i32 - 10, (y0 + p / 2) as i32),
                style,
            ))
            .map_err(draw_error)?;
        }
        let note = if figure.note.is_empty() {
            "x to the right, y up, both over [-1, 1]".to_string()
        } else {
            format!("x to the right, y up, both over [-1, 1]; {}", figure.note)
        };
        area.draw(&Text::new(
            note.as_str(),
            (12, 38),
            (SANS, 13).into_font().color(&RGBColor(90, 90, 90)),
        ))
        .map_err(draw_error)?;
        for c in 0..cols {
            let (x0, _) = origin(0, c);
            let s = figure.scales[c];
            for (k, v) in [-s, 0.0, s].into_iter().enumerate() {
                let x = (x0 + k * (p - 1) / 2) as i32;
                area.draw(&PathElement::new(
                    vec![(x, bar_top as i32 + 14), (x, bar_top as i32 + 19)],
                    BLACK,
                ))
                .map_err(draw_error)?;
                let h = [HPos::Left, HPos::Center, HPos::Right][k];
                area.draw(&Text::new(
                    tick(v),
                    (x, bar_top as i32 + 21),
                    text(13).pos(Pos::new(h, VPos::Top)),
                ))
                .map_err(draw_error)?;
            }
        }
        // outlines, dashed, in every panel
        let grey = RGBColor(60, 60, 60);
        for r in 0..rows {
            for c in 0..cols {
                let (x0, y0) = origin(r, c);
                let to_px = |(x, y): (f64, f64)| {
                    (
                        x0 as f64 + (x + 1.0) / 2.0 * (p - 1) as f64,
                        y0 as f64 + (1.0 - y) / 2.0 * (p - 1) as f64,
                    )
                };
                for outline in &figure.outlines {
                    // dashes of 6 pixels, 4 apart; dots of 2 pixels, 3 apart
                    let (on, period) = if outline.dashed {
                        (6.0, 10.0)
                    } else {
                        (2.0, 5.0)
                    };
                    for pair in outline.points.windows(2) {
                        let (a, b) = (to_px(pair[0]), to_px(pair[1]));
                        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
                        let dashes = (len / period).ceil().max(1.0) as usize;
                        for d in 0..dashes {
                            let t0 = d as f64 * period / len.max(1e-9);
                            let t1 = ((d as f64 * period + on) / len.max(1e-9)).min(1.0);
                            if t0 >= 1.0 {
                                break;
                            }
                            let at = |t: f64| {
                                (
                                    (a.0 + t * (b.0 - a.0)).round() as i32,
                                    (a.1 + t * (b.1 - a.1)).round() as i32,
                                )
                            };
                            area.draw(&PathElement::new(vec![at(t0), at(t1)], grey))
                                .map_err(draw_error)?;
                        }
                    }
                }
            }
        }
        area.present().map_err(draw_error)?;
    }
    encode_png(path, w as u32, h as u32, rgb)
}

/// A closed polyline around the square of half-side `half` centred at `centre`.
pub fn square_outline(centre: (f64, f64), half: f64) -> Vec<(f64, f64)> {
    let (x, y) = centre;
    vec![
        (x - half, y - half),
        (x + half, y - half),
        (x + half, y + half),
        (x - half, y + half),
        (x - half, y - half),
    ]
}

/// A closed polyline (64 segments) around the circle of `radius` centred at `centre`.
pub fn circle_outline(centre: (f64, f64), radius: f64) -> Vec<(f64, f64)> {
    (0..=64)
        .map(|k| {
            let a = k as f64 / 64.0 * std::f64::consts::TAU;
            (centre.0 + radius * a.cos(), centre.1 + radius * a.sin())
        })
        .collect()
}
