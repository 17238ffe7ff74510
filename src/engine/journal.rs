//! The transaction journal: how an install (or any later change) is undone or finished after
//! an error, a cancel, a kill or a power cut.
//!
//! The journal, `.ksn-setup/txn/journal.jsonl`, gets a `begin` record holding the whole list
//! of operations before the first of them runs, an `installing` record before the first
//! payload file is moved into place, and a `commit` record once everything is on disk. Each
//! record is one JSON line, fsynced; a torn last line is ignored.
//!
//! Undo needs no per-file records: every operation's undo is worked out from the operation
//! and what is on disk (a staged file still in staging was not moved; a backup present means
//! the old file must come back), so each undo is safe to run twice and safe to run for an
//! operation that never started. Before `commit`, recovery rolls back; after it, recovery
//! only removes the transaction's leftovers. Anything rollback cannot undo is reported,
//! never swallowed.
//!
//! Every undo goes through the install folder's handle ([`Dir`]): nothing is resolved by
//! path, and no symlink below the folder is followed. A journal read back is input, not
//! truth: it must be ksn-setup's own (owned by this user or root, writable by nobody else,
//! at most [`MAX_JOURNAL`] bytes), name this folder, and hold only operations ksn-setup makes
//! (paths checked as payload paths, the records by their own names), and the folders it
//! says it created must be this folder, its `.ksn-setup`, or folders above it, one inside
//! the next. Anything else is refused before a single undo runs.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::base::dir::{self, Dir, Kind};
use crate::base::error::{BadInput, RollbackIncomplete};
use crate::base::layout;
use crate::base::ownership;
use crate::base::paths::RelPath;
use crate::engine::desktop;
use crate::engine::plan::Op;

const FORMAT: u32 = 1;
/// The largest journal read back: bounds memory for a planted one. A real journal is the
/// plan's operations, well under this for a million files.
pub const MAX_JOURNAL: u64 = 512 * 1024 * 1024;

/// Where staged payload entry `entry` waits.
pub fn staged(entry: usize) -> String {
    entry.to_string()
}

/// Where operation `op`'s old file is kept until commit, below the install folder.
pub fn backup(op: usize) -> String {
    format!("{}/{op}", layout::BACKUP)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "kebab-case")]
pub enum Record {
    Begin(Begin),
    /// Payload moves into place from here on.
    Installing,
    Commit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Begin {
    pub format: u32,
    /// What the transaction does, for messages: `install`.
    pub kind: String,
    pub target: PathBuf,
    /// Folders this transaction created before the journal existed (target, ancestors,
    /// `.ksn-setup`), outermost first; rollback removes them when empty.
    pub created_dirs: Vec<PathBuf>,
    pub ops: Vec<Op>,
    /// The menu folder the menu operations work below ([`crate::engine::desktop`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menu_dir: Option<PathBuf>,
    /// A fresh install: the folder holding this journal was made whole by this transaction,
    /// in [`layout::fresh_dir`] of the target, and moved to the target at its end. Rollback
    /// removes all of it, wherever it is by then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh: bool,
}

/// A journal that is not what ksn-setup writes.
#[derive(Debug, Error)]
#[error(
    "the journal \"{}\" cannot be trusted: {why}; nothing was undone. If no ksn-setup was interrupted here, remove \"{}\" after checking it",
    journal.display(),
    txn.display()
)]
pub struct UntrustedJournal {
    pub journal: PathBuf,
    pub txn: PathBuf,
    pub why: String,
}

/// An open journal of a running transaction.
#[derive(Debug)]
pub struct Journal {
    file: File,
}

impl Journal {
    /// Creates the transaction folders (mode 0700: staged files are nobody else's business)
    /// and writes the `begin` record durably (mode 0600).
    pub fn begin(root: &Dir, begin: &Begin) -> io::Result<Journal> {
        root.create_dir(layout::TXN_DIR, 0o700)?;
        root.create_dir(layout::STAGING, 0o700)?;
        root.create_dir(layout::BACKUP, 0o700)?;
        let file = root.create_new(layout::JOURNAL, 0o600)?;
        let mut journal = Journal { file };
        journal.append(&Record::Begin(begin.clone()))?;
        root.sync_dir(layout::TXN_DIR)?;
        root.sync_dir(layout::STATE_DIR)?;
        Ok(journal)
    }

