//! Adam over a network's runtime-shaped parameters.
//!
//! dfdx's own optimisers want compile-time module shapes; this one walks the parameter list
//! of a [`Network`](crate::Network). The update is PyTorch's `torch.optim.Adam` (no weight decay):
//! $$m_t = \beta_1 m_{t-1} + (1-\beta_1) g, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g^2,$$
//! $$\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,
//!   \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}.$$

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::network::Parameters;
use crate::tensor::{Matrix, Vector};
use crate::Float;

/// Adam hyper-parameters; defaults are PyTorch's with the paper's learning rate 1e-4.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    /// Learning rate $\eta$.
    pub lr: f64,
    /// $\beta_1$.
    pub beta1: f64,
    /// $\beta_2$.
    pub beta2: f64,
    /// $\epsilon$.
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-4,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

impl AdamConfig {
    /// Checks that every value is in range.
    pub fn validate(&self) -> Result<()> {
        let ok = self.lr.is_finite()
            && self.lr > 0.0
            && (0.0..1.0).contains(&self.beta1)
            && (0.0..1.0).contains(&self.beta2)
            && self.eps.is_finite()
            && self.eps > 0.0;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidConfig(format!(
                "Adam needs lr > 0, 0 <= beta1, beta2 < 1 and eps > 0; got {self:?}"
            )))
        }
    }
}

mod fused;

/// First and second moments of one layer: dfdx tensors on any device, or on the CPU host
/// vectors that its one-pass update ([`fused`]) changes in place (dfdx lends no tensor's
/// memory to write).
#[derive(Clone, Debug)]
pub(crate) enum Moments<E: Float, D: Device<E>> {
    Tensors {
        weight: (Matrix<E, D>, Matrix<E, D>),
        bias: (Vector<E, D>, Vector<E, D>),
    },
    Host {
        weight: (Vec<E>, Vec<E>),
        bias: (Vec<E>, Vec<E>),
    },
}

impl<E: Float, D: Device<E>> Moments<E, D> {
    /// `[weight m, weight v, bias m, bias v]`.
    pub(crate) fn values(&self) -> [Vec<E>; 4] {
        match self {
            Moments::Tensors { weight, bias } => [
                weight.0.as_vec(),
                weight.1.as_vec(),
                bias.0.as_vec(),
                bias.1.as_vec(),
            ],
            Moments::Host { weight, bias } => [
                weight.0.clone(),
                weight.1.clone(),
                bias.0.clone(),
                bias.1.clone(),
            ],
        }
    }

    /// Sets `[weight m, weight v, bias m, bias v]`; each must have its tensor's length.
    pub(crate) fn set_values(&mut self, values: [&[E]; 4]) {
        match self {
            Moments::Tensors { weight, bias } => {
                weight.0.copy_from(values[0]);
                weight.1.copy_from(values[1]);
                bias.0.copy_from(values[2]);
                bias.1.copy_from(values[3]);
            }
            Moments::Host { weight, bias } => {
                weight.0.copy_from_slice(values[0]);
                weight.1.copy_from_slice(values[1]);
                bias.0.copy_from_slice(values[2]);
                bias.1.copy_from_slice(values[3]);
            }
        }
    }
}

/// Adam state for one model ([`Parameters`]).
#[derive(Clone, Debug)]
pub struct Adam<E: Float, D: Device<E>> {
    config: AdamConfig,
    pub(crate) step: u64,
    pub(crate) moments: Vec<Moments<E, D>>,
}

impl<E: Float, D: Device<E>> Adam<E, D> {
    /// Zero moments shaped like `model`'s parameters.
    pub fn new(model: &impl Parameters<E, D>, config: AdamConfig) -> Result<Self> {
        Self::with_update(model, config, fused::runs_on::<E, D>())
    }

    /// [`Adam::new`], with the moments where the CPU's one-pass update wants them (`fused`)
    /// or as dfdx tensors (the ops' update, on any device).
    fn with_update(model: &impl Parameters<E, D>, config: AdamConfig, fused: bool) -> Result<Self> {
        config.validate()?;
        let moments = model
            .dense()
            .into_iter()
            .map(|l| {
                if fused {
                    let (w, b) = (l.weight.shape(), l.bias.shape());
                    let zeros = |n: usize| vec![E::zero(); n];
                    return Moments::Host {
                        weight: (zeros(w.0 * w.1), zeros(w.0 * w.1)),
                        bias: (zeros(b.0), zeros(b.0)),
                    };
                }
                let dev = l.weight.device();
                Moments::Tensors {
                    weight: (
                        dev.zeros_like(l.weight.shape()),
                        dev.zeros_like(l.weight.shape()),
                    ),
                    bias: (
                        dev.zeros_like(l.bias.shape()),
                        dev.zeros_like(l.bias.shape()),
                    ),
                }
            })
            .collect();
        Ok(Self {
            config,
            step: 0,
            moments,
        })
    }

    /// Number of updates taken.
    pub fn steps_taken(&self) -> u64 {
        self.step
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// Sets the learning rate of the next updates (for schedules); it must be finite and > 0.
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        AdamConfig { lr, ..self.config }.validate()?;
        self.config.lr = lr;
        Ok(())
    }

    /// Applies one update from the gradients of a finished reverse pass.
    ///
    /// The gradients are borrowed mutably only so that the CPU can read them in place (see
    /// [`Adam::update_clipped`]); they are not changed.
    pub fn update(&mut self, model: &mut impl Parameters<E, D>, grads: &mut Gradients<E, D>) {
        self.update_scaled(model, grads, 1.0);
    }

