//! The KSN consent rules, in one place.
//!
//! A record says what the product obeys (`participate`) and why: the decision, who made it,
//! when, and the exact statement text (id, version, language, SHA-256). The rules:
//! - participation is on only after an explicit agreement;
//! - an answer given now (by the user, or by an administrator's preset) always wins;
//! - with no answer, an earlier decline is kept; an earlier agreement is kept only while the
//!   text it was given to (its SHA-256) is the current statement's, or an earlier text the
//!   current one names by hash with `consent_carries_over = true`; otherwise the decision
//!   falls back to undecided. A version string alone never carries an agreement;
//! - every change is appended to the consent log, never rewritten.

use serde::{Deserialize, Serialize};

use crate::consent::statements::{Language, Statement};
use crate::tr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Agreed,
    Declined,
    Undecided,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Agreed => "agreed",
            Decision::Declined => "declined",
            Decision::Undecided => "undecided",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecidedBy {
    /// The person at the keyboard, in the wizard or the settings.
    User,
    /// A preset: an answers file or command-line flags.
    Administrator,
}

impl DecidedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            DecidedBy::User => "user",
            DecidedBy::Administrator => "administrator",
        }
    }
}

/// How a decision was given (the collection method of ISO/IEC TS 27560 and the Kantara
/// Consent Receipt): which interface, and for the terminal and scripts, how the Statement
/// was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The setup wizard's window.
    WizardWindow,
    /// The setup wizard on a terminal.
    ConsoleWizard,
    /// The product's Settings window.
    SettingsWindow,
    /// `ksn agree` showed the Statement on a terminal and "yes" was typed; `ksn decline` there.
    Terminal,
    /// `ksn agree --accept-statement HASH`: a script showed the text and passed its hash.
    Script,
    /// An administrator's answers file (or the answers packed into an installer).
    AnswersFile,
    /// An administrator's flags (`--ksn agree|decline`).
    CommandLine,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::WizardWindow => "wizard-window",
            Method::ConsoleWizard => "console-wizard",
            Method::SettingsWindow => "settings-window",
            Method::Terminal => "terminal",
            Method::Script => "script",
            Method::AnswersFile => "answers-file",
            Method::CommandLine => "command-line",
        }
    }

    /// How it was given, for people, in the current language: "in the setup window".
    pub fn describe(self) -> String {
        match self {
            Method::WizardWindow => tr!("in the setup window"),
            Method::ConsoleWizard => tr!("in the setup wizard on a terminal"),
            Method::SettingsWindow => tr!("in the Settings window"),
            Method::Terminal => tr!("typed on a terminal"),
            Method::Script => tr!("by a script"),
            Method::AnswersFile => tr!("in an answers file"),
            Method::CommandLine => tr!("with a command-line flag"),
        }
    }
}

/// How an answer was given, for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    pub method: Method,
    /// The language of the interface the answer was given in.
    pub interface_language: Language,
    /// For the wizards and the Settings window: whether the Statement was shown to its end
    /// (scrolled, or paged, to its last line). Recorded, never required.
    pub read_to_end: Option<bool>,
}

/// The `[ksn]` table of the installed config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KsnRecord {
    /// What the product obeys: true only when `decision` is agreed.
    pub participate: bool,
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<DecidedBy>,
    /// RFC 3339 UTC; absent while undecided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// An administrator fixed the choice; the wizard and the settings show it but cannot change it.
    #[serde(default)]
    pub locked: bool,
    pub statement_id: String,
    pub statement_version: String,
    pub statement_language: Language,
    pub statement_sha256: String,
    /// How the decision was given; absent while undecided, and in records written before
    /// ksn-setup kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// The language of the interface the decision was given in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_language: Option<Language>,
    /// For the wizards and the Settings window: whether the Statement was shown to its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_read_to_end: Option<bool>,
}

impl KsnRecord {
    /// Records how the decision was given.
    pub fn collected(mut self, how: Option<Collection>) -> KsnRecord {
        self.method = how.map(|h| h.method);
        self.interface_language = how.map(|h| h.interface_language);
        self.statement_read_to_end = how.and_then(|h| h.read_to_end);
        self
    }
}

