//! The one way a CPU kernel with a hand-written backward pass joins dfdx's tape.
//!
//! A kernel computes its outputs on the host, makes them tensors, and hands
//! [`record_backward`] a closure that reads the outputs' gradients and adds its inputs'
//! ([`gradient_mut`]). Nothing is recorded when the tape does not record (inference).

use dfdx::prelude::*;

use crate::tracer::Tracer;
use crate::Float;

/// Records `backward` on `tracer`'s tape if it records; it runs once, during the reverse pass.
pub(super) fn record_backward<E: Float, T: Tape<E, Cpu>>(
    tracer: &mut Tracer<E, Cpu, T>,
    backward: impl FnOnce(&mut Gradients<E, Cpu>) + 'static,
) where
    Cpu: Device<E>,
{
    if T::OWNS_TAPE {
        tracer.tape_mut().add_backward_op(move |grads| {
            backward(grads);
            Ok(())
        });
    }
}

/// The gradient of `t` in `grads`, made (zeros) if the reverse pass has not made it yet.
pub(super) fn gradient_mut<'g, S: Shape, E: Float>(
    grads: &'g mut Gradients<E, Cpu>,
    t: &Tensor<S, E, Cpu>,
) -> &'g mut [E] {
    let grad = grads
        .get_or_alloc_mut(t)
        .expect("the CPU allocates gradients infallibly");
    &mut grad[..]
}