    /// Appends a record and fsyncs it.
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        let mut line = serde_json::to_string(record).map_err(io::Error::other)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()
    }
}

/// What a journal on disk says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalState {
    /// `None` when the run died before its `begin` record was complete.
    pub begin: Option<Begin>,
    pub installing: bool,
    pub committed: bool,
}

/// Reads the journal of the install folder `root`: `None` when there is no transaction
/// folder. A journal that is not ksn-setup's own is refused ([`UntrustedJournal`]).
pub fn read(root: &Dir) -> anyhow::Result<Option<JournalState>> {
    let Some(txn) = root.meta_of(layout::TXN_DIR)? else {
        return Ok(None);
    };
    // Refused as bad input (exit 2): it is not ksn-setup's, so nothing of it is acted on.
    let untrusted = |why: String| {
        BadInput(anyhow::Error::new(UntrustedJournal {
            journal: root.path().join(layout::JOURNAL),
            txn: root.path().join(layout::TXN_DIR),
            why,
        }))
    };
    if txn.kind != Kind::Dir {
        return Err(untrusted("the transaction folder is not a folder".into()).into());
    }
    ownership::check_record(&root.path().join(layout::TXN_DIR), &txn)
        .map_err(|e| untrusted(format!("{}: {}", e.why(), e.fix())))?;
    let mut state = JournalState {
        begin: None,
        installing: false,
        committed: false,
    };
    let file = match root.open_read(layout::JOURNAL) {
        Ok(f) => f,
        Err(e) if dir::is_absent(&e) => return Ok(Some(state)),
        Err(e) => return Err(untrusted(format!("it cannot be opened safely ({e})")).into()),
    };
    let facts = dir::Meta::of_file(&file)?;
    ownership::check_record(&root.path().join(layout::JOURNAL), &facts)
        .map_err(|e| untrusted(format!("{}: {}", e.why(), e.fix())))?;
    if facts.size > MAX_JOURNAL {
        return Err(untrusted(format!("it is larger than {MAX_JOURNAL} bytes")).into());
    }
    let mut reader = BufReader::new(file.take(MAX_JOURNAL));
    let mut number = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        number += 1;
        let record = match serde_json::from_str::<Record>(line.trim_end()) {
            Ok(record) => record,
            // A record torn by a crash is the last line, without its newline, and was never
            // acted on; a whole line that is no record is not ksn-setup's.
            Err(_) if !line.ends_with('\n') => break,
            Err(e) => {
                return Err(untrusted(format!(
                    "line {number} is not a record ksn-setup writes ({e})"
                ))
                .into());
            }
        };
        match record {
            Record::Begin(_) if state.begin.is_some() => {
                return Err(untrusted("it has two begin records".into()).into());
            }
            Record::Begin(b) if b.format == FORMAT => {
                check_begin(root, &b).map_err(untrusted)?;
                state.begin = Some(b);
            }
            Record::Begin(b) => {
                return Err(untrusted(format!(
                    "its format {} is not one this ksn-setup writes",
                    b.format
                ))
                .into());
            }
            Record::Installing => state.installing = true,
            Record::Commit => state.committed = true,
        }
    }
    Ok(Some(state))
}

