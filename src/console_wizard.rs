//! The console wizard: the window's pages and rules on a terminal, for a machine with no
//! display (a server over SSH, a rescue console).
//!
//! It drives the same [`Wizard`] state machine as the Slint window and only translates: each
//! page prints itself, reads answers a line at a time, turns them into the wizard's inputs
//! (`press_next`, `press_back`, `press_cancel`, the setters) and carries out the [`Action`]
//! the wizard returns, as the window does. The rules (both licenses before Next, the KSN
//! answer never carried into its page, Back keeps the other answers, Cancel asks first) stay
//! in the wizard; the engine does the install.
//!
//! At every prompt Enter takes the default (the capital letter, or the value in brackets),
//! `b` goes back where the wizard allows it, and `q` or the end of input asks "Cancel setup?",
//! where the end of input again means yes. Long texts are wrapped to the terminal and paged.
//!
//! Once Install is confirmed the engine runs on a worker thread; this thread draws its
//! progress events and writes each to the log. Before that point nothing has been written,
//! so Ctrl-C (or SIGTERM, SIGHUP) ends setup at once as a cancel (exit 3); after it, a signal
//! sets the engine's cancel flag and the install rolls back, as in the CLI.
//!
//! [`run`] binds stdin, stdout and the signals; the session itself works on any reader and
//! writer, so the unit tests script whole runs.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::bundle::Bundle;
use crate::consent::Decision;
use crate::error::ExitStatus;
use crate::now_rfc3339;
use crate::plan::{self, Plan, human_bytes};
use crate::progress::{Event, Phase, Reporter};
use crate::statements::{self, Language};
use crate::wizard::{Action, LocationStatus, MaintenanceChoice, Outcome, Page, Progress, Wizard};
use crate::{console, executor, location, target};

/// Runs the wizard on the terminal; returns the exit status.
pub fn run(
    bundle: &Bundle,
    wizard: Wizard,
    log: &Path,
    save_answers: Option<&Path>,
) -> anyhow::Result<u8> {
    let interrupts = Arc::new(Interrupts::default());
    let signals = [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ];
    for signal in signals {
        // Set in the handler itself, so a running install stops at its next file even
        // before the signal thread below wakes up.
        signal_hook::flag::register(signal, Arc::clone(&interrupts.cancel))
            .context("cannot set up signal handling")?;
    }
    let mut listener =
        signal_hook::iterator::Signals::new(signals).context("cannot set up signal handling")?;
    let handle = listener.handle();
    {
        let interrupts = Arc::clone(&interrupts);
        std::thread::spawn(move || {
            for _ in listener.forever() {
                interrupts.signalled();
            }
        });
    }
    let terminal = Term {
        input: io::stdin().lock(),
        out: io::stdout(),
        screen: Screen::of_stdout(),
    };
    let result = run_with(bundle, wizard, log, save_answers, terminal, &interrupts);
    handle.close();
    result
}

/// The session behind [`run`], on any input and output.
fn run_with<R: BufRead, W: Write>(
    bundle: &Bundle,
    wizard: Wizard,
    log: &Path,
    save_answers: Option<&Path>,
    term: Term<R, W>,
    interrupts: &Interrupts,
) -> anyhow::Result<u8> {
    Session {
        bundle,
        wizard,
        log_path: log,
        save_answers,
        input: term.input,
        out: Rows::new(term.out),
        screen: term.screen,
        interrupts,
        plan: None,
        reconsent: false,
        log: None,
        exit: None,
    }
    .run()
}

/// Where the wizard reads and writes.
struct Term<R, W> {
    input: R,
    out: W,
    screen: Screen,
}

/// What the output can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Screen {
    /// A terminal: the progress bar is redrawn in place instead of printed as lines.
    terminal: bool,
    /// Rows of a screenful, to pause long texts; `None` prints them whole.
    rows: Option<usize>,
    /// The column texts are wrapped at.
    width: usize,
}

impl Screen {
    /// Not a terminal: texts whole, wrapped at 80 columns, progress as lines.
    fn plain() -> Screen {
        Screen {
            terminal: false,
            rows: None,
            width: 80,
        }
    }

    fn of_stdout() -> Screen {
        if !io::stdout().is_terminal() {
            return Screen::plain();
        }
        let (rows, cols) = window_size().unwrap_or((0, 0));
        Screen {
            terminal: true,
            // An unknown (0) or tiny height would pause every line or two: print whole.
            rows: (rows >= 5).then_some(rows),
            // One column short of the edge, so a full line does not wrap on its own; long
            // lines are hard to read, so at most 100.
            width: if cols >= 20 { cols.min(101) - 1 } else { 79 },
        }
    }
}

/// The terminal's rows and columns.
fn window_size() -> Option<(usize, usize)> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct passed, which lives through
    // the call; nothing else is touched.
    let done = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (done == 0).then_some((usize::from(size.ws_row), usize::from(size.ws_col)))
}

/// What a signal does, shared between the wizard and the thread that receives signals.
#[derive(Debug, Default)]
struct Interrupts {
    /// The engine's cancel flag, polled between files.
    cancel: Arc<AtomicBool>,
    /// Set when Install is confirmed. The signal thread holds the lock while it ends the
    /// process, so the install cannot start under it.
    installing: Mutex<bool>,
}

impl Interrupts {
    fn start_install(&self) {
        *self
            .installing
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
    }

    /// Ctrl-C, SIGTERM or SIGHUP arrived.
    fn signalled(&self) {
        let installing = self
            .installing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *installing {
            self.cancel.store(true, Ordering::Relaxed);
            return;
        }
        // Nothing is written before Install, so this is a cancel with nothing to undo; the
        // keypress is its confirmation. The terminal may be gone (SIGHUP): errors are moot.
        let _ = writeln!(io::stderr(), "\nksn-setup: cancelled; nothing was changed");
        std::process::exit(ExitStatus::Cancelled as i32);
    }
}

/// An answer at a prompt, or a move away from the page.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply<T> {
    Answer(T),
    /// `b`, where the wizard allows Back.
    Back,
    /// Setup is ending: Cancel was confirmed.
    Quit,
}

