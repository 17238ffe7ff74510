//! ksn-setup: installs KSN Demo Security and records the Kaspersky Security Network choice
//! in the product's config before the first payload file is copied.
//!
//! The engine is a pipeline of values: [`answers`] and [`bundle`] and the inspected
//! [`target`] go into [`plan::plan`], which is pure and returns a [`plan::Plan`]; only
//! [`executor`] changes the file system, through the [`journal`], and [`recovery`] finishes or
//! undoes what an interrupted run left. Front ends (the CLI now, the wizard later) only build
//! answers and show progress.

pub mod answers;
pub mod bundle;
pub mod cli;
pub mod config;
pub mod consent;
pub mod console;
pub mod console_wizard;
pub mod durable;
pub mod error;
pub mod executor;
pub mod faults;
pub mod gui;
pub mod inspect;
pub mod installed;
pub mod journal;
pub mod ksn_change;
pub mod location;
pub mod lock;
pub mod maintenance;
pub mod manifest;
pub mod pack;
pub mod packed;
pub mod paths;
pub mod plan;
pub mod progress;
pub mod receipt;
pub mod recovery;
pub mod settings;
pub mod signing;
pub mod statements;
pub mod target;
pub mod task;
pub mod trailer;
pub mod wizard;

/// The installer's own version, recorded in the config and the receipt.
pub const INSTALLER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The folder inside a target that belongs to ksn-setup itself.
pub const STATE_DIR: &str = ".ksn-setup";

/// Now, as every record is stamped: RFC 3339 in UTC, to the second.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