/// A KSN answer given in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KsnAnswer {
    pub participate: bool,
    pub by: DecidedBy,
    pub locked: bool,
    /// How it was given.
    pub how: Collection,
}

/// Why the record is what it is, for the plan, the log and the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Answered in this run.
    Answered,
    /// Nobody has decided yet.
    NoAnswer,
    /// An earlier decision still stands.
    KeptEarlier,
    /// An earlier agreement was to a statement text that needs new consent: another version,
    /// or the same version with another text.
    StatementChanged {
        agreed_version: String,
        /// The SHA-256 of the text agreed to (absent in lines written before it was kept).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agreed_sha256: Option<String>,
    },
}

/// The outcome of applying the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub record: KsnRecord,
    pub reason: Reason,
    /// Whether the record changed, so a consent-log line must be appended.
    pub changed: bool,
}

/// Applies the rules for an install or upgrade at time `now` (RFC 3339).
pub fn resolve(
    previous: Option<&KsnRecord>,
    answer: Option<KsnAnswer>,
    statement: &Statement,
    language: Language,
    now: &str,
) -> Resolution {
    let (shown_language, text) = statement.text(language);
    let current = |decision: Decision, by: Option<DecidedBy>, locked: bool| KsnRecord {
        participate: decision == Decision::Agreed,
        decision,
        decided_by: by,
        decided_at: by.map(|_| now.to_string()),
        locked,
        statement_id: statement.id.clone(),
        statement_version: statement.version.clone(),
        statement_language: shown_language,
        statement_sha256: text.sha256.clone(),
        method: None,
        interface_language: None,
        statement_read_to_end: None,
    };
    if let Some(answer) = answer {
        let decision = if answer.participate {
            Decision::Agreed
        } else {
            Decision::Declined
        };
        // The same answer, by the same party, with the same lock, to the very text already
        // decided on: the earlier decision stands, and its record (with its time and how it
        // was given) is what proves it. Running the same installer again writes no second
        // record of a decision nobody made anew.
        if let Some(prev) = previous
            && prev.decision == decision
            && prev.decided_by == Some(answer.by)
            && prev.locked == answer.locked
            && prev.statement_id == statement.id
            && prev.statement_sha256 == text.sha256
        {
            return Resolution {
                record: prev.clone(),
                reason: Reason::KeptEarlier,
                changed: false,
            };
        }
        return Resolution {
            record: current(decision, Some(answer.by), answer.locked).collected(Some(answer.how)),
            reason: Reason::Answered,
            changed: true,
        };
    }
    match previous {
        Some(prev) if prev.decision == Decision::Declined => Resolution {
            record: KsnRecord {
                participate: false,
                ..prev.clone()
            },
            reason: Reason::KeptEarlier,
            changed: false,
        },
        Some(prev)
            if prev.decision == Decision::Agreed
                && prev.statement_id == statement.id
                && statement.consent_still_valid(&prev.statement_sha256) =>
        {
            Resolution {
                record: prev.clone(),
                reason: Reason::KeptEarlier,
                changed: false,
            }
        }
        Some(prev) if prev.decision == Decision::Agreed => Resolution {
            record: current(Decision::Undecided, None, false),
            reason: Reason::StatementChanged {
                agreed_version: prev.statement_version.clone(),
                agreed_sha256: Some(prev.statement_sha256.clone()),
            },
            changed: true,
        },
        Some(prev) => {
            let record = current(Decision::Undecided, None, prev.locked);
            let changed = record != *prev;
            Resolution {
                record,
                reason: Reason::NoAnswer,
                changed,
            }
        }
        None => Resolution {
            record: current(Decision::Undecided, None, false),
            reason: Reason::NoAnswer,
            changed: true,
        },
    }
}

