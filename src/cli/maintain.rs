//! `settings`, `repair` and `uninstall`: the product's settings window, and restoring or
//! removing exactly what the receipt lists, each as one journaled transaction.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::common::{DirArgs, bundle_to_install, dir_of};
use super::outcome::{Action, Outcome, Report};
use crate::base::error::ExitStatus;
use crate::base::time::now_rfc3339;
use crate::console::progress::Console;
use crate::engine::control::RunControl;
use crate::maintenance::task::{Done, Task};

#[derive(Debug, Clone, Args)]
pub(super) struct SettingsArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// The page to open on: `ksn` (Security settings → Kaspersky Security Network, the
    /// settings window's one page so far, and the default).
    #[arg(long, value_enum, value_name = "PAGE")]
    page: Option<SettingsPage>,
    /// The window's language, and the Statement's it shows [default: from LANG, else the
    /// language the decision was recorded in].
    #[arg(long, value_parser = super::common::parse_language, value_name = "LANG")]
    lang: Option<crate::consent::statements::Language>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(super) enum SettingsPage {
    /// Security settings → Kaspersky Security Network.
    Ksn,
}

/// Opens the settings window of the product in the folder.
pub(super) fn run_settings(args: SettingsArgs, report: &Report) -> anyhow::Result<ExitStatus> {
    if report.unattended {
        return Err(crate::base::error::BadInput(anyhow::anyhow!(
            "the settings window is for a person at the screen; unattended, change KSN \
             participation with `ksn agree --accept-statement SHA256` or `ksn decline`"
        ))
        .into());
    }
    let SettingsPage::Ksn = args.page.unwrap_or(SettingsPage::Ksn);
    crate::gui::settings_window::run(&dir_of(&args.dir), args.lang)
}

#[derive(Debug, Clone, Args)]
pub(super) struct RepairArgs {
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
pub(super) struct UninstallArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// Also remove the config and the consent log (kept by default: they are the record of
    /// your choices, and a reinstall finds your settings).
    #[arg(long)]
    remove_config: bool,
    /// Open the setup window on its Uninstall choice (the menu's "Uninstall" entry), to
    /// confirm there, instead of removing at once.
    #[arg(long, conflicts_with = "remove_config")]
    wizard: bool,
}

pub(super) fn run_repair(args: RepairArgs, report: &mut Report) -> anyhow::Result<ExitStatus> {
    use crate::maintenance::installed::InstalledProduct;

    let dir = dir_of(&args.dir);
    let root = crate::base::ownership::open_checked(&dir)?;
    let installed = InstalledProduct::read(&root)?;
    let bundle = bundle_to_install(
        args.payload.as_deref(),
        args.installer.as_deref(),
        None,
        None,
    )?;
    let now = now_rfc3339();
    if args.check {
        return Ok(
            match crate::maintenance::repair::plan_repair(
                &root,
                &installed,
                &bundle,
                &now,
                crate::maintenance::repair::Check::Full,
            )? {
                None => {
                    report.say("Nothing to repair: every installed file matches the receipt.");
                    report.set(Outcome::new("repair", Action::Nothing, false).of_installed(&dir));
                    ExitStatus::Success
                }
                Some(plan) => {
                    for (path, damage) in &plan.damaged {
                        report.say(format!("damaged: {path} ({damage})"));
                    }
                    report.set(
                        Outcome::new("repair", Action::Damaged, false)
                            .with_damaged(plan.damaged.iter().map(|(p, d)| (p, d)))
                            .of_installed(&dir),
                    );
                    ExitStatus::Failed
                }
            },
        );
    }
    let console = Console::start(None, report.progress())?;
    let reporter = console.reporter();
    let control = RunControl::new();
    let result = crate::maintenance::task::run(
        &dir,
        Some(&bundle),
        &Task::Repair,
        &now,
        &reporter,
        &control,
    );
    drop(reporter);
    console.finish();
    let done = result?;
    let outcome = match &done {
        Done::Repaired(damaged) => {
            for (path, damage) in damaged {
                report.say(format!("restored: {path} (was {damage})"));
            }
            Outcome::new("repair", Action::Repaired, true)
                .with_damaged(damaged.iter().map(|(p, d)| (p, d)))
        }
        _ => Outcome::new("repair", Action::Nothing, false),
    };
    report.say(done.summary(&installed.receipt.product_name, &dir));
    report.set(outcome.of_installed(&dir));
    Ok(ExitStatus::Success)
}

pub(super) fn run_uninstall(
    args: UninstallArgs,
    report: &mut Report,
) -> anyhow::Result<ExitStatus> {
    use crate::maintenance::installed::InstalledProduct;
    use crate::maintenance::uninstall::Records;
    let dir = dir_of(&args.dir);
    if args.wizard && report.unattended {
        return Err(crate::base::error::BadInput(anyhow::anyhow!(
            "--wizard asks in the setup window and --unattended asks nothing; choose one \
             (uninstall without --wizard removes at once)"
        ))
        .into());
    }
    if args.wizard {
        let bundle = bundle_to_install(None, None, None, None)?;
        let answers = crate::consent::answers::Answers::merge(None, &Default::default());
        return super::install::run_wizard(
            bundle,
            &answers,
            dir,
            None,
            None,
            Some(crate::wizard::machine::MaintenanceChoice::Uninstall),
            Default::default(),
        );
    }
    let records = if args.remove_config {
        Records::Remove
    } else {
        Records::Keep
    };
    let installed = InstalledProduct::open(&dir)?;
    let console = Console::start(None, report.progress())?;
    let reporter = console.reporter();
    let control = RunControl::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, control.flag())
            .context("cannot set up signal handling")?;
    }
    let result = crate::maintenance::task::run(
        &dir,
        None,
        &Task::Uninstall { records },
        &now_rfc3339(),
        &reporter,
        &control,
    );
    drop(reporter);
    console.finish();
    let done = result?;
    report.say(done.summary(&installed.receipt.product_name, &dir));
    let mut outcome = Outcome::new("uninstall", Action::Uninstalled, true);
    outcome.dir = Some(dir.clone());
    outcome.product = Some(super::outcome::Product {
        name: installed.receipt.product_name.clone(),
        version: installed.receipt.product_version.clone(),
    });
    report.set(outcome);
    Ok(ExitStatus::Success)
}
