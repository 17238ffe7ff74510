//! Uninstall of an installed product, as pure work made from the receipt: remove exactly what
//! was installed, then the folders left empty; [`crate::engine::executor::maintain`] runs it
//! as a journaled transaction, so a failure or a kill puts the folder back as it was.

use std::fs;

use crate::base::layout;
use crate::base::paths::RelPath;
use crate::engine::executor::Work;
use crate::engine::plan::Op;
use crate::engine::receipt::{ReceiptEntry, ReceiptKind};
use crate::maintenance::installed::InstalledProduct;

/// Whether uninstall keeps the config and the consent log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Records {
    /// Keep `etc/product.toml` and `etc/consent-log.jsonl` (the default: the consent history
    /// is the proof of what was agreed, and a reinstall finds the settings).
    Keep,
    Remove,
}

/// Works out the uninstall of `installed`: every file and symlink the receipt lists, then
/// its folders deepest first (a folder holding files the user added is kept, with them),
/// then the records as asked, and the receipt last.
pub fn plan_uninstall(installed: &InstalledProduct, records: Records, now: &str) -> Work {
    let dir = &installed.dir;
    let mut ops = Vec::new();
    let exists = |path: &RelPath| fs::symlink_metadata(path.under(dir)).is_ok();
    for entry in &installed.receipt.entries {
        if entry.kind != ReceiptKind::Dir && exists(&entry.path) {
            ops.push(Op::RemoveObsolete {
                path: entry.path.clone(),
            });
        }
    }
    if records == Records::Remove {
        for record in [layout::CONFIG, layout::CONSENT_LOG] {
            let path = RelPath::new(record).expect("valid path");
            if exists(&path) {
                ops.push(Op::RemoveObsolete { path });
            }
        }
    }
    let mut dirs: Vec<&ReceiptEntry> = installed
        .receipt
        .entries
        .iter()
        .filter(|e| e.kind == ReceiptKind::Dir)
        .filter(|e| fs::symlink_metadata(e.path.under(dir)).is_ok_and(|m| m.is_dir()))
        .collect();
    dirs.sort_by_key(|e| std::cmp::Reverse(e.path.as_str().matches('/').count()));
    for entry in dirs {
        ops.push(Op::RemoveObsoleteDir {
            path: entry.path.clone(),
            mode: entry.mode,
        });
    }
    ops.push(Op::RemoveObsolete {
        path: RelPath::new(layout::RECEIPT).expect("valid path"),
    });
    Work::on_installed("uninstall", ops, &installed.receipt, now)
}
