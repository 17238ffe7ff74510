//! The command line: clap definitions and the install, recover and dry-run flows.
//!
//! `ksn-setup` with no subcommand means `install`, so a packed installer runs as
//! `./setup --unattended --dir D`. Every mode ends in the same plan → execute path.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::answers::{self, Answers, AnswersFile, Overrides};
use crate::bundle::{Bundle, PayloadChoice};
use crate::console::Console;
use crate::error::{self, BadInput, ExitStatus};
use crate::now_rfc3339;
use crate::progress::Reporter;
use crate::statements::Language;
use crate::task::{Done, Task};
use crate::wizard::Wizard;
use crate::{executor, gui, pack, plan, recovery, signing, target};

/// Installs KSN Demo Security and records your Kaspersky Security Network choice.
///
/// Without a subcommand, ksn-setup installs (like `install`).
#[derive(Debug, Parser)]
#[command(name = "ksn-setup", version, args_conflicts_with_subcommands = true, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    install: InstallArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install the product (the default). Without --unattended, opens the setup wizard.
    Install(InstallArgs),
    /// Finish or roll back a run that was killed or lost power in an install folder.
    Recover(RecoverArgs),
    /// Make a preconfigured installer: this program, a payload, statements and answers in one
    /// executable file.
    Pack(PackArgs),
    /// Show what a packed installer holds: product, statements, preset answers, signature.
    Inspect(InspectArgs),
    /// Check a packed installer's integrity (and signature) without installing anything.
    Verify(VerifyArgs),
    /// Make an ed25519 key pair for signing installers (FILE and FILE.pub, PEM).
    Keygen(KeygenArgs),
    /// Kaspersky Security Network participation of an installed product: status, agree, decline.
    Ksn(KsnArgs),
    /// Open the product's settings window (Security settings → Kaspersky Security Network).
    Settings(DirArgs),
    /// Check every installed file against the receipt and restore missing or changed ones.
    Repair(RepairArgs),
    /// Remove exactly what was installed, and the folders left empty.
    Uninstall(UninstallArgs),
}

#[derive(Debug, Clone, Args)]
struct DirArgs {
    /// The install folder [default: /opt/ksn-demo as root, ~/.local/share/ksn-demo otherwise].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
struct KsnArgs {
    #[command(subcommand)]
    action: KsnAction,
}

#[derive(Debug, Clone, Subcommand)]
enum KsnAction {
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
}

#[derive(Debug, Clone, Args)]
struct RepairArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// Restore from this packed installer [default: this program's own bundle].
    #[arg(long, value_name = "FILE", conflicts_with = "payload")]
    installer: Option<PathBuf>,
    /// Restore from this product tree.
    #[arg(long, value_name = "DIR")]
    payload: Option<PathBuf>,
    /// Only report what is damaged; change nothing (exit 1 when something is).
    #[arg(long)]
    check: bool,
}

#[derive(Debug, Clone, Args)]
struct UninstallArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// Also remove the config and the consent log (kept by default: they are the record of
    /// your choices, and a reinstall finds your settings).
    #[arg(long)]
    remove_config: bool,
}

#[derive(Debug, Clone, Args)]
struct PackArgs {
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
    #[arg(long, value_name = "N", default_value_t = crate::pack::DEFAULT_LEVEL)]
    level: i32,
    /// Product name recorded in the installer [default: this program's product].
    #[arg(long, value_name = "NAME")]
    product_name: Option<String>,
    /// Product version recorded in the installer [default: this program's product].
    #[arg(long, value_name = "VERSION")]
    product_version: Option<String>,
}

#[derive(Debug, Clone, Args)]
struct InspectArgs {
    /// The installer [default: this program].
    #[arg(value_name = "FILE")]
    installer: Option<PathBuf>,
    /// List every entry with its mode, size and SHA-256.
    #[arg(long)]
    files: bool,
}

