//! `ksn status|agree|decline|history|receipt`: Kaspersky Security Network participation of
//! an installed product, from a terminal or a script. Agreeing shows the Statement on a
//! terminal and asks for "yes" (in the user's language); a script proves the text it showed
//! with `--accept-statement SHA256`.
//!
//! The sentences are in the user's language (`--lang`, else `LC_ALL`/`LC_MESSAGES`/`LANG`);
//! `--json` output is for scripts and keeps its English keys and words.

use std::io::IsTerminal as _;

use clap::{Args, Subcommand};

use anyhow::Context as _;

use super::common::{DirArgs, dir_of, parse_language};
use super::outcome::{Action, Outcome, Report};
use crate::base::error::ExitStatus;
use crate::base::i18n;
use crate::base::layout;
use crate::base::time::now_rfc3339;
use crate::consent::rules::DecidedBy;
use crate::consent::statements::Language;
use crate::engine::progress::Reporter;
use crate::{tr, trn};

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
        /// Language of the terminal's words and of the statement shown and recorded
        /// [default: from LANG].
        #[arg(long, value_parser = parse_language, value_name = "LANG")]
        lang: Option<Language>,
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
    },
}

pub(super) fn run_ksn(args: KsnArgs, report: &mut Report) -> anyhow::Result<ExitStatus> {
    use crate::maintenance::installed::{InstalledProduct, KsnState};
    use crate::maintenance::ksn_change::{self, ChangeOutcome, ChangeRequest};
    // Sentences for a person in their language; JSON for scripts stays as it is.
    let json = report.json;
    // Unattended: as if no terminal were there to ask on.
    let terminal = !report.unattended && std::io::stdin().is_terminal();
    let language = match &args.action {
        KsnAction::Agree { lang: Some(l), .. } => *l,
        _ => Language::from_env(),
    };
    if !json {
        i18n::set_language(language);
    }
    match args.action {
        KsnAction::Receipt { dir } => {
            let dir = dir_of(&dir);
            let installed = InstalledProduct::open(&dir)?;
            print_receipt(&dir, &installed, report)
        }
        KsnAction::History { dir, verify } => {
            let dir = dir_of(&dir);
            let installed = InstalledProduct::open(&dir)?;
            let root = crate::base::ownership::open_checked(&dir)?;
            let log = crate::base::ownership::read_record(&root, layout::CONSENT_LOG)?
                .unwrap_or_default();
            let history = crate::consent::history::read(&log, Some(installed.ksn_record()));
            if json {
                report.print_own(&history);
            } else {
                print_history(&history);
            }
            Ok(match (&history.broken, verify) {
                (Some(broken), true) => {
                    eprintln!(
                        "ksn-setup: {}",
                        tr!(
                            "the consent log {} was changed: line {}: {}",
                            dir.join(layout::CONSENT_LOG).display(),
                            broken.line,
                            broken.why
                        )
                    );
                    ExitStatus::Failed
                }
                _ => ExitStatus::Success,
            })
        }
        KsnAction::Status { dir } => {
            let dir = dir_of(&dir);
            let installed = InstalledProduct::open(&dir)?;
            let language = installed.ksn_record().statement_language;
            let status = installed.ksn_status(language);
            if json {
                report.print_own(&FleetStatus::of(&installed, &status)?);
                return Ok(ExitStatus::Success);
            }
            let record = &status.record;
            let state = match status.state {
                KsnState::On => tr!("on: the product takes part in Kaspersky Security Network"),
                KsnState::Off => tr!("off: declined"),
                KsnState::Undecided => tr!("off: no decision yet"),
                KsnState::NeedsConsent => {
                    tr!("off until the new KSN Statement is accepted (ksn-setup ksn agree)")
                }
            };
            println!("KSN: {state}");
            if let (Some(by), Some(at)) = (record.decided_by, &record.decided_at) {
                let when = crate::base::time::local_display(at);
                println!(
                    "{}",
                    match (by, record.locked) {
                        (DecidedBy::User, _) => tr!("Decided by you on {}", when),
                        (DecidedBy::Administrator, false) => {
                            tr!("Decided by your administrator on {}", when)
                        }
                        (DecidedBy::Administrator, true) => {
                            tr!("Decided and locked by your administrator on {}", when)
                        }
                    }
                );
            }
            if let Some(method) = record.method {
                println!("{}", tr!("How: {}", method.describe()));
            }
            if record.decision == crate::consent::rules::Decision::Agreed {
                println!(
                    "{}",
                    tr!(
                        "Agreed to: KSN Statement {} ({}), SHA-256 {}",
                        record.statement_version,
                        record.statement_language,
                        record.statement_sha256
                    )
                );
            }
            println!(
                "{}\n  {}",
                tr!(
                    "Installed statement: KSN Statement {} ({}), SHA-256 {}",
                    status.statement_version,
                    status.statement_language,
                    status.statement_sha256
                ),
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
                how: terminal_or_script(terminal, language),
            };
            let changed =
                match ksn_change::apply(&dir, &request, &now_rfc3339(), &Reporter::silent())? {
                    ChangeOutcome::Changed(_) => {
                        report.say(tr!(
                            "KSN is off: the product no longer takes part in Kaspersky Security \
                         Network."
                        ));
                        true
                    }
                    ChangeOutcome::Unchanged(_) => {
                        report.say(tr!("KSN was already off; nothing changed."));
                        false
                    }
                };
            report.set(changed_outcome("ksn decline", changed).of_installed(&dir));
            Ok(ExitStatus::Success)
        }
        KsnAction::Agree {
            dir,
            accept_statement,
            lang,
        } => {
            let dir = dir_of(&dir);
            let installed = InstalledProduct::open(&dir)?;
            let language = lang.unwrap_or(language);
            let statement = installed.ksn_statement();
            let (shown, text) = statement.text(language);
            let typed = accept_statement.is_none() && terminal && !json;
            let accepted = match accept_statement {
                Some(sha) => Some(sha),
                None if typed => {
                    println!(
                        "{}\n\n{}\n",
                        tr!("{}, version {}", statement.title(shown), statement.version),
                        text.reflowed()
                    );
                    // TRANSLATORS: the word typed to agree; the prompt below names it.
                    let yes = tr!("yes");
                    print!(
                        "{} ",
                        tr!(
                            "Type \"{}\" to agree to participate in Kaspersky Security Network:",
                            yes
                        )
                    );
                    use std::io::Write as _;
                    std::io::stdout().flush()?;
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    let typed_word = line.trim().to_lowercase();
                    if typed_word != yes.to_lowercase() && typed_word != "yes" {
                        println!("{}", tr!("Not agreed; nothing changed."));
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
                how: terminal_or_script(typed, language),
            };
            let changed =
                match ksn_change::apply(&dir, &request, &now_rfc3339(), &Reporter::silent())? {
                    ChangeOutcome::Changed(record) => {
                        report.say(tr!(
                            "KSN is on: the product takes part in Kaspersky Security Network (KSN \
                         Statement {}, {}).",
                            record.statement_version,
                            record.statement_language
                        ));
                        true
                    }
                    ChangeOutcome::Unchanged(_) => {
                        report.say(tr!("KSN was already on; nothing changed."));
                        false
                    }
                };
            report.set(changed_outcome("ksn agree", changed).of_installed(&dir));
            Ok(ExitStatus::Success)
        }
    }
}

/// The outcome of `ksn agree|decline`: the change made, or none needed.
fn changed_outcome(command: &str, changed: bool) -> Outcome {
    let action = if changed {
        Action::KsnChanged
    } else {
        Action::Nothing
    };
    Outcome::new(command, action, changed)
}

/// `ksn status --json`: the KSN facts and, so that a fleet's answers can be collected and
/// tabulated as they come, which product, where, for whom and on which machine.
#[derive(Debug, serde::Serialize)]
struct FleetStatus<'a> {
    /// The version of these fields (README, "Deploying to many machines").
    format: u32,
    host: String,
    dir: &'a std::path::Path,
    /// `system` when the install folder belongs to root (an install for all users),
    /// `user` when it belongs to a user (theirs only).
    scope: &'static str,
    product: super::outcome::Product,
    #[serde(flatten)]
    status: &'a crate::maintenance::installed::KsnStatus,
}

impl<'a> FleetStatus<'a> {
    fn of(
        installed: &'a crate::maintenance::installed::InstalledProduct,
        status: &'a crate::maintenance::installed::KsnStatus,
    ) -> anyhow::Result<FleetStatus<'a>> {
        let owner = crate::base::dir::Dir::open(&installed.dir)
            .and_then(|d| d.meta())
            .with_context(|| format!("cannot look at \"{}\"", installed.dir.display()))?
            .uid;
        Ok(FleetStatus {
            format: super::outcome::FORMAT,
            host: rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned(),
            dir: &installed.dir,
            scope: if owner == 0 { "system" } else { "user" },
            product: super::outcome::Product {
                name: installed.receipt.product_name.clone(),
                version: installed.receipt.product_version.clone(),
            },
            status,
        })
    }
}

