//! Every sentence a window shows has its Russian translation, and the translation keeps the
//! sentence's placeholders: a missing entry would show English in the Russian window, and a
//! lost `{}` would drop a folder or a version from the sentence. Stale entries (for text no
//! window shows any more) are refused too, so the catalogue stays the one the windows use.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const CATALOGUE: &str = "ui/translations/ru/LC_MESSAGES/ksn-setup.po";

/// One `@tr(...)` in a `.slint` file: its text (and plural text), and where it is.
#[derive(Debug)]
struct Wanted {
    msgid: String,
    plural: Option<String>,
    at: String,
}

/// One catalogue entry.
#[derive(Debug)]
struct Entry {
    msgid: String,
    plural: Option<String>,
    msgstrs: Vec<String>,
    line: usize,
}

fn slint_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            slint_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slint") {
            out.push(path);
        }
    }
}

/// Reads a Slint string literal starting at the `"` at `start`; returns its text (escapes
/// resolved as Slint resolves them) and the index after the closing quote.
fn string_literal(src: &[u8], start: usize) -> (String, usize) {
    assert_eq!(src[start], b'"');
    let mut out = Vec::new();
    let mut i = start + 1;
    while src[i] != b'"' {
        if src[i] == b'\\' {
            i += 1;
            out.push(match src[i] {
                b'n' => b'\n',
                other => other,
            });
        } else {
            out.push(src[i]);
        }
        i += 1;
    }
    (String::from_utf8(out).unwrap(), i + 1)
}

fn skip_space(src: &[u8], mut i: usize) -> usize {
    while src[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Every `@tr("text")` and `@tr("one" | "many" % n, …)` in the UI.
fn wanted() -> Vec<Wanted> {
    let mut files = Vec::new();
    slint_files(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("ui").as_path(),
        &mut files,
    );
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let src = text.as_bytes();
        let mut from = 0;
        while let Some(found) = text[from..].find("@tr(") {
            let open = from + found + 4;
            let line = text[..open].lines().count();
            let at = format!("{}:{line}", file.display());
            let i = skip_space(src, open);
            assert_eq!(src[i], b'"', "{at}: @tr( without a string literal");
            let (first, next) = string_literal(src, i);
            let i = skip_space(src, next);
            let (msgid, plural, i) = if src[i] == b'=' {
                panic!("{at}: a translation context is not used in this project");
            } else if src[i] == b'|' {
                let j = skip_space(src, i + 1);
                let (many, next) = string_literal(src, j);
                (first, Some(many), next)
            } else {
                (first, None, i)
            };
            out.push(Wanted { msgid, plural, at });
            from = i;
        }
    }
    out
}

/// Reads a `.po` string: the concatenation of the quoted pieces on this and following lines.
fn po_string(lines: &[&str], mut i: usize, keyword: &str) -> (String, usize) {
    let first = lines[i][keyword.len()..].trim();
    let mut pieces = vec![first];
    i += 1;
    while i < lines.len() && lines[i].starts_with('"') {
        pieces.push(lines[i].trim());
        i += 1;
    }
    let mut out = String::new();
    for piece in pieces {
        let inner = &piece[1..piece.len() - 1];
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
    }
    (out, i)
}

fn catalogue() -> Vec<Entry> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(CATALOGUE)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("msgid ") {
            assert!(
                !lines[i].starts_with("msgctxt"),
                "{CATALOGUE}:{}: a translation context is not used in this project",
                i + 1
            );
            i += 1;
            continue;
        }
        let line = i + 1;
        let (msgid, next) = po_string(&lines, i, "msgid ");
        i = next;
        let mut plural = None;
        if lines[i].starts_with("msgid_plural ") {
            let (p, next) = po_string(&lines, i, "msgid_plural ");
            plural = Some(p);
            i = next;
        }
        let mut msgstrs = Vec::new();
        while i < lines.len() && lines[i].starts_with("msgstr") {
            let keyword_end = lines[i].find(' ').unwrap() + 1;
            let keyword = &lines[i][..keyword_end];
            let (s, next) = po_string(&lines, i, keyword);
            msgstrs.push(s);
            i = next;
        }
        out.push(Entry {
            msgid,
            plural,
            msgstrs,
            line,
        });
    }
    out
}

/// The placeholders of a sentence, in order: `{}`, `{0}`, `{n}`.
fn placeholders(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .unwrap_or(rest.len() - 1);
        out.push(rest[open..=close].to_string());
        rest = &rest[close + 1..];
    }
    out
}

#[test]
fn every_sentence_of_the_windows_has_its_russian_translation() {
    let wanted = wanted();
    let entries = catalogue();
    assert!(
        wanted.len() > 100,
        "the UI has its sentences: {}",
        wanted.len()
    );
    let mut missing = Vec::new();
    for w in &wanted {
        match entries.iter().find(|e| e.msgid == w.msgid) {
            None => missing.push(format!("{}: {:?}", w.at, w.msgid)),
            Some(e) if e.plural != w.plural => missing.push(format!(
                "{}: {:?} has plural {:?} in the UI but {:?} in {CATALOGUE}:{}",
                w.at, w.msgid, w.plural, e.plural, e.line
            )),
            Some(_) => {}
        }
    }
    assert!(
        missing.is_empty(),
        "not translated:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_russian_translation_keeps_the_placeholders_and_is_in_use() {
    let used: BTreeSet<String> = wanted().into_iter().map(|w| w.msgid).collect();
    let mut wrong = Vec::new();
    let mut seen = BTreeSet::new();
    for e in catalogue() {
        if e.msgid.is_empty() {
            continue; // the header
        }
        let at = format!("{CATALOGUE}:{}", e.line);
        if !seen.insert(e.msgid.clone()) {
            wrong.push(format!("{at}: {:?} is in the catalogue twice", e.msgid));
        }
        if !used.contains(&e.msgid) {
            wrong.push(format!("{at}: {:?} is not shown by any window", e.msgid));
        }
        let expected = if e.plural.is_some() { 3 } else { 1 };
        if e.msgstrs.len() != expected {
            wrong.push(format!(
                "{at}: expected {expected} translation(s), found {}",
                e.msgstrs.len()
            ));
        }
        let mut want = placeholders(&e.msgid);
        want.sort();
        for s in &e.msgstrs {
            if s.trim().is_empty() {
                wrong.push(format!("{at}: {:?} has an empty translation", e.msgid));
                continue;
            }
            let mut got = placeholders(s);
            got.sort();
            if got != want {
                wrong.push(format!(
                    "{at}: {:?} has placeholders {want:?}, its translation {s:?} has {got:?}",
                    e.msgid
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "catalogue problems:\n{}",
        wrong.join("\n")
    );
}
