//! The receipt, `.ksn-setup/receipt.toml`: every path an install put in place, with its
//! kind, size, mode and SHA-256, so repair can check it and uninstall can remove exactly it.
//! Unknown keys are kept when a receipt is read and written back by a newer ksn-setup.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::base::error::TomlError;
use crate::base::paths::RelPath;

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
}

impl Receipt {
    pub fn parse(path: &Path, text: &str) -> Result<Receipt, TomlError> {
        toml::from_str(text).map_err(|e| TomlError::from_de(path, text, &e))
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
