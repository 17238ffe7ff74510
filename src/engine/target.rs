//! What is in the install folder now, read without changing anything.
//!
//! `inspect` looks at the target for one bundle: which folders are missing, what stands at
//! each path the bundle installs, an earlier install's receipt and config, free space, and an
//! interrupted transaction. The planner decides from this value alone.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::base::dir::{Dir, Kind};
use crate::base::layout;
use crate::base::ownership;
use crate::base::paths::RelPath;
use crate::bundle::contents::Bundle;
use crate::consent::config::ExistingConfig;
use crate::engine::receipt::{MenuRecord, Receipt};

/// What stands at a path of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Dir,
    File,
    Symlink,
    /// A socket, device or pipe.
    Other,
}

/// What stands in the way of a path before the install folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Obstacle {
    /// A file where a folder of the path should be (`/etc/passwd/sub`).
    FileInTheWay(PathBuf),
    /// A folder of the path this user may not look into.
    NotAllowed(PathBuf),
}

/// An earlier install of ours in the target.
#[derive(Debug, Clone)]
pub struct PreviousInstall {
    pub receipt: Receipt,
    pub config: Option<ExistingConfig>,
}

#[derive(Debug, Clone)]
pub struct Target {
    /// Absolute path of the install folder.
    pub dir: PathBuf,
    /// The target path exists but is not a folder.
    pub not_a_dir: bool,
    /// Folders to create for the target itself, outermost first (empty when it exists).
    pub missing_dirs: Vec<PathBuf>,
    /// What stands at each bundle path and each earlier-receipt path, when something does.
    pub existing: BTreeMap<RelPath, Existing>,
    pub previous: Option<PreviousInstall>,
    /// `etc/product.toml` exists.
    pub config_exists: bool,
    /// Length of `etc/consent-log.jsonl`, when it exists.
    pub consent_log_len: Option<u64>,
    /// The `prev_sha256` the next consent-log line carries.
    pub consent_log_tip: String,
    /// Bytes free for an unprivileged-or-not writer on the target's file system.
    pub free_bytes: u64,
    /// The file system's block size, to round file sizes up.
    pub block_size: u64,
    /// Whether we may create files where the target is (or will be).
    pub writable: bool,
    /// The file system there is mounted read-only.
    pub read_only: bool,
    /// The file system there holds no files (proc, sysfs).
    pub virtual_fs: bool,
    /// What stops the path before it reaches the target, when something does.
    pub obstacle: Option<Obstacle>,
    /// An interrupted transaction waits in `.ksn-setup/txn`.
    pub interrupted: bool,
    /// The target is a folder with nothing in it: its mode, which the install keeps.
    pub empty_dir: Option<u32>,
    /// The menu folder, when the install adds menu entries.
    pub menu: Option<MenuLook>,
    /// The entries an earlier install added to a menu folder this install does not write
    /// to (it adds none, or adds them elsewhere): what of them is still as it wrote them.
    pub earlier_menu: Option<EarlierMenu>,
}

/// What an earlier install left in a menu folder this install leaves: its files still with
/// the bytes it wrote (another program's rewrite of one is that program's, and stays) and
/// its folders, which go when empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierMenu {
    pub dir: PathBuf,
    pub files: Vec<String>,
    /// Deepest first.
    pub dirs: Vec<String>,
}

/// What stands in the menu folder ([`crate::engine::desktop`]) at the paths ksn-setup writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuLook {
    /// Absolute, with the symlinks of its existing part resolved.
    pub dir: PathBuf,
    /// It exists now, or is one of the folders the install creates for the target.
    pub exists: bool,
    pub writable: bool,
    /// What stands at each of [`crate::engine::desktop::DIRS`] and `FILES`, when something
    /// does; `Other` also for a path that cannot be looked at without following a symlink.
    pub existing: BTreeMap<String, Existing>,
}

