//! The coordinate network: weights, the SIREN initialisation, the forward pass.

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::error::{Error, Result};
use crate::model::activation::LayerActivation;
use crate::model::config::{Activation, BiasInit, LastLayer, NetworkConfig};
use crate::tensor::{Matrix, Vector};
use crate::tracer::Tracer;
use crate::Float;

/// One affine map $x \mapsto W x + b$, stored as PyTorch stores it: `weight` is
/// `(out_features, in_features)`, `bias` is `(out_features,)`.
#[derive(Clone, Debug)]
pub struct Dense<E: Float, D: Device<E>> {
    /// `(out, in)` weight matrix.
    pub weight: Matrix<E, D>,
    /// `(out,)` bias.
    pub bias: Vector<E, D>,
}

/// A model whose trainable tensors are a list of [`Dense`] maps (MLP layers, or convolutions
/// stored as a map on image patches). Optimisers and training steps work on any of them.
pub trait Parameters<E: Float, D: Device<E>> {
    /// Every trainable map.
    fn dense(&self) -> Vec<&Dense<E, D>>;
    /// Every trainable map, mutably. Shapes must not change.
    fn dense_mut(&mut self) -> Vec<&mut Dense<E, D>>;

    /// A tracer whose tape records for one reverse pass, with a gradient slot already made
    /// for every parameter, so a parameter the loss does not reach gets a zero gradient
    /// rather than none.
    fn recording_tracer(&self) -> Tracer<E, D, OwnedTape<E, D>> {
        let mut grads = Gradients::leaky();
        let mut device = None;
        for layer in self.dense() {
            grads
                .try_alloc_for(&layer.weight)
                .expect("allocate weight gradient");
            grads
                .try_alloc_for(&layer.bias)
                .expect("allocate bias gradient");
            device.get_or_insert_with(|| layer.weight.device().clone());
        }
        let device = device.expect("a model has at least one layer");
        let seed: Tensor<(), E, D> = device.zeros();
        let (_, tape) = seed.traced(grads).split_tape();
        Tracer::new(tape)
    }

    /// Weight gradients from a finished reverse pass, as `(weight, bias)` per map.
    fn gradients(&self, grads: &Gradients<E, D>) -> Vec<(Matrix<E, D>, Vector<E, D>)> {
        self.dense()
            .into_iter()
            .map(|l| (grads.get(&l.weight), grads.get(&l.bias)))
            .collect()
    }
}

impl<E: Float, D: Device<E>> Parameters<E, D> for Network<E, D> {
    fn dense(&self) -> Vec<&Dense<E, D>> {
        self.layers.iter().collect()
    }
    fn dense_mut(&mut self) -> Vec<&mut Dense<E, D>> {
        self.layers.iter_mut().collect()
    }
}

/// A fully connected coordinate network: SIREN or one of its baselines, per [`NetworkConfig`].
///
/// Parameters are runtime-shaped dfdx tensors on any device `D`, in float type `E`.
#[derive(Clone, Debug)]
pub struct Network<E: Float, D: Device<E>> {
    config: NetworkConfig,
    layers: Vec<Dense<E, D>>,
    device: D,
}

/// Weight and bias of one layer as host vectors (row-major `(out, in)` weight).
pub type HostLayer<E> = (Vec<E>, Vec<E>);