/// One line of `etc/consent-log.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub format: u32,
    /// When the line was written (RFC 3339 UTC).
    pub at: String,
    /// What happened: `install`, `upgrade`, `change`.
    pub event: String,
    #[serde(flatten)]
    pub record: KsnRecord,
    pub reason: Reason,
    pub product_version: String,
    pub installer_version: String,
    /// The SHA-256 of the line before this one (with its newline), or
    /// [`crate::consent::history::START`] for the first: the log's chain. Absent in lines
    /// written before ksn-setup kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_sha256: Option<String>,
}

impl LogLine {
    /// The line as written, with its newline.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("a log line serialises");
        line.push('\n');
        line
    }
}

/// A sentence saying what the record means, for summaries and the CLI.
pub fn describe(record: &KsnRecord) -> String {
    match (record.decision, record.decided_by) {
        (Decision::Agreed, by) => format!(
            "participates in KSN (agreed by {} to statement {} {}, {})",
            by.map(DecidedBy::as_str).unwrap_or("unknown"),
            record.statement_id,
            record.statement_version,
            record.statement_language
        ),
        (Decision::Declined, by) => format!(
            "does not participate in KSN (declined by {})",
            by.map(DecidedBy::as_str).unwrap_or("unknown")
        ),
        (Decision::Undecided, _) => "does not participate in KSN (no decision yet)".to_string(),
    }
}

