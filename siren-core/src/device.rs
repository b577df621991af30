//! Device constructors with the settings this crate's workloads want.

use dfdx::prelude::*;

/// dfdx's CPU device with its allocation cache on: without it every op allocates and zeroes
/// fresh pages, which halves matmul throughput on the sizes a SIREN trains at.
pub fn cpu() -> Cpu {
    let dev = Cpu::default();
    dev.enable_cache();
    dev
}

/// dfdx's CUDA device on GPU `ordinal`, with its allocation cache on.
#[cfg(feature = "cuda")]
pub fn cuda(ordinal: usize) -> Result<Cuda, dfdx::tensor::CudaError> {
    let dev = Cuda::try_build(ordinal, 0)?;
    dev.enable_cache();
    Ok(dev)
}
