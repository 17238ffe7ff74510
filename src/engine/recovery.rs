//! Recovery: the next run on a folder finishes or undoes what a killed or powered-off run left.
//!
//! With a journal whose `commit` record is on disk, the install is complete and only the
//! transaction's leftovers are removed. Without it, the transaction is rolled back. A
//! `.ksn-setup` folder with no journal and no receipt is what a run leaves when it dies after
//! creating its folders and before its first record: it is removed, and the target with it
//! when that is then empty. Everything goes through the folder's handle, after the folder,
//! the folders above it and `.ksn-setup` were checked to be under this user's control.

use std::path::Path;

use anyhow::Context as _;

use crate::base::dir::Dir;
use crate::base::layout;
use crate::base::ownership;
use crate::engine::journal;
use crate::engine::lock::FolderLock;
use crate::engine::progress::{Phase, Reporter};
use crate::{tr, trn};

/// Recovers `dir` if it needs it, taking the folder lock; returns what was done, in words.
pub fn recover(dir: &Path, reporter: &Reporter) -> anyhow::Result<Option<String>> {
    let beside = recover_fresh_tree(dir, reporter)?;
    if std::fs::symlink_metadata(dir).is_err() {
        return Ok(beside);
    }
    let root = ownership::open_checked(dir)?;
    if !ownership::check_record_folders(&root)? {
        return Ok(beside);
    }
    let lock = FolderLock::acquire(&root)?;
    let result = recover_locked(&root, reporter);
    let orphan = remove_orphan_state_dir(&root);
    drop(lock);
    Ok(result?.or(orphan).or(beside))
}

/// Removes what a fresh install into `target` that was killed before its tree moved into
/// place left beside it ([`layout::fresh_dir`]): its journal is rolled back (which undoes any
/// menu entries it wrote and removes the tree), or, when it died before its first record, the
/// folder goes as it is. A run still building there holds its lock, and this refuses.
fn recover_fresh_tree(target: &Path, reporter: &Reporter) -> anyhow::Result<Option<String>> {
    let Some(beside) = layout::fresh_dir(target) else {
        return Ok(None);
    };
    if std::fs::symlink_metadata(&beside).is_err() {
        return Ok(None);
    }
    let root = ownership::open_checked(&beside)?;
    let lock = if ownership::check_record_folders(&root)? {
        Some(FolderLock::acquire(&root)?)
    } else {
        None
    };
    let state = journal::read(&root).with_context(|| {
        format!(
            "cannot read the journal in \"{}\"",
            root.display(layout::TXN_DIR)
        )
    })?;
    reporter.phase(Phase::Recovering);
    // A journal without a whole `begin` record is a run that died before its first record:
    // nothing was done but making the folder.
    let state = state.filter(|state| state.begin.is_some());
    let message = match state {
        Some(state) if state.committed || !state.begin.as_ref().is_some_and(|b| b.fresh) => {
            anyhow::bail!(
                "\"{}\" holds a transaction that is not a fresh install's; nothing was undone. If no ksn-setup was interrupted here, remove it after checking it",
                beside.display()
            );
        }
        Some(state) => {
            let done = journal::rollback(&root, &state)?;
            for step in &done {
                reporter.step(format!("recovery: {step}"));
            }
            tr!(
                "undid an interrupted install into {} before it was moved into place",
                target.display()
            )
        }
        None => {
            let parent = beside.parent().unwrap_or(Path::new("/"));
            let name = beside
                .file_name()
                .and_then(|n| n.to_str())
                .context("the fresh tree's folder has a UTF-8 name")?;
            Dir::open(parent)
                .and_then(|parent| parent.remove_all(name))
                .with_context(|| format!("cannot remove \"{}\"", beside.display()))?;
            format!(
                "removed the leftovers of a run that stopped before it began in \"{}\"",
                beside.display()
            )
        }
    };
    drop(lock);
    reporter.notice(format!("recovered: {message}"));
    Ok(Some(message))
}

/// Recovers the transaction of the folder `root` while the caller holds its lock. The
/// folders the interrupted run created are removed when empty, so a caller that goes on
/// must create them again.
pub fn recover_locked(root: &Dir, reporter: &Reporter) -> anyhow::Result<Option<String>> {
    let state = journal::read(root).with_context(|| {
        format!(
            "cannot read the journal in \"{}\"",
            root.display(layout::TXN_DIR)
        )
    })?;
    let Some(state) = state else { return Ok(None) };
    reporter.phase(Phase::Recovering);
    let kind = state
        .begin
        .as_ref()
        .map(|b| b.kind.clone())
        .unwrap_or_else(|| "install".into());
    let message = if state.committed {
        journal::finish(root)
            .with_context(|| format!("cannot clean up \"{}\"", root.display(layout::TXN_DIR)))?;
        if kind == "install" {
            tr!(
                "completed an interrupted install that had already been saved in {}",
                root.path().display()
            )
        } else {
            tr!(
                "completed an interrupted change that had already been saved in {}",
                root.path().display()
            )
        }
    } else {
        let done = journal::rollback(root, &state)?;
        for step in &done {
            reporter.step(format!("recovery: {step}"));
        }
        let undone = done.len() as u64;
        if kind == "install" {
            trn!(
                "undid an interrupted install in {} ({n} change undone)",
                "undid an interrupted install in {} ({n} changes undone)",
                undone,
                root.path().display()
            )
        } else {
            trn!(
                "undid an interrupted change in {} ({n} change undone)",
                "undid an interrupted change in {} ({n} changes undone)",
                undone,
                root.path().display()
            )
        }
    };
    reporter.notice(format!("recovered: {message}"));
    Ok(Some(message))
}

/// Removes a `.ksn-setup` that holds no receipt and no journal (a run died before its first
/// record), and the target when that leaves it empty.
fn remove_orphan_state_dir(root: &Dir) -> Option<String> {
    let exists = |rel: &str| root.exists(rel).unwrap_or(true);
    if !exists(layout::STATE_DIR) || exists(layout::RECEIPT) || exists(layout::TXN_DIR) {
        return None;
    }
    let _ = root.remove_if_exists(layout::LOCK);
    if root.remove_dir(layout::STATE_DIR).is_err() {
        return None;
    }
    let path = root.path();
    if let (Some(parent), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
        && root.names().is_ok_and(|names| names.is_empty())
        && let Ok(parent) = Dir::open(parent)
    {
        let _ = parent.remove_dir(name);
    }
    Some(format!(
        "removed the leftovers of a run that stopped before it began in \"{}\"",
        path.display()
    ))
}
