//! # siren-core
//!
//! Sine layers, the SIREN initialisation, baseline networks, and derivatives of a network with
//! respect to its input coordinates, on [dfdx](https://docs.rs/dfdx/0.13) — generic over the
//! device (`Cpu`; `Cuda` behind the `cuda` feature) and the float type (`f32`, `f64`).
//!
//! ## The network
//! A SIREN (Sitzmann et al. 2020) is an MLP whose layers compute
//! $$h_{l+1} = \sin\big(\omega_0 (W_l h_l + b_l)\big),$$
//! with a linear (default) or sine last layer. The initialisation keeps every hidden
//! pre-activation close to $N(0, 1)$ whatever the depth: first layer
//! $W \sim U(-1/n, 1/n)$, every later layer $W \sim U(-\sqrt{6/n}/\omega_0, \sqrt{6/n}/\omega_0)$,
//! $\omega_0 = 30$ ([`Network::new`] documents the biases; [`stats`] states what the theory
//! predicts exactly and where the paper's $N(0,1)$/arcsine laws are an approximation).
//! The same [`Network`] type runs the baselines: ReLU and tanh MLPs and a ReLU MLP on a
//! NeRF-style positional encoding ([`NetworkConfig`]).
//!
//! ## Input derivatives without double backward
//! dfdx has one reverse pass. Losses on $\nabla u$, $\Delta u$, $\partial_t^2 u$ or the Hessian
//! need derivatives of derivatives, so [`Network::jet`] propagates the input derivatives
//! *forward* through the layers (see [`backend::reference`] for the recurrences), and the one
//! reverse pass through that computation gives the weight gradients. The device type picks the
//! kernels ([`backend::Backend`]): on the CPU the whole pass is one op with a hand-written
//! backward ([`backend::cpu`]): stacked rows through one matrix product per layer, a
//! vectorised sine, no per-op allocation; other devices run it as dfdx ops.
//!
//! ## Layout
//! Module trees, each importing only those before it: the foundation ([`error`], [`float`],
//! [`tensor`], [`tracer`], [`device`]); [`model`] (what a network is, and the formulas);
//! [`jet`] (which derivatives a pass carries and how to read them); [`backend`] (the CPU
//! kernels and the reference dfdx path); [`evaluate`] (the entry points that pick the
//! backend); then [`io`], [`pytorch`], [`optim`], [`checkpoint`], [`train`] and [`stats`].
//! `tests/layers.rs` checks the order.
//!
//! ```
//! use dfdx::prelude::*;
//! use siren_core::{train::{grid, to_matrix, train_step}, Adam, AdamConfig, Network, NetworkConfig, Order};
//!
//! let dev = Cpu::default();
//! let mut net = Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 64, 2), 7, &dev)?;
//! let mut adam = Adam::new(&net, AdamConfig::default())?;
//! // Fit lap u = 0 on a 16x16 grid: one step of a Laplacian loss.
//! let coords = to_matrix(&dev, &grid(&[16, 16]), 2);
//! let loss = train_step(&mut net, &mut adam, |net, tracer| {
//!     let jet = net.jet(&coords, Order::Diagonal, tracer)?;
//!     let lap = jet.laplacian(tracer, &[0, 1])?;
//!     Ok(tracer.apply(lap, |l| l.square().mean()))
//! })?;
//! assert!(loss.is_finite());
//! # Ok::<(), siren_core::Error>(())
//! ```

pub mod backend;
pub mod checkpoint;
pub mod device;
pub mod error;
pub mod evaluate;
pub mod float;
pub mod io;
pub mod jet;
pub mod model;
pub mod optim;
pub mod pytorch;
pub mod stats;
pub mod tensor;
pub mod tracer;
pub mod train;

pub use backend::Backend;
pub use error::{Error, Result};
pub use evaluate::{batched_siren, sine};
pub use float::Float;
pub use jet::{Coefficient, DiagonalOperator, Jet, Order};
pub use model::activation::LayerActivation;
pub use model::config::{Activation, BiasInit, Encoding, LastLayer, NetworkConfig};
pub use model::network::{Dense, HostLayer, LayerSignals, Network, Parameters};
pub use optim::{Adam, AdamConfig};
pub use tensor::{BatchedLayer, Matrix, Stack, Vector};
pub use tracer::Tracer;

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
