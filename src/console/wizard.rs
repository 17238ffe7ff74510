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

use std::fs::File;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::terminal::{AFTER_TEXT_ROWS, Interrupts, Meter, Screen, Term, wrap, yes_or_no};
use crate::base::time::now_rfc3339;
use crate::bundle::contents::Bundle;
use crate::engine::control::RunControl;
use crate::engine::plan::{self, Plan};
use crate::engine::progress::{Event, Phase, Reporter};
use crate::engine::{executor, log, target};
use crate::tr;
use crate::wizard::location;
use crate::wizard::machine::{Action, Outcome, Page, Wizard};

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
    let terminal = Term::new(io::stdin().lock(), io::stdout(), Screen::of_stdout());
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
    // Everything this terminal shows is in the wizard's language from the first line.
    crate::base::i18n::set_language(wizard.language);
    Session {
        bundle,
        wizard,
        log_path: log,
        save_answers,
        term,
        interrupts,
        plan: None,
        reconsent: false,
        log: None,
        exit: None,
    }
    .run()
}

pub(super) struct Session<'a, R, W> {
    pub(super) bundle: &'a Bundle,
    pub(super) wizard: Wizard,
    pub(super) log_path: &'a Path,
    pub(super) save_answers: Option<&'a Path>,
    pub(super) term: Term<R, W>,
    pub(super) interrupts: &'a Interrupts,
    /// The plan made for the Ready page's summary.
    pub(super) plan: Option<Plan>,
    /// The chosen folder holds an agreement to a KSN Statement that has changed since.
    pub(super) reconsent: bool,
    /// Open from the moment Install is confirmed, as in the window.
    pub(super) log: Option<File>,
    pub(super) exit: Option<u8>,
}

