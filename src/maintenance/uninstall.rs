//! Uninstall of an installed product, as pure work made from the receipt: remove exactly what
//! was installed, then the folders left empty; [`crate::engine::executor::maintain`] runs it
//! as a journaled transaction, so a failure or a kill puts the folder back as it was.

use crate::base::dir::{Dir, Kind};
use crate::base::layout;
use crate::base::paths::RelPath;
use crate::engine::executor::Work;
use crate::engine::plan::Op;
use crate::engine::receipt::ReceiptKind;
use crate::maintenance::installed::InstalledProduct;

/// Whether uninstall keeps the config and the consent log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Records {
    /// Keep `etc/product.toml` and `etc/consent-log.jsonl` (the default: the consent history
    /// is the proof of what was agreed, and a reinstall finds the settings).
    Keep,
    Remove,
}

/// Works out the uninstall of `installed`: every file and symlink the receipt lists, then
/// its folders deepest first (a folder holding files the user added is kept, with them),
/// then the records as asked, the menu entries and the icon, and the receipt last.
pub fn plan_uninstall(
    root: &Dir,
    installed: &InstalledProduct,
    records: Records,
    now: &str,
) -> anyhow::Result<Work> {
    let mut ops = Vec::new();
    let meta = |path: &RelPath| root.meta_of(path.as_str());
    let exists = |path: &RelPath| meta(path).map(|m| m.is_some());
    for entry in &installed.receipt.entries {
        if entry.kind != ReceiptKind::Dir && exists(&entry.path)? {
            ops.push(Op::RemoveObsolete {
                path: entry.path.clone(),
            });
        }
    }
    if records == Records::Remove {
        for record in [layout::CONFIG, layout::CONSENT_LOG] {
            let path = RelPath::new(record).expect("valid path");
            if exists(&path)? {
                ops.push(Op::RemoveObsolete { path });
            }
        }
    }
    let mut dirs = Vec::new();
    for entry in installed
        .receipt
        .entries
        .iter()
        .filter(|e| e.kind == ReceiptKind::Dir)
    {
        if meta(&entry.path)?.is_some_and(|m| m.kind == Kind::Dir) {
            dirs.push(entry);
        }
    }
    dirs.sort_by_key(|e| std::cmp::Reverse(e.path.as_str().matches('/').count()));
    for entry in dirs {
        ops.push(Op::RemoveObsoleteDir {
            path: entry.path.clone(),
            mode: entry.mode,
        });
    }
    let menu = crate::maintenance::menu::plan_removal(&installed.receipt)?;
    ops.extend(menu.ops);
    ops.push(Op::RemoveObsolete {
        path: RelPath::new(layout::RECEIPT).expect("valid path"),
    });
    let mut work = Work::on_installed("uninstall", ops, &installed.receipt, now);
    work.menu_dir = menu.dir;
    Ok(work)
}
