//! The menu entries and the icon of an installed product, after install: what repair restores
//! and what uninstall removes, worked out from the receipt's `[menu]` record and the menu
//! folder as it is now ([`crate::engine::desktop`]).

use std::path::PathBuf;

use anyhow::Context as _;
use sha2::{Digest, Sha256};

use crate::base::dir::{Dir, Kind};
use crate::base::ownership;
use crate::engine::desktop::{self, MenuFile};
use crate::engine::plan::Op;
use crate::engine::receipt::Receipt;
use crate::engine::target::still_ours;
use crate::maintenance::repair::Damage;

/// Menu operations for a piece of maintenance work, and what they need.
#[derive(Debug, Default)]
pub struct MenuWork {
    pub ops: Vec<Op>,
    pub dir: Option<PathBuf>,
    pub files: Vec<MenuFile>,
    /// For repair: each damaged menu file (shown as its full path) and what was wrong.
    pub damaged: Vec<(String, Damage)>,
}

/// Opens the receipt's menu folder; `None` when the install added no entries, or the
/// folder is gone (nothing of ours is left there).
fn open(receipt: &Receipt) -> anyhow::Result<Option<(Dir, &crate::engine::receipt::MenuRecord)>> {
    let Some(record) = &receipt.menu else {
        return Ok(None);
    };
    if std::fs::symlink_metadata(&record.dir).is_err() {
        return Ok(None);
    }
    Ok(Some((ownership::open_checked(&record.dir)?, record)))
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Uninstall: every menu file the receipt lists that is still the one the install wrote
/// (one another install has since rewritten is its, and stays), then the folders the
/// installs created, deepest first, when empty.
pub fn plan_removal(receipt: &Receipt) -> anyhow::Result<MenuWork> {
    let Some(ours) = receipt.menu.as_ref().map(still_ours).transpose()?.flatten() else {
        return Ok(MenuWork::default());
    };
    let mut ops: Vec<Op> = ours
        .files
        .into_iter()
        .map(|path| Op::RemoveMenuFile { path })
        .collect();
    ops.extend(ours.dirs.into_iter().map(|path| Op::RemoveMenuDir { path }));
    Ok(MenuWork {
        ops,
        dir: Some(ours.dir),
        ..MenuWork::default()
    })
}

/// Repair: every menu file the receipt lists, checked against the bytes this ksn-setup
/// makes for the product in `install_dir`; a missing or changed one is written again (with
/// the folders it needs). A file whose recorded hash this ksn-setup would not write (made by
/// another version) is reported, not rewritten.
pub fn plan_repair(receipt: &Receipt, install_dir: &std::path::Path) -> anyhow::Result<MenuWork> {
    let Some(record) = &receipt.menu else {
        return Ok(MenuWork::default());
    };
    let menu = match open(receipt)? {
        Some((menu, _)) => menu,
        None => anyhow::bail!(
            "the folder of the menu entries, \"{}\", is gone; create it and repair again",
            record.dir.display()
        ),
    };
    let rendered =
        desktop::render(&receipt.product_name, install_dir).map_err(anyhow::Error::msg)?;
    let mut work = MenuWork {
        dir: Some(record.dir.clone()),
        ..MenuWork::default()
    };
    let mut missing_dirs = Vec::new();
    let mut writes = Vec::new();
    for file in &record.files {
        let damage = match menu.meta_of(&file.path)? {
            None => Damage::Missing,
            Some(m) if m.kind != Kind::File => Damage::Kind,
            Some(_) => {
                let bytes = menu
                    .read_optional(&file.path, desktop::MAX_FILE)
                    .with_context(|| format!("cannot read \"{}\"", menu.display(&file.path)))?;
                if bytes.is_some_and(|b| sha256(&b) == file.sha256) {
                    continue;
                }
                Damage::Changed
            }
        };
        let fresh = rendered
            .iter()
            .find(|r| r.path == file.path && sha256(&r.bytes) == file.sha256)
            .with_context(|| {
                format!(
                    "\"{}\" is {damage}, and this ksn-setup does not make the version the install wrote; repair with the installer the product was installed from",
                    menu.display(&file.path)
                )
            })?;
        if damage == Damage::Kind
            && menu
                .meta_of(&file.path)?
                .is_some_and(|m| m.kind == Kind::Dir)
        {
            anyhow::bail!(
                "\"{}\" should be a file but a folder stands there; move it away and repair again",
                menu.display(&file.path)
            );
        }
        for dir in desktop::DIRS {
            let needed = file.path.starts_with(&format!("{dir}/"));
            if needed && !missing_dirs.contains(&dir) && menu.meta_of(dir)?.is_none() {
                missing_dirs.push(dir);
            }
        }
        writes.push(Op::WriteMenuFile {
            path: file.path.clone(),
            replaces: damage != Damage::Missing,
        });
        work.files.push(fresh.clone());
        work.damaged
            .push((menu.display(&file.path).to_string(), damage));
    }
    missing_dirs.sort_by_key(|d| desktop::DIRS.iter().position(|k| k == d));
    work.ops.extend(
        missing_dirs
            .into_iter()
            .map(|d| Op::CreateMenuDir { path: d.into() }),
    );
    work.ops.extend(writes);
    Ok(work)
}
