//! Directory handles: every change below an install folder is made relative to a handle
//! opened once, and never follows a symlink below it.
//!
//! A [`Dir`] is an open folder. Every path handed to it is relative and is resolved by the
//! kernel with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)`, so
//! neither a symlink another user planted in the folder nor a `..` can take a write outside
//! it; where the kernel has no `openat2` (before Linux 5.6, or a seccomp filter that refuses
//! it) the path is walked one component at a time with `O_NOFOLLOW`, which refuses the same.
//! The last component is never followed either: creates use `O_CREAT | O_EXCL | O_NOFOLLOW`,
//! renames, links and removals act on the name itself (`renameat`, `linkat`, `unlinkat`), and
//! reads refuse anything but a regular file, so a FIFO cannot hang a run and a device cannot
//! be read as a record.
//!
//! Modes are explicit: whatever the umask, a file or folder made here gets exactly the mode
//! asked for (an `fchmod` after creating it).

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// An open folder; see the module documentation.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    /// Where it was opened, for messages only: nothing is ever opened by this path again.
    path: PathBuf,
}

/// What stands at a name, as `lstat` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    /// A socket, device or pipe.
    Other,
}

/// The facts of an entry that the engine decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    /// Permission bits, `0o7777` at most.
    pub mode: u32,
    pub uid: u32,
    pub size: u64,
    /// Modification time, seconds and nanoseconds since the epoch.
    pub mtime: (i64, i64),
}

impl Meta {
    /// The modification time in nanoseconds since the epoch (exact until the year 2262).
    pub fn mtime_ns(&self) -> i64 {
        self.mtime
            .0
            .saturating_mul(1_000_000_000)
            .saturating_add(self.mtime.1)
    }

    /// The facts of an open file.
    pub fn of_file(file: &File) -> io::Result<Meta> {
        Ok(Meta::of(&rustix::fs::fstat(file).map_err(err)?))
    }

    fn of(st: &rustix::fs::Stat) -> Meta {
        let kind = match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => Kind::Dir,
            FileType::RegularFile => Kind::File,
            FileType::Symlink => Kind::Symlink,
            _ => Kind::Other,
        };
        Meta {
            kind,
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            size: st.st_size as u64,
            mtime: (st.st_mtime, st.st_mtime_nsec as i64),
        }
    }
}

/// The file system under a folder, as `statvfs` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Bytes free for an unprivileged writer.
    pub free: u64,
    pub block_size: u64,
    pub read_only: bool,
    /// A file system that holds no files of its own (proc, sysfs, cgroup).
    pub virtual_fs: bool,
}

/// The resolve flags of every open below a handle.
const BENEATH: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

fn err(e: Errno) -> io::Error {
    io::Error::from(e)
}

/// Splits `rel` into its parent path (empty for a name at the top) and its last component,
/// refusing what no bundle path can be: absolute, empty, `.` or `..` components.
fn split(rel: &str) -> io::Result<(&str, &str)> {
    check_relative(rel)?;
    Ok(match rel.rsplit_once('/') {
        Some((parent, name)) => (parent, name),
        None => ("", rel),
    })
}

fn check_relative(rel: &str) -> io::Result<()> {
    let bad = rel.is_empty()
        || rel.starts_with('/')
        || rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == ".." || c.contains('\0'));
    if bad {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("\"{rel}\" is not a relative path below the folder"),
        ));
    }
    Ok(())
}

impl Dir {
    /// Opens the folder at `path`. Its last component must not be a symlink; the folders
    /// above it are resolved as the system resolves them (the caller checks who controls
    /// them, see [`crate::base::ownership`]).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(err)?;
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// Where the handle was opened, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `rel` under the handle's path, for messages.
    pub fn display(&self, rel: &str) -> String {
        self.path.join(rel).display().to_string()
    }

    /// The facts of the folder itself.
    pub fn meta(&self) -> io::Result<Meta> {
        Ok(Meta::of(&rustix::fs::fstat(&self.fd).map_err(err)?))
    }

