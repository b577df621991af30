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
    /// $L_q u$ for the operators $L_q$ of [`Jet::operators`], `(operators, N, c)`: what
    /// [`Network::jet_operators`] and [`Network::jet_laplacians`] carry.
    pub operator_values: Option<Stack<E, D>>,
    /// The operators of [`Jet::operator_values`], in its order (empty when it is `None`).
    pub operators: Vec<DiagonalOperator<E>>,
}

/// The coefficient of one term of a [`DiagonalOperator`].
#[derive(Clone, Debug, PartialEq)]
pub enum Coefficient<E> {
    /// The same at every point.
    Constant(E),
    /// One value per point of the batch, in the order of the coordinates' rows.
    PerPoint(Vec<E>),
}

impl<E: Copy> Coefficient<E> {
    /// The coefficient at point `p` (checked against the batch by `DiagonalOperator::check`).
    pub(crate) fn at(&self, p: usize) -> E {
        match self {
            Coefficient::Constant(a) => *a,
            Coefficient::PerPoint(v) => v[p],
        }
    }
}

/// A linear second-order operator without mixed derivatives,
/// $$L u = \sum_t a_t(x)\, \partial_{i_t}^2 u,$$
/// whose coefficients may change from point to point: the wave operator
/// $\partial_t^2 - c(x, y)^2 \Delta_{x,y}$ of a medium with a varying speed, say.
///
/// [`Network::jet_operators`] carries $L h$ through the layers as **one** row per point,
/// however many second derivatives $L$ reads. A coefficient is a constant of its point, so
/// it passes through a layer's affine map, and the chain rule of an activation needs only
/// the gradient rows besides:
/// $$L(W h + b) = W\, L h, \qquad
///   L\,\sigma(a) = \sigma'(a)\, L a + \sigma''(a) \sum_t a_t\, (\partial_{i_t} a)^2.$$
/// A wave residual $u_{tt} - c^2 \Delta_{x,y} u$ then costs the value, three gradient rows
/// and one operator row (5 per point) instead of separate $u_{tt}$ and $\Delta_{x,y} u$
/// rows (6).
///
/// ```
/// use siren_core::jet::DiagonalOperator;
///
/// // u_tt - c^2 (u_xx + u_yy) at two points where c^2 is 1 and 4.
/// let wave = DiagonalOperator::new()
///     .term(0, 1.0)
///     .term_per_point(1, vec![-1.0, -4.0])
///     .term_per_point(2, vec![-1.0, -4.0]);
/// assert_eq!(wave.terms().len(), 3);
/// assert_eq!(DiagonalOperator::laplacian(&[1, 2]), DiagonalOperator::new().term(1, 1.0).term(2, 1.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DiagonalOperator<E> {
    terms: Vec<(usize, Coefficient<E>)>,
}

impl<E: Float> Default for DiagonalOperator<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Float> DiagonalOperator<E> {
    /// The operator with no terms yet.
    pub fn new() -> Self {
        Self { terms: Vec::new() }
    }

    /// $\sum_{i \in \text{coords}} \partial_i^2$.
    pub fn laplacian(coords: &[usize]) -> Self {
        coords
            .iter()
            .fold(Self::new(), |op, &i| op.term(i, E::one()))
    }

    /// Adds $a\, \partial_i^2$.
    pub fn term(mut self, i: usize, a: E) -> Self {
        self.terms.push((i, Coefficient::Constant(a)));
        self
    }

    /// Adds $a(x)\, \partial_i^2$, with one value of $a$ per point of the batch.
    pub fn term_per_point(mut self, i: usize, a: Vec<E>) -> Self {
        self.terms.push((i, Coefficient::PerPoint(a)));
        self
    }

    /// The terms: coordinate and coefficient.
    pub fn terms(&self) -> &[(usize, Coefficient<E>)] {
        &self.terms
    }

    /// Whether this is the Laplacian over exactly `coords` (each once, coefficient 1).
    fn is_laplacian_over(&self, coords: &[usize]) -> bool {
        let mut want = coords.to_vec();
        want.sort_unstable();
        want.dedup();
        let mut have: Vec<usize> = Vec::with_capacity(self.terms.len());
        for (i, a) in &self.terms {
            if *a != Coefficient::Constant(E::one()) {
                return false;
            }
            have.push(*i);
        }
        have.sort_unstable();
        want.len() == coords.len() && have == want
    }

