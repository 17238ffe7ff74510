//! The consent log as a tamper-evident history: each line carries the SHA-256 of the line
//! before it (`prev_sha256`; the first line [`START`]), so an edited, removed or reordered
//! line breaks the chain at the first line after it. Logs written before the chain existed
//! are read and reported as unchained.
//!
//! Pure: the log's bytes in, the history and its check out; the front ends print them.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::consent::rules::{KsnRecord, LogLine};
use crate::tr;

/// `prev_sha256` of the first line of a log.
pub const START: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The `prev_sha256` a line appended after `log` (the log's bytes as they are) must carry: the
/// SHA-256 of its last line with its newline, or [`START`] for an empty or absent log.
pub fn tip(log: Option<&[u8]>) -> String {
    let Some(log) = log.filter(|l| !l.is_empty()) else {
        return START.to_string();
    };
    let body = log.strip_suffix(b"\n").unwrap_or(log);
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    hex::encode(Sha256::digest(&log[start..]))
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1-based, as an editor shows it.
    pub line: usize,
    /// The decision, when the line is one ksn-setup writes.
    pub decision: Option<LogLine>,
    /// The line carries the chain.
    pub chained: bool,
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The first line that does not follow from the ones before it.
    pub line: usize,
    pub why: String,
}

/// The log read as a history, and its check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct History {
    pub entries: Vec<Entry>,
    /// Lines at the start written before the chain existed.
    pub unchained: usize,
    pub broken: Option<Break>,
}

/// Reads `log` (its bytes) and checks its chain, and that its last decision is the one
/// `current` (the config's record) holds: a log cut short at its end breaks no chain, but
/// its last line is then not the decision in force.
pub fn read(log: &[u8], current: Option<&KsnRecord>) -> History {
    let mut entries = Vec::new();
    let mut broken = None;
    let mut expected = START.to_string();
    let mut seen_chained = false;
    let mut unchained = 0;
    let text_lines = log.split_inclusive(|&b| b == b'\n').filter(|l| l != b"\n");
    for (index, bytes) in text_lines.enumerate() {
        let line = index + 1;
        let parsed: Option<LogLine> = std::str::from_utf8(bytes)
            .ok()
            .and_then(|t| serde_json::from_str(t.trim_end()).ok());
        let chained = parsed.as_ref().is_some_and(|p| p.prev_sha256.is_some());
        if broken.is_none() {
            let why = match &parsed {
                None => Some(tr!("it is not a decision ksn-setup writes")),
                Some(p) => match &p.prev_sha256 {
                    Some(prev) if *prev != expected => Some(if line == 1 {
                        tr!(
                            "it names a line before it, but it is the first: lines before it \
                             were removed"
                        )
                    } else {
                        tr!(
                            "it does not follow line {}: that line was edited, or lines were \
                             removed or reordered here",
                            line - 1
                        )
                    }),
                    None if seen_chained => Some(tr!(
                        "it carries no chain after lines that do: it was added by hand"
                    )),
                    _ => None,
                },
            };
            if let Some(why) = why {
                broken = Some(Break { line, why });
            }
        }
        if chained {
            seen_chained = true;
        } else if parsed.is_some() && !seen_chained {
            unchained += 1;
        }
        expected = hex::encode(Sha256::digest(bytes));
        entries.push(Entry {
            line,
            decision: parsed,
            chained,
        });
    }
    if broken.is_none()
        && let Some(current) = current
        && let Some(last) = entries.last()
        && last.decision.as_ref().is_some_and(|d| d.record != *current)
    {
        broken = Some(Break {
            line: last.line,
            why: tr!(
                "it is not the decision the config holds: lines were removed at the end, or \
                 the config was changed by hand"
            ),
        });
    }
    History {
        entries,
        unchained,
        broken,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::rules::{Decision, Reason};
    use crate::consent::statements::Language;

    fn line(at: &str, prev: Option<String>, participate: bool) -> String {
        LogLine {
            format: 1,
            at: at.into(),
            event: "change".into(),
            record: record(participate, at),
            reason: Reason::Answered,
            product_version: "1".into(),
            installer_version: "0".into(),
            prev_sha256: prev,
        }
        .to_line()
    }

    fn record(participate: bool, at: &str) -> KsnRecord {
        KsnRecord {
            participate,
            decision: if participate {
                Decision::Agreed
            } else {
                Decision::Declined
            },
            decided_by: None,
            decided_at: Some(at.into()),
            locked: false,
            statement_id: "ksn".into(),
            statement_version: "1".into(),
            statement_language: Language::En,
            statement_sha256: "x".into(),
            method: None,
            interface_language: None,
            statement_read_to_end: None,
        }
    }

    fn chain(n: usize) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for i in 0..n {
            let prev = tip(Some(lines.concat().as_bytes()));
            lines.push(line(&format!("t{i}"), Some(prev), i % 2 == 0));
        }
        lines
    }

    #[test]
    fn a_chain_written_line_by_line_checks() {
        let lines = chain(4);
        let h = read(lines.concat().as_bytes(), Some(&record(false, "t3")));
        assert_eq!(h.broken, None, "{h:?}");
        assert_eq!(h.entries.len(), 4);
        assert_eq!(h.unchained, 0);
        assert_eq!(tip(None), START);
    }

    #[test]
    fn an_edited_removed_or_reordered_line_is_named() {
        let lines = chain(4);
        let mut edited = lines.clone();
        edited[1] = edited[1].replace("\"t1\"", "\"t9\"");
        assert_eq!(
            read(edited.concat().as_bytes(), None).broken.unwrap().line,
            3
        );
        let mut removed = lines.clone();
        removed.remove(1);
        assert_eq!(
            read(removed.concat().as_bytes(), None).broken.unwrap().line,
            2
        );
        let mut reordered = lines.clone();
        reordered.swap(1, 2);
        assert_eq!(
            read(reordered.concat().as_bytes(), None)
                .broken
                .unwrap()
                .line,
            2
        );
        let first_gone = lines[1..].concat();
        assert_eq!(read(first_gone.as_bytes(), None).broken.unwrap().line, 1);
        // The last line cut off: the config's decision is not the log's last.
        let cut = lines[..3].concat();
        let h = read(cut.as_bytes(), Some(&record(false, "t3")));
        assert_eq!(h.broken.unwrap().line, 3);
    }

    #[test]
    fn an_older_log_without_the_chain_is_read_as_unchained() {
        let old = format!("{}{}", line("a", None, true), line("b", None, false));
        let h = read(old.as_bytes(), None);
        assert_eq!(h.broken, None);
        assert_eq!(h.unchained, 2);
        // Chained lines may follow an unchained start: the first chained line names its
        // predecessor.
        let prev = tip(Some(old.as_bytes()));
        let more = format!("{old}{}", line("c", Some(prev), true));
        let h = read(more.as_bytes(), None);
        assert_eq!(h.broken, None, "{h:?}");
    }
}
