//! Context sampling, the training loss and loop, and evaluation by context size.
//!
//! Every random choice of step `s` (the faces of the batch, their context sizes and pixels)
//! comes from a generator seeded with `(seed, s)`, so a run resumed from a checkpoint at step
//! `s` continues exactly as the uninterrupted run would.

use std::cell::Cell;

use dfdx::prelude::*;
use dfdx::tensor::Cache;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use siren_core::train::{run_steps, step_rng, Checkpointing, RunPlan, TrainTracer};
use siren_core::Backend;
use siren_core::Stack;
use siren_core::{Adam, Error, Float, Result, Tracer};

use crate::celeba::Faces;
use crate::model::{Context, Generated, Hypernet};

/// How many pixels of a face the encoder sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContextLevel {
    /// This many pixels drawn uniformly without replacement.
    Pixels(usize),
    /// The top half (the first half of the pixels in row-major order).
    Half,
    /// Every pixel.
    Full,
}

impl ContextLevel {
    /// The paper's table columns: 10, 100, 1000 pixels, half, full.
    pub const TABLE: [ContextLevel; 5] = [
        ContextLevel::Pixels(10),
        ContextLevel::Pixels(100),
        ContextLevel::Pixels(1000),
        ContextLevel::Half,
        ContextLevel::Full,
    ];

    /// Name in tables ("10", "half", "full").
    pub fn name(&self) -> String {
        match self {
            ContextLevel::Pixels(n) => n.to_string(),
            ContextLevel::Half => "half".into(),
            ContextLevel::Full => "full".into(),
        }
    }

    /// Parses a name as [`ContextLevel::name`] writes it.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim() {
            "half" => Ok(ContextLevel::Half),
            "full" => Ok(ContextLevel::Full),
            n => n
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .map(ContextLevel::Pixels)
                .ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "context `{text}` is not a pixel count >= 1, `half` or `full`"
                    ))
                }),
        }
    }

    /// Which of the `size x size` pixels are known.
    pub fn mask(&self, size: usize, rng: &mut impl Rng) -> Vec<bool> {
        let hw = size * size;
        let mut known = vec![false; hw];
        match *self {
            ContextLevel::Pixels(n) => {
                for p in sample(rng, hw, n.min(hw)) {
                    known[p] = true;
                }
            }
            ContextLevel::Half => known[..hw / 2].iter_mut().for_each(|k| *k = true),
            ContextLevel::Full => known.iter_mut().for_each(|k| *k = true),
        }
        known
    }
}

/// Settings of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Optimisation steps.
    pub steps: usize,
    /// Faces per step.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// $\lambda_1$, weight of the latent penalty.
    pub latent_weight: f64,
    /// $\lambda_2$, weight of the generated-parameter penalty.
    pub param_weight: f64,
    /// Gradient-norm clipping threshold.
    pub clip_norm: f64,
    /// Fewest context pixels per training face.
    pub context_min: usize,
    /// Most context pixels per training face.
    pub context_max: usize,
    /// Draw each face's context size log-uniformly in `[context_min, context_max]` rather
    /// than uniformly (equal weight per decade, for ranges up to the whole face).
    #[serde(default)]
    pub log_uniform_context: bool,
    /// Share of training faces given their whole image as context (the "full" evaluation
    /// level, which neither law above draws more than rarely).
    #[serde(default)]
    pub full_context_share: f64,
    /// Seed of the batches and contexts.
    pub seed: u64,
}

impl TrainConfig {
    /// The original's settings: batch 100, Adam 5e-5, lambda 0.1 / 100, clipping at 1,
    /// 10 to 200 context pixels.
    pub fn paper(steps: usize) -> Self {
        Self {
            steps,
            batch: 100,
            lr: 5e-5,
            latent_weight: 0.1,
            param_weight: 100.0,
            clip_norm: 1.0,
            context_min: 10,
            context_max: 200,
            log_uniform_context: false,
            full_context_share: 0.0,
            seed: 0,
        }
    }