impl<E: Float, D: Device<E>> Network<E, D> {
    /// Builds a network initialised as the original SIREN code does, from `seed`.
    ///
    /// * Sine: first layer $W \sim U(-1/n, 1/n)$; every later layer (the last included)
    ///   $W \sim U(-\sqrt{6/n}/\omega_0, \sqrt{6/n}/\omega_0)$ with the hidden $\omega_0$.
    /// * ReLU: Kaiming normal, fan-in, $W \sim N(0, 2/n)$. tanh: Xavier normal,
    ///   $W \sim N(0, 2/(n_\text{in} + n_\text{out}))$.
    /// * Biases: sine layers draw $b$ from the same law as their layer's weights, so that
    ///   $\omega_0 b$ has variance $2/n$ in hidden layers and the pre-activation stays
    ///   $N(0, 2\,\mathbb{E}[h^2] + 2/n)$ whatever $\omega_0$ — the init theory treats the bias as
    ///   the weight of a constant input. The original code instead keeps PyTorch's default
    ///   $U(-1/\sqrt n, 1/\sqrt n)$, which adds $\omega_0^2/(3n)$ to that variance (1.2 at
    ///   $n = 256$, $\omega_0 = 30$): the hidden statistics then depend on $\omega_0$ and the
    ///   width, against the theory this crate tests ([`BiasInit::Pytorch`] selects it, to
    ///   reproduce the original exactly). ReLU and tanh layers keep PyTorch's default, as the
    ///   original baselines do.
    ///
    /// Values are drawn in `f64` from ChaCha8 seeded with `seed`, layer by layer, weight then
    /// bias, so an `f32` and an `f64` network with the same seed agree up to rounding.
    pub fn new(config: NetworkConfig, seed: u64, device: &D) -> Result<Self> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let shapes = config.layer_shapes();
        let mut host = Vec::with_capacity(shapes.len());
        for (index, &(fan_in, fan_out)) in shapes.iter().enumerate() {
            let n = fan_in as f64;
            let count = fan_in * fan_out;
            let weight: Vec<f64> = match config.activation {
                Activation::Sine { hidden_w0, .. } => {
                    let bound = if index == 0 {
                        1.0 / n
                    } else {
                        (6.0 / n).sqrt() / hidden_w0
                    };
                    (0..count).map(|_| rng.gen_range(-bound..bound)).collect()
                }
                Activation::Relu => sample_normal(&mut rng, (2.0 / n).sqrt(), count),
                Activation::Tanh => {
                    sample_normal(&mut rng, (2.0 / (n + fan_out as f64)).sqrt(), count)
                }
            };
            let bound = match (config.activation, config.bias_init) {
                (Activation::Sine { .. }, BiasInit::WeightLaw) if index == 0 => 1.0 / n,
                (Activation::Sine { hidden_w0, .. }, BiasInit::WeightLaw) => {
                    (6.0 / n).sqrt() / hidden_w0
                }
                _ => 1.0 / n.sqrt(),
            };
            let bias: Vec<f64> = (0..fan_out).map(|_| rng.gen_range(-bound..bound)).collect();
            host.push((
                weight.into_iter().map(E::of).collect(),
                bias.into_iter().map(E::of).collect(),
            ));
        }
        Self::from_host(config, host, device)
    }

    /// Builds a network from explicit weights, one `(weight, bias)` pair per layer with the
    /// weight row-major `(out, in)`. Errors name the first layer whose sizes are wrong.
    pub fn from_host(config: NetworkConfig, layers: Vec<HostLayer<E>>, device: &D) -> Result<Self> {
        config.validate()?;
        let shapes = config.layer_shapes();
        if layers.len() != shapes.len() {
            return Err(Error::InvalidInput(format!(
                "the config describes {} layers but {} were given",
                shapes.len(),
                layers.len()
            )));
        }
        let mut dense = Vec::with_capacity(layers.len());
        for (i, ((weight, bias), (fan_in, fan_out))) in layers.into_iter().zip(shapes).enumerate() {
            if weight.len() != fan_in * fan_out || bias.len() != fan_out {
                return Err(Error::InvalidInput(format!(
                    "layer {i}: expected a {fan_out}x{fan_in} weight and {fan_out} biases, got {} \
                     weight values and {} biases",
                    weight.len(),
                    bias.len()
                )));
            }
            dense.push(Dense {
                weight: device.tensor_from_vec(weight, (fan_out, fan_in)),
                bias: device.tensor_from_vec(bias, (fan_out,)),
            });
        }
        Ok(Self {
            config,
            layers: dense,
            device: device.clone(),
        })
    }

    /// The network's configuration.
    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// The device the parameters live on.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The layers, input first.
    pub fn layers(&self) -> &[Dense<E, D>] {
        &self.layers
    }

    /// Mutable layers, for optimisers. Shapes must not change.
    pub fn layers_mut(&mut self) -> &mut [Dense<E, D>] {
        &mut self.layers
    }

    /// Copies every layer to the host as `(weight, bias)` pairs.
    pub fn to_host(&self) -> Vec<HostLayer<E>> {
        self.layers
            .iter()
            .map(|l| (l.weight.as_vec(), l.bias.as_vec()))
            .collect()
    }

    /// The activation that follows each layer.
    pub fn activations(&self) -> Vec<LayerActivation> {
        let last = self.layers.len() - 1;
        (0..=last)
            .map(|i| match self.config.activation {
                Activation::Sine {
                    first_w0,
                    hidden_w0,
                } => {
                    if i == 0 {
                        LayerActivation::Sine(first_w0)
                    } else if i < last || self.config.last_layer == LastLayer::Sine {
                        LayerActivation::Sine(hidden_w0)
                    } else {
                        LayerActivation::Identity
                    }
                }
                _ if i == last => LayerActivation::Identity,
                Activation::Relu => LayerActivation::Relu,
                Activation::Tanh => LayerActivation::Tanh,
            })
            .collect()
    }
}

/// One layer's signals at a batch of points, see [`Network::signals`].
#[derive(Clone, Debug)]
pub struct LayerSignals<E> {
    /// The activation's argument, row-major `(N, width)`.
    pub preactivation: Vec<E>,
    /// The layer's output, row-major `(N, width)`.
    pub output: Vec<E>,
}

fn sample_normal(rng: &mut ChaCha8Rng, std: f64, count: usize) -> Vec<f64> {
    let normal = Normal::new(0.0, std).expect("finite positive std");
    (0..count).map(|_| normal.sample(rng)).collect()
}
