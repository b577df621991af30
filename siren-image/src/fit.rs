//! Fitting an image with a SIREN: $\min_\theta \frac{1}{HWc}\sum (\phi_\theta(x) - b)^2$ on the
//! pixel grid, values in $[-1, 1]$ (the original code's loss), Adam, full batch by default.

use rand::seq::index::sample;
use serde::{Deserialize, Serialize};
use siren_core::train::{
    gather_rows, mse, run_steps, step_rng, to_matrix, train_step, Checkpointing, RunPlan,
};
use siren_core::Backend;
use siren_core::{Adam, AdamConfig, BiasInit, Error, Float, Network, NetworkConfig, Order, Result};

use crate::metrics::psnr;
use crate::raster::Image;
use crate::render::predict;

/// The network an image is fitted with: the SIREN, or one of the baselines the paper
/// compares it with (Figure 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ImageModel {
    /// Sine layers with [`FitConfig::w0`].
    #[default]
    Siren,
    /// A ReLU MLP on the raw coordinates.
    Relu,
    /// A ReLU MLP on a positional encoding with this many octaves.
    ReluPositional {
        /// Octaves $L$ ([`siren_core::Encoding::nyquist_frequencies`] is the original's rule).
        frequencies: usize,
    },
    /// A tanh MLP on the raw coordinates.
    Tanh,
}

impl ImageModel {
    /// Short name for tables, file names and the command line.
    pub fn name(&self) -> &'static str {
        match self {
            ImageModel::Siren => "siren",
            ImageModel::Relu => "relu",
            ImageModel::ReluPositional { .. } => "relu-pe",
            ImageModel::Tanh => "tanh",
        }
    }
}

/// Network and optimisation settings shared by every image experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FitConfig {
    /// The network kind.
    pub model: ImageModel,
    /// Hidden width.
    pub hidden_features: usize,
    /// Hidden-to-hidden layers.
    pub hidden_layers: usize,
    /// $\omega_0$ of every sine layer.
    pub w0: f64,
    /// Adam learning rate.
    pub lr: f64,
    /// Optimisation steps.
    pub steps: usize,
    /// Pixels per step; `None` for all of them (the paper's setting).
    pub batch: Option<usize>,
    /// Seed of the initialisation and of any sampling.
    pub seed: u64,
    /// Measure PSNR every this many steps (and at the last); 0 for only at the last.
    pub eval_every: usize,
    /// Bias initialisation of the sine layers.
    pub bias_init: BiasInit,
    /// Where and how often to write checkpoints, and whether to resume from one.
    #[serde(skip)]
    pub checkpoint: Option<Checkpointing>,
}

impl Default for FitConfig {
    /// The paper's image settings: 3 hidden layers of 256, $\omega_0 = 30$, Adam $10^{-4}$.
    fn default() -> Self {
        Self {
            model: ImageModel::Siren,
            hidden_features: 256,
            hidden_layers: 3,
            w0: 30.0,
            lr: 1e-4,
            steps: 500,
            batch: None,
            seed: 0,
            eval_every: 100,
            bias_init: BiasInit::WeightLaw,
            checkpoint: None,
        }
    }
}

impl FitConfig {
    /// Checks the values, naming the bad one.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 {
            return Err(Error::InvalidConfig("steps must be at least 1".into()));
        }
        if self.batch == Some(0) {
            return Err(Error::InvalidConfig(
                "batch must be at least 1 (omit it for full batch)".into(),
            ));
        }
        AdamConfig {
            lr: self.lr,
            ..Default::default()
        }
        .validate()?;
        self.network(2, 1).validate()
    }

    /// The network these settings describe, for `inputs` coordinates and `outputs` channels.
    pub fn network(&self, inputs: usize, outputs: usize) -> NetworkConfig {
        let (h, l) = (self.hidden_features, self.hidden_layers);
        match self.model {
            ImageModel::Siren => NetworkConfig::siren(inputs, outputs, h, l)
                .with_w0(self.w0, self.w0)
                .with_bias_init(self.bias_init),
            ImageModel::Relu => NetworkConfig::relu(inputs, outputs, h, l),
            ImageModel::ReluPositional { frequencies } => {
                NetworkConfig::relu_positional(inputs, outputs, h, l, frequencies)
            }
            ImageModel::Tanh => NetworkConfig::tanh(inputs, outputs, h, l),
        }
    }

    /// Whether step `step` (1-based) is a measuring step.
    pub fn measures(&self, step: usize) -> bool {
        step == self.steps || (self.eval_every > 0 && step.is_multiple_of(self.eval_every))
    }
}

