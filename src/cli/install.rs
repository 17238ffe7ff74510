//! `install` (the default command) and `recover`: the unattended install and its dry run,
//! the wizard (the Slint window where there is a display, the console wizard on a
//! terminal), and finishing or undoing an interrupted run.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::common::{bundle_to_install, parse_language};
use super::outcome::{Action, Outcome, Report};
use crate::base::error::{BadInput, ExitStatus};
use crate::base::layout;
use crate::base::time::now_rfc3339;
use crate::bundle::contents::Bundle;
use crate::bundle::signing;
use crate::consent::answers::{Answers, AnswersFile, Overrides, Scope};
use crate::consent::statements::Language;
use crate::console::progress::Console;
use crate::engine::control::RunControl;
use crate::engine::progress::Reporter;
use crate::engine::{executor, plan, recovery, target};
use crate::gui::setup_window;
use crate::maintenance::installed::InstalledProduct;
use crate::maintenance::reinstall::{self, Verdict};
use crate::maintenance::repair::{Check, Damage};
use crate::tr;
use crate::wizard::machine::{KsnNow, Wizard};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum KsnArg {
    /// Participate in Kaspersky Security Network.
    Agree,
    /// Do not participate.
    Decline,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum ScopeArg {
    /// Only for me.
    User,
    /// For all users of this computer.
    System,
}

impl From<ScopeArg> for Scope {
    fn from(value: ScopeArg) -> Scope {
        match value {
            ScopeArg::User => Scope::User,
            ScopeArg::System => Scope::System,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub(super) struct InstallArgs {
    /// For whom: `user` (only for me: ~/.local/share/ksn-demo, entries in my menu) or
    /// `system` (for all users: /opt/ksn-demo, entries in every user's menu; needs root)
    /// [default: system as root, user otherwise].
    #[arg(long, value_enum, value_name = "SCOPE")]
    pub(super) scope: Option<ScopeArg>,
    /// Add no menu entries and no icon for the desktop.
    #[arg(long)]
    pub(super) no_menu_entries: bool,
    /// Answers file (TOML) with preset answers; flags override it.
    #[arg(long, value_name = "FILE")]
    pub(super) answers: Option<PathBuf>,
    /// Install folder [default: /opt/ksn-demo as root, ~/.local/share/ksn-demo otherwise].
    #[arg(long, value_name = "DIR")]
    pub(super) dir: Option<PathBuf>,
    /// Accept the End User License Agreement (required for --unattended).
    #[arg(long)]
    pub(super) accept_eula: bool,
    /// Accept the Privacy Policy (required for --unattended).
    #[arg(long)]
    pub(super) accept_privacy_policy: bool,
    /// Kaspersky Security Network: agree or decline; absent leaves it undecided (off).
    #[arg(long, value_enum, value_name = "CHOICE")]
    pub(super) ksn: Option<KsnArg>,
    /// Language of the texts shown and recorded [default: from the answers, else LANG].
    #[arg(long, value_parser = parse_language, value_name = "LANG")]
    pub(super) lang: Option<Language>,
    /// Write every step and every error with its cause to FILE (appended).
    #[arg(long, value_name = "FILE")]
    pub(super) log: Option<PathBuf>,
    /// Print the ordered plan and change nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
    /// Install the product tree in DIR instead of the built-in demo product.
    #[arg(long, value_name = "DIR", conflicts_with = "installer")]
    pub(super) payload: Option<PathBuf>,
    /// Install from this packed installer file (without running it), as if it were run.
    #[arg(long, value_name = "FILE")]
    pub(super) installer: Option<PathBuf>,
    /// Use the statements in DIR (laid out like statements/) instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub(super) statements: Option<PathBuf>,
    /// Write the answers chosen in the wizard to FILE, as an answers file --unattended accepts.
    #[arg(long, value_name = "FILE")]
    pub(super) save_answers: Option<PathBuf>,
    /// Install only an installer signed by this ed25519 public key (PEM).
    #[arg(long, value_name = "KEY")]
    pub(super) trusted_key: Option<PathBuf>,
    /// Over the same version: check every installed file by its SHA-256, not by its size and
    /// modification time.
    #[arg(long)]
    pub(super) verify: bool,
    /// Over the same version found damaged: restore the damaged files (without it, the
    /// damage is reported, nothing is changed and the exit code is 5).
    #[arg(long)]
    pub(super) repair: bool,
}

#[derive(Debug, Clone, Args)]
pub(super) struct RecoverArgs {
    /// The install folder to recover.
    #[arg(long, value_name = "DIR")]
    pub(super) dir: PathBuf,
}

pub(super) fn run_install(args: InstallArgs, report: &mut Report) -> anyhow::Result<ExitStatus> {
    let unattended = report.unattended;
    let InstallArgs {
        scope,
        no_menu_entries,
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
        verify,
        repair,
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
        language: lang,
        scope: scope.map(Scope::from),
        menu_entries: no_menu_entries.then_some(false),
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
    let answers = Answers::merge(file.as_ref(), &overrides).with_menu_dir_from_env();
    let dir = answers.install_dir();
    let silent = answers.mode == crate::consent::answers::UiMode::Silent;
    if !unattended && !dry_run && !silent {
        let source = crate::engine::elevation::Source {
            payload,
            installer,
            statements,
            trusted_key,
        };
        return run_wizard(bundle, &answers, dir, log, save_answers, None, source);
    }

    let console = Console::start(log.as_deref(), report.progress())?;
    let reporter = console.reporter();
    let target = target::inspect(&dir, &bundle, answers.menu_dir.as_deref())?;
    let plan =
        plan::plan(&bundle, &answers, &target, &now_rfc3339()).map_err(|e| BadInput(e.into()))?;
    // The same version again: change only what differs, or nothing.
    let same_version = target.previous.as_ref().is_some_and(|p| {
        p.receipt.product_name == bundle.product.name
            && p.receipt.product_version == bundle.product.version
    });
    let again_applies = same_version && !target.interrupted && plan.problems.is_empty();
    let check = if verify { Check::Full } else { Check::Quick };
    if dry_run {
        drop(reporter);
        console.finish();
        if again_applies
            && let Some(status) = dry_run_again(&bundle, &answers, &plan, check, repair, report)
        {
            return Ok(status);
        }
        if !report.json {
            print!("{plan}");
        }
        return Ok(if plan.problems.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Failed
        });
    }
    reporter.step(format!("plan:\n{plan}"));

    let control = RunControl::new();
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, control.flag())
            .context("cannot set up signal handling")?;
    }
    let mut why_again = None;
    if again_applies {
        let again = Again {
            bundle: &bundle,
            answers: &answers,
            plan: &plan,
            check,
            repair,
        };
        match again.run(&reporter, &control) {
            Ok(AgainDone::Finished(status, outcome)) => {
                drop(reporter);
                console.finish();
                say_again(report, &outcome);
                report.set(outcome.of_installed(&dir));
                return Ok(status);
            }
            Ok(AgainDone::Differs(why)) => {
                reporter.step(format!("installing again: {why}"));
                why_again = Some(why);
            }
            Err(e) => {
                drop(reporter);
                console.finish();
                return Err(e);
            }
        }
    }
    let result = executor::install(&bundle, &plan, &reporter, &control);
    drop(reporter);
    console.finish();
    let installed = result?;
    if let Some(message) = &installed.recovered {
        report.say(format!("ksn-setup: recovered: {message}"));
    }
    let plan = &installed.plan;
    report.say(format!(
        "Installed {} {} into {}.\nKSN: the product {}.\nConfig: {}",
        plan.product_name,
        plan.product_version,
        plan.target.display(),
        crate::consent::rules::describe(&plan.ksn.record),
        plan.target.join(layout::CONFIG).display()
    ));
    let action = match plan.kind {
        plan::InstallKind::Fresh => Action::Installed,
        plan::InstallKind::Upgrade { .. } => Action::Upgraded,
    };
    let mut outcome = Outcome::new("install", action, true);
    outcome.detail = why_again;
    report.set(outcome.of_installed(&plan.target));
    Ok(ExitStatus::Success)
}

/// Installing the same version again over an install of it ([`reinstall::judge`]).
struct Again<'a> {
    bundle: &'a Bundle,
    answers: &'a crate::consent::answers::Answers,
    plan: &'a plan::Plan,
    check: Check,
    /// Restore damaged files instead of reporting them.
    repair: bool,
}

enum AgainDone {
    /// Done here, with this status and outcome.
    Finished(ExitStatus, Box<Outcome>),
    /// The full install has to run, for this reason.
    Differs(String),
}

impl Again<'_> {
    /// Judges under the folder's lock and makes the small change there is, if any: a repair
    /// first when asked for, then the KSN decision.
    fn run(&self, reporter: &Reporter, control: &RunControl) -> anyhow::Result<AgainDone> {
        let mut restored = Vec::new();
        // A repair, then a second look for the KSN decision: two rounds at most.
        for _ in 0..2 {
            let mut verdict = None;
            executor::maintain(
                &self.plan.target,
                Some(self.bundle),
                |root| {
                    // Records that cannot be read (a config deleted by hand) are for the full
                    // install to deal with, as it does over any earlier install.
                    let installed = match InstalledProduct::read(root) {
                        Ok(installed) => installed,
                        Err(e) => {
                            verdict = Some(Verdict::Differs(format!("{e:#}")));
                            return Ok(None);
                        }
                    };
                    let judged = reinstall::judge(
                        root,
                        &installed,
                        self.bundle,
                        self.answers,
                        self.plan,
                        self.check,
                    )?;
                    let work = match &judged {
                        Verdict::KsnChange { work, .. } | Verdict::Records { work, .. } => {
                            Some(work.clone())
                        }
                        Verdict::Damaged(damaged) if self.repair => Some(damaged.work.clone()),
                        _ => None,
                    };
                    verdict = Some(judged);
                    Ok(work)
                },
                reporter,
                control,
            )?;
            let verdict = verdict.context("the install was not looked at")?;
            let restored_list = || restored.iter().map(|(p, d): &(String, Damage)| (p, d));
            let (status, outcome) = match verdict {
                Verdict::Unchanged if restored.is_empty() => (
                    ExitStatus::Success,
                    Outcome::new("install", Action::Unchanged, false),
                ),
                Verdict::Unchanged => (
                    ExitStatus::Success,
                    Outcome::new("install", Action::Repaired, true).with_damaged(restored_list()),
                ),
                Verdict::KsnChange { .. } => (
                    ExitStatus::Success,
                    Outcome::new("install", Action::KsnChanged, true).with_damaged(restored_list()),
                ),
                Verdict::Records { why, .. } => {
                    let mut outcome = Outcome::new("install", Action::Reconfigured, true)
                        .with_damaged(restored_list());
                    outcome.detail = Some(why);
                    (ExitStatus::Success, outcome)
                }
                Verdict::Damaged(damaged) if self.repair => {
                    // Repaired just now; look again for the KSN decision.
                    restored = damaged.damaged;
                    continue;
                }
                Verdict::Damaged(damaged) => (
                    ExitStatus::Damaged,
                    Outcome::new("install", Action::Damaged, false)
                        .with_damaged(damaged.damaged.iter().map(|(p, d)| (p, d))),
                ),
                Verdict::Differs(why) => return Ok(AgainDone::Differs(why)),
            };
            return Ok(AgainDone::Finished(status, Box::new(outcome)));
        }
        anyhow::bail!("the install is still damaged after its repair; run `repair` to see why")
    }
}

