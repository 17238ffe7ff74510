//! Changing KSN participation after install, from the settings window, `ksn agree|decline`
//! or the maintenance wizard: one transaction that rewrites the config's `[ksn]` table
//! (temp file, fsync, rename) and appends one line to the consent log, both journaled.
//!
//! The rules: withdrawing is one step and needs nothing; agreeing needs proof of the text
//! agreed to (the SHA-256 of the statement shown, which the caller got by showing it); a
//! choice an administrator locked cannot be changed here.

use thiserror::Error;

use crate::consent::config;
use crate::consent::rules::{Collection, DecidedBy, Decision, KsnRecord, LogLine, Reason};
use crate::consent::statements::Language;
use crate::engine::control::RunControl;
use crate::engine::executor::{self, Work};
use crate::engine::plan::Op;
use crate::engine::progress::Reporter;
use crate::maintenance::installed::{InstalledProduct, KsnState};

/// What the user asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRequest {
    pub participate: bool,
    /// For an agreement: the SHA-256 of the statement text the user was shown and accepted.
    pub accepted_sha256: Option<String>,
    /// The language the statement was shown in.
    pub language: Language,
    /// How the change was asked for (the interface, and whether the Statement was shown to
    /// its end), for the record.
    pub how: Collection,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChangeError {
    #[error(
        "KSN participation was {} by the administrator and locked{}; it cannot be changed here",
        if *participate { "turned on" } else { "turned off" },
        at.as_ref().map(|a| format!(" on {a}")).unwrap_or_default()
    )]
    Locked {
        participate: bool,
        at: Option<String>,
    },
    #[error("{0}")]
    StatementsDamaged(String),
    #[error(
        "agreeing needs the KSN Statement shown first: its text is in the settings window and \
         `ksn-setup ksn agree` shows it; scripts pass --accept-statement with the SHA-256 of the \
         text they showed (`ksn-setup ksn status` names it)"
    )]
    StatementNotShown,
    #[error(
        "--accept-statement {given} is not the SHA-256 of the installed KSN Statement {version} \
         ({language}), which is {expected}: the text you accepted is not the one installed"
    )]
    WrongStatement {
        given: String,
        expected: String,
        version: String,
        language: Language,
    },
}

/// The work for a change at time `now`, `None` when the product is already as asked.
pub fn plan_change(
    installed: &InstalledProduct,
    request: &ChangeRequest,
    now: &str,
) -> Result<Option<(Work, KsnRecord)>, ChangeError> {
    let current = installed.ksn_record();
    if current.locked && current.decided_by == Some(DecidedBy::Administrator) {
        return Err(ChangeError::Locked {
            participate: current.participate,
            at: current.decided_at.clone(),
        });
    }
    if request.participate
        && let Some(problem) = &installed.statements_damaged
    {
        return Err(ChangeError::StatementsDamaged(problem.clone()));
    }
    let status = installed.ksn_status(request.language);
    let already = match status.state {
        KsnState::On => request.participate,
        KsnState::Off => !request.participate,
        KsnState::Undecided | KsnState::NeedsConsent => false,
    };
    if request.participate {
        match &request.accepted_sha256 {
            None => return Err(ChangeError::StatementNotShown),
            Some(given) if !given.eq_ignore_ascii_case(&status.statement_sha256) => {
                return Err(ChangeError::WrongStatement {
                    given: given.clone(),
                    expected: status.statement_sha256.clone(),
                    version: status.statement_version.clone(),
                    language: status.statement_language,
                });
            }
            Some(_) => {}
        }
    }
    if already {
        return Ok(None);
    }
    let statement = installed.ksn_statement();
    let record = KsnRecord {
        participate: request.participate,
        decision: if request.participate {
            Decision::Agreed
        } else {
            Decision::Declined
        },
        decided_by: Some(DecidedBy::User),
        decided_at: Some(now.to_string()),
        locked: false,
        statement_id: statement.id.clone(),
        statement_version: status.statement_version.clone(),
        statement_language: status.statement_language,
        statement_sha256: status.statement_sha256.clone(),
        method: None,
        interface_language: None,
        statement_read_to_end: None,
    }
    .collected(Some(request.how));
    let work = change_work(installed, &record, Reason::Answered, now);
    Ok(Some((work, record)))
}

/// The transaction that makes `record` the product's KSN decision at time `now`: the
/// config's `[ksn]` table rewritten (nothing else in it) and one consent-log line, chained
/// to the last, that says `reason`.
pub fn change_work(
    installed: &InstalledProduct,
    record: &KsnRecord,
    reason: Reason,
    now: &str,
) -> Work {
    let config_text = config::replace_ksn(&installed.config.text, record)
        .expect("the config parsed when the product was opened");
    let line = LogLine {
        format: 1,
        at: now.to_string(),
        event: "change".into(),
        record: record.clone(),
        reason,
        product_version: installed.receipt.product_version.clone(),
        installer_version: crate::INSTALLER_VERSION.into(),
        prev_sha256: Some(installed.consent_log_tip.clone()),
    };
    let ops = vec![
        Op::WriteConfig { replaces: true },
        Op::AppendConsentLog {
            previous_len: installed.consent_log_len,
        },
    ];
    Work {
        config_text,
        consent_line: Some(line.to_line()),
        decision: Some(record.decision),
        ..Work::on_installed("ksn-change", ops, &installed.receipt, now)
    }
}

/// What a change did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChangeOutcome {
    Changed(KsnRecord),
    /// It already was as asked; nothing was written.
    Unchanged(KsnRecord),
}

/// Applies a change to the product in `dir`, under its folder lock, as one transaction.
pub fn apply(
    dir: &std::path::Path,
    request: &ChangeRequest,
    now: &str,
    reporter: &Reporter,
) -> anyhow::Result<ChangeOutcome> {
    let control = RunControl::new();
    let mut new_record = None;
    let mut current = None;
    let done = executor::maintain(
        dir,
        None,
        |root| {
            // Read again under the lock: the settings window may have been open for a while.
            let installed = InstalledProduct::read(root)?;
            current = Some(installed.ksn_record().clone());
            match plan_change(&installed, request, now)
                .map_err(|e| crate::base::error::BadInput(e.into()))?
            {
                Some((work, record)) => {
                    new_record = Some(record);
                    Ok(Some(work))
                }
                None => Ok(None),
            }
        },
        reporter,
        &control,
    )?;
    Ok(match (done, new_record) {
        (Some(_), Some(record)) => ChangeOutcome::Changed(record),
        _ => ChangeOutcome::Unchanged(current.expect("read under the lock")),
    })
}