/// Checks a `begin` record read back: it names this folder, every operation is one
/// ksn-setup makes, and the folders it created are this one and folders above it.
fn check_begin(root: &Dir, begin: &Begin) -> Result<(), String> {
    let here = root.meta().map_err(|e| e.to_string())?;
    let here_id = root.id().ok();
    // A fresh install's folder is the target once moved, and the folder beside it before.
    let mut names = vec![begin.target.clone()];
    if begin.fresh {
        names.extend(layout::fresh_dir(&begin.target));
    }
    let is_here = names.iter().any(|name| {
        std::fs::symlink_metadata(name)
            .is_ok_and(|m| m.is_dir() && Some((m.dev(), m.ino())) == here_id)
    });
    if here.kind != Kind::Dir || !is_here {
        return Err(format!(
            "it names another folder, \"{}\"",
            begin.target.display()
        ));
    }
    for op in &begin.ops {
        check_op(op)?;
    }
    let menu_ops = begin.ops.iter().any(is_menu_op);
    match &begin.menu_dir {
        Some(dir) if !dir.is_absolute() => {
            return Err(format!(
                "it names the menu folder \"{}\", which is not an absolute path",
                dir.display()
            ));
        }
        None if menu_ops => {
            return Err("it changes menu entries but names no menu folder".into());
        }
        _ => {}
    }
    let state_dir = begin.target.join(layout::STATE_DIR);
    let mut outer: Option<&Path> = None;
    for created in &begin.created_dirs {
        let allowed =
            *created == state_dir || *created == begin.target || begin.target.starts_with(created);
        if !allowed || !created.is_absolute() {
            return Err(format!(
                "it says it created \"{}\", which is neither this folder, its {} nor a folder above it",
                created.display(),
                layout::STATE_DIR
            ));
        }
        // Each created folder is inside the one created before it: a run creates a chain.
        if let Some(outer) = outer
            && created.parent() != Some(outer)
        {
            return Err(format!(
                "it says it created \"{}\" and \"{}\", which are not one inside the other",
                outer.display(),
                created.display()
            ));
        }
        outer = Some(created);
    }
    Ok(())
}

/// Whether `op` is one ksn-setup writes: payload paths are payload paths, and only the
/// removal of a record (an uninstall) names ksn-setup's own files.
fn check_op(op: &Op) -> Result<(), String> {
    let payload = |path: &RelPath| {
        RelPath::payload(path.as_str())
            .map(|_| ())
            .map_err(|e| format!("an operation names {e}"))
    };
    match op {
        Op::CreateDir { path, mode } | Op::RemoveObsoleteDir { path, mode } => {
            if mode & !0o7777 != 0 {
                return Err(format!("an operation gives \"{path}\" the mode {mode:o}"));
            }
            payload(path)
        }
        Op::Install { path, .. } => payload(path),
        Op::RemoveObsolete { path } => {
            if [layout::CONFIG, layout::CONSENT_LOG, layout::RECEIPT].contains(&path.as_str()) {
                Ok(())
            } else {
                payload(path)
            }
        }
        Op::CreateMenuDir { path } | Op::RemoveMenuDir { path } if desktop::is_dir(path) => Ok(()),
        Op::WriteMenuFile { path, .. } | Op::RemoveMenuFile { path } if desktop::is_file(path) => {
            Ok(())
        }
        Op::CreateMenuDir { path }
        | Op::RemoveMenuDir { path }
        | Op::WriteMenuFile { path, .. }
        | Op::RemoveMenuFile { path } => Err(format!(
            "an operation names \"{path}\" in the menu folder, which is not a menu entry ksn-setup writes"
        )),
        Op::WriteConfig { .. }
        | Op::AppendConsentLog { .. }
        | Op::Stage
        | Op::WriteReceipt { .. } => Ok(()),
        Op::MoveIntoPlace { replaces_empty_dir } => match replaces_empty_dir {
            Some(mode) if mode & !0o7777 != 0 => Err(format!(
                "an operation gives the install folder the mode {mode:o}"
            )),
            _ => Ok(()),
        },
    }
}

fn is_menu_op(op: &Op) -> bool {
    matches!(
        op,
        Op::CreateMenuDir { .. }
            | Op::RemoveMenuDir { .. }
            | Op::WriteMenuFile { .. }
            | Op::RemoveMenuFile { .. }
    )
}

/// Opens the menu folder a transaction changed, under the same rules as the install folder.
pub fn open_menu_dir(begin: &Begin) -> anyhow::Result<Option<Dir>> {
    match &begin.menu_dir {
        Some(dir) if begin.ops.iter().any(is_menu_op) => Ok(Some(ownership::open_checked(dir)?)),
        _ => Ok(None),
    }
}

