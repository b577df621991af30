//! Project automation: `cargo xtask <command>`.
//!
//! `reproduce` builds the `siren` binary in release mode and runs every experiment with the
//! same commands a researcher would type (each command is printed in the report), then writes
//! `report/README.md` with the figures, the tables beside the paper's numbers, and how long
//! each experiment took.
//!
//! `bench-compare` times our training steps against PyTorch's on the same machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::{Parser, Subcommand};

mod bench_compare;
mod common;
mod inpaint;
mod signals;

use common::{psnr_at, read, root, Scale};
use inpaint::{inpaint_images, inpaint_table, InpaintSettings, INPAINT_MASKS};

#[derive(Parser)]
#[command(name = "xtask", about = "siren-rs project automation")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run every experiment of the paper and write report/README.md.
    #[command(
        after_help = "Examples:\n  cargo xtask reproduce\n  cargo xtask reproduce --only fit inpaint --out report-images\n  cargo xtask reproduce --scale paper --celeba /data/celeba"
    )]
    Reproduce(ReproduceArgs),
    /// Time our training steps against PyTorch's, side by side (fit, Laplacian, wave).
    #[command(
        after_help = "Examples:\n  cargo xtask bench-compare\n  cargo xtask bench-compare --workloads fit --rounds 3"
    )]
    BenchCompare(bench_compare::BenchCompareArgs),
}

#[derive(clap::Args)]
struct ReproduceArgs {
    /// Experiment size. Sections not yet given a default scale of their own (fit, poisson)
    /// run their quick settings at the default scale.
    #[arg(long, value_enum, default_value_t = Scale::Default)]
    scale: Scale,
    /// Run only these experiments (init, fit, inpaint, poisson, wave, helmholtz, hypernet,
    /// audio, video, sdf).
    #[arg(long, num_args = 1..)]
    only: Vec<String>,
    /// Report folder.
    #[arg(long, default_value = "report")]
    out: PathBuf,
    /// CelebA root (img_align_celeba/ + list_eval_partition.txt); default: SIREN_CELEBA.
    #[arg(long)]
    celeba: Option<PathBuf>,
    /// Image folder inside the CelebA root, if not img_align_celeba.
    #[arg(long)]
    celeba_images: Option<String>,
    /// The shared data folder (audio/, video/, meshes/); default: SIREN_DATA, else
    /// ../shared/data beside the repository.
    #[arg(long)]
    data: Option<PathBuf>,
}

const SECTIONS: [&str; 10] = [
    "init",
    "fit",
    "inpaint",
    "poisson",
    "wave",
    "helmholtz",
    "hypernet",
    "audio",
    "video",
    "sdf",
];