    /// A training face's context: the whole face with probability `full_context_share`, else
    /// `k` random pixels with `k` drawn in `[context_min, context_max]` (log-uniformly with
    /// `log_uniform_context`), both clamped to the face's `size * size` pixels.
    pub fn draw_context(&self, size: usize, rng: &mut impl Rng) -> Vec<bool> {
        let hw = size * size;
        let (lo, hi) = (self.context_min.min(hw), self.context_max.min(hw));
        let full = self.full_context_share > 0.0 && rng.gen::<f64>() < self.full_context_share;
        let k = if full {
            hw
        } else if self.log_uniform_context {
            let u: f64 = rng.gen_range((lo as f64).ln()..=(hi as f64).ln());
            (u.exp().round() as usize).clamp(lo, hi)
        } else {
            rng.gen_range(lo..=hi)
        };
        ContextLevel::Pixels(k).mask(size, rng)
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        if self.steps == 0 || self.batch == 0 {
            return bad("steps and batch must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr must be > 0, got {}", self.lr));
        }
        for (name, v) in [
            ("latent_weight", self.latent_weight),
            ("param_weight", self.param_weight),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} must be >= 0, got {v}"));
            }
        }
        if !(self.clip_norm.is_finite() && self.clip_norm > 0.0) {
            return bad(format!("clip_norm must be > 0, got {}", self.clip_norm));
        }
        if !(0.0..=1.0).contains(&self.full_context_share) {
            return bad(format!(
                "full_context_share is a share in [0, 1], got {}",
                self.full_context_share
            ));
        }
        if self.context_min == 0 || self.context_min > self.context_max {
            return bad(format!(
                "need 1 <= context_min <= context_max, got {} and {}",
                self.context_min, self.context_max
            ));
        }
        Ok(())
    }
}

/// What one training step measured.
#[derive(Clone, Debug, Serialize)]
pub struct StepLog {
    /// Steps taken, this one included.
    pub step: usize,
    /// Total loss.
    pub loss: f64,
    /// Image term (MSE on $[-1, 1]$ values).
    pub image_mse: f64,
    /// Latent penalty (unweighted).
    pub latent: f64,
    /// Generated-parameter penalty (unweighted).
    pub params: f64,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
}

/// A batch of the given faces with the given context masks.
pub fn context_of(faces: &Faces, indices: &[usize], masks: Vec<Vec<bool>>) -> Context {
    let pixels = indices.iter().flat_map(|&i| faces.signed(i)).collect();
    Context {
        size: faces.size,
        pixels,
        known: masks.into_iter().flatten().collect(),
    }
}

/// The three loss terms of a batch, recorded on `tr`: image MSE, mean squared latent, mean
/// squared generated parameter.
pub fn loss_terms<E: Float, D: Backend<E>>(
    model: &Hypernet<E, D>,
    context: &Context,
    tr: &mut TrainTracer<E, D>,
) -> Result<[Tensor<(), E, D>; 3]> {
    let (generated, image) = model.complete(context, tr)?;
    let (b, n, c) = *image.shape();
    let target: Stack<E, D> = image.device().tensor_from_vec(
        context.pixels.iter().map(|&v| E::of(v)).collect(),
        (b, n, c),
    );
    let image_mse = tr.apply(image, |p| (p - target).square().mean());
    let Generated { layers, latent, .. } = generated;
    let latent = tr.apply(latent, |z| z.square().mean());
    // sum of squares over every generated tensor / their total count
    let total: usize = layers
        .iter()
        .map(|(w, bias)| w.shape().0 * (w.shape().1 + bias.shape().1))
        .sum();
    let scale = E::of(1.0 / total as f64);
    let mut params: Option<Tensor<(), E, D>> = None;
    for (w, bias) in layers {
        let sw = tr.apply(w, |w| w.square().sum() * scale);
        let sb = tr.apply(bias, |b| b.square().sum() * scale);
        let s = tr.apply2(sw, sb, |a, b| a + b);
        params = Some(match params {
            None => s,
            Some(p) => tr.apply2(p, s, |a, b| a + b),
        });
    }
    // A CNP generates nothing: its penalty is a constant 0.
    let params = params.unwrap_or_else(|| model.device().zeros());
    Ok([image_mse, latent, params])
}

