//! Who controls a folder: ksn-setup works only where its own user (or root) is in control.
//!
//! The rule is OpenSSH's StrictModes and sudo's: a folder, each existing folder above it, and
//! every record read back from it must be owned by root or by the user ksn-setup runs as, and
//! writable by nobody else. A folder above may be writable by others when its sticky bit is
//! set (`/tmp`): others can then add names there but not rename or remove ours. Anything
//! else is refused before it is read or written, naming the path and how to fix it, because
//! another user who can write there can swap a folder for a symlink, plant a journal or a
//! receipt, or hold a lock, and so steer what root does.
//!
//! Checks of an open folder look at the handle itself (`fstat`), so what is checked is what
//! is then used.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::base::dir::{Dir, Kind, Meta};
use crate::tr;

/// A path ksn-setup will not work in (exit 2).
#[derive(Debug, Error)]
#[error("refusing \"{}\": {}; {}", path.display(), self.why(), self.fix())]
pub struct Untrusted {
    pub path: PathBuf,
    pub reason: Reason,
}

/// Why a path is refused, kept as facts so each language can say it in its own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Owned by this user id, which is neither root nor ksn-setup's own user.
    OwnedBy(u32),
    /// Others can write to it: its group, every other user, or both.
    Writable {
        group: bool,
        others: bool,
        mode: u32,
    },
    /// It could not be looked at (the operating system's words).
    Unreadable(String),
    /// A record folder (`.ksn-setup`, `etc`) that is not a folder.
    NotAFolder,
}

impl Reason {
    /// Why the path is refused, in the current language.
    pub fn in_words(&self) -> String {
        match self {
            Reason::OwnedBy(uid) if euid() == 0 => {
                tr!("it is owned by user {} and only root may control it", uid)
            }
            Reason::OwnedBy(uid) => tr!(
                "it is owned by user {} and only you or root may control it",
                uid
            ),
            Reason::Writable {
                mode,
                group: true,
                others: true,
            } => tr!(
                "its group and every other user can write to it (mode {})",
                format!("{mode:o}")
            ),
            Reason::Writable {
                mode, group: true, ..
            } => {
                tr!("its group can write to it (mode {})", format!("{mode:o}"))
            }
            Reason::Writable { mode, .. } => tr!(
                "every other user can write to it (mode {})",
                format!("{mode:o}")
            ),
            Reason::Unreadable(error) => tr!("it cannot be looked at ({})", error),
            Reason::NotAFolder => tr!("it is not a folder"),
        }
    }
}

impl Untrusted {
    /// Why the path is refused, in the current language.
    pub fn why(&self) -> String {
        self.reason.in_words()
    }

    /// How to fix it, in the current language.
    pub fn fix(&self) -> String {
        let shown = self.path.display();
        match &self.reason {
            Reason::OwnedBy(_) if euid() == 0 => tr!(
                "choose another folder, or make root its owner (chown root: \"{}\") after \
                 checking what is in it",
                shown
            ),
            Reason::OwnedBy(_) => tr!("choose a folder of your own"),
            Reason::Writable { .. } => tr!(
                "remove their write permission (chmod go-w \"{}\") or choose another folder",
                shown
            ),
            Reason::Unreadable(_) => tr!("check the folder"),
            Reason::NotAFolder => tr!("remove it, or choose another folder"),
        }
    }
}

/// The user ksn-setup runs as.
pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Whether a path owned by `uid` is under this process's control.
fn trusted_owner(uid: u32) -> bool {
    uid == 0 || uid == euid()
}

/// Checks the facts of one path: `above` is true for a folder above the one worked in, where
/// the sticky bit makes a folder others can write safe enough.
fn check_meta(path: &Path, meta: &Meta, above: bool) -> Result<(), Untrusted> {
    if !trusted_owner(meta.uid) {
        return Err(Untrusted {
            path: path.to_path_buf(),
            reason: Reason::OwnedBy(meta.uid),
        });
    }
    let sticky = meta.kind == Kind::Dir && meta.mode & 0o1000 != 0;
    if meta.mode & 0o022 != 0 && !(above && sticky) {
        return Err(Untrusted {
            path: path.to_path_buf(),
            reason: Reason::Writable {
                group: meta.mode & 0o020 != 0,
                others: meta.mode & 0o002 != 0,
                mode: meta.mode,
            },
        });
    }
    Ok(())
}

/// Checks `path` (absolute) and every folder above it that exists. The path itself, when it
/// exists, must be a folder.
pub fn check_location(path: &Path) -> Result<(), Untrusted> {
    let mut existing = path.to_path_buf();
    while std::fs::symlink_metadata(&existing).is_err() {
        if !existing.pop() {
            break;
        }
    }
    // Symlinks above are resolved once, here; the folders they lead to are what is checked.
    let real = std::fs::canonicalize(&existing).unwrap_or(existing.clone());
    let is_target = existing == path;
    let mut at = PathBuf::from("/");
    let mut components: Vec<_> = real.components().skip(1).collect();
    let last = components.len();
    for (i, component) in std::iter::once(None)
        .chain(components.drain(..).map(Some))
        .enumerate()
    {
        if let Some(c) = component {
            at.push(c);
        }
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(m) => meta_of_std(&m),
            Err(_) => continue,
        };
        let is_last = i == last;
        if is_last && is_target && meta.kind != Kind::Dir {
            // Not a folder: the caller says so in its own words.
            return Ok(());
        }
        check_meta(&at, &meta, !(is_last && is_target))?;
    }
    Ok(())
}

