//! Bundle paths: relative, normalized, UTF-8, and never reaching outside the target.
//!
//! Every path in a bundle is checked here before anything is written (fail closed). A path is
//! kept as a `/`-separated string so it means the same in a manifest, a receipt and a journal.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use thiserror::Error;

use crate::base::layout;

/// A path inside the target, relative and normalized (`bin/ksn-demo`, never `./x`, `a//b`,
/// `../x` or `/x`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct RelPath(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PathError {
    #[error("path \"{0}\" is empty")]
    Empty(String),
    #[error("path \"{0}\" is absolute; bundle paths must be relative to the install folder")]
    Absolute(String),
    #[error("path \"{0}\" contains \"..\" and could leave the install folder")]
    ParentDir(String),
    #[error("path \"{0}\" is not normalized (empty, \".\" or backslash component)")]
    NotNormalized(String),
    #[error("path \"{0}\" is reserved for ksn-setup")]
    Reserved(String),
    #[error(
        "symlink \"{path}\" points to \"{target}\", which is absolute or leaves the install folder"
    )]
    SymlinkEscapes { path: String, target: String },
}

/// Paths the installer writes itself; a payload may not contain them.
const RESERVED: &[&str] = &["etc/product.toml", "etc/consent-log.jsonl"];

impl RelPath {
    /// Checks `raw` and returns it as a bundle path.
    pub fn new(raw: &str) -> Result<Self, PathError> {
        if raw.is_empty() {
            return Err(PathError::Empty(raw.into()));
        }
        if raw.starts_with('/') {
            return Err(PathError::Absolute(raw.into()));
        }
        for part in raw.split('/') {
            match part {
                ".." => return Err(PathError::ParentDir(raw.into())),
                "" | "." => return Err(PathError::NotNormalized(raw.into())),
                p if p.contains('\\') || p.contains('\0') => {
                    return Err(PathError::NotNormalized(raw.into()));
                }
                _ => {}
            }
        }
        Ok(RelPath(raw.to_string()))
    }

    /// Like [`RelPath::new`], and also refuses the installer's own paths.
    pub fn payload(raw: &str) -> Result<Self, PathError> {
        let path = Self::new(raw)?;
        let first = raw.split('/').next().unwrap_or_default();
        if first == layout::STATE_DIR || RESERVED.contains(&raw) {
            return Err(PathError::Reserved(raw.into()));
        }
        Ok(path)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path under `root`.
    pub fn under(&self, root: &Path) -> PathBuf {
        root.join(&self.0)
    }

    /// The parent path, `None` at the top.
    pub fn parent(&self) -> Option<RelPath> {
        self.0.rsplit_once('/').map(|(p, _)| RelPath(p.to_string()))
    }

    /// Every proper ancestor, outermost first: `a/b/c` gives `a`, `a/b`.
    pub fn ancestors(&self) -> Vec<RelPath> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(i) = self.0[at..].find('/') {
            out.push(RelPath(self.0[..at + i].to_string()));
            at += i + 1;
        }
        out
    }

    /// Checks that a symlink stored at this path with `target` stays inside the install folder
    /// when resolved lexically from the link's own folder.
    pub fn check_symlink_target(&self, target: &str) -> Result<(), PathError> {
        let escapes = || PathError::SymlinkEscapes {
            path: self.0.clone(),
            target: target.to_string(),
        };
        if target.is_empty() || Path::new(target).is_absolute() {
            return Err(escapes());
        }
        // Depth of the folder holding the link; each `..` climbs one level.
        let mut depth: i64 = self.0.matches('/').count() as i64;
        for component in Path::new(target).components() {
            match component {
                Component::ParentDir => depth -= 1,
                Component::Normal(_) => depth += 1,
                Component::CurDir => {}
                _ => return Err(escapes()),
            }
            if depth < 0 {
                return Err(escapes());
            }
        }
        Ok(())
    }
}

/// A folder as a person types it: `~` and `~/…` mean the home folder (`$HOME`), as in a
/// shell; anything else is taken as written.
pub fn expand_home(typed: &str) -> PathBuf {
    let home = || {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    };
    match typed.strip_prefix('~') {
        Some("") => home().unwrap_or_else(|| PathBuf::from(typed)),
        Some(rest) if rest.starts_with('/') => match home() {
            Some(home) => home.join(rest.trim_start_matches('/')),
            None => PathBuf::from(typed),
        },
        _ => PathBuf::from(typed),
    }
}

impl TryFrom<String> for RelPath {
    type Error = PathError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        RelPath::new(&value)
    }
}

impl From<RelPath> for String {
    fn from(value: RelPath) -> Self {
        value.0
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_normal_relative_paths() {
        assert!(RelPath::new("bin/ksn-demo").is_ok());
        assert!(RelPath::new("a").is_ok());
    }

    #[test]
    fn refuses_escapes_and_unnormalized_paths() {
        assert!(matches!(RelPath::new("../x"), Err(PathError::ParentDir(_))));
        assert!(matches!(
            RelPath::new("a/../../x"),
            Err(PathError::ParentDir(_))
        ));
        assert!(matches!(
            RelPath::new("/etc/passwd"),
            Err(PathError::Absolute(_))
        ));
        assert!(matches!(
            RelPath::new("a//b"),
            Err(PathError::NotNormalized(_))
        ));
        assert!(matches!(
            RelPath::new("./a"),
            Err(PathError::NotNormalized(_))
        ));
        assert!(matches!(
            RelPath::new("a/"),
            Err(PathError::NotNormalized(_))
        ));
        assert!(matches!(RelPath::new(""), Err(PathError::Empty(_))));
    }

    #[test]
    fn refuses_reserved_payload_paths() {
        assert!(RelPath::payload("etc/product.toml").is_err());
        assert!(RelPath::payload(".ksn-setup/receipt.toml").is_err());
        assert!(RelPath::payload("etc/ksn-demo/scan.conf").is_ok());
    }

    #[test]
    fn symlinks_must_stay_inside() {
        let link = RelPath::new("bin/kav").unwrap();
        assert!(link.check_symlink_target("ksn-demo").is_ok());
        assert!(link.check_symlink_target("../lib/x").is_ok());
        assert!(link.check_symlink_target("../../x").is_err());
        assert!(link.check_symlink_target("/usr/bin/x").is_err());
        let top = RelPath::new("kav").unwrap();
        assert!(top.check_symlink_target("../x").is_err());
    }

    #[test]
    fn ancestors_outermost_first() {
        let p = RelPath::new("a/b/c").unwrap();
        let names: Vec<_> = p.ancestors().iter().map(|a| a.to_string()).collect();
        assert_eq!(names, ["a", "a/b"]);
    }
}
