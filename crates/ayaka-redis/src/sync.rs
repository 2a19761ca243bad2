//! Short, never-async locks.

use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these short locks are held; if it ever did, the
    // data is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
