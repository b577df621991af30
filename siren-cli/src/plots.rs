//! Figures: labelled grids of field panels with colour bars, histograms, line charts.

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

/// The embedded font (DejaVu Sans, Bitstream Vera licence: `assets/DejaVuSans-LICENSE.txt`),
/// so figures need no system font.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const SANS: &str = "siren-sans";

fn register_font() -> Result<()> {
    static DONE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font(SANS, plotters::style::FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(
            "the embedded font could not be read".into(),
        ))
    }
}

/// A tick label: three significant digits, no trailing zeros.
fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn encode_png(path: &std::path::Path, w: u32, h: u32, rgb: Vec<u8>) -> Result<()> {
    let img = RgbImage::from_raw(w, h, rgb)
        .ok_or_else(|| Error::InvalidInput("figure buffer of the wrong size".into()))?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| Error::InvalidInput(format!("cannot encode PNG: {e}")))?;
    write_atomic(path, bytes.get_ref())
}

fn draw_error<E: std::fmt::Debug>(e: E) -> Error {
    Error::InvalidInput(format!("cannot draw the figure: {e:?}"))
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

/// Colours of successive series in a line chart.
const SERIES: [Rgb<u8>; 6] = [
    Rgb([31, 119, 180]),
    Rgb([214, 39, 40]),
    Rgb([44, 160, 44]),
    Rgb([255, 127, 14]),
    Rgb([148, 103, 189]),
    Rgb([0, 0, 0]),
];

/// Writes a PNG of panels side by side (400 x 240 each), each with its series as polylines
/// (colours in order: blue, red, green, orange, purple, black), a frame, and light grid lines
/// at the decades of a log axis. `log_y[p]` plots panel `p` on a log scale.
pub fn line_chart(
    path: &std::path::Path,
    panels: &[Vec<Vec<(f64, f64)>>],
    log_y: &[bool],
) -> Result<()> {
    let (pw, ph, gap) = (400usize, 240usize, 10usize);
    if panels.is_empty() || log_y.len() != panels.len() {
        return Err(Error::InvalidInput("a chart needs panels".into()));
    }
    let w = panels.len() * pw + (panels.len() - 1) * gap;
    let mut img = RgbImage::from_pixel(w as u32, ph as u32, Rgb([255, 255, 255]));
    for (p, series) in panels.iter().enumerate() {
        let x0 = p * (pw + gap);
        let tf = |y: f64| if log_y[p] { y.max(1e-300).log10() } else { y };
        let points: Vec<(f64, f64)> = series
            .iter()
            .flatten()
            .filter(|(_, y)| y.is_finite() && (!log_y[p] || *y > 0.0))
            .map(|&(x, y)| (x, tf(y)))
            .collect();
        if points.is_empty() {
            continue;
        }
        let (mut xlo, mut xhi, mut ylo, mut yhi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in &points {
            (xlo, xhi, ylo, yhi) = (xlo.min(x), xhi.max(x), ylo.min(y), yhi.max(y));
        }
        if xhi <= xlo {
            xhi = xlo + 1.0;
        }
        if yhi <= ylo {
            yhi = ylo + 1.0;
        }
        let m = 8.0;
        let px = |x: f64| x0 as f64 + m + (x - xlo) / (xhi - xlo) * (pw as f64 - 2.0 * m);
        let py = |y: f64| ph as f64 - m - (y - ylo) / (yhi - ylo) * (ph as f64 - 2.0 * m);
        if log_y[p] {
            for decade in ylo.ceil() as i64..=yhi.floor() as i64 {
                let y = py(decade as f64) as u32;
                for x in x0..x0 + pw {
                    img.put_pixel(x as u32, y, Rgb([225, 225, 225]));
                }
            }
        }
        for x in x0..x0 + pw {
            img.put_pixel(x as u32, 0, Rgb([0, 0, 0]));
            img.put_pixel(x as u32, ph as u32 - 1, Rgb([0, 0, 0]));
        }
        for y in 0..ph {
            img.put_pixel(x0 as u32, y as u32, Rgb([0, 0, 0]));
            img.put_pixel((x0 + pw - 1) as u32, y as u32, Rgb([0, 0, 0]));
        }
        for (k, s) in series.iter().enumerate() {
            let colour = SERIES[k % SERIES.len()];
            let pts: Vec<(f64, f64)> = s
                .iter()
                .filter(|(_, y)| y.is_finite() && (!log_y[p] || *y > 0.0))
                .map(|&(x, y)| (px(x), py(tf(y))))
                .collect();
            for pair in pts.windows(2) {
                let ((ax, ay), (bx, by)) = (pair[0], pair[1]);
                let n = ((bx - ax).abs().max((by - ay).abs()).ceil() as usize).max(1);
                for t in 0..=n {
                    let f = t as f64 / n as f64;
                    let (x, y) = (ax + f * (bx - ax), ay + f * (by - ay));
                    img.put_pixel(x as u32, (y as u32).min(ph as u32 - 1), colour);
                }
            }
            if pts.len() == 1 {
                let (x, y) = pts[0];
                img.put_pixel(x as u32, y as u32, colour);
            }
        }
    }
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| Error::InvalidInput(format!("cannot encode PNG: {e}")))?;
    write_atomic(path, bytes.get_ref())
}

/// `curves.png` from a run folder's `metrics.jsonl`: the loss (log scale) and, where logged,
/// `metric` (e.g. "psnr"), one series per value of the `run` field.
pub fn curves_from_log(dir: &std::path::Path, metric: &str) -> Result<()> {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap_or_default();
    // (run name, loss points, metric points)
    type Series = Vec<(f64, f64)>;
    let mut runs: Vec<(String, Series, Series)> = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let run = v["run"].as_str().unwrap_or("").to_string();
        let Some(step) = v["step"].as_f64() else {
            continue;
        };
        let i = match runs.iter().position(|r| r.0 == run) {
            Some(i) => i,
            None => {
                runs.push((run, Vec::new(), Vec::new()));
                runs.len() - 1
            }
        };
        // A resumed run starts again from its checkpoint: keep the latest values.
        let r = &mut runs[i];
        r.1.retain(|p| p.0 < step);
        r.2.retain(|p| p.0 < step);
        if let Some(l) = v["loss"].as_f64() {
            r.1.push((step, l));
        }
        if let Some(m) = v[metric].as_f64() {
            r.2.push((step, m));
        }
    }
    let losses: Vec<Vec<(f64, f64)>> = runs.iter().map(|r| r.1.clone()).collect();
    let metrics: Vec<Vec<(f64, f64)>> = runs.iter().map(|r| r.2.clone()).collect();
    if metrics.iter().all(|m| m.is_empty()) {
        line_chart(&dir.join("curves.png"), &[losses], &[true])
    } else {
        line_chart(&dir.join("curves.png"), &[losses, metrics], &[true, false])
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

/// One named series of a [`labelled_chart`].
pub struct Series {
    /// The legend's name.
    pub name: String,
    /// `(x, y)` points in order.
    pub points: Vec<(f64, f64)>,
}

/// Writes a line chart with a title, named axes with ticks, and a legend (colours in order:
/// blue, red, green, orange, purple, black).
pub fn labelled_chart(
    path: &std::path::Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    use plotters::prelude::*;
    let finite = || {
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    if finite().next().is_none() {
        return Err(Error::InvalidInput("a chart needs finite points".into()));
    }
    register_font()?;
    let (mut xlo, mut xhi, mut ylo, mut yhi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in finite() {
        (xlo, xhi, ylo, yhi) = (xlo.min(x), xhi.max(x), ylo.min(y), yhi.max(y));
    }
    let pad = ((yhi - ylo) * 0.05).max(1e-9);
    let (w, h) = (720u32, 420u32);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let mut chart = ChartBuilder::on(&area)
            .caption(title, (SANS, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(xlo..xhi.max(xlo + 1.0), (ylo - pad)..(yhi + pad))
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style((SANS, 13))
            .axis_desc_style((SANS, 14))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(draw_error)?;
        for (k, s) in series.iter().enumerate() {
            let Rgb([r, g, b]) = SERIES[k % SERIES.len()];
            let colour = RGBColor(r, g, b);
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
                .map_err(draw_error)?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .label_font((SANS, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(draw_error)?;
        area.present().map_err(draw_error)?;
    }
    encode_png(path, w, h, rgb)
}