/// Metadata key of a hypernetwork run's identity in its checkpoints.
pub const RUN_KEY: &str = "siren_rs.hypernet";

/// Trains to `config.steps` through the loop every experiment shares
/// ([`siren_core::train::run_steps`]): resuming from `checkpoint` when asked (a checkpoint of
/// the same model and training settings; the step count may grow), checkpointing, and naming
/// the step of a diverged loss. `metadata` goes into every checkpoint besides the run's
/// identity. `after_step` sees each step's terms (for logs). Returns the first step this call
/// ran (1-based).
#[allow(clippy::too_many_arguments)]
pub fn train<E: Float, D: Backend<E> + Cache>(
    model: &mut Hypernet<E, D>,
    adam: &mut Adam<E, D>,
    faces: &Faces,
    train_indices: &[usize],
    config: &TrainConfig,
    checkpoint: Option<&Checkpointing>,
    metadata: Vec<(String, String)>,
    mut after_step: impl FnMut(&StepLog, &Hypernet<E, D>) -> Result<()>,
) -> Result<usize> {
    config.validate()?;
    if train_indices.is_empty() {
        return Err(Error::InvalidInput("there is no training face".into()));
    }
    if faces.size != model.config().image_size {
        return Err(Error::InvalidInput(format!(
            "the faces are {0}x{0} but the model takes {1}x{1}",
            faces.size,
            model.config().image_size
        )));
    }
    let batch = config.batch.min(train_indices.len());
    // Everything but the step count, which a resumed run may raise.
    let identity = serde_json::to_string(&(
        model.config(),
        TrainConfig {
            steps: 0,
            ..config.clone()
        },
    ))
    .expect("configs serialise");
    let plan = RunPlan {
        key: RUN_KEY,
        identity,
        steps: config.steps,
        checkpoint,
        metadata,
    };
    // The step's terms, from the step to the logger.
    let last = Cell::new(None::<StepLog>);
    let step = |s: usize, model: &mut Hypernet<E, D>, adam: &mut Adam<E, D>| -> Result<f64> {
        let mut rng = step_rng(config.seed, s);
        let picked: Vec<usize> = sample(&mut rng, train_indices.len(), batch)
            .into_iter()
            .map(|i| train_indices[i])
            .collect();
        let masks = picked
            .iter()
            .map(|_| config.draw_context(faces.size, &mut rng))
            .collect();
        let context = context_of(faces, &picked, masks);
        let mut tr = siren_core::Parameters::recording_tracer(&*model);
        let [image, latent, params] = loss_terms(model, &context, &mut tr)?;
        let values = [&image, &latent, &params].map(|t| t.as_vec()[0].as_f64());
        let (l1, l2) = (E::of(config.latent_weight), E::of(config.param_weight));
        let reg = tr.apply2(latent, params, |z, p| z * l1 + p * l2);
        let total = tr.apply2(image, reg, |a, b| a + b);
        let loss = total.as_vec()[0].as_f64();
        if !loss.is_finite() {
            return Err(Error::Diverged(format!(
                "the loss is {loss} (image {}, latent {}, params {}); lower the learning rate",
                values[0], values[1], values[2]
            )));
        }
        let mut grads = tr.attach(total).backward();
        let grad_norm = adam.update_clipped(model, &mut grads, config.clip_norm);
        last.set(Some(StepLog {
            step: s,
            loss,
            image_mse: values[0],
            latent: values[1],
            params: values[2],
            grad_norm,
        }));
        Ok(loss)
    };
    let after = |_: usize, _: f64, model: &Hypernet<E, D>| -> Result<()> {
        let log = last.take().expect("each step records its terms");
        after_step(&log, model)
    };
    run_steps(model, adam, &plan, step, after)
}

/// Completed faces `(batch, size^2, 3)` in $[-1, 1]$, row-major, as host values.
pub fn predict<E: Float, D: Backend<E>>(
    model: &Hypernet<E, D>,
    context: &Context,
) -> Result<Vec<f64>> {
    let mut tr = Tracer::inference();
    let (_, image) = model.complete(context, &mut tr)?;
    Ok(image.as_vec().into_iter().map(|v| v.as_f64()).collect())
}

