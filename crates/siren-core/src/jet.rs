//! Input derivatives propagated forward through the layers.
//!
//! For inputs $x \in \mathbb{R}^d$ the pass carries, for every layer's output $h$, the value,
//! the Jacobian columns $\partial_i h$ and the second derivatives $\partial_i\partial_j h$ that
//! were asked for. An affine map $a = \omega (W h + b)$ acts linearly on all of them:
//! $$\partial_i a = \omega W \partial_i h, \qquad \partial_{ij} a = \omega W \partial_{ij} h,$$
//! and an elementwise $y = \sigma(a)$ follows the chain rule
//! $$\partial_i y = \sigma'(a) \odot \partial_i a, \qquad
//!   \partial_{ij} y = \sigma''(a) \odot \partial_i a \odot \partial_j a +
//!   \sigma'(a) \odot \partial_{ij} a.$$
//! Value, Jacobian and second derivatives of a layer are stacked along a leading axis, so each
//! is one (batched) matrix product. Every step is an ordinary dfdx op recorded on one tape
//! (see [`Tracer`]), so one reverse pass gives the weight gradients of any loss built on these
//! derivatives: no double backward is needed. The cost is about $(1 + d + d_2)$ forward passes,
//! where $d_2$ is the number of second derivatives carried.

use dfdx::prelude::*;

use crate::config::Encoding;
use crate::error::{Error, Result};
use crate::network::{Dense, LayerActivation, Matrix, Network, Stack};
use crate::tracer::Tracer;
use crate::Float;

/// Which derivatives with respect to the input a pass carries. Each level includes the ones
/// before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Order {
    /// The value only.
    Value,
    /// The value and the gradient $\partial_i u$.
    Gradient,
    /// Also the unmixed second derivatives $\partial_i^2 u$: Laplacians over any subset of
    /// coordinates, and $\partial_t^2 u$ on its own.
    Diagonal,
    /// Also the mixed $\partial_i \partial_j u$, $i < j$: the full Hessian.
    Hessian,
}

/// The network's output and its input derivatives at a batch of `N` points.
///
/// Shapes, with `d` input coordinates and `c` output channels:
/// `value` is `(N, c)`; `gradient` and `hessian_diag` are `(d, N, c)`, indexed by coordinate;
/// `hessian_mixed` is `(d(d-1)/2, N, c)` over pairs $i < j$ in the order
/// $(0,1), (0,2), \ldots, (1,2), \ldots$. Fields a pass did not carry are `None`.
/// All tensors are tape-free; losses on them go through the [`Tracer`] of the pass.
#[derive(Clone, Debug)]
pub struct Jet<E: Float, D: Device<E>> {
    /// $u$.
    pub value: Matrix<E, D>,
    /// $\partial_i u$.
    pub gradient: Option<Stack<E, D>>,
    /// $\partial_i^2 u$.
    pub hessian_diag: Option<Stack<E, D>>,
    /// $\partial_i \partial_j u$ for $i < j$.
    pub hessian_mixed: Option<Stack<E, D>>,
    /// $\sum_{i \in G_q} \partial_i^2 u$ for the groups $G_q$ of
    /// [`Jet::laplacian_groups`], `(groups, N, c)`: what [`Network::jet_laplacians`] carries.
    pub laplacians: Option<Stack<E, D>>,
    /// The coordinate groups of [`Jet::laplacians`] (empty when it is `None`).
    pub laplacian_groups: Vec<Vec<usize>>,
}

/// Position of the pair `(i, j)`, `i < j`, in [`Jet::hessian_mixed`].
pub fn mixed_index(d: usize, i: usize, j: usize) -> usize {
    debug_assert!(i < j && j < d);
    i * d - i * (i + 1) / 2 + (j - i - 1)
}

/// All pairs `(i, j)`, `i < j < d`, in [`Jet::hessian_mixed`] order.
pub fn mixed_pairs(d: usize) -> Vec<(usize, usize)> {
    (0..d)
        .flat_map(|i| (i + 1..d).map(move |j| (i, j)))
        .collect()
}