/// One experiment's commands (arguments of `siren`), run in order.
fn commands(
    section: &str,
    scale: Scale,
    out: &Path,
    celeba: &Option<(PathBuf, Option<String>)>,
    data: &Option<PathBuf>,
) -> Vec<Vec<String>> {
    let camera = root().join("siren-image/data/camera.png");
    let camera = camera.to_string_lossy().into_owned();
    let dir = |name: &str| out.join(name).to_string_lossy().into_owned();
    // fit and poisson have quick and paper settings only so far
    let quick = scale != Scale::Paper;
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match section {
        "init" => vec![s(&[
            "init-stats",
            "--width",
            "2048",
            "--layers",
            "6",
            "--out",
            &dir("init"),
        ])],
        "fit" => {
            let (size, steps) = if quick {
                ("128", "500")
            } else {
                ("256", "1000")
            };
            vec![
                s(&[
                    "fit",
                    &camera,
                    "--size",
                    size,
                    "--steps",
                    steps,
                    "--bias-init",
                    "pytorch",
                    "--quiet",
                    "--out",
                    &dir("fit"),
                ]),
                s(&[
                    "render",
                    &format!("{}/model.safetensors", dir("fit")),
                    "--size",
                    "1024x1024",
                    "--out",
                    &format!("{}/render_1024.png", dir("fit")),
                ]),
                s(&[
                    "render",
                    &format!("{}/model.safetensors", dir("fit")),
                    "--size",
                    "512x512",
                    "--extent",
                    "-2,2",
                    "--out",
                    &format!("{}/outpaint.png", dir("fit")),
                ]),
            ]
        }
        "inpaint" => {
            let m = InpaintSettings::at(scale);
            let mut cmds = Vec::new();
            for (name, path) in inpaint_images(&camera) {
                for (tag, mask) in INPAINT_MASKS {
                    let run = if tag == "random" {
                        &m.random
                    } else {
                        &m.strokes
                    };
                    cmds.push(s(&[
                        "inpaint",
                        &path,
                        "--size",
                        run.size,
                        "--mask",
                        mask,
                        "--compare",
                        "--steps",
                        run.steps,
                        "--prior-points",
                        m.points,
                        "--dip-steps",
                        run.dip_steps,
                        "--batch",
                        run.batch,
                        "--eval-every",
                        "50",
                        "--quiet",
                        "--out",
                        &dir(&format!("inpaint/{name}_{tag}")),
                    ]));
                }
            }
            // the paper's w0, and a w0 whose bandwidth exceeds the training grid's
            for w0 in ["30", "90"] {
                cmds.push(s(&[
                    "antialias",
                    &camera,
                    "--size",
                    m.antialias.0,
                    "--factor",
                    "4",
                    "--steps",
                    m.antialias.1,
                    "--w0",
                    w0,
                    "--batch",
                    "4096",
                    "--quiet",
                    "--out",
                    &dir(&format!("inpaint/antialias_w0_{w0}")),
                ]));
            }
            cmds
        }
        "poisson" => {
            let (size, steps) = if quick {
                ("64", "500")
            } else {
                ("256", "5000")
            };
            vec![s(&[
                "poisson",
                &camera,
                "--size",
                size,
                "--target",
                "gradient",
                "--steps",
                steps,
                "--quiet",
                "--out",
                &dir("poisson"),
            ])]
        }
        "wave" | "helmholtz" => {
            // Quick: the uniform medium only, a first look in a few minutes; `--medium both`
            // adds the heterogeneous one.
            let (scale, medium) = match scale {
                Scale::Quick => ("quick", "uniform"),
                Scale::Default => ("default", "both"),
                Scale::Paper => ("paper", "both"),
            };
            vec![s(&[
                section,
                "--medium",
                medium,
                "--scale",
                scale,
                "--quiet",
                "--out",
                &dir(section),
            ])]
        }
        "hypernet" => match celeba {
            None => vec![],
            Some((root, images)) => {
                let mut args = s(&[
                    "hypernet",
                    "train",
                    "--celeba",
                    &root.to_string_lossy(),
                    "--scale",
                    match scale {
                        Scale::Quick => "quick",
                        Scale::Default => "default",
                        Scale::Paper => "paper",
                    },
                    "--quiet",
                    "--out",
                    &dir("hypernet"),
                ]);
                // The default scale's table is over three seeds (its spread says which
                // differences are real); quick is one seed, paper one seed on a GPU.
                if scale == Scale::Default {
                    args.extend(s(&["--seeds", "3"]));
                }
                if let Some(images) = images {
                    args.extend(s(&["--images", images]));
                }
                vec![args]
            }
        },
        "audio" | "video" | "sdf" => signals::commands(section, scale, out, data),
        _ => unreachable!("sections are checked"),
    }
}

