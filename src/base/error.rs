//! Exit codes and the shared shape of "this file is wrong here" errors.
//!
//! Modules return their own error enums; `main` turns any error into an exit code by looking
//! through its chain for the kinds below, so the code a script sees is decided in one place.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// What a run's exit status means. Documented in README; scripts rely on these numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    /// Installed (or recovered, or nothing to do).
    Success = 0,
    /// Failed; everything was rolled back and the target is as it was.
    Failed = 1,
    /// Bad input: arguments, answers file, bundle or statements. Nothing was written.
    BadInput = 2,
    /// Cancelled by the user; everything was rolled back.
    Cancelled = 3,
    /// Failed, and the rollback could not undo everything; the message lists what is left.
    RollbackIncomplete = 4,
    /// The same version is installed but damaged (files missing or changed); nothing was
    /// changed. `install --repair` or `repair` restores it.
    Damaged = 5,
}

impl ExitStatus {
    /// The status for a code a front end returned; unknown codes are failures.
    pub fn from_code(code: u8) -> ExitStatus {
        match code {
            0 => ExitStatus::Success,
            2 => ExitStatus::BadInput,
            3 => ExitStatus::Cancelled,
            4 => ExitStatus::RollbackIncomplete,
            5 => ExitStatus::Damaged,
            _ => ExitStatus::Failed,
        }
    }
}

/// An error in a TOML file the user or the bundle gave us, located at a line and column.
#[derive(Debug, Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct TomlError {
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    pub message: String,
}

impl TomlError {
    /// Locates a deserialization error of `source` (the text of `path`).
    pub fn from_de(path: &Path, source: &str, err: &toml::de::Error) -> Self {
        let offset = err.span().map(|s| s.start).unwrap_or(0);
        Self::at(path, source, offset, err.message().trim_end().to_string())
    }

    /// An error at byte `offset` of `source`.
    pub fn at(path: &Path, source: &str, offset: usize, message: String) -> Self {
        let (line, column) = line_column(source, offset);
        TomlError {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Marks an error as bad input (exit 2): wrong arguments, answers, bundle or statements.
#[derive(Debug, Error)]
#[error(transparent)]
pub struct BadInput(#[from] pub anyhow::Error);

/// The run was cancelled (exit 3) and rolled back.
#[derive(Debug, Error)]
#[error("cancelled; every change was rolled back")]
pub struct Cancelled;

/// Rollback finished but some changes could not be undone; each string names one.
#[derive(Debug, Error)]
#[error("rollback could not undo everything:\n  - {}", .0.join("\n  - "))]
pub struct RollbackIncomplete(pub Vec<String>);

/// Picks the exit status for an error by the first known kind in its chain.
pub fn exit_status(err: &anyhow::Error) -> ExitStatus {
    for cause in err.chain() {
        if cause.is::<BadInput>()
            || cause.is::<TomlError>()
            || cause.is::<crate::base::ownership::Untrusted>()
        {
            return ExitStatus::BadInput;
        }
        if cause.is::<Cancelled>() {
            return ExitStatus::Cancelled;
        }
        if cause.is::<RollbackIncomplete>() {
            return ExitStatus::RollbackIncomplete;
        }
    }
    ExitStatus::Failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let src = "a = 1\nbb = 2\n";
        assert_eq!(line_column(src, 0), (1, 1));
        assert_eq!(line_column(src, 6), (2, 1));
        assert_eq!(line_column(src, 11), (2, 6));
    }
}
