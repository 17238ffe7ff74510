//! The executor: the only code that changes an install folder.
//!
//! It takes a [`Plan`] made by [`crate::engine::plan::plan`], creates the target's folders, takes the
//! folder lock, recovers an interrupted run, checks under the lock that the folder is still
//! what the plan saw, writes the journal's `begin` record and then runs the plan's operations
//! in order: the config and the consent record durably first, then the payload, staged and
//! checked, then moved into place. On any error, or a cancel, it rolls everything back.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use anyhow::{Context as _, anyhow, bail};
use sha2::{Digest, Sha256};

use crate::base::dir::{self, Dir, Meta};
use crate::base::layout;
use crate::base::ownership;
use crate::bundle::contents::Bundle;
use crate::bundle::entry::EntryKind;
use crate::bundle::frames::{FrameDamaged, FrameLayout, Segment};
use crate::engine::control::RunControl;
use crate::engine::desktop::{self, MenuFile};
use crate::engine::faults;
use crate::engine::journal::{self, Begin, Journal, Record};
use crate::engine::lock::FolderLock;
use crate::engine::plan::{self, Op, Plan};
use crate::engine::progress::{Event, Phase, Reporter};
use crate::engine::receipt::{self, Receipt, ReceiptEntry, ReceiptKind};
use crate::engine::recovery;
use crate::engine::target;

/// What a finished install reports.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The plan that ran (re-made under the lock when recovery changed the folder first).
    pub plan: Plan,
    /// What recovery of an earlier interrupted run did, if anything.
    pub recovered: Option<String>,
}

/// Runs `plan` for `bundle`. `control` is looked at between operations and files: it can
/// hold the run, or cancel it, when it rolls back and returns [`crate::base::error::Cancelled`].
pub fn install(
    bundle: &Bundle,
    plan: &Plan,
    reporter: &Reporter,
    control: &RunControl,
) -> anyhow::Result<Installed> {
    if !plan.recover_first {
        refuse_problems(plan)?;
    }
    reporter.phase(Phase::Preparing);
    let target_dir = plan.target.clone();
    // Root works only where root is in control: the folder and every folder above it.
    ownership::check_location(&target_dir)?;
    // Finish what an earlier run left before creating anything of our own; that changes the
    // folder, so the plan is made again from what is there now.
    let recovered = recovery::recover(&target_dir, reporter)?;
    let replanned;
    let plan = if recovered.is_some() || plan.recover_first {
        let target = target::inspect(&target_dir, bundle, plan.answers.menu_dir.as_deref())?;
        replanned = plan::plan(bundle, &plan.answers, &target, &plan.now)?;
        refuse_problems(&replanned)?;
        &replanned
    } else {
        plan
    };

    if plan.fresh {
        return install_fresh(bundle, plan, reporter, control, recovered);
    }

    // Folders for the target itself and `.ksn-setup`, so the lock has a place to live.
    let (root, created) = open_target(&target_dir, &plan.target_dirs)?;
    let lock = match FolderLock::acquire(&root) {
        Ok(lock) => lock,
        Err(e) => {
            remove_created(&root, &created);
            return Err(e.into());
        }
    };

    // Under the lock: make sure nobody died here since, and that the plan still holds.
    if root.exists(layout::TXN_DIR)? {
        drop(lock);
        remove_created(&root, &created);
        bail!(
            "another run was interrupted in \"{}\" a moment ago; run again to recover it",
            target_dir.display()
        );
    }
    let target = target::inspect(&target_dir, bundle, plan.answers.menu_dir.as_deref())?;
    let mut current = plan::plan(bundle, &plan.answers, &target, &plan.now)?;
    current.target_dirs = plan.target_dirs.clone();
    if !current.same_changes(plan) {
        remove_created(&root, &created);
        bail!(
            "the install folder \"{}\" changed since the plan was made; run again to plan anew",
            target_dir.display()
        );
    }
    if let Err(e) = refuse_problems(&current) {
        remove_created(&root, &created);
        return Err(e);
    }

    let work = Work::install(&current);
    let result = run_journaled(
        &root,
        &created,
        &work,
        Some(bundle),
        None,
        reporter,
        control,
    );
    drop(lock);
    result?;
    Ok(Installed {
        plan: current,
        recovered,
    })
}

/// Where a fresh install builds its tree, and where the tree goes.
struct FreshTree<'a> {
    /// The folder above the target.
    parent: &'a Dir,
    /// The name of the folder beside the target ([`layout::fresh_dir`]).
    beside: String,
    /// The target's name.
    name: String,
}

/// A fresh install: the target does not exist. The whole tree, the config and consent
/// record first, is built in a folder of its own beside the target (mode 0700 until it moves)
/// under its own lock and journal, and [`Op::MoveIntoPlace`] moves it to the target with one
/// rename. Before that rename nothing is at the target; a rollback, or the recovery of a
/// killed run, removes the tree wherever it is.
fn install_fresh(
    bundle: &Bundle,
    plan: &Plan,
    reporter: &Reporter,
    control: &RunControl,
    recovered: Option<String>,
) -> anyhow::Result<Installed> {
    let target_dir = &plan.target;
    let (Some(beside_path), Some(name), Some(parent_path)) = (
        layout::fresh_dir(target_dir),
        target_dir.file_name().and_then(|n| n.to_str()),
        target_dir.parent(),
    ) else {
        bail!(
            "cannot install into \"{}\": it needs a parent folder and a UTF-8 name",
            target_dir.display()
        );
    };
    let beside = beside_path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("fresh_dir gives a UTF-8 name")
        .to_string();
    let created = create_dirs(&plan.target_dirs)?;
    let undo_created = |parent: Option<&Dir>| {
        if let Some(parent) = parent {
            let _ = parent.remove_all(&beside);
        }
        remove_created_above(&created);
    };
    let parent = match Dir::open(parent_path) {
        Ok(parent) => parent,
        Err(e) => {
            undo_created(None);
            return Err(e)
                .with_context(|| format!("cannot open folder \"{}\"", parent_path.display()));
        }
    };
    // The folder beside it is this run's alone: a leftover of a killed run was removed by
    // recovery, so one standing here now belongs to a run going on right now.
    match parent.create_dir(&beside, 0o700) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            remove_created_above(&created);
            bail!(
                "another run is installing into \"{}\" (its files are being built in \"{}\"); wait for it, or run again to recover it if it was interrupted",
                target_dir.display(),
                beside_path.display()
            );
        }
        Err(e) => {
            undo_created(None);
            return Err(e)
                .with_context(|| format!("cannot create folder \"{}\"", beside_path.display()));
        }
    }
    let opened = (|| -> anyhow::Result<(Dir, FolderLock)> {
        let root = ownership::open_checked(&beside_path)?;
        root.create_dir(layout::STATE_DIR, 0o755).with_context(|| {
            format!(
                "cannot create folder \"{}\"",
                root.display(layout::STATE_DIR)
            )
        })?;
        let lock = FolderLock::acquire(&root)?;
        Ok((root, lock))
    })();
    let (root, lock) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            undo_created(Some(&parent));
            return Err(e);
        }
    };

    // Under the lock: the target must still not exist, and the plan must still hold.
    let target = target::inspect(target_dir, bundle, plan.answers.menu_dir.as_deref());
    let current = target.and_then(|t| Ok(plan::plan(bundle, &plan.answers, &t, &plan.now)?));
    let current = match current {
        Ok(current) if current.fresh && current.same_changes(plan) => current,
        Ok(_) => {
            drop(lock);
            undo_created(Some(&parent));
            bail!(
                "the install folder \"{}\" changed since the plan was made; run again to plan anew",
                target_dir.display()
            );
        }
        Err(e) => {
            drop(lock);
            undo_created(Some(&parent));
            return Err(e);
        }
    };
    if let Err(e) = refuse_problems(&current) {
        drop(lock);
        undo_created(Some(&parent));
        return Err(e);
    }

    let work = Work::install(&current);
    let tree = FreshTree {
        parent: &parent,
        beside: beside.clone(),
        name: name.to_string(),
    };
    let result = run_journaled(
        &root,
        &created,
        &work,
        Some(bundle),
        Some(&tree),
        reporter,
        control,
    );
    drop(lock);
    result?;
    Ok(Installed {
        plan: current,
        recovered,
    })
}

