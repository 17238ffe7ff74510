//! A bundle's entries: the paths a payload installs, and the rules a list of them must keep
//! before anything is planned (no duplicates, symlinks inside the tree, nothing stored under a
//! file or a symlink, folders before their contents).

use std::collections::BTreeMap;
use std::path::PathBuf;

use thiserror::Error;

use crate::base::paths::{PathError, RelPath};

#[derive(Debug, Error)]
pub enum BundleError {
    #[error("bundle entry is unsafe: {0}")]
    Path(#[from] PathError),
    #[error("bundle entry \"{0}\" is listed twice")]
    Duplicate(RelPath),
    #[error("bundle entry \"{path}\" is inside \"{parent}\", which is not a folder")]
    ParentNotDir { path: RelPath, parent: RelPath },
    #[error("payload entry \"{}\" is a {kind}; only files, folders and symlinks can be installed", path.display())]
    UnsupportedType { path: PathBuf, kind: &'static str },
    #[error("payload entry \"{}\" has a name that is not valid UTF-8", .0.display())]
    NotUtf8(PathBuf),
    #[error("payload folder \"{}\" does not exist or is not a folder", .0.display())]
    NoPayload(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File {
        size: u64,
        /// Expected SHA-256 when the bundle knows it; the executor checks it while copying.
        sha256: Option<[u8; 32]>,
    },
    Symlink {
        target: String,
    },
}

/// One path the payload installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: RelPath,
    pub kind: EntryKind,
    /// Permission bits (`0o755`); ignored for symlinks.
    pub mode: u32,
}

impl Entry {
    pub fn size(&self) -> u64 {
        match self.kind {
            EntryKind::File { size, .. } => size,
            _ => 0,
        }
    }
}

/// Checks a list of entries as a whole: no duplicates, every symlink inside the tree, and
/// nothing stored under a file or a symlink (which could redirect a write outside).
/// Missing parent folders are added, so the result lists folders before their contents.
pub fn check_entries(entries: Vec<Entry>) -> Result<Vec<Entry>, BundleError> {
    let mut by_path: BTreeMap<RelPath, Entry> = BTreeMap::new();
    for entry in entries {
        if let EntryKind::Symlink { target } = &entry.kind {
            entry.path.check_symlink_target(target)?;
        }
        if by_path.contains_key(&entry.path) {
            return Err(BundleError::Duplicate(entry.path));
        }
        by_path.insert(entry.path.clone(), entry);
    }
    let mut implied = Vec::new();
    for entry in by_path.values() {
        for parent in entry.path.ancestors() {
            match by_path.get(&parent) {
                Some(p) if p.kind != EntryKind::Dir => {
                    return Err(BundleError::ParentNotDir {
                        path: entry.path.clone(),
                        parent,
                    });
                }
                Some(_) => {}
                None => implied.push(Entry {
                    path: parent,
                    kind: EntryKind::Dir,
                    mode: 0o755,
                }),
            }
        }
    }
    for entry in implied {
        by_path.entry(entry.path.clone()).or_insert(entry);
    }
    // BTreeMap order on `/`-joined strings would put "a-b" between "a" and "a/b"; sort by
    // components so every folder comes before everything inside it.
    let mut out: Vec<Entry> = by_path.into_values().collect();
    out.sort_by(|a, b| a.path.as_str().split('/').cmp(b.path.as_str().split('/')));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> Entry {
        Entry {
            path: RelPath::new(path).unwrap(),
            kind: EntryKind::File {
                size: 1,
                sha256: None,
            },
            mode: 0o644,
        }
    }

    #[test]
    fn parents_come_first_and_are_implied() {
        let out = check_entries(vec![file("a/b/c"), file("a-b")]).unwrap();
        let names: Vec<_> = out.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(names, ["a", "a/b", "a/b/c", "a-b"]);
    }

    #[test]
    fn refuses_entries_under_a_symlink() {
        let link = Entry {
            path: RelPath::new("lib").unwrap(),
            kind: EntryKind::Symlink {
                target: "bin".into(),
            },
            mode: 0o777,
        };
        assert!(matches!(
            check_entries(vec![link, file("lib/x")]),
            Err(BundleError::ParentNotDir { .. })
        ));
    }

    #[test]
    fn refuses_escaping_symlinks() {
        let link = Entry {
            path: RelPath::new("bin/x").unwrap(),
            kind: EntryKind::Symlink {
                target: "../../etc/passwd".into(),
            },
            mode: 0o777,
        };
        assert!(matches!(
            check_entries(vec![link]),
            Err(BundleError::Path(_))
        ));
    }
}