/// How `ksn agree|decline` was given: typed on a terminal (after the Statement was shown, for
/// an agreement) in `language`, or by a script.
fn terminal_or_script(typed: bool, language: Language) -> crate::consent::rules::Collection {
    crate::consent::rules::Collection {
        method: if typed {
            crate::consent::rules::Method::Terminal
        } else {
            crate::consent::rules::Method::Script
        },
        interface_language: language,
        read_to_end: None,
    }
}

/// The receipt of the installed decision, as JSON (the specification's fields and words) or
/// as labelled lines in the user's language.
fn print_receipt(
    dir: &std::path::Path,
    installed: &crate::maintenance::installed::InstalledProduct,
    report: &mut Report,
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
    if report.json {
        report.print_own(&receipt);
        return Ok(ExitStatus::Success);
    }
    let x = &receipt.extension;
    let controller = &receipt.pii_controllers[0];
    let purpose = &receipt.services[0].purposes[0];
    let decision = match (x.decision, x.locked) {
        ("agreed", false) => tr!("agreed"),
        ("agreed", true) => tr!("agreed (locked)"),
        ("declined", false) => tr!("declined"),
        ("declined", true) => tr!("declined (locked)"),
        (_, _) => tr!("no decision yet"),
    };
    let decided_by = match x.decided_by {
        Some("user") => tr!("the user"),
        Some("administrator") => tr!("the administrator"),
        _ => tr!("not recorded"),
    };
    let rows = [
        (tr!("Receipt ID"), receipt.consent_receipt_id.clone()),
        (tr!("Product"), x.product.clone()),
        (
            tr!("Controller"),
            format!("{} <{}>", controller.contact, controller.email),
        ),
        (tr!("Service"), receipt.services[0].service.to_string()),
        (tr!("Purpose"), purpose.purpose.clone()),
        (tr!("Data"), purpose.pii_category.join("; ")),
        (tr!("Decision"), decision),
        (tr!("Decided by"), decided_by),
        (
            tr!("When"),
            format!(
                "{} ({})",
                crate::base::time::local_display(&x.decided_at),
                x.decided_at
            ),
        ),
        (
            tr!("Collection method"),
            match installed.ksn_record().method {
                Some(method) => method.describe(),
                None => tr!("not recorded"),
            },
        ),
        (
            tr!("Statement"),
            tr!(
                "{} {} ({}), SHA-256 {}",
                x.statement_id,
                x.statement_version,
                x.statement_language,
                x.statement_sha256
            ),
        ),
        (tr!("Statement text"), x.statement_url.clone()),
        (tr!("Privacy policy"), receipt.policy_url.clone()),
        (tr!("How to withdraw"), x.how_to_withdraw.clone()),
    ];
    println!("{}", tr!("Consent receipt ({})", receipt.version));
    for line in crate::console::labelled_lines(&rows) {
        println!("{line}");
    }
    Ok(ExitStatus::Success)
}

