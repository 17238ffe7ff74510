//! `ksn status|agree|decline`: Kaspersky Security Network participation of an installed
//! product, from a terminal or a script. Agreeing shows the Statement on a terminal and asks
//! for "yes"; a script proves the text it showed with `--accept-statement SHA256`.

use std::io::IsTerminal as _;

use clap::{Args, Subcommand};

use super::common::{DirArgs, LangArg, dir_of};
use crate::base::error::ExitStatus;
use crate::base::layout;
use crate::base::time::now_rfc3339;
use crate::consent::statements::Language;
use crate::engine::progress::Reporter;

#[derive(Debug, Clone, Args)]
pub(super) struct KsnArgs {
    #[command(subcommand)]
    pub(super) action: KsnAction,
}

#[derive(Debug, Clone, Subcommand)]
pub(super) enum KsnAction {
    /// Show whether the product participates, who decided, when, and to which statement.
    Status {
        #[command(flatten)]
        dir: DirArgs,
        /// Print JSON instead of sentences.
        #[arg(long)]
        json: bool,
    },
    /// Participate: shows the KSN Statement and asks; scripts prove which text they showed
    /// with --accept-statement.
    Agree {
        #[command(flatten)]
        dir: DirArgs,
        /// The SHA-256 of the KSN Statement text accepted (see `ksn status`); required without
        /// a terminal, and checked against the installed text.
        #[arg(long, value_name = "SHA256")]
        accept_statement: Option<String>,
        /// Language of the statement shown and recorded [default: the earlier record's].
        #[arg(long, value_enum, value_name = "LANG")]
        lang: Option<LangArg>,
    },
    /// Stop participating, at once.
    Decline {
        #[command(flatten)]
        dir: DirArgs,
    },
    /// Every decision in the consent log: when, who, how, which statement version and hash.
    History {
        #[command(flatten)]
        dir: DirArgs,
        /// Print JSON instead of sentences.
        #[arg(long)]
        json: bool,
        /// Check the log's chain: exit 1 naming the first line edited, removed or reordered.
        #[arg(long)]
        verify: bool,
    },
    /// The current decision as a consent receipt (Kantara Consent Receipt v1.1): controller,
    /// purpose, collection method, time, statement version, language and hash, how to
    /// withdraw.
    Receipt {
        #[command(flatten)]
        dir: DirArgs,
        /// Print the receipt's JSON, as the specification defines it.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn run_ksn(args: KsnArgs) -> anyhow::Result<ExitStatus> {
    use crate::maintenance::installed::{InstalledProduct, KsnState};
    use crate::maintenance::ksn_change::{self, ChangeOutcome, ChangeRequest};
    match args.action {
        KsnAction::Receipt { dir, json } => {
            let dir = dir_of(&dir);
            let installed = InstalledProduct::open(&dir)?;
            print_receipt(&dir, &installed, json)
        }
        KsnAction::History { dir, json, verify } => {
            let dir = dir_of(&dir);
            let installed = InstalledProduct::open(&dir)?;
            let root = crate::base::ownership::open_checked(&dir)?;
            let log = crate::base::ownership::read_record(&root, layout::CONSENT_LOG)?
                .unwrap_or_default();
            let history = crate::consent::history::read(&log, Some(installed.ksn_record()));
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&history).expect("a history serialises")
                );
            } else {
                print_history(&history);
            }
            Ok(match (&history.broken, verify) {
                (Some(broken), true) => {
                    eprintln!(
                        "ksn-setup: the consent log \"{}\" was changed: line {}: {}",
                        dir.join(layout::CONSENT_LOG).display(),
                        broken.line,
                        broken.why
                    );
                    ExitStatus::Failed
                }
                _ => ExitStatus::Success,
            })
        }
        KsnAction::Status { dir, json } => {
            let dir = dir_of(&dir);
            let installed = InstalledProduct::open(&dir)?;
            let language = installed.ksn_record().statement_language;
            let status = installed.ksn_status(language);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&status).expect("status serialises")
                );
                return Ok(ExitStatus::Success);
            }
            let record = &status.record;
            let state = match status.state {
                KsnState::On => "on: the product participates in Kaspersky Security Network",
                KsnState::Off => "off: declined",
                KsnState::Undecided => "off: no decision yet",
                KsnState::NeedsConsent => {
                    "off until the new KSN Statement is accepted (ksn-setup ksn agree)"
                }
            };
            println!("KSN: {state}");
            if let (Some(by), Some(at)) = (record.decided_by, &record.decided_at) {
                println!(
                    "Decided by: {}{} on {at}",
                    by.as_str(),
                    if record.locked { ", locked" } else { "" }
                );
            }
            if record.decision == crate::consent::rules::Decision::Agreed {
                println!(
                    "Agreed to: KSN Statement {} ({}), sha256:{}",
                    record.statement_version, record.statement_language, record.statement_sha256
                );
            }
            println!(
                "Installed statement: KSN Statement {} ({}), sha256:{}\n  {}",
                status.statement_version,
                status.statement_language,
                status.statement_sha256,
                dir.join(layout::STATEMENTS_DIR)
                    .join(
                        &installed
                            .ksn_statement()
                            .text(status.statement_language)
                            .1
                            .file
                    )
                    .display()
            );
            Ok(ExitStatus::Success)
        }
        KsnAction::Decline { dir } => {
            let dir = dir_of(&dir);
            let installed = InstalledProduct::open(&dir)?;
            let request = ChangeRequest {
                participate: false,
                accepted_sha256: None,
                language: installed.ksn_record().statement_language,
                how: terminal_or_script(std::io::stdin().is_terminal()),
            };
            match ksn_change::apply(&dir, &request, &now_rfc3339(), &Reporter::silent())? {
                ChangeOutcome::Changed(_) => println!(
                    "KSN is off: the product no longer participates in Kaspersky Security Network."
                ),
                ChangeOutcome::Unchanged(_) => println!("KSN was already off; nothing changed."),
            }
            Ok(ExitStatus::Success)
        }
        KsnAction::Agree {
            dir,
            accept_statement,
            lang,
        } => {
            let dir = dir_of(&dir);
            let installed = InstalledProduct::open(&dir)?;
            let language = lang
                .map(Language::from)
                .unwrap_or(installed.ksn_record().statement_language);
            let statement = installed.ksn_statement();
            let (shown, text) = statement.text(language);
            let typed = accept_statement.is_none() && std::io::stdin().is_terminal();
            let accepted = match accept_statement {
                Some(sha) => Some(sha),
                None if std::io::stdin().is_terminal() => {
                    println!(
                        "{} (version {}, {shown})\n\n{}\n",
                        statement.title(shown),
                        statement.version,
                        text.reflowed()
                    );
                    print!("Type \"yes\" to agree to participate in Kaspersky Security Network: ");
                    use std::io::Write as _;
                    std::io::stdout().flush()?;
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    if line.trim() != "yes" {
                        println!("Not agreed; nothing changed.");
                        return Ok(ExitStatus::Cancelled);
                    }
                    Some(text.sha256.clone())
                }
                None => None,
            };
            let request = ChangeRequest {
                participate: true,
                accepted_sha256: accepted,
                language: shown,
                how: terminal_or_script(typed),
            };
            match ksn_change::apply(&dir, &request, &now_rfc3339(), &Reporter::silent())? {
                ChangeOutcome::Changed(record) => println!(
                    "KSN is on: the product participates in Kaspersky Security Network \
                     (KSN Statement {}, {}).",
                    record.statement_version, record.statement_language
                ),
                ChangeOutcome::Unchanged(_) => println!("KSN was already on; nothing changed."),
            }
            Ok(ExitStatus::Success)
        }
    }
}

