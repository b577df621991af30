//! The inpainting section of the reproduction: its settings per scale, images and masks,
//! and the summary table with the kernel studies.

use std::path::{Path, PathBuf};

use crate::common::{read, root, Scale};

pub struct InpaintRun {
    pub size: &'static str,
    pub steps: &'static str,
    pub dip_steps: &'static str,
    /// Known pixels per step (the strokes mask keeps 80% of them).
    pub batch: &'static str,
}

/// Per scale: the random mask's run, the strokes mask's run, prior points, and the
/// anti-aliasing study's size and steps.
pub struct InpaintSettings {
    pub random: InpaintRun,
    pub strokes: InpaintRun,
    pub points: &'static str,
    pub antialias: (&'static str, &'static str),
}

impl InpaintSettings {
    pub fn at(scale: Scale) -> Self {
        match scale {
            // priors need room to act: at 128x128 the SIREN interpolates as well without one
            Scale::Quick => Self {
                random: InpaintRun {
                    size: "128",
                    steps: "200",
                    dip_steps: "0",
                    batch: "4096",
                },
                strokes: InpaintRun {
                    size: "64",
                    steps: "200",
                    dip_steps: "200",
                    batch: "4096",
                },
                points: "512",
                antialias: ("64", "200"),
            },
            // the deep image prior costs 0.55 s a step at 256x256 here and needs thousands:
            // it runs on the strokes mask at 128x128 only
            Scale::Default => Self {
                random: InpaintRun {
                    size: "256",
                    steps: "500",
                    dip_steps: "0",
                    batch: "8192",
                },
                strokes: InpaintRun {
                    size: "128",
                    steps: "400",
                    dip_steps: "300",
                    batch: "4096",
                },
                points: "1024",
                antialias: ("128", "300"),
            },
            Scale::Paper => Self {
                random: InpaintRun {
                    size: "512",
                    steps: "10000",
                    dip_steps: "5000",
                    batch: "262144",
                },
                strokes: InpaintRun {
                    size: "512",
                    steps: "10000",
                    dip_steps: "5000",
                    batch: "262144",
                },
                points: "131072",
                antialias: ("512", "10000"),
            },
        }
    }
}

/// Masks of the inpainting section: (file tag, `--mask`).
pub const INPAINT_MASKS: [(&str, &str); 2] = [("random", "random:0.1"), ("strokes", "strokes:0.2")];

/// The inpainting images: the embedded camera and, when the shared data is there
/// (`SIREN_DATA`, else `../shared/data` beside the repository), astronaut, coffee and china.
pub fn inpaint_images(camera: &str) -> Vec<(String, String)> {
    let mut out = vec![("camera".to_string(), camera.to_string())];
    let data = std::env::var_os("SIREN_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data"));
    for name in ["astronaut", "coffee", "china"] {
        let path = data.join(format!("images/{name}.png"));
        if path.exists() {
            out.push((name.to_string(), path.to_string_lossy().into_owned()));
        }
    }
    out
}

/// The inpainting summary: missing-pixel PSNR per image, mask and method, and the priors'
/// gains over no prior.
pub fn inpaint_table(out: &Path) -> String {
    let mut methods: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for (name, _) in inpaint_images("") {
        for (tag, mask) in INPAINT_MASKS {
            let path = out.join(format!("inpaint/{name}_{tag}/scores.json"));
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let mut scores = Vec::new();
            for sc in v["scores"].as_array().into_iter().flatten() {
                let m = sc["method"].as_str().unwrap_or("?").to_string();
                if !methods.contains(&m) {
                    methods.push(m.clone());
                }
                scores.push((m, sc["psnr_missing"].as_f64().unwrap_or(f64::NAN)));
            }
            rows.push((name.clone(), mask, tag, scores));
        }
    }
    let get = |scores: &[(String, f64)], m: &str| {
        scores
            .iter()
            .find(|s| s.0 == m)
            .map(|s| s.1)
            .unwrap_or(f64::NAN)
    };
    let mut t = format!(
        "| image | mask | {} | TV - no prior | FH - no prior |\n|---|---|{}---|---|\n",
        methods.join(" | "),
        "---|".repeat(methods.len())
    );
    for (name, mask, _, scores) in &rows {
        let none = get(scores, "no prior");
        t += &format!(
            "| {name} | {mask} | {} | {:+.2} | {:+.2} |\n",
            methods
                .iter()
                .map(|m| {
                    let v = get(scores, m);
                    if v.is_nan() {
                        "-".to_string()
                    } else {
                        format!("{v:.2}")
                    }
                })
                .collect::<Vec<_>>()
                .join(" | "),
            get(scores, "TV") - none,
            get(scores, "FH") - none
        );
    }
    let mut figures = String::new();
    for (name, _, tag, _) in &rows {
        figures += &format!("\n![{name} {tag}](inpaint/{name}_{tag}/figure.png)\n");
    }
    format!(
        "PSNR (dB) on the missing pixels; the SIRENs' settings and each run's full table are in \
         `inpaint/IMAGE_MASK/metrics.md`.\n\n{t}{figures}\nPSNR on the missing pixels over steps \
         (camera: random mask, then strokes):\n\n\
         ![curves](inpaint/camera_random/psnr_missing.png) ![curves](inpaint/camera_strokes/psnr_missing.png)\n\n### The anti-aliasing kernel\n\n\
         $\\omega_0 = 30$ (the paper's):\n\n{}\n![anti-aliasing, w0 30](inpaint/antialias_w0_30/figure.png)\n\n\
         $\\omega_0 = 90$ (more bandwidth than the training grid holds):\n\n{}\n\
         ![anti-aliasing, w0 90](inpaint/antialias_w0_90/figure.png)\n",
        read(&out.join("inpaint/antialias_w0_30/metrics.md")),
        read(&out.join("inpaint/antialias_w0_90/metrics.md"))
    )
}
