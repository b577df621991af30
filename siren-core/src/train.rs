//! Training primitives every downstream crate reuses: coordinate grids, seeded sampling of
//! coordinates, one optimisation step on a loss built from a derivative pass, and the
//! resumable loop around those steps ([`run_steps`]: checkpoints, the same-settings check on
//! resume, a divergence message that names the step).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use dfdx::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::checkpoint::{load_checkpoint, save_checkpoint};
use crate::error::{Error, Result};
use crate::model::network::Parameters;
use crate::optim::Adam;
use crate::tensor::Matrix;
use crate::tracer::Tracer;
use crate::Float;

/// The tracer type of a training step.
pub type TrainTracer<E, D> = Tracer<E, D, OwnedTape<E, D>>;

/// A regular grid over $[-1, 1]^d$ with `sizes[k]` points along axis `k`, the last axis
/// fastest (row-major). Point `i` of an axis of `n` is at $2i/(n-1) - 1$ (the original
/// code's convention; a single point sits at 0). Returns `(points, d)` row-major.
pub fn grid(sizes: &[usize]) -> Vec<f64> {
    let total: usize = sizes.iter().product();
    let d = sizes.len();
    let mut out = vec![0.0; total * d];
    for p in 0..total {
        let mut rest = p;
        for k in (0..d).rev() {
            let n = sizes[k];
            let i = rest % n;
            rest /= n;
            out[p * d + k] = if n > 1 {
                2.0 * i as f64 / (n - 1) as f64 - 1.0
            } else {
                0.0
            };
        }
    }
    out
}

/// `count` points uniform in the box `[lows[k], highs[k]]`, row-major `(count, d)`.
pub fn uniform_points(rng: &mut impl Rng, count: usize, lows: &[f64], highs: &[f64]) -> Vec<f64> {
    assert_eq!(lows.len(), highs.len(), "box bounds of equal length");
    let mut out = Vec::with_capacity(count * lows.len());
    for _ in 0..count {
        for (&lo, &hi) in lows.iter().zip(highs) {
            out.push(if hi > lo { rng.gen_range(lo..hi) } else { lo });
        }
    }
    out
}

/// Seeded minibatches of indices into a fixed set of `len` points: each epoch visits every
/// point once in a fresh random order. The same seed gives the same batches.
#[derive(Clone, Debug)]
pub struct MinibatchSampler {
    order: Vec<usize>,
    position: usize,
    rng: ChaCha8Rng,
}

