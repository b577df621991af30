//! The `siren` command line: one subcommand per experiment.

mod child;
mod config_file;
mod hypernet_cmds;
mod image_cmds;
mod init_cmds;
mod interop_cmds;
mod pde_cmds;
mod plots;
mod progress;
mod serve;
mod signal_cmds;
mod tune;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

/// SIREN experiments from the command line.
#[derive(Parser)]
#[command(name = "siren", version, about, long_about = None)]
struct Cli {
    /// Read options from a TOML file (keys are the long option names; flags given on the
    /// command line override it; unknown keys are rejected).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where to compute: the CPU, or CUDA GPU 0 (needs a build with `--features cuda`).
    #[arg(long, global = true, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// Stop a training run whose loss exceeds this many times its lowest value so far and its
    /// first value (a diverged run, like a NaN loss); 0 turns the check off.
    #[arg(long, global = true, default_value_t = siren_core::train::DEFAULT_DIVERGENCE_FACTOR)]
    divergence_factor: f64,
    /// Replace the run a run folder (`--out`) already holds; without it (or `--resume`) a
    /// folder with a previous run's `config.toml`, `metrics.jsonl` or checkpoint is refused.
    /// `export` and `import` replace an existing output file only with it.
    #[arg(long, global = true)]
    overwrite: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit an image with a SIREN and save the model, the fitted image and the log.
    #[command(
        after_help = "Example:\n  siren fit ../shared/data/images/camera.png --size 256 --steps 500 --out runs/camera"
    )]
    Fit(image_cmds::FitArgs),
    /// Render a saved image model at any resolution and over any extent.
    #[command(
        after_help = "Examples:\n  siren render runs/camera/model.safetensors --size 1024x1024 --out big.png\n  siren render runs/camera/model.safetensors --size 1024x1024 --extent -2,2 --out outpaint.png"
    )]
    Render(image_cmds::RenderArgs),
    /// Inpaint an image from some of its pixels, with a TV or Hessian-Frobenius prior and the
    /// anti-aliasing kernel; `--compare` runs every method and writes a grid and a table.
    #[command(
        after_help = "Examples:\n  siren inpaint camera.png --size 256 --mask random:0.1 --prior tv --prior-weight 0.01 --out runs/tv\n  siren inpaint camera.png --size 128 --mask strokes:0.2 --compare --out runs/compare"
    )]
    Inpaint(image_cmds::InpaintArgs),
    /// Fit with point samples and with the anti-aliasing kernel, render both at a multiple of
    /// the resolution, and measure the spectral energy above the training Nyquist frequency.
    #[command(
        after_help = "Example:\n  siren antialias ../shared/data/images/camera.png --size 128 --factor 4 --steps 1000 --out runs/antialias"
    )]
    Antialias(image_cmds::AntialiasArgs),
    /// Reconstruct an image from its gradient or its Laplacian alone.
    #[command(
        after_help = "Example:\n  siren poisson camera.png --size 256 --target gradient --steps 1000 --out runs/poisson"
    )]
    Poisson(image_cmds::PoissonArgs),
    /// Solve the wave equation with SIREN, tanh and ReLU networks trained on its residual;
    /// compare with the leapfrog reference at t = 0, 0.1, ..., 0.4.
    #[command(
        after_help = "Examples:\n  siren wave --scale quick --out runs/wave\n  siren wave --scale paper --medium uniform --out runs/wave-paper"
    )]
    Wave(pde_cmds::WaveArgs),
    /// Solve the Helmholtz equation with a PML (k = 20) with SIREN, tanh and ReLU networks;
    /// compare with the finite-difference reference.
    #[command(after_help = "Example:\n  siren helmholtz --scale quick --out runs/helmholtz")]
    Helmholtz(pde_cmds::HelmholtzArgs),
    /// Per-layer activation statistics of a freshly initialised SIREN against the init theory
    /// (N(0,1) pre-activations, arcsine activations), and of a wrongly scaled init.
    #[command(after_help = "Example:\n  siren init-stats --width 2048 --layers 6 --out runs/init")]
    InitStats(init_cmds::InitStatsArgs),
    /// Fit a WAV clip with a SIREN (first-layer omega_0 of its own) and the ReLU +
    /// positional-encoding baseline; write the reconstructions, waveform and residual figures.
    #[command(
        after_help = "Examples:\n  siren audio ../shared/data/audio/gt_bach.wav --out runs/bach\n  siren audio ../shared/data/audio/gt_bach.wav --steps 2000 --batch 16384 --hidden 128 --out runs/bach-quick"
    )]
    Audio(signal_cmds::AudioArgs),
    /// Fit a video (MP4 with H.264, or a folder of frames) with a SIREN on random pixel
    /// batches; PSNR per frame, frames at any resolution and between frames.
    #[command(
        after_help = "Examples:\n  siren video ../shared/data/video/bikes.mp4 --out runs/bikes\n  siren video ../shared/data/video/bikes.mp4 --size 160x68 --hidden 256 --batch 8192 --steps 1500 --out runs/bikes-small"
    )]
    Video(signal_cmds::VideoArgs),
    /// Fit a signed distance function to an oriented point cloud (from a mesh or an .xyz
    /// file), extract its zero level set by marching cubes, compare and draw it.
    #[command(
        after_help = "Examples:\n  siren sdf ../shared/data/meshes/bunny.obj --out runs/bunny\n  siren sdf ../shared/data/meshes/bunny.obj --steps 1000 --hidden 128 --resolution 96 --format ply --out runs/bunny-quick"
    )]
    Sdf(signal_cmds::SdfArgs),
    /// Write a model in another framework's layout: the original PyTorch code's SingleBVPNet
    /// (`net.net.{i}.0.weight`) as safetensors.
    #[command(
        after_help = "Example:\n  siren export runs/camera/model.safetensors --format pytorch-siren --out camera_pytorch.safetensors\n\nbench/pytorch_interop.py loads it into the original's module and checks it against `siren render`."
    )]
    Export(interop_cmds::ExportArgs),
    /// Read a PyTorch SIREN (the original code's SingleBVPNet state_dict as safetensors) into a
    /// siren-rs model file.
    #[command(
        after_help = "Examples:\n  siren import camera_pytorch.safetensors --out camera.safetensors\n  python bench/pytorch_interop.py convert model_final.pth original.safetensors && siren import original.safetensors --out model.safetensors"
    )]
    Import(interop_cmds::ImportArgs),
    /// The interactive app in the browser: fit, Poisson and inpainting runs trained live side
    /// by side, and any trained network explored at any zoom and extent.
    #[command(
        after_help = "Examples:\n  siren serve --open\n  siren serve --port 0 --root runs/app --data ../shared/data"
    )]
    Serve(serve::ServeArgs),
    /// Tune a training command's options (w0, learning rate, prior and loss weights...) by
    /// successive halving on its validation metric; every trial an ordinary run folder.
    #[command(after_help = TUNE_HELP)]
    Tune(tune::TuneArgs),
    /// Encoders + hypernetwork that emit a SIREN per face from a few of its pixels (CelebA).
    #[command(subcommand)]
    Hypernet(hypernet_cmds::HypernetCommand),
}