/// One logged step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 1-based step count after which this was measured.
    pub step: usize,
    /// Training loss of that step.
    pub loss: f64,
    /// PSNR in dB against the reference image, where measured.
    pub psnr: Option<f64>,
    /// PSNR in dB on held-out validation pixels (training never sees them; for choosing
    /// settings without the test pixels), where measured and a run has them.
    #[serde(default)]
    pub validation: Option<f64>,
}

/// A trained network and its log.
pub struct Fitted<E: Float, D: Backend<E>> {
    /// The network.
    pub network: Network<E, D>,
    /// The records of the measuring steps and of the last step (every step's record goes to
    /// the `observe` callback; keeping them all would grow by one record a step).
    pub history: Vec<StepRecord>,
}

/// The loop every image experiment shares: a fresh network and Adam from `config` with
/// `outputs` channels, `config.steps` calls of `step` (which takes one optimisation step and
/// returns its loss), `measure` (a PSNR, and a validation PSNR where the run has one) on
/// measuring steps, each record to `observe`.
pub(crate) fn run_fit<E: Float, D: Backend<E>>(
    config: &FitConfig,
    outputs: usize,
    data: &str,
    device: &D,
    mut step: impl FnMut(usize, &mut Network<E, D>, &mut Adam<E, D>) -> Result<f64>,
    mut measure: impl FnMut(&Network<E, D>) -> Result<(f64, Option<f64>)>,
    mut observe: impl FnMut(&StepRecord),
) -> Result<Fitted<E, D>> {
    config.validate()?;
    let mut network = Network::<E, D>::new(config.network(2, outputs), config.seed, device)?;
    let mut adam = Adam::new(
        &network,
        AdamConfig {
            lr: config.lr,
            ..Default::default()
        },
    )?;
    // What must match for a checkpoint to be resumed (the step count may grow): the settings,
    // and the task with its data (`data`: the image's fingerprint, the mask, the prior...).
    let identity = {
        let mut c = config.clone();
        c.steps = 0;
        c.eval_every = 0;
        c.checkpoint = None;
        serde_json::to_string(&(c, outputs, data)).expect("config serialises")
    };
    let plan = RunPlan {
        key: "siren_rs.fit",
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
            let (psnr, validation) = if config.measures(s) {
                let (p, v) = measure(network)?;
                (Some(p), v)
            } else {
                (None, None)
            };
            let record = StepRecord {
                step: s,
                loss,
                psnr,
                validation,
            };
            observe(&record);
            if record.psnr.is_some() || s == config.steps {
                history.push(record);
            }
            Ok(())
        },
    )?;
    Ok(Fitted { network, history })
}

/// Refuses a step over `points` pixels whose activations would not fit in memory
/// ([`siren_core::device::check_step_memory`]).
pub fn check_step_memory(config: &FitConfig, points: usize) -> Result<()> {
    siren_core::device::check_step_memory(
        config.hidden_features,
        config.hidden_layers,
        points,
        1,
        "give --batch (points per step) or a smaller --size or --hidden",
    )
}

/// Fits `image` (coordinates per [`Image::coords`]) and reports each step to `observe`.
pub fn fit_image<E: Float, D: Backend<E>>(
    image: &Image,
    config: &FitConfig,
    device: &D,
    observe: impl FnMut(&StepRecord),
) -> Result<Fitted<E, D>> {
    config.validate()?;
    let c = image.channels;
    let pixels = image.width * image.height;
    check_step_memory(config, config.batch.unwrap_or(pixels).min(pixels))?;
    let coords = image.coords();
    let values = image.to_signed();
    let full = (
        to_matrix::<E, D>(device, &coords, 2),
        to_matrix::<E, D>(device, &values, c),
    );
    run_fit(
        config,
        c,
        &format!("fit {}", image.fingerprint()),
        device,
        |s, network, adam| {
            let (x, y) = match config.batch {
                None => full.clone(),
                Some(b) => {
                    let idx =
                        sample(&mut step_rng(config.seed, s), pixels, b.min(pixels)).into_vec();
                    (
                        to_matrix::<E, D>(device, &gather_rows(&coords, 2, &idx), 2),
                        to_matrix::<E, D>(device, &gather_rows(&values, c, &idx), c),
                    )
                }
            };
            train_step(network, adam, |net, tr| {
                let jet = net.jet(&x, Order::Value, tr)?;
                Ok(mse(tr, jet.value, &y))
            })
            .map_err(|e| match e {
                Error::Diverged(m) => Error::Diverged(format!("image MSE: {m}")),
                other => other,
            })
        },
        |network| {
            Ok((
                psnr(&predict(network, image.width, image.height)?, image, None)?,
                None,
            ))
        },
        observe,
    )
}
