//! # siren-signal
//!
//! The other signals the paper represents with SIRENs (Sections 1 and 6): sound
//! ([`audio`]: WAV in and out, $t \mapsto$ amplitude), video ([`video`]: H.264 in MP4 or a
//! folder of frames, $(t, \text{row}, \text{col}) \mapsto$ RGB) and shapes ([`sdf`]: oriented
//! point clouds, the signed-distance loss with its Eikonal term, marching cubes, Chamfer
//! distance and shaded pictures). [`fit`] holds the settings and the loop the three share.
//!
//! Fitting a synthetic tone with a small SIREN:
//!
//! ```
//! use dfdx::prelude::*;
//! use siren_signal::audio::{fit_audio, Audio};
//! use siren_signal::fit::SignalConfig;
//!
//! let samples = (0..2000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
//! let clip = Audio { rate: 8000, channels: 1, samples };
//! let config = SignalConfig { steps: 300, eval_every: 0, ..SignalConfig::siren(64, 2, 300.0, 30.0) };
//! let fit = fit_audio::<f32, Cpu>(&clip, &config, &Cpu::default(), |_| {})?;
//! let snr = fit.fitted.history.last().and_then(|r| r.metric).expect("measured at the end");
//! assert!(snr > 20.0, "SNR {snr:.1} dB");
//! # Ok::<(), siren_core::Error>(())
//! ```

pub mod audio;
pub mod fit;
pub mod sdf;
pub mod video;

pub use fit::{Fitted, Model, SignalConfig, StepRecord};
