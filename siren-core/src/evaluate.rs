//! Evaluating models: the entry points that pick the device's kernels through [`Backend`].
//!
//! Construction and files live with the model ([`crate::model`]); evaluation lives here, the
//! one layer that sees both the model and the backends, so that neither imports the other's
//! users (`model` <- `jet` <- `backend` <- `evaluate`).

use dfdx::prelude::*;

use crate::backend::{reference, Backend};
use crate::error::{Error, Result};
use crate::jet::{Carry, DiagonalOperator, Jet, Order};
use crate::model::config::Encoding;
use crate::model::conv::{Conv2d, Patches};
use crate::model::network::{LayerSignals, Network};
use crate::tensor::{BatchedLayer, Matrix, Stack};
use crate::tracer::Tracer;
use crate::Float;

impl<E: Float, D: Backend<E>> Network<E, D> {
    /// Runs the network on `coords` (`(N, in_features)`), carrying the derivatives `order`
    /// asks for. Operations are recorded on `tracer`'s tape.
    ///
    /// ```
    /// use dfdx::prelude::*;
    /// use siren_core::{Network, NetworkConfig, Order, Parameters};
    ///
    /// let dev = Cpu::default();
    /// let net = Network::<f64, Cpu>::new(NetworkConfig::siren(2, 1, 32, 2), 0, &dev).unwrap();
    /// let x = dev.tensor_from_vec(vec![0.1, -0.3, 0.5, 0.2], (2, 2));
    /// let mut tracer = net.recording_tracer();
    /// let jet = net.jet(&x, Order::Diagonal, &mut tracer).unwrap();
    /// let lap = jet.laplacian(&mut tracer, &[0, 1]).unwrap(); // (2, 1)
    /// let loss = tracer.attach(lap).square().mean();
    /// let grads = loss.backward();
    /// let weight_grads = net.gradients(&grads);
    /// assert_eq!(weight_grads.len(), 4);
    /// ```
    pub fn jet<T: Tape<E, D>>(
        &self,
        coords: &Matrix<E, D>,
        order: Order,
        tracer: &mut Tracer<E, D, T>,
    ) -> Result<Jet<E, D>> {
        self.check_coordinates(coords)?;
        Ok(D::jet(self, coords, Carry::Order(order), tracer))
    }

    /// The value, the gradient and the Laplacian over each group of coordinates, e.g.
    /// `&[&[0, 1]]` for a 2-D Laplacian. [`Jet::laplacian`] and [`Jet::second`] read them.
    ///
    /// It is [`Network::jet_operators`] with [`DiagonalOperator::laplacian`] for each group:
    /// on the CPU a 2-D Laplacian loss runs through 4 stacked rows per point instead of the 5
    /// of [`Order::Diagonal`].
    ///
    /// ```
    /// use dfdx::prelude::*;
    /// use siren_core::{Network, NetworkConfig, Order, Tracer};
    ///
    /// let dev = Cpu::default();
    /// let net = Network::<f64, Cpu>::new(NetworkConfig::siren(3, 1, 16, 2), 0, &dev).unwrap();
    /// let x = dev.tensor_from_vec(vec![0.1, -0.3, 0.5], (1, 3));
    /// let mut tr = Tracer::inference();
    /// let jet = net.jet_laplacians(&x, &[&[0], &[1, 2]], &mut tr).unwrap();
    /// let full = net.jet(&x, Order::Diagonal, &mut tr).unwrap();
    /// let (a, b) = (jet.laplacian(&mut tr, &[1, 2]).unwrap(), full.laplacian(&mut tr, &[1, 2]).unwrap());
    /// assert!((a.as_vec()[0] - b.as_vec()[0]).abs() < 1e-9);
    /// ```
    pub fn jet_laplacians<T: Tape<E, D>>(
        &self,
        coords: &Matrix<E, D>,
        groups: &[&[usize]],
        tracer: &mut Tracer<E, D, T>,
    ) -> Result<Jet<E, D>> {
        if groups.is_empty() {
            return Err(Error::InvalidInput(
                "jet_laplacians needs at least one group of coordinates".into(),
            ));
        }
        if groups.iter().any(|g| g.is_empty()) {
            return Err(Error::InvalidInput(
                "a Laplacian needs at least one coordinate".into(),
            ));
        }
        let ops: Vec<DiagonalOperator<E>> = groups
            .iter()
            .map(|g| DiagonalOperator::laplacian(g))
            .collect();
        self.jet_operators(coords, &ops, tracer)
    }

