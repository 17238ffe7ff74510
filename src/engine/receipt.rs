//! The receipt, `.ksn-setup/receipt.toml`: every path an install put in place, with its
//! kind, size, mode and SHA-256, so repair can check it and uninstall can remove exactly it.
//! Unknown keys are kept when a receipt is read and written back by a newer ksn-setup.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::base::error::TomlError;
use crate::base::paths::RelPath;
use crate::engine::desktop;

pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub format: u32,
    pub product_name: String,
    pub product_version: String,
    pub installer_version: String,
    pub installed_at: String,
    /// The key that signed the installer, `ed25519:<hex>`, when it was signed: later installs
    /// into this folder must be signed by the same key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    #[serde(default, rename = "entry")]
    pub entries: Vec<ReceiptEntry>,
    /// The menu entries and the icon outside the install folder, when the install added them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menu: Option<MenuRecord>,
    /// Keys written by a newer ksn-setup, kept as they were.
    #[serde(flatten)]
    pub unknown: toml::Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptKind {
    Dir,
    File,
    Symlink,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptEntry {
    pub path: RelPath,
    pub kind: ReceiptKind,
    /// Permission bits, e.g. 493 for 0o755.
    pub mode: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// A file's modification time when it was installed, in nanoseconds since the epoch: a
    /// later install of the same version takes a file with this time and its size as
    /// unchanged without hashing it (`--verify` hashes every file). Absent in receipts of
    /// earlier versions, whose files are always hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ns: Option<i64>,
}

/// What an install put below a menu folder ([`crate::engine::desktop`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuRecord {
    /// The menu folder, absolute.
    pub dir: PathBuf,
    /// The folders below it the installs created (removed by uninstall when empty).
    #[serde(default)]
    pub dirs: Vec<String>,
    #[serde(default, rename = "file")]
    pub files: Vec<MenuFileRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuFileRecord {
    pub path: String,
    pub sha256: String,
}

impl MenuRecord {
    /// The record of `files` written below `dir`, which holds the installs' folders `dirs`.
    pub fn of_written(dir: &Path, dirs: &[String], files: &[desktop::MenuFile]) -> MenuRecord {
        use sha2::{Digest, Sha256};
        MenuRecord {
            dir: dir.to_path_buf(),
            dirs: dirs.to_vec(),
            files: files
                .iter()
                .map(|f| MenuFileRecord {
                    path: f.path.clone(),
                    sha256: hex::encode(Sha256::digest(&f.bytes)),
                })
                .collect(),
        }
    }
}

impl Receipt {
    /// Parses a receipt read back from disk. It is input, not truth: every entry must name a
    /// path a payload may have (never `.ksn-setup/…` nor the config or the consent log, which
    /// "keep my records" keeps), and a symlink must stay inside the folder, or the receipt is
    /// refused before repair or uninstall acts on it.
    pub fn parse(path: &Path, text: &str) -> Result<Receipt, TomlError> {
        let receipt: Receipt =
            toml::from_str(text).map_err(|e| TomlError::from_de(path, text, &e))?;
        for entry in &receipt.entries {
            let refuse = |message: String| {
                let at = text.find(&format!("\"{}\"", entry.path)).unwrap_or(0);
                TomlError::at(path, text, at, message)
            };
            RelPath::payload(entry.path.as_str()).map_err(|e| {
                refuse(format!(
                    "the receipt lists {e}; it was not written by ksn-setup"
                ))
            })?;
            if let Some(target) = &entry.target {
                entry
                    .path
                    .check_symlink_target(target)
                    .map_err(|e| refuse(format!("the receipt lists {e}")))?;
            }
            if entry.mode & !0o7777 != 0 {
                return Err(refuse(format!(
                    "the receipt gives \"{}\" the impossible mode {:o}",
                    entry.path, entry.mode
                )));
            }
        }
        if let Some(menu) = &receipt.menu {
            let refuse = |what: &str, message: String| {
                let at = text.find(what).unwrap_or(0);
                TomlError::at(path, text, at, message)
            };
            if !menu.dir.is_absolute() {
                return Err(refuse(
                    "[menu]",
                    format!(
                        "the receipt's menu folder \"{}\" is not an absolute path",
                        menu.dir.display()
                    ),
                ));
            }
            let named = menu.dirs.iter().filter(|d| !desktop::is_dir(d));
            let files = menu.files.iter().map(|f| &f.path);
            if let Some(bad) = named.chain(files.filter(|f| !desktop::is_file(f))).next() {
                return Err(refuse(
                    &format!("\"{bad}\""),
                    format!(
                        "the receipt lists \"{bad}\" in the menu folder, which is not a menu entry ksn-setup writes; it was not written by ksn-setup"
                    ),
                ));
            }
        }
        Ok(receipt)
    }

    pub fn to_text(&self) -> String {
        let mut text =
            String::from("# Written by ksn-setup: what this install put in place. Do not edit.\n");
        text.push_str(&toml::to_string(self).expect("a receipt serialises"));
        text
    }

    pub fn find(&self, path: &RelPath) -> Option<&ReceiptEntry> {
        self.entries.iter().find(|e| &e.path == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "format = 1\nproduct_name = \"P\"\nproduct_version = \"1\"\ninstaller_version = \"0\"\ninstalled_at = \"2026-01-01T00:00:00Z\"\n";

    #[test]
    fn a_receipt_may_only_list_payload_paths() {
        let ok = format!("{HEAD}[[entry]]\npath = \"bin/x\"\nkind = \"file\"\nmode = 493\n");
        assert!(Receipt::parse(Path::new("r.toml"), &ok).is_ok());
        // Listing the consent log would make "keep my records" remove it.
        for bad in [
            "etc/consent-log.jsonl",
            "etc/product.toml",
            ".ksn-setup/lock",
            "../x",
        ] {
            let text = format!("{HEAD}[[entry]]\npath = \"{bad}\"\nkind = \"file\"\nmode = 420\n");
            let err = Receipt::parse(Path::new("r.toml"), &text).unwrap_err();
            assert!(err.to_string().starts_with("r.toml:"), "{err}");
        }
        let escaping = format!(
            "{HEAD}[[entry]]\npath = \"bin/l\"\nkind = \"symlink\"\nmode = 511\ntarget = \"../../etc/shadow\"\n"
        );
        assert!(Receipt::parse(Path::new("r.toml"), &escaping).is_err());
    }

    #[test]
    fn a_receipt_may_only_list_ksn_setups_own_menu_entries() {
        let menu = |dir: &str, file: &str| {
            format!(
                "{HEAD}[menu]\ndir = \"{dir}\"\ndirs = [\"applications\"]\n[[menu.file]]\npath = \"{file}\"\nsha256 = \"00\"\n"
            )
        };
        let ok = menu("/usr/local/share", "applications/ksn-demo-security.desktop");
        assert!(Receipt::parse(Path::new("r.toml"), &ok).is_ok());
        for bad in [
            menu("/usr/local/share", "applications/other.desktop"),
            menu("/usr/local/share", "../../etc/shadow"),
            menu("share", "applications/ksn-demo-security.desktop"),
        ] {
            let err = Receipt::parse(Path::new("r.toml"), &bad).unwrap_err();
            assert!(err.to_string().starts_with("r.toml:"), "{err}");
        }
    }
}