/// Creates the folders `to_create` (outermost first, each inside the one before it) with
/// mode 0755, each by name from a handle of its parent; returns the ones it created.
fn create_dirs(to_create: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut created = Vec::new();
    let Some(first) = to_create.first() else {
        return Ok(created);
    };
    let parent = first.parent().unwrap_or(Path::new("/"));
    let mut at = Dir::open(parent)
        .with_context(|| format!("cannot open folder \"{}\"", parent.display()))?;
    for dir in to_create {
        let name = dir.file_name().and_then(|n| n.to_str()).with_context(|| {
            format!(
                "cannot create folder \"{}\": not a UTF-8 name",
                dir.display()
            )
        });
        let step = name.and_then(|name| {
            match at.create_dir(name, 0o755) {
                Ok(()) => created.push(dir.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot create folder \"{}\"", dir.display()));
                }
            }
            at.open_dir(name)
                .with_context(|| format!("cannot open folder \"{}\"", dir.display()))
        });
        match step {
            Ok(next) => at = next,
            Err(e) => {
                remove_created_above(&created);
                return Err(e);
            }
        }
    }
    Ok(created)
}

/// Creates the target's missing folders (`to_create`, outermost first, `.ksn-setup` last),
/// each by name from a handle of its parent and with mode 0755, then opens the target and
/// checks that it, the folders above it and `.ksn-setup` are under this user's control.
/// Returns the target's handle and the folders created, for rollback.
fn open_target(target: &Path, to_create: &[PathBuf]) -> anyhow::Result<(Dir, Vec<PathBuf>)> {
    let state_dir = target.join(layout::STATE_DIR);
    let missing: Vec<PathBuf> = to_create
        .iter()
        .filter(|d| **d != state_dir)
        .cloned()
        .collect();
    let mut created = create_dirs(&missing)?;
    let root = match ownership::open_checked(target) {
        Ok(root) => root,
        Err(e) => {
            remove_created_above(&created);
            return Err(e);
        }
    };
    let state = (|| {
        if !root.exists(layout::STATE_DIR)? {
            root.create_dir(layout::STATE_DIR, 0o755)
                .with_context(|| format!("cannot create folder \"{}\"", state_dir.display()))?;
            created.push(state_dir.clone());
        }
        ownership::check_record_folders(&root).map(|_| ())
    })();
    if let Err(e) = state {
        remove_created(&root, &created);
        return Err(e);
    }
    Ok((root, created))
}

/// Removes folders created before the journal existed, when the run stops before it.
fn remove_created(root: &Dir, created: &[PathBuf]) {
    let state_dir = root.path().join(layout::STATE_DIR);
    if created.contains(&state_dir) {
        let _ = root.remove_if_exists(layout::LOCK);
        let _ = root.remove_dir(layout::STATE_DIR);
    }
    let above: Vec<PathBuf> = created
        .iter()
        .filter(|d| **d != state_dir)
        .cloned()
        .collect();
    remove_created_above(&above);
}

/// Removes created folders of the target itself and above it, innermost first, each by name
/// from its parent's handle and only when empty.
fn remove_created_above(created: &[PathBuf]) {
    for dir in created.iter().rev() {
        if let (Some(parent), Some(name)) = (dir.parent(), dir.file_name().and_then(|n| n.to_str()))
            && let Ok(parent) = Dir::open(parent)
        {
            let _ = parent.remove_dir(name);
        }
    }
}

/// What one transaction does: its operations and the records they write. An install makes it
/// from its plan; the maintenance commands (a KSN change, repair, uninstall) make their own.
#[derive(Debug, Clone)]
pub struct Work {
    /// `install`, `ksn-change`, `repair`, `uninstall`: in the journal and in messages.
    pub kind: String,
    pub ops: Vec<Op>,
    /// The config text `Op::WriteConfig` writes.
    pub config_text: String,
    /// The line `Op::AppendConsentLog` appends.
    pub consent_line: Option<String>,
    /// The KSN decision the config records, for messages.
    pub decision: Option<crate::consent::rules::Decision>,
    /// For the receipt `Op::WriteReceipt` writes.
    pub product_name: String,
    pub product_version: String,
    pub now: String,
    /// Payload files the operations install.
    pub files: u64,
    /// SHA-256 a staged file must have, by entry index, where the bundle does not say (a
    /// repair from a payload folder: the receipt's hashes).
    pub expected_sha256: std::collections::BTreeMap<usize, [u8; 32]>,
    /// The menu folder the menu operations work below.
    pub menu_dir: Option<PathBuf>,
    /// The bytes `Op::WriteMenuFile` writes, by path.
    pub menu_files: Vec<MenuFile>,
    /// For the receipt: the folders below the menu folder that are ours.
    pub menu_dirs: Vec<String>,
    /// The receipt `Op::WriteReceipt` writes, when the work brings its own: a reinstall that
    /// stages no file keeps the installed receipt's entries and changes its menu record.
    /// Otherwise the receipt is made from the staged files.
    pub receipt: Option<Receipt>,
}

impl Work {
    pub fn install(plan: &Plan) -> Work {
        Work {
            kind: "install".into(),
            ops: plan.ops.clone(),
            config_text: plan.config_text.clone(),
            consent_line: plan.consent_line.clone(),
            decision: Some(plan.ksn.record.decision),
            product_name: plan.product_name.clone(),
            product_version: plan.product_version.clone(),
            now: plan.now.clone(),
            files: plan.files,
            expected_sha256: Default::default(),
            menu_dir: plan.menu_dir.clone().or(plan.menu_removed_from.clone()),
            menu_files: plan.menu_files.clone(),
            menu_dirs: plan.menu_dirs.clone(),
            receipt: None,
        }
    }

    /// Work on an installed product (`kind`: `ksn-change`, `repair`, `uninstall`): `ops` only,
    /// records and receipt untouched unless the caller sets them.
    pub fn on_installed(
        kind: &str,
        ops: Vec<Op>,
        receipt: &crate::engine::receipt::Receipt,
        now: &str,
    ) -> Work {
        let files = ops
            .iter()
            .filter(|op| matches!(op, Op::Install { .. }))
            .count() as u64;
        Work {
            kind: kind.into(),
            ops,
            config_text: String::new(),
            consent_line: None,
            decision: None,
            product_name: receipt.product_name.clone(),
            product_version: receipt.product_version.clone(),
            now: now.to_string(),
            files,
            expected_sha256: Default::default(),
            menu_dir: None,
            menu_files: Vec::new(),
            menu_dirs: Vec::new(),
            receipt: None,
        }
    }

