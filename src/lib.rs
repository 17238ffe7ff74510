//! ksn-setup: installs KSN Demo Security and records the Kaspersky Security Network choice
//! in the product's config before the first payload file is copied.
//!
//! Each folder is one part. An arrow means "uses"; a part may use every part it reaches
//! along the arrows, and never one above it (`.ci/layers` checks this):
//!
//! ```text
//!                cli                 the command line; starts a window or the console wizard
//!         ┌───────┼─────────┐
//!         ▼       ▼         │
//!        gui   console      │        the Slint windows; the terminal front ends
//!         └───┬───┘         │
//!             ▼             │
//!           wizard          │        the wizard's state machine, the Location check
//!             ▼             ▼
//!        maintenance       pack      after install: KSN change, repair, uninstall; making installers
//!             ▼             │
//!           engine          │        plan, target, executor, journal, recovery, lock, receipt,
//!             │             │        menu entries, running as root through pkexec
//!             ▼             │
//!           bundle ◄────────┘        what gets installed; packed installers read and checked
//!             ▼
//!           consent                  statements, the consent rules, answers, the config record,
//!             │                      the consent log's chained history
//!             ▼
//!            base                    durable writes, paths, errors, the folder's layout
//! ```
//!
//! The engine is a pipeline of values: answers, a bundle and the inspected target go into
//! [`engine::plan::plan`], which is pure; only [`engine::executor`] changes the file system,
//! through the journal, and [`engine::recovery`] finishes or undoes what an interrupted run
//! left. Every front end ends in that same plan → execute path.

pub mod base;
pub mod bundle;
pub mod cli;
pub mod consent;
pub mod console;
pub mod engine;
pub mod gui;
pub mod maintenance;
pub mod pack;
pub mod wizard;

/// The installer's own version, recorded in the config and the receipt.
pub const INSTALLER_VERSION: &str = env!("CARGO_PKG_VERSION");