/// Collects what could not be undone instead of stopping at the first failure.
#[derive(Debug, Default)]
struct Undo {
    left: Vec<String>,
}

impl Undo {
    fn try_(&mut self, what: impl FnOnce() -> String, result: io::Result<()>) {
        if let Err(e) = result {
            self.left.push(format!("{}: {e}", what()));
        }
    }
}

/// Undoes a transaction that did not commit, newest operation first, then removes the
/// transaction folder and the folders it created. Safe to run again after a crash during it.
/// `state` must come from [`read`] (or from the run itself), which checked it.
pub fn rollback(root: &Dir, state: &JournalState) -> Result<Vec<String>, RollbackIncomplete> {
    let mut undo = Undo::default();
    let mut done = Vec::new();
    if let Some(begin) = &state.begin {
        let menu = match open_menu_dir(begin) {
            Ok(menu) => menu,
            Err(e) => {
                undo.left
                    .push(format!("the menu entries were not undone: {e:#}"));
                None
            }
        };
        for (index, op) in begin.ops.iter().enumerate().rev() {
            if is_menu_op(op) {
                if let Some(menu) = &menu {
                    undo_menu_op(root, menu, index, op, &mut undo, &mut done);
                }
                continue;
            }
            // Everything in a fresh tree goes with it.
            if !begin.fresh {
                undo_op(root, index, op, state.installing, &mut undo, &mut done);
            }
        }
    }
    match &state.begin {
        Some(begin) if begin.fresh && undo.left.is_empty() => {
            remove_fresh_tree(root, begin, &mut undo, &mut done)
        }
        _ => remove_txn(root, &mut undo),
    }
    if let Some(begin) = &state.begin {
        remove_created_dirs(root, &begin.created_dirs, &mut undo, &mut done);
    }
    // The handle still names the file system when the folder itself was just removed.
    undo.try_(|| "sync after rollback".into(), root.sync_filesystem());
    if undo.left.is_empty() {
        Ok(done)
    } else {
        Err(RollbackIncomplete(undo.left))
    }
}

/// Removes what a committed transaction left: backups of replaced files, the journal.
pub fn finish(root: &Dir) -> io::Result<()> {
    root.remove_all(layout::BACKUP)?;
    root.remove_all(layout::STAGING)?;
    root.remove_if_exists(layout::JOURNAL)?;
    root.remove_if_exists(layout::TXN_DIR)?;
    root.sync_dir(layout::STATE_DIR)
}

