//! `pack`, `inspect`, `verify` and `keygen`: making a preconfigured installer, describing
//! it, checking every byte of it, and the key pair that signs it.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::common::payload_choice;
use super::outcome::{Action, Outcome, Product, Report};
use crate::base::error::{BadInput, ExitStatus};
use crate::base::units::human_bytes;
use crate::bundle::contents::Bundle;
use crate::bundle::entry::EntryKind;
use crate::bundle::signing;
use crate::pack::{keygen, write};

#[derive(Debug, Clone, Args)]
pub(super) struct PackArgs {
    /// The product tree to install [default: the payload of this program: the built-in demo
    /// product, or a packed installer's own payload, so an installer can be re-packed].
    #[arg(long, value_name = "DIR", conflicts_with = "installer")]
    payload: Option<PathBuf>,
    /// Re-pack this packed installer file: its payload, statements and product.
    #[arg(long, value_name = "FILE")]
    installer: Option<PathBuf>,
    /// Answers file to pack in: the installer's defaults, locks and mode.
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Statements folder (laid out like statements/) [default: this program's statements].
    #[arg(long, value_name = "DIR")]
    statements: Option<PathBuf>,
    /// Where to write the installer (replaced atomically if it exists).
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
    /// Sign the installer with this ed25519 private key (PEM, from `keygen`).
    #[arg(long, value_name = "KEY")]
    sign_key: Option<PathBuf>,
    /// zstd level, 1 to 19 [default: 19, smallest; installs decompress as fast at any level].
    #[arg(long, value_name = "N", default_value_t = crate::pack::write::DEFAULT_LEVEL)]
    level: i32,
    /// Product name recorded in the installer [default: this program's product].
    #[arg(long, value_name = "NAME")]
    product_name: Option<String>,
    /// Product version recorded in the installer [default: this program's product].
    #[arg(long, value_name = "VERSION")]
    product_version: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(super) struct InspectArgs {
    /// The installer [default: this program].
    #[arg(value_name = "FILE")]
    installer: Option<PathBuf>,
    /// List every entry with its mode, size and SHA-256.
    #[arg(long)]
    files: bool,
}

#[derive(Debug, Clone, Args)]
pub(super) struct VerifyArgs {
    /// The installer [default: this program].
    #[arg(value_name = "FILE")]
    installer: Option<PathBuf>,
    /// Require a signature by this ed25519 public key (PEM).
    #[arg(long, value_name = "KEY")]
    trusted_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub(super) struct KeygenArgs {
    /// Where to write the private key; the public key goes to FILE.pub.
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
}

pub(super) fn run_pack(args: PackArgs, report: &mut Report) -> anyhow::Result<ExitStatus> {
    let PackArgs {
        payload,
        answers,
        statements,
        output,
        sign_key,
        level,
        product_name,
        product_version,
        installer,
    } = args;
    // `pack` checks the answers before it writes or compresses anything.
    let answers = answers
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                BadInput(anyhow::anyhow!(
                    "cannot read answers file \"{}\": {e}",
                    path.display()
                ))
            })?;
            anyhow::Ok((path, text))
        })
        .transpose()?;
    let sign_key = sign_key
        .map(|path| signing::SecretKey::load(&path))
        .transpose()
        .map_err(BadInput)?;
    let choice = payload_choice(payload.as_deref(), installer.as_deref());
    let mut bundle = Bundle::open_for_run(choice, statements.as_deref(), None).map_err(BadInput)?;
    if let Some(name) = product_name {
        bundle.product.name = name;
    }
    if let Some(version) = product_version {
        bundle.product.version = version;
    }
    let program = std::env::current_exe().context("cannot find this program's own file")?;
    if !report.quiet && !report.json {
        eprintln!(
            "ksn-setup: packing {} ({} files, {}) at zstd level {level}",
            bundle.origin,
            bundle
                .entries
                .iter()
                .filter(|e| matches!(e.kind, EntryKind::File { .. }))
                .count(),
            human_bytes(bundle.payload_bytes())
        );
    }
    let summary = write::pack(&write::PackRequest {
        program: &program,
        bundle: &bundle,
        answers,
        output: &output,
        level,
        sign_key: sign_key.as_ref(),
    })?;
    report.say(format!(
        "Packed {} ({} bytes): program {}, payload {} files {} compressed to {}, manifest {}.\n\
         Digest: sha256:{}\nSignature: {}",
        summary.output.display(),
        summary.total_bytes,
        human_bytes(summary.program_bytes),
        summary.files,
        human_bytes(summary.payload_bytes),
        human_bytes(summary.data_bytes),
        human_bytes(summary.manifest_bytes),
        hex::encode(summary.digest),
        summary
            .signer
            .map(|k| format!("signed by {k} (fingerprint {})", signing::fingerprint(&k)))
            .unwrap_or_else(|| "not signed".into())
    ));
    if let Some(sig) = &summary.signature_file {
        report.say(format!(
            "Detached signature over the whole file: {}\n\
             Check it before running the installer, with no ksn-setup involved:\n  \
             openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in {} -sigfile {}",
            sig.display(),
            summary.output.display(),
            sig.display()
        ));
    }
    let mut outcome = Outcome::new("pack", Action::Packed, true);
    outcome.product = Some(Product {
        name: bundle.product.name.clone(),
        version: bundle.product.version.clone(),
    });
    outcome.installer = Some(serde_json::json!({
        "path": summary.output,
        "bytes": summary.total_bytes,
        "files": summary.files,
        "sha256": hex::encode(summary.digest),
        "signer": summary.signer.map(|k| k.to_string()),
        "detached_signature": summary.signature_file,
    }));
    report.set(outcome);
    Ok(ExitStatus::Success)
}

