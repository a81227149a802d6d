//! tract panics, instead of returning an error, on some damaged graphs that pass every
//! check before it (found by fuzzing: a shape-inference index out of range while
//! loading, a 74 TB allocation while running). Every call into tract with a pack's graph
//! goes through [`catch_panic`], so no panic reaches an app.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `work`; a panic becomes `Err` with the panic's message. Only for work whose
/// partial state is dropped with the panic (a model being built, a run's state).
pub(crate) fn catch_panic<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|panic| panic_message(panic.as_ref()))
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    let reason = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("no message");
    format!("tract panicked: {reason}")
}