    /// Opens `rel` below this folder with `oflags`, never following a symlink on the way or
    /// at the end.
    fn resolve(&self, rel: &str, oflags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
        check_relative(rel)?;
        let oflags = oflags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat2(&self.fd, rel, oflags, mode, BENEATH) {
            Err(Errno::NOSYS) | Err(Errno::PERM) => self.walk(rel, oflags, mode),
            // openat2 says EXDEV when a `..` or an absolute symlink would leave the folder and
            // ELOOP for any symlink: both mean "not below this handle, as a plain path".
            Err(Errno::XDEV) => Err(err(Errno::LOOP)),
            other => other.map_err(err),
        }
    }

    /// The same as `openat2` with the resolve flags above, one component at a time.
    fn walk(&self, rel: &str, oflags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
        let (parent, name) = split(rel)?;
        let mut current: Option<OwnedFd> = None;
        if !parent.is_empty() {
            for component in parent.split('/') {
                let at = current
                    .as_ref()
                    .map(|f| f.as_fd())
                    .unwrap_or(self.fd.as_fd());
                let next = rustix::fs::openat(
                    at,
                    component,
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(err)?;
                current = Some(next);
            }
        }
        let at = current
            .as_ref()
            .map(|f| f.as_fd())
            .unwrap_or(self.fd.as_fd());
        rustix::fs::openat(at, name, oflags, mode).map_err(err)
    }

    /// Runs `f` with the folder holding `rel` and `rel`'s last name.
    fn at<T>(
        &self,
        rel: &str,
        f: impl FnOnce(BorrowedFd<'_>, &str) -> io::Result<T>,
    ) -> io::Result<T> {
        let (parent, name) = split(rel)?;
        if parent.is_empty() {
            return f(self.fd.as_fd(), name);
        }
        // Read-only rather than O_PATH: the same handle fsyncs the folder after a rename.
        let parent = self.resolve(parent, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())?;
        f(parent.as_fd(), name)
    }

    /// Opens the folder `rel` below this one.
    pub fn open_dir(&self, rel: &str) -> io::Result<Dir> {
        let fd = self.resolve(rel, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())?;
        Ok(Dir {
            fd,
            path: self.path.join(rel),
        })
    }

    /// What stands at `rel`, without following it; `None` when nothing does.
    pub fn meta_of(&self, rel: &str) -> io::Result<Option<Meta>> {
        let found = self.at(rel, |parent, name| {
            rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW).map_err(err)
        });
        match found {
            Ok(st) => Ok(Some(Meta::of(&st))),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether anything (even a dangling symlink) stands at `rel`.
    pub fn exists(&self, rel: &str) -> io::Result<bool> {
        Ok(self.meta_of(rel)?.is_some())
    }

    /// Creates the folder `rel` with exactly `mode`.
    pub fn create_dir(&self, rel: &str, mode: u32) -> io::Result<()> {
        self.at(rel, |parent, name| {
            rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(mode)).map_err(err)?;
            let made = rustix::fs::openat(
                parent,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(err)?;
            rustix::fs::fchmod(&made, Mode::from_raw_mode(mode)).map_err(err)
        })
    }

    /// Creates the file `rel`, which must not exist yet (not even as a symlink), with exactly
    /// `mode`, open for writing and for reading back what was written.
    pub fn create_new(&self, rel: &str, mode: u32) -> io::Result<File> {
        let fd = self.at(rel, |parent, name| {
            rustix::fs::openat(
                parent,
                name,
                OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(mode),
            )
            .map_err(err)
        })?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode)).map_err(err)?;
        Ok(File::from(fd))
    }

    /// Opens the regular file `rel` for reading.
    pub fn open_read(&self, rel: &str) -> io::Result<File> {
        let fd = self.resolve(rel, OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty())?;
        regular(fd, &self.display(rel))
    }

    /// Opens the regular file `rel` for writing in place (to cut it back, or to lock it).
    pub fn open_write(&self, rel: &str) -> io::Result<File> {
        let fd = self.resolve(rel, OFlags::RDWR | OFlags::NONBLOCK, Mode::empty())?;
        regular(fd, &self.display(rel))
    }

    /// Opens the regular file `rel` for appending, creating it with exactly `mode` when it
    /// is missing; says whether it was created.
    pub fn open_append(&self, rel: &str, mode: u32) -> io::Result<(File, bool)> {
        match self.create_new(rel, mode) {
            Ok(file) => {
                drop(file);
                let fd = self.resolve(rel, OFlags::WRONLY | OFlags::APPEND, Mode::empty())?;
                Ok((regular(fd, &self.display(rel))?, true))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let fd = self.resolve(
                    rel,
                    OFlags::WRONLY | OFlags::APPEND | OFlags::NONBLOCK,
                    Mode::empty(),
                )?;
                Ok((regular(fd, &self.display(rel))?, false))
            }
            Err(e) => Err(e),
        }
    }

    /// Reads the regular file `rel` whole; `None` when it does not exist.
    pub fn read_optional(&self, rel: &str, limit: u64) -> io::Result<Option<Vec<u8>>> {
        use std::io::Read as _;
        let file = match self.open_read(rel) {
            Ok(file) => file,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut bytes = Vec::new();
        file.take(limit + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("\"{}\" is larger than {limit} bytes", self.display(rel)),
            ));
        }
        Ok(Some(bytes))
    }