    /// What `kind` says in messages: "install", "repair", "KSN change".
    fn noun(&self) -> &str {
        match self.kind.as_str() {
            "ksn-change" => "change",
            other => other,
        }
    }
}

/// Runs a maintenance transaction on an installed folder: checks who controls it, takes the
/// folder lock, recovers an interrupted run, makes the work under the lock from the folder's
/// handle (so it is made from what is on disk now), and runs it like an install. `make` may
/// refuse with an error, or find nothing to do (`None`); nothing is written then.
pub fn maintain(
    dir: &Path,
    bundle: Option<&Bundle>,
    make: impl FnOnce(&Dir) -> anyhow::Result<Option<Work>>,
    reporter: &Reporter,
    control: &RunControl,
) -> anyhow::Result<Option<Work>> {
    let root = ownership::open_checked(dir)?;
    if !root.exists(layout::RECEIPT)? || !ownership::check_record_folders(&root)? {
        bail!(
            "\"{}\" holds no installed product (no {})",
            dir.display(),
            layout::RECEIPT
        );
    }
    reporter.phase(Phase::Preparing);
    let lock = FolderLock::acquire(&root)?;
    recovery::recover_locked(&root, reporter)?;
    let Some(work) = make(&root)? else {
        return Ok(None);
    };
    let result = run_journaled(&root, &[], &work, bundle, None, reporter, control);
    drop(lock);
    result.map(|()| Some(work))
}

/// The journaled part of every transaction, run while the caller holds the folder lock:
/// `begin` record, the operations, `commit`; on an error or a cancel, the rollback.
fn run_journaled(
    root: &Dir,
    created: &[PathBuf],
    work: &Work,
    bundle: Option<&Bundle>,
    fresh: Option<&FreshTree<'_>>,
    reporter: &Reporter,
    control: &RunControl,
) -> anyhow::Result<()> {
    let begin = Begin {
        format: 1,
        kind: work.kind.clone(),
        target: match fresh {
            Some(tree) => tree.parent.path().join(&tree.name),
            None => root.path().to_path_buf(),
        },
        created_dirs: created.to_vec(),
        ops: work.ops.clone(),
        menu_dir: work.menu_dir.clone(),
        fresh: fresh.is_some(),
    };
    // The menu folder is checked like the install folder, before anything is written.
    let menu = journal::open_menu_dir(&begin)?;
    let started =
        Journal::begin(root, &begin).and_then(|j| Ok((j, root.open_dir(layout::STAGING)?)));
    let (mut journal, staging) = match started {
        Ok(started) => started,
        Err(e) => {
            let state = journal::JournalState {
                begin: Some(begin),
                installing: false,
                committed: false,
            };
            let _ = journal::rollback(root, &state);
            return Err(e).context("cannot start the transaction journal");
        }
    };
    reporter.step(format!(
        "journal started in {}",
        root.display(layout::TXN_DIR)
    ));

    let mut run = Run {
        bundle,
        work,
        root,
        menu: menu.as_ref(),
        staging,
        reporter,
        control,
        stamps: Vec::new(),
        fresh,
    };
    let mut installing = false;
    let result = run.all(&mut journal, &mut installing);
    drop(run);
    match result {
        Ok(()) => {
            drop(journal);
            if let Err(e) = journal::finish(root) {
                reporter.notice(format!(
                    "done, but the transaction folder could not be cleaned: {e}"
                ));
            }
            if let Some(menu_dir) = &work.menu_dir
                && menu.is_some()
            {
                for notice in desktop::refresh_caches(menu_dir) {
                    reporter.notice(format!("the menu may show the change late: {notice}"));
                }
            }
            reporter.phase(Phase::Done);
            Ok(())
        }
        Err(error) => {
            reporter.phase(Phase::RollingBack);
            reporter.step(format!("error: {error:#}; rolling back"));
            drop(journal);
            let state = journal::JournalState {
                begin: Some(begin),
                installing,
                committed: false,
            };
            match journal::rollback(root, &state) {
                Ok(done) => {
                    for step in &done {
                        reporter.step(format!("rollback: {step}"));
                    }
                    Err(error.context(format!(
                        "the {} was rolled back; the folder is as it was",
                        work.noun()
                    )))
                }
                Err(incomplete) => {
                    Err(anyhow::Error::new(incomplete).context(format!("{error:#}")))
                }
            }
        }
    }
}

fn refuse_problems(plan: &Plan) -> anyhow::Result<()> {
    if plan.problems.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = plan.problems.iter().map(|p| p.to_string()).collect();
    Err(anyhow!(
        "cannot install into \"{}\":\n  - {}",
        plan.target.display(),
        list.join("\n  - ")
    ))
}

/// How often the copy reports progress, in milliseconds.
const PROGRESS_INTERVAL_MS: u64 = 25;
/// One file (or symlink) for a staging worker.
struct Job {
    index: usize,
    content: Content,
}

enum Content {
    /// The worker opens the entry's file itself (folder and built-in payloads).
    OwnFile,
    /// No data: a symlink.
    None,
    /// The whole file, as bytes (an empty file of a packed installer).
    Bytes(Vec<u8>),
}

/// What the receipt records of a staged file: the SHA-256 of what was staged, checked, and
/// its modification time when the last byte was written, which a later install's quick
/// check compares (with the size) before it decides to hash the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    sha256: [u8; 32],
    mtime_ns: i64,
}

/// A staged entry and, for a file, its stamp.
type Staged = (usize, Option<Stamp>);

/// A file a frame finished, to be checked once the frame is: its index, the bytes written,
/// the size and SHA-256 the bundle promises, and the stamp of what was written.
type Written<'a> = (usize, u64, u64, Option<&'a [u8; 32]>, Stamp);

/// A staged file cut by a frame boundary: written piece by piece by the threads that decode
/// its frames.
struct Spanning {
    file: std::fs::File,
    pieces_left: AtomicUsize,
}

/// Progress shared by the staging workers.
struct StageProgress {
    files_total: u64,
    bytes_total: u64,
    files_done: AtomicU64,
    bytes_done: AtomicU64,
    started: std::time::Instant,
    last_report: AtomicU64,
}

impl StageProgress {
    fn file_done(&self, reporter: &Reporter, entry: &crate::bundle::entry::Entry) {
        let bytes = self.bytes_done.fetch_add(entry.size(), Ordering::Relaxed) + entry.size();
        let files = self.files_done.fetch_add(1, Ordering::Relaxed) + 1;
        reporter.detail(|| format!("staged {}", entry.path));
        // At most one progress event per interval, and the last one: a message per file
        // would cost more than a small file does.
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_report.load(Ordering::Relaxed);
        let due = files == self.files_total
            || (now >= last + PROGRESS_INTERVAL_MS
                && self
                    .last_report
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok());
        if due {
            reporter.send(Event::Progress {
                files_done: files,
                files_total: self.files_total,
                bytes_done: bytes,
                bytes_total: self.bytes_total,
                current: entry.path.as_str().into(),
            });
        }
    }
}