impl<R: BufRead, W: Write> Session<'_, R, W> {
    fn run(mut self) -> anyhow::Result<u8> {
        // As the window does: check the preset folder first, so Welcome can say "update"
        // and the KSN page knows whether an earlier agreement needs renewing.
        let dir = self.wizard.dir().to_string();
        self.perform(Action::CheckLocation(dir))?;
        loop {
            if let Some(code) = self.exit {
                self.term.out.flush()?;
                return Ok(code);
            }
            match self.wizard.page() {
                Page::Maintenance => self.maintenance()?,
                Page::Welcome => self.welcome()?,
                Page::License => self.license()?,
                Page::Privacy => self.privacy()?,
                Page::Ksn => self.ksn()?,
                Page::Location => self.location()?,
                Page::Ready => self.ready()?,
                Page::Confirm => self.confirm()?,
                // Install runs to its end inside `perform(StartInstall)` and then shows Finish.
                Page::Progress => {
                    anyhow::bail!("the console wizard reached Progress without an install")
                }
                Page::Finish => self.finish()?,
            }
        }
    }

    /// Carries out what the state machine asked for.
    pub(super) fn perform(&mut self, action: Action) -> anyhow::Result<()> {
        match action {
            Action::None => {}
            Action::CheckLocation(dir) => {
                let answers = self.wizard.answers();
                let check = location::check(&dir, self.bundle, &answers, false);
                self.reconsent = location::needs_reconsent(self.bundle, &dir);
                self.wizard.set_location_check(check);
            }
            Action::MakePlan => {
                let answers = self.wizard.answers();
                let dir = PathBuf::from(self.wizard.dir());
                let made = target::inspect(&dir, self.bundle, answers.menu_dir.as_deref())
                    .and_then(|t| Ok(plan::plan(self.bundle, &answers, &t, &now_rfc3339())?));
                self.plan = made.ok();
            }
            Action::StartInstall => self.install()?,
            Action::StartMaintenance(task) => self.run_task(task)?,
            Action::RequestRollback => self.interrupts.cancel.store(true, Ordering::Relaxed),
            // On a terminal a signal stops the install at once (it rolls back); there is no
            // question to hold it for.
            Action::PauseWork | Action::ResumeWork => {}
            Action::Exit(code) => self.exit = Some(code),
        }
        Ok(())
    }

    pub(super) fn back(&mut self) -> anyhow::Result<()> {
        let action = self.wizard.press_back();
        self.perform(action)
    }

    pub(super) fn next(&mut self) -> anyhow::Result<()> {
        let action = self.wizard.press_next();
        self.perform(action)
    }

    /// Install was confirmed: save the answers, run the engine on a worker thread and show
    /// its progress here, then the outcome on the Finish page.
    fn install(&mut self) -> anyhow::Result<()> {
        // From here on a signal rolls the install back instead of ending setup.
        self.interrupts.start_install();
        let answers = self.wizard.answers();
        if let Some(path) = self.save_answers
            && let Err(e) = crate::base::durable::replace_file(
                path,
                crate::wizard::machine::answers_file_text(&answers).as_bytes(),
                0o600,
            )
        {
            self.wizard.finish(Outcome::Failed {
                message: format!("cannot save the answers to \"{}\": {e}", path.display()),
                failure: crate::wizard::failure::Failure::SaveAnswers {
                    path: path.display().to_string(),
                },
                rolled_back: false,
            });
            return Ok(());
        }
        self.log = match log::open(self.log_path) {
            Ok(file) => Some(file),
            Err(e) => {
                self.term.say(&tr!(
                    "Setup cannot write its log to {} ({}); it goes on without one.",
                    self.log_path.display(),
                    e
                ))?;
                None
            }
        };
        let product = self.bundle.product.name.clone();
        self.term.heading(&tr!("Installing"))?;
        self.term.para(&tr!(
            "Please wait while Setup installs {}. Ctrl-C cancels and undoes every change.",
            product
        ))?;

        let (sender, events) = mpsc::channel();
        let control = RunControl::with_flag(Arc::clone(&self.interrupts.cancel));
        let bundle = self.bundle;
        // The plan is made again now, so its time is the moment Install was confirmed.
        let now = now_rfc3339();
        let result = std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                let reporter = Reporter::new(sender, true);
                let dir = answers.install_dir();
                let target = target::inspect(&dir, bundle, answers.menu_dir.as_deref())?;
                let plan = plan::plan(bundle, &answers, &target, &now)?;
                reporter.step(format!("plan:\n{plan}"));
                executor::install(bundle, &plan, &reporter, &control)
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
                    self.term.say(&tr!("Recovered first: {}", message))?;
                }
                Outcome::Installed {
                    ksn: installed.plan.ksn.record.clone(),
                    dir: installed.plan.target,
                }
            }
            Err(e) => {
                if self.log.is_some() {
                    log::log_error(self.log_path, &e);
                }
                Outcome::from_error(&e)
            }
        };
        self.wizard.finish(outcome);
        Ok(())
    }

    /// A maintenance task was chosen: run it on a worker thread, show its progress, then the
    /// outcome on the Finish page.
    fn run_task(&mut self, task: crate::maintenance::task::Task) -> anyhow::Result<()> {
        self.interrupts.start_install();
        self.log = log::open(self.log_path).ok();
        self.term.heading(&tr!("Working"))?;
        let (sender, events) = mpsc::channel();
        let control = RunControl::with_flag(Arc::clone(&self.interrupts.cancel));
        let bundle = self.bundle;
        let dir = PathBuf::from(self.wizard.dir());
        let task = task.with_shown_statement(bundle);
        let now = now_rfc3339();
        let result = std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                let reporter = Reporter::new(sender, true);
                crate::maintenance::task::run(&dir, Some(bundle), &task, &now, &reporter, &control)
            });
            let watched = self.watch(&events);
            let done = worker
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the task stopped unexpectedly")));
            watched.map(|()| done)
        })?;
        let outcome = match result {
            Ok(done) => Outcome::Maintained { done },
            Err(e) => {
                if self.log.is_some() {
                    log::log_error(self.log_path, &e);
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
        let mut meter = Meter::new(self.term.screen);
        loop {
            match events.recv_timeout(Duration::from_millis(100)) {
                Ok(event) => {
                    if let Some(file) = self.log.as_mut() {
                        log::write_log(file, &event);
                    }
                    self.wizard.record_event(&event, started.elapsed());
                    match event {
                        Event::Progress { .. } => {
                            meter.show(&mut self.term.out, self.wizard.progress())
                        }
                        Event::Phase(Phase::Done) => {}
                        Event::Phase(phase) => {
                            meter.line(&mut self.term.out, &format!("- {}", phase.in_words()));
                        }
                        Event::Notice(text) => meter.line(&mut self.term.out, &text),
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
                    &mut self.term.out,
                    &tr!("Cancelling: Setup is undoing every change it made. Please wait."),
                );
            }
        }
        meter.close(&mut self.term.out);
        Ok(())
    }
}

/// An answer at a prompt, or a move away from the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reply<T> {
    Answer(T),
    /// `b`, where the wizard allows Back.
    Back,
    /// Setup is ending: Cancel was confirmed.
    Quit,
}

impl<R: BufRead, W: Write> Session<'_, R, W> {
    /// Asks until there is an answer; handles `b`, `q` and the end of input itself.
    pub(super) fn ask(&mut self, prompt: &str) -> anyhow::Result<Reply<String>> {
        loop {
            write!(self.term.out, "{prompt} ")?;
            self.term.out.flush()?;
            let Some(answer) = self.term.read_line()? else {
                writeln!(self.term.out)?;
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
                    self.term
                        .say(&tr!("There is no earlier page to go back to."))?;
                }
                _ => return Ok(Reply::Answer(answer)),
            }
        }
    }

    pub(super) fn yes_no(&mut self, question: &str, default: bool) -> anyhow::Result<Reply<bool>> {
        let hint = if default { tr!("[Y/n]") } else { tr!("[y/N]") };
        loop {
            match self.ask(&format!("{question} {hint}:"))? {
                Reply::Answer(answer) if answer.is_empty() => return Ok(Reply::Answer(default)),
                Reply::Answer(answer) => match yes_or_no(&answer) {
                    Some(yes) => return Ok(Reply::Answer(yes)),
                    None => self
                        .term
                        .say(&tr!("Please answer y or n (b goes back, q cancels)."))?,
                },
                Reply::Back => return Ok(Reply::Back),
                Reply::Quit => return Ok(Reply::Quit),
            }
        }
    }

    /// Cancel, as the window's button: asks first. Returns whether setup is ending.
    pub(super) fn cancel_setup(&mut self) -> anyhow::Result<bool> {
        let action = self.wizard.press_cancel();
        self.perform(action)?;
        if !self.wizard.confirming_cancel() {
            return Ok(false);
        }
        let yes = loop {
            write!(self.term.out, "{} {}: ", tr!("Cancel setup?"), tr!("[y/N]"))?;
            self.term.out.flush()?;
            match self.term.read_line()? {
                // Nobody is left to answer.
                None => {
                    writeln!(self.term.out)?;
                    break true;
                }
                Some(answer) if answer.is_empty() => break false,
                Some(answer) => match yes_or_no(&answer) {
                    Some(yes) => break yes,
                    None => self.term.say(&tr!("Please answer y or n."))?,
                },
            }
        };
        let action = self.wizard.confirm_cancel(yes);
        if matches!(action, Action::Exit(_)) {
            self.term.say(&tr!(
                "Setup was cancelled. Nothing on this computer was changed."
            ))?;
        }
        self.perform(action)?;
        Ok(self.exit.is_some())
    }

    /// Prints a statement in the wizard's language, wrapped, pausing every screenful.
    pub(super) fn show_statement(&mut self, id: &str) -> anyhow::Result<Reply<()>> {
        let statement = self.bundle.statements.get(id);
        let (_, text) = statement.text(self.wizard.language);
        let title = statement.title(self.wizard.language).to_string();
        let mut lines = vec![
            format!(
                "---- {} ----",
                tr!("{}, version {}", title, statement.version)
            ),
            String::new(),
        ];
        lines.extend(wrap(&text.reflowed(), self.term.screen.width));
        lines.extend([
            String::new(),
            format!("---- {} ----", tr!("end of the {}", title)),
            String::new(),
        ]);
        for line in &lines {
            // Pause when the screen is full of what was printed since the last answer; the
            // prompt takes the last row.
            if self.term.screen_full(1) {
                match self.more()? {
                    Reply::Answer(()) => {}
                    other => return Ok(other),
                }
            }
            writeln!(self.term.out, "{line}")?;
        }
        // The questions after a text take a few rows; they must not push its last lines
        // off the screen unread.
        if self.term.screen_full(AFTER_TEXT_ROWS) {
            return self.more();
        }
        Ok(Reply::Answer(()))
    }

    pub(super) fn more(&mut self) -> anyhow::Result<Reply<()>> {
        Ok(match self.ask(&format!("-- {} --", tr!("more (Enter)")))? {
            Reply::Answer(_) => Reply::Answer(()),
            Reply::Back => Reply::Back,
            Reply::Quit => Reply::Quit,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::consent::answers::{Answers, AnswersFile, Overrides};
    use crate::consent::statements::Language;

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
        let term = Term::new(Cursor::new(input.as_bytes().to_vec()), &mut out, screen);
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
            "✓ This folder does not exist yet; Setup will create it.",
            "You agreed to take part in KSN.",
            "100%",
            "Setup is complete",
            "the product takes part; you agreed to KSN Statement 1.1.",
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
        assert!(ran.says("the product does not take part; you declined."));
    }

    #[test]
    fn a_refused_license_stops_until_it_is_accepted() {
        let (_tmp, dir) = scratch();
        // Refuse the EULA, read again and accept it, accept the Privacy Policy on its page,
        // then decline KSN and install.
        let ran = run_scripted(
            "\nn\nr\ny\ny\n\n\n\n",
            &dir,
            &answers(None),
            Screen::plain(),
        );
        assert_eq!(ran.code, 0, "{}", ran.out);
        assert_eq!(
            ran.out
                .matches("Setup cannot continue unless you accept the End User License Agreement")
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
        // Refuse the EULA, go back to Welcome, come back, refuse it again and cancel.
        let ran = run_scripted("\nn\nb\n\nn\nc\ny\n", &dir, &answers(None), Screen::plain());
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
        // Agree to KSN, go back from Location to KSN, then from KSN to the Privacy Policy:
        // it is kept (Enter takes the kept yes), the KSN answer is asked again and Enter now
        // declines.
        let ran = run_scripted(
            "\ny\ny\ny\nb\nb\n\n\n\n\n",
            &dir,
            &answers(None),
            Screen::plain(),
        );
        assert_eq!(ran.code, 0, "{}", ran.out);
        assert!(
            ran.says("I accept the Privacy Policy [Y/n]:"),
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
        assert!(ran.says("Enter a full path that starts with / (or ~ for your home folder)."));
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
        // The same product with a KSN Statement 2.0, a new text that does not carry consent
        // over.
        let statements = tmp.path().join("statements");
        std::fs::create_dir(&statements).unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("statements");
        for entry in std::fs::read_dir(&repo).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), statements.join(entry.file_name())).unwrap();
        }
        for lang in ["en", "ru"] {
            let path = statements.join(format!("ksn.{lang}.txt"));
            let mut text = std::fs::read_to_string(&path).unwrap();
            text.push_str("\nVersion 2.0 also sends crash reports.\n");
            std::fs::write(&path, text).unwrap();
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
        let ran = run_scripted("3\ny\nд\nда\n\n\n", &dir, &answers(None), Screen::plain());
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
        // Enter at every prompt: through the License Agreement page by page, which leaves it
        // unaccepted, until the input ends and setup is cancelled.
        let ran = run_scripted(&"\n".repeat(300), &dir, &answers(None), screen);
        assert_eq!(ran.code, 3, "{}", ran.out);
        assert!(ran.says("---- end of the End User License Agreement ----"));
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
}
