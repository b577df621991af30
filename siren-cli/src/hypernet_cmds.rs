//! `siren hypernet train | eval | complete`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use siren_core::checkpoint::{checkpoint_metadata, load_checkpoint};
use siren_core::io::write_atomic;
use siren_core::train::Checkpointing;
use siren_core::Backend;
use siren_core::{Adam, AdamConfig, Error, Result};
use siren_hypernet::celeba::{load, load_face, CelebaSource, Faces, Split};
use siren_hypernet::pca::Pca;
use siren_hypernet::training::{
    context_of, evaluate, evaluation_mask, mean_face, mean_face_errors, predict,
    train as run_train, ContextLevel, Errors, TrainConfig,
};
use siren_hypernet::{Context, EncoderKind, Hypernet, HypernetConfig};
use siren_image::raster::{side_by_side, stacked};
use siren_image::Image;

use crate::out_dir;
use crate::plots::{grid_figure, GridBlock, Series};

const CONFIG_KEY: &str = "hypernet.config";
const TRAIN_KEY: &str = "hypernet.train";

/// The paper's table (Table 1 of the SIREN paper), per encoder and context level.
const PAPER: [(&str, [f64; 5]); 4] = [
    ("cnn", [0.033, 0.009, 0.008, 0.020, 0.008]),
    ("set-sine", [0.035, 0.013, 0.009, 0.022, 0.009]),
    ("set-relu", [0.040, 0.018, 0.012, 0.026, 0.012]),
    ("partial-cnn", [0.046, 0.020, 0.018, 0.060, 0.019]),
];

#[derive(Subcommand, Debug)]
pub enum HypernetCommand {
    /// Train encoders + hypernetwork on CelebA, then evaluate on the test split.
    #[command(
        after_help = "Examples:\n  siren hypernet train --celeba ../shared/data/celeba-sample --images img_align_celeba_89x109 --encoder all --out runs/hypernet\n  siren hypernet train --celeba /data/celeba --scale paper --encoder cnn --steps 200000 --out runs/cnn\n  siren hypernet train --celeba /data/celeba --encoder cnn --out runs/cnn --resume"
    )]
    Train(TrainArgs),
    /// Evaluate a trained model on the test split: error by number of context pixels.
    #[command(
        after_help = "Example:\n  siren hypernet eval runs/hypernet/cnn/checkpoint.safetensors --celeba ../shared/data/celeba-sample --out runs/eval"
    )]
    Eval(EvalArgs),
    /// Complete one face image from some of its pixels.
    #[command(
        after_help = "Example:\n  siren hypernet complete runs/hypernet/cnn/checkpoint.safetensors face.jpg --context 100 --out completed.png"
    )]
    Complete(CompleteArgs),
}

/// Share of the faces held out as the test set when the partition file lists none of them.
pub(crate) const DEFAULT_TEST_SHARE: f64 = 0.1;
/// Share of the faces held out for validation likewise.
pub(crate) const DEFAULT_VAL_SHARE: f64 = 0.04;

/// Where CelebA is.
#[derive(Args, Clone, Debug)]
pub struct DataFlags {
    /// CelebA root holding `img_align_celeba/` and `list_eval_partition.txt` (default: the
    /// SIREN_CELEBA environment variable).
    #[arg(long)]
    celeba: Option<PathBuf>,
    /// Image folder, relative to the root, if not `img_align_celeba`.
    #[arg(long)]
    images: Option<PathBuf>,
    /// Share of the faces used as the test set when the partition file lists none of them.
    #[arg(long, default_value_t = DEFAULT_TEST_SHARE)]
    test_share: f64,
    /// Share of the faces used as the validation set (choices such as the PCA baseline's
    /// rank) when the partition file lists none of them.
    #[arg(long, default_value_t = DEFAULT_VAL_SHARE)]
    val_share: f64,
    /// Cache file of the prepared faces (default: `faces.safetensors` in the output folder).
    #[arg(long)]
    cache: Option<PathBuf>,
}