struct Run<'a> {
    /// The payload; only work that stages or writes a receipt has one.
    bundle: Option<&'a Bundle>,
    work: &'a Work,
    /// The install folder: every change goes through this handle.
    root: &'a Dir,
    /// The menu folder, when the work changes menu entries.
    menu: Option<&'a Dir>,
    /// `.ksn-setup/txn/staging`, mode 0700.
    staging: Dir,
    reporter: &'a Reporter,
    control: &'a RunControl,
    /// SHA-256 of each staged file, by entry index.
    stamps: Vec<Option<Stamp>>,
    /// A fresh install: `root` is the tree beside the target, files are staged in their
    /// places in it, and it moves to the target at the end.
    fresh: Option<&'a FreshTree<'a>>,
}

impl<'a> Run<'a> {
    fn all(&mut self, journal: &mut Journal, installing: &mut bool) -> anyhow::Result<()> {
        faults::hit("begin")?;
        let total = self.work.ops.len();
        for (index, op) in self.work.ops.iter().enumerate() {
            self.check_cancel()?;
            if matches!(op, Op::Install { .. } | Op::MoveIntoPlace { .. }) && !*installing {
                journal
                    .append(&Record::Installing)
                    .context("cannot write the journal")?;
                *installing = true;
                self.reporter.phase(Phase::Installing);
            }
            self.op(index, op)
                .with_context(|| format!("step {} of {total}", index + 1))?;
        }
        self.reporter.phase(Phase::Committing);
        self.root
            .sync_filesystem()
            .context("cannot sync the install to disk")?;
        faults::hit("before-commit")?;
        self.check_cancel()?;
        journal
            .append(&Record::Commit)
            .context("cannot write the commit record")?;
        self.reporter.step("committed");
        // Committed: from here nothing may roll back, so only a kill or a pause can act here.
        let _ = faults::hit("after-commit");
        Ok(())
    }