/// The markdown of one finished section.
fn section_text(section: &str, scale: Scale, out: &Path) -> String {
    let quick = scale != Scale::Paper;
    match section {
        "init" => format!(
            "{}\n![init statistics](init/init_stats.png)\n",
            read(&out.join("init/init_stats.md")).replacen(
                "# Activation statistics at initialisation\n\n",
                "",
                1
            )
        ),
        "fit" => {
            let steps: &[u64] = if quick {
                &[200, 500]
            } else {
                &[200, 500, 1000]
            };
            let got = psnr_at(&out.join("fit/metrics.jsonl"), steps);
            let seed = [29.6, 35.7, 39.4];
            let mut t = String::from(
                "| step | PSNR (dB) | original code, 256x256 (seed) |\n|---|---|---|\n",
            );
            for (i, s) in steps.iter().enumerate() {
                t += &format!(
                    "| {s} | {} | {} |\n",
                    got[i].map_or("-".into(), |p| format!("{p:.2}")),
                    seed[i]
                );
            }
            format!(
                "Camera at {}, 3x256 SIREN, w0 = 30, Adam 1e-4, full batch, the original's bias init.\n\n{t}\n\
                 ![fit](fit/figure.png) ![1024x1024](fit/render_1024.png)\n\nOutpainting: the same model over [-2, 2]^2 (training covered [-1, 1]^2):\n\n![outpaint](fit/outpaint.png)\n",
                if quick { "128x128 (the seed's numbers are for 256x256; `--scale paper` runs that)" } else { "256x256" }
            )
        }
        "inpaint" => {
            let mut text = inpaint_table(out);
            if scale == Scale::Quick {
                text += "\nQuick scale runs the random mask at 128x128, where a SIREN with the paper's w0 \
                         interpolates about as well without a prior, so the priors' gains are small; the \
                         default scale (`cargo xtask reproduce --only inpaint`) runs it at 256x256.\n";
            }
            text
        }
        "poisson" => format!(
            "{}\n![poisson](poisson/figure.png)\n",
            read(&out.join("poisson/result.md"))
        ),
        "wave" | "helmholtz" => {
            let mut text = read(&out.join(format!("{section}/errors.md"))).replacen("# ", "", 1);
            for medium in ["uniform", "heterogeneous"] {
                if out
                    .join(format!("{section}/{section}_{medium}.png"))
                    .exists()
                {
                    text += &format!("\n![{section} {medium}]({section}/{section}_{medium}.png)\n");
                }
            }
            if scale == Scale::Quick {
                text += &format!(
                    "\nQuick scale runs the uniform medium only and may miss the accuracy targets, which hold at the default scale (`cargo xtask reproduce --only {section}`); `siren {section} --scale quick --medium both` adds the heterogeneous medium.\n"
                );
            }
            text
        }
        "hypernet" => {
            let mut text = read(&out.join("hypernet/results.md")).replacen(
                "# Hypernetwork: error vs context pixels\n\n",
                "",
                1,
            );
            if out.join("hypernet/completions.png").exists() {
                text += "\n![completions](hypernet/completions.png)\n";
            }
            for level in ["100", "full"] {
                let chart = format!("hypernet/validation_{level}.png");
                if out.join(&chart).exists() {
                    text += &format!("\n![validation error, {level}]({chart})\n");
                }
            }
            for e in ["cnn", "set-sine", "set-relu", "partial-cnn", "cnp"] {
                if out.join(format!("hypernet/{e}/curves.png")).exists() {
                    text += &format!(
                        "\n{e}, training image MSE (first seed):\n\n![{e}](hypernet/{e}/curves.png)\n"
                    );
                }
            }
            text
        }
        "audio" | "video" | "sdf" => signals::section_text(section, scale, out),
        _ => String::new(),
    }
}

const TITLES: [(&str, &str); 10] = [
    (
        "init",
        "Initialisation statistics (paper Section 2, Figure 1 right)",
    ),
    (
        "fit",
        "Image fitting, rendering at any resolution, outpainting",
    ),
    ("inpaint", "Inpainting with priors (seed Figure 3)"),
    (
        "poisson",
        "Poisson reconstruction from gradients (paper Section 4.1)",
    ),
    ("wave", "Wave equation (seed Figure 1)"),
    ("helmholtz", "Helmholtz equation (seed Figure 2)"),
    (
        "hypernet",
        "Faces from a few pixels: hypernetwork over SIRENs (paper Section 4.4, Figure 5)",
    ),
    (
        "audio",
        "Audio: the Bach clip (paper Section 4.1, Figure 4)",
    ),
    ("video", "Video: the bikes clip (paper Section 4.1)"),
    (
        "sdf",
        "Shapes: a signed distance function of the Stanford bunny (paper Section 4.2)",
    ),
];

