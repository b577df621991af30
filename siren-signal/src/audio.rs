//! Audio: a WAV file of any sample rate and channel count as $\phi: t \mapsto$ one value per
//! channel, $t \in [-1, 1]$ over the clip (sample $i$ of $n$ at $2i/(n-1) - 1$).
//!
//! As in the original code, the signal is divided by its peak $s = \max |x|$ before fitting
//! (so it spans $[-1, 1]$) and multiplied back when written. A sample $i$ of $n$ sits
//! $2/(n-1)$ from the next, so the first layer needs a large $\omega_0$ (3000 for 7 s at
//! 44.1 kHz) to reach the clip's frequencies; the hidden layers keep 30.
//!
//! Quality is measured on the normalised signal: the MSE, the SNR
//! $10 \log_{10}(\sum x^2 / \sum (x - \hat x)^2)$ and the PSNR over its range of 2.

use std::path::Path;

use siren_core::train::{gather_rows, mse, step_rng, to_matrix, train_step};
use siren_core::Backend;
use siren_core::{Error, Float, Order, Result};

use crate::fit::{predict_points, run_fit, Fitted, SignalConfig, StepRecord};

/// Most samples (frames times channels) a clip may hold: 2^28, 1 GB of `f32`.
pub const MAX_SAMPLES: u64 = 1 << 28;

/// A clip: `frames` frames of `channels` interleaved samples in $[-1, 1]$ (integer PCM
/// divided by its full scale, float PCM as stored).
#[derive(Clone, Debug, PartialEq)]
pub struct Audio {
    /// Frames per second.
    pub rate: u32,
    /// Channels.
    pub channels: usize,
    /// Interleaved samples, `frames * channels`.
    pub samples: Vec<f32>,
}

fn bad(path: &Path, reason: String) -> Error {
    Error::BadFile {
        path: path.to_path_buf(),
        what: "WAV file",
        reason,
    }
}

impl Audio {
    /// Reads a WAV file: integer PCM of 8 to 32 bits or 32-bit float, any rate and channels.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        siren_core::io::check_input_file(path, "WAV file", 4 * MAX_SAMPLES + (1 << 20))?;
        let reader = hound::WavReader::open(path).map_err(|e| match e {
            hound::Error::IoError(source) => Error::Io {
                action: "cannot read the WAV file",
                path: path.to_path_buf(),
                source,
            },
            other => bad(
                path,
                format!("{other} (a RIFF/WAVE file with PCM or float samples is needed)"),
            ),
        })?;
        let spec = reader.spec();
        let total = reader.duration() as u64 * spec.channels as u64;
        if spec.channels == 0 || spec.sample_rate == 0 {
            return Err(bad(path, "the header gives no channels or no rate".into()));
        }
        if total == 0 {
            return Err(bad(path, "it holds no samples".into()));
        }
        if total > MAX_SAMPLES {
            return Err(bad(
                path,
                format!("{total} samples is more than the {MAX_SAMPLES} this reads; cut the clip"),
            ));
        }
        let truncated = |e: hound::Error| {
            bad(
                path,
                format!("{e}: the data ends before the header's {total} samples (truncated?)"),
            )
        };
        let samples: Vec<f32> = match spec.sample_format {
            hound::SampleFormat::Float => {
                if spec.bits_per_sample != 32 {
                    return Err(bad(
                        path,
                        format!(
                            "{}-bit float samples are not read; use 32-bit float or PCM",
                            spec.bits_per_sample
                        ),
                    ));
                }
                reader
                    .into_samples::<f32>()
                    .collect::<std::result::Result<_, _>>()
                    .map_err(truncated)?
            }
            hound::SampleFormat::Int => {
                let full = (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f64;
                reader
                    .into_samples::<i32>()
                    .map(|s| s.map(|v| (v as f64 / full) as f32))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(truncated)?
            }
        };
        if samples.iter().any(|s| !s.is_finite()) {
            return Err(bad(path, "it holds NaN or infinite samples".into()));
        }
        Ok(Self {
            rate: spec.sample_rate,
            channels: spec.channels as usize,
            samples,
        })
    }

    /// Frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames() as f64 / self.rate as f64
    }

    /// The largest magnitude of any sample (the original code's scale).
    pub fn peak(&self) -> f32 {
        self.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()))
    }

    /// Writes a 32-bit float WAV, atomically (a temporary file renamed into place).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let spec = hound::WavSpec {
            channels: self.channels as u16,
            sample_rate: self.rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        siren_core::io::write_atomic_with(path, |tmp: &Path| {
            let fail = |e: hound::Error| {
                Error::InvalidInput(format!("cannot write {}: {e}", tmp.display()))
            };
            let mut w = hound::WavWriter::create(tmp, spec).map_err(fail)?;
            for &s in &self.samples {
                w.write_sample(s).map_err(fail)?;
            }
            w.finalize().map_err(fail)
        })
    }

    /// Fingerprint of the samples, naming the clip in checkpoints.
    pub fn fingerprint(&self) -> String {
        let bytes: Vec<u8> = self.samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        format!(
            "{}x{}@{}:{:016x}",
            self.frames(),
            self.channels,
            self.rate,
            siren_core::io::fnv1a(&bytes)
        )
    }
}

