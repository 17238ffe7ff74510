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
use crate::bundle::Bundle;
use crate::console::Console;
use crate::error::{self, BadInput, ExitStatus};
use crate::progress::Reporter;
use crate::statements::Language;
use crate::wizard::Wizard;
use crate::{executor, gui, plan, recovery, target};

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
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KsnArg {
    /// Participate in Kaspersky Security Network.
    Agree,
    /// Do not participate.
    Decline,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
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
    #[arg(long, value_name = "DIR")]
    payload: Option<PathBuf>,
    /// Use the statements in DIR (laid out like statements/) instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    statements: Option<PathBuf>,
    /// Write the answers chosen in the wizard to FILE, as an answers file --unattended accepts.
    #[arg(long, value_name = "FILE")]
    save_answers: Option<PathBuf>,
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

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
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
    } = args;
    let file = answers.as_deref().map(AnswersFile::load).transpose()?;
    let overrides = Overrides {
        dir,
        accept_eula,
        accept_privacy_policy,
        ksn: ksn.map(|k| matches!(k, KsnArg::Agree)),
        language: lang.map(Language::from),
    };
    let answers = Answers::merge(file.as_ref(), &overrides);
    let bundle = Bundle::open(payload.as_deref(), statements.as_deref()).map_err(BadInput)?;
    let dir = answers.dir.clone().unwrap_or_else(answers::default_dir);
    if !unattended && !dry_run {
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
    let wizard = Wizard::new(answers, dir);
    let log = log.unwrap_or_else(|| std::env::temp_dir().join("ksn-setup.log"));
    let has_display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
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