/// Reads the target for `bundle`, and the menu folder `menu_dir` when the install adds menu
/// entries; the only errors are a folder another user controls and unreadable records of an
/// earlier install (a damaged receipt or config is reported, never overwritten).
pub fn inspect(dir: &Path, bundle: &Bundle, menu_dir: Option<&Path>) -> anyhow::Result<Target> {
    let dir = ownership::resolve_existing(&absolute(dir)?);
    let mut missing_dirs = Vec::new();
    let mut probe = dir.clone();
    let mut obstacle = None;
    loop {
        match fs::symlink_metadata(&probe) {
            Ok(meta) => {
                // The first thing that exists on the way up must be a folder, unless it is
                // the target itself (that case is `not_a_dir`).
                if !meta.is_dir() && probe != dir {
                    obstacle = Some(Obstacle::FileInTheWay(probe.clone()));
                }
                break;
            }
            Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => {
                missing_dirs.push(probe.clone());
                if !probe.pop() {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                let parent = probe.parent().unwrap_or(Path::new("/")).to_path_buf();
                obstacle = Some(Obstacle::NotAllowed(parent));
                break;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot look at \"{}\"", probe.display()));
            }
        }
    }
    missing_dirs.reverse();
    let existing_anchor = probe;
    let not_a_dir =
        missing_dirs.is_empty() && !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir());
    if !not_a_dir && obstacle.is_none() {
        ownership::check_location(&dir)?;
    }

    let (space, writable) = match Dir::open(&existing_anchor) {
        Ok(anchor) => (anchor.space().ok(), anchor.writable()),
        Err(_) => (None, false),
    };
    let free_bytes = space.map(|s| s.free).unwrap_or(0);
    let block_size = space.map(|s| s.block_size).unwrap_or(4096);

    let mut target = Target {
        dir: dir.clone(),
        not_a_dir,
        missing_dirs,
        existing: BTreeMap::new(),
        previous: None,
        config_exists: false,
        consent_log_len: None,
        consent_log_tip: crate::consent::history::START.to_string(),
        free_bytes,
        block_size,
        writable,
        read_only: space.is_some_and(|s| s.read_only),
        virtual_fs: space.is_some_and(|s| s.virtual_fs),
        obstacle,
        interrupted: false,
        empty_dir: None,
        menu: None,
        earlier_menu: None,
    };
    if let Some(menu_dir) = menu_dir {
        target.menu = Some(inspect_menu(menu_dir, &target.missing_dirs)?);
    }
    if !target.missing_dirs.is_empty() || not_a_dir || target.obstacle.is_some() {
        return Ok(target);
    }

    let root = ownership::open_checked(&dir)?;
    if root
        .names()
        .with_context(|| format!("cannot list \"{}\"", dir.display()))?
        .is_empty()
    {
        target.empty_dir = Some(root.meta()?.mode);
    }
    ownership::check_record_folders(&root)?;
    target.interrupted = root.exists(layout::JOURNAL)?;
    if let Some(bytes) = ownership::read_record(&root, layout::RECEIPT)? {
        let text = String::from_utf8_lossy(&bytes);
        let receipt = Receipt::parse(&dir.join(layout::RECEIPT), &text).with_context(
            || "the receipt of the earlier install is damaged; repair or remove the install folder",
        )?;
        let config = match ownership::read_record(&root, layout::CONFIG)? {
            Some(bytes) => Some(
                ExistingConfig::parse(&dir.join(layout::CONFIG), String::from_utf8_lossy(&bytes).into_owned())
                    .context("the installed config cannot be read, so an upgrade could lose it; fix the file and run again")?,
            ),
            None => None,
        };
        target.earlier_menu = earlier_menu(&receipt, target.menu.as_ref());
        target.previous = Some(PreviousInstall { receipt, config });
    }
    target.config_exists = root.exists(layout::CONFIG)?;
    // One read gives both the length the append checks and the chain's tip, so they agree.
    let log = ownership::read_record(&root, layout::CONSENT_LOG)?;
    target.consent_log_len = log.as_ref().map(|bytes| bytes.len() as u64);
    target.consent_log_tip = crate::consent::history::tip(log.as_deref());

    let mut paths: Vec<RelPath> = bundle.entries.iter().map(|e| e.path.clone()).collect();
    if let Some(prev) = &target.previous {
        paths.extend(prev.receipt.entries.iter().map(|e| e.path.clone()));
    }
    if let Ok(etc) = RelPath::new("etc") {
        paths.push(etc);
    }
    for path in paths {
        let found = root
            .meta_of(path.as_str())
            .with_context(|| format!("cannot look at \"{}\"", root.display(path.as_str())))?;
        if let Some(meta) = found {
            target.existing.insert(path, existing_of(meta.kind));
        }
    }
    Ok(target)
}