impl DataFlags {
    fn load(&self, size: usize, out: &Path, progress: bool) -> Result<Faces> {
        let root = self
            .celeba
            .clone()
            .or_else(|| std::env::var_os("SIREN_CELEBA").map(PathBuf::from))
            .ok_or_else(|| {
                Error::InvalidInput(
                    "no CelebA folder: pass --celeba DIR or set SIREN_CELEBA. Get CelebA's \
                     Align&Cropped images (img_align_celeba) and list_eval_partition.txt from \
                     http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
                        .into(),
                )
            })?;
        let mut source = CelebaSource::official(&root);
        if let Some(images) = &self.images {
            source.images = root.join(images);
        }
        if !(0.0..0.5).contains(&self.val_share) {
            return Err(Error::InvalidInput(format!(
                "--val-share must be in [0, 0.5), got {}",
                self.val_share
            )));
        }
        if !(self.test_share > 0.0 && self.test_share < 1.0) {
            return Err(Error::InvalidInput(format!(
                "--test-share must be in (0, 1), got {}",
                self.test_share
            )));
        }
        let cache = self
            .cache
            .clone()
            .unwrap_or_else(|| out.join(format!("faces_{size}.safetensors")));
        let mut faces = load(&source, size, Some(&cache), progress)?;
        faces.ensure_splits(self.test_share, self.val_share);
        if let (Some(note), true) = (&faces.split_note, progress) {
            eprintln!("note: {note}");
        }
        Ok(faces)
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Scale {
    Quick,
    Default,
    Paper,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum EncoderArg {
    Cnn,
    SetSine,
    SetRelu,
    PartialCnn,
    Cnp,
    All,
}

/// Law of the number of context pixels per training face.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ContextLaw {
    Uniform,
    LogUniform,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataFlags,
    /// Encoder, or `all` to train each in its own subfolder and write one table.
    #[arg(long, value_enum, default_value_t = EncoderArg::All)]
    encoder: EncoderArg,
    /// `quick`: a CPU-sized model (SIREN 2 -> 64x3 -> 3), batch 16, lr 2e-4, 10..1024 context
    /// pixels (log-uniform; uniform for the CNN), 600 steps; `default`: the same model with
    /// 1000-1500 steps and lambda_2 = 25 (what `cargo xtask reproduce` runs, with 3 seeds);
    /// `paper`: the original's model and settings (SIREN 2 -> 256x3 -> 3, batch 100, lr 5e-5,
    /// 10..200 context pixels, 200000 steps).
    #[arg(long, value_enum, default_value_t = Scale::Quick)]
    scale: Scale,
    /// Optimisation steps (default: 600 quick, 200000 paper).
    #[arg(long)]
    steps: Option<usize>,
    /// Faces per step (default: 16 quick, 100 paper).
    #[arg(long)]
    batch: Option<usize>,
    /// Adam learning rate (default: 2e-4 quick, 5e-5 paper).
    #[arg(long)]
    lr: Option<f64>,
    /// How each training face's number of context pixels is drawn (default: in 10..1024
    /// log-uniform quick, uniform for the quick CNN; uniform in 10..200 paper).
    #[arg(long, value_enum)]
    context_law: Option<ContextLaw>,
    /// Share of training faces given their whole image as context (default: 0.1 quick, 0.5
    /// for the quick CNN; 0 paper).
    #[arg(long)]
    full_context_share: Option<f64>,
    /// Weight of the generated-parameter penalty, lambda_2 (default: the scale's).
    #[arg(long)]
    param_weight: Option<f64>,
    /// Weight of the latent penalty, lambda_1 (default: the scale's).
    #[arg(long)]
    latent_weight: Option<f64>,
    /// Seed of the initialisation, batches and contexts.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train every model with this many seeds (seed, seed + 1, ...); the table gives their
    /// mean and spread.
    #[arg(long, default_value_t = 1)]
    seeds: usize,
    /// Every N steps (and at the end), log the test-free validation error at 100 pixels and
    /// the full face (on up to 100 validation faces) to `metrics.jsonl`: the error-vs-steps
    /// curves of `validation.png`. 0: never.
    #[arg(long, default_value_t = 200)]
    val_every: usize,
    /// Write a checkpoint every N steps (and at the end).
    #[arg(long, default_value_t = 250)]
    checkpoint_every: usize,
    /// Continue from the checkpoint in the output folder.
    #[arg(long)]
    resume: bool,
    /// Train and checkpoint only: no test-split evaluation, PCA baseline, table or figures
    /// (evaluate a checkpoint later with `siren hypernet eval`).
    #[arg(long)]
    no_eval: bool,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Checkpoint written by `siren hypernet train`.
    checkpoint: PathBuf,
    #[command(flatten)]
    data: DataFlags,
    /// Seed of the evaluation contexts.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
pub struct CompleteArgs {
    /// Checkpoint written by `siren hypernet train`.
    checkpoint: PathBuf,
    /// A face image (JPEG or PNG, any size; centre-cropped and resized like the training data).
    image: PathBuf,
    /// Context: a number of random pixels, `half` or `full`.
    #[arg(long, default_value = "100")]
    context: String,
    /// Seed of the context pixels.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output PNG: context, completion, truth, enlarged 8x.
    #[arg(long)]
    out: PathBuf,
}

pub fn run<D: Backend<f32> + dfdx::tensor::Cache>(command: HypernetCommand, dev: &D) -> Result<()> {
    match command {
        HypernetCommand::Train(a) => train(a, dev),
        HypernetCommand::Eval(a) => eval(a, dev),
        HypernetCommand::Complete(a) => complete(a, dev),
    }
}

/// A model, its optimiser and the checkpoint's metadata.
pub(crate) type Loaded<D> = (Hypernet<f32, D>, Adam<f32, D>, HashMap<String, String>);

pub(crate) fn load_model<D: Backend<f32>>(path: &Path, dev: &D) -> Result<Loaded<D>> {
    let meta = checkpoint_metadata(path)?;
    let bad = |reason: String| Error::BadFile {
        path: path.to_path_buf(),
        what: "hypernetwork checkpoint",
        reason,
    };
    let config: HypernetConfig = serde_json::from_str(
        meta.get(CONFIG_KEY)
            .ok_or_else(|| bad(format!("metadata has no {CONFIG_KEY}")))?,
    )
    .map_err(|e| bad(format!("its model config is invalid: {e}")))?;
    let train: TrainConfig = serde_json::from_str(
        meta.get(TRAIN_KEY)
            .ok_or_else(|| bad(format!("metadata has no {TRAIN_KEY}")))?,
    )
    .map_err(|e| bad(format!("its training config is invalid: {e}")))?;
    let mut model = Hypernet::<f32, D>::new(config, train.seed, dev)?;
    let mut adam = Adam::new(
        &model,
        AdamConfig {
            lr: train.lr,
            ..Default::default()
        },
    )?;
    let meta = load_checkpoint(path, &mut model, &mut adam)?;
    Ok((model, adam, meta))
}

fn face_image(size: usize, values: &[f64]) -> Result<Image> {
    Image::from_signed(size, size, 3, values)?.upscaled(4)
}

/// Rows = context levels, per face: context (unknown pixels black), completion, truth.
fn figure<D: Backend<f32>>(
    model: &Hypernet<f32, D>,
    faces: &Faces,
    shown: &[usize],
    seed: u64,
    path: &Path,
) -> Result<()> {
    let size = faces.size;
    let hw = size * size;
    let mut rows = Vec::new();
    for level in ContextLevel::TABLE {
        let masks: Vec<Vec<bool>> = shown
            .iter()
            .map(|&i| evaluation_mask(level, size, seed, i))
            .collect();
        let context = context_of(faces, shown, masks.clone());
        let prediction = predict(model, &context)?;
        let mut panels = Vec::new();
        for (j, &i) in shown.iter().enumerate() {
            let truth = faces.signed(i);
            let seen = context_view(&truth, &masks[j]);
            panels.push(face_image(size, &seen)?);
            panels.push(face_image(size, &prediction[j * hw * 3..(j + 1) * hw * 3])?);
            panels.push(face_image(size, &truth)?);
        }
        let refs: Vec<&Image> = panels.iter().collect();
        rows.push(side_by_side(&refs, 2)?);
    }
    let refs: Vec<&Image> = rows.iter().collect();
    stacked(&refs, 6)?.save_png(path)
}

fn table_row(name: &str, errors: &[(ContextLevel, Errors)]) -> String {
    let cells: Vec<String> = errors
        .iter()
        .map(|(_, e)| format!("{:.4} ({:.3})", e.mse, e.rmse))
        .collect();
    format!("| {name} | {} |\n", cells.join(" | "))
}

fn table_header() -> String {
    let levels: Vec<String> = ContextLevel::TABLE.iter().map(|l| l.name()).collect();
    format!(
        "| model | {} |\n|---|{}\n",
        levels.join(" | "),
        "---|".repeat(levels.len())
    )
}

/// The mean-face baseline (the same at every level) and the paper's rows.
fn reference_rows(baseline: &Errors) -> String {
    let cell = format!("{:.4} ({:.3})", baseline.mse, baseline.rmse);
    let mut rows = format!(
        "| mean training face | {} |\n",
        vec![cell; ContextLevel::TABLE.len()].join(" | ")
    );
    for (name, v) in PAPER {
        let cells: Vec<String> = v.iter().map(|x| format!("{x:.3}")).collect();
        rows += &format!("| paper: {name} | {} |\n", cells.join(" | "));
    }
    rows
}

/// A face as the encoder sees it: unknown pixels black.
pub(crate) fn context_view(face: &[f64], known: &[bool]) -> Vec<f64> {
    face.chunks(3)
        .zip(known)
        .flat_map(|(v, &k)| v.iter().map(move |&v| if k { v } else { -1.0 }))
        .collect()
}

fn splits_line(faces: &Faces) -> String {
    format!(
        "{} faces ({} train, {} validation, {} test){}",
        faces.len(),
        faces.indices(Split::Train).len(),
        faces.indices(Split::Val).len(),
        faces.indices(Split::Test).len(),
        faces
            .split_note
            .as_ref()
            .map(|n| format!("; {n}"))
            .unwrap_or_default()
    )
}

/// A model of the table: one of the four hypernetworks, or the CNP.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ModelKind {
    Hypernet(EncoderKind),
    Cnp,
}

impl ModelKind {
    /// Every model, in table order.
    fn all() -> Vec<Self> {
        let mut out: Vec<Self> = EncoderKind::ALL.map(ModelKind::Hypernet).to_vec();
        out.push(ModelKind::Cnp);
        out
    }
}

/// The model and training settings of `kind` at `scale`.
fn settings(kind: ModelKind, scale: Scale) -> (HypernetConfig, TrainConfig) {
    let encoder = match kind {
        ModelKind::Hypernet(e) => e,
        // The CNP's encoder is the ReLU set encoder; it trains as that model does.
        ModelKind::Cnp => EncoderKind::SetRelu,
    };
    let (config, mut tc) = match scale {
        Scale::Quick | Scale::Default => (
            HypernetConfig::quick(encoder),
            // 10..1024 context pixels: trained on 10..200 only (the original's range), the
            // convolutional encoders did not extrapolate to 1000 or all pixels in minutes on
            // 450 faces. Log-uniform for the set and partial-convolution encoders; uniform
            // (more dense contexts) for the plain CNN, which under the log-uniform law did
            // better with 100 pixels than with 1000. Whole faces as context for a share of
            // the faces, which neither law draws: without them the CNN and the sine set
            // encoder did slightly worse with all pixels than with 1000. The CNN needs half
            // of them so (see the crate docs).
            TrainConfig {
                batch: 16,
                lr: 2e-4,
                context_max: 1024,
                log_uniform_context: encoder != EncoderKind::Cnn,
                full_context_share: if encoder == EncoderKind::Cnn {
                    0.5
                } else {
                    0.1
                },
                ..TrainConfig::paper(match scale {
                    Scale::Quick => 600,
                    _ => default_steps(kind),
                })
            },
        ),
        Scale::Paper => (HypernetConfig::paper(encoder), TrainConfig::paper(200_000)),
    };
    if scale == Scale::Default {
        // lambda_2 = 100 weighs the parameter penalty about 4x more against the image term
        // at this 64-wide SIREN than at the original's 256-wide one; at 25 the training image
        // MSE after 800 steps (set-sine) was 0.0343 against 0.0360 (0.0340 at 5, 0.0341 at 0).
        tc.param_weight = 25.0;
    }
    match kind {
        ModelKind::Hypernet(_) => (config, tc),
        ModelKind::Cnp => {
            // Garnelo et al.'s CNP has no penalty on its code.
            tc.latent_weight = 0.0;
            (HypernetConfig::cnp(&config), tc)
        }
    }
}

/// Steps of each model at the default scale: what fitted about 25 minutes for one seed of every
/// model on two cores (so three seeds fit the reproduce budget), from the time per step of
/// batch 16 measured then (set encoders 0.18 s, CNNs 0.27-0.30 s, CNP less). The batched
/// SIREN op (`siren_core::batched_siren`) has since halved those (set-sine about 0.08 s, CNN
/// about 0.12 s: `cargo xtask bench-compare`); the counts stay, so the report's table stands.
fn default_steps(kind: ModelKind) -> usize {
    match kind {
        ModelKind::Hypernet(EncoderKind::Cnn | EncoderKind::PartialCnn) => 1000,
        ModelKind::Hypernet(_) => 1500,
        ModelKind::Cnp => 1500,
    }
}

/// What one trained model measured.
struct Trained<D: Backend<f32>> {
    model: Hypernet<f32, D>,
    errors: Vec<(ContextLevel, Errors)>,
    steps: usize,
    train_s: f64,
}

/// The training faces' mean, as stored with every model (so `eval` on another folder
/// compares with the faces the model learned from).
const MEAN_KEY: &str = "hypernet.mean_face";

#[allow(clippy::too_many_arguments)]
fn train_one<D: Backend<f32> + dfdx::tensor::Cache>(
    a: &TrainArgs,
    config: HypernetConfig,
    tc: TrainConfig,
    faces: &Faces,
    train_idx: &[usize],
    val_idx: &[usize],
    test_idx: &[usize],
    mean: &[f64],
    sub: &Path,
    dev: &D,
) -> Result<Trained<D>> {
    let val_faces = &val_idx[..val_idx.len().min(100)];
    let val_levels = [ContextLevel::Pixels(100), ContextLevel::Full];
    let checkpoint = Checkpointing {
        path: sub.join("checkpoint.safetensors"),
        every: a.checkpoint_every.max(1),
        resume: a.resume,
    };
    let mut model = Hypernet::<f32, D>::new(config.clone(), tc.seed, dev)?;
    let mut adam = Adam::new(
        &model,
        AdamConfig {
            lr: tc.lr,
            ..Default::default()
        },
    )?;
    let mean_json: Vec<f32> = mean.iter().map(|&v| v as f32).collect();
    // What `load_model` needs to rebuild the model from a checkpoint.
    let metadata = vec![
        (
            CONFIG_KEY.to_string(),
            serde_json::to_string(&config).expect("config serialises"),
        ),
        (
            TRAIN_KEY.to_string(),
            serde_json::to_string(&tc).expect("config serialises"),
        ),
        (
            MEAN_KEY.to_string(),
            serde_json::to_string(&mean_json).expect("numbers serialise"),
        ),
    ];
    write_atomic(
        &sub.join("config.json"),
        serde_json::to_string_pretty(&serde_json::json!({"model": config, "train": tc}))
            .expect("config serialises")
            .as_bytes(),
    )?;
    let name = format!("{} (seed {})", config.name(), tc.seed);
    if !a.quiet {
        eprintln!(
            "{name}: {} parameters, {}, {} steps",
            model.parameter_count(),
            splits_line(faces),
            tc.steps
        );
    }
    let mut log = crate::progress::MetricsLog::open(sub)?;
    let clock = Instant::now();
    let bar = crate::progress::Progress::new(&name, tc.steps, a.quiet);
    let start = run_train(
        &mut model,
        &mut adam,
        faces,
        train_idx,
        &tc,
        Some(&checkpoint),
        metadata,
        |log_step, model| {
            let mut line = serde_json::json!({
                "step": log_step.step, "loss": log_step.loss, "image_mse": log_step.image_mse,
                "latent": log_step.latent, "params": log_step.params,
                "grad_norm": log_step.grad_norm, "wall_s": clock.elapsed().as_secs_f64(),
            });
            let due =
                a.val_every > 0 && (log_step.step % a.val_every == 0 || log_step.step == tc.steps);
            if due && !val_faces.is_empty() {
                // Validation contexts are drawn with seed 1; the test table uses seed 0.
                let errors = evaluate(model, faces, val_faces, &val_levels, 1, 64)?;
                line["val_mse_100"] = errors[0].1.mse.into();
                line["val_mse_full"] = errors[1].1.mse.into();
            }
            log.write("", log_step.step, &line);
            bar.update(
                log_step.step,
                log_step.loss,
                Some(format!("image MSE {:.3e}", log_step.image_mse)),
            );
            Ok(())
        },
    )?;
    bar.finish();
    crate::plots::curves_from_log(sub, "image_mse")?;
    let train_s = clock.elapsed().as_secs_f64();
    if a.no_eval {
        return Ok(Trained {
            model,
            errors: Vec::new(),
            steps: tc.steps + 1 - start,
            train_s,
        });
    }
    let errors = evaluate(&model, faces, test_idx, &ContextLevel::TABLE, 0, 64)?;
    write_atomic(
        &sub.join("eval.json"),
        serde_json::to_string_pretty(&errors)
            .expect("errors serialise")
            .as_bytes(),
    )?;
    let shown: Vec<usize> = test_idx.iter().copied().take(4).collect();
    figure(&model, faces, &shown, 0, &sub.join("completions.png"))?;
    Ok(Trained {
        model,
        errors,
        steps: tc.steps + 1 - start,
        train_s,
    })
}

/// Mean and sample standard deviation.
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// A table row over seeds: mean MSE, its spread (with several seeds), mean RMSE.
fn seeds_row(name: &str, per_seed: &[Vec<Errors>]) -> String {
    let cells: Vec<String> = (0..ContextLevel::TABLE.len())
        .map(|l| {
            let (mse, spread) = mean_std(&per_seed.iter().map(|e| e[l].mse).collect::<Vec<_>>());
            let (rmse, _) = mean_std(&per_seed.iter().map(|e| e[l].rmse).collect::<Vec<_>>());
            if per_seed.len() > 1 {
                format!("{mse:.4} ± {spread:.4} ({rmse:.3})")
            } else {
                format!("{mse:.4} ({rmse:.3})")
            }
        })
        .collect();
    format!("| {name} | {} |\n", cells.join(" | "))
}

/// Per context level, the models from best to worst: `<` where the means differ by more than
/// the two spreads together, `≈` where they do not.
fn ordering_lines(rows: &[(String, Vec<Vec<Errors>>)]) -> String {
    let mut out = String::new();
    for (l, level) in ContextLevel::TABLE.iter().enumerate() {
        let mut stats: Vec<(&str, f64, f64)> = rows
            .iter()
            .map(|(name, per_seed)| {
                let (m, s) = mean_std(&per_seed.iter().map(|e| e[l].mse).collect::<Vec<_>>());
                (name.as_str(), m, s)
            })
            .collect();
        stats.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut line = stats[0].0.to_string();
        for pair in stats.windows(2) {
            let apart = pair[1].1 - pair[0].1 > pair[0].2 + pair[1].2;
            line += if apart { " < " } else { " ≈ " };
            line += pair[1].0;
        }
        out += &format!("- {}: {line}\n", level.name());
    }
    out
}

/// The PCA baseline's errors on the test faces, its rank chosen per level on the validation
/// faces, and the completions of `shown` (per level) for the figure.
struct PcaResult {
    pca: Pca,
    errors: Vec<Errors>,
    ranks: Vec<usize>,
    shown: Vec<Vec<Vec<f64>>>,
    seconds: f64,
}

fn pca_baseline(
    faces: &Faces,
    train_idx: &[usize],
    val_idx: &[usize],
    test_idx: &[usize],
    shown: &[usize],
) -> Result<PcaResult> {
    let clock = Instant::now();
    const RANKS: [usize; 7] = [4, 8, 16, 32, 64, 128, 256];
    let pca = Pca::fit(faces, train_idx, 256, 0)?;
    let ranks: Vec<usize> = RANKS.into_iter().filter(|&k| k <= pca.rank()).collect();
    let mut errors = Vec::new();
    let mut chosen = Vec::new();
    let mut completions = Vec::new();
    for level in ContextLevel::TABLE {
        // Validation masks are drawn with another seed than the test masks.
        let k = if val_idx.is_empty() {
            pca.rank()
        } else {
            pca.choose_rank(faces, val_idx, level, &ranks, 1)
        };
        errors.push(pca.errors(faces, test_idx, level, &[k], 0)[0]);
        chosen.push(k);
        completions.push(
            shown
                .iter()
                .map(|&i| {
                    let known = evaluation_mask(level, faces.size, 0, i);
                    pca.complete(&[k], &faces.signed(i), &known).remove(0)
                })
                .collect(),
        );
    }
    Ok(PcaResult {
        pca,
        errors,
        ranks: chosen,
        shown: completions,
        seconds: clock.elapsed().as_secs_f64(),
    })
}

/// Validation error against training steps, one chart per level logged during training
/// (`validation_100.png`, `validation_full.png`), each model's first seed beside PCA and the
/// mean face on the same validation faces and contexts.
fn validation_charts(
    dir: &Path,
    names: &[String],
    pca: &PcaResult,
    faces: &Faces,
    val_idx: &[usize],
    mean: &[f64],
) -> Result<()> {
    let val_faces = &val_idx[..val_idx.len().min(100)];
    if val_faces.is_empty() {
        return Ok(());
    }
    for (key, level, file) in [
        (
            "val_mse_100",
            ContextLevel::Pixels(100),
            "validation_100.png",
        ),
        ("val_mse_full", ContextLevel::Full, "validation_full.png"),
    ] {
        let mut series = Vec::new();
        let mut last_step = 0.0f64;
        for name in names {
            let text =
                std::fs::read_to_string(dir.join(name).join("metrics.jsonl")).unwrap_or_default();
            let mut points: Vec<(f64, f64)> = Vec::new();
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                if let (Some(step), Some(mse)) = (v["step"].as_f64(), v[key].as_f64()) {
                    points.retain(|p| p.0 < step);
                    points.push((step, mse));
                }
            }
            last_step = points.iter().map(|p| p.0).fold(last_step, f64::max);
            series.push(Series {
                name: name.clone(),
                points,
            });
        }
        if last_step == 0.0 {
            continue;
        }
        let l = ContextLevel::TABLE
            .iter()
            .position(|&t| t == level)
            .expect("a table level");
        let pca_mse = pca.pca.errors(faces, val_faces, level, &[pca.ranks[l]], 1)[0].mse;
        let mean_mse = mean_face_errors(mean, faces, val_faces).mse;
        for (name, value) in [
            (format!("PCA (k = {})", pca.ranks[l]), pca_mse),
            ("mean face".to_string(), mean_mse),
        ] {
            series.push(Series {
                name,
                points: vec![(0.0, value), (last_step, value)],
            });
        }
        crate::plots::labelled_chart(
            &dir.join(file),
            &format!(
                "Validation MSE with {} context pixels vs training step",
                level.name()
            ),
            "training step",
            "MSE on [0, 1] values",
            &series,
        )?;
    }
    Ok(())
}

/// The seed's Figure 5: one block per face, rows = context levels, columns = the context
/// shown, each model's completion (first seed), PCA's, and the truth.
fn comparison_figure<D: Backend<f32>>(
    models: &[&Hypernet<f32, D>],
    pca: &PcaResult,
    faces: &Faces,
    shown: &[usize],
    path: &Path,
) -> Result<()> {
    let size = faces.size;
    let n = size * size * 3;
    // images[level][face][column]
    let mut images: Vec<Vec<Vec<Image>>> = Vec::new();
    for (l, level) in ContextLevel::TABLE.into_iter().enumerate() {
        let masks: Vec<Vec<bool>> = shown
            .iter()
            .map(|&i| evaluation_mask(level, size, 0, i))
            .collect();
        let context = context_of(faces, shown, masks.clone());
        let predictions: Vec<Vec<f64>> = models
            .iter()
            .map(|m| predict(*m, &context))
            .collect::<Result<_>>()?;
        let mut per_face = Vec::new();
        for (j, &i) in shown.iter().enumerate() {
            let truth = faces.signed(i);
            let mut row = vec![Image::from_signed(
                size,
                size,
                3,
                &context_view(&truth, &masks[j]),
            )?];
            for p in &predictions {
                row.push(Image::from_signed(size, size, 3, &p[j * n..(j + 1) * n])?);
            }
            row.push(Image::from_signed(size, size, 3, &pca.shown[l][j])?);
            row.push(Image::from_signed(size, size, 3, &truth)?);
            per_face.push(row);
        }
        images.push(per_face);
    }
    let blocks: Vec<GridBlock> = shown
        .iter()
        .enumerate()
        .map(|(j, &i)| GridBlock {
            caption: format!("test face {}", faces.names[i]),
            images: images
                .iter()
                .map(|level| level[j].iter().collect())
                .collect(),
        })
        .collect();
    let mut columns = vec!["context".to_string()];
    columns.extend(models.iter().map(|m| m.config().name().to_string()));
    columns.push("pca".into());
    columns.push("truth".into());
    let rows: Vec<String> = ContextLevel::TABLE
        .iter()
        .map(|l| match l {
            ContextLevel::Pixels(n) => format!("{n} px"),
            other => other.name(),
        })
        .collect();
    grid_figure(
        path,
        "Faces completed from context pixels (seed Figure 5)",
        "rows: context (random pixels, top half, all); columns: the context (unknown pixels \
         black), each model's completion, PCA's, the truth",
        &rows,
        &columns,
        &blocks,
        3,
        2,
    )
}

fn train<D: Backend<f32> + dfdx::tensor::Cache>(a: TrainArgs, dev: &D) -> Result<()> {
    let clock = Instant::now();
    let dir = out_dir(&a.out)?;
    let kinds: Vec<ModelKind> = match a.encoder {
        EncoderArg::All => ModelKind::all(),
        EncoderArg::Cnn => vec![ModelKind::Hypernet(EncoderKind::Cnn)],
        EncoderArg::SetSine => vec![ModelKind::Hypernet(EncoderKind::SetSine)],
        EncoderArg::SetRelu => vec![ModelKind::Hypernet(EncoderKind::SetRelu)],
        EncoderArg::PartialCnn => vec![ModelKind::Hypernet(EncoderKind::PartialCnn)],
        EncoderArg::Cnp => vec![ModelKind::Cnp],
    };
    if a.seeds == 0 {
        return Err(Error::InvalidInput("--seeds must be at least 1".into()));
    }
    let size = 32;
    let faces = a.data.load(size, &dir, !a.quiet)?;
    let train_idx = faces.indices(Split::Train);
    let val_idx = faces.indices(Split::Val);
    let test_idx = faces.indices(Split::Test);
    if test_idx.is_empty() {
        return Err(Error::InvalidInput(
            "no test face: the folder needs at least two images".into(),
        ));
    }
    let mean = mean_face(&faces, &train_idx);
    let baseline = mean_face_errors(&mean, &faces, &test_idx);
    let mut rows: Vec<(String, Vec<Vec<Errors>>)> = Vec::new();
    let mut first_models = Vec::new();
    let mut timings = String::new();
    for (s, seed) in (a.seed..a.seed + a.seeds as u64).enumerate() {
        for (m, &kind) in kinds.iter().enumerate() {
            let (config, mut tc) = settings(kind, a.scale);
            tc.steps = a.steps.unwrap_or(tc.steps);
            tc.batch = a.batch.unwrap_or(tc.batch);
            tc.lr = a.lr.unwrap_or(tc.lr);
            if let Some(law) = a.context_law {
                tc.log_uniform_context = matches!(law, ContextLaw::LogUniform);
            }
            tc.full_context_share = a.full_context_share.unwrap_or(tc.full_context_share);
            tc.param_weight = a.param_weight.unwrap_or(tc.param_weight);
            tc.latent_weight = a.latent_weight.unwrap_or(tc.latent_weight);
            tc.seed = seed;
            tc.validate()?;
            // A step renders every pixel of every face of the batch through the generated
            // SIREN, keeping each layer's pre-activation, activation and a gradient (f32).
            let hw = (config.image_size * config.image_size) as u128;
            let faces_per_step = tc.batch.min(train_idx.len()) as u128;
            let units = (config.siren_width.max(config.hyper_width)) as u128
                * (config.siren_hidden_layers as u128 + 2);
            siren_core::device::check_memory(
                faces_per_step * hw * units * 12,
                &format!("a step of {faces_per_step} faces"),
                "choose a smaller --batch",
            )?;
            let name = config.name().to_string();
            // The first seed in NAME/, each further one in NAME/seed-S/.
            let sub = if s == 0 {
                out_dir(&dir.join(&name))?
            } else {
                out_dir(&dir.join(&name).join(format!("seed-{seed}")))?
            };
            let trained = train_one(
                &a, config, tc, &faces, &train_idx, &val_idx, &test_idx, &mean, &sub, dev,
            )?;
            timings += &format!(
                "- {name}, seed {seed}: {} steps in {:.0} s ({} parameters)\n",
                trained.steps,
                trained.train_s,
                trained.model.parameter_count()
            );
            let errors: Vec<Errors> = trained.errors.iter().map(|(_, e)| *e).collect();
            if s == 0 {
                rows.push((name, vec![errors]));
                first_models.push(trained.model);
            } else {
                rows[m].1.push(errors);
            }
        }
    }
    if a.no_eval {
        if !a.quiet {
            eprint!("trained without evaluation (--no-eval):\n{timings}");
        }
        return Ok(());
    }
    let shown: Vec<usize> = test_idx.iter().copied().take(6).collect();
    let pca = pca_baseline(&faces, &train_idx, &val_idx, &test_idx, &shown)?;
    timings += &format!("- PCA: fitted and ranks chosen in {:.0} s\n", pca.seconds);
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    validation_charts(&dir, &names, &pca, &faces, &val_idx, &mean)?;
    let refs: Vec<&Hypernet<f32, D>> = first_models.iter().collect();
    comparison_figure(&refs, &pca, &faces, &shown, &dir.join("completions.png"))?;
    let mut table = table_header();
    for (name, per_seed) in &rows {
        table += &seeds_row(name, per_seed);
    }
    let ranks: Vec<String> = pca.ranks.iter().map(|k| k.to_string()).collect();
    table += &seeds_row(
        &format!("PCA (k = {})", ranks.join(" / ")),
        std::slice::from_ref(&pca.errors),
    );
    table += &reference_rows(&baseline);
    let mut all_rows = rows.clone();
    all_rows.push(("pca".into(), vec![pca.errors.clone()]));
    all_rows.push((
        "mean face".into(),
        vec![vec![baseline; ContextLevel::TABLE.len()]],
    ));
    let memory = siren_core::device::peak_memory()
        .map(|b| format!("; peak resident memory {:.2} GB", b as f64 / 1e9))
        .unwrap_or_default();
    let seeds_note = if a.seeds > 1 {
        format!(
            "Cells: mean over {} seeds ({}..{}) ± the seeds' standard deviation of the MSE per \
             pixel and channel on [0, 1] values, predictions clipped (what the paper's table \
             reports), and in brackets the mean per-face RMSE.",
            a.seeds,
            a.seed,
            a.seed + a.seeds as u64 - 1
        )
    } else {
        "Cells: MSE per pixel and channel on [0, 1] values, predictions clipped (what the \
         paper's table reports), and in brackets the mean per-face RMSE."
            .to_string()
    };
    let report = format!(
        "# Hypernetwork: error vs context pixels\n\n{}.\n\n{seeds_note} Columns: number of \
         random context pixels, the top half, all pixels. CNP: a conditional neural process \
         (Garnelo et al. 2018; ReLU set encoder, mean aggregation, MLP decoder on (x, y, r)), \
         trained with the same steps, contexts and image loss (no likelihood variance). PCA: \
         the training faces' principal components fitted to the context pixels (probabilistic \
         PCA's posterior mean), k per column chosen on the {} validation faces; it does not \
         depend on the seed. Paper rows: the SIREN paper's Table 1 (full CelebA, 32x32, \
         200,000 steps of 100 faces).\n\n{table}\nOrdering per column (`<`: the means differ \
         by more than the two spreads together; `≈`: they do not):\n\n{}\nTime: {:.1} min in \
         all{memory}.\n\n{timings}\nFigures: `completions.png` (6 test faces; rows: context \
         10, 100, 1000, half, full; columns: context, each model's completion (first seed), \
         PCA's, truth); `validation_100.png` and `validation_full.png` (validation error against \
         training steps, first seed); `NAME/completions.png` and `NAME/curves.png` per model.\n",
        splits_line(&faces),
        val_idx.len(),
        ordering_lines(&all_rows),
        clock.elapsed().as_secs_f64() / 60.0,
    );
    write_atomic(&dir.join("results.md"), report.as_bytes())?;
    if !a.quiet {
        println!("{table}");
    }
    Ok(())
}

fn eval<D: Backend<f32>>(a: EvalArgs, dev: &D) -> Result<()> {
    let dir = out_dir(&a.out)?;
    let (model, _, meta) = load_model(&a.checkpoint, dev)?;
    let faces = a.data.load(model.config().image_size, &dir, !a.quiet)?;
    let test_idx = faces.indices(Split::Test);
    let errors = evaluate(&model, &faces, &test_idx, &ContextLevel::TABLE, a.seed, 64)?;
    // The mean of the faces the model was trained on, stored with it; a checkpoint from
    // before it was stored falls back to this folder's training faces, and says so.
    let (mean, whose) = match meta.get(MEAN_KEY) {
        Some(json) => {
            let values: Vec<f64> = serde_json::from_str(json).map_err(|e| Error::BadFile {
                path: a.checkpoint.clone(),
                what: "hypernetwork checkpoint",
                reason: format!("its stored mean face is not a list of numbers: {e}"),
            })?;
            let size = model.config().image_size;
            if values.len() != size * size * 3 {
                return Err(Error::BadFile {
                    path: a.checkpoint.clone(),
                    what: "hypernetwork checkpoint",
                    reason: format!(
                        "its stored mean face has {} values, not {size}x{size}x3",
                        values.len()
                    ),
                });
            }
            (values, "the model's training faces (stored with it)")
        }
        None => (
            mean_face(&faces, &faces.indices(Split::Train)),
            "this folder's training faces (the checkpoint stores none)",
        ),
    };
    let baseline = mean_face_errors(&mean, &faces, &test_idx);
    let mut table = table_header();
    table += &table_row(model.config().name(), &errors);
    table += &reference_rows(&baseline);
    write_atomic(
        &dir.join("results.md"),
        format!(
            "{}; the mean-face row is the mean of {whose}.\n\n{table}",
            splits_line(&faces)
        )
        .as_bytes(),
    )?;
    let shown: Vec<usize> = test_idx.iter().copied().take(4).collect();
    figure(&model, &faces, &shown, a.seed, &dir.join("completions.png"))?;
    if !a.quiet {
        println!("{table}");
    }
    Ok(())
}

fn complete<D: Backend<f32>>(a: CompleteArgs, dev: &D) -> Result<()> {
    crate::output_is_not_an_input(&a.out, &[&a.checkpoint, &a.image])?;
    let (model, _, _) = load_model(&a.checkpoint, dev)?;
    let size = model.config().image_size;
    let level = ContextLevel::parse(&a.context)?;
    let face: Vec<f64> = load_face(&a.image, size)?
        .into_iter()
        .map(|v| v as f64 / 127.5 - 1.0)
        .collect();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(a.seed);
    let known = level.mask(size, &mut rng);
    let context = Context {
        size,
        pixels: face.clone(),
        known: known.clone(),
    };
    let prediction = predict(&model, &context)?;
    let seen = context_view(&face, &known);
    let panels = [
        Image::from_signed(size, size, 3, &seen)?.upscaled(8)?,
        Image::from_signed(size, size, 3, &prediction)?.upscaled(8)?,
        Image::from_signed(size, size, 3, &face)?.upscaled(8)?,
    ];
    side_by_side(&panels.iter().collect::<Vec<_>>(), 4)?.save_png(&a.out)?;
    let mse = siren_hypernet::training::face_mse(&prediction, &face);
    println!(
        "completed from {} context pixels: MSE {mse:.4} on [0, 1] values; wrote {}",
        known.iter().filter(|&&k| k).count(),
        a.out.display()
    );
    Ok(())
}
