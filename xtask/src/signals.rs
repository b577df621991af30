//! The audio, video and SDF sections: their commands per scale, the PyTorch twin of the audio
//! fit, and their report text.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{read, root, Scale};

/// The shared data folder: `--data`, else `SIREN_DATA`, else `../shared/data` beside the
/// repository, if it holds `sub`.
pub fn data_file(data: &Option<PathBuf>, sub: &str) -> Option<PathBuf> {
    let base = data
        .clone()
        .or_else(|| std::env::var_os("SIREN_DATA").map(PathBuf::from))
        .unwrap_or_else(|| root().join("../shared/data"));
    let path = base.join(sub);
    path.exists().then_some(path)
}

/// Flags per scale: (quick, default, paper).
fn pick<'a>(
    scale: Scale,
    quick: &[&'a str],
    default: &[&'a str],
    paper: &[&'a str],
) -> Vec<&'a str> {
    match scale {
        Scale::Quick => quick.to_vec(),
        Scale::Default => default.to_vec(),
        Scale::Paper => paper.to_vec(),
    }
}

/// The audio section's network flags per scale (shared with the PyTorch twin).
fn audio_flags(scale: Scale) -> Vec<&'static str> {
    pick(
        scale,
        &["--steps", "500", "--batch", "8192", "--hidden", "128"],
        &["--steps", "1600", "--batch", "8192", "--hidden", "256"],
        &["--steps", "1000", "--hidden", "256"],
    )
}

/// The `siren` commands of section `section` (`audio`, `video`, `sdf`), none without data.
pub fn commands(
    section: &str,
    scale: Scale,
    out: &Path,
    data: &Option<PathBuf>,
) -> Vec<Vec<String>> {
    let dir = |name: &str| out.join(name).to_string_lossy().into_owned();
    let (input, mut flags) = match section {
        "audio" => ("audio/gt_bach.wav", audio_flags(scale)),
        "video" => (
            "video/bikes.mp4",
            pick(
                scale,
                &[
                    "--frames",
                    "50",
                    "--size",
                    "160x68",
                    "--hidden",
                    "128",
                    "--batch",
                    "4096",
                    "--steps",
                    "600",
                    "--eval-every",
                    "200",
                ],
                &[
                    "--size",
                    "320x136",
                    "--hidden",
                    "256",
                    "--batch",
                    "8192",
                    "--steps",
                    "3000",
                    "--eval-every",
                    "500",
                ],
                &[
                    "--hidden",
                    "1024",
                    "--batch",
                    "30000",
                    "--steps",
                    "100000",
                    "--eval-every",
                    "5000",
                ],
            ),
        ),
        "sdf" => (
            "meshes/bunny.obj",
            pick(
                scale,
                &[
                    "--points",
                    "30000",
                    "--hidden",
                    "128",
                    "--steps",
                    "800",
                    "--resolution",
                    "96",
                    "--compare-samples",
                    "30000",
                ],
                &[
                    "--points",
                    "100000",
                    "--hidden",
                    "256",
                    "--steps",
                    "3000",
                    "--resolution",
                    "128",
                    "--eval-every",
                    "500",
                ],
                &[
                    "--points",
                    "100000",
                    "--hidden",
                    "256",
                    "--steps",
                    "50000",
                    "--resolution",
                    "256",
                    "--eval-every",
                    "5000",
                ],
            ),
        ),
        _ => unreachable!("signal sections are audio, video, sdf"),
    };
    let Some(file) = data_file(data, input) else {
        return vec![];
    };
    flags.extend(["--quiet", "--out"]);
    let mut args = vec![section.to_string(), file.to_string_lossy().into_owned()];
    args.extend(flags.iter().map(|s| s.to_string()));
    args.push(dir(section));
    vec![args]
}

