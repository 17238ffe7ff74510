//! Repair of an installed product: every receipt entry checked against the disk, and the
//! damaged ones restored from a bundle of the installed version, as pure work;
//! [`crate::engine::executor::maintain`] runs it as a journaled transaction, so a failure or a
//! kill puts the folder back as it was.

use anyhow::bail;
use sha2::{Digest, Sha256};

use crate::base::dir::{Dir, Kind};
use crate::bundle::contents::Bundle;
use crate::bundle::entry::EntryKind;
use crate::engine::executor::Work;
use crate::engine::plan::Op;
use crate::engine::receipt::{ReceiptEntry, ReceiptKind};
use crate::maintenance::installed::InstalledProduct;
use crate::tr;

/// Why an installed path needs restoring.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

impl Damage {
    /// What was wrong, in the current language.
    pub fn in_words(&self) -> String {
        match self {
            Damage::Missing => tr!("missing"),
            Damage::Changed => tr!("changed"),
            Damage::Mode { found } => tr!("wrong permissions ({})", format!("{found:o}")),
            Damage::Kind => tr!("replaced by something else"),
            Damage::Target => tr!("points elsewhere"),
        }
    }
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

/// How closely a file is compared with its receipt entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// A file with the recorded size and modification time is taken as unchanged; any other
    /// is hashed. Quick, and what a second run of the same installer does; a change that
    /// keeps both (a write followed by `touch -d`) is only found by [`Check::Full`].
    Quick,
    /// Every file is hashed (`repair`, `install --verify`).
    Full,
}

/// Checks one receipt entry against the disk, through the install folder's handle.
pub fn check_entry(
    root: &Dir,
    entry: &ReceiptEntry,
    check: Check,
) -> std::io::Result<Option<Damage>> {
    let rel = entry.path.as_str();
    let Some(meta) = root.meta_of(rel)? else {
        return Ok(Some(Damage::Missing));
    };
    Ok(match entry.kind {
        ReceiptKind::Dir if meta.kind != Kind::Dir => Some(Damage::Kind),
        ReceiptKind::Dir => None,
        ReceiptKind::Symlink if meta.kind != Kind::Symlink => Some(Damage::Kind),
        ReceiptKind::Symlink => {
            let target = root.read_link(rel)?;
            (Some(target.as_str()) != entry.target.as_deref()).then_some(Damage::Target)
        }
        ReceiptKind::File if meta.kind != Kind::File => Some(Damage::Kind),
        ReceiptKind::File => {
            let untouched = check == Check::Quick
                && Some(meta.size) == entry.size
                && entry.mtime_ns == Some(meta.mtime_ns());
            if Some(meta.size) != entry.size
                || (!untouched && Some(sha256_file(root, rel)?) != entry.sha256)
            {
                Some(Damage::Changed)
            } else if meta.mode != entry.mode {
                Some(Damage::Mode { found: meta.mode })
            } else {
                None
            }
        }
    })
}

/// The SHA-256 of bundle entry `index`, in hex: the one the bundle promises (`known`), or,
/// for a payload folder, which knows its files' hashes only once read, of its bytes now.
pub fn bundled_sha256(bundle: &Bundle, index: usize, known: Option<&[u8; 32]>) -> Option<String> {
    if let Some(known) = known {
        return Some(hex::encode(known));
    }
    let mut reader = bundle.read_file(index).ok()?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut reader, &mut hasher).ok()?;
    Some(hex::encode(hasher.finalize()))
}

fn sha256_file(root: &Dir, rel: &str) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut root.open_read(rel)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// What a repair found and restores.
#[derive(Debug, Clone)]
pub struct RepairPlan {
    pub work: Work,
    /// Each damaged path and what was wrong, in receipt order.
    /// Each damaged path (relative to the install folder, or a menu entry's full path) and
    /// what was wrong, in receipt order.
    pub damaged: Vec<(String, Damage)>,
}

/// Works out the repair of `installed` from `bundle`, which must carry the installed version
/// of every damaged file (the same installer, or one of the same version). `None` when
/// nothing is damaged.
pub fn plan_repair(
    root: &Dir,
    installed: &InstalledProduct,
    bundle: &Bundle,
    now: &str,
    check: Check,
) -> anyhow::Result<Option<RepairPlan>> {
    let mut damaged = Vec::new();
    for entry in &installed.receipt.entries {
        if let Some(damage) = check_entry(root, entry, check)? {
            damaged.push((entry, damage));
        }
    }
    let menu = crate::maintenance::menu::plan_repair(&installed.receipt, root.path())?;
    if damaged.is_empty() && menu.ops.is_empty() {
        return Ok(None);
    }
    let mut ops = Vec::new();
    let mut installs = Vec::new();
    let mut expected = std::collections::BTreeMap::new();
    let mut unavailable = Vec::new();
    for (entry, damage) in &damaged {
        let index = bundle.entries.iter().position(|e| e.path == entry.path);
        let same = index.is_some_and(|i| {
            let bundled = &bundle.entries[i];
            match (&bundled.kind, entry.kind) {
                (EntryKind::Dir, ReceiptKind::Dir) => true,
                (EntryKind::File { sha256, .. }, ReceiptKind::File) => {
                    bundled_sha256(bundle, i, sha256.as_ref()) == entry.sha256
                        && bundled.mode == entry.mode
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
            && root
                .meta_of(entry.path.as_str())?
                .is_some_and(|m| m.kind == Kind::Dir)
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
        // A payload folder's file was hashed above, when it was read for this plan; staging
        // reads it again, and must find the very bytes the receipt names.
        if let Some(sha) = entry.sha256.as_deref().and_then(|h| hex::decode(h).ok())
            && let Ok(sha) = <[u8; 32]>::try_from(sha)
        {
            expected.insert(index, sha);
        }
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
    ops.extend(menu.ops);
    let mut work = Work::on_installed("repair", ops, &installed.receipt, now);
    work.expected_sha256 = expected;
    work.menu_dir = menu.dir;
    work.menu_files = menu.files;
    Ok(Some(RepairPlan {
        work,
        damaged: damaged
            .into_iter()
            .map(|(e, d)| (e.path.to_string(), d))
            .chain(menu.damaged)
            .collect(),
    }))
}