/// Derivatives of one layer's output; `None` second derivatives are identically zero.
struct State<E: Float, D: Device<E>> {
    value: Matrix<E, D>,
    gradient: Option<Stack<E, D>>,
    diag: Option<Stack<E, D>>,
    mixed: Option<Stack<E, D>>,
}

impl<E: Float, D: Device<E>> Network<E, D> {
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
        let d = self.check_coordinates(coords)?;
        let n = coords.shape().0;
        if self.fused() {
            let lay = crate::fused::Layout::for_order(d, order);
            if let Some(jet) = crate::fused::jet(self, coords, lay, tracer) {
                return Ok(jet);
            }
        }
        let mut state = self.input_state(coords, order);
        for (layer, act) in self.layers().iter().zip(self.activations()) {
            state = propagate(layer, act, state, order, tracer);
        }
        let dev = self.device();
        let c = self.config().out_features;
        let zeros = |k: usize| -> Stack<E, D> { dev.zeros_like(&(k, n, c)) };
        Ok(Jet {
            value: state.value,
            gradient: state.gradient,
            hessian_diag: (order >= Order::Diagonal)
                .then(|| state.diag.unwrap_or_else(|| zeros(d))),
            hessian_mixed: (order >= Order::Hessian && d > 1)
                .then(|| state.mixed.unwrap_or_else(|| zeros(d * (d - 1) / 2))),
            laplacians: None,
            laplacian_groups: Vec::new(),
        })
    }

    /// The value, the gradient and the Laplacian over each group of coordinates, e.g.
    /// `&[&[0], &[1, 2]]` for $\partial_t^2 u$ and $\Delta_{xy} u$ of a wave, or `&[&[0, 1]]`
    /// for a 2-D Laplacian. [`Jet::laplacian`] and [`Jet::second`] read them.
    ///
    /// It is [`Network::jet`] with [`Order::Diagonal`] summed per group, but on the fused
    /// path it carries one row per group instead of one per coordinate: a 2-D Laplacian
    /// loss runs through 4 stacked rows per point instead of 5.
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
        let d = self.check_coordinates(coords)?;
        if groups.is_empty() {
            return Err(Error::InvalidInput(
                "jet_laplacians needs at least one group of coordinates".into(),
            ));
        }
        for group in groups {
            if group.is_empty() {
                return Err(Error::InvalidInput(
                    "a Laplacian needs at least one coordinate".into(),
                ));
            }
            for &i in group.iter() {
                check_coord(i, d)?;
            }
        }
        let owned: Vec<Vec<usize>> = groups.iter().map(|g| g.to_vec()).collect();
        if self.fused() {
            let lay = crate::fused::Layout::for_laplacians(d, &owned);
            if let Some(jet) = crate::fused::jet(self, coords, lay, tracer) {
                return Ok(jet);
            }
        }
        // The dfdx path: every diagonal entry, then the sums per group as one product
        // (groups x d) x (d x N c) on the tape.
        let mut jet = self.jet(coords, Order::Diagonal, tracer)?;
        let diag = jet
            .hessian_diag
            .clone()
            .expect("Order::Diagonal carries it");
        let (_, n, c) = *diag.shape();
        let mut select = vec![E::zero(); owned.len() * d];
        for (q, group) in owned.iter().enumerate() {
            for &i in group {
                select[q * d + i] += E::one();
            }
        }
        let g = owned.len();
        // (N c x d) x (d x groups), the taped operand on the left as dfdx wants it.
        let select_t = self
            .device()
            .tensor_from_vec(select, (g, d))
            .permute::<(usize, usize), Axes2<1, 0>>();
        let sums = tracer.apply(diag, |h| {
            h.reshape_like(&(d, n * c))
                .permute::<(usize, usize), Axes2<1, 0>>()
                .matmul(select_t)
                .permute::<(usize, usize), Axes2<1, 0>>()
                .reshape_like(&(g, n, c))
        });
        jet.laplacians = Some(sums);
        jet.laplacian_groups = owned;
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

    /// The encoded input and its derivatives, built on the host: they hold no parameters.
    fn input_state(&self, coords: &Matrix<E, D>, order: Order) -> State<E, D> {
        let dev = self.device();
        let (n, d) = *coords.shape();
        match self.config().encoding {
            Encoding::None => {
                let gradient = (order >= Order::Gradient).then(|| {
                    let mut seed = vec![E::zero(); d * n * d];
                    for i in 0..d {
                        for p in 0..n {
                            seed[(i * n + p) * d + i] = E::one();
                        }
                    }
                    dev.tensor_from_vec(seed, (d, n, d))
                });
                State {
                    value: coords.clone(),
                    gradient,
                    diag: None,
                    mixed: None,
                }
            }
            Encoding::Positional { frequencies } => {
                let x = coords.as_vec();
                let f = d * (1 + 2 * frequencies);
                let mut value = vec![E::zero(); n * f];
                let mut grad = vec![E::zero(); d * n * f];
                let mut diag = vec![E::zero(); d * n * f];
                for p in 0..n {
                    for j in 0..d {
                        let xj = x[p * d + j];
                        value[p * f + j] = xj;
                        grad[(j * n + p) * f + j] = E::one();
                        for k in 0..frequencies {
                            let w = E::of(std::f64::consts::PI * (1u64 << k) as f64);
                            let (s, c) = (w * xj).sin_cos();
                            let col = d + 2 * (k * d + j);
                            value[p * f + col] = s;
                            value[p * f + col + 1] = c;
                            grad[(j * n + p) * f + col] = w * c;
                            grad[(j * n + p) * f + col + 1] = -w * s;
                            diag[(j * n + p) * f + col] = -w * w * s;
                            diag[(j * n + p) * f + col + 1] = -w * w * c;
                        }
                    }
                }
                // Each feature depends on one coordinate, so the mixed terms are zero.
                State {
                    value: dev.tensor_from_vec(value, (n, f)),
                    gradient: (order >= Order::Gradient)
                        .then(|| dev.tensor_from_vec(grad, (d, n, f))),
                    diag: (order >= Order::Diagonal).then(|| dev.tensor_from_vec(diag, (d, n, f))),
                    mixed: None,
                }
            }
        }
    }
}

