//! The statements a user is shown (EULA, Privacy Policy, KSN Statement) and their index.
//!
//! `statements.toml` lists each statement's id, version, languages, file per language and
//! the earlier versions it supersedes. A consent record names the exact bytes shown by their
//! SHA-256, so the texts are kept as bytes and hashed once when the catalog is loaded.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::base::error::TomlError;

/// A language the installer speaks and ships texts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Ru,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::Ru];

    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ru => "ru",
        }
    }

    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The language of a POSIX locale value such as `ru_RU.UTF-8`, if we speak it.
    pub fn from_locale(value: &str) -> Option<Language> {
        let code = value.split(['_', '.', '@']).next()?;
        Language::from_code(code)
    }

    /// The language the environment asks for (`LC_ALL`, `LC_MESSAGES`, `LANG`), else English.
    pub fn from_env() -> Language {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|var| std::env::var(var).ok())
            .find(|v| !v.is_empty())
            .and_then(|v| Language::from_locale(&v))
            .unwrap_or(Language::En)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The ids the installer needs in every catalog.
pub const EULA: &str = "eula";
pub const PRIVACY_POLICY: &str = "privacy-policy";
pub const KSN: &str = "ksn";

/// Whether a line starts a numbered heading or item: `1. `, `2.3. `, `4) `; a wrapped line
/// that merely starts with a number (`1.0, so…`) does not.
fn is_numbered(line: &str) -> bool {
    let number: String = line
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let rest = &line[number.len()..];
    !number.is_empty()
        && number.starts_with(|c: char| c.is_ascii_digit())
        && ((number.ends_with('.') && rest.starts_with(' ')) || rest.starts_with(") "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_inside_sentences_are_not_list_items() {
        assert!(is_numbered("1. What KSN is"));
        assert!(is_numbered("2.3. Detail"));
        assert!(!is_numbered("1.0, so an agreement stands"));
        assert!(!is_numbered("2026 was the year"));
    }

    #[test]
    fn reflow_joins_wrapped_lines_and_keeps_structure() {
        let text = Text::new(
            "t".into(),
            "TITLE\nSubtitle\n\nThis paragraph is wrapped at a fixed width by the author so it\ncontinues here.\n\n1. Heading\n\n- item one that is long enough to be wrapped in the source file at\n  the end\n- item two\n"
                .as_bytes()
                .to_vec(),
        );
        assert_eq!(
            text.reflowed(),
            "TITLE\nSubtitle\n\nThis paragraph is wrapped at a fixed width by the author so it continues here.\n\n1. Heading\n\n- item one that is long enough to be wrapped in the source file at the end\n- item two"
        );
    }
}

#[derive(Debug, Error)]
pub enum StatementsError {
    #[error("statements index \"{}\" is missing", .0.display())]
    MissingIndex(PathBuf),
    #[error("statements index: statement \"{0}\" is missing; it is required")]
    MissingStatement(&'static str),
    #[error("statements index: statement \"{id}\" is listed twice")]
    Duplicate { id: String },
    #[error(
        "statements index: statement \"{id}\" lists language \"{language}\" but gives no file for it"
    )]
    MissingFile { id: String, language: Language },
    #[error("statement \"{id}\" ({language}): file \"{}\" cannot be read", path.display())]
    Unreadable {
        id: String,
        language: Language,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("statement \"{id}\" ({language}): file \"{file}\" is not valid UTF-8 text")]
    NotText {
        id: String,
        language: Language,
        file: String,
    },
    #[error("statements index: unsupported format {0}; this ksn-setup reads format 1")]
    Format(u32),
}

/// One text as shown to the user.
#[derive(Debug, Clone)]
pub struct Text {
    pub file: String,
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, lowercase hex.
    pub sha256: String,
}

impl Text {
    pub fn new(file: String, bytes: Vec<u8>) -> Self {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        Text {
            file,
            bytes,
            sha256,
        }
    }

    pub fn as_str(&self) -> &str {
        // Checked to be UTF-8 when the catalog was loaded.
        std::str::from_utf8(&self.bytes).unwrap_or_default()
    }

    /// The text for a window that wraps lines itself: the file's hard line breaks inside a
    /// paragraph are joined, while blank lines, list items and headings keep their breaks.
    /// Only whitespace changes; the words are exactly those of the hashed file.
    pub fn reflowed(&self) -> String {
        let mut out = String::new();
        let mut previous_short = true;
        for line in self.as_str().lines() {
            let trimmed = line.trim_end();
            let starts_item =
                trimmed.trim_start().starts_with(['-', '*', '•']) || is_numbered(trimmed);
            if trimmed.is_empty() {
                out.push_str("\n\n");
                previous_short = true;
                continue;
            }
            if !out.is_empty() && !out.ends_with('\n') {
                if previous_short || starts_item {
                    out.push('\n');
                } else {
                    out.push(' ');
                }
            }
            out.push_str(if out.ends_with(' ') {
                trimmed.trim_start()
            } else {
                trimmed
            });
            // A line well short of the wrap width ends its sentence block (titles, headings).
            previous_short = trimmed.chars().count() < 60;
        }
        while out.contains("\n\n\n") {
            out = out.replace("\n\n\n", "\n\n");
        }
        out.trim_end().to_string()
    }
}

/// An earlier version a statement replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Superseded {
    pub version: String,
    /// True when the change was editorial, so consent to that version still stands.
    pub consent_carries_over: bool,
}

