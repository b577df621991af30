//! What both benchmarks share: the backend switch and random inputs.

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_core::jet::Carry;
use siren_core::train::to_matrix;
use siren_core::{Backend, Jet, Matrix, Network, Tracer};

/// The jet through the CPU kernels, or the reference backend when `reference`.
pub fn carried_jet<T: Tape<f32, Cpu>>(
    reference: bool,
    net: &Network<f32, Cpu>,
    x: &Matrix<f32, Cpu>,
    carry: Carry<'_, f32>,
    tr: &mut Tracer<f32, Cpu, T>,
) -> Jet<f32, Cpu> {
    if reference {
        siren_core::backend::reference::jet(net, x, carry, tr)
    } else {
        <Cpu as Backend<f32>>::jet(net, x, carry, tr)
    }
}

/// `n` points of `cols` coordinates uniform in $[-1, 1)$.
pub fn random(dev: &Cpu, n: usize, cols: usize, seed: u64) -> Matrix<f32, Cpu> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f64> = (0..n * cols).map(|_| rng.gen_range(-1.0..1.0)).collect();
    to_matrix(dev, &v, cols)
}