struct Session<'a, R, W> {
    bundle: &'a Bundle,
    wizard: Wizard,
    log_path: &'a Path,
    save_answers: Option<&'a Path>,
    input: R,
    out: Rows<W>,
    screen: Screen,
    interrupts: &'a Interrupts,
    /// The plan made for the Ready page's summary.
    plan: Option<Plan>,
    /// The chosen folder holds an agreement to a KSN Statement that has changed since.
    reconsent: bool,
    /// Open from the moment Install is confirmed, as in the window.
    log: Option<File>,
    exit: Option<u8>,
}

impl<R: BufRead, W: Write> Session<'_, R, W> {
    fn run(mut self) -> anyhow::Result<u8> {
        // As the window does: check the preset folder first, so Welcome can say "update"
        // and the KSN page knows whether an earlier agreement needs renewing.
        let dir = self.wizard.dir().to_string();
        self.perform(Action::CheckLocation(dir))?;
        loop {
            if let Some(code) = self.exit {
                self.out.flush()?;
                return Ok(code);
            }
            match self.wizard.page() {
                Page::Maintenance => self.maintenance()?,
                Page::Welcome => self.welcome()?,
                Page::License => self.license()?,
                Page::Ksn => self.ksn()?,
                Page::Location => self.location()?,
                Page::Ready => self.ready()?,
                // Install runs to its end inside `perform(StartInstall)` and then shows Finish.
                Page::Progress => {
                    anyhow::bail!("the console wizard reached Progress without an install")
                }
                Page::Finish => self.finish()?,
            }
        }
    }

    /// Carries out what the state machine asked for.
    fn perform(&mut self, action: Action) -> anyhow::Result<()> {
        match action {
            Action::None => {}
            Action::CheckLocation(dir) => {
                let answers = self.wizard.answers();
                let check = location::check(&dir, self.bundle, &answers);
                self.reconsent = location::needs_reconsent(self.bundle, &dir);
                self.wizard.set_location_check(check);
            }
            Action::MakePlan => {
                let answers = self.wizard.answers();
                let dir = PathBuf::from(self.wizard.dir());
                let made = target::inspect(&dir, self.bundle)
                    .and_then(|t| Ok(plan::plan(self.bundle, &answers, &t, &now_rfc3339())?));
                self.plan = made.ok();
            }
            Action::StartInstall => self.install()?,
            Action::StartMaintenance(task) => self.run_task(task)?,
            Action::RequestRollback => self.interrupts.cancel.store(true, Ordering::Relaxed),
            Action::Exit(code) => self.exit = Some(code),
        }
        Ok(())
    }

    fn back(&mut self) -> anyhow::Result<()> {
        let action = self.wizard.press_back();
        self.perform(action)
    }

    fn next(&mut self) -> anyhow::Result<()> {
        let action = self.wizard.press_next();
        self.perform(action)
    }

    // ---- pages ----

    fn maintenance(&mut self) -> anyhow::Result<()> {
        let product = self.bundle.product.name.clone();
        let version = self
            .wizard
            .maintenance()
            .map(|m| m.installed_version.clone())
            .unwrap_or_default();
        self.heading(&format!("{product} is installed"))?;
        self.para(&format!(
            "{product} {version} is already installed in {}. What do you want to do?",
            self.wizard.dir()
        ))?;
        self.say("  [1] Modify: change your Kaspersky Security Network participation")?;
        self.say("  [2] Repair: restore missing or changed product files")?;
        self.say("  [3] Uninstall: remove the product from this computer")?;
        loop {
            let answer = match self.ask("Choose 1, 2 or 3:")? {
                Reply::Answer(answer) => answer,
                Reply::Back => continue,
                Reply::Quit => return Ok(()),
            };
            let choice = match answer.as_str() {
                "1" => MaintenanceChoice::Modify,
                "2" => MaintenanceChoice::Repair,
                "3" => MaintenanceChoice::Uninstall,
                _ => {
                    self.say("Type 1, 2 or 3.")?;
                    continue;
                }
            };
            self.wizard.set_maintenance_choice(choice);
            if choice == MaintenanceChoice::Uninstall {
                let keep = loop {
                    match self
                        .ask("Keep your settings and the record of your KSN choices? [Y/n]:")?
                    {
                        Reply::Answer(a) if a.is_empty() || a.eq_ignore_ascii_case("y") => {
                            break true;
                        }
                        Reply::Answer(a) if a.eq_ignore_ascii_case("n") => break false,
                        Reply::Answer(_) => self.say("Type y or n.")?,
                        Reply::Back => break true,
                        Reply::Quit => return Ok(()),
                    }
                };
                self.wizard.set_keep_records(keep);
            }
            return self.next();
        }
    }

    fn welcome(&mut self) -> anyhow::Result<()> {
        let product = self.bundle.product.clone();
        self.heading(&format!("Welcome to {} Setup", product.name))?;
        let upgrade = matches!(
            self.wizard.location().map(|c| &c.status),
            Some(LocationStatus::Ok {
                upgrade_from: Some(_)
            })
        );
        let verb = if upgrade { "update" } else { "install" };
        self.para(&format!(
            "Setup will {verb} {} {} on this computer.",
            product.name, product.version
        ))?;
        self.para(
            "You will read and accept the End User License Agreement and the Privacy Policy, \
             decide whether to take part in Kaspersky Security Network, and choose where to \
             install. Nothing is changed on this computer until you confirm Install.",
        )?;
        self.para(
            "Taking part in Kaspersky Security Network is voluntary. You can change your \
             decision at any time after installation in the product's Settings.",
        )?;
        self.para("At any prompt, type b to go back or q to cancel, then Enter.")?;
        loop {
            let current = language_name(self.wizard.language);
            let prompt = format!("Language [1] English [2] Русский (Enter keeps {current}):");
            let answer = match self.ask(&prompt)? {
                Reply::Answer(answer) => answer,
                Reply::Back => continue,
                Reply::Quit => return Ok(()),
            };
            let language = match answer.to_lowercase().as_str() {
                "" => self.wizard.language,
                "1" | "en" | "english" => Language::En,
                "2" | "ru" | "русский" => Language::Ru,
                _ => {
                    self.say("Type 1 or 2, or press Enter.")?;
                    continue;
                }
            };
            self.wizard.set_language(language);
            return self.next();
        }
    }

    fn license(&mut self) -> anyhow::Result<()> {
        self.heading("License Agreement and Privacy Policy")?;
        self.para("Please read both documents. To continue, accept both.")?;
        for id in [statements::EULA, statements::PRIVACY_POLICY] {
            match self.show_statement(id)? {
                Reply::Answer(()) => {}
                Reply::Back => return self.back(),
                Reply::Quit => return Ok(()),
            }
        }
        // The defaults are the boxes' state: unticked at first, kept when coming Back.
        let default = self.wizard.accept_eula();
        let eula = match self.yes_no(
            "I accept the terms of the End User License Agreement",
            default,
        )? {
            Reply::Answer(yes) => yes,
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        };
        self.wizard.set_accept_eula(eula);
        let default = self.wizard.accept_privacy_policy();
        let privacy = match self.yes_no("I accept the Privacy Policy", default)? {
            Reply::Answer(yes) => yes,
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        };
        self.wizard.set_accept_privacy_policy(privacy);
        if self.wizard.can_next() {
            return self.next();
        }
        self.para(
            "Setup cannot continue unless you accept both the End User License Agreement and \
             the Privacy Policy. You can read them again, go back, or cancel setup.",
        )?;
        loop {
            match self.ask("[r]ead again / [b]ack / [c]ancel:")? {
                Reply::Back => return self.back(),
                Reply::Quit => return Ok(()),
                Reply::Answer(answer) => match answer.to_lowercase().as_str() {
                    // The page again, from the top, with both questions.
                    "r" | "read" => return Ok(()),
                    "c" | "cancel" => {
                        if self.cancel_setup()? {
                            return Ok(());
                        }
                    }
                    _ => self.say("Type r, b or c.")?,
                },
            }
        }
    }

    fn ksn(&mut self) -> anyhow::Result<()> {
        self.heading("Kaspersky Security Network")?;
        if self.reconsent {
            let version = self.bundle.statements.ksn().version.clone();
            self.para(&format!(
                "The Kaspersky Security Network Statement has changed since you last agreed \
                 (now version {version}). Please read it and decide again."
            ))?;
        } else {
            self.para(
                "Kaspersky Security Network (KSN) is a cloud service that receives statistics \
                 from your computer to detect new threats faster. Read the Statement below.",
            )?;
        }
        match self.show_statement(statements::KSN)? {
            Reply::Answer(()) => {}
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        }
        if self.wizard.ksn_locked() {
            let choice = if self.wizard.ksn_agree() {
                "this computer takes part"
            } else {
                "this computer does not take part"
            };
            self.say(&format!("Kaspersky Security Network: {choice}."))?;
            self.para("Set by your administrator.")?;
            return match self.ask("Press Enter to continue:")? {
                Reply::Answer(_) => self.next(),
                Reply::Back => self.back(),
                Reply::Quit => Ok(()),
            };
        }
        self.para(
            "Participation is voluntary: you can install without it, and change your decision \
             at any time later in Settings.",
        )?;
        // No is the default: consent is given by answering yes on this page, never by Enter.
        let agree = match self.yes_no(
            "I agree to participate in Kaspersky Security Network",
            false,
        )? {
            Reply::Answer(yes) => yes,
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        };
        self.wizard.set_ksn_agree(agree);
        self.say(if agree {
            "You agreed to take part in Kaspersky Security Network."
        } else {
            "You do not take part in Kaspersky Security Network."
        })?;
        self.next()
    }

    fn location(&mut self) -> anyhow::Result<()> {
        self.heading("Choose the install location")?;
        let product = self.bundle.product.name.clone();
        self.para(&format!(
            "Setup will install {product} into the folder below. Press Enter to keep it, or \
             type another folder (a full path)."
        ))?;
        self.show_location()?;
        loop {
            let prompt = format!("Install folder [{}]:", self.wizard.dir());
            match self.ask(&prompt)? {
                Reply::Back => return self.back(),
                Reply::Quit => return Ok(()),
                Reply::Answer(answer) if answer.is_empty() => {
                    if self.wizard.can_next() {
                        return self.next();
                    }
                    self.say("This folder cannot be used. Type another folder.")?;
                }
                Reply::Answer(dir) => {
                    let action = self.wizard.set_dir(&dir);
                    self.perform(action)?;
                    self.show_location()?;
                    if self.wizard.can_next() {
                        return self.next();
                    }
                }
            }
        }
    }

    fn show_location(&mut self) -> io::Result<()> {
        let Some(check) = self.wizard.location().cloned() else {
            return Ok(());
        };
        self.say(&format!("Install folder: {}", check.dir))?;
        self.para(&location_sentence(&check.status))?;
        if check.needed > 0 || check.free > 0 {
            self.para(&format!(
                "Space needed: {}. Free on this disk: {}.",
                human_bytes(check.needed),
                human_bytes(check.free)
            ))?;
        }
        Ok(())
    }

    fn ready(&mut self) -> anyhow::Result<()> {
        self.heading("Ready to install")?;
        self.para("Setup has everything it needs. Nothing has been changed yet.")?;
        let dir = self.wizard.dir().to_string();
        self.say(&format!("  Folder:       {dir}"))?;
        if let Some(check) = self.wizard.location().cloned() {
            self.say(&format!(
                "  Disk space:   {} needed, {} free",
                human_bytes(check.needed),
                human_bytes(check.free)
            ))?;
            if let LocationStatus::Ok {
                upgrade_from: Some(version),
            } = &check.status
            {
                self.say(&format!(
                    "  Earlier install: version {version} will be updated; your settings are kept."
                ))?;
            }
        }
        // What the engine will record, as the window's summary shows it.
        let chosen = if self.wizard.answers().ksn == Some(true) {
            Decision::Agreed
        } else {
            Decision::Declined
        };
        let decision = self
            .plan
            .as_ref()
            .map(|p| p.ksn.record.decision)
            .unwrap_or(chosen);
        let ksn = match (decision == Decision::Agreed, self.wizard.ksn_locked()) {
            (true, true) => "Your administrator has chosen that this computer takes part in KSN.",
            (true, false) => {
                "You agreed to take part in KSN. Statistics will be sent to Kaspersky."
            }
            (false, true) => {
                "Your administrator has chosen that this computer does not take part in KSN."
            }
            (false, false) => "You do not take part in KSN. Nothing will be sent.",
        };
        self.say(&format!("  KSN:          {ksn}"))?;
        self.say("")?;
        loop {
            match self.yes_no("Install now?", true)? {
                Reply::Answer(true) => return self.next(),
                Reply::Answer(false) => {
                    if self.cancel_setup()? {
                        return Ok(());
                    }
                }
                Reply::Back => return self.back(),
                Reply::Quit => return Ok(()),
            }
        }
    }

    /// Install was confirmed: save the answers, run the engine on a worker thread and show
    /// its progress here, then the outcome on the Finish page.
    fn install(&mut self) -> anyhow::Result<()> {
        // From here on a signal rolls the install back instead of ending setup.
        self.interrupts.start_install();
        let answers = self.wizard.answers();
        if let Some(path) = self.save_answers
            && let Err(e) = crate::durable::write_synced(
                path,
                crate::wizard::answers_file_text(&answers).as_bytes(),
                0o600,
            )
        {
            self.wizard.finish(Outcome::Failed {
                message: format!("cannot save the answers to \"{}\": {e}", path.display()),
                rolled_back: false,
            });
            return Ok(());
        }
        self.log = match OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path)
        {
            Ok(file) => Some(file),
            Err(e) => {
                self.say(&format!(
                    "Setup cannot write its log to \"{}\" ({e}); it goes on without one.",
                    self.log_path.display()
                ))?;
                None
            }
        };
        let product = self.bundle.product.name.clone();
        self.heading("Installing")?;
        self.para(&format!(
            "Please wait while Setup installs {product}. Ctrl-C cancels and undoes every change."
        ))?;

        let (sender, events) = mpsc::channel();
        let cancel = Arc::clone(&self.interrupts.cancel);
        let bundle = self.bundle;
        // The plan is made again now, so its time is the moment Install was confirmed.
        let now = now_rfc3339();
        let result = std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                let reporter = Reporter::new(sender, true);
                let dir = answers
                    .dir
                    .clone()
                    .unwrap_or_else(crate::answers::default_dir);
                let target = target::inspect(&dir, bundle)?;
                let plan = plan::plan(bundle, &answers, &target, &now)?;
                reporter.step(format!("plan:\n{plan}"));
                executor::install(bundle, &plan, &reporter, &cancel)
            });
            let watched = self.watch(&events);
            let installed = worker
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the install stopped unexpectedly")));
            watched.map(|()| installed)
        })?;

        let outcome = match result {
            Ok(installed) => {
                if let Some(message) = &installed.recovered {
                    self.say(&format!("Recovered first: {message}"))?;
                }
                Outcome::Installed {
                    ksn: installed.plan.ksn.record.clone(),
                    dir: installed.plan.target,
                }
            }
            Err(e) => {
                if self.log.is_some() {
                    console::log_error(self.log_path, &e);
                }
                Outcome::from_error(&e)
            }
        };
        self.wizard.finish(outcome);
        Ok(())
    }

    /// A maintenance task was chosen: run it on a worker thread, show its progress, then the
    /// outcome on the Finish page.
    fn run_task(&mut self, task: crate::task::Task) -> anyhow::Result<()> {
        self.interrupts.start_install();
        self.log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path)
            .ok();
        self.heading("Working")?;
        let (sender, events) = mpsc::channel();
        let cancel = Arc::clone(&self.interrupts.cancel);
        let bundle = self.bundle;
        let dir = PathBuf::from(self.wizard.dir());
        let task = task.with_shown_statement(bundle);
        let now = now_rfc3339();
        let result = std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                let reporter = Reporter::new(sender, true);
                crate::task::run(&dir, Some(bundle), &task, &now, &reporter, &cancel)
            });
            let watched = self.watch(&events);
            let done = worker
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the task stopped unexpectedly")));
            watched.map(|()| done)
        })?;
        let outcome = match result {
            Ok(done) => Outcome::Maintained {
                summary: done.summary(&bundle.product.name, &dir),
            },
            Err(e) => {
                if self.log.is_some() {
                    console::log_error(self.log_path, &e);
                }
                Outcome::from_error(&e)
            }
        };
        self.wizard.finish(outcome);
        Ok(())
    }

    /// Shows the engine's events until it is done, logging each one.
    fn watch(&mut self, events: &Receiver<Event>) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut meter = Meter::new(self.screen);
        loop {
            match events.recv_timeout(Duration::from_millis(100)) {
                Ok(event) => {
                    if let Some(file) = self.log.as_mut() {
                        console::write_log(file, &event);
                    }
                    self.wizard.record_event(&event, started.elapsed());
                    match event {
                        Event::Progress { .. } => meter.show(&mut self.out, self.wizard.progress()),
                        Event::Phase(Phase::Done) => {}
                        Event::Phase(phase) => {
                            meter.line(&mut self.out, &format!("- {}", phase.describe()));
                        }
                        Event::Notice(text) => meter.line(&mut self.out, &text),
                        Event::Step(_) => {}
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            // A signal set the engine's flag directly (it must act at the next file, not when
            // this loop wakes); tell the state machine, which shows the rollback.
            if self.interrupts.cancel.load(Ordering::Relaxed) && self.wizard.can_cancel() {
                self.wizard.press_cancel();
                let action = self.wizard.confirm_cancel(true);
                self.perform(action)?;
                meter.line(
                    &mut self.out,
                    "Cancelling: Setup is undoing every change it made. Please wait.",
                );
            }
        }
        meter.close(&mut self.out);
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        let logged = self.log.is_some();
        match self.wizard.outcome().cloned() {
            Some(Outcome::Installed { ksn, dir }) => {
                self.heading("Setup is complete")?;
                let product = self.bundle.product.name.clone();
                self.para(&format!(
                    "{product} has been installed in {}.",
                    dir.display()
                ))?;
                self.para(&format!(
                    "Kaspersky Security Network: the product {}. {}",
                    crate::consent::describe(&ksn),
                    if ksn.locked {
                        "Your administrator set this choice."
                    } else {
                        "You can change this at any time in Settings."
                    }
                ))?;
                self.say(&format!(
                    "Config: {}",
                    dir.join(crate::config::PATH).display()
                ))?;
            }
            Some(Outcome::Maintained { summary }) => {
                self.heading("Done")?;
                self.para(&summary)?;
            }
            Some(Outcome::Failed {
                message,
                rolled_back,
            }) => {
                self.heading("Setup failed")?;
                self.para(&format!("What went wrong: {message}"))?;
                // Otherwise the message itself says what is left, or nothing had started.
                if rolled_back {
                    self.para(
                        "Every change was undone; the computer is as it was before Setup started.",
                    )?;
                }
            }
            Some(Outcome::Cancelled) => {
                self.heading("Setup was cancelled")?;
                self.para(
                    "The install was rolled back: every change was undone, and the computer is \
                     as it was before Setup started.",
                )?;
            }
            None => {}
        }
        if logged {
            self.say(&format!("The setup log is in {}.", self.log_path.display()))?;
        }
        self.next()
    }

    // ---- input ----

    /// Asks until there is an answer; handles `b`, `q` and the end of input itself.
    fn ask(&mut self, prompt: &str) -> anyhow::Result<Reply<String>> {
        loop {
            write!(self.out, "{prompt} ")?;
            self.out.flush()?;
            let Some(answer) = self.read_line()? else {
                writeln!(self.out)?;
                if self.cancel_setup()? {
                    return Ok(Reply::Quit);
                }
                continue;
            };
            match answer.to_lowercase().as_str() {
                "q" | "quit" => {
                    if self.cancel_setup()? {
                        return Ok(Reply::Quit);
                    }
                }
                "b" | "back" => {
                    if self.wizard.can_back() {
                        return Ok(Reply::Back);
                    }
                    self.say("There is no earlier page to go back to.")?;
                }
                _ => return Ok(Reply::Answer(answer)),
            }
        }
    }

    fn yes_no(&mut self, question: &str, default: bool) -> anyhow::Result<Reply<bool>> {
        let hint = if default { "[Y/n]" } else { "[y/N]" };
        loop {
            match self.ask(&format!("{question} {hint}:"))? {
                Reply::Answer(answer) if answer.is_empty() => return Ok(Reply::Answer(default)),
                Reply::Answer(answer) => match yes_or_no(&answer) {
                    Some(yes) => return Ok(Reply::Answer(yes)),
                    None => self.say("Please answer y or n (b goes back, q cancels).")?,
                },
                Reply::Back => return Ok(Reply::Back),
                Reply::Quit => return Ok(Reply::Quit),
            }
        }
    }

    /// Cancel, as the window's button: asks first. Returns whether setup is ending.
    fn cancel_setup(&mut self) -> anyhow::Result<bool> {
        let action = self.wizard.press_cancel();
        self.perform(action)?;
        if !self.wizard.confirming_cancel() {
            return Ok(false);
        }
        let yes = loop {
            write!(self.out, "Cancel setup? [y/N]: ")?;
            self.out.flush()?;
            match self.read_line()? {
                // Nobody is left to answer.
                None => {
                    writeln!(self.out)?;
                    break true;
                }
                Some(answer) if answer.is_empty() => break false,
                Some(answer) => match yes_or_no(&answer) {
                    Some(yes) => break yes,
                    None => self.say("Please answer y or n.")?,
                },
            }
        };
        let action = self.wizard.confirm_cancel(yes);
        if matches!(action, Action::Exit(_)) {
            self.say("Setup was cancelled. Nothing on this computer was changed.")?;
        }
        self.perform(action)?;
        Ok(self.exit.is_some())
    }

    /// One line, trimmed; `None` at the end of input. A read error means nobody can answer
    /// any more (the terminal went away), which is the same as the end of input.
    fn read_line(&mut self) -> io::Result<Option<String>> {
        // The answer's Enter starts a fresh screenful.
        self.out.rows = 0;
        let mut bytes = Vec::new();
        match self.input.read_until(b'\n', &mut bytes) {
            Ok(0) | Err(_) => Ok(None),
            Ok(_) => Ok(Some(String::from_utf8_lossy(&bytes).trim().to_string())),
        }
    }

    // ---- output ----

    fn heading(&mut self, title: &str) -> io::Result<()> {
        writeln!(self.out, "\n== {title} ==\n")
    }

    /// A paragraph, wrapped, then a blank line.
    fn para(&mut self, text: &str) -> io::Result<()> {
        for line in wrap(text, self.screen.width) {
            writeln!(self.out, "{line}")?;
        }
        writeln!(self.out)
    }

    fn say(&mut self, line: &str) -> io::Result<()> {
        writeln!(self.out, "{line}")
    }

    /// Prints a statement in the wizard's language, wrapped, pausing every screenful.
    fn show_statement(&mut self, id: &str) -> anyhow::Result<Reply<()>> {
        let statement = self.bundle.statements.get(id);
        let (_, text) = statement.text(self.wizard.language);
        let title = statement.title(self.wizard.language).to_string();
        let mut lines = vec![
            format!("---- {title}, version {} ----", statement.version),
            String::new(),
        ];
        lines.extend(wrap(&text.reflowed(), self.screen.width));
        lines.extend([
            String::new(),
            format!("---- end of the {title} ----"),
            String::new(),
        ]);
        for line in &lines {
            // Pause when the screen is full of what was printed since the last answer; the
            // prompt takes the last row.
            if self.screen_full(1) {
                match self.more()? {
                    Reply::Answer(()) => {}
                    other => return Ok(other),
                }
            }
            writeln!(self.out, "{line}")?;
        }
        // The questions after a text take a few rows; they must not push its last lines
        // off the screen unread.
        if self.screen_full(AFTER_TEXT_ROWS) {
            return self.more();
        }
        Ok(Reply::Answer(()))
    }

    /// Whether `needed` more rows would scroll what was printed since the last answer.
    fn screen_full(&self, needed: usize) -> bool {
        self.screen
            .rows
            .is_some_and(|rows| self.out.rows + needed >= rows)
    }

    fn more(&mut self) -> anyhow::Result<Reply<()>> {
        Ok(match self.ask("-- more (Enter) --")? {
            Reply::Answer(_) => Reply::Answer(()),
            Reply::Back => Reply::Back,
            Reply::Quit => Reply::Quit,
        })
    }
}

/// Rows the questions after a statement take: a paragraph and a prompt.
const AFTER_TEXT_ROWS: usize = 5;

/// Output that counts the lines written since the last answer, for the pager.
struct Rows<W> {
    inner: W,
    rows: usize,
}

impl<W: Write> Rows<W> {
    fn new(inner: W) -> Rows<W> {
        Rows { inner, rows: 0 }
    }
}

impl<W: Write> Write for Rows<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.rows += buf[..written].iter().filter(|b| **b == b'\n').count();
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Draws copy progress: a bar redrawn in place on a terminal, a line per tenth otherwise.
/// Errors writing it are ignored: the install goes on whether or not it can be watched.
struct Meter {
    screen: Screen,
    /// A bar is on the current line.
    drawn: bool,
    last_draw: Option<Instant>,
    last_percent: u64,
}

impl Meter {
    fn new(screen: Screen) -> Meter {
        Meter {
            screen,
            drawn: false,
            last_draw: None,
            last_percent: 0,
        }
    }

    fn show(&mut self, out: &mut impl Write, progress: &Progress) {
        let percent = (progress.bytes_done * 100)
            .checked_div(progress.bytes_total)
            .unwrap_or(100);
        let complete = progress.files_done == progress.files_total;
        if !self.screen.terminal {
            if percent >= self.last_percent + 10 || complete {
                self.last_percent = percent - percent % 10;
                let _ = writeln!(
                    out,
                    "  {percent:>3}% ({}/{} files)",
                    progress.files_done, progress.files_total
                );
            }
            return;
        }
        // A redraw costs a write to the terminal; ten a second is smooth enough.
        if !complete
            && self
                .last_draw
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last_draw = Some(Instant::now());
        const WIDTH: usize = 30;
        let filled = (progress.fraction() * WIDTH as f32).round() as usize;
        let filled = filled.min(WIDTH);
        let mut text = format!(
            "[{}{}] {percent:>3}%  {} of {}",
            "=".repeat(filled),
            " ".repeat(WIDTH - filled),
            human_bytes(progress.bytes_done),
            human_bytes(progress.bytes_total)
        );
        if let Some(seconds) = progress.seconds_left {
            text.push_str(&format!(", about {} left", format_seconds(seconds)));
        }
        let text: String = text.chars().take(self.screen.width).collect();
        // Carriage return and "erase to the end of the line": the bar stays on one line.
        let _ = write!(out, "\r{text}\x1b[K");
        let _ = out.flush();
        self.drawn = true;
    }

    /// A line of text above the bar.
    fn line(&mut self, out: &mut impl Write, text: &str) {
        if self.drawn {
            let _ = write!(out, "\r\x1b[K");
            self.drawn = false;
            self.last_draw = None;
        }
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn close(&mut self, out: &mut impl Write) {
        if self.drawn {
            let _ = writeln!(out);
            self.drawn = false;
        }
    }
}

/// The Location page's sentence for a folder check.
fn location_sentence(status: &LocationStatus) -> String {
    match status {
        LocationStatus::Ok {
            upgrade_from: Some(version),
        } => format!(
            "An earlier install (version {version}) is here; it will be updated and your \
             settings kept."
        ),
        LocationStatus::Ok { upgrade_from: None } => "The folder can be used.".into(),
        LocationStatus::Empty => "Enter a folder.".into(),
        LocationStatus::NotAbsolute => "Enter a full path that starts with /.".into(),
        LocationStatus::NotADir => "This path is a file, not a folder.".into(),
        LocationStatus::NotWritable => "You cannot write to this folder. Choose another one or \
                                        run Setup as an administrator."
            .into(),
        LocationStatus::NoSpace => "There is not enough free space on this disk.".into(),
        LocationStatus::ForeignNonEmpty => "This folder is not empty and holds no earlier \
                                            install of the product. Choose an empty or a new \
                                            folder."
            .into(),
        LocationStatus::Other(message) => format!("This folder cannot be used: {message}"),
    }
}

fn language_name(language: Language) -> &'static str {
    match language {
        Language::En => "English",
        Language::Ru => "Русский",
    }
}

/// y/yes or n/no, in either language the wizard speaks.
fn yes_or_no(answer: &str) -> Option<bool> {
    match answer.to_lowercase().as_str() {
        "y" | "yes" | "д" | "да" => Some(true),
        "n" | "no" | "н" | "нет" => Some(false),
        _ => None,
    }
}

fn format_seconds(seconds: u64) -> String {
    if seconds >= 60 {
        format!("{} min {} s", seconds / 60, seconds % 60)
    } else {
        format!("{seconds} s")
    }
}

/// Wraps text at `width` columns. Each line of `text` is a paragraph, heading or list item
/// (as [`crate::statements::Text::reflowed`] makes them); a wrapped item's later lines are
/// indented under its first word. Only whitespace changes, so the words shown are exactly
/// those of the statement that is hashed and recorded.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for source in text.lines() {
        if source.trim().is_empty() {
            lines.push(String::new());
            continue;
        }
        let body = source.trim_start();
        let lead = &source[..source.len() - body.len()];
        let hang = " ".repeat(lead.chars().count() + marker_width(body));
        let mut line = lead.to_string();
        let mut len = line.chars().count();
        let mut fresh = true;
        for word in body.split_whitespace() {
            let word_len = word.chars().count();
            if !fresh && len + 1 + word_len > width {
                lines.push(std::mem::replace(&mut line, hang.clone()));
                len = hang.len();
                fresh = true;
            }
            if !fresh {
                line.push(' ');
                len += 1;
            }
            line.push_str(word);
            len += word_len;
            fresh = false;
        }
        lines.push(line);
    }
    lines
}

