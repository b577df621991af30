//! Video: a clip as $\phi: (t, \text{row}, \text{col}) \mapsto$ RGB, each coordinate in
//! $[-1, 1]$ (frame $k$ of $F$ at $2k/(F-1) - 1$, pixel rows and columns likewise, the
//! original code's grid), colours mapped from $[0, 1]$ to $[-1, 1]$.
//!
//! Clips are read from MP4 files with H.264 video (demuxed by the `mp4` crate, decoded by
//! OpenH264 built from its vendored source, so `cargo build` needs nothing else) or from a
//! folder of PNG/JPEG frames in name order. Each training step takes a random batch of
//! pixels from the whole clip, as the original does; the PSNR of every frame is measured at
//! the end, and any frame, or any time between two frames, renders at any resolution.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use openh264::formats::YUVSource;
use rand::seq::index::sample;
use siren_core::train::{mse, step_rng, to_matrix, train_step};
use siren_core::Backend;
use siren_core::{Error, Float, Network, Order, Result};

use crate::fit::{predict_points, run_fit, Fitted, SignalConfig, StepRecord};

/// A clip of `frames` RGB frames of `width` x `height`, values in $[0, 1]$, row-major per
/// frame, frames in display order.
#[derive(Clone, Debug, PartialEq)]
pub struct Video {
    /// Frames.
    pub frames: usize,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `frames * height * width * 3` values.
    pub data: Vec<f32>,
}

fn bad(path: &Path, what: &'static str, reason: String) -> Error {
    Error::BadFile {
        path: path.to_path_buf(),
        what,
        reason,
    }
}

/// Checks that `frames` frames of `width` x `height` RGB fit in memory as `f32`.
fn check_clip_memory(frames: usize, width: usize, height: usize) -> Result<()> {
    siren_core::device::check_memory(
        frames as u128 * width as u128 * height as u128 * 12,
        &format!("{frames} frames of {width}x{height}"),
        "use --frames to read fewer frames",
    )
}

impl Video {
    /// Reads an MP4 (H.264) file or a folder of PNG/JPEG frames, at most `max_frames` of them.
    pub fn open(path: impl AsRef<Path>, max_frames: Option<usize>) -> Result<Self> {
        let path = path.as_ref();
        let limit = max_frames.unwrap_or(usize::MAX);
        if limit == 0 {
            return Err(Error::InvalidInput("--frames must be at least 1".into()));
        }
        if path.is_dir() {
            Self::open_frames(path, limit)
        } else {
            Self::open_mp4(path, limit)
        }
    }

