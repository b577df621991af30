//! Histograms, labelled line charts and multi-panel charts (run curves, tuning scatters).

use image::Rgb;
use siren_core::{Error, Result};

use super::{draw_error, encode_png, register_font, tick, SANS, SERIES};

/// One histogram panel: samples, the x range shown, a reference density drawn over it, and the
/// panel's title (what it shows and its statistic, e.g. its KS distance).
pub struct Histogram<'a> {
    /// The samples.
    pub samples: &'a [f64],
    /// `(lo, hi)` shown; samples outside are not drawn.
    pub range: (f64, f64),
    /// The density the samples should follow.
    pub density: &'a dyn Fn(f64) -> f64,
    /// The panel's title.
    pub title: String,
}

/// Writes a figure of `rows x cols` histogram panels under `title`: each column headed by its
/// `columns` title, each panel titled, with ticked axes (the value below; the density at the
/// left of the first column); grey bars are the samples' density, the red line the reference.
pub fn histogram_grid(
    path: &std::path::Path,
    title: &str,
    columns: &[String],
    panels: &[Vec<Histogram>],
) -> Result<()> {
    use plotters::prelude::*;
    let rows = panels.len();
    let cols = panels.first().map_or(0, |r| r.len());
    if rows == 0 || cols == 0 || panels.iter().any(|r| r.len() != cols) || columns.len() != cols {
        return Err(Error::InvalidInput(
            "a histogram figure needs a full grid of panels, one title per column".into(),
        ));
    }
    register_font()?;
    let (pw, ph, head) = (280u32, 170u32, 34u32);
    let (w, h) = (pw * cols as u32, head + ph * rows as u32 + 36);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let root = root.titled(title, (SANS, 18)).map_err(draw_error)?;
        let (header, grid) = root.split_vertically(head);
        for (c, name) in columns.iter().enumerate() {
            header
                .draw(&Text::new(
                    name.as_str(),
                    (c as i32 * pw as i32 + 12, 8),
                    (SANS, 14).into_font().color(&BLACK),
                ))
                .map_err(draw_error)?;
        }
        let areas = grid.split_evenly((rows, cols));
        for (k, area) in areas.iter().enumerate() {
            let (r, c) = (k / cols, k % cols);
            let panel = &panels[r][c];
            let (lo, hi) = panel.range;
            let bins = 64usize;
            let bin_width = (hi - lo) / bins as f64;
            let mut counts = vec![0usize; bins];
            for &v in panel.samples {
                if v >= lo && v < hi {
                    counts[(((v - lo) / bin_width) as usize).min(bins - 1)] += 1;
                }
            }
            let n = panel.samples.len().max(1) as f64;
            let bars: Vec<f64> = counts.iter().map(|&k| k as f64 / (n * bin_width)).collect();
            let curve: Vec<(f64, f64)> = (0..=200)
                .map(|i| lo + (hi - lo) * i as f64 / 200.0)
                .map(|x| (x, (panel.density)(x)))
                .filter(|p| p.1.is_finite())
                .collect();
            // One vertical scale for bars and curve, the arcsine's poles capped.
            let curve_top = curve.iter().map(|p| p.1).fold(0.0f64, f64::max);
            let bar_top = bars.iter().copied().fold(0.0f64, f64::max);
            let top = bar_top
                .max(curve_top)
                .min(3.0 * curve_top.max(1e-9))
                .max(1e-9)
                * 1.08;
            let mut chart = ChartBuilder::on(area)
                .caption(panel.title.as_str(), (SANS, 12))
                .margin(6)
                .x_label_area_size(if r + 1 == rows { 34 } else { 18 })
                .y_label_area_size(if c == 0 { 52 } else { 36 })
                .build_cartesian_2d(lo..hi, 0.0..top)
                .map_err(draw_error)?;
            let x_format = |v: &f64| axis_tick(*v, hi - lo);
            let y_format = |v: &f64| axis_tick(*v, top);
            let mut mesh = chart.configure_mesh();
            mesh.disable_mesh()
                .x_labels(5)
                .y_labels(3)
                .label_style((SANS, 11))
                .axis_desc_style((SANS, 12))
                .x_label_formatter(&x_format)
                .y_label_formatter(&y_format);
            if r + 1 == rows {
                mesh.x_desc("value");
            }
            if c == 0 {
                mesh.y_desc("density");
            }
            mesh.draw().map_err(draw_error)?;
            chart
                .draw_series(bars.iter().enumerate().map(|(b, &d)| {
                    let x0 = lo + b as f64 * bin_width;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + bin_width, d.min(top))],
                        RGBColor(165, 165, 165).filled(),
                    )
                }))
                .map_err(draw_error)?;
            chart
                .draw_series(LineSeries::new(
                    curve.into_iter().map(|(x, y)| (x, y.min(top))),
                    RGBColor(214, 39, 40).stroke_width(2),
                ))
                .map_err(draw_error)?;
        }
        root.present().map_err(draw_error)?;
    }
    encode_png(path, w, h, rgb)
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
#[derive(Clone)]
pub struct Series {
    /// The legend's name.
    pub name: String,
    /// `(x, y)` points in order.
    pub points: Vec<(f64, f64)>,
}