    /// Sets the mode of the file or folder `rel` (never through a symlink).
    pub fn set_mode(&self, rel: &str, mode: u32) -> io::Result<()> {
        let fd = self.resolve(rel, OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty())?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode)).map_err(err)
    }

    /// Renames `from` (below this folder) to `to` below `to_dir`, replacing what is there.
    pub fn rename(&self, from: &str, to_dir: &Dir, to: &str) -> io::Result<()> {
        self.at(from, |from_parent, from_name| {
            to_dir.at(to, |to_parent, to_name| {
                rustix::fs::renameat(from_parent, from_name, to_parent, to_name).map_err(err)
            })
        })
    }

    /// Renames `from` to `to` below `to_dir`, only if nothing stands at `to` (`EEXIST` then).
    pub fn rename_new(&self, from: &str, to_dir: &Dir, to: &str) -> io::Result<()> {
        self.at(from, |from_parent, from_name| {
            to_dir.at(to, |to_parent, to_name| {
                rustix::fs::renameat_with(
                    from_parent,
                    from_name,
                    to_parent,
                    to_name,
                    rustix::fs::RenameFlags::NOREPLACE,
                )
                .map_err(err)
            })
        })
    }

    /// The device and inode of this folder: which folder it is, whatever its name now.
    pub fn id(&self) -> io::Result<(u64, u64)> {
        let st = rustix::fs::fstat(&self.fd).map_err(err)?;
        Ok((st.st_dev, st.st_ino))
    }

    /// The device and inode of what stands at `rel` (a symlink itself), if anything does.
    pub fn id_of(&self, rel: &str) -> io::Result<Option<(u64, u64)>> {
        let found = self.at(rel, |parent, name| {
            rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW).map_err(err)
        });
        match found {
            Ok(st) => Ok(Some((st.st_dev, st.st_ino))),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Makes `to` below `to_dir` a second name of `from` (a symlink is linked itself).
    pub fn hard_link(&self, from: &str, to_dir: &Dir, to: &str) -> io::Result<()> {
        self.at(from, |from_parent, from_name| {
            to_dir.at(to, |to_parent, to_name| {
                rustix::fs::linkat(from_parent, from_name, to_parent, to_name, AtFlags::empty())
                    .map_err(err)
            })
        })
    }

    /// Creates the symlink `rel` pointing at `target`.
    pub fn symlink(&self, target: &str, rel: &str) -> io::Result<()> {
        self.at(rel, |parent, name| {
            rustix::fs::symlinkat(target, parent, name).map_err(err)
        })
    }

    /// Where the symlink `rel` points.
    pub fn read_link(&self, rel: &str) -> io::Result<String> {
        let target = self.at(rel, |parent, name| {
            rustix::fs::readlinkat(parent, name, Vec::new()).map_err(err)
        })?;
        Ok(OsStr::from_bytes(target.as_bytes())
            .to_string_lossy()
            .into_owned())
    }

    /// Removes the file or symlink `rel`.
    pub fn remove_file(&self, rel: &str) -> io::Result<()> {
        self.at(rel, |parent, name| {
            rustix::fs::unlinkat(parent, name, AtFlags::empty()).map_err(err)
        })
    }

    /// Removes the empty folder `rel`.
    pub fn remove_dir(&self, rel: &str) -> io::Result<()> {
        self.at(rel, |parent, name| {
            rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR).map_err(err)
        })
    }

    /// Removes what stands at `rel` (a file, a symlink or an empty folder) if anything does;
    /// says whether something was removed.
    pub fn remove_if_exists(&self, rel: &str) -> io::Result<bool> {
        let result = match self.meta_of(rel)? {
            None => return Ok(false),
            Some(meta) if meta.kind == Kind::Dir => self.remove_dir(rel),
            Some(_) => self.remove_file(rel),
        };
        match result {
            Ok(()) => Ok(true),
            Err(e) if is_absent(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes `rel` and everything below it, never following a symlink.
    pub fn remove_all(&self, rel: &str) -> io::Result<()> {
        match self.meta_of(rel)? {
            None => Ok(()),
            Some(meta) if meta.kind == Kind::Dir => {
                let dir = self.open_dir(rel)?;
                for name in dir.names()? {
                    dir.remove_all(&name)?;
                }
                drop(dir);
                self.remove_dir(rel)
            }
            Some(_) => self.remove_file(rel),
        }
    }

    /// The names in this folder, sorted.
    pub fn names(&self) -> io::Result<Vec<String>> {
        let mut dir = rustix::fs::Dir::read_from(&self.fd).map_err(err)?;
        let mut names = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(err)?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            names.push(OsStr::from_bytes(name).to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    /// fsyncs the folder, so entries created, renamed or removed in it survive a power cut.
    pub fn sync(&self) -> io::Result<()> {
        rustix::fs::fsync(&self.fd).map_err(err)
    }

    /// fsyncs the folder `rel` below this one.
    pub fn sync_dir(&self, rel: &str) -> io::Result<()> {
        self.open_dir(rel)?.sync()
    }

    /// Flushes every dirty page of the file system holding the folder.
    pub fn sync_filesystem(&self) -> io::Result<()> {
        rustix::fs::syncfs(&self.fd).map_err(err)
    }

    /// What the file system holding the folder offers.
    pub fn space(&self) -> io::Result<Space> {
        let st = rustix::fs::fstatvfs(&self.fd).map_err(err)?;
        Ok(Space {
            free: st.f_bavail.saturating_mul(st.f_frsize),
            block_size: st.f_frsize.max(512),
            read_only: st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
            // /proc, /sys and their kind report no blocks at all: they hold no files.
            virtual_fs: st.f_blocks == 0,
        })
    }

    /// Whether this process may create entries in the folder.
    pub fn writable(&self) -> bool {
        rustix::fs::accessat(
            &self.fd,
            ".",
            rustix::fs::Access::WRITE_OK,
            AtFlags::EACCESS,
        )
        .is_ok()
    }

    /// Writes `bytes` with exactly `mode` to a temp file beside `rel` (`.NAME.ksn-tmp`,
    /// created with `O_EXCL`, never a planted one) and fsyncs it; returns its name for
    /// [`Dir::put_in_place`]. A temp file a killed run left is ours and is replaced; anything
    /// else standing there (a symlink, a folder) is refused.
    pub fn write_temp(&self, rel: &str, bytes: &[u8], mode: u32) -> io::Result<String> {
        use std::io::Write as _;
        let tmp = tmp_name(rel);
        if let Some(meta) = self.meta_of(&tmp)?
            && meta.kind == Kind::File
        {
            self.remove_file(&tmp)?;
        }
        let mut file = self.create_new(&tmp, mode)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(tmp)
    }

    /// Renames the temp file `tmp` over `rel` and fsyncs the folder: after a power cut the
    /// record is the old one or the new one, never torn.
    pub fn put_in_place(&self, tmp: &str, rel: &str) -> io::Result<()> {
        self.rename(tmp, self, rel)?;
        self.at(rel, |parent, _| rustix::fs::fsync(parent).map_err(err))
    }

    /// Replaces the record `rel` atomically with `bytes` and exactly `mode`.
    pub fn replace(&self, rel: &str, bytes: &[u8], mode: u32) -> io::Result<()> {
        let tmp = self.write_temp(rel, bytes, mode)?;
        self.put_in_place(&tmp, rel)
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The temp name used while replacing `rel`: `.NAME.ksn-tmp` beside it.
pub fn tmp_name(rel: &str) -> String {
    match rel.rsplit_once('/') {
        Some((parent, name)) => format!("{parent}/.{name}{}", crate::base::durable::TMP_SUFFIX),
        None => format!(".{rel}{}", crate::base::durable::TMP_SUFFIX),
    }
}

/// Whether an error means "nothing stands there" (or a file stands where a folder of the path
/// should be).
pub fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Keeps `fd` only when it is a regular file.
fn regular(fd: OwnedFd, shown: &str) -> io::Result<File> {
    let st = rustix::fs::fstat(&fd).map_err(err)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("\"{shown}\" is not a regular file"),
        ));
    }
    Ok(File::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> (tempfile::TempDir, Dir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        (tmp, dir)
    }

    #[test]
    fn refuses_a_symlink_anywhere_on_the_way() {
        let (tmp, dir) = scratch();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("link")).unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        assert!(dir.open_read("link/secret").is_err());
        assert!(dir.create_new("link/planted", 0o644).is_err());
        assert!(dir.create_dir("link/d", 0o755).is_err());
        assert!(!outside.path().join("planted").exists());
        // The last component: a symlink to a file is never opened through.
        std::os::unix::fs::symlink(outside.path().join("secret"), tmp.path().join("s")).unwrap();
        assert!(dir.open_read("s").is_err());
        assert!(dir.open_append("s", 0o644).is_err());
        assert!(dir.set_mode("s", 0o777).is_err());
        // Removing the link removes the link, not what it points at.
        dir.remove_file("s").unwrap();
        assert!(outside.path().join("secret").exists());
    }

    #[test]
    fn refuses_paths_that_are_not_below() {
        let (_tmp, dir) = scratch();
        for bad in ["", "/etc/passwd", "../x", "a/../b", "./a", "a//b"] {
            assert!(dir.open_read(bad).is_err(), "{bad}");
            assert!(dir.create_new(bad, 0o644).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_walk_refuses_what_openat2_refuses() {
        let (tmp, dir) = scratch();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("link")).unwrap();
        std::fs::create_dir(tmp.path().join("d")).unwrap();
        std::fs::write(tmp.path().join("d/f"), "x").unwrap();
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        assert!(dir.walk("link/x", flags, Mode::empty()).is_err());
        assert!(dir.walk("d/f", flags, Mode::empty()).is_ok());
    }

    #[test]
    fn modes_are_exact_whatever_the_umask() {
        let (tmp, dir) = scratch();
        let old = rustix::process::umask(Mode::from_raw_mode(0o077));
        dir.create_dir("d", 0o755).unwrap();
        let file = dir.create_new("d/f", 0o644).unwrap();
        drop(file);
        rustix::process::umask(old);
        let mode = |p: &str| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::symlink_metadata(tmp.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        assert_eq!(mode("d"), 0o755);
        assert_eq!(mode("d/f"), 0o644);
    }

    #[test]
    fn replace_refuses_a_planted_temp_symlink() {
        let (tmp, dir) = scratch();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, tmp.path().join(".r.ksn-tmp")).unwrap();
        assert!(dir.replace("r", b"new", 0o644).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        dir.remove_file(".r.ksn-tmp").unwrap();
        dir.replace("r", b"new", 0o644).unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("r")).unwrap(),
            "new"
        );
    }

    #[test]
    fn remove_all_never_follows_a_symlink() {
        let (tmp, dir) = scratch();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), "x").unwrap();
        std::fs::create_dir_all(tmp.path().join("t/sub")).unwrap();
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("t/sub/link")).unwrap();
        dir.remove_all("t").unwrap();
        assert!(!tmp.path().join("t").exists());
        assert!(outside.path().join("keep").exists());
    }
}