/// How `ksn agree|decline` was given: typed on a terminal (after the Statement was shown, for
/// an agreement), or by a script. The terminal's words are English (not yet translated).
fn terminal_or_script(typed: bool) -> crate::consent::rules::Collection {
    crate::consent::rules::Collection {
        method: if typed {
            crate::consent::rules::Method::Terminal
        } else {
            crate::consent::rules::Method::Script
        },
        interface_language: Language::En,
        read_to_end: None,
    }
}

/// The receipt of the installed decision, as JSON or as labelled lines (English: the
/// terminal's words are not yet translated).
fn print_receipt(
    dir: &std::path::Path,
    installed: &crate::maintenance::installed::InstalledProduct,
    json: bool,
) -> anyhow::Result<ExitStatus> {
    use crate::consent::receipt::{ReceiptSource, consent_receipt};
    let record = installed.ksn_record();
    let file_url = |path: std::path::PathBuf| format!("file://{}", path.display());
    let statements = dir.join(layout::STATEMENTS_DIR);
    let policy = installed
        .statements
        .find("privacy-policy")
        .map(|s| s.text(record.statement_language).1.file.clone());
    let statement = installed
        .ksn_statement()
        .text(record.statement_language)
        .1
        .file
        .clone();
    // An empty log's tip is the chain's start value, which names no line.
    let tip = (installed.last_log_line.is_some()).then_some(installed.consent_log_tip.as_str());
    let source = ReceiptSource {
        record,
        product_name: &installed.receipt.product_name,
        product_version: &installed.receipt.product_version,
        log_line_sha256: tip,
        policy_url: policy
            .map(|f| file_url(statements.join(f)))
            .unwrap_or_default(),
        statement_url: file_url(statements.join(statement)),
        withdraw_command: format!("ksn-setup ksn decline --dir {}", dir.display()),
    };
    let receipt = match consent_receipt(&source) {
        Ok(receipt) => receipt,
        Err(no) => {
            eprintln!("ksn-setup: {no}");
            return Ok(ExitStatus::Failed);
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&receipt).expect("a receipt serialises")
        );
        return Ok(ExitStatus::Success);
    }
    let x = &receipt.extension;
    let controller = &receipt.pii_controllers[0];
    let purpose = &receipt.services[0].purposes[0];
    println!("Consent receipt ({})", receipt.version);
    println!("  Receipt ID:        {}", receipt.consent_receipt_id);
    println!("  Product:           {}", x.product);
    println!(
        "  Controller:        {} <{}>",
        controller.contact, controller.email
    );
    println!("  Service:           {}", receipt.services[0].service);
    println!("  Purpose:           {}", purpose.purpose);
    println!("  Data:              {}", purpose.pii_category.join("; "));
    println!(
        "  Decision:          {}{}",
        x.decision,
        if x.locked { " (locked)" } else { "" }
    );
    println!(
        "  Decided by:        {}",
        x.decided_by.unwrap_or("not recorded")
    );
    println!(
        "  When:              {} ({})",
        crate::base::time::local_display(&x.decided_at),
        x.decided_at
    );
    println!("  Collection method: {}", receipt.collection_method);
    println!(
        "  Statement:         {} {} ({}), SHA-256 {}",
        x.statement_id, x.statement_version, x.statement_language, x.statement_sha256
    );
    println!("  Statement text:    {}", x.statement_url);
    println!("  Privacy policy:    {}", receipt.policy_url);
    println!("  How to withdraw:   {}", x.how_to_withdraw);
    Ok(ExitStatus::Success)
}

