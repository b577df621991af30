//! The settings and the training loop the three signals share: a fresh network and Adam,
//! one optimisation step per call (the signal's own loss on its own batch), a quality
//! measured every few steps, checkpoints and resuming through [`siren_core::train::run_steps`].

use serde::{Deserialize, Serialize};
use siren_core::train::{run_steps, Checkpointing, RunPlan};
use siren_core::Backend;
use siren_core::{Adam, AdamConfig, BiasInit, Error, Float, Network, NetworkConfig, Result};

/// The coordinate network a signal is fitted with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Model {
    /// A SIREN; the first layer's $\omega_0$ is its own (audio needs thousands).
    Siren {
        /// $\omega_0$ of the first layer.
        first_w0: f64,
        /// $\omega_0$ of the hidden layers.
        hidden_w0: f64,
    },
    /// The baseline: a ReLU MLP on a positional encoding with this many octaves.
    ReluPositional {
        /// Octaves $L$ of the encoding.
        frequencies: usize,
    },
}

impl Model {
    /// Short name for tables and file names.
    pub fn name(&self) -> &'static str {
        match self {
            Model::Siren { .. } => "siren",
            Model::ReluPositional { .. } => "relu-pe",
        }
    }
}

/// Network and optimisation settings of a signal fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalConfig {
    /// The network kind.
    pub model: Model,
    /// Hidden width.
    pub hidden_features: usize,
    /// Hidden-to-hidden layers.
    pub hidden_layers: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Optimisation steps.
    pub steps: usize,
    /// Points per step; `None` for all of them.
    pub batch: Option<usize>,
    /// Seed of the initialisation and of the sampling.
    pub seed: u64,
    /// Measure quality every this many steps (and at the last); 0 for only at the last.
    pub eval_every: usize,
    /// Bias initialisation of the sine layers.
    pub bias_init: BiasInit,
    /// Hold this fraction of the points out of training as a validation set, measured into
    /// [`StepRecord::validation`] ([`SignalConfig::held_out`] says which); `None`: train on all.
    #[serde(default)]
    pub validation: Option<f64>,
    /// Where and how often to checkpoint, and whether to resume.
    #[serde(skip)]
    pub checkpoint: Option<Checkpointing>,
}

impl SignalConfig {
    /// A SIREN of `layers` hidden-to-hidden layers of `hidden`, with these $\omega_0$.
    pub fn siren(hidden: usize, layers: usize, first_w0: f64, hidden_w0: f64) -> Self {
        Self {
            model: Model::Siren {
                first_w0,
                hidden_w0,
            },
            hidden_features: hidden,
            hidden_layers: layers,
            lr: 1e-4,
            steps: 1000,
            batch: None,
            seed: 0,
            eval_every: 100,
            bias_init: BiasInit::WeightLaw,
            validation: None,
            checkpoint: None,
        }
    }

    /// Whether point `p` is held out for validation: a hash of the seed and `p` against
    /// [`SignalConfig::validation`], so membership needs no storage however many points a
    /// signal has (a video's millions of pixels).
    pub fn held_out(&self, p: usize) -> bool {
        let Some(fraction) = self.validation else {
            return false;
        };
        // splitmix64 of (seed, p): uniform in [0, 1) and independent of the step streams
        let mut z =
            (self.seed ^ 0x7a11_d00d).wrapping_add((p as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64) < fraction
    }

    /// `count` distinct points of `n` drawn from `rng` that training may use (none held out),
    /// or fewer if there are not that many.
    pub fn training_sample(&self, rng: &mut impl rand::Rng, n: usize, count: usize) -> Vec<usize> {
        let draw = match self.validation {
            None => count.min(n),
            // enough draws that the kept ones reach `count`
            Some(f) => (((count as f64) / (1.0 - f).max(1e-3)) * 1.1 + 64.0).ceil() as usize,
        };
        rand::seq::index::sample(rng, n, draw.min(n))
            .into_iter()
            .filter(|&p| !self.held_out(p))
            .take(count)
            .collect()
    }

    /// The network for `inputs` coordinates and `outputs` channels.
    pub fn network(&self, inputs: usize, outputs: usize) -> NetworkConfig {
        let (h, l) = (self.hidden_features, self.hidden_layers);
        match self.model {
            Model::Siren {
                first_w0,
                hidden_w0,
            } => NetworkConfig::siren(inputs, outputs, h, l)
                .with_w0(first_w0, hidden_w0)
                .with_bias_init(self.bias_init),
            Model::ReluPositional { frequencies } => {
                NetworkConfig::relu_positional(inputs, outputs, h, l, frequencies)
            }
        }
    }

    /// Checks the values, naming the bad one.
    pub fn validate(&self, inputs: usize, outputs: usize) -> Result<()> {
        if self.steps == 0 {
            return Err(Error::InvalidConfig("steps must be at least 1".into()));
        }
        if self.batch == Some(0) {
            return Err(Error::InvalidConfig(
                "batch must be at least 1 (omit it for all points)".into(),
            ));
        }
        if let Some(f) = self.validation {
            if !(f > 0.0 && f < 1.0) {
                return Err(Error::InvalidConfig(format!(
                    "the validation fraction must be in (0, 1), got {f}"
                )));
            }
        }
        AdamConfig {
            lr: self.lr,
            ..Default::default()
        }
        .validate()?;
        self.network(inputs, outputs).validate()
    }

    /// Whether step `step` (1-based) is a measuring step.
    pub fn measures(&self, step: usize) -> bool {
        step == self.steps || (self.eval_every > 0 && step.is_multiple_of(self.eval_every))
    }

    /// Refuses a step over `points` points carrying `passes` forward passes that would not
    /// fit in memory ([`siren_core::device::check_step_memory`]).
    pub fn check_step_memory(&self, points: usize, passes: usize) -> Result<()> {
        siren_core::device::check_step_memory(
            self.hidden_features,
            self.hidden_layers,
            points,
            passes,
            "give a smaller --batch or --hidden",
        )
    }
}

/// One logged step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 1-based step.
    pub step: usize,
    /// Training loss of that step.
    pub loss: f64,
    /// The signal's quality measure where measured (PSNR or SNR in dB, or a distance).
    pub metric: Option<f64>,
    /// The same measure on the held-out validation points, where measured and a run has them.
    #[serde(default)]
    pub validation: Option<f64>,
}