    fn open_frames(dir: &Path, limit: usize) -> Result<Self> {
        let io = |source| Error::Io {
            action: "cannot read the frame folder",
            path: dir.to_path_buf(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg")
                })
            })
            .collect();
        files.sort();
        files.truncate(limit);
        if files.is_empty() {
            return Err(bad(
                dir,
                "frame folder",
                "it holds no PNG or JPEG files".into(),
            ));
        }
        let mut video: Option<Video> = None;
        for f in &files {
            let img = image::open(f)
                .map_err(|e| bad(f, "video frame", format!("{e}")))?
                .to_rgb8();
            let (w, h) = (img.width() as usize, img.height() as usize);
            let v = video.get_or_insert_with(|| Video {
                frames: 0,
                width: w,
                height: h,
                data: Vec::new(),
            });
            if (w, h) != (v.width, v.height) {
                return Err(bad(
                    f,
                    "video frame",
                    format!(
                        "it is {w}x{h} but the first frame is {}x{}",
                        v.width, v.height
                    ),
                ));
            }
            if v.frames == 0 {
                check_clip_memory(files.len(), w, h)?;
            }
            v.data
                .extend(img.as_raw().iter().map(|&b| b as f32 / 255.0));
            v.frames += 1;
        }
        Ok(video.expect("at least one frame"))
    }

    fn open_mp4(path: &Path, limit: usize) -> Result<Self> {
        siren_core::io::check_input_file(path, "MP4 video", 1 << 34)?;
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            action: "cannot open the video",
            path: path.to_path_buf(),
            source,
        })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let what = "MP4 video";
        let mut mp4 = mp4::Mp4Reader::read_header(BufReader::new(file), size).map_err(|e| {
            bad(
                path,
                what,
                format!("{e} (an MP4 file with H.264 video, or a folder of frames, is needed)"),
            )
        })?;
        let (id, track) = mp4
            .tracks()
            .iter()
            .find(|(_, t)| t.track_type().ok() == Some(mp4::TrackType::Video))
            .ok_or_else(|| bad(path, what, "it has no video track".into()))?;
        let id = *id;
        match track.media_type() {
            Ok(mp4::MediaType::H264) => {}
            Ok(other) => {
                return Err(bad(
                    path,
                    what,
                    format!("its video is {other}, not H.264; convert it (ffmpeg -c:v libx264) or give a folder of frames"),
                ))
            }
            Err(e) => return Err(bad(path, what, format!("unsupported codec ({e}); only H.264 is read"))),
        }
        let (w, h) = (track.width() as usize, track.height() as usize);
        let count = (track.sample_count() as usize).min(limit);
        check_clip_memory(count, w, h)?;
        // OpenH264 reads Annex B: start codes before the parameter sets and each NAL unit.
        let mut stream = Vec::new();
        for set in [
            track.sequence_parameter_set(),
            track.picture_parameter_set(),
        ] {
            let set = set.map_err(|e| bad(path, what, format!("no H.264 parameter sets: {e}")))?;
            stream.extend_from_slice(&[0, 0, 0, 1]);
            stream.extend_from_slice(set);
        }
        let api = openh264::OpenH264API::from_source();
        // No flush after each packet: flushing there breaks B-frame reordering.
        let config = openh264::decoder::DecoderConfig::new()
            .flush_after_decode(openh264::decoder::Flush::NoFlush);
        let mut decoder = openh264::decoder::Decoder::with_api_config(api, config)
            .map_err(|e| Error::InvalidInput(format!("cannot start the H.264 decoder: {e}")))?;
        let corrupt = |k: usize, e: String| {
            bad(
                path,
                what,
                format!("frame {k}: {e} (corrupt or truncated file?)"),
            )
        };
        decoder
            .decode(&stream)
            .map_err(|e| corrupt(0, e.to_string()))?;
        let mut video = Video {
            frames: 0,
            width: w,
            height: h,
            data: Vec::with_capacity(count * w * h * 3),
        };
        let mut rgb = vec![0u8; w * h * 3];
        let push = |video: &mut Video,
                    yuv: &openh264::decoder::DecodedYUV<'_>,
                    rgb: &mut Vec<u8>|
         -> Result<()> {
            if yuv.dimensions() != (w, h) {
                return Err(bad(
                    path,
                    what,
                    format!(
                        "a decoded frame is {:?}, the header says {w}x{h}",
                        yuv.dimensions()
                    ),
                ));
            }
            if video.frames < count {
                yuv.write_rgb8(rgb);
                video.data.extend(rgb.iter().map(|&b| b as f32 / 255.0));
                video.frames += 1;
            }
            Ok(())
        };
        let total = track.sample_count();
        for s in 1..=total {
            if video.frames >= count {
                break;
            }
            let sample = mp4
                .read_sample(id, s)
                .map_err(|e| corrupt(s as usize, e.to_string()))?
                .ok_or_else(|| corrupt(s as usize, "the sample is missing".into()))?;
            let packet = annex_b(&sample.bytes).map_err(|e| corrupt(s as usize, e))?;
            if let Some(yuv) = decoder
                .decode(&packet)
                .map_err(|e| corrupt(s as usize, e.to_string()))?
            {
                push(&mut video, &yuv, &mut rgb)?;
            }
        }
        for yuv in decoder
            .flush_remaining()
            .map_err(|e| corrupt(total as usize, e.to_string()))?
        {
            push(&mut video, &yuv, &mut rgb)?;
        }
        if video.frames < count {
            return Err(bad(
                path,
                what,
                format!(
                    "{} of {count} frames decoded (corrupt or truncated file?)",
                    video.frames
                ),
            ));
        }
        Ok(video)
    }

    /// Pixels per frame.
    pub fn pixels(&self) -> usize {
        self.width * self.height
    }

    /// Frame `k`'s `height * width * 3` values.
    pub fn frame(&self, k: usize) -> &[f32] {
        let n = self.pixels() * 3;
        &self.data[k * n..(k + 1) * n]
    }

    /// Every frame resized to `width` x `height` (area-averaging filter for shrinking).
    pub fn resized(&self, width: usize, height: usize) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::InvalidInput(
                "a frame size must be at least 1x1".into(),
            ));
        }
        check_clip_memory(self.frames, width, height)?;
        let mut data = Vec::with_capacity(self.frames * width * height * 3);
        for k in 0..self.frames {
            let bytes: Vec<u8> = self
                .frame(k)
                .iter()
                .map(|&v| (v * 255.0).round() as u8)
                .collect();
            let img = image::RgbImage::from_raw(self.width as u32, self.height as u32, bytes)
                .expect("frame buffer of its size");
            let small = image::imageops::resize(
                &img,
                width as u32,
                height as u32,
                image::imageops::FilterType::Triangle,
            );
            data.extend(small.as_raw().iter().map(|&b| b as f32 / 255.0));
        }
        Ok(Self {
            frames: self.frames,
            width,
            height,
            data,
        })
    }

    /// The coordinates $(t, \text{row}, \text{col})$ of flat pixel index `p` (frame-major).
    pub fn coords_of(&self, p: usize) -> [f64; 3] {
        let axis = |i: usize, n: usize| {
            if n > 1 {
                2.0 * i as f64 / (n - 1) as f64 - 1.0
            } else {
                0.0
            }
        };
        let (k, rest) = (p / self.pixels(), p % self.pixels());
        [
            axis(k, self.frames),
            axis(rest / self.width, self.height),
            axis(rest % self.width, self.width),
        ]
    }

    /// Fingerprint of the clip, naming it in checkpoints.
    pub fn fingerprint(&self) -> String {
        let bytes: Vec<u8> = self
            .data
            .iter()
            .step_by(97)
            .flat_map(|s| s.to_le_bytes())
            .collect();
        format!(
            "{}x{}x{}:{:016x}",
            self.frames,
            self.width,
            self.height,
            siren_core::io::fnv1a(&bytes)
        )
    }
}

