//! Removing what a test made when it is dropped without its clean-up (a failing test).

use std::future::Future;

/// Runs `work` to its end on a thread with a runtime of its own and waits for it: inside a
/// runtime a `Drop` may not block on a future, and the test process must not exit first. Works
/// inside `#[tokio::test]` of either flavour. Best-effort: a runtime that cannot start skips it.
pub fn on_own_runtime(work: impl Future + Send + 'static) {
    let removal = std::thread::spawn(move || {
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
            let _ = runtime.block_on(work);
        }
    });
    let _ = removal.join();
}
