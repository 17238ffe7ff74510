//! Where everything lives in an install folder, for every part that reads or writes one.
//!
//! The payload owns every other path; a bundle may not install anything named here (see
//! [`crate::base::paths`]).

/// The folder inside a target that belongs to ksn-setup itself.
pub const STATE_DIR: &str = ".ksn-setup";
/// `flock`ed while a ksn-setup works on the folder.
pub const LOCK: &str = ".ksn-setup/lock";
/// Every path an install put in place, with kind, size, mode and SHA-256.
pub const RECEIPT: &str = ".ksn-setup/receipt.toml";
/// Exists only while a transaction runs, or after one was interrupted.
pub const TXN_DIR: &str = ".ksn-setup/txn";
/// The transaction journal.
pub const JOURNAL: &str = ".ksn-setup/txn/journal.jsonl";
/// Payload files wait here, checked, until they are moved into place.
pub const STAGING: &str = ".ksn-setup/txn/staging";
/// Replaced and removed files wait here until the commit, for rollback.
pub const BACKUP: &str = ".ksn-setup/txn/backup";
/// The installed product's config, with the KSN record.
pub const CONFIG: &str = "etc/product.toml";
/// One JSON line per consent decision, appended, never rewritten.
pub const CONSENT_LOG: &str = "etc/consent-log.jsonl";
/// The statements installed with the product, as its settings show them.
pub const STATEMENTS_DIR: &str = "lib/ksn-setup/statements";
/// The maintenance program: ksn-setup without a packed bundle.
pub const PROGRAM: &str = "lib/ksn-setup/ksn-setup";
/// Opens the product's settings window.
pub const SETTINGS_LAUNCHER: &str = "bin/ksn-settings";

/// Where a fresh install builds its tree before one rename moves it to `target`: a hidden
/// folder beside it, on the same file system, named after it (`/opt/.ksn-demo.ksn-setup-new`
/// for `/opt/ksn-demo`). `None` for a path with no parent or no UTF-8 name.
pub fn fresh_dir(target: &std::path::Path) -> Option<std::path::PathBuf> {
    let name = target.file_name()?.to_str()?;
    Some(target.parent()?.join(format!(".{name}.ksn-setup-new")))
}