/// The record in a sentence for people, in the current language: what the Finish page and
/// `ksn status` on a terminal say.
pub fn in_words(record: &KsnRecord) -> String {
    let admin = record.decided_by == Some(DecidedBy::Administrator);
    match (record.decision, admin) {
        (Decision::Agreed, false) => tr!(
            "Kaspersky Security Network: the product takes part; you agreed to KSN Statement {}.",
            record.statement_version
        ),
        (Decision::Agreed, true) => tr!(
            "Kaspersky Security Network: the product takes part; your administrator agreed to \
             KSN Statement {}.",
            record.statement_version
        ),
        (Decision::Declined, false) => {
            tr!("Kaspersky Security Network: the product does not take part; you declined.")
        }
        (Decision::Declined, true) => tr!(
            "Kaspersky Security Network: the product does not take part; your administrator \
             declined."
        ),
        (Decision::Undecided, _) => tr!(
            "Kaspersky Security Network: the product does not take part; nobody has decided \
             yet."
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::consent::statements::{Superseded, Text};

    const NOW: &str = "2026-11-23T08:00:00Z";

    fn statement(version: &str, supersedes: Vec<Superseded>) -> Statement {
        let mut texts = BTreeMap::new();
        texts.insert(
            Language::En,
            Text::new("ksn.en.txt".into(), b"statement text".to_vec()),
        );
        Statement {
            id: "ksn".into(),
            version: version.into(),
            titles: BTreeMap::new(),
            texts,
            supersedes,
            earlier_texts: BTreeMap::new(),
        }
    }

    fn agreed(version: &str) -> KsnRecord {
        KsnRecord {
            participate: true,
            decision: Decision::Agreed,
            decided_by: Some(DecidedBy::User),
            decided_at: Some("2025-01-01T00:00:00Z".into()),
            locked: false,
            statement_id: "ksn".into(),
            statement_version: version.into(),
            statement_language: Language::En,
            statement_sha256: "old".into(),
            method: Some(Method::WizardWindow),
            interface_language: Some(Language::En),
            statement_read_to_end: None,
        }
    }

    #[test]
    fn no_answer_on_fresh_install_is_undecided_and_off() {
        let r = resolve(None, None, &statement("1.1", vec![]), Language::Ru, NOW);
        assert_eq!(r.record.decision, Decision::Undecided);
        assert!(!r.record.participate);
        assert_eq!(r.record.decided_at, None);
        assert_eq!(r.record.decided_by, None);
        assert_eq!(
            r.record.statement_language,
            Language::En,
            "falls back to a shipped text"
        );
    }

    #[test]
    fn an_answer_records_who_and_which_text() {
        let s = statement("1.1", vec![]);
        let answer = KsnAnswer {
            participate: true,
            by: DecidedBy::Administrator,
            locked: true,
            how: Collection {
                method: Method::AnswersFile,
                interface_language: Language::Ru,
                read_to_end: None,
            },
        };
        let r = resolve(Some(&agreed("1.0")), Some(answer), &s, Language::En, NOW);
        assert!(r.record.participate);
        // How it was given goes with it.
        assert_eq!(r.record.method, Some(Method::AnswersFile));
        assert_eq!(r.record.interface_language, Some(Language::Ru));
        assert_eq!(r.record.decided_by, Some(DecidedBy::Administrator));
        assert_eq!(r.record.decided_at.as_deref(), Some(NOW));
        assert_eq!(r.record.statement_version, "1.1");
        assert_eq!(r.record.statement_sha256, s.texts[&Language::En].sha256);
        assert!(r.record.locked);
    }

    #[test]
    fn agreement_to_a_materially_changed_statement_becomes_undecided() {
        let s = statement(
            "2.0",
            vec![Superseded {
                version: "1.0".into(),
                consent_carries_over: false,
                sha256: BTreeMap::new(),
                files: BTreeMap::new(),
            }],
        );
        let r = resolve(Some(&agreed("1.0")), None, &s, Language::En, NOW);
        assert_eq!(r.record.decision, Decision::Undecided);
        assert!(!r.record.participate);
        assert!(r.changed);
        assert_eq!(
            r.reason,
            Reason::StatementChanged {
                agreed_version: "1.0".into(),
                agreed_sha256: Some("old".into()),
            }
        );
    }

    #[test]
    fn agreement_carries_over_an_editorial_change() {
        let s = statement(
            "1.1",
            vec![Superseded {
                version: "1.0".into(),
                consent_carries_over: true,
                sha256: BTreeMap::from([(Language::En, "old".to_string())]),
                files: BTreeMap::new(),
            }],
        );
        let prev = agreed("1.0");
        let r = resolve(Some(&prev), None, &s, Language::En, NOW);
        assert_eq!(r.record, prev);
        assert!(!r.changed);
    }

    #[test]
    fn a_carried_over_version_with_another_text_needs_new_consent() {
        // The index says consent to 1.0 carries over, but to a 1.0 text other than the one
        // this user agreed to.
        let s = statement(
            "1.1",
            vec![Superseded {
                version: "1.0".into(),
                consent_carries_over: true,
                sha256: BTreeMap::from([(Language::En, "another".to_string())]),
                files: BTreeMap::new(),
            }],
        );
        let r = resolve(Some(&agreed("1.0")), None, &s, Language::En, NOW);
        assert_eq!(r.record.decision, Decision::Undecided);
        assert!(!r.record.participate);
    }

    #[test]
    fn a_changed_text_under_the_same_version_needs_new_consent() {
        let s = statement("1.1", vec![]);
        // Agreed to 1.1, but to a text whose hash is not this 1.1 text's.
        let r = resolve(Some(&agreed("1.1")), None, &s, Language::En, NOW);
        assert_eq!(r.record.decision, Decision::Undecided);
        assert!(r.changed);
        assert!(matches!(r.reason, Reason::StatementChanged { .. }));
        // The same text agreed to stands.
        let mut same = agreed("1.1");
        same.statement_sha256 = s.texts[&Language::En].sha256.clone();
        let r = resolve(Some(&same), None, &s, Language::En, NOW);
        assert_eq!(r.record, same);
    }

    #[test]
    fn agreement_to_an_unknown_version_is_not_carried_over() {
        let s = statement("1.1", vec![]);
        let r = resolve(Some(&agreed("0.9")), None, &s, Language::En, NOW);
        assert_eq!(r.record.decision, Decision::Undecided);
    }

    #[test]
    fn a_decline_is_kept() {
        let s = statement("2.0", vec![]);
        let mut prev = agreed("1.0");
        prev.decision = Decision::Declined;
        prev.participate = false;
        let r = resolve(Some(&prev), None, &s, Language::En, NOW);
        assert_eq!(r.record, prev);
        assert!(!r.changed);
    }
}