/// The argument of a layer's activation: $\omega_0 (W h + b)$ for sine layers, $W h + b$ else.
pub(crate) fn preactivation<E: Float, D: Device<E>, T: Tape<E, D>>(
    layer: &Dense<E, D>,
    act: LayerActivation,
    value: Matrix<E, D>,
    tr: &mut Tracer<E, D, T>,
) -> Matrix<E, D> {
    let (n, _) = *value.shape();
    let out = layer.weight.shape().0;
    let wt = layer
        .weight
        .clone()
        .permute::<(usize, usize), Axes2<1, 0>>();
    let bias = layer.bias.clone().broadcast_like::<_, Axis<0>>(&(n, out));
    tr.apply(value, |v| {
        let z = v.matmul(wt) + bias;
        match act {
            LayerActivation::Sine(w0) => z * E::of(w0),
            _ => z,
        }
    })
}

/// One layer: the affine map on every carried derivative, then the activation's chain rule.
fn propagate<E: Float, D: Device<E>, T: Tape<E, D>>(
    layer: &Dense<E, D>,
    act: LayerActivation,
    state: State<E, D>,
    order: Order,
    tr: &mut Tracer<E, D, T>,
) -> State<E, D> {
    let (n, _) = *state.value.shape();
    let out = layer.weight.shape().0;
    let wt = layer
        .weight
        .clone()
        .permute::<(usize, usize), Axes2<1, 0>>();
    let scale = match act {
        LayerActivation::Sine(w0) => Some(E::of(w0)),
        _ => None,
    };
    let scaled = |x: Tensor<(usize, usize, usize), E, D, T>| match scale {
        Some(w) => x * w,
        None => x,
    };
    let linear = |tr: &mut Tracer<E, D, T>, x: Option<Stack<E, D>>| {
        x.map(|x| tr.apply(x, |x| scaled(x.matmul(wt.clone()))))
    };

    let a = preactivation(layer, act, state.value, tr);
    let da = linear(tr, state.gradient);
    let dda = linear(tr, state.diag);
    let dda_mixed = linear(tr, state.mixed);

    // y = sigma(a) with s1 = sigma'(a) and s2 = sigma''(a); None where not needed or zero.
    let need_s1 = da.is_some();
    let need_s2 = order >= Order::Diagonal;
    let (y, s1, s2) = match act {
        LayerActivation::Identity => {
            return State {
                value: a,
                gradient: da,
                diag: dda,
                mixed: dda_mixed,
            }
        }
        LayerActivation::Sine(_) => {
            let y = tr.apply(a.clone(), |a| a.sin());
            let s1 = need_s1.then(|| tr.apply(a, |a| a.cos()));
            let s2 = need_s2.then(|| tr.apply(y.clone(), |y| y.negate()));
            (y, s1, s2)
        }
        LayerActivation::Tanh => {
            let y = tr.apply(a, |a| a.tanh());
            let s1 = need_s1.then(|| tr.apply(y.clone(), |y| y.square().negate() + E::one()));
            let s2 = match (&s1, need_s2) {
                (Some(s1), true) => {
                    let s1 = s1.clone();
                    Some(tr.apply(y.clone(), |y| y * s1 * E::of(-2.0)))
                }
                _ => None,
            };
            (y, s1, s2)
        }
        LayerActivation::Relu => {
            // sigma' is a step function (constant, no gradient) and sigma'' = 0 a.e.
            let s1 = need_s1.then(|| {
                let dev = a.device().clone();
                a.gt(E::zero())
                    .choose(dev.ones_like(&(n, out)), dev.zeros_like(&(n, out)))
            });
            let y = tr.apply(a, |a| a.relu());
            (y, s1, None)
        }
    };

    let Some(da) = da else {
        return State {
            value: y,
            gradient: None,
            diag: None,
            mixed: None,
        };
    };
    let s1 = s1.expect("s1 exists whenever derivatives are carried");
    let d = da.shape().0;
    let gradient = {
        let s1b = s1.clone().broadcast_like::<_, Axis<0>>(&(d, n, out));
        tr.apply(da.clone(), |da| da * s1b)
    };
    // s2 * (da_i * da_j) + s1 * dda_ij, either term possibly absent (zero).
    let second = |tr: &mut Tracer<E, D, T>,
                  first_order: Option<Stack<E, D>>,
                  dda: Option<Stack<E, D>>|
     -> Option<Stack<E, D>> {
        let k = first_order.as_ref().or(dda.as_ref())?.shape().0;
        let curvature = match (&s2, first_order) {
            (Some(s2), Some(prod)) => {
                let s2b = s2.clone().broadcast_like::<_, Axis<0>>(&(k, n, out));
                Some(tr.apply(prod, |p| p * s2b))
            }
            _ => None,
        };
        let chained = dda.map(|dda| {
            let s1b = s1.clone().broadcast_like::<_, Axis<0>>(&(k, n, out));
            tr.apply(dda, |dda| dda * s1b)
        });
        match (curvature, chained) {
            (Some(c), Some(h)) => Some(tr.apply(c, |c| c + h)),
            (c, h) => c.or(h),
        }
    };
    let diag = if order >= Order::Diagonal {
        let squares = s2.as_ref().map(|_| tr.apply(da.clone(), |x| x.square()));
        second(tr, squares, dda)
    } else {
        None
    };
    let mixed = if order >= Order::Hessian && d > 1 {
        let products = s2.as_ref().map(|_| {
            let dev = da.device().clone();
            let pairs = mixed_pairs(d);
            let first = dev.tensor_from_vec(pairs.iter().map(|p| p.0).collect(), (pairs.len(),));
            let other = dev.tensor_from_vec(pairs.iter().map(|p| p.1).collect(), (pairs.len(),));
            let dj = tr.apply(da.clone(), |x| x.gather(other));
            tr.apply(da.clone(), |x| x.gather(first) * dj)
        });
        second(tr, products, dda_mixed)
    } else {
        None
    };
    State {
        value: y,
        gradient: Some(gradient),
        diag,
        mixed,
    }
}

