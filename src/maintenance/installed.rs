//! An installed product as the maintenance commands see it: its receipt, its config's KSN
//! record, the statements installed with it, and what the KSN state means now.
//!
//! Read-only. The KSN state is worked out with the consent rules: participation is on only
//! while the record says agreed *and* the installed KSN Statement still honours the version
//! agreed to; an agreement to an older version that does not carry over, or an upgrade that
//! reset the decision for a new statement, means the product asks again.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use crate::base::dir::Dir;
use crate::base::error::BadInput;
use crate::base::layout;
use crate::base::ownership;
use crate::consent::config::ExistingConfig;
use crate::consent::rules::{Decision, KsnRecord, LogLine, Reason};
use crate::consent::statements::{Catalog, Language, Statement};
use crate::engine::receipt::Receipt;

#[derive(Debug, Clone)]
pub struct InstalledProduct {
    pub dir: PathBuf,
    pub receipt: Receipt,
    pub config: ExistingConfig,
    /// The statements installed with the product; the built-in ones for an install made by a
    /// ksn-setup that did not install them.
    pub statements: Catalog,
    /// Why the installed statements could not be read, when they could not.
    pub statements_damaged: Option<String>,
    /// The consent log's length, for the journal.
    pub consent_log_len: Option<u64>,
    /// The `prev_sha256` the next consent-log line carries.
    pub consent_log_tip: String,
    /// The last consent-log line, if the log is readable.
    pub last_log_line: Option<LogLine>,
}

/// What KSN participation is now, for the settings window and `ksn status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KsnState {
    /// Agreed to the installed statement (or one it carries over from).
    On,
    /// Declined.
    Off,
    /// Nobody has decided yet.
    Undecided,
    /// Agreed to an earlier statement that needs new consent, or an upgrade reset the
    /// decision for a new statement: off until accepted.
    NeedsConsent,
}

impl KsnState {
    pub fn participates(self) -> bool {
        self == KsnState::On
    }
}

/// The KSN facts the settings show.
#[derive(Debug, Clone, Serialize)]
pub struct KsnStatus {
    pub state: KsnState,
    /// Whether the product participates now.
    pub participate: bool,
    pub record: KsnRecord,
    /// The installed KSN Statement: the text an agreement now is to.
    pub statement_version: String,
    pub statement_language: Language,
    pub statement_sha256: String,
    /// The version agreed to earlier when new consent is needed.
    pub agreed_version: Option<String>,
}

impl InstalledProduct {
    /// Reads the installed product in `dir`. A folder without a receipt, or with a broken
    /// config, is refused with what to do, and so is one another user controls.
    pub fn open(dir: &Path) -> anyhow::Result<InstalledProduct> {
        if std::fs::symlink_metadata(dir).is_err() {
            return Err(BadInput(anyhow::anyhow!(
                "\"{}\" holds no installed product (there is no such folder)",
                dir.display()
            ))
            .into());
        }
        let root = ownership::open_checked(dir)?;
        InstalledProduct::read(&root)
    }

    /// Reads the installed product through its folder's handle; every record read back is
    /// checked to be this user's (or root's) and writable by nobody else.
    pub fn read(root: &Dir) -> anyhow::Result<InstalledProduct> {
        ownership::check_record_folders(root)?;
        let dir = root.path();
        let receipt_path = dir.join(layout::RECEIPT);
        let Some(receipt_bytes) = ownership::read_record(root, layout::RECEIPT)? else {
            return Err(BadInput(anyhow::anyhow!(
                "\"{}\" holds no installed product (no {})",
                dir.display(),
                layout::RECEIPT
            ))
            .into());
        };
        let receipt = Receipt::parse(&receipt_path, &String::from_utf8_lossy(&receipt_bytes))?;
        let config_path = dir.join(layout::CONFIG);
        let config_bytes = ownership::read_record(root, layout::CONFIG)?.with_context(|| {
            format!(
                "cannot read the product's config \"{}\"; repair the install",
                config_path.display()
            )
        })?;
        let config = ExistingConfig::parse(
            &config_path,
            String::from_utf8_lossy(&config_bytes).into_owned(),
        )?;
        if config.ksn.is_none() {
            anyhow::bail!(
                "the product's config \"{}\" has no valid [ksn] table",
                config_path.display()
            );
        }
        let statements_dir = dir.join(layout::STATEMENTS_DIR);
        let installed_statements = match root.open_dir(layout::STATEMENTS_DIR) {
            Ok(handle) => Some(Catalog::from_handle(&handle).map_err(|e| {
                format!(
                    "the installed statements in \"{}\" are damaged ({e:#}); repair the install",
                    statements_dir.display()
                )
            })),
            Err(_) => None,
        };
        let (statements, statements_damaged) = match installed_statements {
            Some(Ok(catalog)) => (catalog, None),
            // An install by a ksn-setup that did not install them, or damaged ones (repair
            // still has to be able to read the receipt): the built-in ones stand in.
            other => (
                crate::bundle::contents::builtin_catalog()?,
                other.and_then(Result::err),
            ),
        };
        // One read gives both the length the append checks and the chain's tip, so they agree.
        let log = ownership::read_record(root, layout::CONSENT_LOG)?;
        let consent_log_len = log.as_ref().map(|bytes| bytes.len() as u64);
        let consent_log_tip = crate::consent::history::tip(log.as_deref());
        let last_log_line = log
            .and_then(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .map(str::to_owned)
            })
            .and_then(|line| serde_json::from_str(&line).ok());
        Ok(InstalledProduct {
            dir: dir.to_path_buf(),
            receipt,
            config,
            statements,
            statements_damaged,
            consent_log_len,
            consent_log_tip,
            last_log_line,
        })
    }

    pub fn ksn_record(&self) -> &KsnRecord {
        self.config.ksn.as_ref().expect("checked when opened")
    }

    pub fn ksn_statement(&self) -> &Statement {
        self.statements.ksn()
    }

    /// The KSN state now, and the statement text in `language` an agreement would be to.
    pub fn ksn_status(&self, language: Language) -> KsnStatus {
        let record = self.ksn_record().clone();
        let statement = self.ksn_statement();
        let (shown, text) = statement.text(language);
        let reset_by_upgrade = match &self.last_log_line {
            Some(LogLine {
                reason: Reason::StatementChanged { agreed_version, .. },
                ..
            }) if record.decision == Decision::Undecided => Some(agreed_version.clone()),
            _ => None,
        };
        let (state, agreed_version) = match record.decision {
            Decision::Agreed
                if record.statement_id == statement.id
                    && statement.consent_still_valid(&record.statement_sha256) =>
            {
                (KsnState::On, None)
            }
            Decision::Agreed => (
                KsnState::NeedsConsent,
                Some(record.statement_version.clone()),
            ),
            Decision::Declined => (KsnState::Off, None),
            Decision::Undecided => match reset_by_upgrade {
                Some(version) => (KsnState::NeedsConsent, Some(version)),
                None => (KsnState::Undecided, None),
            },
        };
        KsnStatus {
            state,
            participate: state.participates(),
            statement_version: statement.version.clone(),
            statement_language: shown,
            statement_sha256: text.sha256.clone(),
            agreed_version,
            record,
        }
    }
}
