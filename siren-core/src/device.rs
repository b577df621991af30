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

/// Memory the host can still give this process, in bytes: `MemAvailable` from
/// `/proc/meminfo` (Linux); `None` where it cannot be read.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Refuses work whose estimated memory, `bytes`, exceeds what the host has available, before
/// anything is allocated: an abort halfway through a run (or a machine pushed into swap) is
/// worse than an error up front. `what` names the work and `fix` says what to change. Where
/// the available memory cannot be read, only estimates beyond 1 TiB are refused.
pub fn check_memory(bytes: u128, what: &str, fix: &str) -> crate::Result<()> {
    let limit = available_memory().map_or(1u128 << 40, u128::from);
    if bytes > limit {
        return Err(crate::Error::InvalidInput(format!(
            "{what} needs about {:.1} GB of memory (an estimate) and {:.1} GB is available: {fix}",
            bytes as f64 / 1e9,
            limit as f64 / 1e9
        )));
    }
    Ok(())
}
