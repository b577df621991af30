//! Deep image prior baseline (Ulyanov et al. 2018): a convolutional network fitted from a
//! fixed noise input to the known pixels only; its architecture is the prior that fills the
//! rest. A small hourglass, as the original's: `depth` levels, each a 3x3 "same" convolution
//! with ReLU followed by 2x average pooling on the way down; on the way up, 2x nearest
//! upsampling, the level's features added back (skip), and a 3x3 convolution with ReLU; a last
//! 3x3 convolution to the image's channels and tanh. The coarse levels are what makes the
//! output smooth where no pixel is known (a flat stack of full-resolution convolutions fits
//! the known pixels one by one and leaves noise between them).
//!
//! Measured on camera, 10% random mask, 128x128, 600 steps, PSNR on the missing pixels
//! (`cargo run --release -p siren-image --example inpaint_sweep -- camera.png 128 600 mse dip
//! 1e-3,3e-3,1e-2`): PyTorch's default init with lr $10^{-3}$ / $3 \cdot 10^{-3}$ /
//! $10^{-2}$: 20.27 / 20.38 / 12.82 dB (the last never starts: the original's $10^{-2}$ relies
//! on batch norm); input noise on $[0, 1]$ instead of $[0, 0.1]$: 19.01; He init, lr
//! $10^{-3}$: 21.54 and still rising. A step costs about 0.1 s at 128x128 and 0.55 s at
//! 256x256 on 2 cores, so the thousands of steps the original trains (on a GPU) do not fit
//! the default scale's budget.

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_core::model::conv::{Conv2d, Patches};
use siren_core::train::{gather_rows, run_steps, to_matrix, train_step, RunPlan};
use siren_core::Backend;
use siren_core::{Adam, AdamConfig, Dense, Error, Float, Matrix, Parameters, Result, Tracer};

use crate::mask::Mask;
use crate::metrics::psnr;
use crate::raster::Image;

/// Settings of the deep-image-prior baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct DipConfig {
    /// Channels of the noise input.
    pub input_channels: usize,
    /// Channels of the hidden convolutions.
    pub width: usize,
    /// Number of resolution levels (each halves the size).
    pub depth: usize,
    /// The fixed input is uniform noise on $[0, \text{noise}]$ (the original: 0.1, followed by
    /// batch norm, which this network does not have).
    pub noise: f64,
    /// Adam learning rate.
    pub lr: f64,
    /// Optimisation steps.
    pub steps: usize,
    /// Seed of the noise and the init.
    pub seed: u64,
    /// Measure every this many steps (and at the last).
    pub eval_every: usize,
    /// Early stopping: hold this fraction of the known pixels out of training and return the
    /// output that predicted them best over the measured steps; `None`: the last output.
    pub holdout: Option<f64>,
}

/// One measured step of the deep image prior.
#[derive(Clone, Debug, PartialEq)]
pub struct DipRecord {
    /// 1-based step.
    pub step: usize,
    /// PSNR on the held-out known pixels (`None` without early stopping).
    pub validation_psnr: Option<f64>,
    /// PSNR on the pixels the mask hides.
    pub missing_psnr: f64,
}

/// The deep image prior's output and its log.
pub struct DipResult {
    /// The chosen output (the last, or the best on the held-out pixels).
    pub image: Image,
    /// The step it comes from.
    pub step: usize,
    /// The measured steps.
    pub history: Vec<DipRecord>,
}

impl Default for DipConfig {
    fn default() -> Self {
        Self {
            input_channels: 16,
            width: 32,
            depth: 4,
            // 1e-2 (the original's, with batch norm) stalls without it at 128x128 and up.
            noise: 0.1,
            lr: 1e-3,
            steps: 1000,
            seed: 0,
            eval_every: 100,
            holdout: Some(0.05),
        }
    }
}