/// The history in sentences, a decision a line, in the user's language.
fn print_history(history: &crate::consent::history::History) {
    use crate::consent::rules::Decision;
    for entry in &history.entries {
        let Some(line) = &entry.decision else {
            println!(
                "{:>4}. {}",
                entry.line,
                tr!("(not a decision ksn-setup writes)")
            );
            continue;
        };
        let record = &line.record;
        let admin = record.decided_by == Some(DecidedBy::Administrator);
        let what = match (record.decision, record.decided_by.is_some(), admin) {
            (Decision::Agreed, _, true) => tr!("the administrator agreed to KSN"),
            (Decision::Agreed, true, false) => tr!("the user agreed to KSN"),
            (Decision::Agreed, false, _) => tr!("agreed to KSN"),
            (Decision::Declined, _, true) => tr!("the administrator declined KSN"),
            (Decision::Declined, true, false) => tr!("the user declined KSN"),
            (Decision::Declined, false, _) => tr!("declined KSN"),
            (Decision::Undecided, ..) => tr!("no decision (KSN off)"),
        };
        let how = record
            .method
            .map(|m| format!(", {}", m.describe()))
            .unwrap_or_default();
        let event = match line.event.as_str() {
            "install" => tr!("at install"),
            "change" => tr!("changed later"),
            other => other.to_string(),
        };
        println!(
            "{:>4}. {} {what}{how} ({event}): {}{}",
            entry.line,
            crate::base::time::local_display(&line.at),
            tr!(
                "KSN Statement {} ({}), SHA-256 {}",
                record.statement_version,
                record.statement_language,
                record.statement_sha256
            ),
            if entry.chained {
                String::new()
            } else {
                format!(" [{}]", tr!("unchained"))
            }
        );
    }
    if history.unchained > 0 {
        println!(
            "{}",
            trn!(
                "{n} line at the start was written before the log was chained; it cannot be \
                 checked.",
                "{n} lines at the start were written before the log was chained; they cannot \
                 be checked.",
                history.unchained as u64
            )
        );
    }
    match &history.broken {
        Some(b) => println!("{}", tr!("The log was changed: line {}: {}", b.line, b.why)),
        None => println!("{}", tr!("The chain of the log is intact.")),
    }
}