impl MinibatchSampler {
    /// A sampler over `0..len`.
    pub fn new(len: usize, seed: u64) -> Result<Self> {
        if len == 0 {
            return Err(Error::InvalidInput(
                "cannot sample from an empty set of points".into(),
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..len).collect();
        order.shuffle(&mut rng);
        Ok(Self {
            order,
            position: 0,
            rng,
        })
    }

    /// The next `size` indices, reshuffling when an epoch ends. `size` larger than the set
    /// returns every index once.
    pub fn next_batch(&mut self, size: usize) -> Vec<usize> {
        let size = size.min(self.order.len());
        let mut batch = Vec::with_capacity(size);
        while batch.len() < size {
            if self.position == self.order.len() {
                self.order.shuffle(&mut self.rng);
                self.position = 0;
            }
            let take = (size - batch.len()).min(self.order.len() - self.position);
            batch.extend_from_slice(&self.order[self.position..self.position + take]);
            self.position += take;
        }
        batch
    }
}

/// Rows `indices` of a row-major `(_, width)` host array.
pub fn gather_rows<T: Copy>(data: &[T], width: usize, indices: &[usize]) -> Vec<T> {
    indices
        .iter()
        .flat_map(|&i| data[i * width..(i + 1) * width].iter().copied())
        .collect()
}

/// Uploads a row-major `(rows, cols)` host array of `f64` as a matrix of `E`.
pub fn to_matrix<E: Float, D: Device<E>>(device: &D, data: &[f64], cols: usize) -> Matrix<E, D> {
    assert!(
        cols > 0 && data.len().is_multiple_of(cols),
        "data length is a multiple of cols"
    );
    device.tensor_from_vec(
        data.iter().map(|&x| E::of(x)).collect(),
        (data.len() / cols, cols),
    )
}

/// Mean squared error $\frac{1}{Nc}\sum (a - b)^2$, recorded on `tr`.
pub fn mse<E: Float, D: Device<E>>(
    tr: &mut TrainTracer<E, D>,
    prediction: Matrix<E, D>,
    target: &Matrix<E, D>,
) -> Tensor<(), E, D> {
    let target = target.clone();
    tr.apply(prediction, |p| (p - target).square().mean())
}

/// One optimisation step: builds the loss with `loss` (which runs the model, e.g. a network's
/// derivative pass, on the given tracer and returns a scalar), back-propagates once, updates with Adam.
/// Returns the loss value before the update.
///
/// A non-finite loss is an error and leaves the network untouched.
pub fn train_step<E, D, P, F>(model: &mut P, adam: &mut Adam<E, D>, loss: F) -> Result<f64>
where
    E: Float,
    D: Device<E>,
    P: Parameters<E, D>,
    F: FnOnce(&P, &mut TrainTracer<E, D>) -> Result<Tensor<(), E, D>>,
{
    train_step_clipped(model, adam, None, loss)
}

/// [`train_step`] with the gradient clipped to global L2 norm `max_norm` first (PyTorch's
/// `clip_grad_norm_`, [`Adam::update_clipped`]) when one is given.
pub fn train_step_clipped<E, D, P, F>(
    model: &mut P,
    adam: &mut Adam<E, D>,
    max_norm: Option<f64>,
    loss: F,
) -> Result<f64>
where
    E: Float,
    D: Device<E>,
    P: Parameters<E, D>,
    F: FnOnce(&P, &mut TrainTracer<E, D>) -> Result<Tensor<(), E, D>>,
{
    let mut tracer = model.recording_tracer();
    let value = loss(model, &mut tracer)?;
    let scalar = value.as_vec()[0].as_f64();
    if !scalar.is_finite() {
        return Err(Error::Diverged(format!(
            "the loss is {scalar}; the update was skipped (lower the learning rate?)"
        )));
    }
    let mut grads = tracer.attach(value).backward();
    match max_norm {
        Some(m) => {
            adam.update_clipped(model, &mut grads, m);
        }
        None => adam.update(model, &mut grads),
    }
    Ok(scalar)
}

/// Checkpoints of a run: model, Adam state and step, written atomically every `every` steps
/// and at the end. With [`step_rng`] drawing every random number of step `s` from the run's
/// seed and `s`, a resumed run continues exactly as the uninterrupted one would.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpointing {
    /// Checkpoint file.
    pub path: PathBuf,
    /// Steps between checkpoints.
    pub every: usize,
    /// Continue from `path` if it exists.
    pub resume: bool,
}

/// The generator of step `step`'s random draws in a run seeded with `seed`.
pub fn step_rng(seed: u64, step: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(step as u64);
    rng
}

/// The flag that asks every run to stop after its current step: [`run_steps`] then saves its
/// checkpoint and returns [`Error::Interrupted`]. A program sets it from its SIGINT and
/// SIGTERM handlers (the `siren` binary does), so a stopped run resumes where it stopped.
pub fn stop_flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(Default::default)
}

/// The factor by which a loss may exceed its running minimum before [`run_steps`] calls the
/// run diverged (when it is also above the run's first loss): 1000.
pub const DEFAULT_DIVERGENCE_FACTOR: f64 = 1e3;

fn divergence_bits() -> &'static AtomicU64 {
    static BITS: OnceLock<AtomicU64> = OnceLock::new();
    BITS.get_or_init(|| AtomicU64::new(DEFAULT_DIVERGENCE_FACTOR.to_bits()))
}

/// Sets the divergence rule of every later run: a step whose loss exceeds `factor` times the
/// lowest loss so far *and* the first step's loss stops the run with [`Error::Diverged`], as a
/// non-finite loss does. `None` (or a factor that is not finite and > 1) turns the rule off.
///
/// Both conditions, because healthy runs do both alone: a SIREN fit near $10^{-7}$ spikes by
/// orders of magnitude and recovers, staying far below where it began; a PDE curriculum's
/// loss rises as its time window widens, by at most 5x its minimum in this repository's
/// runs. A learning rate a thousand times too large took a fit from 0.27 to $2 \cdot 10^5$.
pub fn set_divergence_factor(factor: Option<f64>) {
    let f = factor
        .filter(|f| f.is_finite() && *f > 1.0)
        .unwrap_or(f64::INFINITY);
    divergence_bits().store(f.to_bits(), Ordering::Relaxed);
}

/// The factor set by [`set_divergence_factor`] (infinite when the rule is off).
pub fn divergence_factor() -> f64 {
    f64::from_bits(divergence_bits().load(Ordering::Relaxed))
}