/// The installer a command looks at: FILE, or this program.
fn installer_path(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match given {
        Some(path) => Ok(path),
        None => std::env::current_exe().context("cannot find this program's own file"),
    }
}

fn open_packed(
    path: &std::path::Path,
    trust: Option<&signing::Trust>,
) -> anyhow::Result<crate::bundle::packed::Packed> {
    crate::bundle::packed::Packed::open(path, trust)
        .map_err(BadInput)?
        .ok_or_else(|| {
            BadInput(anyhow::anyhow!(
                "\"{}\" is a plain ksn-setup program with no packed bundle (it installs the built-in demo product)",
                path.display()
            ))
            .into()
        })
}

pub(super) fn run_inspect(args: InspectArgs, report: &mut Report) -> anyhow::Result<ExitStatus> {
    let path = installer_path(args.installer)?;
    let packed = open_packed(&path, None)?;
    let bundle = Bundle::from_packed(packed.clone(), None).map_err(BadInput)?;
    if !report.json {
        print!(
            "{}",
            crate::pack::inspect::describe(&packed, &bundle, None, args.files)
        );
        println!("The payload data was not read; `verify` checks every byte.");
    }
    let signature = crate::pack::inspect::signature_line(&packed, None);
    let mut outcome = Outcome::new("inspect", Action::Inspected, false);
    outcome.product = Some(Product {
        name: bundle.product.name.clone(),
        version: bundle.product.version.clone(),
    });
    outcome.installer = Some(installer_facts(&path, &bundle, &signature, args.files));
    report.set(outcome);
    Ok(ExitStatus::Success)
}

/// What `inspect --json` and `verify --json` say of an installer; `files`: every entry too.
fn installer_facts(
    path: &std::path::Path,
    bundle: &Bundle,
    signature: &str,
    files: bool,
) -> serde_json::Value {
    let mut facts = serde_json::json!({
        "path": path,
        "files": bundle.entries.iter().filter(|e| matches!(e.kind, EntryKind::File { .. })).count(),
        "payload_bytes": bundle.payload_bytes(),
        "signer": bundle.signer.map(|k| k.to_string()),
        "signature": signature,
        "answers": bundle.answers.as_ref().map(|a| a.name.clone()),
        "statements": bundle.statements.iter().map(|s| serde_json::json!({
            "id": s.id,
            "version": s.version,
        })).collect::<Vec<_>>(),
    });
    if files {
        facts["entries"] = bundle
            .entries
            .iter()
            .map(|e| {
                let (kind, size, sha256, target) = match &e.kind {
                    EntryKind::Dir => ("dir", None, None, None),
                    EntryKind::File { size, sha256 } => {
                        ("file", Some(*size), sha256.map(hex::encode), None)
                    }
                    EntryKind::Symlink { target } => ("symlink", None, None, Some(target.clone())),
                };
                serde_json::json!({
                    "path": e.path.as_str(),
                    "kind": kind,
                    "mode": format!("{:o}", e.mode),
                    "size": size,
                    "sha256": sha256,
                    "target": target,
                })
            })
            .collect();
    }
    facts
}

pub(super) fn run_verify(args: VerifyArgs, report: &mut Report) -> anyhow::Result<ExitStatus> {
    let path = installer_path(args.installer)?;
    let trust = signing::trust(args.trusted_key.as_deref()).map_err(BadInput)?;
    let packed = open_packed(&path, trust.as_ref())?;
    let signature = crate::pack::inspect::signature_line(&packed, trust.as_ref());
    let bundle = Bundle::from_packed(packed, None).map_err(BadInput)?;
    let (files, bytes) = bundle.check_files().map_err(BadInput)?;
    report.say(format!(
        "OK: \"{}\": {files} files ({}) decompress and match their SHA-256; manifest and data match the bundle digest; {signature}.",
        path.display(),
        human_bytes(bytes)
    ));
    let mut outcome = Outcome::new("verify", Action::Verified, false);
    outcome.product = Some(Product {
        name: bundle.product.name.clone(),
        version: bundle.product.version.clone(),
    });
    let mut facts = installer_facts(&path, &bundle, &signature, false);
    facts["checked_files"] = files.into();
    facts["checked_bytes"] = bytes.into();
    outcome.installer = Some(facts);
    report.set(outcome);
    Ok(ExitStatus::Success)
}

pub(super) fn run_keygen(args: KeygenArgs, report: &mut Report) -> anyhow::Result<ExitStatus> {
    let files = keygen::keygen(&args.output).map_err(BadInput)?;
    report.say(format!(
        "Wrote the private key to {} (keep it secret) and the public key to {}.\n\
         Key: {} (fingerprint {})\n\
         Sign with `pack --sign-key {}`; install with `--trusted-key {}`.",
        files.secret.display(),
        files.public.display(),
        files.key,
        signing::fingerprint(&files.key),
        files.secret.display(),
        files.public.display()
    ));
    let mut outcome = Outcome::new("keygen", Action::KeyMade, true);
    outcome.installer = Some(serde_json::json!({
        "secret_key": files.secret,
        "public_key": files.public,
        "key": files.key.to_string(),
    }));
    report.set(outcome);
    Ok(ExitStatus::Success)
}