const TUNE_HELP: &str = "\
The search's own options, anywhere among the command's:
  --search NAME=LO..HI[:log][:int] | NAME=A,B,C   an option of the command and its range (repeat)
  --trials N          trials drawn (default 9)
  --budget STEPS      steps the best trials train in all (default: the command's --steps)
  --eta N             keep the best 1/N at each rung (default 3)
  --min-steps N       fewest steps of the first rung (default 1)
  --metric NAME[:max|:min]   validation metric in metrics.jsonl (default: val_psnr for fit,
                      inpaint and video, val_snr for audio, val_surface_abs for sdf, which then
                      hold out --validation 0.1 of their points; val_error for wave and
                      helmholtz; poisson has none: give loss) or loss
  --parallel N        trials at once (default: the cores; fewer if memory runs short)
  --tune-seed N       seed of the drawn settings
  --emit slurm        write OUT/slurm.sh, a job array of the trials, instead of running them
  --collect OUT       gather an emitted search's trials and write the report
  --out OUT           the search's folder: trials/, tune.md, tune.json, tune.png, winner.toml

Examples:
  siren tune inpaint camera.png --size 256 --steps 500 --prior tv --search prior_weight=1e-6..1e-2:log --trials 9 --out runs/tune-tv
  siren tune helmholtz --scale quick --models siren --medium uniform --search lr=1e-5..1e-3:log --trials 9 --budget 750 --out runs/tune-helm
  siren tune fit camera.png --size 128 --search w0=10..90:log --search lr=1e-5..1e-3:log --emit slurm --trials 20 --budget 1000 --out runs/tune-slurm";

#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum)]
enum DeviceArg {
    Cpu,
    Cuda,
}

/// Runs `$f(args, &device)` on the chosen device (each device its own instantiation).
macro_rules! on_device {
    ($device:expr, $f:expr, $a:expr) => {
        match $device {
            DeviceArg::Cpu => $f($a, &siren_core::device::cpu()),
            DeviceArg::Cuda => {
                #[cfg(feature = "cuda")]
                {
                    match siren_core::device::cuda(0) {
                        Ok(dev) => $f($a, &dev),
                        Err(e) => Err(siren_core::Error::InvalidInput(format!(
                            "cannot open CUDA device 0 ({e:?}); use --device cpu"
                        ))),
                    }
                }
                #[cfg(not(feature = "cuda"))]
                {
                    let _ = $a;
                    Err(siren_core::Error::InvalidInput(
                        "this siren was built without CUDA: rebuild with `cargo build --release --features cuda`, or use --device cpu".into(),
                    ))
                }
            }
        }
    };
}

/// Later occurrences of an option override earlier ones (so flags override a config file).
fn overriding(cmd: clap::Command) -> clap::Command {
    cmd.args_override_self(true).mut_subcommands(overriding)
}

/// Subcommands whose `--out` is a run folder, which gets the resolved `config.toml`.
const RUN_FOLDERS: [&str; 12] = [
    "fit",
    "audio",
    "video",
    "sdf",
    "inpaint",
    "antialias",
    "poisson",
    "wave",
    "helmholtz",
    "init-stats",
    "train",
    "eval",
];

/// A run folder taken for this command: its lock, and the resolved config to write.
struct RunFolder {
    dir: PathBuf,
    config: String,
    resume: bool,
    _lock: RunLock,
}

/// For a command that writes a run folder: makes and locks the folder (before anything is
/// written, so a second live run touches nothing), checks that `--resume` has a checkpoint,
/// and writes the resolved `config.toml` now, or for a resumed run only once it succeeds
/// (a refused resume leaves the old one).
fn take_run_folder(
    root: &clap::Command,
    matches: &ArgMatches,
) -> siren_core::Result<Option<RunFolder>> {
    let (mut cmd, mut m) = (root, matches);
    let mut path = Vec::new();
    while let Some((name, sub)) = m.subcommand() {
        cmd = cmd.find_subcommand(name).expect("parsed subcommands exist");
        m = sub;
        path.push(name);
    }
    if !RUN_FOLDERS.contains(&cmd.get_name()) {
        return Ok(None);
    }
    let Ok(Some(out)) = m.try_get_one::<PathBuf>("out") else {
        return Ok(None);
    };
    let dir = out_dir(out)?;
    let lock = lock_run_folder(&dir)?;
    let resume = matches!(m.try_get_one::<bool>("resume"), Ok(Some(true)));
    let overwrite = matches!(matches.try_get_one::<bool>("overwrite"), Ok(Some(true)));
    check_run_folder(&dir, resume, overwrite)?;
    let folder = RunFolder {
        config: config_file::resolved(&path.join(" "), cmd, m),
        dir,
        resume,
        _lock: lock,
    };
    if !resume {
        folder.write_config()?;
    }
    Ok(Some(folder))
}

impl RunFolder {
    fn write_config(&self) -> siren_core::Result<()> {
        siren_core::io::write_atomic(&self.dir.join("config.toml"), self.config.as_bytes())
    }
}

fn main() -> ExitCode {
    let root = overriding(Cli::command());
    let args = match config_file::expand(&root, std::env::args_os().collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let matches = root.clone().get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let folder = match take_run_folder(&root, &matches) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // SIGINT and SIGTERM ask the running training to stop after its step, with a checkpoint;
    // a second one ends the process at once.
    let stop = siren_core::train::stop_flag();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(stop));
        let _ = signal_hook::flag::register(signal, Arc::clone(stop));
    }
    if !(cli.divergence_factor == 0.0 || cli.divergence_factor > 1.0) {
        eprintln!(
            "error: --divergence-factor must be 0 (off) or above 1, got {}",
            cli.divergence_factor
        );
        return ExitCode::FAILURE;
    }
    siren_core::train::set_divergence_factor(Some(cli.divergence_factor));
    let d = cli.device;
    let result = match cli.command {
        Command::Fit(a) => on_device!(d, image_cmds::fit, a),
        Command::Render(a) => on_device!(d, image_cmds::render, a),
        Command::Inpaint(a) => on_device!(d, image_cmds::inpaint, a),
        Command::Antialias(a) => on_device!(d, image_cmds::antialias, a),
        Command::Poisson(a) => on_device!(d, image_cmds::poisson, a),
        Command::Wave(a) => on_device!(d, pde_cmds::wave, a),
        Command::Helmholtz(a) => on_device!(d, pde_cmds::helmholtz, a),
        Command::Audio(a) => on_device!(d, signal_cmds::audio, a),
        Command::Video(a) => on_device!(d, signal_cmds::video, a),
        Command::Sdf(a) => on_device!(d, signal_cmds::sdf, a),
        Command::Hypernet(c) => on_device!(d, hypernet_cmds::run, c),
        Command::Export(a) => on_device!(d, interop_cmds::export, (a, cli.overwrite)),
        Command::Import(a) => on_device!(d, interop_cmds::import, (a, cli.overwrite)),
        Command::Serve(a) => serve::serve(a),
        Command::Tune(a) => tune::tune(a),
        Command::InitStats(a) => on_device!(d, init_cmds::init_stats, a),
    };
    let result = result.and_then(|()| match &folder {
        Some(f) if f.resume => f.write_config(),
        _ => Ok(()),
    });
    drop(folder);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Creates the output folder, with a message that says what to do if it cannot.
pub(crate) fn out_dir(dir: &Path) -> siren_core::Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|source| siren_core::Error::Io {
        action: "cannot create the output folder (choose another --out)",
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(dir.to_path_buf())
}

/// Errors if the output file `out` is one of the command's `inputs` (the same file under any
/// name): writing it would destroy what the command reads.
pub(crate) fn output_is_not_an_input(out: &Path, inputs: &[&Path]) -> siren_core::Result<()> {
    let Ok(target) = out.canonicalize() else {
        return Ok(()); // nothing there yet
    };
    for input in inputs {
        if input.canonicalize().is_ok_and(|i| i == target) {
            return Err(siren_core::Error::InvalidInput(format!(
                "--out {} is the input {}; writing it would destroy it: choose another path",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// With `--resume`, errors unless the run folder `dir` (or a folder in it, one per model)
/// holds a checkpoint: a mistyped `--out` would otherwise start a fresh run silently.
/// A run folder holds a run to continue (`--resume`: a checkpoint must be there) or none: a
/// fresh run into a folder that holds one (a non-empty `metrics.jsonl` or a checkpoint, in it
/// or one folder below; the first `metrics.jsonl` found is the one weighed) is refused unless `--overwrite` says to replace it, so two runs never mix.
/// Other files (the user's, a face cache, the `config.toml` of a run refused before its first
/// step) do not count.
pub(crate) fn check_run_folder(
    dir: &Path,
    resume: bool,
    overwrite: bool,
) -> siren_core::Result<()> {
    if !resume {
        // An empty log is a run refused before its first step: nothing to mix with.
        let previous = find_in_run(dir, &|n| n == "metrics.jsonl")
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
            .or_else(|| find_checkpoint(dir));
        return match previous {
            Some(p) if !overwrite => Err(siren_core::Error::InvalidInput(format!(
                "{} holds a previous run ({}): pass --resume to continue it, --overwrite to \
                 replace it, or choose another --out",
                dir.display(),
                p.display()
            ))),
            _ => Ok(()),
        };
    }
    if find_checkpoint(dir).is_some() {
        Ok(())
    } else {
        Err(siren_core::Error::InvalidInput(format!(
            "--resume: {} holds no checkpoint to continue; check --out, or run without --resume \
             to start",
            dir.display()
        )))
    }
}

/// A checkpoint in `dir` or one folder below it.
fn find_checkpoint(dir: &Path) -> Option<PathBuf> {
    find_in_run(dir, &|n| {
        n.starts_with("checkpoint") && n.ends_with(".safetensors")
    })
}

/// A file whose name passes `wanted`, in `dir` or one folder below it.
fn find_in_run(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> Option<PathBuf> {
    let matches = |p: &Path| p.file_name().and_then(|n| n.to_str()).is_some_and(wanted);
    let entries = |d: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(d)
            .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    };
    entries(dir).into_iter().find_map(|p| {
        if matches(&p) {
            Some(p)
        } else if p.is_dir() {
            entries(&p).into_iter().find(|q| matches(q))
        } else {
            None
        }
    })
}

/// A run folder held by this process: `.siren.lock` with our PID, removed when dropped. A
/// lock left by a process that no longer runs (killed) is taken over.
pub(crate) struct RunLock(PathBuf);

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Takes the run folder `dir` for this process, or errors if another live `siren` holds it:
/// two runs in one folder would interleave their logs and overwrite each other's files.
pub(crate) fn lock_run_folder(dir: &Path) -> siren_core::Result<RunLock> {
    use std::io::Write;
    let path = dir.join(".siren.lock");
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                let _ = write!(f, "{}", std::process::id());
                return Ok(RunLock(path));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder: Option<u32> = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                let alive = holder.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
                if alive {
                    return Err(siren_core::Error::InvalidInput(format!(
                        "another siren run (pid {}) is writing to {}; wait for it to finish or \
                         choose another --out",
                        holder.unwrap_or(0),
                        dir.display()
                    )));
                }
                // Left by a killed run: take it over.
                let _ = std::fs::remove_file(&path);
            }
            Err(source) => {
                return Err(siren_core::Error::Io {
                    action: "cannot create the run folder's lock file",
                    path,
                    source,
                })
            }
        }
    }
    Err(siren_core::Error::InvalidInput(format!(
        "cannot take the lock {}: another run keeps making it",
        path.display()
    )))
}
