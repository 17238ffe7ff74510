//! The folder lock: one ksn-setup at a time works on an install folder.
//!
//! `.ksn-setup/lock` is held with `flock` for the whole run; the kernel drops it when the
//! process dies, so a killed run never leaves a stale lock. The file stays empty: writing
//! into it would make a rolled-back run leave a trace. It is opened through the install
//! folder's handle (never through a symlink) and is mode 0600, owned by whoever runs
//! ksn-setup: another user cannot open it, so cannot hold it to block root's maintenance.

use std::fs::{File, TryLockError};
use std::path::PathBuf;

use thiserror::Error;

use crate::base::dir::{Dir, Meta};
use crate::base::layout;
use crate::base::ownership;

#[derive(Debug, Error)]
pub enum LockError {
    #[error("another ksn-setup is working on \"{}\"; wait for it to finish and run again", dir.display())]
    Busy { dir: PathBuf },
    #[error("cannot lock \"{}\": {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Untrusted(#[from] ownership::Untrusted),
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
}

impl FolderLock {
    /// Takes the lock of the install folder `root`, whose `.ksn-setup` folder must exist.
    pub fn acquire(root: &Dir) -> Result<FolderLock, LockError> {
        let path = root.path().join(layout::LOCK);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let file = match root.create_new(layout::LOCK, 0o600) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                root.open_write(layout::LOCK).map_err(io)?
            }
            Err(e) => return Err(io(e)),
        };
        let meta = Meta::of_file(&file).map_err(io)?;
        ownership::check_record(&path, &meta)?;
        // A lock made by an earlier ksn-setup may be readable by all; nobody else may open it.
        if meta.mode & 0o077 != 0 {
            rustix::fs::fchmod(&file, rustix::fs::Mode::from_raw_mode(0o600))
                .map_err(|e| io(e.into()))?;
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Busy {
                    dir: root.path().to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        Ok(FolderLock { _file: file })
    }
}