    /// Checks the operator against `d` input coordinates and a batch of `n` points.
    pub(crate) fn check(&self, d: usize, n: usize) -> Result<()> {
        if self.terms.is_empty() {
            return Err(Error::InvalidInput(
                "a second-order operator needs at least one term (DiagonalOperator::term)".into(),
            ));
        }
        for (i, a) in &self.terms {
            check_coord(*i, d)?;
            if let Coefficient::PerPoint(v) = a {
                if v.len() != n {
                    return Err(Error::InvalidInput(format!(
                        "a per-point coefficient of the operator has {} values but the batch \
                         has {n} points; give one value per point",
                        v.len()
                    )));
                }
            }
        }
        Ok(())
    }
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
            operator_values: None,
            operators: Vec::new(),
        })
    }

    /// The value, the gradient and the Laplacian over each group of coordinates, e.g.
    /// `&[&[0, 1]]` for a 2-D Laplacian. [`Jet::laplacian`] and [`Jet::second`] read them.
    ///
    /// It is [`Network::jet_operators`] with [`DiagonalOperator::laplacian`] for each group:
    /// on the fused path a 2-D Laplacian loss runs through 4 stacked rows per point instead
    /// of the 5 of [`Order::Diagonal`].
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
        let fused = self
            .fused()
            .then(|| {
                let lay = crate::fused::Layout::for_operators(d, n, ops);
                crate::fused::jet(self, coords, lay, tracer)
            })
            .flatten();
        let mut jet = match fused {
            Some(jet) => jet,
            None => {
                // The dfdx path: every diagonal entry, then the operators' weighted sums.
                let mut jet = self.jet(coords, Order::Diagonal, tracer)?;
                let diag = jet
                    .hessian_diag
                    .as_ref()
                    .expect("Order::Diagonal carries it");
                jet.operator_values = Some(apply_operators(tracer, diag, ops));
                jet
            }
        };
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

    /// The carried operator that is the Laplacian over exactly these coordinates (in any
    /// order).
    fn laplacian_index(&self, coords: &[usize]) -> Option<usize> {
        self.operators
            .iter()
            .position(|op| op.is_laplacian_over(coords))
    }

    fn carried(&self) -> &Stack<E, D> {
        self.operator_values
            .as_ref()
            .expect("operators are listed only when carried")
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
            if let Some(q) = self.laplacian_index(&[i]) {
                return Ok(Self::pick(tr, self.carried(), q));
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
        if let Some(q) = self.laplacian_index(coords) {
            return Ok(Self::pick(tr, self.carried(), q));
        }
        let h = self.hessian_diag.as_ref().ok_or_else(|| {
            Error::InvalidInput(if self.operator_values.is_some() {
                format!(
                    "the pass carried the operators {:?} only, not the Laplacian over \
                     {coords:?}",
                    self.operator_names()
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

    /// $L u$, `(N, c)`: the operator's row if the pass carried `op` (see
    /// [`Network::jet_operators`]), else its weighted sum of the Hessian diagonal.
    pub fn operator<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        op: &DiagonalOperator<E>,
    ) -> Result<Matrix<E, D>> {
        if let Some(q) = self.operators.iter().position(|o| o == op) {
            return Ok(Self::pick(tr, self.carried(), q));
        }
        let h = self.hessian_diag.as_ref().ok_or_else(|| {
            Error::InvalidInput(if self.operator_values.is_some() {
                format!(
                    "the pass carried the operators {:?} only, not {:?}; pass this operator \
                     to jet_operators",
                    self.operator_names(),
                    describe(op)
                )
            } else {
                "the pass did not carry second derivatives (use Network::jet_operators or \
                 Order::Diagonal)"
                    .into()
            })
        })?;
        let (d, n, _) = *h.shape();
        op.check(d, n)?;
        let applied = apply_operators(tr, h, std::slice::from_ref(op));
        Ok(Self::pick(tr, &applied, 0))
    }

    fn operator_names(&self) -> Vec<String> {
        self.operators.iter().map(describe).collect()
    }
}

/// An operator in words for error messages, e.g. `1 d0^2 + per-point d1^2`.
fn describe<E: Float>(op: &DiagonalOperator<E>) -> String {
    let terms: Vec<String> = op
        .terms()
        .iter()
        .map(|(i, a)| match a {
            Coefficient::Constant(a) => format!("{a} d{i}^2"),
            Coefficient::PerPoint(_) => format!("per-point d{i}^2"),
        })
        .collect();
    terms.join(" + ")
}

/// $L_q u = \sum_t a_t \partial_{i_t}^2 u$ for each operator, from the Hessian diagonal
/// `(d, N, c)`: a weighted sum over the coordinates, `(operators, N, c)`, on the tape.
fn apply_operators<E: Float, D: Device<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    diag: &Stack<E, D>,
    ops: &[DiagonalOperator<E>],
) -> Stack<E, D> {
    let (d, n, c) = *diag.shape();
    let r = ops.len();
    let mut weights = vec![E::zero(); r * d * n];
    for (q, op) in ops.iter().enumerate() {
        for (i, a) in op.terms() {
            for (p, w) in weights[(q * d + i) * n..(q * d + i + 1) * n]
                .iter_mut()
                .enumerate()
            {
                *w += a.at(p);
            }
        }
    }
    let weights = diag
        .device()
        .tensor_from_vec(weights, (r, d, n))
        .broadcast_like::<_, Axis<3>>(&(r, d, n, c));
    tr.apply(diag.clone(), |h| {
        (h.broadcast_like::<_, Axis<0>>(&(r, d, n, c)) * weights)
            .sum::<(usize, usize, usize), Axis<1>>()
    })
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
