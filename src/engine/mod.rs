//! The installer engine: the pure plan (`plan`) made from a read-only look at the target
//! (`target`), and the only code that changes an install folder: the executor (`executor`)
//! with its transaction journal (`journal`), recovery of an interrupted run (`recovery`), the
//! folder lock (`lock`), the receipt of what is installed (`receipt`), the progress events it
//! sends (`progress`) and how a front end logs them (`log`), and the fault points tests use
//! (`faults`), how a front end cancels or holds a running transaction (`control`), and the menu
//! entries and icon an install puts outside its folder (`desktop`).
//!
//! May use: `bundle`, `consent` and `base`. Must never use maintenance, the wizard or a front
//! end: they hand the engine values (a bundle, answers, a plan, a piece of work) and read its
//! events.

pub mod control;
pub mod desktop;
pub mod elevation;
pub mod executor;
pub mod faults;
pub mod journal;
pub mod lock;
pub mod log;
pub mod plan;
pub mod progress;
pub mod receipt;
pub mod recovery;
pub mod target;
