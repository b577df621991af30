//! One gradient tape threaded through every operation of a derivative pass.
//!
//! A forward pass that carries input derivatives branches constantly: $\sigma'(a)$ multiplies
//! every Jacobian column, $a'$ appears in both the first and the second derivatives. In dfdx a
//! tape travels *inside* one tensor, so a branch that carries it and is then dropped takes part
//! of the backward graph with it, silently. [`Tracer`] avoids that by owning the single tape:
//! all tensors stay tape-free, and every operation on a tensor that depends on parameters runs
//! through [`Tracer::apply`], which lends the tape to it and takes it back. Binary dfdx ops
//! record the backward pass for *both* operands, so the untaped operand a closure captures still
//! receives its gradient.

use std::marker::PhantomData;

use dfdx::prelude::*;

use crate::Float;

/// Owns the tape of a forward pass; see the module docs.
///
/// With `T = OwnedTape` operations are recorded for one reverse pass; with `T = NoneTape` the
/// same code runs as plain inference.
pub struct Tracer<E: Float, D: Device<E>, T: Tape<E, D>> {
    tape: Option<T>,
    _marker: PhantomData<fn() -> (E, D)>,
}

impl<E: Float, D: Device<E>, T: Tape<E, D>> Tracer<E, D, T> {
    /// Starts from a given tape.
    pub fn new(tape: T) -> Self {
        Self {
            tape: Some(tape),
            _marker: PhantomData,
        }
    }

    /// Runs `f` on `x` with the tape attached, and takes the tape back from the result.
    ///
    /// A tensor `f` captures is recorded only where it is a *direct* operand of an op with the
    /// taped tensor (`x * s`, `x + t`, `x.matmul(w)`). An op on the captured tensor alone
    /// (`x + t * 2.0`) runs untaped, and gradients stop there: combine two computed tensors
    /// with [`Tracer::apply2`] instead.
    pub fn apply<S: Shape, R: Shape>(
        &mut self,
        x: Tensor<S, E, D>,
        f: impl FnOnce(Tensor<S, E, D, T>) -> Tensor<R, E, D, T>,
    ) -> Tensor<R, E, D> {
        let tape = self
            .tape
            .take()
            .expect("Tracer always holds its tape between calls");
        let (y, tape) = f(x.put_tape(tape)).split_tape();
        self.tape = Some(tape);
        y
    }

    /// Runs `f` on two tensors, both of which record: use it whenever `f` transforms both
    /// (e.g. a weighted sum of two loss terms, `|a, b| a + b * 100.0`).
    pub fn apply2<S1: Shape, S2: Shape, R: Shape>(
        &mut self,
        a: Tensor<S1, E, D>,
        b: Tensor<S2, E, D>,
        f: impl FnOnce(Tensor<S1, E, D, T>, Tensor<S2, E, D, T>) -> Tensor<R, E, D, T>,
    ) -> Tensor<R, E, D> {
        let tape = self
            .tape
            .take()
            .expect("Tracer always holds its tape between calls");
        // b's ops go on a fresh tape that merges into the main one when b meets a.
        let (y, tape) = f(a.put_tape(tape), b.put_tape(T::default())).split_tape();
        self.tape = Some(tape);
        y
    }

    /// The tape, for ops that record their own backward pass (the fused CPU path).
    pub(crate) fn tape_mut(&mut self) -> &mut T {
        self.tape
            .as_mut()
            .expect("Tracer always holds its tape between calls")
    }

    /// Ends the pass: attaches the tape to `x` (usually the scalar loss).
    pub fn attach<S: Shape>(mut self, x: Tensor<S, E, D>) -> Tensor<S, E, D, T> {
        let tape = self
            .tape
            .take()
            .expect("Tracer always holds its tape between calls");
        x.put_tape(tape)
    }
}

impl<E: Float, D: Device<E>> Tracer<E, D, NoneTape> {
    /// A tracer that records nothing, for inference.
    pub fn inference() -> Self {
        Self::new(NoneTape)
    }
}
