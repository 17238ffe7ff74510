//! The console wizard: the same pages and rules as the window, on a terminal.

use std::path::Path;

use crate::bundle::Bundle;
use crate::wizard::Wizard;

/// Runs the wizard on the terminal; returns the exit status.
pub fn run(
    _bundle: &Bundle,
    _wizard: Wizard,
    _log: &Path,
    _save_answers: Option<&Path>,
) -> anyhow::Result<u8> {
    Err(crate::error::BadInput(anyhow::anyhow!(
        "the console wizard is not built yet; install with --unattended"
    ))
    .into())
}
