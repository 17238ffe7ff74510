//! The statements a user is shown (EULA, Privacy Policy, KSN Statement) and their index.
//!
//! `statements.toml` lists each statement's id, version, languages, file per language and
//! the earlier versions it supersedes. A consent record names the exact bytes shown by their
//! SHA-256, so the texts are kept as bytes and hashed once when the catalog is loaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::base::error::TomlError;

pub use crate::base::i18n::Language;

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

    fn index_with(supersedes: &str) -> String {
        format!(
            "format = 1\n\
             [[statement]]\nid = \"eula\"\nversion = \"1\"\nlanguages = [\"en\"]\ntitle = {{ en = \"E\" }}\nfiles = {{ en = \"e.txt\" }}\n\
             [[statement]]\nid = \"privacy-policy\"\nversion = \"1\"\nlanguages = [\"en\"]\ntitle = {{ en = \"P\" }}\nfiles = {{ en = \"p.txt\" }}\n\
             [[statement]]\nid = \"ksn\"\nversion = \"2\"\nlanguages = [\"en\"]\ntitle = {{ en = \"K\" }}\nfiles = {{ en = \"k.txt\" }}\n{supersedes}"
        )
    }

    fn parse(index: &str) -> anyhow::Result<Catalog> {
        Catalog::parse(
            Path::new("statements.toml"),
            index.as_bytes().to_vec(),
            |file| {
                Ok(match file {
                    "k-1.txt" => b"old ksn text".to_vec(),
                    other => other.as_bytes().to_vec(),
                })
            },
        )
    }

    #[test]
    fn consent_carries_over_only_by_the_hash_of_a_text() {
        let old = hex::encode(Sha256::digest(b"old ksn text"));
        // Carrying over with no hash says nothing about which text was agreed to: refused.
        let err = parse(&index_with(
            "[[statement.supersedes]]\nversion = \"1\"\nconsent_carries_over = true\n",
        ))
        .unwrap_err();
        assert!(err.to_string().contains("names no SHA-256"), "{err}");
        // A shipped earlier text must be the one its hash names.
        let err = parse(&index_with(&format!(
            "[[statement.supersedes]]\nversion = \"1\"\nconsent_carries_over = true\nsha256 = {{ en = \"{}\" }}\nfiles = {{ en = \"k-1.txt\" }}\n",
            "0".repeat(64)
        )))
        .unwrap_err();
        assert!(
            err.to_string().contains(&format!("has SHA-256 {old}")),
            "{err}"
        );
        let catalog = parse(&index_with(&format!(
            "[[statement.supersedes]]\nversion = \"1\"\nconsent_carries_over = true\nsha256 = {{ en = \"{old}\" }}\nfiles = {{ en = \"k-1.txt\" }}\n"
        )))
        .unwrap();
        let ksn = catalog.ksn();
        assert!(ksn.consent_still_valid(&old));
        assert!(ksn.consent_still_valid(&ksn.texts[&Language::En].sha256));
        assert!(!ksn.consent_still_valid(&"0".repeat(64)));
        assert!(
            catalog.files().contains_key("k-1.txt"),
            "the earlier text ships"
        );
    }

    #[test]
    fn the_shipped_statements_carry_1_0_over_by_hash() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("statements");
        let catalog = Catalog::from_dir(&dir).unwrap();
        let old = std::fs::read(dir.join("ksn-1.0.en.txt")).unwrap();
        assert!(
            catalog
                .ksn()
                .consent_still_valid(&hex::encode(Sha256::digest(&old)))
        );
    }

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
    #[error(
        "statements index: statement \"{id}\" says consent to version {version} carries over but names no SHA-256 of its texts; add sha256 = {{ en = \"…\" }} for every text of that version"
    )]
    CarryOverWithoutHash { id: String, version: String },
    #[error(
        "statements index: statement \"{id}\" version {version} ({language}): \"{value}\" is not a SHA-256 (64 lowercase hex digits)"
    )]
    BadHash {
        id: String,
        version: String,
        language: Language,
        value: String,
    },
    #[error(
        "statements index: statement \"{id}\" version {version} ({language}): file \"{file}\" has SHA-256 {actual}, the index says {listed}"
    )]
    HashMismatch {
        id: String,
        version: String,
        language: Language,
        file: String,
        actual: String,
        listed: String,
    },
    #[error(
        "statements index: statement \"{id}\" version {version} ({language}): file \"{file}\" is given without its sha256"
    )]
    FileWithoutHash {
        id: String,
        version: String,
        language: Language,
        file: String,
    },
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
    /// The SHA-256 of that version's text in each language: what an agreement to it names.
    /// Required when consent carries over, because consent binds to a text, never to a
    /// version string.
    #[serde(default)]
    pub sha256: BTreeMap<Language, String>,
    /// That version's texts, when they ship beside the current ones; each must hash to its
    /// `sha256`.
    #[serde(default)]
    pub files: BTreeMap<Language, String>,
}