/// What [`run_steps`] needs to know of a run besides its step.
#[derive(Clone, Debug)]
pub struct RunPlan<'a> {
    /// Metadata key under which `identity` is stored in checkpoints (e.g. `siren_rs.fit`).
    pub key: &'a str,
    /// The settings a checkpoint must have been written with to be resumed (a JSON string of
    /// everything but the step count, which may grow).
    pub identity: String,
    /// Last step (1-based) to run.
    pub steps: usize,
    /// Where to checkpoint, if anywhere.
    pub checkpoint: Option<&'a Checkpointing>,
    /// More metadata entries each checkpoint carries (what a reader needs to rebuild the
    /// model, say); not checked on resume.
    pub metadata: Vec<(String, String)>,
}

/// The training loop every experiment shares. Resumes from `plan.checkpoint` when asked (after
/// checking it was written with the same settings), then for each remaining step `s`
/// (1-based) calls `step(s, model, adam)`, which takes one optimisation step and returns its
/// loss, then `after(s, loss, model)` (measuring, logging), and checkpoints when due.
/// A diverged step becomes an error naming the step and the checkpoint kept.
/// Returns the first step this call ran.
pub fn run_steps<E, D, P>(
    model: &mut P,
    adam: &mut Adam<E, D>,
    plan: &RunPlan<'_>,
    mut step: impl FnMut(usize, &mut P, &mut Adam<E, D>) -> Result<f64>,
    mut after: impl FnMut(usize, f64, &P) -> Result<()>,
) -> Result<usize>
where
    E: Float,
    D: Device<E> + dfdx::tensor::Cache,
    P: Parameters<E, D>,
{
    let mut metadata: HashMap<String, String> = plan.metadata.iter().cloned().collect();
    metadata.insert(plan.key.to_string(), plan.identity.clone());
    let mut start = 0;
    if let Some(c) = plan.checkpoint.filter(|c| c.resume && c.path.exists()) {
        let meta = load_checkpoint(&c.path, model, adam)?;
        if meta.get(plan.key) != Some(&plan.identity) {
            return Err(Error::BadFile {
                path: c.path.clone(),
                what: "checkpoint of this run",
                reason: "it was written by a run with other settings (network, learning rate, \
                         seed, points or data); resume with the same settings or choose another \
                         --out"
                    .into(),
            });
        }
        start = adam.steps_taken() as usize;
    }
    let kept = || match plan.checkpoint {
        Some(c) if c.path.exists() => {
            format!("; the last good checkpoint is kept at {}", c.path.display())
        }
        _ => String::new(),
    };
    let factor = divergence_factor();
    let (mut first, mut lowest) = (None::<f64>, f64::INFINITY);
    for s in start + 1..=plan.steps {
        let loss = step(s, model, adam).map_err(|e| match e {
            Error::Diverged(m) => Error::Diverged(format!("at step {s}, {m}{}", kept())),
            other => other,
        })?;
        let first = *first.get_or_insert(loss);
        if loss > factor * lowest && loss > first {
            return Err(Error::Diverged(format!(
                "at step {s}, the loss {loss:.3e} grew to {:.0}x its lowest value so far \
                 ({lowest:.3e}) and above its first ({first:.3e}); lower the learning rate, or \
                 pass --divergence-factor 0 to let it run{}",
                loss / lowest,
                kept()
            )));
        }
        lowest = lowest.min(loss);
        after(s, loss, model)?;
        // dfdx's allocation cache (on for CUDA, off for the CPU: `device::cpu`) keeps every
        // freed buffer for an allocation of the same length, and buffers of lengths never
        // asked for again pile up. Emptied every 25 steps.
        if s % 25 == 0 {
            if let Some(layer) = model.dense().first() {
                layer.weight.device().empty_cache();
            }
        }
        let stop = stop_flag().load(Ordering::Relaxed);
        if let Some(c) = plan.checkpoint {
            if stop || s % c.every.max(1) == 0 || s == plan.steps {
                save_checkpoint(&c.path, model, adam, &metadata)?;
            }
        }
        if stop && s < plan.steps {
            let kept = match plan.checkpoint {
                Some(c) => format!(
                    "; the checkpoint at {} holds step {s}: rerun with --resume to continue",
                    c.path.display()
                ),
                None => String::new(),
            };
            return Err(Error::Interrupted(format!(
                "asked to stop, after step {s}{kept}"
            )));
        }
    }
    Ok(start + 1)
}