    /// The menu folder of work with menu operations; such work always names one.
    fn menu(&self) -> anyhow::Result<&'a Dir> {
        self.menu.context("a menu operation without a menu folder")
    }

    /// The payload of work that stages or writes a receipt; such work always has one.
    fn bundle(&self) -> &'a Bundle {
        self.bundle
            .expect("only work with a bundle stages files or writes a receipt")
    }

    /// Waits while the front end holds the run; stops it once cancelled.
    fn check_cancel(&self) -> anyhow::Result<()> {
        Ok(self.control.checkpoint()?)
    }

    fn op(&mut self, index: usize, op: &Op) -> anyhow::Result<()> {
        let root = self.root;
        let backup = journal::backup(index);
        match op {
            Op::CreateDir { path, mode } => {
                faults::hit("mkdir")?;
                root.create_dir(path.as_str(), *mode).with_context(|| {
                    format!("cannot create folder \"{}\"", root.display(path.as_str()))
                })?;
                self.reporter.step(format!("created folder {path}"));
            }
            Op::WriteConfig { replaces } => {
                self.reporter.phase(Phase::WritingConfig);
                replace_record(
                    root,
                    layout::CONFIG,
                    self.work.config_text.as_bytes(),
                    *replaces,
                    &backup,
                    "config-temp",
                )?;
                faults::hit("config")?;
                self.reporter.step(format!(
                    "wrote {} (KSN decision: {}), synced",
                    layout::CONFIG,
                    self.work
                        .decision
                        .map(|d| d.as_str())
                        .unwrap_or("unchanged")
                ));
            }
            Op::AppendConsentLog { previous_len } => {
                let shown = root.display(layout::CONSENT_LOG);
                let now = root.meta_of(layout::CONSENT_LOG)?.map(|m| m.size);
                if now != *previous_len {
                    bail!("\"{shown}\" changed while installing");
                }
                let line = self.work.consent_line.as_deref().unwrap_or_default();
                let (mut file, created) = root
                    .open_append(layout::CONSENT_LOG, 0o644)
                    .with_context(|| format!("cannot append to \"{shown}\""))?;
                ownership::check_record(&root.path().join(layout::CONSENT_LOG), &Meta::of_file(&file)?)?;
                file.write_all(line.as_bytes())
                    .and_then(|()| file.sync_all())
                    .with_context(|| format!("cannot append to \"{shown}\""))?;
                if created {
                    root.sync_dir("etc")
                        .with_context(|| format!("cannot sync the folder of \"{shown}\""))?;
                }
                faults::hit("consent-log")?;
                self.reporter
                    .step(format!("appended the decision to {}", layout::CONSENT_LOG));
            }
            Op::Stage => {
                self.reporter.phase(Phase::Copying);
                self.stage()?;
                root.sync_filesystem()
                    .context("cannot sync the staged files to disk")?;
                faults::hit("staged")?;
                self.reporter
                    .step(format!("staged {} files, synced", self.work.files));
            }
            Op::Install {
                path,
                entry,
                replaces,
            } => {
                faults::hit("install-file")?;
                let shown = || root.display(path.as_str());
                if *replaces && !root.exists(&backup)? {
                    root.hard_link(path.as_str(), root, &backup)
                        .with_context(|| format!("cannot keep the earlier \"{}\" for rollback", shown()))?;
                }
                let staged = journal::staged(*entry);
                // A staged file is 0600 in a 0700 folder until this moment: it gets its own
                // mode as it moves into place.
                let bundled = &self.bundle().entries[*entry];
                if matches!(bundled.kind, EntryKind::File { .. }) {
                    self.staging
                        .set_mode(&staged, bundled.mode)
                        .with_context(|| format!("cannot set the mode of \"{}\"", shown()))?;
                }
                self.staging
                    .rename(&staged, root, path.as_str())
                    .with_context(|| format!("cannot move \"{}\" into place", shown()))?;
                self.reporter.step(format!("installed {path}"));
            }
            Op::MoveIntoPlace { replaces_empty_dir } => {
                let tree = self
                    .fresh
                    .context("a move into place without a fresh tree")?;
                let shown = tree.parent.display(&tree.name);
                // Every byte of the tree is on disk before it appears at the target.
                root.sync_filesystem()
                    .context("cannot sync the install to disk")?;
                faults::hit("move-into-place")?;
                // The tree takes the mode of the empty folder it replaces.
                tree.parent
                    .set_mode(&tree.beside, replaces_empty_dir.unwrap_or(0o755))
                    .with_context(|| {
                        format!(
                            "cannot set the mode of \"{}\"",
                            tree.parent.display(&tree.beside)
                        )
                    })?;
                // Over an empty folder a plain rename replaces it, and fails if anything has
                // been put in it since; otherwise nothing may stand there at all.
                let moved = match replaces_empty_dir {
                    Some(_) => tree.parent.rename(&tree.beside, tree.parent, &tree.name),
                    None => tree.parent.rename_new(&tree.beside, tree.parent, &tree.name),
                };
                moved.with_context(|| {
                    format!("cannot move the install into place as \"{shown}\"")
                })?;
                tree.parent
                    .sync()
                    .with_context(|| format!("cannot sync the folder above \"{shown}\""))?;
                faults::hit("moved-into-place")?;
                self.reporter.step(format!("moved the whole tree into place as {shown}"));
            }
            Op::RemoveObsolete { path } => {
                faults::hit("remove-obsolete")?;
                root.rename(path.as_str(), root, &backup)
                    .with_context(|| format!("cannot remove \"{}\"", root.display(path.as_str())))?;
                self.reporter.step(format!("removed {path}"));
            }
            Op::RemoveObsoleteDir { path, .. } => match root.remove_dir(path.as_str()) {
                Ok(()) => self.reporter.step(format!("removed folder {path}")),
                // It holds files the user added: keep it and them.
                Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {
                    self.reporter.notice(format!(
                        "kept folder {path}: it still holds files ksn-setup did not install (or was asked to keep)"
                    ))
                }
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("cannot remove folder \"{}\"", root.display(path.as_str()))
                    });
                }
            },
            Op::CreateMenuDir { path } => {
                let menu = self.menu()?;
                menu.create_dir(path, 0o755)
                    .with_context(|| format!("cannot create folder \"{}\"", menu.display(path)))?;
                self.reporter
                    .step(format!("created folder {}", menu.display(path)));
            }
            Op::WriteMenuFile { path, replaces } => {
                let menu = self.menu()?;
                let bytes = &self
                    .work
                    .menu_files
                    .iter()
                    .find(|f| &f.path == path)
                    .with_context(|| format!("no bytes for the menu file {path}"))?
                    .bytes;
                if *replaces && !root.exists(&backup)? {
                    keep_menu_file(root, menu, path, index)?;
                }
                faults::hit("menu-file")?;
                menu.replace(path, bytes, 0o644)
                    .with_context(|| format!("cannot write \"{}\"", menu.display(path)))?;
                self.reporter.step(format!("wrote {}", menu.display(path)));
            }
            Op::RemoveMenuFile { path } => {
                let menu = self.menu()?;
                if !root.exists(&backup)? {
                    keep_menu_file(root, menu, path, index)?;
                }
                menu.remove_if_exists(path)
                    .with_context(|| format!("cannot remove \"{}\"", menu.display(path)))?;
                self.reporter.step(format!("removed {}", menu.display(path)));
            }
            Op::RemoveMenuDir { path } => {
                let menu = self.menu()?;
                // A folder ksn-setup made holds, besides its files, the desktop's cache of
                // it (made when the entries changed); the cache goes with the folder.
                if let Ok(names) = menu.open_dir(path).and_then(|d| d.names())
                    && !names.is_empty()
                    && names.iter().all(|n| desktop::CACHES.contains(&n.as_str()))
                {
                    for name in names {
                        menu.remove_if_exists(&format!("{path}/{name}"))?;
                    }
                }
                match menu.remove_dir(path) {
                    Ok(()) => self
                        .reporter
                        .step(format!("removed folder {}", menu.display(path))),
                    // Other programs' entries and icons live there too.
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::NotFound
                        ) => {}
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!("cannot remove folder \"{}\"", menu.display(path))
                        });
                    }
                }
            }
            Op::WriteReceipt { replaces } => {
                let text = match &self.work.receipt {
                    Some(receipt) => receipt.to_text(),
                    None => self.receipt().to_text(),
                };
                replace_record(
                    root,
                    layout::RECEIPT,
                    text.as_bytes(),
                    *replaces,
                    &backup,
                    "receipt-temp",
                )?;
                faults::hit("receipt")?;
                self.reporter.step(format!("wrote {}", layout::RECEIPT));
            }
        }
        Ok(())
    }

    /// Copies every file and symlink of the payload into staging, on several threads, hashing
    /// each file while writing it and checking the hash and size the bundle promises.
    ///
    /// Files come as jobs. From a folder or the built-in payload each worker opens its own
    /// file; from a packed installer the data's frames decode on every core
    /// ([`crate::bundle::frames`]) and one thread hands each file to the workers as it comes
    /// out, whole when small, in chunks when large, through bounded queues, so memory stays
    /// bounded whatever the payload size.
    fn stage(&mut self) -> anyhow::Result<()> {
        let bundle = self.bundle();
        // Only what the work installs: everything for an install (a fresh tree has no moves
        // to say so: all of it), what is damaged for a repair.
        let mut wanted: Vec<bool> = match self.fresh {
            Some(_) => bundle
                .entries
                .iter()
                .map(|e| !matches!(e.kind, EntryKind::Dir))
                .collect(),
            None => vec![false; bundle.entries.len()],
        };
        for op in &self.work.ops {
            if let Op::Install { entry, .. } = op {
                wanted[*entry] = true;
            }
        }
        let wanted = &wanted;
        let files_total = wanted.iter().filter(|w| **w).count() as u64;
        let progress = StageProgress {
            files_total,
            bytes_total: bundle
                .entries
                .iter()
                .zip(wanted)
                .filter(|(_, w)| **w)
                .map(|(e, _)| e.size())
                .sum(),
            files_done: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
            started: std::time::Instant::now(),
            last_report: AtomicU64::new(0),
        };
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        let fail = |e: anyhow::Error| {
            failed.store(true, Ordering::Relaxed);
            first_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(e);
        };
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 8);

        let staged: Vec<Staged> = match bundle.packed() {
            None => {
                let work: Vec<usize> = (0..bundle.entries.len()).filter(|&i| wanted[i]).collect();
                let next = AtomicUsize::new(0);
                let next_job = || {
                    let slot = next.fetch_add(1, Ordering::Relaxed);
                    work.get(slot).map(|&index| Job {
                        index,
                        content: Content::OwnFile,
                    })
                };
                std::thread::scope(|scope| {
                    let workers: Vec<_> = (0..threads)
                        .map(|_| {
                            scope.spawn(|| self.stage_worker(&next_job, &progress, &failed, &fail))
                        })
                        .collect();
                    workers
                        .into_iter()
                        .flat_map(|w| w.join().unwrap_or_default())
                        .collect()
                })
            }
            Some((packed, order)) => {
                self.stage_frames(packed, order, wanted, threads, &progress, &failed)?
            }
        };
        if let Some(error) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(error);
        }
        self.stamps = vec![None; bundle.entries.len()];
        for (index, stamp) in staged {
            self.stamps[index] = stamp;
        }
        if self
            .stamps
            .iter()
            .zip(&bundle.entries)
            .zip(wanted)
            .any(|((h, e), w)| *w && matches!(e.kind, EntryKind::File { .. }) && h.is_none())
        {
            bail!("staging ended before every file was written");
        }
        Ok(())
    }

    /// One staging worker: takes jobs until there are none or a run failed; returns the
    /// hashes of the files it staged.
    fn stage_worker(
        &self,
        next_job: &(dyn Fn() -> Option<Job> + Sync),
        progress: &StageProgress,
        failed: &AtomicBool,
        fail: &(dyn Fn(anyhow::Error) + Sync),
    ) -> Vec<Staged> {
        let mut buffer = vec![0u8; 256 * 1024];
        let mut mine = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let Some(job) = next_job() else { break };
            let index = job.index;
            let result = if let Err(cancelled) = self.control.checkpoint() {
                Err(cancelled.into())
            } else {
                faults::hit("stage-file")
                    .map_err(anyhow::Error::from)
                    .and_then(|_| self.stage_one(job, &mut buffer))
            };
            match result {
                Ok(stamp) => {
                    mine.push((index, stamp));
                    progress.file_done(self.reporter, &self.bundle().entries[index]);
                }
                Err(e) => {
                    fail(e);
                    break;
                }
            }
        }
        mine
    }

    /// Stages a packed installer's files: each thread takes a frame of the data, decodes it
    /// and writes the files in it straight into staging; files with no data (symlinks, the
    /// files ksn-setup adds, empty files) come first. A file cut by a frame boundary is
    /// created here and written piece by piece by the threads that decode its frames; the
    /// one that writes its last piece reads it back to check it. Returns the staged hashes.
    #[allow(clippy::too_many_arguments)]
    fn stage_frames(
        &self,
        packed: &crate::bundle::packed::Packed,
        order: &[usize],
        wanted: &[bool],
        threads: usize,
        progress: &StageProgress,
        failed: &AtomicBool,
    ) -> anyhow::Result<Vec<Staged>> {
        let bundle = self.bundle();
        let frames = packed.frames()?;
        let layout = FrameLayout::new(
            &frames,
            order.iter().map(|&i| (i, bundle.entries[i].size())),
        );
        let in_data: std::collections::BTreeSet<usize> = order.iter().copied().collect();
        let mut own: Vec<Job> = Vec::new();
        for (index, entry) in bundle.entries.iter().enumerate() {
            if !wanted[index] {
                continue;
            }
            let content = match entry.kind {
                EntryKind::Symlink { .. } => Content::None,
                // Files outside the data: the maintenance program and the statements
                // ksn-setup adds itself, read by the worker.
                EntryKind::File { .. } if !in_data.contains(&index) => Content::OwnFile,
                _ => continue,
            };
            own.push(Job { index, content });
        }
        for &index in &layout.empty {
            if wanted[index] {
                own.push(Job {
                    index,
                    content: Content::Bytes(Vec::new()),
                });
            }
        }
        let mut spanning = std::collections::BTreeMap::new();
        for (&index, &pieces) in &layout.spanning {
            if !wanted[index] {
                continue;
            }
            faults::hit("stage-file")?;
            let staged = self.staged_name(index);
            let file = self.create_staged(index, &staged)?;
            spanning.insert(
                index,
                Spanning {
                    file,
                    pieces_left: AtomicUsize::new(pieces),
                },
            );
        }
        // Frames that hold something wanted: a repair decodes only those.
        let todo: Vec<usize> = (0..frames.len())
            .filter(|&f| layout.segments[f].iter().any(|s| wanted[s.entry]))
            .collect();
        let own = Mutex::new(own.into_iter());
        let next_frame = AtomicUsize::new(0);
        let results: Vec<(Vec<Staged>, Option<anyhow::Error>)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads.min(todo.len() + 1))
                .map(|_| {
                    scope.spawn(|| {
                        let mut mine = Vec::new();
                        let mut buffer = vec![0u8; 256 * 1024];
                        let file = match packed.open_data() {
                            Ok(file) => file,
                            Err(e) => return (mine, Some(e)),
                        };
                        while !failed.load(Ordering::Relaxed) {
                            let job = own.lock().unwrap_or_else(|e| e.into_inner()).next();
                            let result = match job {
                                Some(job) => {
                                    let index = job.index;
                                    self.control
                                        .checkpoint()
                                        .map_err(anyhow::Error::from)
                                        .and_then(|()| Ok(faults::hit("stage-file")?))
                                        .and_then(|()| self.stage_one(job, &mut buffer))
                                        .map(|hash| {
                                            progress
                                                .file_done(self.reporter, &bundle.entries[index]);
                                            vec![(index, hash)]
                                        })
                                }
                                None => {
                                    match todo.get(next_frame.fetch_add(1, Ordering::Relaxed)) {
                                        Some(&frame) => self.stage_frame(
                                            packed,
                                            &file,
                                            &frames,
                                            frame,
                                            &layout.segments[frame],
                                            wanted,
                                            &spanning,
                                            progress,
                                            &mut buffer,
                                        ),
                                        None => break,
                                    }
                                }
                            };
                            match result {
                                Ok(done) => mine.extend(done),
                                Err(e) => {
                                    failed.store(true, Ordering::Relaxed);
                                    return (mine, Some(e));
                                }
                            }
                        }
                        (mine, None)
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join().unwrap_or_else(|_| {
                        (Vec::new(), Some(anyhow!("a staging thread panicked")))
                    })
                })
                .collect()
        });
        let mut staged = Vec::new();
        let mut errors = Vec::new();
        for (done, error) in results {
            staged.extend(done);
            errors.extend(error);
        }
        // Damage in the installer spoils the files it touches: name the damaged frame, which
        // is the cause, rather than a file whose hash it spoilt first.
        if let Some(at) = errors.iter().position(FrameDamaged::is_in) {
            return Err(errors.swap_remove(at));
        }
        if let Some(error) = errors.into_iter().next() {
            return Err(error);
        }
        Ok(staged)
    }

    /// Decodes one frame and writes its pieces of files into staging; returns the hashes of
    /// the files it finished.
    #[allow(clippy::too_many_arguments)]
    fn stage_frame(
        &self,
        packed: &crate::bundle::packed::Packed,
        file: &std::fs::File,
        frames: &[crate::bundle::manifest::FrameSpec],
        frame: usize,
        segments: &[Segment],
        wanted: &[bool],
        spanning: &std::collections::BTreeMap<usize, Spanning>,
        progress: &StageProgress,
        buffer: &mut [u8],
    ) -> anyhow::Result<Vec<Staged>> {
        use std::os::unix::fs::FileExt;
        let bundle = self.bundle();
        let mut stream = packed.frame_stream(file, frames, frame)?;
        // Files whose last byte this frame held: checked once the frame is.
        let mut finished: Vec<Written> = Vec::new();
        let room = buffer.len() as u64;
        for segment in segments {
            let index = segment.entry;
            let entry = &bundle.entries[index];
            let damaged = || crate::bundle::contents::damaged(&entry.path);
            if !wanted[index] {
                // A repair restores only some files; the frame still has to be read past
                // the others.
                std::io::copy(&mut (&mut stream).take(segment.len), &mut std::io::sink())
                    .with_context(damaged)?;
                continue;
            }
            self.control.checkpoint()?;
            let (size, sha256) = match &entry.kind {
                EntryKind::File { size, sha256 } => (*size, sha256.as_ref()),
                _ => bail!("\"{}\" has data but is not a file", entry.path),
            };
            let staged = self.staged_name(index);
            if segment.whole {
                faults::hit("stage-file")?;
                let mut out = self.create_staged(index, &staged)?;
                let mut hasher = Sha256::new();
                let mut left = segment.len;
                while left > 0 {
                    let piece = &mut buffer[..left.min(room) as usize];
                    stream.read_exact(piece).with_context(damaged)?;
                    hasher.update(&*piece);
                    out.write_all(piece).with_context(|| {
                        format!(
                            "cannot write \"{}\" (staging {})",
                            entry.path,
                            self.stage_dir().display(&staged)
                        )
                    })?;
                    left -= piece.len() as u64;
                    self.control.checkpoint()?;
                }
                let stamp = Stamp {
                    sha256: hasher.finalize().into(),
                    mtime_ns: mtime_ns_of(&out, &entry.path)?,
                };
                finished.push((index, segment.len, size, sha256, stamp));
            } else {
                let target = spanning
                    .get(&index)
                    .with_context(|| format!("no staged file for \"{}\"", entry.path))?;
                let mut at = segment.at;
                let end = segment.at + segment.len;
                while at < end {
                    let piece = &mut buffer[..(end - at).min(room) as usize];
                    stream.read_exact(piece).with_context(damaged)?;
                    target.file.write_all_at(piece, at).with_context(|| {
                        format!(
                            "cannot write \"{}\" (staging {})",
                            entry.path,
                            self.stage_dir().display(&staged)
                        )
                    })?;
                    at += piece.len() as u64;
                    self.control.checkpoint()?;
                }
                if target.pieces_left.fetch_sub(1, Ordering::AcqRel) == 1 {
                    // Every piece is written: hash what the file holds now, so the check is
                    // of the staged file itself.
                    let mut hasher = Sha256::new();
                    let mut at = 0u64;
                    loop {
                        let n = target.file.read_at(buffer, at).with_context(|| {
                            format!("cannot read back \"{}\"", self.stage_dir().display(&staged))
                        })?;
                        if n == 0 {
                            break;
                        }
                        hasher.update(&buffer[..n]);
                        at += n as u64;
                    }
                    let stamp = Stamp {
                        sha256: hasher.finalize().into(),
                        mtime_ns: mtime_ns_of(&target.file, &entry.path)?,
                    };
                    finished.push((index, at, size, sha256, stamp));
                }
            }
        }
        // The frame's own check first: when its bytes are damaged, that is what to report,
        // not the file they spoilt.
        stream.finish().map_err(anyhow::Error::from)?;
        let mut done = Vec::with_capacity(finished.len());
        for (index, written, size, sha256, stamp) in finished {
            let entry = &bundle.entries[index];
            done.push((
                index,
                self.checked(index, entry, written, size, sha256, stamp)?,
            ));
            progress.file_done(self.reporter, entry);
        }
        Ok(done)
    }

    fn stage_one(&self, job: Job, buffer: &mut [u8]) -> anyhow::Result<Option<Stamp>> {
        let index = job.index;
        let entry = &self.bundle().entries[index];
        let staged = self.staged_name(index);
        match &entry.kind {
            EntryKind::Symlink { target } => {
                self.stage_dir()
                    .symlink(target, &staged)
                    .with_context(|| format!("cannot stage symlink \"{}\"", entry.path))?;
                Ok(None)
            }
            EntryKind::File { size, sha256 } => {
                let prefix = match job.content {
                    Content::OwnFile => self.bundle().file_prefix(index),
                    _ => None,
                };
                if let Some((source, len)) = prefix {
                    let mut file = self.create_staged(index, &staged)?;
                    if kernel_copy(source, len, &mut file, self.control)? {
                        // The bytes never passed through here: hash what was written, from
                        // the page cache, so the check is of the staged file itself.
                        drop(file);
                        let mut written =
                            self.stage_dir().open_read(&staged).with_context(|| {
                                format!(
                                    "cannot read back \"{}\"",
                                    self.stage_dir().display(&staged)
                                )
                            })?;
                        let mut hasher = Sha256::new();
                        let read = std::io::copy(&mut written, &mut hasher)
                            .with_context(|| format!("cannot read back \"{}\"", entry.path))?;
                        let stamp = Stamp {
                            sha256: hasher.finalize().into(),
                            mtime_ns: mtime_ns_of(&written, &entry.path)?,
                        };
                        return self.checked(index, entry, read, *size, sha256.as_ref(), stamp);
                    }
                    // The kernel cannot copy between these files: the ordinary way, below.
                    drop(file);
                    self.stage_dir().remove_file(&staged).with_context(|| {
                        format!("cannot remove \"{}\"", self.stage_dir().display(&staged))
                    })?;
                }
                let mut reader: Box<dyn Read + '_> = match job.content {
                    Content::OwnFile => self.bundle().read_file(index)?,
                    Content::Bytes(bytes) => Box::new(std::io::Cursor::new(bytes)),
                    Content::None => bail!("no data was queued for \"{}\"", entry.path),
                };
                let mut file = self.create_staged(index, &staged)?;
                let mut hasher = Sha256::new();
                let mut written: u64 = 0;
                loop {
                    let n = match reader.read(buffer) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            return Err(e).with_context(|| {
                                format!("cannot read payload entry \"{}\"", entry.path)
                            });
                        }
                    };
                    hasher.update(&buffer[..n]);
                    file.write_all(&buffer[..n]).with_context(|| {
                        format!(
                            "cannot write \"{}\" (staging {})",
                            entry.path,
                            self.stage_dir().display(&staged)
                        )
                    })?;
                    written += n as u64;
                    self.control.checkpoint()?;
                }
                let stamp = Stamp {
                    sha256: hasher.finalize().into(),
                    mtime_ns: mtime_ns_of(&file, &entry.path)?,
                };
                self.checked(index, entry, written, *size, sha256.as_ref(), stamp)
            }
            EntryKind::Dir => Ok(None),
        }
    }

    /// The folder files are staged in: the transaction's staging folder, or in a fresh
    /// install the tree itself.
    fn stage_dir(&self) -> &Dir {
        match self.fresh {
            Some(_) => self.root,
            None => &self.staging,
        }
    }

    /// Where entry `index` is staged: by number in the staging folder, or in a fresh install
    /// in its own place in the tree.
    fn staged_name(&self, index: usize) -> String {
        match self.fresh {
            Some(_) => self.bundle().entries[index].path.as_str().to_string(),
            None => journal::staged(index),
        }
    }

    /// Creates the file entry `index` is staged in, by the name `staged`.
    fn create_staged(&self, index: usize, staged: &str) -> anyhow::Result<std::fs::File> {
        self.stage_dir()
            .create_new(staged, self.staged_mode(index))
            .with_context(|| format!("cannot create \"{}\"", self.stage_dir().display(staged)))
    }

    /// The mode a file is staged with. In the transaction's staging folder, 0600 until it
    /// moves into place; in a fresh tree, its own mode at once: the tree is 0700 and not at
    /// the target until every file in it is checked, and is removed whole when one is not,
    /// so nobody can use a file before its check. That saves a second open per file. The
    /// set-id and sticky bits wait for the check (`checked`): a write by a user without
    /// `CAP_FSETID` would clear them.
    fn staged_mode(&self, index: usize) -> u32 {
        match self.fresh {
            Some(_) => self.bundle().entries[index].mode & 0o777,
            None => 0o600,
        }
    }

    /// A staged file's size and SHA-256 against what the bundle says they must be.
    fn checked(
        &self,
        index: usize,
        entry: &crate::bundle::entry::Entry,
        written: u64,
        size: u64,
        sha256: Option<&[u8; 32]>,
        stamp: Stamp,
    ) -> anyhow::Result<Option<Stamp>> {
        let digest = stamp.sha256;
        if written != size {
            bail!(
                "payload entry \"{}\" is damaged: {written} bytes, the bundle says {size}",
                entry.path
            );
        }
        if let Some(expected) = sha256.or(self.work.expected_sha256.get(&index))
            && *expected != digest
        {
            bail!(
                "payload entry \"{}\" is damaged: SHA-256 {} differs from the bundle's {}",
                entry.path,
                hex::encode(digest),
                hex::encode(expected)
            );
        }
        if self.fresh.is_some() && entry.mode & 0o7000 != 0 {
            self.root
                .set_mode(entry.path.as_str(), entry.mode)
                .with_context(|| {
                    format!(
                        "cannot set the mode of \"{}\"",
                        self.root.display(entry.path.as_str())
                    )
                })?;
        }
        Ok(Some(stamp))
    }

    fn receipt(&self) -> Receipt {
        let stamp = |index: usize| self.stamps.get(index).copied().flatten();
        let mut entries: Vec<ReceiptEntry> = self
            .bundle()
            .entries
            .iter()
            .enumerate()
            .map(|(index, entry)| match &entry.kind {
                EntryKind::Dir => ReceiptEntry {
                    path: entry.path.clone(),
                    kind: ReceiptKind::Dir,
                    mode: entry.mode,
                    size: None,
                    sha256: None,
                    target: None,
                    mtime_ns: None,
                },
                EntryKind::File { size, .. } => ReceiptEntry {
                    path: entry.path.clone(),
                    kind: ReceiptKind::File,
                    mode: entry.mode,
                    size: Some(*size),
                    sha256: stamp(index).map(|s| hex::encode(s.sha256)),
                    target: None,
                    mtime_ns: stamp(index).map(|s| s.mtime_ns),
                },
                EntryKind::Symlink { target } => ReceiptEntry {
                    path: entry.path.clone(),
                    kind: ReceiptKind::Symlink,
                    mode: 0o777,
                    size: None,
                    sha256: None,
                    target: Some(target.clone()),
                    mtime_ns: None,
                },
            })
            .collect();
        // The config's folder is ours too when the payload does not list it.
        if !entries.iter().any(|e| e.path.as_str() == "etc") {
            entries.insert(
                0,
                ReceiptEntry {
                    path: crate::base::paths::RelPath::new("etc").expect("valid path"),
                    kind: ReceiptKind::Dir,
                    mode: 0o755,
                    size: None,
                    sha256: None,
                    target: None,
                    mtime_ns: None,
                },
            );
        }
        Receipt {
            format: receipt::FORMAT,
            product_name: self.work.product_name.clone(),
            product_version: self.work.product_version.clone(),
            installer_version: crate::INSTALLER_VERSION.into(),
            installed_at: self.work.now.clone(),
            signer: self.bundle().signer.map(|k| k.to_string()),
            entries,
            // Entries only removed (the menu folder of an earlier install) are no record.
            menu: self
                .work
                .menu_dir
                .as_ref()
                .filter(|_| !self.work.menu_files.is_empty())
                .map(|dir| {
                    receipt::MenuRecord::of_written(
                        dir,
                        &self.work.menu_dirs,
                        &self.work.menu_files,
                    )
                }),
            unknown: toml::Table::new(),
        }
    }
}

