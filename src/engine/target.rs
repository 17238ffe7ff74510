//! What is in the install folder now, read without changing anything.
//!
//! `inspect` looks at the target for one bundle: which folders are missing, what stands at
//! each path the bundle installs, an earlier install's receipt and config, free space, and an
//! interrupted transaction. The planner decides from this value alone.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::base::layout;
use crate::base::paths::RelPath;
use crate::bundle::contents::Bundle;
use crate::consent::config::ExistingConfig;
use crate::engine::receipt::Receipt;

/// What stands at a path of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Dir,
    File,
    Symlink,
    /// A socket, device or pipe.
    Other,
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
    /// Bytes free for an unprivileged-or-not writer on the target's file system.
    pub free_bytes: u64,
    /// The file system's block size, to round file sizes up.
    pub block_size: u64,
    /// Whether we may create files where the target is (or will be).
    pub writable: bool,
    /// An interrupted transaction waits in `.ksn-setup/txn`.
    pub interrupted: bool,
}

/// Reads the target for `bundle`; the only errors are unreadable records of an earlier
/// install (a damaged receipt or config is reported, never overwritten).
pub fn inspect(dir: &Path, bundle: &Bundle) -> anyhow::Result<Target> {
    let dir = absolute(dir)?;
    let mut missing_dirs = Vec::new();
    let mut probe = dir.clone();
    loop {
        match fs::symlink_metadata(&probe) {
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                missing_dirs.push(probe.clone());
                if !probe.pop() {
                    break;
                }
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot look at \"{}\"", probe.display()));
            }
        }
    }
    missing_dirs.reverse();
    let existing_anchor = probe;
    let not_a_dir = missing_dirs.is_empty() && !dir.is_dir();

    let (free_bytes, block_size) = match rustix::fs::statvfs(&existing_anchor) {
        Ok(st) => (
            st.f_bavail.saturating_mul(st.f_frsize),
            st.f_frsize.max(512),
        ),
        Err(_) => (0, 4096),
    };
    let writable = rustix::fs::access(&existing_anchor, rustix::fs::Access::WRITE_OK).is_ok()
        && !rustix::fs::statvfs(&existing_anchor)
            .map(|s| s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
            .unwrap_or(false);

    let mut target = Target {
        dir: dir.clone(),
        not_a_dir,
        missing_dirs,
        existing: BTreeMap::new(),
        previous: None,
        config_exists: false,
        consent_log_len: None,
        free_bytes,
        block_size,
        writable,
        interrupted: false,
    };
    if !target.missing_dirs.is_empty() || not_a_dir {
        return Ok(target);
    }

    target.interrupted = dir.join(layout::JOURNAL).exists();
    let receipt_path = dir.join(layout::RECEIPT);
    if let Some(text) = read_optional(&receipt_path)? {
        let receipt = Receipt::parse(&receipt_path, &text).with_context(
            || "the receipt of the earlier install is damaged; repair or remove the install folder",
        )?;
        let config_path = dir.join(layout::CONFIG);
        let config = match read_optional(&config_path)? {
            Some(text) => Some(
                ExistingConfig::parse(&config_path, text)
                    .context("the installed config cannot be read, so an upgrade could lose it; fix the file and run again")?,
            ),
            None => None,
        };
        target.previous = Some(PreviousInstall { receipt, config });
    }
    target.config_exists = fs::symlink_metadata(dir.join(layout::CONFIG)).is_ok();
    target.consent_log_len = fs::symlink_metadata(dir.join(layout::CONSENT_LOG))
        .ok()
        .map(|m| m.len());

    let mut paths: Vec<RelPath> = bundle.entries.iter().map(|e| e.path.clone()).collect();
    if let Some(prev) = &target.previous {
        paths.extend(prev.receipt.entries.iter().map(|e| e.path.clone()));
    }
    if let Ok(etc) = RelPath::new("etc") {
        paths.push(etc);
    }
    for path in paths {
        if let Some(kind) = existing_at(&path.under(&dir))? {
            target.existing.insert(path, kind);
        }
    }
    Ok(target)
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

fn existing_at(path: &Path) -> anyhow::Result<Option<Existing>> {
    match fs::symlink_metadata(path) {
        Ok(meta) => {
            let ft = meta.file_type();
            Ok(Some(if ft.is_symlink() {
                Existing::Symlink
            } else if ft.is_dir() {
                Existing::Dir
            } else if ft.is_file() {
                Existing::File
            } else {
                Existing::Other
            }))
        }
        Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => {
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("cannot look at \"{}\"", path.display())),
    }
}

fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read \"{}\"", path.display())),
    }
}

/// Permission bits of a path, for tests and repair.
pub fn mode_of(path: &Path) -> std::io::Result<u32> {
    Ok(fs::symlink_metadata(path)?.permissions().mode() & 0o7777)
}
