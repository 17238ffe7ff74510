//! How a front end steers a running transaction: cancel it (it rolls back), or hold it where
//! it is while the user is asked whether to cancel it, so nothing more is copied and nothing
//! finishes behind the question.
//!
//! The engine calls [`RunControl::checkpoint`] between operations, between files and between
//! chunks of a large file: there it waits while the run is held, and stops with
//! [`Cancelled`] once it is cancelled. The cancel flag is an `Arc<AtomicBool>` so a signal
//! handler can set it directly; a held run looks at it at least every 50 ms.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::base::error::Cancelled;

#[derive(Debug, Default)]
pub struct RunControl {
    cancel: Arc<AtomicBool>,
    held: Mutex<bool>,
    wake: Condvar,
}

impl RunControl {
    pub fn new() -> RunControl {
        RunControl::default()
    }

    /// A control whose cancel flag is `flag` (registered with a signal handler).
    pub fn with_flag(flag: Arc<AtomicBool>) -> RunControl {
        RunControl {
            cancel: flag,
            ..RunControl::default()
        }
    }

    /// The cancel flag, for a signal handler to set.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// Stops the run at its next checkpoint, where it rolls back; a held run goes on to do so.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.resume();
    }

    /// Holds the run at its next checkpoint until [`RunControl::resume`] or a cancel.
    pub fn hold(&self) {
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) = true;
    }

    pub fn resume(&self) {
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.wake.notify_all();
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    pub fn is_held(&self) -> bool {
        *self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits while the run is held; `Err(Cancelled)` once it is cancelled.
    pub fn checkpoint(&self) -> Result<(), Cancelled> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        while *held && !self.is_cancelled() {
            held = self
                .wake
                .wait_timeout(held, Duration::from_millis(50))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(held);
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_run_waits_until_resumed_or_cancelled() {
        let control = Arc::new(RunControl::new());
        control.hold();
        let worker = {
            let control = Arc::clone(&control);
            std::thread::spawn(move || control.checkpoint().is_ok())
        };
        std::thread::sleep(Duration::from_millis(150));
        assert!(!worker.is_finished(), "a held checkpoint waits");
        control.resume();
        assert!(worker.join().unwrap(), "and goes on once resumed");

        control.hold();
        let worker = {
            let control = Arc::clone(&control);
            std::thread::spawn(move || control.checkpoint().is_err())
        };
        std::thread::sleep(Duration::from_millis(60));
        control.cancel();
        assert!(
            worker.join().unwrap(),
            "a cancel ends the wait with Cancelled"
        );
    }
}
