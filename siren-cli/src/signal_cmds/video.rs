//! `siren video`: a clip fitted by a SIREN on random pixel batches; PSNR per frame, frames at
//! any resolution and between frames.

use std::path::PathBuf;

use clap::Args;
use siren_core::{Backend, Error, Result};
use siren_image::Image;
use siren_signal::video::{fit_video, psnr_per_frame, render_frame, Video};

use super::{Defaults, SignalFlags, SignalLog};
use crate::out_dir;
use crate::plots::{image_figure, labelled_chart, ImagePanel, Series};

#[derive(Args, Debug)]
pub struct VideoArgs {
    /// MP4 file with H.264 video, or a folder of PNG/JPEG frames (in name order).
    video: PathBuf,
    #[command(flatten)]
    train: SignalFlags,
    /// Read at most this many frames.
    #[arg(long)]
    frames: Option<usize>,
    /// Resize every frame to WIDTHxHEIGHT before fitting (default: as stored).
    #[arg(long)]
    size: Option<String>,
    /// Also render frame 0 at this many times the training resolution.
    #[arg(long, default_value_t = 2)]
    zoom: usize,
}

/// The original's video settings: 3 hidden layers of 1024, omega_0 30, about 0.07% of the
/// bikes clip's pixels (30,000) per step.
const DEFAULTS: Defaults = Defaults {
    steps: 1000,
    hidden: 1024,
    first_w0: 30.0,
    batch: Some(30_000),
};

fn to_image(w: usize, h: usize, data: Vec<f32>) -> Result<Image> {
    Image::new(w, h, 3, data)
}

pub fn video<D: Backend<f32>>(a: VideoArgs, dev: &D) -> Result<()> {
    let mut clip = Video::open(&a.video, a.frames)?;
    let stored = (clip.width, clip.height);
    if let Some(size) = &a.size {
        let (w, h): (usize, usize) = crate::image_cmds::pair(size, 'x', "--size")?;
        clip = clip.resized(w, h)?;
    }
    let dir = out_dir(&a.train.out)?;
    let config = a.train.siren(&DEFAULTS, &dir, "siren");
    let mut log = SignalLog::open(&dir, "psnr", a.train.quiet)?;
    log.start("siren", config.steps);
    let started = std::time::Instant::now();
    let fitted = fit_video::<f32, D>(&clip, &config, dev, |r| log.record(r))?;
    let secs = started.elapsed().as_secs_f64();
    log.finish();
    fitted.network.save(dir.join("model.safetensors"))?;
    let psnr = psnr_per_frame(&fitted.network, &clip)?;
    let mean = psnr.iter().sum::<f64>() / psnr.len() as f64;
    let (lo, hi) = psnr
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), &p| (l.min(p), h.max(p)));
    labelled_chart(
        &dir.join("psnr_per_frame.png"),
        &format!(
            "PSNR of every frame ({} frames, {}x{})",
            clip.frames, clip.width, clip.height
        ),
        "frame",
        "PSNR (dB)",
        &[Series {
            name: "SIREN".into(),
            points: psnr
                .iter()
                .enumerate()
                .map(|(k, &p)| (k as f64, p))
                .collect(),
        }],
    )?;
    // Truth and fit at the first, middle and last frames; the frame halfway between two.
    let (w, h, f) = (clip.width, clip.height, clip.frames);
    let picks = [0, f / 2, f - 1];
    let mut truths = Vec::new();
    let mut fits = Vec::new();
    for &k in &picks {
        truths.push(to_image(w, h, clip.frame(k).to_vec())?);
        fits.push(to_image(
            w,
            h,
            render_frame(&fitted.network, f, k as f64, w, h)?,
        )?);
    }
    let mut panels = Vec::new();
    for (i, &k) in picks.iter().enumerate() {
        panels.push(ImagePanel {
            image: &truths[i],
            label: format!("frame {k}, truth"),
            detail: String::new(),
        });
        panels.push(ImagePanel {
            image: &fits[i],
            label: format!("frame {k}, SIREN"),
            detail: format!("{:.2} dB", psnr[k]),
        });
    }
    image_figure(
        &dir.join("frames.png"),
        "Video: ground truth and SIREN",
        &format!(
            "{} frames of {w}x{h}; PSNR {mean:.2} dB mean over frames",
            f
        ),
        &panels,
        2,
    )?;
    for (i, &k) in picks.iter().enumerate() {
        fits[i].save_png(dir.join(format!("frame_{k:04}.png")))?;
    }
    if f > 1 {
        let mid = f / 2;
        let t = mid as f64 - 0.5;
        let between = to_image(w, h, render_frame(&fitted.network, f, t, w, h)?)?;
        between.save_png(dir.join(format!("frame_{t:.1}.png")))?;
        let before = to_image(w, h, clip.frame(mid - 1).to_vec())?;
        let after = to_image(w, h, clip.frame(mid).to_vec())?;
        image_figure(
            &dir.join("between.png"),
            "A frame between two frames",
            "the SIREN at a time no frame was taken, beside the frames around it",
            &[
                ImagePanel {
                    image: &before,
                    label: format!("frame {} (truth)", mid - 1),
                    detail: String::new(),
                },
                ImagePanel {
                    image: &between,
                    label: format!("SIREN at t = {t:.1}"),
                    detail: String::new(),
                },
                ImagePanel {
                    image: &after,
                    label: format!("frame {mid} (truth)"),
                    detail: String::new(),
                },
            ],
            3,
        )?;
    }
    if a.zoom > 1 {
        let (zw, zh) = (w * a.zoom, h * a.zoom);
        if zw * zh > 1 << 24 {
            return Err(Error::InvalidInput(format!(
                "--zoom {} gives a {zw}x{zh} frame; choose a smaller --zoom",
                a.zoom
            )));
        }
        to_image(zw, zh, render_frame(&fitted.network, f, 0.0, zw, zh)?)?
            .save_png(dir.join(format!("frame_0000_x{}.png", a.zoom)))?;
    }
    let md = format!(
        "# Video: {}\n\n{f} frames, stored {}x{}, fitted at {w}x{h}. SIREN 3 -> {}x{} -> 3, first w0 {}, \
         hidden w0 {}, {} steps of {} random pixels, Adam {}; {:.1} min.\n\n\
         | frames | mean PSNR (dB) | lowest | highest |\n|---|---|---|---|\n| {f} | {mean:.2} | {lo:.2} | {hi:.2} |\n",
        a.video.display(),
        stored.0,
        stored.1,
        config.hidden_features,
        config.hidden_layers + 1,
        match config.model {
            siren_signal::Model::Siren { first_w0, .. } => first_w0,
            _ => 0.0,
        },
        a.train.w0,
        config.steps,
        config.batch.unwrap_or(0).min(f * w * h),
        config.lr,
        secs / 60.0
    );
    let json = serde_json::json!({"frames": f, "width": w, "height": h, "mean_psnr": mean,
        "min_psnr": lo, "max_psnr": hi, "psnr_per_frame": psnr, "train_s": secs});
    super::write_results(&dir, &md, &json)?;
    crate::plots::curves_from_log(&dir, "psnr")
}
