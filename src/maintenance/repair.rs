//! Repair of an installed product: every receipt entry checked against the disk, and the
//! damaged ones restored from a bundle of the installed version, as pure work;
//! [`crate::engine::executor::maintain`] runs it as a journaled transaction, so a failure or a
//! kill puts the folder back as it was.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::bail;
use sha2::{Digest, Sha256};

use crate::base::paths::RelPath;
use crate::bundle::contents::Bundle;
use crate::bundle::entry::EntryKind;
use crate::engine::executor::Work;
use crate::engine::plan::Op;
use crate::engine::receipt::{ReceiptEntry, ReceiptKind};
use crate::maintenance::installed::InstalledProduct;

/// Why an installed path needs restoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    Missing,
    /// A file whose bytes differ from the receipt's SHA-256.
    Changed,
    /// Right bytes, wrong permission bits.
    Mode {
        found: u32,
    },
    /// Something else stands there (a file for a folder, a symlink for a file...).
    Kind,
    /// A symlink pointing somewhere else.
    Target,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::Missing => f.write_str("missing"),
            Damage::Changed => f.write_str("changed"),
            Damage::Mode { found } => write!(f, "mode {found:o}"),
            Damage::Kind => f.write_str("replaced by something else"),
            Damage::Target => f.write_str("points elsewhere"),
        }
    }
}

/// Checks one receipt entry against the disk.
pub fn check_entry(dir: &Path, entry: &ReceiptEntry) -> std::io::Result<Option<Damage>> {
    let path = entry.path.under(dir);
    let meta = match fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(Damage::Missing)),
        Err(e) => return Err(e),
    };
    let ft = meta.file_type();
    let mode = meta.permissions().mode() & 0o7777;
    Ok(match entry.kind {
        ReceiptKind::Dir if !ft.is_dir() => Some(Damage::Kind),
        ReceiptKind::Dir => None,
        ReceiptKind::Symlink if !ft.is_symlink() => Some(Damage::Kind),
        ReceiptKind::Symlink => {
            let target = fs::read_link(&path)?;
            (Some(target.to_string_lossy().as_ref()) != entry.target.as_deref())
                .then_some(Damage::Target)
        }
        ReceiptKind::File if !ft.is_file() => Some(Damage::Kind),
        ReceiptKind::File => {
            if Some(meta.len()) != entry.size || sha256_file(&path)? != entry.sha256 {
                Some(Damage::Changed)
            } else if mode != entry.mode {
                Some(Damage::Mode { found: mode })
            } else {
                None
            }
        }
    })
}

fn sha256_file(path: &Path) -> std::io::Result<Option<String>> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut fs::File::open(path)?, &mut hasher)?;
    Ok(Some(hex::encode(hasher.finalize())))
}

/// What a repair found and restores.
#[derive(Debug, Clone)]
pub struct RepairPlan {
    pub work: Work,
    /// Each damaged path and what was wrong, in receipt order.
    pub damaged: Vec<(RelPath, Damage)>,
}

/// Works out the repair of `installed` from `bundle`, which must carry the installed version
/// of every damaged file (the same installer, or one of the same version). `None` when
/// nothing is damaged.
pub fn plan_repair(
    installed: &InstalledProduct,
    bundle: &Bundle,
    now: &str,
) -> anyhow::Result<Option<RepairPlan>> {
    let dir = &installed.dir;
    let mut damaged = Vec::new();
    for entry in &installed.receipt.entries {
        if let Some(damage) = check_entry(dir, entry)? {
            damaged.push((entry, damage));
        }
    }
    if damaged.is_empty() {
        return Ok(None);
    }
    let mut ops = Vec::new();
    let mut installs = Vec::new();
    let mut unavailable = Vec::new();
    for (entry, damage) in &damaged {
        let index = bundle.entries.iter().position(|e| e.path == entry.path);
        let same = index.is_some_and(|i| {
            let bundled = &bundle.entries[i];
            match (&bundled.kind, entry.kind) {
                (EntryKind::Dir, ReceiptKind::Dir) => true,
                (EntryKind::File { sha256, .. }, ReceiptKind::File) => {
                    // A payload folder's files are hashed only when read.
                    let sha256 = match sha256 {
                        Some(known) => Some(hex::encode(known)),
                        None => bundle.read_file(i).ok().and_then(|mut r| {
                            let mut hasher = Sha256::new();
                            std::io::copy(&mut r, &mut hasher).ok()?;
                            Some(hex::encode(hasher.finalize()))
                        }),
                    };
                    sha256 == entry.sha256 && bundled.mode == entry.mode
                }
                (EntryKind::Symlink { target }, ReceiptKind::Symlink) => {
                    Some(target.as_str()) == entry.target.as_deref()
                }
                _ => false,
            }
        });
        if entry.kind == ReceiptKind::Dir && *damage == Damage::Missing {
            ops.push(Op::CreateDir {
                path: entry.path.clone(),
                mode: entry.mode,
            });
            continue;
        }
        if entry.kind == ReceiptKind::Dir {
            // A file or link where our folder was: not ours to delete; say so.
            bail!(
                "\"{}\" should be a folder but something else stands there; move it away and repair again",
                entry.path
            );
        }
        let Some(index) = index.filter(|_| same) else {
            unavailable.push(entry.path.to_string());
            continue;
        };
        // A folder where our file was (with whatever the user put in it) is not removed; a
        // file or symlink in the wrong place is replaced like a changed file.
        if *damage == Damage::Kind
            && fs::symlink_metadata(entry.path.under(dir)).is_ok_and(|m| m.is_dir())
        {
            bail!(
                "\"{}\" should be a file but a folder stands there; move it away and repair again",
                entry.path
            );
        }
        installs.push(Op::Install {
            path: entry.path.clone(),
            entry: index,
            replaces: *damage != Damage::Missing,
        });
    }
    if !unavailable.is_empty() {
        bail!(
            "this installer ({} {}) does not carry the installed version ({}) of: {}; repair with the installer the product was installed from",
            bundle.product.name,
            bundle.product.version,
            installed.receipt.product_version,
            unavailable.join(", ")
        );
    }
    if !installs.is_empty() {
        ops.push(Op::Stage);
        ops.extend(installs);
    }
    let work = Work::on_installed("repair", ops, &installed.receipt, now);
    Ok(Some(RepairPlan {
        work,
        damaged: damaged
            .into_iter()
            .map(|(e, d)| (e.path.clone(), d))
            .collect(),
    }))
}