#[derive(Debug, Clone, Args)]
struct VerifyArgs {
    /// The installer [default: this program].
    #[arg(value_name = "FILE")]
    installer: Option<PathBuf>,
    /// Require a signature by this ed25519 public key (PEM).
    #[arg(long, value_name = "KEY")]
    trusted_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
struct KeygenArgs {
    /// Where to write the private key; the public key goes to FILE.pub.
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KsnArg {
    /// Participate in Kaspersky Security Network.
    Agree,
    /// Do not participate.
    Decline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LangArg {
    En,
    Ru,
}

impl From<LangArg> for Language {
    fn from(value: LangArg) -> Self {
        match value {
            LangArg::En => Language::En,
            LangArg::Ru => Language::Ru,
        }
    }
}

#[derive(Debug, Clone, Args)]
struct InstallArgs {
    /// Install without asking: everything comes from the answers file and the flags.
    #[arg(long)]
    unattended: bool,
    /// Answers file (TOML) with preset answers; flags override it.
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Install folder [default: /opt/ksn-demo as root, ~/.local/share/ksn-demo otherwise].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Accept the End User License Agreement (required for --unattended).
    #[arg(long)]
    accept_eula: bool,
    /// Accept the Privacy Policy (required for --unattended).
    #[arg(long)]
    accept_privacy_policy: bool,
    /// Kaspersky Security Network: agree or decline; absent leaves it undecided (off).
    #[arg(long, value_enum, value_name = "CHOICE")]
    ksn: Option<KsnArg>,
    /// Language of the texts shown and recorded [default: from the answers, else LANG].
    #[arg(long, value_enum, value_name = "LANG")]
    lang: Option<LangArg>,
    /// Write every step and every error with its cause to FILE (appended).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Print the ordered plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Install the product tree in DIR instead of the built-in demo product.
    #[arg(long, value_name = "DIR", conflicts_with = "installer")]
    payload: Option<PathBuf>,
    /// Install from this packed installer file (without running it), as if it were run.
    #[arg(long, value_name = "FILE")]
    installer: Option<PathBuf>,
    /// Use the statements in DIR (laid out like statements/) instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    statements: Option<PathBuf>,
    /// Write the answers chosen in the wizard to FILE, as an answers file --unattended accepts.
    #[arg(long, value_name = "FILE")]
    save_answers: Option<PathBuf>,
    /// Install only an installer signed by this ed25519 public key (PEM).
    #[arg(long, value_name = "KEY")]
    trusted_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
struct RecoverArgs {
    /// The install folder to recover.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
}

const EXIT_CODES: &str = "\
Exit codes:
  0  installed (or recovered, or nothing to do)
  1  failed; everything was rolled back and the folder is as it was
  2  bad input (arguments, answers file, bundle); nothing was written
  3  cancelled; everything was rolled back
  4  failed, and the rollback left something behind (listed in the message)";

/// Runs the program and returns its exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                ExitStatus::BadInput as u8
            } else {
                0
            });
        }
    };
    let Cli { command, install } = cli;
    // Commands that only print end quietly when their reader goes away (`| head`), as other
    // tools do; installs and changes keep Rust's default, so a closed pipe never cuts a
    // transaction short.
    if matches!(
        command,
        Some(
            Command::Inspect(_)
                | Command::Verify(_)
                | Command::Ksn(KsnArgs {
                    action: KsnAction::Status { .. }
                })
        )
    ) {
        // SAFETY: called before any other thread exists; restores the default action.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let (result, log) = match command {
        None => {
            let log = install.log.clone();
            (run_install(install), log)
        }
        Some(Command::Install(args)) => {
            let log = args.log.clone();
            (run_install(args), log)
        }
        Some(Command::Recover(args)) => (run_recover(args), None),
        Some(Command::Pack(args)) => (run_pack(args), None),
        Some(Command::Inspect(args)) => (run_inspect(args), None),
        Some(Command::Verify(args)) => (run_verify(args), None),
        Some(Command::Keygen(args)) => (run_keygen(args), None),
        Some(Command::Ksn(args)) => (run_ksn(args), None),
        Some(Command::Settings(args)) => (crate::settings::run(&dir_of(&args)), None),
        Some(Command::Repair(args)) => (run_repair(args), None),
        Some(Command::Uninstall(args)) => (run_uninstall(args), None),
    };
    match result {
        Ok(status) => ExitCode::from(status as u8),
        Err(err) => {
            let status = error::exit_status(&err);
            eprintln!("ksn-setup: error: {err:#}");
            if let Some(log) = log {
                crate::console::log_error(&log, &err);
                eprintln!("ksn-setup: the log is in \"{}\"", log.display());
            }
            ExitCode::from(status as u8)
        }
    }
}

