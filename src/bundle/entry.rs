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
    // The lexical check above treats `link/..` as the folder holding `link`; the kernel
    // treats it as the parent of wherever `link` points. Resolve each symlink as the kernel
    // would, through the payload's other symlinks, and refuse one that leaves the tree.
    for entry in by_path.values() {
        if let EntryKind::Symlink { target } = &entry.kind {
            let folder: Vec<String> = entry
                .path
                .parent()
                .map(|p| p.as_str().split('/').map(str::to_string).collect())
                .unwrap_or_default();
            if resolve_inside(&by_path, folder, target, 0).is_none() {
                return Err(BundleError::Path(PathError::SymlinkEscapes {
                    path: entry.path.to_string(),
                    target: target.clone(),
                }));
            }
        }
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

/// Resolves `target` from the folder `from` (components below the top) the way the kernel
/// would, following the payload's symlinks on the way: the components it ends at, or `None`
/// when it climbs above the top or loops (more than 40 links, as the kernel's limit).
fn resolve_inside(
    by_path: &BTreeMap<RelPath, Entry>,
    from: Vec<String>,
    target: &str,
    depth: u32,
) -> Option<Vec<String>> {
    if depth > 40 || target.starts_with('/') {
        return None;
    }
    let mut at = from;
    for component in target.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                at.pop()?;
            }
            name => {
                at.push(name.to_string());
                let here = RelPath::new(&at.join("/")).ok()?;
                if let Some(Entry {
                    kind: EntryKind::Symlink { target: next },
                    ..
                }) = by_path.get(&here)
                {
                    at.pop();
                    at = resolve_inside(by_path, at, next, depth + 1)?;
                }
            }
        }
    }
    Some(at)
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

    fn link(path: &str, target: &str) -> Entry {
        Entry {
            path: RelPath::new(path).unwrap(),
            kind: EntryKind::Symlink {
                target: target.into(),
            },
            mode: 0o777,
        }
    }

    #[test]
    fn refuses_a_symlink_that_escapes_through_another_symlink() {
        // `p/q/up` points at the top (fine on its own), so `p/q/up/..` is above the top,
        // although `p/q/up/..` reads lexically as `p/q`.
        let out = check_entries(vec![link("p/q/up", "../.."), link("x", "p/q/up/../etc")]);
        assert!(
            matches!(
                out,
                Err(BundleError::Path(PathError::SymlinkEscapes { .. }))
            ),
            "{out:?}"
        );
        // Symlinks that stay inside through others are fine, and loops are refused.
        assert!(check_entries(vec![link("lib/a", "../share"), link("b", "lib/a/x")]).is_ok());
        assert!(check_entries(vec![link("l1", "l2"), link("l2", "l1")]).is_err());
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