/// Error of completed faces against the truth on $[0, 1]$ values (predictions clipped).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Errors {
    /// Mean over faces of the per-pixel, per-channel mean squared error.
    pub mse: f64,
    /// Mean over faces of the root of that error.
    pub rmse: f64,
}

/// Per-face MSE on $[0, 1]$, predictions clipped; `prediction` and `truth` in $[-1, 1]$.
pub fn face_mse(prediction: &[f64], truth: &[f64]) -> f64 {
    let n = truth.len() as f64;
    prediction
        .iter()
        .zip(truth)
        .map(|(&p, &t)| {
            let p = ((p + 1.0) / 2.0).clamp(0.0, 1.0);
            let t = (t + 1.0) / 2.0;
            (p - t) * (p - t)
        })
        .sum::<f64>()
        / n
}

/// The mean of per-face errors.
pub fn summarise(mses: &[f64]) -> Errors {
    let n = mses.len().max(1) as f64;
    Errors {
        mse: mses.iter().sum::<f64>() / n,
        rmse: mses.iter().map(|m| m.sqrt()).sum::<f64>() / n,
    }
}

/// The mask of face `face` at `level` in an evaluation seeded with `seed`: the same for every
/// model, so encoders are compared on identical contexts.
pub fn evaluation_mask(level: ContextLevel, size: usize, seed: u64, face: usize) -> Vec<bool> {
    let stream = match level {
        ContextLevel::Pixels(n) => n as u64,
        ContextLevel::Half => u64::MAX - 1,
        ContextLevel::Full => u64::MAX,
    };
    // One generator per (seed, level), positioned per face: any face's mask is drawn alone.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xe7a1);
    rng.set_stream(stream);
    rng.set_word_pos(face as u128 * (1 << 20));
    level.mask(size, &mut rng)
}

/// Errors on the faces `indices` for each context level, in batches of `batch`.
pub fn evaluate<E: Float, D: Backend<E>>(
    model: &Hypernet<E, D>,
    faces: &Faces,
    indices: &[usize],
    levels: &[ContextLevel],
    seed: u64,
    batch: usize,
) -> Result<Vec<(ContextLevel, Errors)>> {
    let mut out = Vec::new();
    for &level in levels {
        let mut mses = Vec::with_capacity(indices.len());
        for chunk in indices.chunks(batch.max(1)) {
            let masks = chunk
                .iter()
                .map(|&i| evaluation_mask(level, faces.size, seed, i))
                .collect();
            let context = context_of(faces, chunk, masks);
            let prediction = predict(model, &context)?;
            // dfdx's allocation cache (on for CUDA; `device::cpu` leaves it off) keeps every
            // freed buffer for reuse, and the set encoders' inputs change size with every
            // batch: without this the cache grew to gigabytes.
            model.device().empty_cache();
            let n = faces.size * faces.size * 3;
            for (j, &i) in chunk.iter().enumerate() {
                mses.push(face_mse(&prediction[j * n..(j + 1) * n], &faces.signed(i)));
            }
        }
        out.push((level, summarise(&mses)));
    }
    Ok(out)
}

/// The mean training face: `size * size * 3` values in $[-1, 1]$.
pub fn mean_face(faces: &Faces, train: &[usize]) -> Vec<f64> {
    let n = faces.size * faces.size * 3;
    let mut mean = vec![0.0; n];
    for &i in train {
        for (m, v) in mean.iter_mut().zip(faces.signed(i)) {
            *m += v / train.len() as f64;
        }
    }
    mean
}

/// The "mean training image" baseline: predict `mean` (see [`mean_face`]) for every test
/// face, whatever the context.
pub fn mean_face_errors(mean: &[f64], faces: &Faces, test: &[usize]) -> Errors {
    let mses: Vec<f64> = test
        .iter()
        .map(|&i| face_mse(mean, &faces.signed(i)))
        .collect();
    summarise(&mses)
}
