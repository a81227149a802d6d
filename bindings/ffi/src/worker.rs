//! Runs blocking work on a thread of its own and awaits it as a future.
//!
//! The async exports (Kotlin `suspend`, Swift `async`) are polled by the app's
//! executor, which must never block for the ~100 ms a caption takes. uniffi
//! needs no Rust runtime, so rather than bring one in, each call gets a
//! short-lived thread (its start costs microseconds next to a caption) and a
//! one-shot slot that wakes the future when the result is in.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::LightCapError;

struct Slot<T> {
    result: Option<Result<T, LightCapError>>,
    waker: Option<Waker>,
}

/// The result of [`spawn`]: ready when the thread has finished.
pub(crate) struct Finished<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

/// Run `work` on a new thread named `name`. A panic in `work` becomes
/// [`LightCapError::Internal`] rather than a lost result.
pub(crate) fn spawn<T, F>(name: &str, work: F) -> Result<Finished<T>, LightCapError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, LightCapError> + Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot {
        result: None,
        waker: None,
    }));
    let filled = Arc::clone(&slot);
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(LightCapError::Internal(format!(
                    "captioning thread panicked: {what}"
                )))
            });
            let mut slot = filled.lock().unwrap_or_else(PoisonError::into_inner);
            slot.result = Some(result);
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        })
        .map_err(|e| LightCapError::Internal(format!("cannot start a thread: {e}")))?;
    Ok(Finished { slot })
}

impl<T> Future for Finished<T> {
    type Output = Result<T, LightCapError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;
    use std::thread::Thread;

    /// Polls a future to completion on this thread, parking between wakes.
    fn block_on<F: Future>(future: F) -> F::Output {
        struct Unpark(Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            std::thread::park();
        }
    }

    #[test]
    fn delivers_the_result_of_slow_work() {
        let finished = spawn("test", || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            Ok(7)
        })
        .unwrap();
        assert_eq!(block_on(finished).unwrap(), 7);
    }

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let finished = spawn::<(), _>("test", || panic!("boom")).unwrap();
        match block_on(finished) {
            Err(LightCapError::Internal(message)) => assert!(message.contains("boom"), "{message}"),
            other => panic!("expected Internal, got {other:?}"),
        }
    }
}
