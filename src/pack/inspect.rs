//! What `inspect` and `verify` print about a packed installer: pure text from checked values.

use std::fmt::Write as _;

use crate::base::units::human_bytes;
use crate::bundle::contents::Bundle;
use crate::bundle::entry::EntryKind;
use crate::bundle::packed::Packed;
use crate::bundle::signing::{self, Trust};
use crate::consent::answers::{Answers, AnswersFile, Overrides, UiMode};

/// The signature line: who signed, and whether that was checked against a trusted key.
pub fn signature_line(packed: &Packed, trust: Option<&Trust>) -> String {
    match (&packed.signer, trust) {
        (None, _) => "not signed".to_string(),
        (Some(key), Some(t)) => format!(
            "signed by {key} (fingerprint {}), the trusted key {}",
            signing::fingerprint(key),
            t.source
        ),
        (Some(key), None) => format!(
            "signed by {key} (fingerprint {}); the signature matches, but no trusted key was given \
             to say whose key that is (--trusted-key)",
            signing::fingerprint(key)
        ),
    }
}

/// The summary `inspect` prints.
pub fn describe(packed: &Packed, bundle: &Bundle, trust: Option<&Trust>, files: bool) -> String {
    let manifest = &packed.manifest;
    let trailer = &packed.trailer;
    let total = trailer.program_len
        + trailer.data_len
        + trailer.manifest_len
        + crate::bundle::trailer::LEN as u64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Installer: {} ({})",
        packed.path.display(),
        human_bytes(total)
    );
    let _ = writeln!(
        out,
        "  Product:    {} {}",
        manifest.product.name, manifest.product.version
    );
    let _ = writeln!(out, "  Packed by:  {}", manifest.created_by);
    let counts =
        |kind: fn(&EntryKind) -> bool| bundle.entries.iter().filter(|e| kind(&e.kind)).count();
    let _ = writeln!(
        out,
        "  Payload:    {} files, {} folders, {} symlinks; {} ({} bytes)",
        counts(|k| matches!(k, EntryKind::File { .. })),
        counts(|k| matches!(k, EntryKind::Dir)),
        counts(|k| matches!(k, EntryKind::Symlink { .. })),
        human_bytes(manifest.data.uncompressed_len),
        manifest.data.uncompressed_len
    );
    let _ = writeln!(
        out,
        "  Compressed: {} ({} bytes), {} level {}, {} frames",
        human_bytes(manifest.data.compressed_len),
        manifest.data.compressed_len,
        manifest.compression.algorithm,
        manifest.compression.level,
        manifest.data.frames.len()
    );
    let _ = writeln!(
        out,
        "  Program:    {} ({} bytes), sha256:{} (checked)",
        human_bytes(trailer.program_len),
        trailer.program_len,
        manifest.program.sha256
    );
    let _ = writeln!(out, "  Digest:     sha256:{}", hex::encode(trailer.digest));
    let _ = writeln!(out, "  Signature:  {}", signature_line(packed, trust));
    let _ = writeln!(out, "Statements:");
    for statement in bundle.statements.iter() {
        let languages: Vec<String> = statement
            .texts
            .iter()
            .map(|(lang, text)| format!("{} sha256:{}", lang.code(), &text.sha256[..16]))
            .collect();
        let _ = writeln!(
            out,
            "  {:<16} version {:<6} {}",
            statement.id,
            statement.version,
            languages.join(", ")
        );
    }
    match &manifest.answers {
        None => {
            let _ = writeln!(
                out,
                "Answers: none packed; the installer opens the wizard with nothing preset"
            );
        }
        Some(packed_answers) => {
            let _ = writeln!(out, "Answers ({}):", packed_answers.name);
            let parsed = AnswersFile::parse(
                std::path::Path::new(&packed_answers.name),
                &packed_answers.text,
            );
            match parsed {
                Ok(file) => {
                    let answers = Answers::merge(Some(&file), &Overrides::default());
                    for line in preset_lines(&answers) {
                        let _ = writeln!(out, "  {line}");
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "  cannot be read: {e}");
                }
            }
            let _ = writeln!(out, "  --- {} as packed ---", packed_answers.name);
            for line in packed_answers.text.lines() {
                let _ = writeln!(out, "  | {line}");
            }
        }
    }
    if files {
        let _ = writeln!(out, "Entries:");
        for entry in &bundle.entries {
            let line = match &entry.kind {
                EntryKind::Dir => format!("d {:04o} {:>12}  {}/", entry.mode, "", entry.path),
                EntryKind::File { size, sha256 } => format!(
                    "f {:04o} {:>12}  {}  sha256:{}",
                    entry.mode,
                    size,
                    entry.path,
                    sha256.map(hex::encode).unwrap_or_default()
                ),
                EntryKind::Symlink { target } => {
                    format!("l      {:>12}  {} -> {target}", "", entry.path)
                }
            };
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// The preset answers in words.
fn preset_lines(answers: &Answers) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(format!(
        "Mode:       {}",
        match answers.mode {
            UiMode::Silent => "silent: installs without asking anything",
            UiMode::Wizard => "wizard: opens the setup wizard with these defaults",
        }
    ));
    lines.push(format!(
        "Folder:     {}",
        answers
            .dir
            .as_ref()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|| "not preset (the default)".into())
    ));
    lines.push(format!(
        "Licenses:   EULA {}, Privacy Policy {}",
        if answers.accept_eula {
            "accepted"
        } else {
            "not accepted"
        },
        if answers.accept_privacy_policy {
            "accepted"
        } else {
            "not accepted"
        }
    ));
    lines.push(format!(
        "KSN:        {}",
        match (answers.ksn, answers.ksn_locked) {
            (None, _) => "not preset: the user decides (the box starts unticked)".to_string(),
            (Some(p), true) => format!(
                "{} by the administrator, locked (recorded as decided_by = \"administrator\")",
                if p {
                    "participate"
                } else {
                    "do not participate"
                }
            ),
            (Some(p), false) => format!(
                "{} as the default; the user can change it",
                if p {
                    "participate"
                } else {
                    "do not participate"
                }
            ),
        }
    ));
    if let Some(lang) = answers.language {
        lines.push(format!("Language:   {}", lang.code()));
    }
    lines
}
