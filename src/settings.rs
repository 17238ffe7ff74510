//! The product's settings window (placeholder until the window lands).

use std::path::Path;

use crate::error::ExitStatus;

pub fn run(dir: &Path) -> anyhow::Result<ExitStatus> {
    anyhow::bail!(
        "the settings window for \"{}\" is not built yet",
        dir.display()
    )
}
