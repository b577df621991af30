//! `siren audio`: a WAV clip fitted by a SIREN and by the ReLU + positional-encoding baseline.

use std::path::PathBuf;

use clap::Args;
use siren_core::{Backend, Result};
use siren_signal::audio::{audio_quality, fit_audio, Audio, AudioQuality};
use siren_signal::{Model, SignalConfig};

use super::{Defaults, SignalFlags, SignalLog};
use crate::out_dir;
use crate::plots::{labelled_chart, Series};

#[derive(Args, Debug)]
pub struct AudioArgs {
    /// WAV file (integer or float PCM, any rate and channels).
    wav: PathBuf,
    #[command(flatten)]
    train: SignalFlags,
    /// Octaves of the baseline's positional encoding; default: the original's Nyquist rule
    /// for the clip's length, floor(log2(samples / 4)) (16 for the 7 s Bach clip at 44.1 kHz).
    #[arg(long)]
    pe_frequencies: Option<usize>,
    /// Skip the ReLU + positional-encoding baseline.
    #[arg(long)]
    no_baseline: bool,
}

impl AudioArgs {
    /// The baseline's octaves: `--pe-frequencies`, or the Nyquist rule for `clip`'s length.
    fn pe_frequencies(&self, clip: &Audio) -> usize {
        self.pe_frequencies
            .unwrap_or_else(|| siren_core::Encoding::nyquist_frequencies(clip.frames()))
    }
}

/// The original code's audio settings: 3 hidden layers of 256, first omega_0 3000, the whole
/// clip every step, 1000 steps (its notebook).
const DEFAULTS: Defaults = Defaults {
    steps: 1000,
    hidden: 256,
    first_w0: 3000.0,
    batch: None,
};

pub fn audio<D: Backend<f32>>(a: AudioArgs, dev: &D) -> Result<()> {
    let clip = Audio::open(&a.wav)?;
    let pe_frequencies = a.pe_frequencies(&clip);
    let dir = out_dir(&a.train.out)?;
    for out in ["siren.wav", "relu-pe.wav"] {
        crate::output_is_not_an_input(&dir.join(out), &[&a.wav])?;
    }
    let mut log = SignalLog::open(&dir, "snr", a.train.quiet)?;
    let siren = a.train.siren(&DEFAULTS, &dir, "siren");
    let mut runs: Vec<(String, SignalConfig)> = vec![("SIREN".into(), siren.clone())];
    if !a.no_baseline {
        let mut relu = siren.clone();
        relu.model = Model::ReluPositional {
            frequencies: pe_frequencies,
        };
        relu.checkpoint = a.train.siren(&DEFAULTS, &dir, "relu-pe").checkpoint;
        runs.push(("ReLU + PE".into(), relu));
    }
    let mut rows = Vec::new();
    let mut reconstructions = Vec::new();
    let mut truth = Vec::new();
    for (name, config) in &runs {
        let started = std::time::Instant::now();
        log.start(config.model.name(), config.steps);
        let fit = fit_audio::<f32, D>(&clip, config, dev, |r| log.record(r))?;
        let estimate = fit.reconstruct()?;
        let quality = audio_quality(&estimate, &fit.normalised)?;
        let file = format!("{}.wav", config.model.name());
        fit.to_audio(clip.rate)?.save(dir.join(&file))?;
        fit.fitted
            .network
            .save(dir.join(format!("{}.safetensors", config.model.name())))?;
        rows.push((name.clone(), quality, started.elapsed().as_secs_f64(), file));
        reconstructions.push((name.clone(), estimate));
        truth = fit.normalised;
    }
    log.finish();
    write_tables(&dir, &a, &clip, &runs[0].1, &rows)?;
    draw(&dir, &clip, &truth, &reconstructions)?;
    crate::plots::curves_from_log(&dir, "snr")
}

