//! The log of a run: every engine event and every error with its causes, a line per line of
//! text, each stamped with the time, appended to the file a front end chose.
//!
//! The wizards log by default to a folder of the user's own, never to a shared temp folder
//! where another user could plant a symlink by the name: `/var/log/ksn-setup/` when run as
//! root, `$XDG_STATE_HOME/ksn-setup/` (by default `~/.local/state/ksn-setup/`) otherwise,
//! made mode 0700 when missing. Every log, the default one or `--log FILE`, is opened with
//! `O_NOFOLLOW` (a symlink there is refused, not written through), must be a regular file of
//! this user's, and is created mode 0600.
//!
//! Two formats ([`LogFormat`], chosen once per process with `--log-format`): text, a line
//! per line of text; or JSON lines, one object per event (`at`, `event`, `message`, and the
//! counts of a progress event or the causes of an error), for log collectors.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::base::dir::{Dir, Meta};
use crate::engine::progress::Event;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `TIME text`, a line per line of text.
    Text,
    /// One JSON object a line.
    Json,
}

static JSON_LINES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Chooses the format of every log this process writes.
pub fn set_format(format: LogFormat) {
    JSON_LINES.store(
        format == LogFormat::Json,
        std::sync::atomic::Ordering::Relaxed,
    );
}

fn json_lines() -> bool {
    JSON_LINES.load(std::sync::atomic::Ordering::Relaxed)
}

/// The file name of the wizards' log in [`default_dir`].
const DEFAULT_NAME: &str = "setup.log";

/// Where the wizards log when no `--log` is given.
pub fn default_dir() -> PathBuf {
    if crate::base::ownership::euid() == 0 {
        return PathBuf::from("/var/log/ksn-setup");
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("/nonexistent"));
    state.join("ksn-setup")
}

/// The wizards' default log file, its folder created (mode 0700) when missing; the folder
/// must be this user's and writable by nobody else.
pub fn default_path() -> anyhow::Result<PathBuf> {
    let dir = default_dir();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create the log folder \"{}\"", dir.display()))?;
    let handle = Dir::open(&dir)
        .with_context(|| format!("cannot open the log folder \"{}\"", dir.display()))?;
    crate::base::ownership::check_dir(&handle)?;
    Ok(dir.join(DEFAULT_NAME))
}

/// Opens the log at `path` for appending: through a handle of its folder (whose symlinks
/// are resolved once), never through a symlink at its name, only a regular file of this
/// user's (or root's), created mode 0600.
pub fn open(path: &Path) -> anyhow::Result<File> {
    let shown = path.display();
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("cannot use \"{shown}\" as the log: it names no file"))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let folder = std::fs::canonicalize(parent)
        .and_then(|real| Dir::open(&real))
        .with_context(|| format!("cannot open the folder of the log file \"{shown}\""))?;
    let (file, _) = folder
        .open_append(name, 0o600)
        .with_context(|| format!("cannot open the log file \"{shown}\""))?;
    let meta = Meta::of_file(&file)?;
    if meta.uid != 0 && meta.uid != crate::base::ownership::euid() {
        anyhow::bail!("cannot use \"{shown}\" as the log: it belongs to another user");
    }
    // A second name for the file would let whoever made it point the log at another file.
    if std::os::unix::fs::MetadataExt::nlink(&file.metadata()?) > 1 {
        anyhow::bail!("cannot use \"{shown}\" as the log: it has another name (a hard link)");
    }
    Ok(file)
}

fn stamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Appends one event to a log file, a line per line of text, each with a timestamp, or as
/// one JSON line.
pub fn write_log(file: &mut File, event: &Event) {
    if json_lines() {
        let (kind, message, counts) = match event {
            Event::Phase(p) => ("phase", p.describe().to_string(), None),
            Event::Step(s) => ("step", s.clone(), None),
            Event::Progress {
                files_done,
                files_total,
                bytes_done,
                current,
                ..
            } => (
                "progress",
                current.display().to_string(),
                Some((*files_done, *files_total, *bytes_done)),
            ),
            Event::Notice(n) => ("notice", n.clone(), None),
        };
        let mut line = serde_json::json!({"at": stamp(), "event": kind, "message": message});
        if let Some((files_done, files_total, bytes_done)) = counts {
            line["files_done"] = files_done.into();
            line["files_total"] = files_total.into();
            line["bytes_done"] = bytes_done.into();
        }
        let _ = writeln!(file, "{line}");
        return;
    }
    let text = match event {
        Event::Phase(p) => format!("phase: {}", p.describe()),
        Event::Step(s) => s.clone(),
        Event::Progress {
            files_done,
            files_total,
            bytes_done,
            current,
            ..
        } => {
            format!(
                "copied {} ({files_done}/{files_total} files, {bytes_done} bytes)",
                current.display()
            )
        }
        Event::Notice(n) => format!("notice: {n}"),
    };
    for line in text.lines() {
        let _ = writeln!(file, "{} {line}", stamp());
    }
}

/// Appends an error and each of its causes to the log.
pub fn log_error(path: &Path, err: &anyhow::Error) {
    if let Ok(mut file) = open(path) {
        if json_lines() {
            let causes: Vec<String> = err.chain().skip(1).map(|c| c.to_string()).collect();
            let line = serde_json::json!({
                "at": stamp(),
                "event": "error",
                "message": err.to_string(),
                "causes": causes,
            });
            let _ = writeln!(file, "{line}");
            return;
        }
        let _ = writeln!(file, "{} error: {err}", stamp());
        for cause in err.chain().skip(1) {
            for line in cause.to_string().lines() {
                let _ = writeln!(file, "{}   caused by: {line}", stamp());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_log_is_never_opened_through_a_symlink_or_a_second_name() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "keep\n").unwrap();
        let link = tmp.path().join("symlinked.log");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(open(&link).is_err());
        let hard = tmp.path().join("hard.log");
        std::fs::hard_link(&victim, &hard).unwrap();
        assert!(open(&hard).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep\n");
        let fresh = tmp.path().join("fresh.log");
        let mut file = open(&fresh).unwrap();
        write_log(&mut file, &Event::Step("hello".into()));
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(std::fs::read_to_string(&fresh).unwrap().contains("hello"));
    }
}