/// An MP4 sample (NAL units each after a 4-byte big-endian length) as Annex B.
fn annex_b(sample: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(sample.len() + 16);
    let mut i = 0;
    while i < sample.len() {
        let Some(len) = sample.get(i..i + 4) else {
            return Err("a NAL length is cut short".into());
        };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(nal) = sample.get(i + 4..i + 4 + len) else {
            return Err(format!("a NAL unit of {len} bytes runs past its sample"));
        };
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
        i += 4 + len;
    }
    Ok(out)
}

/// Renders the frame at (fractional) frame index `t` of a clip of `frames` frames, at
/// `width` x `height`: `height * width * 3` values in $[0, 1]$. A `t` between two integers
/// is a frame between two frames.
pub fn render_frame<E: Float, D: Backend<E>>(
    network: &Network<E, D>,
    frames: usize,
    t: f64,
    width: usize,
    height: usize,
) -> Result<Vec<f32>> {
    if width == 0 || height == 0 {
        return Err(Error::InvalidInput(
            "a frame size must be at least 1x1".into(),
        ));
    }
    let tc = if frames > 1 {
        2.0 * t / (frames - 1) as f64 - 1.0
    } else {
        0.0
    };
    let grid = siren_core::train::grid(&[height, width]);
    let coords: Vec<f64> = grid.chunks(2).flat_map(|rc| [tc, rc[0], rc[1]]).collect();
    Ok(predict_points(network, &coords, 1 << 14)?
        .into_iter()
        .map(|v| ((v + 1.0) / 2.0).clamp(0.0, 1.0))
        .collect())
}

