//! Installing the same product version again over an intact install of it: what, if
//! anything, has to change. Configuration-management tools run the same installer on every
//! pass, and a pass that finds the machine as it should be must change nothing and say so.
//!
//! [`judge`] compares, through the install folder's handle and under its lock, the installed
//! receipt and records with the bundle and the plan of this run: the same files (paths,
//! kinds, modes, sizes, SHA-256), the same menu entries, the same licence texts accepted, the
//! files on disk still as the receipt lists them ([`Check`]), and the KSN decision the
//! answers give. With the same files, what differs is one small transaction: a KSN decision
//! alone is the config's `[ksn]` and one consent-log line; menu entries added, removed or
//! rewritten, or licence texts accepted anew, are the config, the menu entries and the
//! receipt's menu record, never a payload file. Damage is a repair; other files, or a
//! menu folder moved elsewhere, are a full install.

use std::collections::BTreeMap;

use crate::base::dir::Dir;
use crate::bundle::contents::Bundle;
use crate::bundle::entry::EntryKind;
use crate::consent::answers::Answers;
use crate::consent::config::{self, ConfigValues};
use crate::consent::rules::{self, KsnRecord, LogLine};
use crate::engine::executor::Work;
use crate::engine::plan::{Op, Plan};
use crate::engine::receipt::{MenuRecord, ReceiptEntry, ReceiptKind};
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
    /// The files are as they should be; the menu entries or the licence record (and maybe
    /// the KSN decision) differ, for the reason given: this one transaction makes them.
    Records { work: Work, why: String },
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
    let menu_same = same_menu(installed, plan);
    let accepted = installed.config.license.as_ref();
    let same_license = accepted.is_some_and(|l| {
        l.eula_accepted
            && l.privacy_policy_accepted
            && l.eula_version == plan.license.eula_version
            && l.eula_sha256 == plan.license.eula_sha256
            && l.privacy_policy_version == plan.license.privacy_policy_version
            && l.privacy_policy_sha256 == plan.license.privacy_policy_sha256
    });
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
    if menu_same && same_license {
        if !ksn.changed {
            return Ok(Verdict::Unchanged);
        }
        let work = ksn_change::change_work(installed, &ksn.record, ksn.reason, &plan.now);
        return Ok(Verdict::KsnChange {
            work,
            record: ksn.record,
        });
    }
    let why = match (menu_same, same_license) {
        (false, false) => "the menu entries and the licence texts accepted differ",
        (false, true) => "the menu entries differ",
        _ => "the licence texts accepted differ",
    };
    Ok(match records_work(installed, bundle, plan, &ksn) {
        Some(work) => Verdict::Records {
            work,
            why: why.to_string(),
        },
        None => Verdict::Differs(format!("{why}, and the menu folder moved")),
    })
}

/// The transaction for a reinstall whose files are as they should be: the config rendered
/// again from the one read under the lock (the licence record and the KSN decision of this
/// run, the user's settings kept), the consent-log line when the decision changed, the menu
/// entries the plan writes (or, without entries now, the removal of those installed), and
/// the installed receipt with its menu record replaced. `None` when the menu moves to
/// another folder, which only a full install does.
fn records_work(
    installed: &InstalledProduct,
    bundle: &Bundle,
    plan: &Plan,
    ksn: &rules::Resolution,
) -> Option<Work> {
    if let (Some(was), Some(dir)) = (&installed.receipt.menu, &plan.menu_dir)
        && was.dir != *dir
    {
        return None;
    }
    let config_text = config::render(
        Some(&installed.config),
        &ConfigValues {
            product_name: &bundle.product.name,
            product_version: &bundle.product.version,
            installed_at: &plan.now,
            license: &plan.license,
            ksn: &ksn.record,
            default_settings: &bundle.product.settings,
        },
    );
    let consent_line = ksn.changed.then(|| {
        LogLine {
            format: 1,
            at: plan.now.clone(),
            event: "change".into(),
            record: ksn.record.clone(),
            reason: ksn.reason.clone(),
            product_version: bundle.product.version.clone(),
            installer_version: crate::INSTALLER_VERSION.into(),
            prev_sha256: Some(installed.consent_log_tip.clone()),
        }
        .to_line()
    });
    let mut ops = vec![Op::WriteConfig { replaces: true }];
    if consent_line.is_some() {
        ops.push(Op::AppendConsentLog {
            previous_len: installed.consent_log_len,
        });
    }
    // The plan's menu steps: entries written, or an earlier install's removed.
    ops.extend(
        plan.ops
            .iter()
            .filter(|op| {
                matches!(
                    op,
                    Op::CreateMenuDir { .. }
                        | Op::WriteMenuFile { .. }
                        | Op::RemoveMenuFile { .. }
                        | Op::RemoveMenuDir { .. }
                )
            })
            .cloned(),
    );
    let mut receipt = installed.receipt.clone();
    receipt.installer_version = crate::INSTALLER_VERSION.into();
    receipt.menu = planned_menu(plan);
    ops.push(Op::WriteReceipt { replaces: true });
    Some(Work {
        config_text,
        consent_line,
        decision: Some(ksn.record.decision),
        menu_dir: plan.menu_dir.clone().or(plan.menu_removed_from.clone()),
        menu_files: plan.menu_files.clone(),
        menu_dirs: plan.menu_dirs.clone(),
        receipt: Some(receipt),
        ..Work::on_installed("install", ops, &installed.receipt, &plan.now)
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
                    && was.sha256 == repair::bundled_sha256(bundle, index, sha256.as_ref())
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

/// Whether the menu entries this run would write are the ones installed: the same folder,
/// the same files with the same bytes (their text names the folder and the languages).
fn same_menu(installed: &InstalledProduct, plan: &Plan) -> bool {
    let files = |record: &MenuRecord| {
        let mut files: Vec<(String, String)> = record
            .files
            .iter()
            .map(|f| (f.path.clone(), f.sha256.clone()))
            .collect();
        files.sort();
        files
    };
    match (&installed.receipt.menu, planned_menu(plan)) {
        (None, None) => true,
        (Some(was), Some(wanted)) => was.dir == wanted.dir && files(was) == files(&wanted),
        _ => false,
    }
}

/// The receipt's menu record of what this run's plan writes.
fn planned_menu(plan: &Plan) -> Option<MenuRecord> {
    plan.menu_dir
        .as_ref()
        .map(|dir| MenuRecord::of_written(dir, &plan.menu_dirs, &plan.menu_files))
}