/// Keeps the bytes of the menu file `path` in the install folder's backup folder for
/// rollback (the menu folder may be on another file system, so no hard link): written to
/// staging, synced, then renamed into the backup folder, so a backup is whole or absent.
fn keep_menu_file(root: &Dir, menu: &Dir, path: &str, index: usize) -> anyhow::Result<()> {
    let shown = || menu.display(path);
    let Some(bytes) = menu
        .read_optional(path, desktop::MAX_FILE)
        .with_context(|| format!("cannot keep the earlier \"{}\" for rollback", shown()))?
    else {
        return Ok(());
    };
    let kept = format!("{}/menu-{index}", layout::STAGING);
    let tmp = root
        .write_temp(&kept, &bytes, 0o600)
        .with_context(|| format!("cannot keep the earlier \"{}\" for rollback", shown()))?;
    root.rename(&tmp, root, &journal::backup(index))
        .with_context(|| format!("cannot keep the earlier \"{}\" for rollback", shown()))?;
    root.sync_dir(layout::BACKUP)?;
    Ok(())
}

/// Replaces a record file atomically: temp file (`O_EXCL`, mode 0644), fsync, keep the old
/// one for rollback as a hard link, rename, fsync the folder; all through the folder's handle.
fn replace_record(
    root: &Dir,
    record: &str,
    bytes: &[u8],
    replaces: bool,
    backup: &str,
    fault: &str,
) -> anyhow::Result<()> {
    let shown = || root.display(record);
    let tmp = root
        .write_temp(record, bytes, 0o644)
        .with_context(|| format!("cannot write \"{}\"", root.display(&dir::tmp_name(record))))?;
    faults::hit(fault)?;
    if replaces && !root.exists(backup)? {
        root.hard_link(record, root, backup)
            .with_context(|| format!("cannot keep the earlier \"{}\" for rollback", shown()))?;
        root.sync_dir(layout::BACKUP)?;
    }
    root.put_in_place(&tmp, record)
        .with_context(|| format!("cannot put \"{}\" in place", shown()))?;
    Ok(())
}