fn meta_of_std(m: &std::fs::Metadata) -> Meta {
    use std::os::unix::fs::MetadataExt;
    let ft = m.file_type();
    let kind = if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else {
        Kind::Other
    };
    Meta {
        kind,
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        size: m.size(),
        mtime: (m.mtime(), m.mtime_nsec()),
    }
}

/// Checks an open folder ksn-setup works in (the install folder, `.ksn-setup`, `etc`).
pub fn check_dir(dir: &Dir) -> Result<(), Untrusted> {
    let meta = dir.meta().map_err(|e| Untrusted {
        path: dir.path().to_path_buf(),
        reason: Reason::Unreadable(e.to_string()),
    })?;
    check_meta(dir.path(), &meta, false)
}

/// Checks a record read back from a folder (journal, receipt, config, consent log, lock):
/// a record another user owns or can write may say anything.
pub fn check_record(path: &Path, meta: &Meta) -> Result<(), Untrusted> {
    check_meta(path, meta, false)
}

/// The largest record (receipt, config, consent log) read back: bounds memory for a planted
/// one.
pub const MAX_RECORD: u64 = 256 * 1024 * 1024;

/// Reads the record `rel` below `dir` (never through a symlink), refusing one that another
/// user owns or can write; `None` when there is none.
pub fn read_record(dir: &Dir, rel: &str) -> anyhow::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let file = match dir.open_read(rel) {
        Ok(file) => file,
        Err(e) if crate::base::dir::is_absent(&e) => return Ok(None),
        Err(e) => return Err(anyhow::anyhow!("cannot read \"{}\": {e}", dir.display(rel))),
    };
    let meta = Meta::of_file(&file)?;
    check_record(&dir.path().join(rel), &meta)?;
    let mut bytes = Vec::new();
    file.take(MAX_RECORD + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot read \"{}\": {e}", dir.display(rel)))?;
    if bytes.len() as u64 > MAX_RECORD {
        anyhow::bail!("\"{}\" is larger than {MAX_RECORD} bytes", dir.display(rel));
    }
    Ok(Some(bytes))
}

/// Checks the folders of an install that hold its records, `.ksn-setup` and `etc`, where
/// they exist: whoever controls them could swap a journal, a receipt or a config. Returns
/// whether `.ksn-setup` exists.
pub fn check_record_folders(root: &Dir) -> anyhow::Result<bool> {
    let mut state_exists = false;
    for folder in [crate::base::layout::STATE_DIR, "etc"] {
        match root.meta_of(folder)? {
            None => {}
            Some(meta) if meta.kind == Kind::Dir => {
                check_dir(&root.open_dir(folder)?)?;
                state_exists |= folder == crate::base::layout::STATE_DIR;
            }
            Some(_) => {
                return Err(Untrusted {
                    path: root.path().join(folder),
                    reason: Reason::NotAFolder,
                }
                .into());
            }
        }
    }
    Ok(state_exists)
}

/// Opens the existing folder `path` to work in, after checking it and every folder above.
/// Symlinks in `path` are resolved once, here: the handle is of the folder they led to.
pub fn open_checked(path: &Path) -> anyhow::Result<Dir> {
    let real = std::fs::canonicalize(path)
        .map_err(|e| anyhow::anyhow!("cannot open \"{}\": {e}", path.display()))?;
    check_location(&real)?;
    let dir =
        Dir::open(&real).map_err(|e| anyhow::anyhow!("cannot open \"{}\": {e}", path.display()))?;
    check_dir(&dir)?;
    Ok(dir)
}

/// `path` with the symlinks of its existing part resolved, and the missing rest kept as
/// written: where an install into `path` really goes.
pub fn resolve_existing(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while std::fs::symlink_metadata(&existing).is_err() {
        match existing.file_name() {
            Some(name) => rest.push(name.to_os_string()),
            None => break,
        }
        if !existing.pop() {
            break;
        }
    }
    let mut real = std::fs::canonicalize(&existing).unwrap_or(existing);
    for name in rest.into_iter().rev() {
        real.push(name);
    }
    real
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn refuses_a_folder_others_can_write() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_location(&dir).unwrap_err();
        assert!(
            err.to_string().contains("every other user can write"),
            "{err}"
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        check_location(&dir).unwrap();
        // Below a folder others can write, without the sticky bit: refused too.
        let below = dir.join("x");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o757)).unwrap();
        let err = check_location(&below).unwrap_err();
        assert_eq!(err.path, dir);
        // With the sticky bit, as /tmp: fine above, never for the folder itself.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
        check_location(&below).unwrap();
        assert!(check_location(&dir).is_err());
    }
}
