//! The command line: clap definitions, and one file per command family: installing and
//! recovering (`install`), making and checking installers (`pack`), KSN participation after
//! install (`ksn`), and the product's settings, repair and uninstall (`maintain`); what more
//! than one of them uses is in `common`.
//!
//! `ksn-setup` with no subcommand means `install`, so a packed installer runs as
//! `./setup --unattended --dir D`. Every mode ends in the same plan → execute path; this file
//! only parses, dispatches and turns an error into its exit code.
//!
//! May use every other part; nothing uses it but `main`.

mod common;
mod elevated;
mod install;
mod ksn;
mod maintain;
mod outcome;
mod pack;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::base::error::{self, ExitStatus};
use install::{InstallArgs, RecoverArgs};
use ksn::{KsnAction, KsnArgs};
use maintain::{RepairArgs, SettingsArgs, UninstallArgs};
use outcome::{Outcome, Report};
use pack::{InspectArgs, KeygenArgs, PackArgs, VerifyArgs};

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
    #[command(flatten)]
    output: OutputArgs,
}

/// How every command reports: the same three flags everywhere, before or after the
/// subcommand.
#[derive(Debug, Clone, Args)]
struct OutputArgs {
    /// Never ask: install without the wizard (everything from the answers file and the
    /// flags), `ksn agree` only with --accept-statement, nothing waiting for a terminal.
    /// Every command takes it.
    #[arg(long, global = true)]
    unattended: bool,
    /// Print one JSON object on standard output when the command ends, whatever its outcome,
    /// and nothing else there (README: "Deploying to many machines").
    #[arg(long, global = true)]
    json: bool,
    /// Print nothing but errors (and, with --json, the outcome).
    #[arg(long, short, global = true)]
    quiet: bool,
    /// The format of the log (--log FILE, the wizards' own log): text lines, or one JSON
    /// object a line.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "FORMAT",
        default_value = "text"
    )]
    log_format: LogFormatArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    /// A line of text per event, each with its time.
    Text,
    /// One JSON object a line: at, event, message (and counts, or an error's causes).
    Json,
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
    Settings(SettingsArgs),
    /// Check every installed file against the receipt and restore missing or changed ones.
    Repair(RepairArgs),
    /// Remove exactly what was installed, and the folders left empty.
    Uninstall(UninstallArgs),
    /// The install a normal user's window runs as root through pkexec (for all users): its
    /// request on standard input, its progress as JSON lines on standard output.
    #[command(hide = true)]
    Elevated,
}

const EXIT_CODES: &str = "\
Exit codes:
  0  installed (or recovered, or nothing to do)
  1  failed; everything was rolled back and the folder is as it was
  2  bad input (arguments, answers file, bundle); nothing was written
  3  cancelled; everything was rolled back
  4  failed, and the rollback left something behind (listed in the message)
  5  the same version is installed but damaged; nothing was changed (--repair restores it)";

impl Command {
    /// The command's name, as the outcome of `--json` gives it.
    fn name(&self) -> &'static str {
        match self {
            Command::Install(_) => "install",
            Command::Recover(_) => "recover",
            Command::Pack(_) => "pack",
            Command::Inspect(_) => "inspect",
            Command::Verify(_) => "verify",
            Command::Keygen(_) => "keygen",
            Command::Ksn(args) => match args.action {
                KsnAction::Status { .. } => "ksn status",
                KsnAction::Agree { .. } => "ksn agree",
                KsnAction::Decline { .. } => "ksn decline",
                KsnAction::History { .. } => "ksn history",
                KsnAction::Receipt { .. } => "ksn receipt",
            },
            Command::Settings(_) => "settings",
            Command::Repair(_) => "repair",
            Command::Uninstall(_) => "uninstall",
            Command::Elevated => "elevated",
        }
    }
}