fn write_tables(
    dir: &std::path::Path,
    a: &AudioArgs,
    clip: &Audio,
    config: &SignalConfig,
    rows: &[(String, AudioQuality, f64, String)],
) -> Result<()> {
    let mut md = format!(
        "# Audio: {}\n\n{} channel(s), {} Hz, {:.2} s ({} samples per channel), normalised by its peak {:.4}.\n\
         Networks 1 -> {}x{} -> {}, {} steps of {} samples, Adam {}; SIREN first w0 {}, hidden w0 {}; \
         the baseline is a ReLU MLP on a positional encoding of {} octaves.\n\n\
         | model | MSE | SNR (dB) | PSNR (dB) | train time | reconstruction |\n|---|---|---|---|---|---|\n",
        a.wav.display(),
        clip.channels,
        clip.rate,
        clip.seconds(),
        clip.frames(),
        clip.peak(),
        config.hidden_features,
        config.hidden_layers + 1,
        clip.channels,
        config.steps,
        config
            .batch
            .map_or("all".to_string(), |b| b.min(clip.frames()).to_string()),
        config.lr,
        match config.model {
            Model::Siren { first_w0, .. } => first_w0,
            _ => 0.0,
        },
        match config.model {
            Model::Siren { hidden_w0, .. } => hidden_w0,
            _ => 0.0,
        },
        a.pe_frequencies(clip),
    );
    let mut json = Vec::new();
    for (name, q, secs, file) in rows {
        md += &format!(
            "| {name} | {:.3e} | {:.2} | {:.2} | {:.1} min | `{file}` |\n",
            q.mse,
            q.snr,
            q.psnr,
            secs / 60.0
        );
        json.push(serde_json::json!({"model": name, "mse": q.mse, "snr": q.snr, "psnr": q.psnr, "train_s": secs}));
    }
    super::write_results(dir, &md, &serde_json::Value::Array(json))
}

/// `waveform.png`: 20 ms from the middle of the clip, truth and each model; `residual.png`:
/// the largest residual in each of 400 stretches of the clip, per model.
fn draw(
    dir: &std::path::Path,
    clip: &Audio,
    truth: &[f32],
    reconstructions: &[(String, Vec<f32>)],
) -> Result<()> {
    let c = clip.channels;
    let n = clip.frames();
    let window = ((clip.rate as usize) / 50).max(2).min(n);
    let from = (n - window) / 2;
    let ms = |i: usize| i as f64 * 1000.0 / clip.rate as f64;
    let channel0 = |v: &[f32]| -> Vec<(f64, f64)> {
        (from..from + window)
            .map(|i| (ms(i), v[i * c] as f64))
            .collect()
    };
    // The models first, so each keeps its colour in both figures.
    let mut series: Vec<Series> = reconstructions
        .iter()
        .map(|(name, r)| Series {
            name: name.clone(),
            points: channel0(r),
        })
        .collect();
    series.push(Series {
        name: "ground truth".into(),
        points: channel0(truth),
    });
    labelled_chart(
        &dir.join("waveform.png"),
        &format!("Waveform, 20 ms from the middle of the clip (channel 1 of {c})"),
        "time (ms)",
        "amplitude (normalised)",
        &series,
    )?;
    let bins = 400.min(n);
    let residual: Vec<Series> = reconstructions
        .iter()
        .map(|(name, r)| Series {
            name: name.clone(),
            points: (0..bins)
                .map(|b| {
                    let (lo, hi) = (b * n / bins, ((b + 1) * n / bins).max(b * n / bins + 1));
                    let worst = (lo * c..hi * c)
                        .map(|i| (r[i] - truth[i]).abs() as f64)
                        .fold(0.0, f64::max);
                    (lo as f64 / clip.rate as f64, worst)
                })
                .collect(),
        })
        .collect();
    labelled_chart(
        &dir.join("residual.png"),
        "Largest |residual| in each 1/400 of the clip",
        "time (s)",
        "|truth - fit| (normalised)",
        &residual,
    )
}