    /// The value, the gradient and $L_q u$ for each operator $L_q$, carried as one row per
    /// operator (see [`DiagonalOperator`]). [`Jet::operator`] reads them.
    ///
    /// ```
    /// use dfdx::prelude::*;
    /// use siren_core::{jet::DiagonalOperator, Network, NetworkConfig, Order, Tracer};
    ///
    /// let dev = Cpu::default();
    /// let net = Network::<f64, Cpu>::new(NetworkConfig::siren(3, 1, 16, 2), 0, &dev).unwrap();
    /// let x = dev.tensor_from_vec(vec![0.1, -0.3, 0.5, 0.2, 0.4, -0.1], (2, 3));
    /// // u_tt - c^2 (u_xx + u_yy) with c^2 = 1 at the first point and 4 at the second.
    /// let minus_c2 = vec![-1.0, -4.0];
    /// let wave = DiagonalOperator::new()
    ///     .term(0, 1.0)
    ///     .term_per_point(1, minus_c2.clone())
    ///     .term_per_point(2, minus_c2);
    /// let mut tr = Tracer::inference();
    /// let jet = net.jet_operators(&x, std::slice::from_ref(&wave), &mut tr).unwrap();
    /// let r = jet.operator(&mut tr, &wave).unwrap().as_vec();
    /// // The same from the full Hessian diagonal.
    /// let full = net.jet(&x, Order::Diagonal, &mut tr).unwrap();
    /// let (utt, lap) = (full.second(&mut tr, 0, 0).unwrap().as_vec(), full.laplacian(&mut tr, &[1, 2]).unwrap().as_vec());
    /// assert!((r[1] - (utt[1] - 4.0 * lap[1])).abs() < 1e-9);
    /// ```
    pub fn jet_operators<T: Tape<E, D>>(
        &self,
        coords: &Matrix<E, D>,
        ops: &[DiagonalOperator<E>],
        tracer: &mut Tracer<E, D, T>,
    ) -> Result<Jet<E, D>> {
        let d = self.check_coordinates(coords)?;
        let n = coords.shape().0;
        if ops.is_empty() {
            return Err(Error::InvalidInput(
                "jet_operators needs at least one operator".into(),
            ));
        }
        for op in ops {
            op.check(d, n)?;
        }
        let mut jet = D::jet(self, coords, Carry::Operators(ops), tracer);
        jet.operators = ops.to_vec();
        Ok(jet)
    }

    /// The number of input coordinates, after checking `coords` fits the network.
    fn check_coordinates(&self, coords: &Matrix<E, D>) -> Result<usize> {
        let (n, d) = *coords.shape();
        if d != self.config().in_features {
            return Err(Error::InvalidInput(format!(
                "coordinates have {d} columns but the network takes {} input features",
                self.config().in_features
            )));
        }
        if n == 0 {
            return Err(Error::InvalidInput("no coordinates given (N = 0)".into()));
        }
        Ok(d)
    }

    /// The network's value at `coords` (`(N, in_features)`), without derivatives or tape.
    pub fn forward(&self, coords: &Matrix<E, D>) -> Result<Matrix<E, D>> {
        let jet = self.jet(coords, Order::Value, &mut Tracer::inference())?;
        Ok(jet.value)
    }

    /// Every layer's pre-activation (the argument of its activation) and output at `coords`,
    /// as host vectors `(N * width)` row-major: the signals the initialisation theory is about.
    pub fn signals(&self, coords: &Matrix<E, D>) -> Result<Vec<LayerSignals<E>>> {
        let (_, d) = *coords.shape();
        if d != self.config().in_features || self.config().encoding != Encoding::None {
            return Err(Error::InvalidInput(format!(
                "signals need raw coordinates with {} columns, got {d}",
                self.config().in_features
            )));
        }
        let mut tr = Tracer::inference();
        let mut h = coords.clone();
        let mut out = Vec::with_capacity(self.layers().len());
        for (layer, act) in self.layers().iter().zip(self.activations()) {
            let a = reference::preactivation(layer, act, h, &mut tr);
            // sigma(a) from the one formula both backends use.
            let [value, ..] = act.derivatives(&a);
            h = value;
            out.push(LayerSignals {
                preactivation: a.as_vec(),
                output: h.as_vec(),
            });
        }
        Ok(out)
    }
}