/// `--dry-run` over the same version: what installing again would do, without the folder's
/// lock (nothing is written). `None` when the full install would run: its plan is printed.
fn dry_run_again(
    bundle: &Bundle,
    answers: &crate::consent::answers::Answers,
    plan: &plan::Plan,
    check: Check,
    repair: bool,
    report: &Report,
) -> Option<ExitStatus> {
    let root = crate::base::ownership::open_checked(&plan.target).ok()?;
    let installed = InstalledProduct::read(&root).ok()?;
    let verdict = reinstall::judge(&root, &installed, bundle, answers, plan, check).ok()?;
    match verdict {
        Verdict::Unchanged => {
            report.say("Already installed; installing again would change nothing.");
            Some(ExitStatus::Success)
        }
        Verdict::KsnChange { record, .. } => {
            report.say(format!(
                "Already installed; installing again would only change the KSN choice: the \
                 product {}.\n  write {}\n  append to {}",
                crate::consent::rules::describe(&record),
                layout::CONFIG,
                layout::CONSENT_LOG
            ));
            Some(ExitStatus::Success)
        }
        Verdict::Records { work, why } => {
            report.say(format!(
                "Already installed; installing again would change no payload file ({why}):"
            ));
            for op in &work.ops {
                report.say(format!("  {}", plan.step(op)));
            }
            Some(ExitStatus::Success)
        }
        Verdict::Damaged(damaged) => {
            for (path, damage) in &damaged.damaged {
                report.say(format!("damaged: {path} ({damage})"));
            }
            if repair {
                report.say("Installing again with --repair would restore them.");
                Some(ExitStatus::Success)
            } else {
                report.say(
                    "Installing again would change nothing and exit 5; --repair restores them.",
                );
                Some(ExitStatus::Damaged)
            }
        }
        Verdict::Differs(why) => {
            report.say(format!("Installing again in full: {why}."));
            None
        }
    }
}

