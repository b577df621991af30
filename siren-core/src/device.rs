//! Device constructors with the settings this crate's workloads want.

use dfdx::prelude::*;

/// dfdx's CPU device, with glibc's malloc told to keep freed blocks of up to 32 MiB for reuse
/// ([`keep_freed_memory`]) so that a step's buffers do not fault in fresh pages.
///
/// dfdx's own allocation cache stays off. It keeps every dropped tensor's buffer for a later
/// dfdx allocation of the same length, and the tensors the CPU kernels build from their own
/// vectors are seldom matched: a hypernetwork step grew the cache by 8-40 MB (1.4 GB of
/// RSS after 30 CNN steps). With glibc keeping freed memory the cache bought nothing: the
/// fit, Laplacian and wave steps ran equally fast without it, the hypernetwork steps faster.
pub fn cpu() -> Cpu {
    keep_freed_memory();
    Cpu::default()
}

/// Makes glibc's malloc serve blocks of up to 32 MiB from its heap and keep freed memory
/// rather than hand it back at once: the CPU kernels' per-step buffers of a few MiB were
/// otherwise mapped and unmapped every step, and touching the fresh pages cost a fifth of a
/// hypernetwork step (the Python peers run on tcmalloc, which keeps them too). Once per
/// process; elsewhere than glibc it does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes the allocator's thresholds; 32 MiB is glibc's
            // largest mmap threshold on 64-bit, and memory above the heap's top is handed
            // back past 1 GiB.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
                libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
            }
        });
    }
}

/// dfdx's CUDA device on GPU `ordinal`, with its allocation cache on.
#[cfg(feature = "cuda")]
pub fn cuda(ordinal: usize) -> Result<Cuda, dfdx::tensor::CudaError> {
    let dev = Cuda::try_build(ordinal, 0)?;
    dev.enable_cache();
    Ok(dev)
}

/// The `key:` line of a /proc file (`NAME: N kB`), in bytes; `None` where it cannot be read.
fn proc_bytes(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let value = text
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?;
    let kb: u64 = value.split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

/// Memory the host can still give this process, in bytes: `MemAvailable` from
/// `/proc/meminfo` (Linux); `None` where it cannot be read.
pub fn available_memory() -> Option<u64> {
    proc_bytes("/proc/meminfo", "MemAvailable")
}

/// Peak resident memory of this process so far, in bytes: `VmHWM` from `/proc/self/status`
/// (Linux); `None` where it cannot be read.
pub fn peak_memory() -> Option<u64> {
    proc_bytes("/proc/self/status", "VmHWM")
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

/// Refuses a training step of a coordinate network (`layers` hidden-to-hidden layers of
/// `hidden` units) over `points` points carrying `passes` forward passes (1 for the value,
/// 1 + d with the gradient of d inputs) whose activations would not fit in memory: per point,
/// unit and pass, the pre-activation and activation kept for the reverse pass and about one
/// gradient (3 values of at most 8 bytes). `fix` says what to change.
pub fn check_step_memory(
    hidden: usize,
    layers: usize,
    points: usize,
    passes: usize,
    fix: &str,
) -> crate::Result<()> {
    let units = hidden as u128 * (layers as u128 + 2);
    check_memory(
        points as u128 * units * passes as u128 * 24,
        &format!(
            "a training step over {points} points with {} hidden layers of {hidden}",
            layers + 1
        ),
        fix,
    )
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn proc_memory_figures_are_read() {
        let peak = super::peak_memory().expect("VmHWM");
        let available = super::available_memory().expect("MemAvailable");
        assert!(peak > 1 << 20 && available > 1 << 20, "{peak} {available}");
    }
}