    /// Clips the gradient to global L2 norm `max_norm` (PyTorch's `clip_grad_norm_`: scale
    /// by $\min(1, \text{max\_norm} / (\lVert g \rVert + 10^{-6}))$), then updates.
    /// Returns the norm before clipping.
    ///
    /// On the CPU the norm and the update are one pass each over every tensor, split across
    /// rayon's threads; on other devices they are dfdx ops, with the same formulas in the same
    /// order of operations.
    pub fn update_clipped(
        &mut self,
        model: &mut impl Parameters<E, D>,
        grads: &mut Gradients<E, D>,
        max_norm: f64,
    ) -> f64 {
        let mut squares = 0.0f64;
        for layer in model.dense() {
            squares += squared_norm(grads, &layer.weight) + squared_norm(grads, &layer.bias);
        }
        let norm = squares.sqrt();
        let scale = (max_norm / (norm + 1e-6)).min(1.0);
        self.update_scaled(model, grads, scale);
        norm
    }

    fn update_scaled(
        &mut self,
        model: &mut impl Parameters<E, D>,
        grads: &mut Gradients<E, D>,
        scale: f64,
    ) {
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let bc1 = 1.0 - c.beta1.powi(t);
        let bc2_sqrt = (1.0 - c.beta2.powi(t)).sqrt();
        // theta -= (lr sqrt(bc2) / bc1) * m / (sqrt(v) + eps sqrt(bc2)), PyTorch's form rearranged.
        let step_size = c.lr * bc2_sqrt / bc1;
        let eps = E::of(c.eps * bc2_sqrt);
        let step = fused::Step::new(c, scale, step_size, eps);
        for (layer, moments) in model.dense_mut().into_iter().zip(&mut self.moments) {
            match moments {
                Moments::Host { weight, bias } => {
                    fused::update(&mut layer.weight, grads, weight, &step);
                    fused::update(&mut layer.bias, grads, bias, &step);
                }
                Moments::Tensors { weight, bias } => {
                    adam_tensor(&mut layer.weight, grads, scale, weight, c, step_size, eps);
                    adam_tensor(&mut layer.bias, grads, scale, bias, c, step_size, eps);
                }
            }
        }
    }
}

/// $\lVert g \rVert^2$ of `t`'s gradient: on the CPU in `f64` over fixed blocks ([`fused`]),
/// elsewhere by dfdx ops in `E`.
fn squared_norm<S: Shape, E: Float, D: Device<E>>(
    grads: &mut Gradients<E, D>,
    t: &Tensor<S, E, D>,
) -> f64 {
    if let Some(squares) = fused::squared_norm(grads, t) {
        return squares;
    }
    grads.get(t).square().sum::<(), _>().as_vec()[0].as_f64()
}

/// One update of `param` by dfdx ops, its gradient in `grads` scaled by `scale`.
#[allow(clippy::too_many_arguments)]
fn adam_tensor<S: Shape, E: Float, D: Device<E>>(
    param: &mut Tensor<S, E, D>,
    grads: &Gradients<E, D>,
    scale: f64,
    (m, v): &mut (Tensor<S, E, D>, Tensor<S, E, D>),
    c: AdamConfig,
    step_size: f64,
    eps: E,
) {
    let mut grad = grads.get(param);
    if scale != 1.0 {
        grad = grad * E::of(scale);
    }
    m.axpy(c.beta1, &grad, 1.0 - c.beta1);
    v.axpy(c.beta2, &grad.square(), 1.0 - c.beta2);
    let direction = m.clone() / (v.clone().sqrt() + eps);
    param.axpy(1.0, &direction, -step_size);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Network, NetworkConfig, Order};

    /// The network's parameters and Adam's moments, flattened.
    fn state(net: &Network<f32, Cpu>, adam: &Adam<f32, Cpu>) -> Vec<f32> {
        let mut all = Vec::new();
        for (layer, m) in net.dense().into_iter().zip(&adam.moments) {
            all.extend(layer.weight.as_vec());
            all.extend(layer.bias.as_vec());
            all.extend(m.values().concat());
        }
        all
    }

    /// Steps a copy of one network with the CPU's one-pass update and another with the dfdx
    /// ops, on the same loss, and returns both states and gradient norms.
    fn both_ways(max_norm: f64) -> [(Vec<f32>, Vec<f64>); 2] {
        let dev = Cpu::default();
        // A 180 x 180 weight spans two of the fused pass's blocks.
        let config = NetworkConfig::siren(2, 1, 180, 2);
        let start = Network::<f32, Cpu>::new(config, 3, &dev).unwrap();
        let x: Tensor<(usize, usize), f32, Cpu> =
            dev.tensor_from_vec((0..64).map(|i| (i as f32 * 0.37).sin()).collect(), (32, 2));
        [true, false].map(|fused| {
            let mut net = start.clone();
            let mut adam = Adam::with_update(&net, AdamConfig::default(), fused).unwrap();
            let mut norms = Vec::new();
            for _ in 0..3 {
                let mut tr = net.recording_tracer();
                let value = net.jet(&x, Order::Value, &mut tr).unwrap().value;
                let loss = tr.apply(value, |v| v.square().mean());
                let mut grads = tr.attach(loss).backward();
                norms.push(adam.update_clipped(&mut net, &mut grads, max_norm));
            }
            (state(&net, &adam), norms)
        })
    }

    #[test]
    fn the_cpu_update_is_the_dfdx_ops_update_to_the_bit() {
        let [(fused, _), (ops, _)] = both_ways(1e9);
        assert!(fused
            .iter()
            .zip(&ops)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn the_cpu_update_clips_as_the_dfdx_ops_do() {
        // Both take the norm the CPU's way, so the clipped steps agree to the bit too.
        let [(fused, norms), (ops, _)] = both_ways(1e-3);
        assert!(norms.iter().all(|&n| n > 1e-2), "the norm clips: {norms:?}");
        assert!(fused
            .iter()
            .zip(&ops)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