/// What installing again did, in sentences (and the damage on stderr, which a script that
/// reads stdout still sees).
fn say_again(report: &Report, outcome: &Outcome) {
    for damaged in &outcome.damaged {
        match outcome.action {
            Action::Damaged => {
                eprintln!("ksn-setup: damaged: {} ({})", damaged.path, damaged.damage)
            }
            _ => report.say(format!(
                "restored: {} (was {})",
                damaged.path, damaged.damage
            )),
        }
    }
    match outcome.action {
        Action::Unchanged => report.say("Already installed; nothing changed."),
        Action::Repaired => report.say("Already installed; the damaged files were restored."),
        Action::KsnChanged => report.say("Already installed; only the KSN choice changed."),
        Action::Reconfigured => report.say(format!(
            "Already installed; no payload file changed, but {}.",
            outcome.detail.as_deref().unwrap_or("the records did")
        )),
        Action::Damaged => eprintln!(
            "ksn-setup: the installed product is damaged and nothing was changed; \
             install again with --repair to restore it"
        ),
        _ => {}
    }
}

/// The interactive install: the Slint window where there is a display, the console wizard
/// on a terminal otherwise. `choice`: on an installed product, the maintenance choice to
/// start on (the menu's "Uninstall" entry starts on Uninstall).
pub(super) fn run_wizard(
    bundle: Bundle,
    answers: &Answers,
    dir: PathBuf,
    log: Option<PathBuf>,
    save_answers: Option<PathBuf>,
    choice: Option<crate::wizard::machine::MaintenanceChoice>,
    source: crate::engine::elevation::Source,
) -> anyhow::Result<ExitStatus> {
    // A person is at the wizard: everything from here on is in their language.
    crate::base::i18n::set_language(answers.language());
    // The same product and version already in the folder: maintenance mode (Modify, Repair,
    // Uninstall), as running an MSI again offers. Another version is an upgrade.
    let wizard = match crate::maintenance::installed::InstalledProduct::open(&dir) {
        Ok(installed)
            if installed.receipt.product_name == bundle.product.name
                && installed.receipt.product_version == bundle.product.version =>
        {
            let record = installed.ksn_record();
            let locked = (record.locked
                && record.decided_by == Some(crate::consent::rules::DecidedBy::Administrator))
            .then_some(record.participate);
            let status = installed.ksn_status(answers.language());
            let mut wizard = Wizard::for_installed(
                answers,
                dir,
                installed.receipt.product_version.clone(),
                locked,
                KsnNow::from_status(&status),
            );
            if let Some(choice) = choice {
                wizard.set_maintenance_choice(choice);
            }
            wizard
        }
        Ok(installed) if choice.is_some() => {
            return Err(BadInput(anyhow::anyhow!(
                "\"{}\" holds {} {}, and this program is the setup of {} {}; run `{} uninstall --dir \"{}\"` from the product's own lib/ksn-setup/ksn-setup",
                dir.display(),
                installed.receipt.product_name,
                installed.receipt.product_version,
                bundle.product.name,
                bundle.product.version,
                std::env::args().next().unwrap_or_else(|| "ksn-setup".into()),
                dir.display()
            ))
            .into());
        }
        Err(e) if choice.is_some() => return Err(e),
        _ => Wizard::new(answers, dir),
    }
    .with_menu_dirs(crate::wizard::machine::MenuDirs::from_env());
    let log = match log {
        Some(path) => path,
        // Without a folder of its own to log to, the wizard goes on without a log.
        None => crate::engine::log::default_path().unwrap_or_else(|e| {
            eprintln!(
                "ksn-setup: {}",
                tr!("Setup goes on without a log: {}", format!("{e:#}"))
            );
            PathBuf::new()
        }),
    };
    let has_display = crate::gui::has_display();
    let mut why_not_window =
        tr!("there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)");
    if has_display {
        let options = setup_window::GuiOptions {
            log: log.clone(),
            save_answers: save_answers.clone(),
            source,
            elevated_program: None,
        };
        match setup_window::run(bundle.clone(), wizard.clone(), options) {
            Ok(code) => return Ok(ExitStatus::from_code(code)),
            Err(e) => why_not_window = tr!("the window could not be opened ({})", e),
        }
    }
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        eprintln!(
            "ksn-setup: {}",
            tr!("{}; using the console wizard", why_not_window)
        );
        let code = crate::console::wizard::run(
            &bundle,
            wizard.on_terminal(),
            &log,
            save_answers.as_deref(),
        )?;
        return Ok(ExitStatus::from_code(code));
    }
    Err(BadInput(anyhow::anyhow!(
        "{why_not_window} and this is not a terminal, so the wizard cannot run; \
         install with --unattended (with --accept-eula --accept-privacy-policy, or an answers file)"
    ))
    .into())
}

pub(super) fn run_recover(args: RecoverArgs, report: &mut Report) -> anyhow::Result<ExitStatus> {
    let RecoverArgs { dir } = args;
    let outcome = match recovery::recover(&dir, &Reporter::silent())? {
        Some(message) => {
            report.say(format!("ksn-setup: recovered: {message}"));
            let mut outcome = Outcome::new("recover", Action::Recovered, true);
            outcome.detail = Some(message);
            outcome
        }
        None => {
            report.say(format!(
                "ksn-setup: nothing to recover in \"{}\"",
                dir.display()
            ));
            Outcome::new("recover", Action::Nothing, false)
        }
    };
    report.set(outcome.of_installed(&dir));
    Ok(ExitStatus::Success)
}
