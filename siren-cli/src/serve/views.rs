//! What the pages show, as PNGs: the images to train on (and their gradient and Laplacian),
//! masks, the networks of runs and saved models rendered over any rectangle of the plane.

use std::path::{Path, PathBuf};

use dfdx::prelude::Cpu;
use siren_core::{Error, Network, Result};
use siren_image::poisson::offset_corrected;
use siren_image::{render_derivative, render_region, Derivative, Image};

use crate::plots::{derivative_picture, supervision_picture};

/// Largest side of a rendered view, in pixels.
pub const MAX_VIEW_SIDE: usize = 2048;

/// An image the pages can train on.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Source {
    /// `camera`, `data/FILE` or `upload/FILE`.
    pub id: String,
    /// Its file.
    #[serde(skip)]
    pub path: PathBuf,
}

/// The images on offer: the embedded cameraman (written once into `root/images`), the shared
/// data's `images/` folder, and uploads.
pub fn sources(root: &Path, data: Option<&Path>) -> Vec<Source> {
    let mut out = vec![Source {
        id: "camera".into(),
        path: root.join("images").join("camera.png"),
    }];
    let mut listed = |dir: &Path, prefix: &str| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        for path in files {
            let is_image = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"));
            if let (true, Some(name)) = (is_image, path.file_name().and_then(|n| n.to_str())) {
                out.push(Source {
                    id: format!("{prefix}/{name}"),
                    path: path.clone(),
                });
            }
        }
    };
    if let Some(d) = data {
        listed(&d.join("images"), "data");
    }
    listed(&root.join("uploads"), "upload");
    out
}

/// The file of the image `id`, if it is on offer (ids are looked up, never used as paths).
pub fn source_path(root: &Path, data: Option<&Path>, id: &str) -> Result<PathBuf> {
    sources(root, data)
        .into_iter()
        .find(|s| s.id == id)
        .map(|s| s.path)
        .ok_or_else(|| Error::InvalidInput(format!("no image {id:?}: pick one from the list")))
}

/// Writes the embedded cameraman to `root/images/camera.png` if it is not there.
pub fn write_camera(root: &Path) -> Result<()> {
    let path = root.join("images").join("camera.png");
    if path.exists() {
        return Ok(());
    }
    crate::out_dir(&root.join("images"))?;
    Image::camera().save_png(path)
}

/// The image at `path` as training sees it at `size` (centre square, resized; 0: as it is,
/// as a command-line run without `--size`).
pub fn training_image(path: &Path, size: usize) -> Result<Image> {
    if size == 0 {
        return Image::open(path);
    }
    siren_image::raster::check_pixels(size, size)?;
    Image::open(path)?.centre_square().resized(size, size)
}

/// What of an image to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// The image itself.
    Value,
    /// The norm of its gradient.
    Gradient,
    /// Its Laplacian.
    Laplacian,
}

/// The image at `size`, or its Sobel gradient norm, or its discrete Laplacian (what a
/// Poisson run is supervised by), as a PNG.
pub fn image_view(path: &Path, size: usize, layer: Layer) -> Result<Vec<u8>> {
    let img = training_image(path, size)?;
    match layer {
        Layer::Value => img.to_png(),
        Layer::Gradient => supervision_picture(&img, false)?.to_png(),
        Layer::Laplacian => supervision_picture(&img, true)?.to_png(),
    }
}

/// A network for the pages: from a model file, or a checkpoint that says which network it
/// holds.
pub fn load_network(path: &Path) -> Result<Network<f32, Cpu>> {
    let dev = siren_core::device::cpu();
    let is_checkpoint = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("checkpoint"));
    if is_checkpoint {
        siren_core::checkpoint::load_network(path, &dev)
    } else {
        Network::load(path, &dev)
    }
}

/// A rectangle of the plane and the pixels to render it at.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
pub struct Viewport {
    /// Columns from `x0` to `x1`.
    pub x0: f64,
    /// Columns end.
    pub x1: f64,
    /// Rows from `y0` to `y1`.
    pub y0: f64,
    /// Rows end.
    pub y1: f64,
    /// Width in pixels.
    pub w: usize,
    /// Height in pixels.
    pub h: usize,
}

/// `layer` of the network in `model` over `view`, as a PNG: every pixel evaluated by the
/// network (its derivatives exactly, by the forward jet), at any zoom and extent.
pub fn render_view(model: &Path, view: Viewport, layer: Layer) -> Result<Vec<u8>> {
    if view.w > MAX_VIEW_SIDE || view.h > MAX_VIEW_SIDE {
        return Err(Error::InvalidInput(format!(
            "a view is at most {MAX_VIEW_SIDE} pixels a side, asked {}x{}",
            view.w, view.h
        )));
    }
    let net = load_network(model)?;
    let (x, y) = ((view.x0, view.x1), (view.y0, view.y1));
    let derivative = match layer {
        Layer::Value => return render_region(&net, view.w, view.h, x, y)?.to_png(),
        Layer::Gradient => Derivative::GradientNorm,
        Layer::Laplacian => Derivative::Laplacian,
    };
    let values = render_derivative(&net, view.w, view.h, (x, y), derivative)?;
    derivative_picture(view.w, view.h, &values, layer == Layer::Laplacian)?.to_png()
}

/// A member's network as it stands (its model, or its newest checkpoint) on the training
/// grid of `truth`, as a PNG; a Poisson run's with the constant offset its data cannot fix
/// removed.
pub fn preview(member_dir: &Path, truth: &Image, poisson: bool) -> Result<Vec<u8>> {
    let newest = super::runs::newest_network(member_dir, "model").ok_or_else(|| {
        Error::InvalidInput("no network yet: wait for its first checkpoint".into())
    })?;
    let net = load_network(&newest.0)?;
    let img = siren_image::predict(&net, truth.width, truth.height)?;
    if poisson {
        offset_corrected(&img, truth)?.to_png()
    } else {
        img.to_png()
    }
}

/// The image at `size` with the pixels `mask` hides in black: what an inpainting run sees.
pub fn masked_view(path: &Path, size: usize, mask: &str) -> Result<Vec<u8>> {
    let img = training_image(path, size)?;
    let mask = crate::image_cmds::parse_mask(mask, size, size, 0)?;
    mask.apply(&img, 0.0).to_png()
}