/// The history in sentences, a decision a line (English: the terminal's words are not yet
/// translated).
fn print_history(history: &crate::consent::history::History) {
    use crate::consent::rules::Decision;
    for entry in &history.entries {
        let Some(line) = &entry.decision else {
            println!("{:>4}. (not a decision ksn-setup writes)", entry.line);
            continue;
        };
        let record = &line.record;
        let what = match record.decision {
            Decision::Agreed => "agreed to take part in KSN",
            Decision::Declined => "declined KSN",
            Decision::Undecided => "no decision (KSN off)",
        };
        let who = record
            .decided_by
            .map(|b| format!(" by the {}", b.as_str()))
            .unwrap_or_default();
        let how = record
            .method
            .map(|m| format!(", {}", m.describe()))
            .unwrap_or_default();
        println!(
            "{:>4}. {} {what}{who}{how} ({}): KSN Statement {} ({}), SHA-256 {}{}",
            entry.line,
            crate::base::time::local_display(&line.at),
            line.event,
            record.statement_version,
            record.statement_language,
            record.statement_sha256,
            if entry.chained { "" } else { " [unchained]" }
        );
    }
    if history.unchained > 0 {
        println!(
            "{} line(s) at the start were written before the log was chained; they cannot be checked.",
            history.unchained
        );
    }
    match &history.broken {
        Some(b) => println!("The log was changed: line {}: {}", b.line, b.why),
        None => println!("The chain of the log is intact."),
    }
}
