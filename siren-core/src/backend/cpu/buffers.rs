//! Buffers reused from step to step, and per-thread scratch space.

use std::any::Any;
use std::fmt;
use std::sync::Mutex;

use crate::Float;

/// Reusable buffers, so a training step does not page-fault fresh memory for every stack.
pub(super) struct BufferPool<E> {
    free: Mutex<Vec<Vec<E>>>,
}

impl<E> Default for BufferPool<E> {
    fn default() -> Self {
        Self {
            free: Mutex::new(Vec::new()),
        }
    }
}

impl<E> fmt::Debug for BufferPool<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.free.lock().map(|v| v.len()).unwrap_or(0);
        write!(f, "BufferPool {{ held: {held} }}")
    }
}

/// Buffers the pool keeps at most; more are freed.
const POOL_LIMIT: usize = 16;

impl<E: Float> BufferPool<E> {
    /// A buffer of `len` elements with unspecified contents (callers overwrite it).
    pub(super) fn take(&self, len: usize) -> Vec<E> {
        let mut buf = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            let best = free
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            best.map(|i| free.swap_remove(i)).unwrap_or_default()
        };
        buf.truncate(len);
        buf.resize(len, E::zero());
        buf
    }

    pub(super) fn give(&self, buf: Vec<E>) {
        if buf.capacity() == 0 {
            return;
        }
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        free.push(buf);
        if free.len() > POOL_LIMIT {
            // Drop the smallest: the large stacks are the expensive ones to fault in again.
            let smallest = free
                .iter()
                .enumerate()
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i)
                .expect("pool is not empty");
            free.swap_remove(smallest);
        }
    }
}

/// One slot per rayon thread for the scratch buffers of a parallel loop, made once per pass
/// instead of once per rayon split. Only for buffers whose contents do not reach the results:
/// which items share a slot depends on scheduling.
///
/// A slot stays locked while its closure runs, so the closure must not itself run rayon
/// work: a thread waiting on it could pick up another item and lock its own slot again.
pub(super) struct PerThread<T>(Vec<Mutex<Option<T>>>);

impl<T> PerThread<T> {
    pub(super) fn new() -> Self {
        let threads = rayon::current_num_threads().max(1);
        PerThread((0..threads).map(|_| Mutex::new(None)).collect())
    }

    /// `f` on this thread's slot, made by `init` on first use.
    pub(super) fn with<R>(&self, init: impl FnOnce() -> T, f: impl FnOnce(&mut T) -> R) -> R {
        let i = rayon::current_thread_index().unwrap_or(0) % self.0.len();
        let mut slot = self.0[i].lock().unwrap_or_else(|e| e.into_inner());
        f(slot.get_or_insert_with(init))
    }
}

/// The process's pool of `E` buffers. One per float type, shared by every network: a pool per
/// network would hold its buffers while other networks allocate theirs. The registry is keyed
/// by type because statics cannot be generic.
pub(super) fn pool<E: Float>() -> &'static BufferPool<E> {
    static POOLS: Mutex<Vec<&'static (dyn Any + Send + Sync)>> = Mutex::new(Vec::new());
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(pool) = pools.iter().find_map(|p| p.downcast_ref::<BufferPool<E>>()) {
        return pool;
    }
    let pool: &'static BufferPool<E> = Box::leak(Box::default());
    pools.push(pool);
    pool
}
