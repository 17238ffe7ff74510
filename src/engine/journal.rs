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

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::base::durable::{self, exists, remove_if_exists, tmp_path};
use crate::base::error::RollbackIncomplete;
use crate::base::layout;
use crate::engine::plan::Op;

const FORMAT: u32 = 1;

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
}

/// Paths of one transaction's working folders.
#[derive(Debug, Clone)]
pub struct TxnPaths {
    pub target: PathBuf,
}

impl TxnPaths {
    pub fn new(target: &Path) -> TxnPaths {
        TxnPaths {
            target: target.to_path_buf(),
        }
    }
    pub fn txn(&self) -> PathBuf {
        self.target.join(layout::TXN_DIR)
    }
    pub fn journal(&self) -> PathBuf {
        self.target.join(layout::JOURNAL)
    }
    pub fn staging(&self) -> PathBuf {
        self.txn().join("staging")
    }
    /// Where staged payload entry `entry` waits.
    pub fn staged(&self, entry: usize) -> PathBuf {
        self.staging().join(entry.to_string())
    }
    pub fn backups(&self) -> PathBuf {
        self.txn().join("backup")
    }
    /// Where operation `op`'s old file is kept until commit.
    pub fn backup(&self, op: usize) -> PathBuf {
        self.backups().join(op.to_string())
    }
    pub fn config(&self) -> PathBuf {
        self.target.join(layout::CONFIG)
    }
    pub fn consent_log(&self) -> PathBuf {
        self.target.join(layout::CONSENT_LOG)
    }
    pub fn receipt(&self) -> PathBuf {
        self.target.join(layout::RECEIPT)
    }
}

/// An open journal of a running transaction.
#[derive(Debug)]
pub struct Journal {
    file: File,
}