/// One resolution level: its size, patches, and the gathers to the next coarser level.
struct Level<E: Float, D: Backend<E>> {
    patches: Patches<E, D>,
    /// For each coarse pixel, its 4 children here (clamped at odd edges): `(coarse * 4,)`.
    pool: Tensor<(usize,), usize, D>,
    /// For each pixel here, its parent in the coarser level.
    parent: Tensor<(usize,), usize, D>,
    coarse: usize,
}

struct DipNet<E: Float, D: Backend<E>> {
    /// Down convolutions (one per level), then up convolutions (coarsest first), then the
    /// output convolution.
    convs: Vec<Conv2d<E, D>>,
}

impl<E: Float, D: Backend<E>> Parameters<E, D> for DipNet<E, D> {
    fn dense(&self) -> Vec<&Dense<E, D>> {
        self.convs.iter().map(|c| &c.map).collect()
    }
    fn dense_mut(&mut self) -> Vec<&mut Dense<E, D>> {
        self.convs.iter_mut().map(|c| &mut c.map).collect()
    }
}

fn levels<E: Float, D: Backend<E>>(
    device: &D,
    mut h: usize,
    mut w: usize,
    depth: usize,
) -> Result<Vec<Level<E, D>>> {
    let mut out = Vec::with_capacity(depth);
    for _ in 0..depth {
        let (hc, wc) = (h.div_ceil(2), w.div_ceil(2));
        let mut pool = Vec::with_capacity(hc * wc * 4);
        for y in 0..hc {
            for x in 0..wc {
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let (yy, xx) = ((2 * y + dy).min(h - 1), (2 * x + dx).min(w - 1));
                    pool.push(yy * w + xx);
                }
            }
        }
        let parent: Vec<usize> = (0..h * w).map(|p| (p / w / 2) * wc + (p % w) / 2).collect();
        out.push(Level {
            patches: Patches::new(device, 1, h, w, 3)?,
            pool: device.tensor_from_vec(pool, (hc * wc * 4,)),
            parent: device.tensor_from_vec(parent, (h * w,)),
            coarse: hc * wc,
        });
        (h, w) = (hc, wc);
    }
    Ok(out)
}

impl<E: Float, D: Backend<E>> DipNet<E, D> {
    fn forward<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        noise: &Matrix<E, D>,
        levels: &[Level<E, D>],
    ) -> Result<Matrix<E, D>> {
        let depth = levels.len();
        let mut h = noise.clone();
        let mut skips = Vec::with_capacity(depth);
        for (l, level) in levels.iter().enumerate() {
            h = self.convs[l].forward(tr, h, &level.patches)?;
            h = tr.apply(h, |h| h.relu());
            skips.push(h.clone());
            let (idx, coarse) = (level.pool.clone(), level.coarse);
            let ch = h.shape().1;
            h = tr.apply(h, |h| {
                h.gather(idx)
                    .reshape_like(&(coarse, 4, ch))
                    .mean::<(usize, usize), Axis<1>>()
            });
        }
        for (k, l) in (0..depth).rev().enumerate() {
            let idx = levels[l].parent.clone();
            h = tr.apply(h, |h| h.gather(idx));
            h = tr.apply2(h, skips[l].clone(), |h, s| h + s);
            h = self.convs[depth + k].forward(tr, h, &levels[l].patches)?;
            h = tr.apply(h, |h| h.relu());
        }
        h = self.convs[2 * depth].forward(tr, h, &levels[0].patches)?;
        Ok(tr.apply(h, |h| h.tanh()))
    }
}