fn reproduce(a: ReproduceArgs) -> Result<(), String> {
    for name in &a.only {
        if !SECTIONS.contains(&name.as_str()) {
            return Err(format!(
                "unknown experiment {name:?}; choose from {}",
                SECTIONS.join(", ")
            ));
        }
    }
    let chosen: Vec<&str> = SECTIONS
        .iter()
        .copied()
        .filter(|s| a.only.is_empty() || a.only.iter().any(|o| o == s))
        .collect();
    std::fs::create_dir_all(&a.out)
        .map_err(|e| format!("cannot create {}: {e}", a.out.display()))?;
    let out = a.out.canonicalize().map_err(|e| e.to_string())?;
    let celeba = a
        .celeba
        .clone()
        .or_else(|| std::env::var_os("SIREN_CELEBA").map(PathBuf::from))
        .map(|r| (r, a.celeba_images.clone()));

    let siren = common::build_siren()?;

    let started = Instant::now();
    let mut body = String::new();
    let mut timing = String::from("| experiment | time | status |\n|---|---|---|\n");
    let mut failures = 0;
    for section in &chosen {
        let title = TITLES
            .iter()
            .find(|(s, _)| s == section)
            .map(|t| t.1)
            .unwrap_or(section);
        body += &format!("## {title}\n\n");
        let cmds = commands(section, a.scale, &out, &celeba, &a.data);
        if cmds.is_empty() && ["audio", "video", "sdf"].contains(section) {
            body +=
                "Skipped: the shared data folder (audio/, video/, meshes/) was not found; pass \
                     `--data DIR` or set `SIREN_DATA`.\n\n";
            timing += &format!("| {section} | - | skipped (no data) |\n");
            continue;
        }
        if cmds.is_empty() {
            body += "Skipped: no CelebA. Download CelebA's Align&Cropped images (`img_align_celeba/`) and \
                     `list_eval_partition.txt` from http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html, then run \
                     `cargo xtask reproduce --only hypernet --celeba DIR` (or set `SIREN_CELEBA`).\n\n";
            timing += &format!("| {section} | - | skipped (no CelebA) |\n");
            continue;
        }
        let clock = Instant::now();
        let mut failed = None;
        body += "```sh\n";
        for args in &cmds {
            let shown: Vec<String> = args
                .iter()
                .map(|x| {
                    x.replace(
                        &out.to_string_lossy().into_owned(),
                        &a.out.to_string_lossy(),
                    )
                })
                .collect();
            body += &format!("siren {}\n", shown.join(" "));
            eprintln!("[{section}] siren {}", args.join(" "));
            // A report replaces the one before it: its run folders are overwritten.
            let result = Command::new(&siren).args(args).arg("--overwrite").output();
            match result {
                Ok(o) if o.status.success() => {}
                Ok(o) => {
                    failed = Some(String::from_utf8_lossy(&o.stderr).trim().to_string());
                    break;
                }
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            }
        }
        if failed.is_none() && *section == "audio" {
            body += &signals::audio_twin_command(a.scale, &a.data);
            failed = signals::audio_twin(a.scale, &out, &a.data).err();
        }
        body += "```\n\n";
        let secs = clock.elapsed().as_secs_f64();
        match failed {
            None => {
                body += &section_text(section, a.scale, &out);
                timing += &format!("| {section} | {:.1} min | ok |\n", secs / 60.0);
            }
            Some(err) => {
                failures += 1;
                eprintln!("[{section}] failed: {err}");
                body += &format!("**Failed:** `{}`\n", err.lines().last().unwrap_or(""));
                timing += &format!("| {section} | {:.1} min | failed |\n", secs / 60.0);
            }
        }
        body += "\n";
        eprintln!("[{section}] {:.1} min", secs / 60.0);
    }
    let report = format!(
        "# siren-rs: reproduction report ({} scale)\n\nMade by `cargo xtask reproduce{}` in {:.1} minutes. Every \
         figure and number below comes from the commands shown in its section.\n\n{timing}\n{body}",
        match a.scale {
            Scale::Quick => "quick",
            Scale::Default => "default",
            Scale::Paper => "paper",
        },
        match a.scale {
            Scale::Quick => " --scale quick",
            Scale::Default => "",
            Scale::Paper => " --scale paper",
        }
        .to_string()
            + &if a.only.is_empty() {
                String::new()
            } else {
                format!(" --only {}", a.only.join(" "))
            },
        started.elapsed().as_secs_f64() / 60.0
    );
    siren_core::io::write_atomic(&out.join("README.md"), report.as_bytes())
        .map_err(|e| e.to_string())?;
    eprintln!("wrote {}", out.join("README.md").display());
    if failures > 0 {
        return Err(format!("{failures} experiment(s) failed; see the report"));
    }
    Ok(())
}

fn main() {
    let result = match Cli::parse().command {
        Task::Reproduce(a) => reproduce(a),
        Task::BenchCompare(a) => bench_compare::bench_compare(a, &root()),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
