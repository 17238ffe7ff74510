//! Fault points for tests: named places in the executor where a test can make the run fail,
//! die, or stop, to prove that rollback and recovery work from every step.
//!
//! Compiled in only with the `fault-injection` feature; otherwise `hit` is an empty inline
//! function. The test sets `KSN_SETUP_FAULT=ACTION@POINT[#N]` (see docs/design.md).

/// An error injected at a fault point.
#[derive(Debug, thiserror::Error)]
#[error("injected failure at {0}")]
pub struct Injected(pub String);

#[cfg(feature = "fault-injection")]
mod imp {
    use std::collections::HashMap;
    use std::sync::Mutex;

    static COUNTS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

    pub fn hit(point: &str) -> Result<(), super::Injected> {
        let Ok(spec) = std::env::var("KSN_SETUP_FAULT") else {
            return Ok(());
        };
        let Some((action, at)) = spec.split_once('@') else {
            return Ok(());
        };
        let (name, nth) = match at.split_once('#') {
            Some((name, n)) => (name, n.parse().unwrap_or(0)),
            None => (at, 0),
        };
        if name != point {
            return Ok(());
        }
        let count = {
            let mut counts = COUNTS.lock().unwrap_or_else(|e| e.into_inner());
            let counts = counts.get_or_insert_with(HashMap::new);
            let c = counts.entry(point.to_string()).or_insert(0);
            *c += 1;
            *c - 1
        };
        if count != nth {
            return Ok(());
        }
        match action {
            "fail" => Err(super::Injected(at.to_string())),
            "kill" => {
                let _ = rustix::process::kill_process(
                    rustix::process::getpid(),
                    rustix::process::Signal::KILL,
                );
                std::process::abort()
            }
            "pause" => {
                let _ = rustix::process::kill_process(
                    rustix::process::getpid(),
                    rustix::process::Signal::STOP,
                );
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Marks a fault point. Without the `fault-injection` feature this does nothing.
#[inline]
pub fn hit(point: &str) -> Result<(), Injected> {
    #[cfg(feature = "fault-injection")]
    {
        imp::hit(point)
    }
    #[cfg(not(feature = "fault-injection"))]
    {
        let _ = point;
        Ok(())
    }
}