/// Looks at the menu folder: who controls it (the same rules as the install folder), and what
/// stands at each path ksn-setup may write there.
fn inspect_menu(menu_dir: &Path, target_missing: &[PathBuf]) -> anyhow::Result<MenuLook> {
    let dir = ownership::resolve_existing(&absolute(menu_dir)?);
    let mut look = MenuLook {
        dir: dir.clone(),
        exists: false,
        writable: false,
        existing: BTreeMap::new(),
    };
    if fs::symlink_metadata(&dir).is_err() {
        look.exists = target_missing.contains(&dir);
        look.writable = look.exists;
        return Ok(look);
    }
    let root = ownership::open_checked(&dir)?;
    look.exists = true;
    look.writable = root.writable();
    let paths = crate::engine::desktop::DIRS
        .iter()
        .chain(crate::engine::desktop::FILES.iter());
    for path in paths {
        let kind = match root.meta_of(path) {
            Ok(Some(meta)) => existing_of(meta.kind),
            Ok(None) => continue,
            Err(_) => Existing::Other,
        };
        look.existing.insert(path.to_string(), kind);
    }
    Ok(look)
}

/// The target as an absolute path (not resolving symlinks, which the user chose).
fn absolute(dir: &Path) -> anyhow::Result<PathBuf> {
    let abs = std::path::absolute(dir)
        .with_context(|| format!("cannot resolve \"{}\"", dir.display()))?;
    // Normalize `a/./b` and `a/../b` lexically; a user typing `..` means the parent.
    let mut out = PathBuf::new();
    for component in abs.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    Ok(out)
}

fn existing_of(kind: Kind) -> Existing {
    match kind {
        Kind::Symlink => Existing::Symlink,
        Kind::Dir => Existing::Dir,
        Kind::File => Existing::File,
        Kind::Other => Existing::Other,
    }
}

/// The earlier install's menu entries, when this install does not write to their folder.
/// A folder that cannot be opened safely, or looked at, is left as it is: nothing there is
/// taken for ours, and the install goes on.
fn earlier_menu(receipt: &Receipt, now: Option<&MenuLook>) -> Option<EarlierMenu> {
    let record = receipt.menu.as_ref()?;
    if now.is_some_and(|m| m.dir == record.dir) {
        return None;
    }
    still_ours(record).ok().flatten()
}

/// What of the entries `record` lists is still as the install wrote them: the files with
/// the bytes it wrote (one another program has since rewritten is not taken for ours, nor
/// one that cannot be read as a plain file) and its folders that are still folders,
/// deepest first. `None` when the menu folder is gone; an error when it cannot be opened
/// safely ([`ownership::open_checked`]).
pub fn still_ours(record: &MenuRecord) -> anyhow::Result<Option<EarlierMenu>> {
    use sha2::{Digest, Sha256};
    if fs::symlink_metadata(&record.dir).is_err() {
        return Ok(None);
    }
    let menu = ownership::open_checked(&record.dir)?;
    let files = record
        .files
        .iter()
        .filter(|f| {
            menu.read_optional(&f.path, crate::engine::desktop::MAX_FILE)
                .ok()
                .flatten()
                .is_some_and(|bytes| hex::encode(Sha256::digest(&bytes)) == f.sha256)
        })
        .map(|f| f.path.clone())
        .collect();
    let mut dirs = Vec::new();
    for dir in &record.dirs {
        if menu.meta_of(dir)?.is_some_and(|m| m.kind == Kind::Dir) {
            dirs.push(dir.clone());
        }
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
    Ok(Some(EarlierMenu {
        dir: record.dir.clone(),
        files,
        dirs,
    }))
}