/// Copies the first `len` bytes of `source` into `out` with `copy_file_range`, in the kernel
/// (no pass through this process's memory; on file systems that share extents, no copy at
/// all), checking for a cancel between slices. `false` when the kernel cannot copy between
/// these two files (another file system type, an old kernel): nothing was written then, and
/// the caller copies the ordinary way.
/// The modification time of a staged file, in nanoseconds since the epoch, from its handle.
fn mtime_ns_of(file: &std::fs::File, path: &crate::base::paths::RelPath) -> anyhow::Result<i64> {
    let meta = Meta::of_file(file)
        .with_context(|| format!("cannot read the time of staged \"{path}\""))?;
    Ok(meta.mtime_ns())
}

fn kernel_copy(
    source: &Path,
    len: u64,
    out: &mut std::fs::File,
    control: &RunControl,
) -> anyhow::Result<bool> {
    const SLICE: usize = 8 * 1024 * 1024;
    let input = std::fs::File::open(source)
        .with_context(|| format!("cannot open \"{}\"", source.display()))?;
    let (mut from, mut to) = (0u64, 0u64);
    while from < len {
        let want = usize::try_from(len - from).unwrap_or(SLICE).min(SLICE);
        match rustix::fs::copy_file_range(&input, Some(&mut from), &*out, Some(&mut to), want) {
            Ok(0) => bail!(
                "\"{}\" ends after {from} bytes, {len} were expected",
                source.display()
            ),
            Ok(_) => control.checkpoint()?,
            Err(e)
                if from == 0
                    && matches!(
                        e,
                        rustix::io::Errno::XDEV
                            | rustix::io::Errno::NOSYS
                            | rustix::io::Errno::INVAL
                            | rustix::io::Errno::OPNOTSUPP
                    ) =>
            {
                return Ok(false);
            }
            Err(e) => {
                return Err(std::io::Error::from(e))
                    .with_context(|| format!("cannot copy \"{}\"", source.display()));
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_copies_exactly_the_prefix_asked_for() {
        let tmp = tempfile::tempdir().unwrap();
        let source = tmp.path().join("program-and-bundle");
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&source, &bytes).unwrap();
        let target = tmp.path().join("program");
        let mut out = std::fs::File::create(&target).unwrap();
        let control = RunControl::new();
        assert!(kernel_copy(&source, 2_000_001, &mut out, &control).unwrap());
        drop(out);
        assert_eq!(std::fs::read(&target).unwrap(), bytes[..2_000_001]);
        // A source shorter than the length the manifest gives is an error, not a short file.
        let mut out = std::fs::File::create(tmp.path().join("short")).unwrap();
        let err = kernel_copy(&source, 4_000_000, &mut out, &control).unwrap_err();
        assert!(err.to_string().contains("ends after"), "{err}");
    }
}