/// The command line. Called as `ksn-settings` (the installed product's `bin/ksn-settings`,
/// a symlink to its maintenance program), it means `settings --dir PRODUCT`, where PRODUCT
/// is found from the program's own file (`/proc/self/exe`, which a caller cannot fake),
/// never from `$0` or the working folder: a symlink to the launcher elsewhere still opens
/// the settings of the product it belongs to.
fn arguments() -> anyhow::Result<Vec<std::ffi::OsString>> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let called = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|name| name == "ksn-settings");
    if !called {
        return Ok(args);
    }
    let exe =
        std::fs::read_link("/proc/self/exe").context("cannot find this program's own file")?;
    let product = exe
        .ends_with(crate::base::layout::PROGRAM)
        .then(|| exe.parent()?.parent()?.parent().map(std::path::Path::to_path_buf))
        .flatten()
        .with_context(|| {
            format!(
                "ksn-settings opens the settings of the product it is installed with, but this program (\"{}\") is not an installed product's {}",
                exe.display(),
                crate::base::layout::PROGRAM
            )
        })?;
    args.splice(
        1..1,
        ["settings".into(), "--dir".into(), product.into_os_string()],
    );
    Ok(args)
}

/// Runs the program and returns its exit code.
pub fn main() -> ExitCode {
    // Every folder and record gets an explicit mode; the umask only narrows what a library
    // or a child process creates, and a hostile one (000) must not widen anything.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let args = match arguments() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("ksn-setup: error: {e:#}");
            return ExitCode::from(ExitStatus::BadInput as u8);
        }
    };
    let cli = match Cli::try_parse_from(args) {
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
    let Cli {
        command,
        install,
        output,
    } = cli;
    crate::engine::log::set_format(match output.log_format {
        LogFormatArg::Text => crate::engine::log::LogFormat::Text,
        LogFormatArg::Json => crate::engine::log::LogFormat::Json,
    });
    let name = command.as_ref().map_or("install", Command::name);
    let mut report = Report::new(output.json, output.quiet, output.unattended);
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
                        | KsnAction::History { .. }
                        | KsnAction::Receipt { .. },
                    ..
                })
        )
    ) {
        // SAFETY: called before any other thread exists; restores the default action.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    // A window, and the privileged side of one, speak to a person and to their window.
    let reports = !matches!(command, Some(Command::Settings(_) | Command::Elevated));
    let r = &mut report;
    let (result, log) = match command {
        None => {
            let log = install.log.clone();
            (install::run_install(install, r), log)
        }
        Some(Command::Install(args)) => {
            let log = args.log.clone();
            (install::run_install(args, r), log)
        }
        Some(Command::Recover(args)) => (install::run_recover(args, r), None),
        Some(Command::Pack(args)) => (pack::run_pack(args, r), None),
        Some(Command::Inspect(args)) => (pack::run_inspect(args, r), None),
        Some(Command::Verify(args)) => (pack::run_verify(args, r), None),
        Some(Command::Keygen(args)) => (pack::run_keygen(args, r), None),
        Some(Command::Ksn(args)) => (ksn::run_ksn(args, r), None),
        Some(Command::Settings(args)) => (maintain::run_settings(args, r), None),
        Some(Command::Repair(args)) => (maintain::run_repair(args, r), None),
        Some(Command::Uninstall(args)) => (maintain::run_uninstall(args, r), None),
        Some(Command::Elevated) => (elevated::run_elevated(), None),
    };
    match result {
        Ok(status) => {
            if reports {
                report.finish(name, status);
            }
            ExitCode::from(status as u8)
        }
        Err(err) => {
            let status = error::exit_status(&err);
            eprintln!("ksn-setup: error: {err:#}");
            if let Some(log) = log {
                crate::engine::log::log_error(&log, &err);
                eprintln!("ksn-setup: the log is in \"{}\"", log.display());
            }
            if reports && report.json {
                Outcome::failed(name, status, &err).print();
            }
            ExitCode::from(status as u8)
        }
    }
}
