//! Figures: labelled grids of field panels with colour bars (`fields`), histograms and line
//! charts (`charts`), labelled image panels (`images`); the font, ticks and PNG output they
//! share are here.

mod charts;
mod fields;
mod images;

pub use charts::{
    chart_panels, curves_from_log, histogram_grid, labelled_chart, ChartPanel, Histogram, Series,
};
pub use fields::{circle_outline, diverging, field_figure, square_outline, FieldFigure, Outline};
pub use images::{
    derivative_picture, grid_figure, image_figure, supervision_picture, GridBlock, ImagePanel,
};

use image::{Rgb, RgbImage};
use siren_core::io::write_atomic;
use siren_core::{Error, Result};

/// The embedded font (DejaVu Sans, Bitstream Vera licence: `assets/DejaVuSans-LICENSE.txt`),
/// so figures need no system font.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
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

/// Colours of successive series in a line chart.
const SERIES: [Rgb<u8>; 8] = [
    Rgb([31, 119, 180]),
    Rgb([214, 39, 40]),
    Rgb([44, 160, 44]),
    Rgb([255, 127, 14]),
    Rgb([148, 103, 189]),
    Rgb([0, 0, 0]),
    Rgb([140, 86, 75]),
    Rgb([127, 127, 127]),
];
