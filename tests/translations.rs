//! Every sentence a person reads has its translation in every catalogue, and the
//! translation keeps the sentence's placeholders: a missing entry would show English in a
//! Russian or German window or terminal, and a lost `{}` would drop a folder or a version
//! from the sentence. The sentences are every `@tr(...)` in the `.slint` files and every
//! `tr!`/`trn!` in the Rust sources; the catalogues are every
//! `ui/translations/<code>/LC_MESSAGES/ksn-setup.po`, read with rspolib as the build reads
//! them. Stale entries (for text nothing shows any more) are refused too, so each catalogue
//! stays the one the program uses.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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
    fuzzy: bool,
    line: usize,
}

/// One language's catalogue.
#[derive(Debug)]
struct Catalogue {
    path: String,
    plural_forms: usize,
    entries: Vec<Entry>,
}

/// Every file ending in `.extension` under the repository's `folder`, sorted.
fn sources(folder: &str, extension: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, extension, out);
            } else if path.extension().is_some_and(|e| e == extension) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(folder),
        extension,
        &mut out,
    );
    out.sort();
    out
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
fn wanted_by_slint() -> Vec<Wanted> {
    let mut out = Vec::new();
    for file in sources("ui", "slint") {
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

/// Reads one `tr!("text", …)` or `trn!("one", "many", n, …)` call with syn, so string
/// escapes and `\` line continuations come out as the compiler makes them.
fn parse_call(name: &str, call: &str, at: &str) -> Wanted {
    let mac: syn::Macro =
        syn::parse_str(call).unwrap_or_else(|e| panic!("{at}: {call} does not parse: {e}"));
    let args = mac
        .parse_body_with(syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        .unwrap_or_else(|e| panic!("{at}: {name}! does not parse: {e}"));
    let literal = |i: usize| match args.iter().nth(i) {
        Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        })) => s.value(),
        _ => panic!("{at}: {name}! takes string literals as its message"),
    };
    Wanted {
        msgid: literal(0),
        plural: (name == "trn").then(|| literal(1)),
        at: at.to_string(),
    }
}

/// Every `tr!(`/`trn!(` in `src/`, wherever it stands: a call in another macro's arguments
/// (`format!("{}", tr!(…))`) is only tokens to a Rust parser, so calls are found by their
/// text and each one is then parsed alone.
fn wanted_by_rust() -> Vec<Wanted> {
    let mut out = Vec::new();
    for file in &sources("src", "rs") {
        let text = std::fs::read_to_string(file).unwrap();
        let mut offset = 0;
        for (line_number, line) in text.lines().enumerate() {
            let line_start = offset;
            offset += line.len() + 1;
            if line.trim_start().starts_with("//") {
                continue; // comments and doc examples
            }
            for name in ["tr", "trn"] {
                let opener = format!("{name}!(");
                let mut from = 0;
                while let Some(i) = line[from..].find(&opener) {
                    let start = from + i;
                    from = start + opener.len();
                    let before = line[..start].chars().last();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue; // `str!(`, not ours
                    }
                    let at = format!("{}:{}", file.display(), line_number + 1);
                    let call = &text[line_start + start..];
                    out.push(parse_call(name, &call[..call_end(call, &at)], &at));
                }
            }
        }
    }
    out
}

/// The length of the macro call at the start of `call`, to its closing parenthesis.
fn call_end(call: &str, at: &str) -> usize {
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (j, c) in call.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
    }
    panic!("{at}: the call is not closed")
}

fn wanted() -> Vec<Wanted> {
    let mut all = wanted_by_slint();
    all.extend(wanted_by_rust());
    all
}

