//! Durable writes of files outside an install folder: a saved answers file, a key, a log
//! folder. (Inside an install folder every write goes through [`crate::base::dir::Dir`].)
//!
//! A file is replaced by writing a temp file in the same folder (created with `O_EXCL`, so a
//! planted file or symlink is never written through), fsyncing it, renaming it over the old
//! one and fsyncing the folder, so after a power cut the file is either the old or the new
//! one, never torn or empty. Temp files end in `.ksn-tmp` so leftovers are recognisable.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Suffix of every temp file ksn-setup creates outside its staging folder.
pub const TMP_SUFFIX: &str = ".ksn-tmp";

/// fsyncs a folder so the entries created, renamed or removed in it survive a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Creates `path` (refusing if anything, even a dangling symlink, is there) with exactly
/// `mode`, writes `bytes`, and fsyncs the file and its folder. For files that must never
/// replace another, such as a new key.
pub fn write_new_synced(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(mode)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    sync_dir(parent_of(path))
}

/// Replaces `path` atomically with `bytes` and exactly `mode` (temp file beside it, fsync,
/// rename, fsync the folder). A symlink standing at `path` is replaced, not written through.
pub fn replace_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = parent_of(path);
    let mut temp = tempfile::Builder::new()
        .prefix(".ksn-")
        .suffix(TMP_SUFFIX)
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Whether anything (even a dangling symlink) stands at `path`.
pub fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}
