//! Recovery: the next run on a folder finishes or undoes what a killed or powered-off run left.
//!
//! With a journal whose `commit` record is on disk, the install is complete and only the
//! transaction's leftovers are removed. Without it, the transaction is rolled back. A
//! `.ksn-setup` folder with no journal and no receipt is what a run leaves when it dies after
//! creating its folders and before its first record: it is removed, and the target with it
//! when that is then empty.

use std::path::Path;

use anyhow::Context as _;

use crate::base::durable::{exists, remove_if_exists};
use crate::base::layout;
use crate::engine::journal::{self, TxnPaths};
use crate::engine::lock::FolderLock;
use crate::engine::progress::{Phase, Reporter};

/// Recovers `dir` if it needs it, taking the folder lock; returns what was done, in words.
pub fn recover(dir: &Path, reporter: &Reporter) -> anyhow::Result<Option<String>> {
    if !exists(&dir.join(layout::STATE_DIR)) {
        return Ok(None);
    }
    let lock = FolderLock::acquire(dir)?;
    let result = recover_locked(dir, reporter);
    let orphan = remove_orphan_state_dir(dir);
    drop(lock);
    Ok(result?.or(orphan))
}

/// Recovers the transaction of `dir` while the caller holds its lock. The folders the
/// interrupted run created are removed when empty, so a caller that goes on must create
/// them again.
pub fn recover_locked(dir: &Path, reporter: &Reporter) -> anyhow::Result<Option<String>> {
    let paths = TxnPaths::new(dir);
    let state = journal::read(dir)
        .with_context(|| format!("cannot read the journal in \"{}\"", paths.txn().display()))?;
    let Some(state) = state else { return Ok(None) };
    reporter.phase(Phase::Recovering);
    let kind = state
        .begin
        .as_ref()
        .map(|b| b.kind.clone())
        .unwrap_or_else(|| "install".into());
    let message = if state.committed {
        journal::finish(dir)
            .with_context(|| format!("cannot clean up \"{}\"", paths.txn().display()))?;
        format!(
            "completed an interrupted {kind} that had already committed in \"{}\"",
            dir.display()
        )
    } else {
        let done = journal::rollback(dir, &state)?;
        for step in &done {
            reporter.step(format!("recovery: {step}"));
        }
        format!(
            "rolled back an interrupted {kind} in \"{}\" ({} changes undone)",
            dir.display(),
            done.len()
        )
    };
    reporter.notice(format!("recovered: {message}"));
    Ok(Some(message))
}

/// Removes a `.ksn-setup` that holds no receipt and no journal (a run died before its first
/// record), and the target when that leaves it empty.
fn remove_orphan_state_dir(dir: &Path) -> Option<String> {
    let state = dir.join(layout::STATE_DIR);
    if !exists(&state) || exists(&dir.join(layout::RECEIPT)) || exists(&dir.join(layout::TXN_DIR)) {
        return None;
    }
    let _ = remove_if_exists(&dir.join(layout::LOCK));
    if std::fs::remove_dir(&state).is_err() {
        return None;
    }
    let _ = std::fs::remove_dir(dir);
    Some(format!(
        "removed the leftovers of a run that stopped before it began in \"{}\"",
        dir.display()
    ))
}