/// One statement with its texts in every language it ships.
#[derive(Debug, Clone)]
pub struct Statement {
    pub id: String,
    pub version: String,
    pub titles: BTreeMap<Language, String>,
    pub texts: BTreeMap<Language, Text>,
    pub supersedes: Vec<Superseded>,
}

impl Statement {
    /// The text in `language`, or in English when that language is not shipped.
    pub fn text(&self, language: Language) -> (Language, &Text) {
        match self.texts.get(&language) {
            Some(text) => (language, text),
            None => {
                let (lang, text) = self
                    .texts
                    .iter()
                    .next()
                    .expect("a statement has at least one text");
                (*lang, text)
            }
        }
    }

    pub fn title(&self, language: Language) -> &str {
        self.titles
            .get(&language)
            .or_else(|| self.titles.values().next())
            .map(String::as_str)
            .unwrap_or(&self.id)
    }

    /// Whether consent given to `version` of this statement still stands for this one.
    pub fn consent_still_valid(&self, version: &str) -> bool {
        version == self.version
            || self
                .supersedes
                .iter()
                .any(|s| s.version == version && s.consent_carries_over)
    }
}

/// Every statement of a bundle.
#[derive(Debug, Clone)]
pub struct Catalog {
    statements: Vec<Statement>,
    /// The index's own bytes, kept so a packed bundle can carry it unchanged.
    pub index: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFile {
    format: u32,
    #[serde(default, rename = "statement")]
    statements: Vec<IndexEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexEntry {
    id: String,
    version: String,
    languages: Vec<Language>,
    title: BTreeMap<Language, String>,
    files: BTreeMap<Language, String>,
    #[serde(default)]
    supersedes: Vec<Superseded>,
}

impl Catalog {
    /// Reads the catalog from a folder laid out like `statements/`.
    pub fn from_dir(dir: &Path) -> anyhow::Result<Catalog> {
        let index_path = dir.join("statements.toml");
        if !index_path.is_file() {
            return Err(StatementsError::MissingIndex(index_path).into());
        }
        let index = std::fs::read(&index_path)
            .with_context(|| format!("cannot read \"{}\"", index_path.display()))?;
        Catalog::parse(&index_path, index, |file| std::fs::read(dir.join(file)))
    }

    /// Parses an index whose texts `read` returns by file name.
    pub fn parse(
        index_path: &Path,
        index: Vec<u8>,
        read: impl Fn(&str) -> std::io::Result<Vec<u8>>,
    ) -> anyhow::Result<Catalog> {
        let source = String::from_utf8_lossy(&index).into_owned();
        let parsed: IndexFile =
            toml::from_str(&source).map_err(|e| TomlError::from_de(index_path, &source, &e))?;
        if parsed.format != 1 {
            return Err(StatementsError::Format(parsed.format).into());
        }
        let mut statements: Vec<Statement> = Vec::new();
        for entry in parsed.statements {
            if statements.iter().any(|s| s.id == entry.id) {
                return Err(StatementsError::Duplicate { id: entry.id }.into());
            }
            let mut texts = BTreeMap::new();
            for language in &entry.languages {
                let file =
                    entry
                        .files
                        .get(language)
                        .ok_or_else(|| StatementsError::MissingFile {
                            id: entry.id.clone(),
                            language: *language,
                        })?;
                crate::base::paths::RelPath::new(file).map_err(anyhow::Error::from)?;
                let bytes = read(file).map_err(|source| StatementsError::Unreadable {
                    id: entry.id.clone(),
                    language: *language,
                    path: PathBuf::from(file),
                    source,
                })?;
                if std::str::from_utf8(&bytes).is_err() {
                    return Err(StatementsError::NotText {
                        id: entry.id.clone(),
                        language: *language,
                        file: file.clone(),
                    }
                    .into());
                }
                texts.insert(*language, Text::new(file.clone(), bytes));
            }
            if texts.is_empty() {
                return Err(StatementsError::MissingFile {
                    id: entry.id,
                    language: Language::En,
                }
                .into());
            }
            statements.push(Statement {
                id: entry.id,
                version: entry.version,
                titles: entry.title,
                texts,
                supersedes: entry.supersedes,
            });
        }
        for required in [EULA, PRIVACY_POLICY, KSN] {
            if !statements.iter().any(|s| s.id == required) {
                return Err(StatementsError::MissingStatement(required).into());
            }
        }
        Ok(Catalog { statements, index })
    }

    /// The statement with `id`; the required ones always exist.
    pub fn get(&self, id: &str) -> &Statement {
        self.find(id)
            .unwrap_or_else(|| panic!("statement {id} is required by the catalog"))
    }

    pub fn find(&self, id: &str) -> Option<&Statement> {
        self.statements.iter().find(|s| s.id == id)
    }

    pub fn ksn(&self) -> &Statement {
        self.get(KSN)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Statement> {
        self.statements.iter()
    }

    /// Every file of the catalog by name, `statements.toml` included, as a packed bundle
    /// carries them.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        files.insert("statements.toml".to_string(), self.index.clone());
        for statement in &self.statements {
            for text in statement.texts.values() {
                files.insert(text.file.clone(), text.bytes.clone());
            }
        }
        files
    }
}