/// PSNR in dB of a rendered frame against the truth, both in $[0, 1]$.
pub fn frame_psnr(estimate: &[f32], truth: &[f32]) -> f64 {
    let err: f64 = estimate
        .iter()
        .zip(truth)
        .map(|(&e, &t)| (e as f64 - t as f64).powi(2))
        .sum();
    siren_core::stats::psnr_from_mse(err / truth.len().max(1) as f64, 1.0)
}

/// The PSNR of every frame of `video` as `network` renders it at the clip's resolution.
pub fn psnr_per_frame<E: Float, D: Backend<E>>(
    network: &Network<E, D>,
    video: &Video,
) -> Result<Vec<f64>> {
    (0..video.frames)
        .map(|k| {
            let est = render_frame(network, video.frames, k as f64, video.width, video.height)?;
            Ok(frame_psnr(&est, video.frame(k)))
        })
        .collect()
}

/// Fits `video` with `config`: each step on `config.batch` pixels drawn uniformly from the
/// whole clip (default 2^14). The logged metric is the PSNR over a fixed random set of 2^16
/// pixels; [`psnr_per_frame`] measures every frame.
pub fn fit_video<E: Float, D: Backend<E>>(
    video: &Video,
    config: &SignalConfig,
    device: &D,
    observe: impl FnMut(&StepRecord),
) -> Result<Fitted<E, D>> {
    config.validate(3, 3)?;
    let n = video.frames * video.pixels();
    let batch = config.batch.unwrap_or(1 << 14).min(n);
    config.check_step_memory(batch, 1)?;
    let gather = |idx: &[usize]| -> (Vec<f64>, Vec<f64>) {
        let coords = idx.iter().flat_map(|&p| video.coords_of(p)).collect();
        let values = idx
            .iter()
            .flat_map(|&p| {
                video.data[p * 3..p * 3 + 3]
                    .iter()
                    .map(|&v| 2.0 * v as f64 - 1.0)
            })
            .collect();
        (coords, values)
    };
    let probe: Vec<usize> = sample(
        // Stream 0: the steps draw from streams 1, 2, ...
        &mut step_rng(config.seed, 0),
        n,
        (1usize << 16).min(n),
    )
    .into_vec();
    let (probe_x, probe_y) = gather(&probe);
    // Held-out pixels (none without `config.validation`), up to 2^16 of them, drawn like the
    // probe from stream 0.
    let held: Vec<usize> = if config.validation.is_some() {
        sample(&mut step_rng(config.seed ^ 0x7a11, 0), n, n.min(1 << 20))
            .into_iter()
            .filter(|&p| config.held_out(p))
            .take(1 << 16)
            .collect()
    } else {
        Vec::new()
    };
    let (held_x, held_y) = gather(&held);
    run_fit(
        config,
        3,
        3,
        &format!("video {}", video.fingerprint()),
        device,
        |s, network, adam| {
            let idx = config.training_sample(&mut step_rng(config.seed, s), n, batch);
            let (x, y) = gather(&idx);
            let (x, y) = (
                to_matrix::<E, D>(device, &x, 3),
                to_matrix::<E, D>(device, &y, 3),
            );
            train_step(network, adam, |net, tr| {
                let jet = net.jet(&x, Order::Value, tr)?;
                Ok(mse(tr, jet.value, &y))
            })
        },
        |network| {
            let psnr_at = |x: &[f64], y: &[f64]| -> Result<f64> {
                let est: Vec<f32> = predict_points(network, x, 1 << 14)?
                    .into_iter()
                    .map(|v| ((v + 1.0) / 2.0).clamp(0.0, 1.0))
                    .collect();
                let truth: Vec<f32> = y.iter().map(|&v| ((v + 1.0) / 2.0) as f32).collect();
                Ok(frame_psnr(&est, &truth))
            };
            let validation = if held.is_empty() {
                None
            } else {
                Some(psnr_at(&held_x, &held_y)?)
            };
            Ok((psnr_at(&probe_x, &probe_y)?, validation))
        },
        observe,
    )
}