impl<E: Float, D: Backend<E>> Conv2d<E, D> {
    /// Applies the convolution to a feature map `(pixels, in)`, recorded on `tr`, through the
    /// device's kernel ([`Backend::conv`]).
    pub fn forward<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        x: Matrix<E, D>,
        patches: &Patches<E, D>,
    ) -> Result<Matrix<E, D>> {
        self.check(&x, patches)?;
        Ok(D::conv(self, tr, x, patches))
    }

    /// A partial convolution (Liu et al. 2018): the convolution of the known inputs only,
    /// rescaled by $K^2 / (\text{known taps})$ so that a partly known window gives the same
    /// magnitude as a full one, and 0 where no tap is known. `known` flags each pixel of the
    /// `(batch, height, width)` maps; returns the output and its updated flags (a pixel is
    /// known once any tap of its window was).
    #[allow(clippy::too_many_arguments)]
    pub fn forward_partial<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        x: Matrix<E, D>,
        patches: &Patches<E, D>,
        known: &[bool],
        batch: usize,
        height: usize,
        width: usize,
    ) -> Result<(Matrix<E, D>, Vec<bool>)> {
        let (rows, channels) = *x.shape();
        if known.len() != rows || batch * height * width != rows {
            return Err(Error::InvalidInput(format!(
                "a partial convolution needs one flag per pixel: {} flags for a ({rows}, {channels}) map of {batch}x{height}x{width}",
                known.len()
            )));
        }
        let r = (self.kernel / 2) as i64;
        let taps = (self.kernel * self.kernel) as f64;
        let mut ratio = Vec::with_capacity(rows);
        let mut next = Vec::with_capacity(rows);
        for b in 0..batch {
            for y in 0..height as i64 {
                for x in 0..width as i64 {
                    let mut count = 0usize;
                    for dy in -r..=r {
                        for dx in -r..=r {
                            let (yy, xx) = (y + dy, x + dx);
                            if (0..height as i64).contains(&yy)
                                && (0..width as i64).contains(&xx)
                                && known[(b * height + yy as usize) * width + xx as usize]
                            {
                                count += 1;
                            }
                        }
                    }
                    next.push(count > 0);
                    ratio.push(if count > 0 { taps / count as f64 } else { 0.0 });
                }
            }
        }
        let device = x.device().clone();
        let out = self.map.weight.shape().0;
        let column = |v: Vec<E>, cols: usize| -> Matrix<E, D> {
            device
                .tensor_from_vec(v, (rows,))
                .broadcast_like::<_, Axis<1>>(&(rows, cols))
        };
        let input_mask = column(
            known
                .iter()
                .map(|&k| if k { E::one() } else { E::zero() })
                .collect(),
            channels,
        );
        let scale = column(ratio.iter().map(|&v| E::of(v)).collect(), out);
        let valid = column(
            next.iter()
                .map(|&k| if k { E::one() } else { E::zero() })
                .collect(),
            out,
        );
        let masked = tr.apply(x, |x| x * input_mask);
        let y = self.forward(tr, masked, patches)?;
        let bias = self
            .map
            .bias
            .clone()
            .broadcast_like::<_, Axis<0>>(&(rows, out));
        // (Wx + b - b) * ratio + b, zeroed where nothing was known: every op has the taped
        // tensor as an operand, so the bias keeps its gradient.
        let y = tr.apply(y, |y| ((y - bias.clone()) * scale + bias) * valid);
        Ok((y, next))
    }
}

/// A batch of SIRENs of one shape, each with weights of its own (a hypernetwork's generated
/// networks), at shared coordinates, recorded on `tr`: `(b, n, out)` for `coords` `(n, d)`.
/// Layer `l` of network `f` has its row-major `(o_l, i_l)` weight in row `f` of
/// `layers[l].0` `(b, o_l * i_l)` and its bias in row `f` of `layers[l].1` `(b, o_l)`, with
/// $i_0 = d$ and $i_l = o_{l-1}$. Every layer but the last is
/// $h \mapsto \sin(\omega_0 (h W^\top + b))$; the last is linear. Gradients reach the weights
/// and biases, not the coordinates. Through the device's kernel ([`Backend::batched_siren`]).
///
/// # Errors
/// [`Error::InvalidInput`] when there is no layer, a size is 0, or the shapes do not chain.
pub fn batched_siren<E: Float, D: Backend<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    coords: &Matrix<E, D>,
    layers: &[BatchedLayer<E, D>],
    w0: E,
) -> Result<Stack<E, D>> {
    let (n, d) = *coords.shape();
    let Some(b) = layers.first().map(|(_, bias)| bias.shape().0) else {
        return Err(Error::InvalidInput("batched_siren needs a layer".into()));
    };
    let mut fan_in = d;
    for (l, (w, bias)) in layers.iter().enumerate() {
        let (rows, o) = *bias.shape();
        if n * b * fan_in * o == 0 || rows != b || *w.shape() != (b, o * fan_in) {
            return Err(Error::InvalidInput(format!(
                "batched_siren: layer {l} takes {fan_in} inputs, so its weights must be \
                 (b, o * {fan_in}) and its biases (b, o) with b = {b}, all non-empty; got \
                 {:?} and {:?} at coordinates {:?}",
                w.shape(),
                bias.shape(),
                coords.shape()
            )));
        }
        fan_in = o;
    }
    Ok(D::batched_siren(tr, coords, layers, w0))
}

/// $\sin(\omega x)$ element-wise, recorded on `tr`: the activation of a sine layer whose
/// affine map was computed elsewhere (the per-face SIRENs of a hypernetwork), through the
/// device's kernel ([`Backend::sine`]).
///
/// ```
/// use dfdx::prelude::*;
/// use siren_core::{sine, Tracer};
///
/// let dev = Cpu::default();
/// let x: Tensor<(usize,), f32, Cpu> = dev.tensor_from_vec(vec![0.0, 0.01, -0.02], (3,));
/// let y = sine(&mut Tracer::inference(), x, 30.0);
/// assert!((y.as_vec()[1] - 0.3f32.sin()).abs() < 1e-6);
/// ```
pub fn sine<S: Shape, E: Float, D: Backend<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    x: Tensor<S, E, D>,
    w0: E,
) -> Tensor<S, E, D> {
    D::sine(tr, x, w0)
}