/// Writes a line chart with a title, named axes with ticks, and a legend (colours in order:
/// blue, red, green, orange, purple, black, brown, grey): one wide [`chart_panels`] panel.
pub fn labelled_chart(
    path: &std::path::Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    let panel = ChartPanel {
        x_label: x_label.to_string(),
        y_label: y_label.to_string(),
        series: series.to_vec(),
        dots: false,
    };
    draw_panels(path, title, &[panel], (720, 420))
}

type Chart2d<'a, 'b> = plotters::chart::ChartContext<
    'a,
    plotters::backend::BitMapBackend<'b>,
    plotters::coord::cartesian::Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// `lo..hi` widened by `fraction` of its span on each side; a single value (one point, a
/// constant) gets a span of its own, so the axis still has distinct ticks.
fn padded(lo: f64, hi: f64, fraction: f64) -> (f64, f64) {
    let span = hi - lo;
    if span > 1e-12 * hi.abs().max(lo.abs()).max(1e-300) {
        (lo - span * fraction, hi + span * fraction)
    } else {
        let half = (lo.abs() * 0.05).max(1.0);
        (lo - half, hi + half)
    }
}

/// A tick label with as many decimals as an axis spanning `span` needs for neighbouring ticks
/// (about a tenth of it apart) to differ, and no trailing zeros.
fn axis_tick(v: f64, span: f64) -> String {
    if !(span.is_finite() && span > 0.0) || v.abs() >= 1e6 || (v != 0.0 && span < 1e-4) {
        return tick(v);
    }
    let decimals = (1.0 - span.log10().floor()).clamp(0.0, 8.0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// The axes (named, ticked, light grid), each series (a line, or dots; a lone point is a dot)
/// in [`SERIES`]'s colours, and the legend (lower right): what every labelled chart draws
/// inside its frame. `spans` are the axes' extents, for the tick labels' precision.
fn draw_axes_and_series<'a>(
    chart: &mut Chart2d<'a, 'a>,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    dots: bool,
    spans: (f64, f64),
) -> Result<()> {
    use plotters::prelude::*;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((SANS, 13))
        .x_label_formatter(&|v| axis_tick(*v, spans.0))
        .y_label_formatter(&|v| axis_tick(*v, spans.1))
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
        if dots || pts.len() == 1 {
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
    draw_panels(path, title, panels, (420, 400))
}

/// [`chart_panels`] with each panel `size` (width, height) pixels.
fn draw_panels(
    path: &std::path::Path,
    title: &str,
    panels: &[ChartPanel],
    size: (u32, u32),
) -> Result<()> {
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
    let (pw, h) = size;
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
            let (xlo, xhi) = padded(xlo, xhi, 0.05);
            let (ylo, yhi) = padded(ylo, yhi, 0.08);
            // Room below the points for the legend (lower right), so it hides none of them.
            let ylo = ylo - (yhi - ylo) * (0.1 + 0.1 * panel.series.len().min(6) as f64);
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(64)
                .build_cartesian_2d(xlo..xhi, ylo..yhi)
                .map_err(draw_error)?;
            draw_axes_and_series(
                &mut chart,
                &panel.x_label,
                &panel.y_label,
                &panel.series,
                panel.dots,
                (xhi - xlo, yhi - ylo),
            )?;
        }
        root.present().map_err(draw_error)?;
    }
    encode_png(path, w, h, rgb)
}
