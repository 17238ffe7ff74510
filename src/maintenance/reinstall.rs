//! Installing the same product version again over an intact install of it: what, if
//! anything, has to change. Configuration-management tools run the same installer on every
//! pass, and a pass that finds the machine as it should be must change nothing and say so.
//!
//! [`judge`] compares, through the install folder's handle and under its lock, the installed
//! receipt and records with the bundle and the plan of this run: the same files (paths,
//! kinds, modes, sizes, SHA-256), the same menu entries, the same licence texts accepted, the
//! files on disk still as the receipt lists them ([`Check`]), and the KSN decision the
//! answers give. Only a KSN difference is one small transaction (the config's `[ksn]` and one
//! consent-log line); damage is a repair; anything else is a full install.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::base::dir::Dir;
use crate::bundle::contents::Bundle;
use crate::bundle::entry::EntryKind;
use crate::consent::answers::Answers;
use crate::consent::rules::{self, KsnRecord};
use crate::engine::executor::Work;
use crate::engine::plan::Plan;
use crate::engine::receipt::{ReceiptEntry, ReceiptKind};
use crate::maintenance::installed::InstalledProduct;
use crate::maintenance::ksn_change;
use crate::maintenance::repair::{self, Check, RepairPlan};

/// What installing again would change.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Everything is as this run would make it: nothing to write.
    Unchanged,
    /// Only the KSN decision differs: this one transaction makes it.
    KsnChange { work: Work, record: KsnRecord },
    /// Installed files or menu entries are missing or changed: what a repair restores.
    Damaged(RepairPlan),
    /// The installed product differs in more than the KSN decision (why, for the log): the
    /// full install runs.
    Differs(String),
}

/// Decides what installing `bundle` with `answers` (planned as `plan`) over `installed`
/// would change. `check`: how closely installed files are compared with the receipt.
pub fn judge(
    root: &Dir,
    installed: &InstalledProduct,
    bundle: &Bundle,
    answers: &Answers,
    plan: &Plan,
    check: Check,
) -> anyhow::Result<Verdict> {
    let receipt = &installed.receipt;
    if receipt.product_name != bundle.product.name
        || receipt.product_version != bundle.product.version
    {
        return Ok(Verdict::Differs(format!(
            "{} {} is installed",
            receipt.product_name, receipt.product_version
        )));
    }
    if receipt.signer != bundle.signer.map(|k| k.to_string()) {
        return Ok(Verdict::Differs("the installer's signer differs".into()));
    }
    if let Some(path) = first_different_file(receipt.entries.as_slice(), bundle) {
        return Ok(Verdict::Differs(format!(
            "\"{path}\" in this installer differs from the installed one"
        )));
    }
    if !same_menu(installed, plan) {
        return Ok(Verdict::Differs("the menu entries differ".into()));
    }
    let accepted = installed.config.license.as_ref();
    let same_license = accepted.is_some_and(|l| {
        l.eula_accepted
            && l.privacy_policy_accepted
            && l.eula_version == plan.license.eula_version
            && l.eula_sha256 == plan.license.eula_sha256
            && l.privacy_policy_version == plan.license.privacy_policy_version
            && l.privacy_policy_sha256 == plan.license.privacy_policy_sha256
    });
    if !same_license {
        return Ok(Verdict::Differs(
            "the licence texts accepted are not this installer's".into(),
        ));
    }
    if let Some(damaged) = repair::plan_repair(root, installed, bundle, &plan.now, check)? {
        return Ok(Verdict::Damaged(damaged));
    }
    // The decision from the config read now, under the lock, not from the plan's look.
    let ksn = rules::resolve(
        Some(installed.ksn_record()),
        answers.ksn_answer(),
        bundle.statements.ksn(),
        answers.language(),
        &plan.now,
    );
    if !ksn.changed {
        return Ok(Verdict::Unchanged);
    }
    let work = ksn_change::change_work(installed, &ksn.record, ksn.reason, &plan.now);
    Ok(Verdict::KsnChange {
        work,
        record: ksn.record,
    })
}

/// The first path where the installed files (as the receipt lists them) and the bundle's
/// differ, in kind, mode, size, SHA-256 or link target; the config's folder, which every
/// install adds, is not a difference.
fn first_different_file(receipt: &[ReceiptEntry], bundle: &Bundle) -> Option<String> {
    let mut installed: BTreeMap<&str, &ReceiptEntry> =
        receipt.iter().map(|e| (e.path.as_str(), e)).collect();
    for (index, entry) in bundle.entries.iter().enumerate() {
        let path = entry.path.as_str();
        let Some(was) = installed.remove(path) else {
            return Some(path.to_string());
        };
        let same = match &entry.kind {
            EntryKind::Dir => was.kind == ReceiptKind::Dir && was.mode == entry.mode,
            EntryKind::Symlink { target } => {
                was.kind == ReceiptKind::Symlink && was.target.as_deref() == Some(target.as_str())
            }
            EntryKind::File { size, sha256 } => {
                was.kind == ReceiptKind::File
                    && was.mode == entry.mode
                    && was.size == Some(*size)
                    && was.sha256.is_some()
                    && was.sha256 == sha256_of(bundle, index, sha256.as_ref())
            }
        };
        if !same {
            return Some(path.to_string());
        }
    }
    installed
        .into_keys()
        .find(|path| *path != "etc")
        .map(str::to_string)
}

/// The SHA-256 of bundle entry `index`: the one the bundle promises, or, for a payload
/// folder (which knows its files' hashes only once read), of its bytes now.
fn sha256_of(bundle: &Bundle, index: usize, known: Option<&[u8; 32]>) -> Option<String> {
    if let Some(known) = known {
        return Some(hex::encode(known));
    }
    let mut reader = bundle.read_file(index).ok()?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut reader, &mut hasher).ok()?;
    Some(hex::encode(hasher.finalize()))
}

/// Whether the menu entries this run would write are the ones installed: the same folder,
/// the same files with the same bytes (their text names the folder and the languages).
fn same_menu(installed: &InstalledProduct, plan: &Plan) -> bool {
    match (&installed.receipt.menu, &plan.menu_dir) {
        (None, None) => true,
        (Some(record), Some(dir)) => {
            let mut wanted: Vec<(&str, String)> = plan
                .menu_files
                .iter()
                .map(|f| (f.path.as_str(), hex::encode(Sha256::digest(&f.bytes))))
                .collect();
            let mut have: Vec<(&str, String)> = record
                .files
                .iter()
                .map(|f| (f.path.as_str(), f.sha256.clone()))
                .collect();
            wanted.sort();
            have.sort();
            record.dir == *dir && wanted == have
        }
        _ => false,
    }
}