/// Fits the deep image prior to `image`'s known pixels (less the held-out ones) and returns
/// its output at the last step or, with a holdout, at the measured step that predicted the
/// held-out pixels best.
pub fn deep_image_prior<E: Float, D: Backend<E>>(
    image: &Image,
    mask: &Mask,
    config: &DipConfig,
    device: &D,
) -> Result<DipResult> {
    if config.steps == 0 || config.depth == 0 || config.width == 0 || config.input_channels == 0 {
        return Err(Error::InvalidConfig(
            "DIP needs steps, depth, width and input channels >= 1".into(),
        ));
    }
    if mask.known_indices().is_empty() || (mask.width, mask.height) != (image.width, image.height) {
        return Err(Error::InvalidInput(
            "the mask must match the image and keep some pixels".into(),
        ));
    }
    let missing = mask.missing();
    let (train, validation) = match config.holdout {
        Some(f) => {
            let (t, v) = mask.holdout(f, config.seed)?;
            (t, Some(v))
        }
        None => (mask.clone(), None),
    };
    let known = train.known_indices();
    let (w, h, c) = (image.width, image.height, image.channels);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut convs = vec![Conv2d::new(
        device,
        config.input_channels,
        config.width,
        3,
        &mut rng,
    )];
    for _ in 1..2 * config.depth {
        convs.push(Conv2d::new(device, config.width, config.width, 3, &mut rng));
    }
    convs.push(Conv2d::new(device, config.width, c, 3, &mut rng));
    // He-uniform bound sqrt(6 / n) for the ReLU convolutions: PyTorch's default 1/sqrt(n)
    // shrinks the signal by sqrt(3) per layer, which batch norm undoes in the original and
    // nothing undoes here (measured: 21.5 vs 20.3 dB after 600 steps on camera at 128x128)
    for conv in convs.iter_mut().take(2 * config.depth) {
        conv.map.weight = conv.map.weight.clone() * E::of(6f64.sqrt());
    }
    let mut net = DipNet { convs };
    let noise: Vec<f64> = (0..w * h * config.input_channels)
        .map(|_| rng.gen_range(0.0..config.noise.max(1e-6)))
        .collect();
    let noise = to_matrix::<E, D>(device, &noise, config.input_channels);
    let levels = levels::<E, D>(device, h, w, config.depth)?;
    let index = device.tensor_from_vec(known.clone(), (known.len(),));
    let target = to_matrix::<E, D>(device, &gather_rows(&image.to_signed(), c, &known), c);
    let mut adam = Adam::new(
        &net,
        AdamConfig {
            lr: config.lr,
            ..Default::default()
        },
    )?;
    let output = |net: &DipNet<E, D>| -> Result<Image> {
        let out = net.forward(&mut Tracer::inference(), &noise, &levels)?;
        let values: Vec<f64> = out.as_vec().into_iter().map(|v| v.as_f64()).collect();
        Image::from_signed(w, h, c, &values)
    };
    let mut history = Vec::new();
    let mut best: Option<(f64, usize, Image)> = None;
    // The loop every training command shares; a baseline keeps no checkpoint.
    let plan = RunPlan {
        key: "siren_rs.dip",
        identity: String::new(),
        steps: config.steps,
        checkpoint: None,
        metadata: Vec::new(),
    };
    let step = |_: usize, net: &mut DipNet<E, D>, adam: &mut Adam<E, D>| {
        train_step(net, adam, |net, tr| {
            let out = net.forward(tr, &noise, &levels)?;
            let (idx, t) = (index.clone(), target.clone());
            Ok(tr.apply(out, |o| (o.gather(idx) - t).square().mean()))
        })
    };
    let after = |step: usize, _: f64, net: &DipNet<E, D>| -> Result<()> {
        let measured = step == config.steps
            || (config.eval_every > 0 && step.is_multiple_of(config.eval_every));
        if !measured {
            return Ok(());
        }
        let out = output(net)?;
        let validation_psnr = match &validation {
            Some(v) => Some(psnr(&out, image, Some(v))?),
            None => None,
        };
        history.push(DipRecord {
            step,
            validation_psnr,
            missing_psnr: psnr(&out, image, Some(&missing))?,
        });
        let score = validation_psnr.unwrap_or(f64::INFINITY);
        if best
            .as_ref()
            .is_none_or(|b| validation.is_none() || score > b.0)
        {
            best = Some((score, step, out));
        }
        Ok(())
    };
    run_steps(&mut net, &mut adam, &plan, step, after)?;
    let (_, step, image) = best.expect("at least one step is measured");
    Ok(DipResult {
        image,
        step,
        history,
    })
}