impl<E: Float, D: Device<E>> Jet<E, D> {
    fn coords(&self) -> usize {
        self.gradient.as_ref().map_or(0, |g| g.shape().0)
    }

    /// The carried Laplacian group with exactly these coordinates (in any order).
    fn group_index(&self, coords: &[usize]) -> Option<usize> {
        let mut want = coords.to_vec();
        want.sort_unstable();
        want.dedup();
        if want.len() != coords.len() {
            return None;
        }
        self.laplacian_groups.iter().position(|g| {
            let mut g = g.clone();
            g.sort_unstable();
            g == want
        })
    }

    fn pick<T: Tape<E, D>>(
        tr: &mut Tracer<E, D, T>,
        stack: &Stack<E, D>,
        index: usize,
    ) -> Matrix<E, D> {
        let idx = stack.device().tensor_from_vec(vec![index], ());
        tr.apply(stack.clone(), |s| s.select(idx))
    }

    /// $\partial u / \partial x_i$, `(N, c)`.
    pub fn partial<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        i: usize,
    ) -> Result<Matrix<E, D>> {
        let g = self.gradient.as_ref().ok_or_else(|| {
            Error::InvalidInput(
                "the pass did not carry the gradient (use Order::Gradient or higher)".into(),
            )
        })?;
        check_coord(i, self.coords())?;
        Ok(Self::pick(tr, g, i))
    }

    /// $\partial^2 u / \partial x_i \partial x_j$, `(N, c)`. Mixed terms need [`Order::Hessian`].
    pub fn second<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        i: usize,
        j: usize,
    ) -> Result<Matrix<E, D>> {
        let d = self.coords();
        check_coord(i, d)?;
        check_coord(j, d)?;
        let (i, j) = (i.min(j), i.max(j));
        if i == j {
            if let Some(q) = self.group_index(&[i]) {
                return Ok(Self::pick(tr, self.laplacians.as_ref().expect("groups"), q));
            }
            let h = self.hessian_diag.as_ref().ok_or_else(|| {
                Error::InvalidInput(
                    "the pass did not carry second derivatives (use Order::Diagonal)".into(),
                )
            })?;
            Ok(Self::pick(tr, h, i))
        } else {
            let h = self.hessian_mixed.as_ref().ok_or_else(|| {
                Error::InvalidInput(
                    "the pass did not carry mixed derivatives (use Order::Hessian)".into(),
                )
            })?;
            Ok(Self::pick(tr, h, mixed_index(d, i, j)))
        }
    }

    /// $\sum_{i \in \text{coords}} \partial_i^2 u$, `(N, c)`: the Laplacian over any subset of
    /// the input coordinates (e.g. the spatial ones of $(t, x, y)$).
    pub fn laplacian<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        coords: &[usize],
    ) -> Result<Matrix<E, D>> {
        if let Some(q) = self.group_index(coords) {
            return Ok(Self::pick(tr, self.laplacians.as_ref().expect("groups"), q));
        }
        let h = self.hessian_diag.as_ref().ok_or_else(|| {
            Error::InvalidInput(if self.laplacians.is_some() {
                format!(
                    "the pass carried the Laplacians over {:?} only, not over {coords:?}",
                    self.laplacian_groups
                )
            } else {
                "the pass did not carry second derivatives (use Order::Diagonal)".into()
            })
        })?;
        if coords.is_empty() {
            return Err(Error::InvalidInput(
                "a Laplacian needs at least one coordinate".into(),
            ));
        }
        for &i in coords {
            check_coord(i, self.coords())?;
        }
        let idx = h.device().tensor_from_vec(coords.to_vec(), (coords.len(),));
        Ok(tr.apply(h.clone(), |h| {
            h.gather(idx).sum::<(usize, usize), Axis<0>>()
        }))
    }
}

fn check_coord(i: usize, d: usize) -> Result<()> {
    if i < d {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "coordinate index {i} out of range for {d} input coordinates"
        )))
    }
}
