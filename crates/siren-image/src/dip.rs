//! Deep image prior baseline (Ulyanov et al. 2018): a convolutional network fitted from a
//! fixed noise input to the known pixels only; its architecture is the prior that fills the
//! rest. A small, fully convolutional version: `depth` 3x3 "same" convolutions of `width`
//! channels with ReLU, a last 3x3 convolution to the image's channels and tanh.

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_core::conv::{Conv2d, Patches};
use siren_core::train::{gather_rows, to_matrix, train_step};
use siren_core::{Adam, AdamConfig, Dense, Error, Float, Matrix, Parameters, Result, Tracer};

use crate::mask::Mask;
use crate::raster::Image;

/// Settings of the deep-image-prior baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct DipConfig {
    /// Channels of the noise input.
    pub input_channels: usize,
    /// Channels of the hidden convolutions.
    pub width: usize,
    /// Number of hidden convolutions.
    pub depth: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Optimisation steps.
    pub steps: usize,
    /// Seed of the noise and the init.
    pub seed: u64,
}

impl Default for DipConfig {
    fn default() -> Self {
        Self {
            input_channels: 16,
            width: 32,
            depth: 4,
            lr: 1e-2,
            steps: 1000,
            seed: 0,
        }
    }
}

struct DipNet<E: Float, D: Device<E>> {
    convs: Vec<Conv2d<E, D>>,
}

impl<E: Float, D: Device<E>> Parameters<E, D> for DipNet<E, D> {
    fn dense(&self) -> Vec<&Dense<E, D>> {
        self.convs.iter().map(|c| &c.map).collect()
    }
    fn dense_mut(&mut self) -> Vec<&mut Dense<E, D>> {
        self.convs.iter_mut().map(|c| &mut c.map).collect()
    }
}

impl<E: Float, D: Device<E>> DipNet<E, D> {
    fn forward<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        noise: &Matrix<E, D>,
        patches: &Patches<E, D>,
    ) -> Result<Matrix<E, D>> {
        let mut h = noise.clone();
        let last = self.convs.len() - 1;
        for (i, conv) in self.convs.iter().enumerate() {
            h = conv.forward(tr, h, patches)?;
            h = if i < last {
                tr.apply(h, |h| h.relu())
            } else {
                tr.apply(h, |h| h.tanh())
            };
        }
        Ok(h)
    }
}

/// Fits the deep image prior to `image`'s known pixels and returns its full output.
pub fn deep_image_prior<E: Float, D: Device<E>>(
    image: &Image,
    mask: &Mask,
    config: &DipConfig,
    device: &D,
) -> Result<Image> {
    if config.steps == 0 || config.depth == 0 || config.width == 0 || config.input_channels == 0 {
        return Err(Error::InvalidConfig(
            "DIP needs steps, depth, width and input channels >= 1".into(),
        ));
    }
    let known = mask.known_indices();
    if known.is_empty() || (mask.width, mask.height) != (image.width, image.height) {
        return Err(Error::InvalidInput(
            "the mask must match the image and keep some pixels".into(),
        ));
    }
    let (w, h, c) = (image.width, image.height, image.channels);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut convs = vec![Conv2d::new(
        device,
        config.input_channels,
        config.width,
        3,
        &mut rng,
    )];
    for _ in 1..config.depth {
        convs.push(Conv2d::new(device, config.width, config.width, 3, &mut rng));
    }
    convs.push(Conv2d::new(device, config.width, c, 3, &mut rng));
    let mut net = DipNet { convs };
    let noise: Vec<f64> = (0..w * h * config.input_channels)
        .map(|_| rng.gen_range(0.0..0.1))
        .collect();
    let noise = to_matrix::<E, D>(device, &noise, config.input_channels);
    let patches = Patches::new(device, 1, h, w, 3)?;
    let index = device.tensor_from_vec(known.clone(), (known.len(),));
    let target = to_matrix::<E, D>(device, &gather_rows(&image.to_signed(), c, &known), c);
    let mut adam = Adam::new(
        &net,
        AdamConfig {
            lr: config.lr,
            ..Default::default()
        },
    )?;
    for _ in 0..config.steps {
        train_step(&mut net, &mut adam, |net, tr| {
            let out = net.forward(tr, &noise, &patches)?;
            let (idx, t) = (index.clone(), target.clone());
            Ok(tr.apply(out, |o| (o.gather(idx) - t).square().mean()))
        })?;
    }
    let out = net.forward(&mut Tracer::inference(), &noise, &patches)?;
    let values: Vec<f64> = out.as_vec().into_iter().map(|v| v.as_f64()).collect();
    Image::from_signed(w, h, c, &values)
}
