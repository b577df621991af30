//! The convolution as dfdx ops, on any device: gather the patches, mask the padding, multiply.

use dfdx::prelude::*;

use crate::model::conv::{Conv2d, Patches};
use crate::tensor::Matrix;
use crate::tracer::Tracer;
use crate::Float;

/// The reference `Conv2d::forward`, on a map the caller checked against `patches`.
pub fn conv<E: Float, D: Device<E>, T: Tape<E, D>>(
    conv: &Conv2d<E, D>,
    tr: &mut Tracer<E, D, T>,
    x: Matrix<E, D>,
    patches: &Patches<E, D>,
) -> Matrix<E, D> {
    let channels = x.shape().1;
    let out = conv.map.weight.shape().0;
    let (taps, pixels) = (patches.taps, patches.pixels);
    let (index, mask) = patches.gather().clone();
    let mask = mask.broadcast_like::<_, Axis<1>>(&(pixels * taps, channels));
    let wt = conv
        .map
        .weight
        .clone()
        .permute::<(usize, usize), Axes2<1, 0>>();
    let bias = conv
        .map
        .bias
        .clone()
        .broadcast_like::<_, Axis<0>>(&(pixels, out));
    tr.apply(x, |x| {
        let cols = (x.gather(index) * mask).reshape_like(&(pixels, taps * channels));
        cols.matmul(wt) + bias
    })
}