impl Journal {
    /// Creates the transaction folders and writes the `begin` record durably.
    pub fn begin(paths: &TxnPaths, begin: &Begin) -> io::Result<Journal> {
        fs::create_dir(paths.txn())?;
        fs::create_dir(paths.staging())?;
        fs::create_dir(paths.backups())?;
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(paths.journal())?;
        let mut journal = Journal { file };
        journal.append(&Record::Begin(begin.clone()))?;
        durable::sync_dir(&paths.txn())?;
        durable::sync_dir(&paths.target.join(layout::STATE_DIR))?;
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

/// Reads the journal of `target`, `None` when there is no transaction folder.
pub fn read(target: &Path) -> io::Result<Option<JournalState>> {
    let paths = TxnPaths::new(target);
    if !exists(&paths.txn()) {
        return Ok(None);
    }
    let mut state = JournalState {
        begin: None,
        installing: false,
        committed: false,
    };
    let file = match File::open(paths.journal()) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(state)),
        Err(e) => return Err(e),
    };
    for line in BufReader::new(file).lines() {
        let line = line?;
        // A record torn by a crash is the last line and was never acted on.
        let Ok(record) = serde_json::from_str::<Record>(&line) else {
            break;
        };
        match record {
            Record::Begin(b) if b.format == FORMAT => state.begin = Some(b),
            Record::Begin(b) => {
                return Err(io::Error::other(format!(
                    "journal format {} is newer than this ksn-setup understands",
                    b.format
                )));
            }
            Record::Installing => state.installing = true,
            Record::Commit => state.committed = true,
        }
    }
    Ok(Some(state))
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
pub fn rollback(target: &Path, state: &JournalState) -> Result<Vec<String>, RollbackIncomplete> {
    let paths = TxnPaths::new(target);
    let mut undo = Undo::default();
    let mut done = Vec::new();
    if let Some(begin) = &state.begin {
        for (index, op) in begin.ops.iter().enumerate().rev() {
            undo_op(&paths, index, op, state.installing, &mut undo, &mut done);
        }
    }
    remove_txn(&paths, &mut undo);
    if let Some(begin) = &state.begin {
        remove_created_dirs(target, &begin.created_dirs, &mut undo, &mut done);
    }
    let anchor = target
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    undo.try_(
        || "sync after rollback".into(),
        durable::sync_filesystem(anchor),
    );
    if undo.left.is_empty() {
        Ok(done)
    } else {
        Err(RollbackIncomplete(undo.left))
    }
}

/// Removes what a committed transaction left: backups of replaced files, the journal.
pub fn finish(target: &Path) -> io::Result<()> {
    let paths = TxnPaths::new(target);
    if exists(&paths.backups()) {
        fs::remove_dir_all(paths.backups())?;
    }
    if exists(&paths.staging()) {
        fs::remove_dir_all(paths.staging())?;
    }
    remove_if_exists(&paths.journal())?;
    remove_if_exists(&paths.txn())?;
    durable::sync_dir(&target.join(layout::STATE_DIR))
}

fn undo_op(
    paths: &TxnPaths,
    index: usize,
    op: &Op,
    installing: bool,
    undo: &mut Undo,
    done: &mut Vec<String>,
) {
    let backup = paths.backup(index);
    match op {
        Op::CreateDir { path, .. } => {
            let dir = path.under(&paths.target);
            remove_empty_dir(&dir, undo, done);
        }
        Op::WriteConfig { replaces } => {
            restore_record(&paths.config(), &backup, *replaces, undo, done)
        }
        Op::WriteReceipt { replaces } => {
            restore_record(&paths.receipt(), &backup, *replaces, undo, done)
        }
        Op::AppendConsentLog { previous_len } => {
            let log = paths.consent_log();
            match previous_len {
                Some(len) => {
                    if fs::metadata(&log).map(|m| m.len() > *len).unwrap_or(false) {
                        let result = OpenOptions::new().write(true).open(&log).and_then(|f| {
                            f.set_len(*len)?;
                            f.sync_all()
                        });
                        undo.try_(
                            || format!("cannot cut \"{}\" back to its old length", log.display()),
                            result,
                        );
                        done.push(format!("removed the new line from {}", layout::CONSENT_LOG));
                    }
                }
                None => {
                    if remove_if_exists(&log).unwrap_or(false) {
                        done.push(format!("removed {}", layout::CONSENT_LOG));
                    }
                }
            }
        }
        Op::Stage => {
            if exists(&paths.staging()) {
                undo.try_(
                    || format!("cannot remove \"{}\"", paths.staging().display()),
                    fs::remove_dir_all(paths.staging()),
                );
            }
        }
        Op::Install {
            path,
            entry,
            replaces,
        } => {
            if !installing {
                return;
            }
            let dest = path.under(&paths.target);
            let staged = paths.staged(*entry);
            if exists(&staged) {
                // Not moved yet: at most the old file was linked to the backup.
                if exists(&backup) {
                    undo.try_(
                        || format!("cannot remove \"{}\"", backup.display()),
                        fs::remove_file(&backup),
                    );
                }
            } else if *replaces {
                if exists(&backup) {
                    undo.try_(
                        || format!("cannot put back the earlier \"{path}\""),
                        fs::rename(&backup, &dest),
                    );
                    done.push(format!("restored {path}"));
                }
            } else if remove_if_exists(&dest).unwrap_or(false) {
                done.push(format!("removed {path}"));
            }
        }
        Op::RemoveObsolete { path } => {
            let dest = path.under(&paths.target);
            if exists(&backup) && !exists(&dest) {
                undo.try_(
                    || format!("cannot put back \"{path}\""),
                    fs::rename(&backup, &dest),
                );
                done.push(format!("restored {path}"));
            }
        }
        Op::RemoveObsoleteDir { path, mode } => {
            let dir = path.under(&paths.target);
            if !exists(&dir) {
                let result = fs::create_dir(&dir)
                    .and_then(|_| fs::set_permissions(&dir, fs::Permissions::from_mode(*mode)));
                undo.try_(|| format!("cannot recreate folder \"{path}\""), result);
                done.push(format!("recreated folder {path}"));
            }
        }
    }
}

/// Undoes an atomic replace of a record file (config, receipt).
fn restore_record(
    path: &Path,
    backup: &Path,
    replaces: bool,
    undo: &mut Undo,
    done: &mut Vec<String>,
) {
    let tmp = tmp_path(path);
    undo.try_(
        || format!("cannot remove \"{}\"", tmp.display()),
        remove_if_exists(&tmp).map(|_| ()),
    );
    let name = path.display();
    if replaces {
        if exists(backup) {
            undo.try_(
                || format!("cannot put back the earlier \"{name}\""),
                fs::rename(backup, path),
            );
            done.push(format!(
                "restored the earlier {}",
                path.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
    } else if remove_if_exists(path).unwrap_or(false) {
        done.push(format!(
            "removed {}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    if let Some(parent) = path.parent() {
        let _ = durable::sync_dir(parent);
    }
}

fn remove_empty_dir(dir: &Path, undo: &mut Undo, done: &mut Vec<String>) {
    match fs::remove_dir(dir) {
        Ok(()) => done.push(format!("removed folder {}", dir.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => undo.left.push(format!(
            "folder \"{}\" was kept: it holds files ksn-setup did not put there",
            dir.display()
        )),
        Err(e) => undo
            .left
            .push(format!("cannot remove folder \"{}\": {e}", dir.display())),
    }
}

fn remove_txn(paths: &TxnPaths, undo: &mut Undo) {
    if exists(&paths.staging()) {
        undo.try_(
            || "cannot remove the staging folder".into(),
            fs::remove_dir_all(paths.staging()),
        );
    }
    if let Ok(entries) = fs::read_dir(paths.backups()) {
        for entry in entries.flatten() {
            undo.left.push(format!(
                "backup \"{}\" could not be restored and was kept",
                entry.path().display()
            ));
        }
    }
    if undo.left.is_empty() {
        let _ = remove_if_exists(&paths.backups());
        let _ = remove_if_exists(&paths.journal());
        let _ = remove_if_exists(&paths.txn());
        let _ = durable::sync_dir(&paths.target.join(layout::STATE_DIR));
    }
}

/// Removes the folders created before the journal, innermost first: `.ksn-setup` (with its
/// lock), the target, its created ancestors.
fn remove_created_dirs(
    target: &Path,
    created: &[PathBuf],
    undo: &mut Undo,
    done: &mut Vec<String>,
) {
    for dir in created.iter().rev() {
        if dir == &target.join(layout::STATE_DIR) {
            let _ = remove_if_exists(&target.join(layout::LOCK));
        }
        remove_empty_dir(dir, undo, done);
    }
}