fn undo_op(
    root: &Dir,
    index: usize,
    op: &Op,
    installing: bool,
    undo: &mut Undo,
    done: &mut Vec<String>,
) {
    let backup = backup(index);
    let exists = |rel: &str| root.exists(rel).unwrap_or(false);
    match op {
        Op::CreateDir { path, .. } => remove_empty_dir(root, path.as_str(), undo, done),
        Op::WriteConfig { replaces } => {
            restore_record(root, layout::CONFIG, &backup, *replaces, undo, done)
        }
        Op::WriteReceipt { replaces } => {
            restore_record(root, layout::RECEIPT, &backup, *replaces, undo, done)
        }
        Op::AppendConsentLog { previous_len } => match previous_len {
            Some(len) => {
                let longer = root
                    .meta_of(layout::CONSENT_LOG)
                    .ok()
                    .flatten()
                    .is_some_and(|m| m.kind == Kind::File && m.size > *len);
                if longer {
                    let result = root.open_write(layout::CONSENT_LOG).and_then(|f| {
                        f.set_len(*len)?;
                        f.sync_all()
                    });
                    undo.try_(
                        || {
                            format!(
                                "cannot cut \"{}\" back to its old length",
                                root.display(layout::CONSENT_LOG)
                            )
                        },
                        result,
                    );
                    done.push(format!("removed the new line from {}", layout::CONSENT_LOG));
                }
            }
            None => {
                if root.remove_if_exists(layout::CONSENT_LOG).unwrap_or(false) {
                    done.push(format!("removed {}", layout::CONSENT_LOG));
                }
            }
        },
        Op::Stage => undo.try_(
            || format!("cannot remove \"{}\"", root.display(layout::STAGING)),
            root.remove_all(layout::STAGING),
        ),
        Op::Install {
            path,
            entry,
            replaces,
        } => {
            if !installing {
                return;
            }
            let staged = format!("{}/{}", layout::STAGING, staged(*entry));
            if exists(&staged) {
                // Not moved yet: at most the old file was linked to the backup.
                if exists(&backup) {
                    undo.try_(
                        || format!("cannot remove \"{}\"", root.display(&backup)),
                        root.remove_file(&backup),
                    );
                }
            } else if *replaces {
                if exists(&backup) {
                    undo.try_(
                        || format!("cannot put back the earlier \"{path}\""),
                        root.rename(&backup, root, path.as_str()),
                    );
                    done.push(format!("restored {path}"));
                }
            } else if root.remove_if_exists(path.as_str()).unwrap_or(false) {
                done.push(format!("removed {path}"));
            }
        }
        Op::RemoveObsolete { path } => {
            if exists(&backup) && !exists(path.as_str()) {
                undo.try_(
                    || format!("cannot put back \"{path}\""),
                    root.rename(&backup, root, path.as_str()),
                );
                done.push(format!("restored {path}"));
            }
        }
        // A fresh tree is removed whole by `remove_fresh_tree`.
        Op::MoveIntoPlace { .. } => {}
        // Undone below the menu folder, by `undo_menu_op`.
        Op::CreateMenuDir { .. }
        | Op::WriteMenuFile { .. }
        | Op::RemoveMenuFile { .. }
        | Op::RemoveMenuDir { .. } => {}
        Op::RemoveObsoleteDir { path, mode } => {
            if !exists(path.as_str()) {
                undo.try_(
                    || format!("cannot recreate folder \"{path}\""),
                    root.create_dir(path.as_str(), *mode),
                );
                done.push(format!("recreated folder {path}"));
            }
        }
    }
}

/// Undoes a change below the menu folder. A replaced or removed file's bytes wait in the
/// install folder's backup folder (the menu folder may be on another file system); putting
/// them back is an atomic replace, so running this twice is safe.
fn undo_menu_op(
    root: &Dir,
    menu: &Dir,
    index: usize,
    op: &Op,
    undo: &mut Undo,
    done: &mut Vec<String>,
) {
    let backup = backup(index);
    match op {
        Op::CreateMenuDir { path } => {
            remove_empty_dir(menu, path, undo, done);
        }
        Op::RemoveMenuDir { path } if !menu.exists(path).unwrap_or(true) => {
            undo.try_(
                || format!("cannot recreate folder \"{}\"", menu.display(path)),
                menu.create_dir(path, 0o755),
            );
            done.push(format!("recreated folder {}", menu.display(path)));
        }
        Op::WriteMenuFile { path, replaces } => {
            let tmp = dir::tmp_name(path);
            undo.try_(
                || format!("cannot remove \"{}\"", menu.display(&tmp)),
                menu.remove_if_exists(&tmp).map(|_| ()),
            );
            if *replaces {
                put_back_menu_file(root, menu, &backup, path, undo, done);
            } else if menu.remove_if_exists(path).unwrap_or(false) {
                done.push(format!("removed {}", menu.display(path)));
            }
        }
        Op::RemoveMenuFile { path } if !menu.exists(path).unwrap_or(true) => {
            put_back_menu_file(root, menu, &backup, path, undo, done);
        }
        _ => {}
    }
}

fn put_back_menu_file(
    root: &Dir,
    menu: &Dir,
    backup: &str,
    path: &str,
    undo: &mut Undo,
    done: &mut Vec<String>,
) {
    match root.read_optional(backup, desktop::MAX_FILE) {
        Ok(Some(bytes)) => {
            let result = menu
                .replace(path, &bytes, 0o644)
                .and_then(|()| root.remove_file(backup));
            undo.try_(
                || format!("cannot put back the earlier \"{}\"", menu.display(path)),
                result,
            );
            done.push(format!("restored {}", menu.display(path)));
        }
        Ok(None) => {}
        Err(e) => undo.left.push(format!(
            "cannot read the kept copy of \"{}\": {e}",
            menu.display(path)
        )),
    }
}