/// Reconstruction quality on the normalised signal.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AudioQuality {
    /// Mean squared error.
    pub mse: f64,
    /// Signal-to-noise ratio in dB.
    pub snr: f64,
    /// PSNR in dB over the range of 2 (the signal spans $[-1, 1]$).
    pub psnr: f64,
}

/// Compares a reconstruction with the truth (equal lengths).
pub fn audio_quality(estimate: &[f32], truth: &[f32]) -> Result<AudioQuality> {
    if estimate.len() != truth.len() || truth.is_empty() {
        return Err(Error::InvalidInput(format!(
            "cannot compare {} samples with {}",
            estimate.len(),
            truth.len()
        )));
    }
    let (mut err, mut power) = (0.0f64, 0.0f64);
    for (&e, &t) in estimate.iter().zip(truth) {
        err += (e as f64 - t as f64).powi(2);
        power += (t as f64).powi(2);
    }
    let mse = err / truth.len() as f64;
    Ok(AudioQuality {
        mse,
        snr: 10.0 * (power / err).log10(),
        psnr: siren_core::stats::psnr_from_mse(mse, 2.0),
    })
}

/// A fitted clip: the network, its log, the normalised truth and the scale.
pub struct FittedAudio<E: Float, D: Backend<E>> {
    /// Network and log (the metric is the SNR in dB).
    pub fitted: Fitted<E, D>,
    /// The clip divided by its peak.
    pub normalised: Vec<f32>,
    /// The peak it was divided by.
    pub scale: f32,
}

impl<E: Float, D: Backend<E>> FittedAudio<E, D> {
    /// The network's normalised reconstruction at every sample.
    pub fn reconstruct(&self) -> Result<Vec<f32>> {
        let frames = self.normalised.len() / self.fitted.network.config().out_features;
        predict_points(
            &self.fitted.network,
            &siren_core::train::grid(&[frames]),
            1 << 15,
        )
    }

    /// The reconstruction as a clip at the original scale and rate.
    pub fn to_audio(&self, rate: u32) -> Result<Audio> {
        let channels = self.fitted.network.config().out_features;
        Ok(Audio {
            rate,
            channels,
            samples: self
                .reconstruct()?
                .into_iter()
                .map(|s| (s * self.scale).clamp(-1.0, 1.0))
                .collect(),
        })
    }
}

/// Fits `audio` with `config` (each step on `config.batch` random samples, or all), measuring
/// the SNR of the whole clip on measuring steps.
pub fn fit_audio<E: Float, D: Backend<E>>(
    audio: &Audio,
    config: &SignalConfig,
    device: &D,
    observe: impl FnMut(&StepRecord),
) -> Result<FittedAudio<E, D>> {
    let c = audio.channels;
    config.validate(1, c)?;
    let n = audio.frames();
    config.check_step_memory(config.batch.unwrap_or(n).min(n), 1)?;
    let scale = audio.peak();
    if scale == 0.0 {
        return Err(Error::InvalidInput(
            "the clip is silent (every sample is 0): there is nothing to fit".into(),
        ));
    }
    let normalised: Vec<f32> = audio.samples.iter().map(|s| s / scale).collect();
    let coords = siren_core::train::grid(&[n]);
    let values: Vec<f64> = normalised.iter().map(|&v| v as f64).collect();
    // Without `config.validation` every sample trains; with it, the held-out ones only score.
    let trainable: Vec<usize> = (0..n).filter(|&p| !config.held_out(p)).collect();
    let held: Vec<usize> = (0..n).filter(|&p| config.held_out(p)).collect();
    let full = (
        to_matrix::<E, D>(device, &gather_rows(&coords, 1, &trainable), 1),
        to_matrix::<E, D>(device, &gather_rows(&values, c, &trainable), c),
    );
    let fitted = run_fit(
        config,
        1,
        c,
        &format!("audio {}", audio.fingerprint()),
        device,
        |s, network, adam| {
            let (x, y) = match config.batch {
                Some(b) if b < trainable.len() => {
                    let idx = config.training_sample(&mut step_rng(config.seed, s), n, b);
                    (
                        to_matrix::<E, D>(device, &gather_rows(&coords, 1, &idx), 1),
                        to_matrix::<E, D>(device, &gather_rows(&values, c, &idx), c),
                    )
                }
                _ => full.clone(),
            };
            train_step(network, adam, |net, tr| {
                let jet = net.jet(&x, Order::Value, tr)?;
                Ok(mse(tr, jet.value, &y))
            })
        },
        |network| {
            let estimate = predict_points(network, &coords, 1 << 15)?;
            let validation = if held.is_empty() {
                None
            } else {
                let pick = |v: &[f32]| -> Vec<f32> {
                    held.iter()
                        .flat_map(|&p| v[p * c..(p + 1) * c].iter().copied())
                        .collect()
                };
                Some(audio_quality(&pick(&estimate), &pick(&normalised))?.snr)
            };
            Ok((audio_quality(&estimate, &normalised)?.snr, validation))
        },
        observe,
    )?;
    Ok(FittedAudio {
        fitted,
        normalised,
        scale,
    })
}
