//! `siren fit`, `render`, `inpaint`, `poisson` end to end on a small real image, and their
//! answers to bad input.

mod common;

use std::path::{Path, PathBuf};

use common::{saved_config, siren};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("siren-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A 24x24 crop of the embedded CC0 cameraman, written as PNG.
fn small_camera(dir: &Path) -> PathBuf {
    let img = siren_image_camera();
    let p = dir.join("camera24.png");
    img.save(&p).unwrap();
    p
}

fn siren_image_camera() -> image::GrayImage {
    let bytes = include_bytes!("../../siren-image/data/camera.png");
    let full = image::load_from_memory(bytes).unwrap().to_luma8();
    image::imageops::resize(&full, 24, 24, image::imageops::FilterType::Triangle)
}

const SMALL: [&str; 8] = [
    "--steps", "30", "--hidden", "32", "--layers", "1", "--lr", "1e-3",
];

#[test]
fn fit_then_render_at_higher_resolution_and_wider_extent() {
    let d = scratch("fit");
    let img = small_camera(&d);
    let out = d.join("run");
    let mut args = vec![
        "fit",
        img.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend(SMALL);
    let (ok, text) = siren(&args);
    assert!(ok, "{text}");
    for f in [
        "model.safetensors",
        "fit.png",
        "ground_truth.png",
        "figure.png",
        "metrics.jsonl",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // the model file records the config it was trained with
    let config = saved_config(&out.join("model.safetensors"));
    assert!(config.contains("\"hidden_features\":32"), "{config}");
    let pt = d.join("pt");
    let mut args = vec![
        "fit",
        img.to_str().unwrap(),
        "--bias-init",
        "pytorch",
        "--out",
        pt.to_str().unwrap(),
        "--quiet",
    ];
    args.extend(SMALL);
    assert!(siren(&args).0);
    let config = saved_config(&pt.join("model.safetensors"));
    assert!(config.contains("\"bias_init\":\"pytorch\""), "{config}");
    let log = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 30);
    let model = out.join("model.safetensors");
    let big = d.join("big.png");
    let (ok, text) = siren(&[
        "render",
        model.to_str().unwrap(),
        "--size",
        "96x64",
        "--extent",
        "-2,2",
        "--out",
        big.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let r = image::open(&big).unwrap();
    assert_eq!((r.width(), r.height()), (96, 64));
    // Rendering over its own model, or through a link to it, is refused; the model survives.
    let before = std::fs::read(&model).unwrap();
    let link = d.join("link.png");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&model, &link).unwrap();
    for target in [&model, &link] {
        let (ok, text) = siren(&[
            "render",
            model.to_str().unwrap(),
            "--out",
            target.to_str().unwrap(),
        ]);
        assert!(!ok && text.contains("would destroy"), "{text}");
    }
    assert_eq!(std::fs::read(&model).unwrap(), before);
    // Outputs replace regular files only.
    let (ok, text) = siren(&["render", model.to_str().unwrap(), "--out", "/dev/null"]);
    assert!(!ok && text.contains("not a regular file"), "{text}");
}

#[test]
fn inpaint_compare_writes_a_labelled_figure_curves_and_table() {
    let d = scratch("inpaint");
    let img = small_camera(&d);
    let out = d.join("cmp");
    let mut args = vec![
        "inpaint",
        img.to_str().unwrap(),
        "--mask",
        "random:0.3",
        "--compare",
        "--dip-steps",
        "20",
        "--prior-points",
        "256",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend(SMALL);
    let (ok, text) = siren(&args);
    assert!(ok, "{text}");
    let table = std::fs::read_to_string(out.join("metrics.md")).unwrap();
    for method in ["no prior", "TV", "FH", "diffusion", "deep image prior"] {
        assert!(table.contains(&format!("| {method} |")), "{table}");
    }
    // ground truth, input and five methods in rows of four, each panel enlarged to >= 256
    let figure = image::open(out.join("figure.png")).unwrap();
    assert!(figure.width() >= 4 * 256 && figure.height() >= 2 * 256);
    let scores: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("scores.json")).unwrap()).unwrap();
    assert_eq!(scores["scores"].as_array().unwrap().len(), 5);
    assert!(out.join("psnr_missing.png").exists());
}

#[test]
fn antialias_measures_energy_above_nyquist_with_and_without_the_kernel() {
    let d = scratch("antialias");
    let img = small_camera(&d);
    let out = d.join("aa");
    let mut args = vec![
        "antialias",
        img.to_str().unwrap(),
        "--factor",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend(SMALL);
    let (ok, text) = siren(&args);
    assert!(ok, "{text}");
    let table = std::fs::read_to_string(out.join("metrics.md")).unwrap();
    for row in ["| point samples |", "| anti-aliasing kernel |"] {
        assert!(table.contains(row), "{table}");
    }
    let render = image::open(out.join("render_kernel.png")).unwrap();
    assert_eq!((render.width(), render.height()), (48, 48));
    assert!(out.join("figure.png").exists());
    let (ok, text) = siren(&[
        "antialias",
        img.to_str().unwrap(),
        "--factor",
        "1",
        "--out",
        d.join("aa1").to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("--factor must be 2 to 8"), "{text}");
}

#[test]
fn poisson_reports_psnr() {
    let d = scratch("poisson");
    let img = small_camera(&d);
    let out = d.join("p");
    let mut args = vec![
        "poisson",
        img.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(SMALL);
    let (ok, text) = siren(&args);
    assert!(ok, "{text}");
    assert!(
        text.contains("dB after removing the constant offset"),
        "{text}"
    );
    assert!(out.join("result.md").exists());
    // the labelled figure: ground truth, supervision, reconstruction side by side
    let figure = image::open(out.join("figure.png")).unwrap();
    assert!(figure.width() > 3 * 256, "three panels of at least 256 px");
}

#[test]
fn bad_input_gives_a_message_not_a_panic() {
    let d = scratch("bad");
    let out = d.join("o");
    let o = out.to_str().unwrap();
    let corrupt = d.join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\n garbage").unwrap();
    let img = small_camera(&d);
    // A run folder whose checkpoint is corrupt.
    let bad_ckpt = d.join("bad-ckpt");
    std::fs::create_dir_all(&bad_ckpt).unwrap();
    std::fs::write(
        bad_ckpt.join("checkpoint.safetensors"),
        b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage",
    )
    .unwrap();
    let empty_run = d.join("never-started");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["fit", "/no/such/image.png", "--out", o],
            "cannot read the input",
        ),
        (
            vec!["fit", corrupt.to_str().unwrap(), "--out", o],
            "not a valid PNG or JPEG image",
        ),
        (
            vec!["fit", img.to_str().unwrap(), "--steps", "0", "--out", o],
            "steps must be at least 1",
        ),
        (
            vec!["fit", img.to_str().unwrap(), "--w0=-3", "--out", o],
            "w0",
        ),
        (
            vec!["fit", img.to_str().unwrap(), "--out", "/proc/forbidden/x"],
            "cannot create the output folder",
        ),
        (
            vec!["render", corrupt.to_str().unwrap(), "--out", o],
            "not a valid siren-rs model file",
        ),
        (
            vec!["render", img.to_str().unwrap(), "--size", "12", "--out", o],
            "--size must look like",
        ),
        (
            vec![
                "inpaint",
                img.to_str().unwrap(),
                "--mask",
                "random:2",
                "--out",
                o,
            ],
            "keep fraction",
        ),
        (
            vec![
                "inpaint",
                img.to_str().unwrap(),
                "--mask",
                "strokes:0.95",
                "--out",
                o,
            ],
            "stroke fraction must be in",
        ),
        (
            vec![
                "inpaint",
                img.to_str().unwrap(),
                "--antialias",
                "1",
                "--footprint",
                "0",
                "--out",
                o,
            ],
            "footprint must be in",
        ),
        (
            vec![
                "inpaint",
                img.to_str().unwrap(),
                "--prior",
                "tv",
                "--prior-weight=-1",
                "--out",
                o,
            ],
            "prior weight must be >= 0",
        ),
        (
            vec!["fit", img.to_str().unwrap(), "--lr=-0.1", "--out", o],
            "lr > 0",
        ),
        #[cfg(not(feature = "cuda"))]
        (
            vec!["fit", img.to_str().unwrap(), "--device", "cuda", "--out", o],
            "built without CUDA",
        ),
        (
            vec![
                "fit",
                img.to_str().unwrap(),
                "--resume",
                "--out",
                bad_ckpt.to_str().unwrap(),
            ],
            "not a valid siren-rs checkpoint",
        ),
        (
            vec![
                "fit",
                img.to_str().unwrap(),
                "--resume",
                "--out",
                empty_run.to_str().unwrap(),
            ],
            "holds no checkpoint",
        ),
    ];
    for (args, expected) in cases {
        let (ok, text) = siren(&args);
        assert!(!ok, "{args:?} succeeded");
        assert!(text.contains(expected), "{args:?}: {text}");
        assert!(!text.contains("panicked"), "{args:?}: {text}");
    }
}

#[test]
fn help_shows_examples() {
    for cmd in ["fit", "render", "inpaint", "antialias", "poisson"] {
        let (ok, text) = siren(&[cmd, "--help"]);
        assert!(ok && text.contains("Example"), "{cmd}: {text}");
    }
}

#[test]
fn a_full_batch_step_too_large_for_memory_is_refused_with_its_estimate() {
    let image = std::env::temp_dir().join("siren-cli-huge-step.png");
    image::GrayImage::from_pixel(8, 8, image::Luma([90]))
        .save(&image)
        .unwrap();
    let out = std::env::temp_dir().join(format!("siren-cli-huge-step-{}", std::process::id()));
    let (ok, text) = siren(&[
        "fit",
        image.to_str().unwrap(),
        "--size",
        "16000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("GB of memory"), "{text}");
    assert!(text.contains("--batch"), "{text}");
}

#[test]
fn a_diverging_fit_stops_with_an_error_unless_the_check_is_off() {
    let dir = scratch("diverge");
    let image = dir.join("flat.png");
    image::GrayImage::from_fn(16, 16, |x, y| image::Luma([(x * 9 + y * 7) as u8]))
        .save(&image)
        .unwrap();
    let run = |extra: &[&str], out: &str| {
        let out = dir.join(out);
        let mut args = vec![
            "fit",
            image.to_str().unwrap(),
            "--steps",
            "5",
            "--lr",
            "1e3",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        siren(&args)
    };
    let (ok, text) = run(&[], "a");
    assert!(
        !ok && text.contains("diverged") && text.contains("--divergence-factor 0"),
        "{text}"
    );
    let (ok, text) = run(&["--divergence-factor", "0"], "b");
    assert!(ok, "{text}");
    let (ok, text) = run(&["--divergence-factor", "0.5"], "c");
    assert!(!ok && text.contains("0 (off) or above 1"), "{text}");
}
