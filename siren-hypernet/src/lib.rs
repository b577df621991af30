//! # siren-hypernet
//!
//! Given a few pixels of a face, produce a whole SIREN that renders it (the SIREN paper's
//! Section 4.4): an encoder maps the context pixels to a latent code, a hypernetwork maps the
//! code to the weights of a SIREN, and the SIREN renders the face at every coordinate.
//!
//! - [`celeba`]: CelebA in its official layout at any stored size, centre-cropped and resized
//!   to small squares, cached.
//! - [`model`]: the encoders (CNN, sine and ReLU set encoders, partial-convolution CNN), the
//!   hypernetwork, and the batched evaluation of the generated SIRENs.
//! - [`training`]: context sampling, the loss, training with checkpoints, and evaluation by
//!   the number of context pixels.
//! - [`pca`]: the PCA baseline, the training faces' principal components fitted to the
//!   context pixels.
//!
//! The loss for a batch of $B$ faces with targets $b_i$ at the $HW$ pixel centres $x_p$:
//! $$\mathcal L = \frac{1}{3BHW}\sum_{i,p} \lVert \Phi_i(x_p) - b_{i,p} \rVert^2 +
//!   \lambda_1 \frac{1}{Bk} \sum_i \lVert z_i \rVert^2 +
//!   \lambda_2 \frac{1}{B\,l} \sum_i \lVert p_i \rVert^2,$$
//! where $z_i$ is the latent code and $p_i$ the $l$ generated SIREN parameters (the
//! original uses $\lambda_1 = 0.1$ and $\lambda_2 = 100$).
//!
//! The quick scale ([`HypernetConfig::quick`]) trains in minutes on a CPU. There the original's
//! CNN, which sees only the zero-filled image, cannot tell a dense context from a sparse one:
//! trained on 10..1024 pixels it did better with 100 than with 1000 (test MSE 0.048 vs 0.050
//! on the shared CelebA sample). With a fourth input channel marking the known pixels
//! ([`HypernetConfig::cnn_mask_channel`]) and context sizes drawn uniformly, it falls with
//! every level (0.060, 0.041, 0.038). The paper scale keeps the original CNN.
//!
//! Neither law draws the whole face, and 1000 random pixels are 98% of it: the errors with
//! 1000 pixels and with all of them differ by about $10^{-4}$, and without whole faces in
//! training the CNN's and the sine set encoder's were larger with all pixels (CNN 0.0376 vs
//! 0.0374). The quick scale gives a share of the training faces their whole image
//! ([`training::TrainConfig::full_context_share`]): 0.1, which puts every encoder but the CNN
//! in order; the CNN stayed about $10^{-4}$ worse with all pixels at shares 0.1, 0.2 and 0.3
//! and needs 0.5 (with seeds 0 and 1), at some cost at 100 pixels (0.043 instead of 0.041).
//! These margins are within run-to-run noise: a change of rounding alone (the order of a
//! sum in the backward pass) moves a quick run's errors by up to $10^{-3}$, and the
//! partial-convolution CNN's errors at 100 and 1000 pixels then differ by only $10^{-6}$.
//!
//! The default scale trains the same models for 1000 steps (the convolutional encoders) or
//! 1500 (the set encoders and the CNP) on the 7,500-face sample, with $\lambda_2 = 25$: at 100
//! the parameter penalty weighs about 4x more against the image term at this 64-wide SIREN than
//! at the original's 256-wide one, and 25 lowered the training image error after 800 steps from
//! 0.0360 to 0.0343 (0.0340 at 5, 0.0341 at 0: the penalty is not what limits it). Two
//! baselines train on the same faces: a conditional neural process ([`DecoderKind::Mlp`]) and
//! PCA ([`pca`]). The validation error logged during training against the step shows how far
//! each model is from its plateau; `siren hypernet train` draws it beside the baselines.
//!
//! Completing a face from 100 of its pixels with an untrained quick-scale model (train one
//! with `siren hypernet train`, load it with `siren hypernet complete`):
//!
//! ```
//! use dfdx::prelude::*;
//! use siren_hypernet::training::{predict, ContextLevel};
//! use siren_hypernet::{Context, EncoderKind, Hypernet, HypernetConfig};
//! use rand::SeedableRng;
//!
//! let dev = Cpu::default();
//! let config = HypernetConfig::quick(EncoderKind::SetSine);
//! let model = Hypernet::<f32, Cpu>::new(config, 0, &dev)?;
//! let face = vec![0.2; 32 * 32 * 3]; // (row, col, channel) values in [-1, 1]
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let context = Context {
//!     size: 32,
//!     pixels: face,
//!     known: ContextLevel::Pixels(100).mask(32, &mut rng),
//! };
//! let completed = predict(&model, &context)?; // every pixel of the face
//! assert_eq!(completed.len(), 32 * 32 * 3);
//! # Ok::<(), siren_core::Error>(())
//! ```

pub mod celeba;
pub mod model;
pub mod pca;
pub mod training;

pub use celeba::{CelebaSource, Faces, Split};
pub use model::{Context, DecoderKind, EncoderKind, Generated, Hypernet, HypernetConfig};