fn run_install(args: InstallArgs) -> anyhow::Result<ExitStatus> {
    let InstallArgs {
        unattended,
        answers,
        dir,
        accept_eula,
        accept_privacy_policy,
        ksn,
        lang,
        log,
        dry_run,
        payload,
        statements,
        save_answers,
        trusted_key,
        installer,
    } = args;
    let trust = signing::trust(trusted_key.as_deref()).map_err(BadInput)?;
    let bundle = bundle_to_install(
        payload.as_deref(),
        installer.as_deref(),
        statements.as_deref(),
        trust.as_ref(),
    )?;
    let file = match (&answers, &bundle.answers) {
        (Some(_), Some(packed)) => {
            return Err(BadInput(anyhow::anyhow!(
                "this installer carries its own answers ({}); --answers cannot replace them. \
                 To change them, re-pack: {} pack --answers FILE --output NEW",
                packed.name,
                std::env::args()
                    .next()
                    .unwrap_or_else(|| "ksn-setup".into())
            ))
            .into());
        }
        (Some(path), None) => Some(AnswersFile::load(path)?),
        (None, Some(packed)) => Some(
            AnswersFile::parse(std::path::Path::new(&packed.name), &packed.text)
                .map_err(|e| BadInput(e.into()))?,
        ),
        (None, None) => None,
    };
    let overrides = Overrides {
        dir,
        accept_eula,
        accept_privacy_policy,
        ksn: ksn.map(|k| matches!(k, KsnArg::Agree)),
        language: lang.map(Language::from),
    };
    // An answers file the caller passes is theirs to override; the answers packed into an
    // installer are the administrator's, and a locked choice there binds whoever runs it.
    if bundle.answers.is_some()
        && let Some(file) = &file
        && let Some(locked) = &file.ksn.locked
        && *locked.get_ref()
        && overrides.ksn.is_some()
        && overrides.ksn != file.ksn.participate
    {
        return Err(BadInput(anyhow::anyhow!(
            "the KSN choice is locked by the answers packed into this installer (ksn.participate = {}, ksn.locked = true); --ksn cannot change it",
            file.ksn.participate.unwrap_or_default()
        ))
        .into());
    }
    let answers = Answers::merge(file.as_ref(), &overrides);
    let dir = answers.dir.clone().unwrap_or_else(answers::default_dir);
    let silent = answers.mode == crate::answers::UiMode::Silent;
    if !unattended && !dry_run && !silent {
        return run_wizard(bundle, &answers, dir, log, save_answers);
    }

    let console = Console::start(log.as_deref(), std::io::stderr().is_terminal())?;
    let reporter = console.reporter();
    let target = target::inspect(&dir, &bundle)?;
    let plan =
        plan::plan(&bundle, &answers, &target, &now_rfc3339()).map_err(|e| BadInput(e.into()))?;
    if dry_run {
        print!("{plan}");
        drop(reporter);
        console.finish();
        return Ok(if plan.problems.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Failed
        });
    }
    reporter.step(format!("plan:\n{plan}"));

    let cancel = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&cancel))
            .context("cannot set up signal handling")?;
    }
    let result = executor::install(&bundle, &plan, &reporter, &cancel);
    drop(reporter);
    console.finish();
    let installed = result?;
    if let Some(message) = &installed.recovered {
        println!("ksn-setup: recovered: {message}");
    }
    let plan = &installed.plan;
    println!(
        "Installed {} {} into {}.\nKSN: the product {}.\nConfig: {}",
        plan.product_name,
        plan.product_version,
        plan.target.display(),
        crate::consent::describe(&plan.ksn.record),
        plan.target.join(crate::config::PATH).display()
    );
    Ok(ExitStatus::Success)
}

/// The interactive install: the Slint window where there is a display, the console wizard
/// on a terminal otherwise.
fn run_wizard(
    bundle: Bundle,
    answers: &Answers,
    dir: PathBuf,
    log: Option<PathBuf>,
    save_answers: Option<PathBuf>,
) -> anyhow::Result<ExitStatus> {
    // The same product and version already in the folder: maintenance mode (Modify, Repair,
    // Uninstall), as running an MSI again offers. Another version is an upgrade.
    let wizard = match crate::installed::InstalledProduct::open(&dir) {
        Ok(installed)
            if installed.receipt.product_name == bundle.product.name
                && installed.receipt.product_version == bundle.product.version =>
        {
            let record = installed.ksn_record();
            let locked = (record.locked
                && record.decided_by == Some(crate::consent::DecidedBy::Administrator))
            .then_some(record.participate);
            Wizard::for_installed(
                answers,
                dir,
                installed.receipt.product_version.clone(),
                locked,
            )
        }
        _ => Wizard::new(answers, dir),
    };
    let log = log.unwrap_or_else(|| std::env::temp_dir().join("ksn-setup.log"));
    let has_display = gui::has_display();
    let mut why_not_window =
        String::from("there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)");
    if has_display {
        let options = gui::GuiOptions {
            log: log.clone(),
            save_answers: save_answers.clone(),
        };
        match gui::run(bundle.clone(), wizard.clone(), options) {
            Ok(code) => return Ok(ExitStatus::from_code(code)),
            Err(e) => why_not_window = format!("the window could not be opened ({e})"),
        }
    }
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        eprintln!("ksn-setup: {why_not_window}; using the console wizard");
        let code = crate::console_wizard::run(&bundle, wizard, &log, save_answers.as_deref())?;
        return Ok(ExitStatus::from_code(code));
    }
    Err(BadInput(anyhow::anyhow!(
        "{why_not_window} and this is not a terminal, so the wizard cannot run; \
         install with --unattended (with --accept-eula --accept-privacy-policy, or an answers file)"
    ))
    .into())
}

