//! Video input: H.264 frames against an independent decoder's pixels, frame folders, bad
//! files, and a small fit.

use dfdx::prelude::*;
use siren_signal::fit::SignalConfig;
use siren_signal::video::{fit_video, psnr_per_frame, render_frame, Video};

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("siren-video-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn bikes() -> Option<std::path::PathBuf> {
    match std::env::var_os("SIREN_DATA") {
        Some(root) => Some(std::path::Path::new(&root).join("video/bikes.mp4")),
        None => {
            eprintln!("skipped: set SIREN_DATA to the shared data folder to decode bikes.mp4");
            None
        }
    }
}

/// Frames of bikes.mp4 as FFmpeg 6 (PyAV 14, `to_ndarray(format="rgb24")`) decodes them:
/// (frame, mean over all values, pixel (row, col) -> RGB). The two decoders' YUV-to-RGB
/// conversions differ by a few levels; frame order and content must agree.
/// A pixel (row, col) and its RGB levels.
type Pixel = ((usize, usize), [f64; 3]);

const REFERENCE: [(usize, f64, [Pixel; 3]); 5] = [
    (
        0,
        134.788,
        [
            ((0, 0), [108., 97., 90.]),
            ((136, 320), [204., 201., 205.]),
            ((271, 639), [97., 88., 82.]),
        ],
    ),
    (
        1,
        135.483,
        [
            ((0, 0), [108., 97., 90.]),
            ((136, 320), [205., 202., 206.]),
            ((271, 639), [95., 86., 80.]),
        ],
    ),
    (
        2,
        135.517,
        [
            ((0, 0), [108., 97., 90.]),
            ((136, 320), [194., 192., 193.]),
            ((271, 639), [95., 86., 80.]),
        ],
    ),
    (
        100,
        90.898,
        [
            ((0, 0), [13., 15., 15.]),
            ((136, 320), [64., 55., 49.]),
            ((271, 639), [143., 155., 161.]),
        ],
    ),
    (
        249,
        78.332,
        [
            ((0, 0), [48., 52., 54.]),
            ((136, 320), [181., 182., 172.]),
            ((271, 639), [51., 50., 43.]),
        ],
    ),
];

#[test]
fn decoded_h264_frames_match_an_independent_decoder() {
    let Some(path) = bikes() else { return };
    let clip = Video::open(&path, None).unwrap();
    assert_eq!((clip.frames, clip.width, clip.height), (250, 640, 272));
    for (k, mean, pixels) in REFERENCE {
        let frame = clip.frame(k);
        let m = frame.iter().map(|&v| v as f64 * 255.0).sum::<f64>() / frame.len() as f64;
        assert!(
            (m - mean).abs() < 1.5,
            "frame {k}: mean {m:.2}, reference {mean}"
        );
        for ((r, c), rgb) in pixels {
            for ch in 0..3 {
                let got = frame[(r * 640 + c) * 3 + ch] as f64 * 255.0;
                assert!(
                    (got - rgb[ch]).abs() <= 6.0,
                    "frame {k} ({r},{c}) channel {ch}: {got} vs {}",
                    rgb[ch]
                );
            }
        }
    }
    let first = Video::open(&path, Some(3)).unwrap();
    assert_eq!(first.frames, 3);
    assert_eq!(first.frame(2), clip.frame(2));
}

#[test]
fn truncated_and_foreign_files_get_errors_that_name_them() {
    let text = temp("notes.mp4");
    std::fs::write(&text, "not a video").unwrap();
    let e = Video::open(&text, None).unwrap_err().to_string();
    assert!(e.contains("notes.mp4") && e.contains("MP4"), "{e}");
    let e = Video::open(temp("absent.mp4"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.mp4"), "{e}");
    let Some(path) = bikes() else { return };
    let bytes = std::fs::read(&path).unwrap();
    // The sample table sits at the end of this file: cut the data in the middle instead.
    let cut = temp("cut.mp4");
    let mut damaged = bytes.clone();
    damaged.truncate(bytes.len() / 2);
    std::fs::write(&cut, &damaged).unwrap();
    let e = Video::open(&cut, None).unwrap_err().to_string();
    assert!(e.contains("cut.mp4"), "{e}");
}

#[test]
fn frame_folders_read_in_name_order_and_mismatched_sizes_are_refused() {
    let dir = temp("frames");
    std::fs::create_dir_all(&dir).unwrap();
    for k in 0..3u8 {
        let img = image::RgbImage::from_fn(8, 6, |x, y| {
            image::Rgb([k * 80, x as u8 * 30, y as u8 * 40])
        });
        img.save(dir.join(format!("f{k:02}.png"))).unwrap();
    }
    let clip = Video::open(&dir, None).unwrap();
    assert_eq!((clip.frames, clip.width, clip.height), (3, 8, 6));
    assert_eq!(clip.frame(2)[0], 160.0 / 255.0);
    assert_eq!(clip.frame(1)[(5 * 8 + 7) * 3 + 2], 200.0 / 255.0);
    image::RgbImage::new(4, 4)
        .save(dir.join("f99.png"))
        .unwrap();
    let e = Video::open(&dir, None).unwrap_err().to_string();
    assert!(e.contains("f99.png") && e.contains("4x4"), "{e}");
}

#[test]
fn a_small_clip_is_fitted_and_renders_at_any_size_and_time() {
    // A bright square moving right across 5 frames of 16x12.
    let (f, w, h) = (5, 16, 12);
    let mut data = Vec::new();
    for k in 0..f {
        for y in 0..h {
            for x in 0..w {
                let on = x >= 2 + 2 * k && x < 6 + 2 * k && (3..9).contains(&y);
                data.extend([if on { 0.9 } else { 0.1 }, 0.3, y as f32 / h as f32]);
            }
        }
    }
    let clip = Video {
        frames: f,
        width: w,
        height: h,
        data,
    };
    let config = SignalConfig {
        steps: 300,
        lr: 1e-3,
        batch: Some(512),
        eval_every: 100,
        ..SignalConfig::siren(64, 2, 30.0, 30.0)
    };
    let mut seen = Vec::new();
    let fitted =
        fit_video::<f32, Cpu>(&clip, &config, &Cpu::default(), |r| seen.extend(r.metric)).unwrap();
    assert!(
        seen.last().unwrap() > &(seen[0] + 3.0),
        "PSNR over the run {seen:?}"
    );
    let psnr = psnr_per_frame(&fitted.network, &clip).unwrap();
    assert!(psnr.iter().all(|&p| p > 20.0), "{psnr:?}");
    let big = render_frame(&fitted.network, f, 1.5, 40, 30).unwrap();
    assert_eq!(big.len(), 40 * 30 * 3);
    assert!(big.iter().all(|v| (0.0..=1.0).contains(v)));
}