/// A python with torch: `SIREN_TORCH_PYTHON`, else bench-compare's venv, if torch imports.
fn torch_python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("SIREN_TORCH_PYTHON").map(PathBuf::from),
        Some(root().join("target/bench-venv/bin/python")),
    ];
    candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .args(["-c", "import torch, numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The twin's command line as the report shows it (run when a python with torch is found).
pub fn audio_twin_command(scale: Scale, data: &Option<PathBuf>) -> String {
    let wav = data_file(data, "audio/gt_bach.wav")
        .map_or("gt_bach.wav".into(), |p| p.to_string_lossy().into_owned());
    format!(
        "python bench/audio_reference.py {wav} {}  # the PyTorch twin, when torch is there\n",
        audio_flags(scale).join(" ")
    )
}

/// Runs `bench/audio_reference.py` at the section's settings into `audio/torch_reference.json`
/// (skipped, with a note in the report, when no python with torch is found).
pub fn audio_twin(scale: Scale, out: &Path, data: &Option<PathBuf>) -> Result<(), String> {
    let Some(python) = torch_python() else {
        eprintln!("[audio] no python with torch (set SIREN_TORCH_PYTHON or run cargo xtask bench-compare once): PyTorch twin skipped");
        return Ok(());
    };
    let wav = data_file(data, "audio/gt_bach.wav").ok_or("no gt_bach.wav")?;
    eprintln!("[audio] PyTorch twin");
    let o = Command::new(python)
        .arg(root().join("bench/audio_reference.py"))
        .arg(wav)
        .args(audio_flags(scale))
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    siren_core::io::write_atomic(&out.join("audio/torch_reference.json"), &o.stdout)
        .map_err(|e| e.to_string())
}

/// The markdown of a finished signal section.
pub fn section_text(section: &str, scale: Scale, out: &Path) -> String {
    let mut text = read(&out.join(format!("{section}/results.md")));
    text = text
        .split_once("\n\n")
        .map_or(text.clone(), |(_, rest)| rest.to_string());
    match section {
        "audio" => {
            let twin = std::fs::read_to_string(out.join("audio/torch_reference.json")).ok();
            match twin.and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()) {
                Some(v) => {
                    text += &format!(
                        "\nThe original code's SIREN in PyTorch (`bench/audio_reference.py`: its init, PyTorch's biases, the same clip, steps, batch and Adam): \
                         MSE {:.3e}, SNR {:.2} dB, PSNR {:.2} dB in {:.1} min.\n",
                        v["mse"].as_f64().unwrap_or(f64::NAN),
                        v["snr"].as_f64().unwrap_or(f64::NAN),
                        v["psnr"].as_f64().unwrap_or(f64::NAN),
                        v["seconds"].as_f64().unwrap_or(f64::NAN) / 60.0
                    );
                }
                None => text += "\nThe PyTorch twin was not run (no python with torch).\n",
            }
            text += "\n![waveform](audio/waveform.png)\n\n![residual](audio/residual.png)\n\n![SNR per step](audio/curves.png)\n";
        }
        "video" => {
            text += "\n![frames](video/frames.png)\n\n![between](video/between.png)\n\n![PSNR per frame](video/psnr_per_frame.png)\n";
        }
        _ => {
            text += "\n![shaded](sdf/shaded.png)\n\n![loss](sdf/curves.png)\n";
        }
    }
    if scale != Scale::Paper {
        text += match section {
            "audio" => "\nThe original trains on the whole clip every step for 1000 steps (`--scale paper`, about an hour on this 2-core CPU); this scale takes random batches of 8,192 samples (the command above), so its error is this scale's, not the paper's. The PyTorch twin runs the same batches and steps, so the two rows are comparable.\n",
            "video" => "\nThe original fits the full 640x272 clip with a 3 x 1024 SIREN on about 30,000 pixels per step for far more steps (`--scale paper`, a GPU); this scale fits the clip at a lower resolution with a smaller SIREN for fewer steps (the command above), so its PSNR is this scale's, not the paper's.\n",
            _ => "\nThe original trains 10,000 epochs over its point cloud (`--scale paper` runs 50,000 steps); at this scale's steps the bunny's own surface is already close (the completeness column). A few small spurious surfaces remain in the box's corners, far from any data, which the accuracy column and so the Chamfer distance count: the loss has no term that rules them out (the off-surface term only pushes |phi| above about 0.05, and the Eikonal term accepts a fold). The bias initialisation decides how many there are: with the init theory's law instead of the original's PyTorch biases (`--bias-init weight-law`, same seed and steps) the fit grows large ghost sheets across the box (the README's SDF note has the measured comparison).\n",
        };
    }
    text
}