fn run_recover(args: RecoverArgs) -> anyhow::Result<ExitStatus> {
    let RecoverArgs { dir } = args;
    match recovery::recover(&dir, &Reporter::silent())? {
        Some(message) => println!("ksn-setup: recovered: {message}"),
        None => println!("ksn-setup: nothing to recover in \"{}\"", dir.display()),
    }
    Ok(ExitStatus::Success)
}

fn run_pack(args: PackArgs) -> anyhow::Result<ExitStatus> {
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
    eprintln!(
        "ksn-setup: packing {} ({} files, {}) at zstd level {level}",
        bundle.origin,
        bundle
            .entries
            .iter()
            .filter(|e| matches!(e.kind, crate::bundle::EntryKind::File { .. }))
            .count(),
        plan::human_bytes(bundle.payload_bytes())
    );
    let summary = pack::pack(&pack::PackRequest {
        program: &program,
        bundle: &bundle,
        answers,
        output: &output,
        level,
        sign_key: sign_key.as_ref(),
    })?;
    println!(
        "Packed {} ({} bytes): program {}, payload {} files {} compressed to {}, manifest {}.\n\
         Digest: sha256:{}\nSignature: {}",
        summary.output.display(),
        summary.total_bytes,
        plan::human_bytes(summary.program_bytes),
        summary.files,
        plan::human_bytes(summary.payload_bytes),
        plan::human_bytes(summary.data_bytes),
        plan::human_bytes(summary.manifest_bytes),
        hex::encode(summary.digest),
        summary
            .signer
            .map(|k| format!("signed by {k} (fingerprint {})", signing::fingerprint(&k)))
            .unwrap_or_else(|| "not signed".into())
    );
    Ok(ExitStatus::Success)
}

fn payload_choice<'a>(
    payload: Option<&'a std::path::Path>,
    installer: Option<&'a std::path::Path>,
) -> PayloadChoice<'a> {
    match (payload, installer) {
        (Some(dir), _) => PayloadChoice::Folder(dir),
        (None, Some(file)) => PayloadChoice::Installer(file),
        (None, None) => PayloadChoice::Own,
    }
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
) -> anyhow::Result<crate::packed::Packed> {
    crate::packed::Packed::open(path, trust)
        .map_err(BadInput)?
        .ok_or_else(|| {
            BadInput(anyhow::anyhow!(
                "\"{}\" is a plain ksn-setup program with no packed bundle (it installs the built-in demo product)",
                path.display()
            ))
            .into()
        })
}

fn run_inspect(args: InspectArgs) -> anyhow::Result<ExitStatus> {
    let path = installer_path(args.installer)?;
    let packed = open_packed(&path, None)?;
    let bundle = Bundle::from_packed(packed.clone(), None).map_err(BadInput)?;
    print!(
        "{}",
        crate::inspect::describe(&packed, &bundle, None, args.files)
    );
    println!("The payload data was not read; `verify` checks every byte.");
    Ok(ExitStatus::Success)
}

fn run_verify(args: VerifyArgs) -> anyhow::Result<ExitStatus> {
    let path = installer_path(args.installer)?;
    let trust = signing::trust(args.trusted_key.as_deref()).map_err(BadInput)?;
    let packed = open_packed(&path, trust.as_ref())?;
    let signature = crate::inspect::signature_line(&packed, trust.as_ref());
    let bundle = Bundle::from_packed(packed, None).map_err(BadInput)?;
    let (files, bytes) = bundle.check_files().map_err(BadInput)?;
    println!(
        "OK: \"{}\": {files} files ({}) decompress and match their SHA-256; manifest and data match the bundle digest; {signature}.",
        path.display(),
        plan::human_bytes(bytes)
    );
    Ok(ExitStatus::Success)
}