/// One statement with its texts in every language it ships.
#[derive(Debug, Clone)]
pub struct Statement {
    pub id: String,
    pub version: String,
    pub titles: BTreeMap<Language, String>,
    pub texts: BTreeMap<Language, Text>,
    pub supersedes: Vec<Superseded>,
    /// The earlier versions' texts that ship beside these, by file name.
    pub earlier_texts: BTreeMap<String, Vec<u8>>,
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

    /// Whether an agreement to the text with SHA-256 `sha256` stands for this statement: it
    /// is one of this version's texts, or an earlier text this version names as carrying
    /// consent over. A version string alone never carries an agreement: a text changed
    /// under the same version needs new consent.
    pub fn consent_still_valid(&self, sha256: &str) -> bool {
        self.texts.values().any(|t| t.sha256 == sha256)
            || self
                .supersedes
                .iter()
                .filter(|s| s.consent_carries_over)
                .any(|s| s.sha256.values().any(|h| h == sha256))
    }
}

/// Checks what an index says of an earlier version: hashes well formed, present when
/// consent carries over, and equal to the earlier texts' when those ship. Returns the
/// earlier texts by file name.
fn check_superseded(
    id: &str,
    superseded: &Superseded,
    read: &impl Fn(&str) -> std::io::Result<Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>, StatementsError> {
    let version = &superseded.version;
    if superseded.consent_carries_over && superseded.sha256.is_empty() {
        return Err(StatementsError::CarryOverWithoutHash {
            id: id.into(),
            version: version.clone(),
        });
    }
    for (language, value) in &superseded.sha256 {
        let hex = value.len() == 64
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err(StatementsError::BadHash {
                id: id.into(),
                version: version.clone(),
                language: *language,
                value: value.clone(),
            });
        }
    }
    let mut texts = BTreeMap::new();
    for (language, file) in &superseded.files {
        let listed =
            superseded
                .sha256
                .get(language)
                .ok_or_else(|| StatementsError::FileWithoutHash {
                    id: id.into(),
                    version: version.clone(),
                    language: *language,
                    file: file.clone(),
                })?;
        crate::base::paths::RelPath::new(file).map_err(|_| StatementsError::Unreadable {
            id: id.into(),
            language: *language,
            path: PathBuf::from(file),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a plain file name"),
        })?;
        let bytes = read(file).map_err(|source| StatementsError::Unreadable {
            id: id.into(),
            language: *language,
            path: PathBuf::from(file),
            source,
        })?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if &actual != listed {
            return Err(StatementsError::HashMismatch {
                id: id.into(),
                version: version.clone(),
                language: *language,
                file: file.clone(),
                actual,
                listed: listed.clone(),
            });
        }
        texts.insert(file.clone(), bytes);
    }
    Ok(texts)
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

    /// Reads the catalog from an open folder laid out like `statements/` (an installed
    /// product's), never following a symlink in it.
    pub fn from_handle(dir: &crate::base::dir::Dir) -> anyhow::Result<Catalog> {
        const LIMIT: u64 = 16 * 1024 * 1024;
        let index_path = dir.path().join("statements.toml");
        let index = dir
            .read_optional("statements.toml", LIMIT)
            .with_context(|| format!("cannot read \"{}\"", index_path.display()))?
            .ok_or_else(|| StatementsError::MissingIndex(index_path.clone()))?;
        Catalog::parse(&index_path, index, |file| {
            dir.read_optional(file, LIMIT)?
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        })
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
            let mut earlier_texts = BTreeMap::new();
            for superseded in &entry.supersedes {
                earlier_texts.extend(check_superseded(&entry.id, superseded, &read)?);
            }
            statements.push(Statement {
                id: entry.id,
                version: entry.version,
                titles: entry.title,
                texts,
                supersedes: entry.supersedes,
                earlier_texts,
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
            for (file, bytes) in &statement.earlier_texts {
                files.insert(file.clone(), bytes.clone());
            }
        }
        files
    }
}