/// Every catalogue, with its entries as rspolib reads them (unescaped).
fn catalogues() -> Vec<Catalogue> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/translations");
    let mut out = Vec::new();
    let mut languages: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    languages.sort();
    for dir in languages {
        let po = dir.join("LC_MESSAGES/ksn-setup.po");
        if !po.is_file() {
            continue;
        }
        let path = po
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .display()
            .to_string();
        let file = rspolib::pofile(po.to_str().unwrap()).unwrap_or_else(|e| panic!("{path}: {e}"));
        let forms = file
            .metadata
            .get("Plural-Forms")
            .unwrap_or_else(|| panic!("{path}: the header has no Plural-Forms"));
        let plural_forms = forms
            .split(';')
            .find_map(|part| part.trim().strip_prefix("nplurals="))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{path}: Plural-Forms has no nplurals: {forms}"));
        let entries = file
            .entries
            .iter()
            .filter(|e| !e.obsolete)
            .map(|e| {
                assert!(
                    e.msgctxt.is_none(),
                    "{path}:{}: a translation context is not used in this project",
                    e.linenum
                );
                Entry {
                    msgid: e.msgid.clone(),
                    plural: e.msgid_plural.clone(),
                    msgstrs: match &e.msgid_plural {
                        Some(_) => e.msgstr_plural.clone(),
                        None => e.msgstr.iter().cloned().collect(),
                    },
                    fuzzy: e.fuzzy(),
                    line: e.linenum,
                }
            })
            .collect();
        out.push(Catalogue {
            path,
            plural_forms,
            entries,
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
fn there_is_a_catalogue_per_language_besides_english() {
    let codes: Vec<String> = catalogues()
        .iter()
        .map(|c| c.path.split('/').nth(2).unwrap().to_string())
        .collect();
    assert_eq!(codes, ["de", "ru"]);
}

#[test]
fn rust_and_slint_sentences_are_both_found() {
    let wanted = wanted();
    let in_rust = wanted.iter().filter(|w| w.at.contains("/src/")).count();
    let in_slint = wanted.iter().filter(|w| w.at.contains("/ui/")).count();
    assert!(
        in_slint > 100,
        "the windows have their sentences: {in_slint}"
    );
    assert!(in_rust > 100, "the Rust side has its sentences: {in_rust}");
    // A call nested in format!, and one in a plural, are among them.
    assert!(
        wanted
            .iter()
            .any(|w| w.msgid == "Modify: change your Kaspersky Security Network participation")
    );
    assert!(
        wanted
            .iter()
            .any(|w| w.msgid == "{n} second" && w.plural.as_deref() == Some("{n} seconds"))
    );
}

#[test]
fn every_sentence_has_its_translation_in_every_catalogue() {
    let wanted = wanted();
    let mut missing = Vec::new();
    for catalogue in catalogues() {
        let path = &catalogue.path;
        let mut reported = BTreeSet::new();
        for w in &wanted {
            if !reported.insert(w.msgid.clone()) {
                continue;
            }
            match catalogue.entries.iter().find(|e| e.msgid == w.msgid) {
                None => missing.push(format!("{path}: {}: {:?}", w.at, w.msgid)),
                Some(e) if e.plural != w.plural => missing.push(format!(
                    "{}: {:?} has plural {:?} in the source but {:?} in {path}:{}",
                    w.at, w.msgid, w.plural, e.plural, e.line
                )),
                Some(e) if e.fuzzy => missing.push(format!(
                    "{path}:{}: {:?} is fuzzy (shown in English until checked)",
                    e.line, w.msgid
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not translated:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_translation_keeps_the_placeholders_and_is_in_use() {
    let used: BTreeSet<String> = wanted().into_iter().map(|w| w.msgid).collect();
    let mut wrong = Vec::new();
    for catalogue in catalogues() {
        check_catalogue(&catalogue, &used, &mut wrong);
    }
    assert!(
        wrong.is_empty(),
        "catalogue problems:\n{}",
        wrong.join("\n")
    );
}

fn check_catalogue(catalogue: &Catalogue, used: &BTreeSet<String>, wrong: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    for e in &catalogue.entries {
        if e.msgid.is_empty() {
            continue; // the header
        }
        let at = format!("{}:{}", catalogue.path, e.line);
        if !seen.insert(e.msgid.clone()) {
            wrong.push(format!("{at}: {:?} is in the catalogue twice", e.msgid));
        }
        if !used.contains(&e.msgid) {
            wrong.push(format!("{at}: {:?} is not shown anywhere", e.msgid));
        }
        let expected = if e.plural.is_some() {
            catalogue.plural_forms
        } else {
            1
        };
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
}
