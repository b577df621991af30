//! Histograms, labelled line charts and multi-panel charts (run curves, tuning scatters).

use image::{Rgb, RgbImage};
use siren_core::io::write_atomic;
use siren_core::{Error, Result};

use super::{draw_error, encode_png, register_font, SANS, SERIES};

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

/// `curves.png` from a run folder's `metrics.jsonl`: the loss (log scale) and, where logged,
/// `metric` (e.g. "psnr"), one series per value of the `run` field.
pub fn curves_from_log(dir: &std::path::Path, metric: &str) -> Result<()> {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap_or_default();
    // (run name, loss points, metric points)
    type Points = Vec<(f64, f64)>;
    let mut runs: Vec<(String, Points, Points)> = Vec::new();
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
    let named = |pick: &dyn Fn(&(String, Points, Points)) -> Points| -> Vec<Series> {
        runs.iter()
            .map(|r| Series {
                name: if r.0.is_empty() {
                    "run".into()
                } else {
                    r.0.clone()
                },
                points: pick(r),
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    };
    let mut panels = vec![ChartPanel {
        x_label: "step".into(),
        y_label: "log10 training loss".into(),
        series: named(&|r| {
            r.1.iter()
                .filter(|p| p.1 > 0.0)
                .map(|&(x, y)| (x, y.log10()))
                .collect()
        }),
        dots: false,
    }];
    let metrics = named(&|r| r.2.clone());
    if !metrics.is_empty() {
        panels.push(ChartPanel {
            x_label: "step".into(),
            y_label: metric.to_string(),
            series: metrics,
            dots: false,
        });
    }
    if panels[0].series.is_empty() {
        return Ok(()); // nothing logged yet
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    chart_panels(
        &dir.join("curves.png"),
        &format!("{name}: training curves"),
        &panels,
    )
}

/// One named series of a [`labelled_chart`].
pub struct Series {
    /// The legend's name.
    pub name: String,
    /// `(x, y)` points in order.
    pub points: Vec<(f64, f64)>,
}

/// Writes a line chart with a title, named axes with ticks, and a legend (colours in order:
/// blue, red, green, orange, purple, black, brown, grey).
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
        draw_axes_and_series(&mut chart, x_label, y_label, series, false)?;
        area.present().map_err(draw_error)?;
    }
    encode_png(path, w, h, rgb)
}

type Chart2d<'a, 'b> = plotters::chart::ChartContext<
    'a,
    plotters::backend::BitMapBackend<'b>,
    plotters::coord::cartesian::Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// The axes (named, ticked, light grid), each series (a line, or dots) in [`SERIES`]'s colours,
/// and the legend (lower right): what every labelled chart draws inside its frame.
fn draw_axes_and_series<'a>(
    chart: &mut Chart2d<'a, 'a>,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    dots: bool,
) -> Result<()> {
    use plotters::prelude::*;
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
        if dots {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 4, colour.filled())))
                .map_err(draw_error)?
                .label(s.name.as_str())
                .legend(move |(x, y)| Circle::new((x + 9, y), 4, colour.filled()));
        } else {
            chart
                .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
                .map_err(draw_error)?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
    }
    chart
        .configure_series_labels()
        .label_font((SANS, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(draw_error)?;
    Ok(())
}

/// One panel of a [`chart_panels`] figure: named axes and named series.
pub struct ChartPanel {
    /// The x axis's name.
    pub x_label: String,
    /// The y axis's name.
    pub y_label: String,
    /// Named `(x, y)` series (colours in [`labelled_chart`]'s order).
    pub series: Vec<Series>,
    /// Dots (a scatter) rather than lines.
    pub dots: bool,
}

/// Writes side-by-side panels under one title, each with named axes, ticks and a legend:
/// the training curves of a run (`curves.png`), a tuning metric against each parameter.
pub fn chart_panels(path: &std::path::Path, title: &str, panels: &[ChartPanel]) -> Result<()> {
    use plotters::prelude::*;
    let finite = |p: &ChartPanel| -> Vec<(f64, f64)> {
        p.series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect()
    };
    if panels.is_empty() || panels.iter().any(|p| finite(p).is_empty()) {
        return Err(Error::InvalidInput(
            "a chart needs finite points in every panel".into(),
        ));
    }
    register_font()?;
    let (pw, h) = (420u32, 400u32);
    let w = pw * panels.len() as u32;
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let root = root.titled(title, (SANS, 18)).map_err(draw_error)?;
        let areas = root.split_evenly((1, panels.len()));
        for (area, panel) in areas.iter().zip(panels) {
            let pts = finite(panel);
            let (mut xlo, mut xhi, mut ylo, mut yhi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
            for &(x, y) in &pts {
                (xlo, xhi, ylo, yhi) = (xlo.min(x), xhi.max(x), ylo.min(y), yhi.max(y));
            }
            let xpad = ((xhi - xlo) * 0.05).max(1e-9);
            let ypad = ((yhi - ylo) * 0.08).max(1e-9);
            // Room below the points for the legend (lower right), so it hides none of them.
            let legend_room =
                (yhi - ylo).max(1e-9) * (0.1 + 0.1 * panel.series.len().min(6) as f64);
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d(
                    (xlo - xpad)..(xhi + xpad),
                    (ylo - ypad - legend_room)..(yhi + ypad),
                )
                .map_err(draw_error)?;
            draw_axes_and_series(
                &mut chart,
                &panel.x_label,
                &panel.y_label,
                &panel.series,
                panel.dots,
            )?;
        }
        root.present().map_err(draw_error)?;
    }
    encode_png(path, w, h, rgb)
}