fn run_keygen(args: KeygenArgs) -> anyhow::Result<ExitStatus> {
    let files = signing::keygen(&args.output).map_err(BadInput)?;
    println!(
        "Wrote the private key to {} (keep it secret) and the public key to {}.\n\
         Key: {} (fingerprint {})\n\
         Sign with `pack --sign-key {}`; install with `--trusted-key {}`.",
        files.secret.display(),
        files.public.display(),
        files.key,
        signing::fingerprint(&files.key),
        files.secret.display(),
        files.public.display()
    );
    Ok(ExitStatus::Success)
}

fn dir_of(args: &DirArgs) -> PathBuf {
    args.dir.clone().unwrap_or_else(answers::default_dir)
}

fn run_ksn(args: KsnArgs) -> anyhow::Result<ExitStatus> {
    use crate::installed::{InstalledProduct, KsnState};
    use crate::ksn_change::{self, ChangeOutcome, ChangeRequest};
    match args.action {
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
            if record.decision == crate::consent::Decision::Agreed {
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
                dir.join(crate::installed::STATEMENTS_DIR)
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

/// The bundle an install (or a repair) puts in place, with what ksn-setup adds to every
/// install: the statements, and, from an installer (not a bare payload folder, an image for
/// testing and benchmarks), the maintenance program with its settings launcher.
fn bundle_to_install(
    payload: Option<&std::path::Path>,
    installer: Option<&std::path::Path>,
    statements: Option<&std::path::Path>,
    trust: Option<&signing::Trust>,
) -> anyhow::Result<Bundle> {
    let choice = payload_choice(payload, installer);
    let mut bundle = Bundle::open_for_run(choice, statements, trust).map_err(BadInput)?;
    let program = match payload {
        Some(_) => None,
        None => Some(std::env::current_exe().context("cannot find this program's own file")?),
    };
    bundle
        .add_maintenance_files(program.as_deref())
        .map_err(BadInput)?;
    Ok(bundle)
}

fn run_repair(args: RepairArgs) -> anyhow::Result<ExitStatus> {
    use crate::installed::InstalledProduct;
    use crate::maintenance;
    let dir = dir_of(&args.dir);
    let installed = InstalledProduct::open(&dir)?;
    let bundle = bundle_to_install(
        args.payload.as_deref(),
        args.installer.as_deref(),
        None,
        None,
    )?;
    let now = now_rfc3339();
    if args.check {
        return Ok(match maintenance::plan_repair(&installed, &bundle, &now)? {
            None => {
                println!("Nothing to repair: every installed file matches the receipt.");
                ExitStatus::Success
            }
            Some(plan) => {
                for (path, damage) in &plan.damaged {
                    println!("damaged: {path} ({damage})");
                }
                ExitStatus::Failed
            }
        });
    }
    let console = Console::start(None, std::io::stderr().is_terminal())?;
    let reporter = console.reporter();
    let cancel = AtomicBool::new(false);
    let result = crate::task::run(&dir, Some(&bundle), &Task::Repair, &now, &reporter, &cancel);
    drop(reporter);
    console.finish();
    let done = result?;
    if let Done::Repaired(damaged) = &done {
        for (path, damage) in damaged {
            println!("restored: {path} (was {damage})");
        }
    }
    println!("{}", done.summary(&installed.receipt.product_name, &dir));
    Ok(ExitStatus::Success)
}

fn run_uninstall(args: UninstallArgs) -> anyhow::Result<ExitStatus> {
    use crate::installed::InstalledProduct;
    use crate::maintenance::Records;
    let dir = dir_of(&args.dir);
    let records = if args.remove_config {
        Records::Remove
    } else {
        Records::Keep
    };
    let installed = InstalledProduct::open(&dir)?;
    let console = Console::start(None, std::io::stderr().is_terminal())?;
    let reporter = console.reporter();
    let cancel = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&cancel))
            .context("cannot set up signal handling")?;
    }
    let result = crate::task::run(
        &dir,
        None,
        &Task::Uninstall { records },
        &now_rfc3339(),
        &reporter,
        &cancel,
    );
    drop(reporter);
    console.finish();
    let done = result?;
    println!("{}", done.summary(&installed.receipt.product_name, &dir));
    Ok(ExitStatus::Success)
}