/// A trained network and the records of its measuring steps and last step.
pub struct Fitted<E: Float, D: Backend<E>> {
    /// The network.
    pub network: Network<E, D>,
    /// Records of the measuring steps and of the last step.
    pub history: Vec<StepRecord>,
}

/// Runs a fit: a fresh network from `config` with `inputs` and `outputs`, `config.steps`
/// calls of `step`, `measure` (the metric, and on the validation points where there are any)
/// on measuring steps, every record to `observe`. `data` names the
/// signal (its fingerprint) so that a checkpoint of another signal is never resumed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_fit<E: Float, D: Backend<E>>(
    config: &SignalConfig,
    inputs: usize,
    outputs: usize,
    data: &str,
    device: &D,
    mut step: impl FnMut(usize, &mut Network<E, D>, &mut Adam<E, D>) -> Result<f64>,
    mut measure: impl FnMut(&Network<E, D>) -> Result<(f64, Option<f64>)>,
    mut observe: impl FnMut(&StepRecord),
) -> Result<Fitted<E, D>> {
    config.validate(inputs, outputs)?;
    let mut network = Network::<E, D>::new(config.network(inputs, outputs), config.seed, device)?;
    let mut adam = Adam::new(
        &network,
        AdamConfig {
            lr: config.lr,
            ..Default::default()
        },
    )?;
    let identity = {
        let mut c = config.clone();
        c.steps = 0;
        c.eval_every = 0;
        serde_json::to_string(&(c, inputs, outputs, data)).expect("config serialises")
    };
    let plan = RunPlan {
        key: "siren_rs.signal",
        identity,
        steps: config.steps,
        checkpoint: config.checkpoint.as_ref(),
        metadata: vec![siren_core::checkpoint::network_entry(&network)],
    };
    let mut history = Vec::new();
    run_steps(
        &mut network,
        &mut adam,
        &plan,
        &mut step,
        |s, loss, network| {
            let (metric, validation) = if config.measures(s) {
                let (m, v) = measure(network)?;
                (Some(m), v)
            } else {
                (None, None)
            };
            let record = StepRecord {
                step: s,
                loss,
                metric,
                validation,
            };
            observe(&record);
            if record.metric.is_some() || s == config.steps {
                history.push(record);
            }
            Ok(())
        },
    )?;
    Ok(Fitted { network, history })
}

/// Evaluates `network` at the row-major `(points, d)` coordinates `coords` in chunks of
/// `chunk` points, returning the row-major outputs (what rendering a whole signal needs
/// without holding every activation at once).
pub fn predict_points<E: Float, D: Backend<E>>(
    network: &Network<E, D>,
    coords: &[f64],
    chunk: usize,
) -> Result<Vec<f32>> {
    let d = network.config().in_features;
    let device = network.device().clone();
    let mut out = Vec::with_capacity(coords.len() / d * network.config().out_features);
    for rows in coords.chunks(chunk.max(1) * d) {
        let x = siren_core::train::to_matrix::<E, D>(&device, rows, d);
        out.extend(
            network
                .forward(&x)?
                .as_vec()
                .into_iter()
                .map(|v| v.as_f64() as f32),
        );
    }
    Ok(out)
}
