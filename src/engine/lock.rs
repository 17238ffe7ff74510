//! The folder lock: one ksn-setup at a time works on an install folder.
//!
//! `.ksn-setup/lock` is held with `flock` for the whole run; the kernel drops it when the
//! process dies, so a killed run never leaves a stale lock. The file stays empty: writing
//! into it would make a rolled-back run leave a trace.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LockError {
    #[error("another ksn-setup is working on \"{}\"; wait for it to finish and run again", dir.display())]
    Busy { dir: PathBuf },
    #[error("cannot lock \"{}\": {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
}

impl FolderLock {
    /// Takes the lock of install folder `dir`, whose `.ksn-setup` folder must exist.
    pub fn acquire(dir: &Path) -> Result<FolderLock, LockError> {
        let path = dir.join(crate::base::layout::LOCK);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Busy {
                    dir: dir.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        Ok(FolderLock { _file: file })
    }
}
