//! Durable file-system primitives: what "on disk" means here.
//!
//! A record is replaced by writing a temp file in the same folder, fsyncing it, renaming it
//! over the old one and fsyncing the folder, so after a power cut the file is either the old
//! or the new one, never torn or empty. Temp files end in `.ksn-tmp` so recovery can find
//! and remove leftovers.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Suffix of every temp file ksn-setup creates outside its staging folder.
pub const TMP_SUFFIX: &str = ".ksn-tmp";

/// The temp path used while replacing `path`.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(TMP_SUFFIX);
    path.with_file_name(format!(".{}", name.to_string_lossy()))
}

/// fsyncs a folder so the entries created, renamed or removed in it survive a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Flushes every dirty page of the file system holding `path` (one call instead of an fsync
/// per file; used before a commit record).
pub fn sync_filesystem(path: &Path) -> io::Result<()> {
    let file = File::open(path)?;
    rustix::fs::syncfs(&file).map_err(io::Error::from)
}

/// Writes `bytes` to `tmp` with `mode` and fsyncs it; the caller renames it into place.
pub fn write_synced(tmp: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(tmp)?;
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Creates `path` (refusing if anything is there) with `mode`, writes `bytes`, and fsyncs the
/// file and its folder. For files that must never replace another, such as a new key.
pub fn write_new_synced(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    sync_dir(
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
}

/// Appends `bytes` to `path` (creating it with `mode`) and fsyncs the file, and the folder
/// when the file is new.
pub fn append_synced(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    if !existed && let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Removes a path if it exists: a file, symlink or empty folder.
pub fn remove_if_exists(path: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir(path).map(|_| true),
        Ok(_) => fs::remove_file(path).map(|_| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether anything (even a dangling symlink) stands at `path`.
pub fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}