/// Undoes an atomic replace of a record file (config, receipt).
fn restore_record(
    root: &Dir,
    record: &str,
    backup: &str,
    replaces: bool,
    undo: &mut Undo,
    done: &mut Vec<String>,
) {
    let tmp = dir::tmp_name(record);
    undo.try_(
        || format!("cannot remove \"{}\"", root.display(&tmp)),
        root.remove_if_exists(&tmp).map(|_| ()),
    );
    let name = record.rsplit('/').next().unwrap_or(record);
    if replaces {
        if root.exists(backup).unwrap_or(false) {
            undo.try_(
                || format!("cannot put back the earlier \"{}\"", root.display(record)),
                root.rename(backup, root, record),
            );
            done.push(format!("restored the earlier {name}"));
        }
    } else if root.remove_if_exists(record).unwrap_or(false) {
        done.push(format!("removed {name}"));
    }
    if let Some((parent, _)) = record.rsplit_once('/') {
        let _ = root.sync_dir(parent);
    }
}

fn remove_empty_dir(root: &Dir, rel: &str, undo: &mut Undo, done: &mut Vec<String>) {
    match root.remove_dir(rel) {
        Ok(()) => done.push(format!("removed folder {}", root.display(rel))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => undo.left.push(format!(
            "folder \"{}\" was kept: it holds files ksn-setup did not put there",
            root.display(rel)
        )),
        Err(e) => undo.left.push(format!(
            "cannot remove folder \"{}\": {e}",
            root.display(rel)
        )),
    }
}

fn remove_txn(root: &Dir, undo: &mut Undo) {
    undo.try_(
        || "cannot remove the staging folder".into(),
        root.remove_all(layout::STAGING),
    );
    if let Ok(backups) = root.open_dir(layout::BACKUP)
        && let Ok(names) = backups.names()
    {
        for name in names {
            undo.left.push(format!(
                "backup \"{}\" could not be restored and was kept",
                backups.display(&name)
            ));
        }
    }
    if undo.left.is_empty() {
        let _ = root.remove_if_exists(layout::BACKUP);
        let _ = root.remove_if_exists(layout::JOURNAL);
        let _ = root.remove_if_exists(layout::TXN_DIR);
        let _ = root.sync_dir(layout::STATE_DIR);
    }
}

/// Removes the tree of a fresh install: the folder `root` is, found by its inode at the
/// target's name or beside it (it moves at the end of the transaction), with everything in
/// it. Nothing in it was there before the transaction made it.
fn remove_fresh_tree(root: &Dir, begin: &Begin, undo: &mut Undo, done: &mut Vec<String>) {
    let (Some(parent_path), Some(beside)) =
        (begin.target.parent(), layout::fresh_dir(&begin.target))
    else {
        undo.left.push(format!(
            "cannot find the folder above \"{}\"",
            begin.target.display()
        ));
        return;
    };
    let parent = match Dir::open(parent_path) {
        Ok(parent) => parent,
        Err(e) => {
            undo.left
                .push(format!("cannot open \"{}\": {e}", parent_path.display()));
            return;
        }
    };
    let id = root.id().ok();
    for path in [&begin.target, &beside] {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if id.is_some() && parent.id_of(name).ok().flatten() == id {
            undo.try_(
                || format!("cannot remove \"{}\"", path.display()),
                parent.remove_all(name),
            );
            done.push(format!("removed {}", path.display()));
            // It had replaced an empty folder: that comes back as it was.
            let replaced = begin.ops.iter().find_map(|op| match op {
                Op::MoveIntoPlace { replaces_empty_dir } => *replaces_empty_dir,
                _ => None,
            });
            if let Some(mode) = replaced
                && path == &begin.target
            {
                undo.try_(
                    || format!("cannot put back the empty folder \"{}\"", path.display()),
                    parent.create_dir(name, mode),
                );
                done.push(format!("put back the empty folder {}", path.display()));
            }
            let _ = parent.sync();
            return;
        }
    }
}

/// Removes the folders created before the journal, innermost first: `.ksn-setup` (with its
/// lock), the install folder itself, the folders above it that the run created. Each is
/// removed by name from its parent folder, and only when empty.
fn remove_created_dirs(root: &Dir, created: &[PathBuf], undo: &mut Undo, done: &mut Vec<String>) {
    let state_dir = root.path().join(layout::STATE_DIR);
    for dir in created.iter().rev() {
        if *dir == state_dir {
            let _ = root.remove_if_exists(layout::LOCK);
            remove_empty_dir(root, layout::STATE_DIR, undo, done);
            continue;
        }
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name().and_then(|n| n.to_str()))
        else {
            continue;
        };
        match Dir::open(parent) {
            Ok(parent) => remove_empty_dir(&parent, name, undo, done),
            Err(e) if dir::is_absent(&e) => {}
            Err(e) => undo.left.push(format!(
                "cannot open \"{}\" to remove \"{name}\": {e}",
                parent.display()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn begin(target: &Path, created: Vec<PathBuf>, ops: Vec<Op>) -> Begin {
        Begin {
            format: FORMAT,
            kind: "install".into(),
            target: target.to_path_buf(),
            created_dirs: created,
            ops,
            menu_dir: None,
            fresh: false,
        }
    }

    #[test]
    fn a_begin_record_may_only_name_this_folder_and_what_ksn_setup_does() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("t");
        std::fs::create_dir(&target).unwrap();
        let root = Dir::open(&target).unwrap();
        let path = |p: &str| RelPath::new(p).unwrap();
        assert!(
            check_begin(
                &root,
                &begin(&target, vec![target.join(".ksn-setup")], vec![])
            )
            .is_ok()
        );
        assert!(
            check_begin(
                &root,
                &begin(
                    &target,
                    vec![tmp.path().to_path_buf(), target.clone()],
                    vec![]
                )
            )
            .is_ok()
        );
        // Another folder, a created folder elsewhere, a broken chain, an installer's own path.
        assert!(check_begin(&root, &begin(tmp.path(), vec![], vec![])).is_err());
        assert!(check_begin(&root, &begin(&target, vec![PathBuf::from("/etc")], vec![])).is_err());
        assert!(
            check_begin(
                &root,
                &begin(&target, vec![PathBuf::from("/"), target.clone()], vec![])
            )
            .is_err()
        );
        let install_receipt = Op::Install {
            path: path(".ksn-setup/receipt.toml"),
            entry: 0,
            replaces: true,
        };
        assert!(check_begin(&root, &begin(&target, vec![], vec![install_receipt])).is_err());
        let create_config = Op::CreateDir {
            path: path("etc/product.toml"),
            mode: 0o755,
        };
        assert!(check_begin(&root, &begin(&target, vec![], vec![create_config])).is_err());
        // Below the menu folder, only ksn-setup's own entries, and only with a menu folder.
        let entry = Op::WriteMenuFile {
            path: "applications/ksn-demo-security.desktop".into(),
            replaces: false,
        };
        let mut with_menu = begin(&target, vec![], vec![entry.clone()]);
        assert!(check_begin(&root, &with_menu).is_err());
        with_menu.menu_dir = Some(tmp.path().join("share"));
        assert!(check_begin(&root, &with_menu).is_ok());
        with_menu.menu_dir = Some(PathBuf::from("share"));
        assert!(check_begin(&root, &with_menu).is_err());
        let mut elsewhere = begin(
            &target,
            vec![],
            vec![Op::RemoveMenuFile {
                path: "../../etc/shadow".into(),
            }],
        );
        elsewhere.menu_dir = Some(PathBuf::from("/usr/local/share"));
        assert!(check_begin(&root, &elsewhere).is_err());
        // An uninstall removes the records by their own names.
        let remove_log = Op::RemoveObsolete {
            path: path("etc/consent-log.jsonl"),
        };
        assert!(check_begin(&root, &begin(&target, vec![], vec![remove_log])).is_ok());
    }
}
