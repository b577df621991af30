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

/// First and second moments of one layer.
#[derive(Clone, Debug)]
pub(crate) struct Moments<E: Float, D: Device<E>> {
    pub(crate) weight: (Matrix<E, D>, Matrix<E, D>),
    pub(crate) bias: (Vector<E, D>, Vector<E, D>),
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
        config.validate()?;
        let moments = model
            .dense()
            .into_iter()
            .map(|l| {
                let dev = l.weight.device();
                Moments {
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
    pub fn update(&mut self, model: &mut impl Parameters<E, D>, grads: &Gradients<E, D>) {
        self.update_scaled(model, grads, 1.0);
    }

    /// Clips the gradient to global L2 norm `max_norm` (PyTorch's `clip_grad_norm_`: scale
    /// by $\min(1, \text{max\_norm} / (\lVert g \rVert + 10^{-6}))$), then updates.
    /// Returns the norm before clipping.
    pub fn update_clipped(
        &mut self,
        model: &mut impl Parameters<E, D>,
        grads: &Gradients<E, D>,
        max_norm: f64,
    ) -> f64 {
        let mut squares = 0.0f64;
        for layer in model.dense() {
            squares += grads
                .get::<(usize, usize)>(&layer.weight)
                .square()
                .sum::<(), _>()
                .as_vec()[0]
                .as_f64();
            squares += grads
                .get::<(usize,)>(&layer.bias)
                .square()
                .sum::<(), _>()
                .as_vec()[0]
                .as_f64();
        }
        let norm = squares.sqrt();
        let scale = (max_norm / (norm + 1e-6)).min(1.0);
        self.update_scaled(model, grads, scale);
        norm
    }

    fn update_scaled(
        &mut self,
        model: &mut impl Parameters<E, D>,
        grads: &Gradients<E, D>,
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
        for (layer, moments) in model.dense_mut().into_iter().zip(&mut self.moments) {
            let mut g = grads.get(&layer.weight);
            if scale != 1.0 {
                g = g * E::of(scale);
            }
            adam_tensor(&mut layer.weight, g, &mut moments.weight, c, step_size, eps);
            let mut g = grads.get(&layer.bias);
            if scale != 1.0 {
                g = g * E::of(scale);
            }
            adam_tensor(&mut layer.bias, g, &mut moments.bias, c, step_size, eps);
        }
    }
}

fn adam_tensor<S: Shape, E: Float, D: Device<E>>(
    param: &mut Tensor<S, E, D>,
    grad: Tensor<S, E, D>,
    (m, v): &mut (Tensor<S, E, D>, Tensor<S, E, D>),
    c: AdamConfig,
    step_size: f64,
    eps: E,
) {
    m.axpy(c.beta1, &grad, 1.0 - c.beta1);
    v.axpy(c.beta2, &grad.square(), 1.0 - c.beta2);
    let direction = m.clone() / (v.clone().sqrt() + eps);
    param.axpy(1.0, &direction, -step_size);
}