/// Columns taken by a list marker such as `- `, `• ` or `12. ` at the start of `line`.
fn marker_width(line: &str) -> usize {
    for bullet in ["- ", "* ", "• "] {
        if line.starts_with(bullet) {
            return 2;
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let rest = &line[digits..];
    if digits > 0 && (rest.starts_with(". ") || rest.starts_with(") ")) {
        digits + 2
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::answers::{Answers, AnswersFile, Overrides};

    /// A scripted run: what it returned, what it printed.
    struct Ran {
        code: u8,
        out: String,
    }

    impl Ran {
        /// Whether the output says `phrase`, wherever the wrapping broke its lines.
        fn says(&self, phrase: &str) -> bool {
            let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            flat(&self.out).contains(&flat(phrase))
        }
    }

    fn answers(file: Option<&str>) -> Answers {
        let file = file.map(|text| AnswersFile::parse(Path::new("a.toml"), text).unwrap());
        Answers::merge(
            file.as_ref(),
            &Overrides {
                language: Some(Language::En),
                ..Default::default()
            },
        )
    }

    fn run_scripted(input: &str, dir: &Path, answers: &Answers, screen: Screen) -> Ran {
        let bundle = Bundle::open(None, None).unwrap();
        run_bundle(&bundle, input, dir, answers, screen)
    }

    fn run_bundle(
        bundle: &Bundle,
        input: &str,
        dir: &Path,
        answers: &Answers,
        screen: Screen,
    ) -> Ran {
        let wizard = Wizard::new(answers, dir.to_path_buf());
        let log = dir.with_file_name("setup.log");
        let saved = dir.with_file_name("saved.toml");
        let mut out = Vec::new();
        let term = Term {
            input: Cursor::new(input.as_bytes().to_vec()),
            out: &mut out,
            screen,
        };
        let code = run_with(
            bundle,
            wizard,
            &log,
            Some(&saved),
            term,
            &Interrupts::default(),
        )
        .unwrap();
        Ran {
            code,
            out: String::from_utf8(out).unwrap(),
        }
    }

    fn ksn_table(dir: &Path) -> toml::Table {
        let text = std::fs::read_to_string(dir.join("etc/product.toml")).unwrap();
        let config: toml::Table = text.parse().unwrap();
        config["ksn"].as_table().unwrap().clone()
    }

    fn scratch() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        (tmp, dir)
    }

    // Enter on Welcome, both licenses, the KSN answer, Enter for the folder, Enter to install.
    const AGREE: &str = "\ny\ny\ny\n\n\n";
    const DECLINE: &str = "\ny\ny\n\n\n\n";

    #[test]
    fn agreeing_installs_and_records_the_users_agreement() {
        let (_tmp, dir) = scratch();
        let ran = run_scripted(AGREE, &dir, &answers(None), Screen::plain());
        assert_eq!(ran.code, 0, "{}", ran.out);
        let ksn = ksn_table(&dir);
        assert_eq!(ksn["decision"].as_str(), Some("agreed"));
        assert_eq!(ksn["decided_by"].as_str(), Some("user"));
        assert_eq!(ksn["participate"].as_bool(), Some(true));
        for shown in [
            "Welcome to KSN Demo Security Setup",
            "END USER LICENSE AGREEMENT",
            "KASPERSKY SECURITY NETWORK STATEMENT",
            "I agree to participate in Kaspersky Security Network [y/N]:",
            "The folder can be used.",
            "You agreed to take part in KSN.",
            "100%",
            "Setup is complete",
            "participates in KSN (agreed by user",
        ] {
            assert!(ran.says(shown), "{shown:?} missing in:\n{}", ran.out);
        }
        // The answers were saved when Install was confirmed, in a form --unattended takes.
        let saved = std::fs::read_to_string(dir.with_file_name("saved.toml")).unwrap();
        let file = AnswersFile::parse(Path::new("saved.toml"), &saved).unwrap();
        assert_eq!(file.ksn.participate, Some(true));
        // Every engine event went to the log.
        let log = std::fs::read_to_string(dir.with_file_name("setup.log")).unwrap();
        assert!(log.contains("phase: copying files"), "{log}");
        assert!(log.contains("plan:"), "{log}");
    }

    #[test]
    fn an_empty_answer_declines_and_the_install_goes_ahead() {
        let (_tmp, dir) = scratch();
        let ran = run_scripted(DECLINE, &dir, &answers(None), Screen::plain());
        assert_eq!(ran.code, 0, "{}", ran.out);
        let ksn = ksn_table(&dir);
        assert_eq!(ksn["decision"].as_str(), Some("declined"));
        assert_eq!(ksn["decided_by"].as_str(), Some("user"));
        assert_eq!(ksn["participate"].as_bool(), Some(false));
        assert!(ran.says("You do not take part in KSN. Nothing will be sent."));
        assert!(ran.says("does not participate in KSN (declined by user)"));
    }

    #[test]
    fn a_refused_license_stops_until_both_are_accepted() {
        let (_tmp, dir) = scratch();
        // Refuse the EULA, read again, accept both, then decline KSN and install.
        let ran = run_scripted(
            "\nn\ny\nr\ny\ny\n\n\n\n",
            &dir,
            &answers(None),
            Screen::plain(),
        );
        assert_eq!(ran.code, 0, "{}", ran.out);
        assert_eq!(
            ran.out
                .matches("Setup cannot continue unless you accept both")
                .count(),
            1
        );
        assert_eq!(
            ran.out
                .matches("---- End User License Agreement, version")
                .count(),
            2,
            "read again shows the texts again"
        );
        assert_eq!(ksn_table(&dir)["decision"].as_str(), Some("declined"));
    }

    #[test]
    fn a_refused_license_can_go_back_or_cancel() {
        let (_tmp, dir) = scratch();
        // Refuse both, go back to Welcome, come back, refuse both again and cancel.
        let ran = run_scripted(
            "\nn\nn\nb\n\nn\nn\nc\ny\n",
            &dir,
            &answers(None),
            Screen::plain(),
        );
        assert_eq!(ran.code, 3, "{}", ran.out);
        assert_eq!(
            ran.out
                .matches("Welcome to KSN Demo Security Setup")
                .count(),
            2,
            "b went back to Welcome:\n{}",
            ran.out
        );
        assert!(!dir.exists());
    }

    #[test]
    fn cancel_at_a_prompt_asks_then_exits_3_and_installs_nothing() {
        let (_tmp, dir) = scratch();
        // q, then "no" keeps the page; q again and "yes" ends setup.
        let ran = run_scripted(
            "\ny\ny\nq\nn\nq\ny\n",
            &dir,
            &answers(None),
            Screen::plain(),
        );
        assert_eq!(ran.code, 3, "{}", ran.out);
        assert_eq!(ran.out.matches("Cancel setup? [y/N]").count(), 2);
        assert!(ran.says("Setup was cancelled. Nothing on this computer was changed."));
        assert!(!dir.exists(), "nothing installed");
        assert!(
            !dir.with_file_name("saved.toml").exists(),
            "no answers saved"
        );
        assert!(!dir.with_file_name("setup.log").exists());
    }

    #[test]
    fn end_of_input_cancels_with_exit_3() {
        for input in ["", "\ny\n", "\ny\ny\ny\n\n"] {
            let (_tmp, dir) = scratch();
            let ran = run_scripted(input, &dir, &answers(None), Screen::plain());
            assert_eq!(ran.code, 3, "input {input:?}:\n{}", ran.out);
            assert!(ran.says("Cancel setup? [y/N]"));
            assert!(!dir.exists(), "input {input:?}: nothing installed");
        }
    }

    #[test]
    fn no_at_install_now_asks_to_cancel() {
        let (_tmp, dir) = scratch();
        let ran = run_scripted("\ny\ny\n\n\nn\ny\n", &dir, &answers(None), Screen::plain());
        assert_eq!(ran.code, 3, "{}", ran.out);
        assert!(!dir.exists());
    }

    #[test]
    fn back_keeps_the_licenses_and_asks_ksn_again() {
        let (_tmp, dir) = scratch();
        // Agree to KSN, go back from Location to KSN, then from KSN to License: the
        // licenses are kept (Enter takes the kept yes), the KSN answer is asked again and
        // Enter now declines.
        let ran = run_scripted(
            "\ny\ny\ny\nb\nb\n\n\n\n\n\n",
            &dir,
            &answers(None),
            Screen::plain(),
        );
        assert_eq!(ran.code, 0, "{}", ran.out);
        assert!(
            ran.says("I accept the terms of the End User License Agreement [Y/n]:"),
            "{}",
            ran.out
        );
        assert_eq!(ksn_table(&dir)["decision"].as_str(), Some("declined"));
    }

    #[test]
    fn a_bad_folder_is_explained_and_another_one_asked_for() {
        let (tmp, dir) = scratch();
        let file = tmp.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let good = tmp.path().join("good");
        let input = format!(
            "\ny\ny\n\nrelative/path\n{}\n{}\n\n",
            file.display(),
            good.display()
        );
        let ran = run_scripted(&input, &dir, &answers(None), Screen::plain());
        assert_eq!(ran.code, 0, "{}", ran.out);
        assert!(ran.says("Enter a full path that starts with /."));
        assert!(ran.says("This path is a file, not a folder."));
        assert!(good.join("etc/product.toml").exists());
        assert!(!dir.exists());
    }

    #[test]
    fn a_locked_choice_is_shown_not_asked() {
        let (_tmp, dir) = scratch();
        let answers = answers(Some("[ksn]\nparticipate = false\nlocked = true\n"));
        // Welcome, licenses, Enter past the KSN page, folder, install.
        let ran = run_scripted("\ny\ny\n\n\n\n", &dir, &answers, Screen::plain());
        assert_eq!(ran.code, 0, "{}", ran.out);
        assert!(ran.says("Set by your administrator."));
        assert!(!ran.says("I agree to participate in Kaspersky Security Network ["));
        let ksn = ksn_table(&dir);
        assert_eq!(ksn["decision"].as_str(), Some("declined"));
        assert_eq!(ksn["decided_by"].as_str(), Some("administrator"));
        assert_eq!(ksn["locked"].as_bool(), Some(true));
    }

    #[test]
    fn an_agreement_to_a_changed_statement_is_asked_for_again() {
        let (tmp, dir) = scratch();
        assert_eq!(
            run_scripted(AGREE, &dir, &answers(None), Screen::plain()).code,
            0
        );
        // The same product with a KSN Statement 2.0 that does not carry consent over.
        let statements = tmp.path().join("statements");
        std::fs::create_dir(&statements).unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("statements");
        for entry in std::fs::read_dir(&repo).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), statements.join(entry.file_name())).unwrap();
        }
        let index = std::fs::read_to_string(repo.join("statements.toml")).unwrap();
        let index = index.replace(
            "id = \"ksn\"\nversion = \"1.1\"",
            "id = \"ksn\"\nversion = \"2.0\"",
        );
        assert!(index.contains("version = \"2.0\""));
        std::fs::write(statements.join("statements.toml"), index).unwrap();
        let bundle = Bundle::open(None, Some(&statements)).unwrap();

        let ran = run_bundle(&bundle, DECLINE, &dir, &answers(None), Screen::plain());
        assert_eq!(ran.code, 0, "{}", ran.out);
        assert!(
            ran.says("Setup will update KSN Demo Security 1.0.0"),
            "{}",
            ran.out
        );
        assert!(ran.says("has changed since you last agreed (now version 2.0)"));
        assert!(ran.says("An earlier install (version 1.0.0) is here"));
        let ksn = ksn_table(&dir);
        assert_eq!(ksn["decision"].as_str(), Some("declined"));
        assert_eq!(ksn["statement_version"].as_str(), Some("2.0"));
    }

    #[test]
    fn russian_shows_the_russian_statements_and_records_them() {
        let (_tmp, dir) = scratch();
        let ran = run_scripted("2\ny\nд\nда\n\n\n", &dir, &answers(None), Screen::plain());
        assert_eq!(ran.code, 0, "{}", ran.out);
        assert!(ran.says("Положение о Kaspersky Security Network"));
        let ksn = ksn_table(&dir);
        assert_eq!(ksn["statement_language"].as_str(), Some("ru"));
        assert_eq!(ksn["decision"].as_str(), Some("agreed"));
    }

    #[test]
    fn a_small_terminal_pages_long_texts_and_draws_a_bar() {
        let (_tmp, dir) = scratch();
        let screen = Screen {
            terminal: true,
            rows: Some(12),
            width: 60,
        };
        // Enter at every prompt: through both licenses page by page, which leaves them
        // unaccepted, until the input ends and setup is cancelled.
        let ran = run_scripted(&"\n".repeat(300), &dir, &answers(None), screen);
        assert_eq!(ran.code, 3, "{}", ran.out);
        assert!(ran.says("---- end of the Privacy Policy ----"));
        let screens: Vec<&str> = ran.out.split("-- more (Enter) --").collect();
        assert!(screens.len() > 10, "{}", ran.out);
        // Between two pauses, one screenful: 11 lines and the prompt's row.
        for screen in &screens[1..screens.len() - 1] {
            let shown = screen.lines().count();
            assert!(shown <= 11, "{shown} lines:\n{screen}");
        }

        // The same terminal installs with a bar redrawn in place.
        let (_tmp, dir) = scratch();
        let plain = Screen {
            rows: None,
            ..screen
        };
        let ran = run_scripted(AGREE, &dir, &answers(None), plain);
        assert_eq!(ran.code, 0, "{}", ran.out);
        assert!(ran.out.contains("\r[="), "{}", ran.out);
        assert!(ran.says("100%"));
    }

    #[test]
    fn wrapping_keeps_every_word_and_the_width() {
        let text = "A paragraph that is long enough to need wrapping at a narrow width.\n\n\
                    - an item whose text goes on past the edge of the line\n12. A heading";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20), "{lines:#?}");
        let words: Vec<&str> = text.split_whitespace().collect();
        let joined = lines.join(" ");
        assert_eq!(joined.split_whitespace().collect::<Vec<_>>(), words);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("  ") && !l.trim().is_empty())
        );
    }
}
