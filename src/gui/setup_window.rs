//! The Slint window of the setup wizard: it only translates.
//!
//! Clicks and keys arrive through the `WizardAdapter` global's callbacks and go to the
//! [`Wizard`] state machine; the [`Action`] it returns is carried out here (check a folder,
//! make the plan, start the install on a worker thread); then `sync` writes the whole state
//! back into the adapter's properties. The install never runs on the UI thread: engine events
//! come back on a channel that a timer drains, so the window keeps painting.

use std::cell::RefCell;
use std::fs::File;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slint::{ComponentHandle, SharedString};

use crate::base::i18n;
use crate::base::time::now_rfc3339;
use crate::bundle::contents::Bundle;
use crate::consent::answers::Scope;
use crate::consent::rules::Decision;
use crate::consent::statements::{self, Language};
use crate::engine::control::RunControl;
use crate::engine::elevation;
use crate::engine::plan::{self, Plan};
use crate::engine::progress::{Event, Reporter};
use crate::engine::{executor, log, target};
use crate::maintenance::task::Done;
use crate::wizard::location;
use crate::wizard::machine::{Action, LocationStatus, MaintenanceChoice, Outcome, Page, Wizard};

use crate::gui::{
    Ending, KsnChoice, LocationState, Maintained, PageId, SetupWindow, WizardAdapter,
    select_language,
};
use crate::tr;

/// What the wizard needs besides its state.
#[derive(Debug, Clone, Default)]
pub struct GuiOptions {
    /// Where the log goes.
    pub log: PathBuf,
    /// Where to write the chosen answers when Install is pressed.
    pub save_answers: Option<PathBuf>,
    /// Where the bundle came from, for an install run as root ("For all users" chosen by a
    /// normal user): the privileged side opens the same one.
    pub source: elevation::Source,
    /// The ksn-setup that runs as root; `None`: this program's own file. (The UI tests run
    /// inside the test program, so they name the built ksn-setup.)
    pub elevated_program: Option<PathBuf>,
}

/// How the work on the worker thread ended: the Finish page's outcome, or the engine's error.
type WorkerResult = anyhow::Result<Outcome>;

struct Worker {
    events: Receiver<Event>,
    result: Arc<Mutex<Option<(WorkerResult, bool)>>>,
    control: Arc<RunControl>,
    started: Instant,
}

/// The wizard behind one window.
pub struct Controller {
    wizard: RefCell<Wizard>,
    bundle: Arc<Bundle>,
    options: GuiOptions,
    plan: RefCell<Option<Plan>>,
    worker: RefCell<Option<Worker>>,
    log: RefCell<Option<File>>,
    exit: RefCell<Option<u8>>,
    /// Whether an agreement to an older statement is waiting in the chosen folder.
    reconsent: RefCell<bool>,
    /// The language the statement texts were last written in, so they are set (and their
    /// scroll position reset) only when the language changes.
    texts_language: std::cell::Cell<Option<Language>>,
    /// Why the folder chooser could not open, for the Location page.
    browse_error: RefCell<String>,
    /// The folder chooser's answer, while it is open.
    browse: RefCell<Option<Receiver<crate::gui::folder_chooser::Chosen>>>,
    browse_timer: slint::Timer,
    window: slint::Weak<SetupWindow>,
    timer: slint::Timer,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("wizard", &self.wizard)
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// The exit status the wizard ended with, once it has.
    pub fn exit_status(&self) -> Option<u8> {
        *self.exit.borrow()
    }

    /// The state machine, for tests and the caller.
    pub fn wizard(&self) -> Wizard {
        self.wizard.borrow().clone()
    }
}

/// Creates the window and binds it to a wizard; `run` shows it.
pub fn build(
    bundle: Bundle,
    wizard: Wizard,
    options: GuiOptions,
) -> Result<(SetupWindow, Rc<Controller>), slint::PlatformError> {
    let window = SetupWindow::new()?;
    crate::gui::set_app_id("ksn-demo-security-setup");
    let controller = Rc::new(Controller {
        wizard: RefCell::new(wizard),
        bundle: Arc::new(bundle),
        options,
        plan: RefCell::new(None),
        worker: RefCell::new(None),
        log: RefCell::new(None),
        exit: RefCell::new(None),
        reconsent: RefCell::new(false),
        texts_language: std::cell::Cell::new(None),
        browse_error: RefCell::new(String::new()),
        browse: RefCell::new(None),
        browse_timer: slint::Timer::default(),
        window: window.as_weak(),
        timer: slint::Timer::default(),
    });
    connect(&window, &controller);
    let language = controller.wizard.borrow().language;
    select_language(language);
    let dir = controller.wizard.borrow().dir().to_string();
    perform(&controller, Action::CheckLocation(dir));
    sync(&window, &controller);
    Ok((window, controller))
}

/// Shows the window until the wizard exits; returns the exit status.
pub fn run(
    bundle: Bundle,
    wizard: Wizard,
    options: GuiOptions,
) -> Result<u8, slint::PlatformError> {
    let (window, controller) = build(bundle, wizard, options)?;
    crate::gui::fit_to_screen(&window);
    window.run()?;
    Ok(controller.exit_status().unwrap_or(3))
}

/// Binds every adapter callback, holding only weak handles to the window.
fn connect(window: &SetupWindow, controller: &Rc<Controller>) {
    let adapter = window.global::<WizardAdapter>();
    let names: Vec<SharedString> = Language::ALL
        .iter()
        .map(|l| SharedString::from(l.native_name()))
        .collect();
    adapter.set_languages(Rc::new(slint::VecModel::from(names)).into());
    let on = |f: fn(&mut Wizard) -> Action| {
        let c = Rc::downgrade(controller);
        move || {
            if let Some(c) = c.upgrade() {
                let action = f(&mut c.wizard.borrow_mut());
                after(&c, action);
            }
        }
    };
    adapter.on_next(on(Wizard::press_next));
    adapter.on_back(on(Wizard::press_back));
    adapter.on_cancel(on(Wizard::press_cancel));

    let with = |f: fn(&mut Wizard, bool) -> Action| {
        let c = Rc::downgrade(controller);
        move |value: bool| {
            if let Some(c) = c.upgrade() {
                let action = f(&mut c.wizard.borrow_mut(), value);
                after(&c, action);
            }
        }
    };
    adapter.on_confirm_cancel(with(Wizard::confirm_cancel));
    adapter.on_set_accept_eula(with(|w, v| {
        w.set_accept_eula(v);
        Action::None
    }));
    adapter.on_set_accept_privacy(with(|w, v| {
        w.set_accept_privacy_policy(v);
        Action::None
    }));
    adapter.on_set_ksn_agree(with(|w, v| {
        w.set_ksn_agree(v);
        Action::None
    }));

    adapter.on_set_keep_records(with(|w, v| {
        w.set_keep_records(v);
        Action::None
    }));
    let c = Rc::downgrade(controller);
    adapter.on_set_maintenance_choice(move |index| {
        if let Some(c) = c.upgrade() {
            c.wizard.borrow_mut().set_maintenance_choice(match index {
                1 => MaintenanceChoice::Repair,
                2 => MaintenanceChoice::Uninstall,
                _ => MaintenanceChoice::Modify,
            });
            after(&c, Action::None);
        }
    });
    let c = Rc::downgrade(controller);
    adapter.on_set_language(move |index| {
        if let Some(c) = c.upgrade() {
            let language = usize::try_from(index)
                .ok()
                .and_then(|i| Language::ALL.get(i).copied())
                .unwrap_or(Language::En);
            c.wizard.borrow_mut().set_language(language);
            select_language(language);
            after(&c, Action::None);
        }
    });
    let c = Rc::downgrade(controller);
    adapter.on_ksn_statement_read_to_end(move || {
        if let Some(c) = c.upgrade() {
            c.wizard.borrow_mut().ksn_statement_shown(true);
        }
    });
    let c = Rc::downgrade(controller);
    adapter.on_set_scope_all_users(move |all| {
        if let Some(c) = c.upgrade() {
            let scope = if all { Scope::System } else { Scope::User };
            let action = c.wizard.borrow_mut().set_scope(scope);
            after(&c, action);
        }
    });
    let c = Rc::downgrade(controller);
    adapter.on_set_dir(move |dir| {
        if let Some(c) = c.upgrade() {
            let action = c.wizard.borrow_mut().set_dir(&dir);
            after(&c, action);
        }
    });

    let c = Rc::downgrade(controller);
    let w = window.as_weak();
    adapter.on_browse(move |title| {
        if let (Some(c), Some(w)) = (c.upgrade(), w.upgrade()) {
            let parent = crate::gui::folder_chooser::parent_of(w.window());
            start_browse(&c, title.to_string(), parent);
        }
    });

    // Closing the window is Cancel, with the same question; on the Finish page it is Finish.
    let c = Rc::downgrade(controller);
    window.window().on_close_requested(move || {
        let Some(c) = c.upgrade() else {
            return slint::CloseRequestResponse::HideWindow;
        };
        let action = {
            let mut wizard = c.wizard.borrow_mut();
            if wizard.page() == Page::Finish {
                wizard.press_next()
            } else {
                wizard.press_cancel()
            }
        };
        after(&c, action);
        if c.exit_status().is_some() {
            slint::CloseRequestResponse::HideWindow
        } else {
            slint::CloseRequestResponse::KeepWindowShown
        }
    });
}

fn after(controller: &Rc<Controller>, action: Action) {
    perform(controller, action);
    if let Some(window) = controller.window.upgrade() {
        sync(&window, controller);
    }
}

/// Carries out what the state machine asked for.
fn perform(controller: &Rc<Controller>, action: Action) {
    match action {
        Action::None => {}
        Action::CheckLocation(dir) => {
            let answers = controller.wizard.borrow().answers();
            let elevated = controller.wizard.borrow().needs_elevation();
            let check = location::check(&dir, &controller.bundle, &answers, elevated);
            *controller.reconsent.borrow_mut() =
                location::needs_reconsent(&controller.bundle, &dir);
            controller.wizard.borrow_mut().set_location_check(check);
        }
        Action::MakePlan => {
            let answers = controller.wizard.borrow().answers();
            let dir = PathBuf::from(controller.wizard.borrow().dir());
            let made = target::inspect(&dir, &controller.bundle, answers.menu_dir.as_deref())
                .and_then(|t| {
                    Ok(plan::plan(
                        &controller.bundle,
                        &answers,
                        &t,
                        &now_rfc3339(),
                    )?)
                });
            *controller.plan.borrow_mut() = made.ok();
        }
        Action::StartInstall => start_install(controller),
        Action::StartMaintenance(task) => start_maintenance(controller, task),
        // The question "Stop the installation?" holds the work where it is; the answer lets
        // it go on, or go on to roll back.
        Action::PauseWork => {
            if let Some(worker) = controller.worker.borrow().as_ref() {
                worker.control.hold();
            }
        }
        Action::ResumeWork => {
            if let Some(worker) = controller.worker.borrow().as_ref() {
                worker.control.resume();
            }
        }
        Action::RequestRollback => {
            if let Some(worker) = controller.worker.borrow().as_ref() {
                worker.control.cancel();
            }
        }
        Action::Exit(status) => {
            *controller.exit.borrow_mut() = Some(status);
            controller.timer.stop();
            if let Some(window) = controller.window.upgrade() {
                let _ = window.hide();
            }
            let _ = slint::quit_event_loop();
        }
    }
}

/// Opens the desktop's folder chooser on a thread of its own (the dialog is the desktop's;
/// the window keeps painting) and takes its answer into the folder field when it comes.
fn start_browse(controller: &Rc<Controller>, title: String, parent: String) {
    if controller.browse.borrow().is_some() {
        return;
    }
    let (sender, answer) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(crate::gui::folder_chooser::choose_folder(&title, &parent));
    });
    *controller.browse.borrow_mut() = Some(answer);
    let weak = Rc::downgrade(controller);
    controller.browse_timer.start(
        slint::TimerMode::Repeated,
        Duration::from_millis(50),
        move || {
            let Some(c) = weak.upgrade() else { return };
            let answer = match c.browse.borrow().as_ref().map(|r| r.try_recv()) {
                Some(Ok(answer)) => answer,
                Some(Err(TryRecvError::Empty)) => return,
                Some(Err(TryRecvError::Disconnected)) | None => Err("it stopped".into()),
            };
            c.browse.borrow_mut().take();
            c.browse_timer.stop();
            let action = match answer {
                Ok(Some(folder)) => {
                    c.browse_error.borrow_mut().clear();
                    c.wizard.borrow_mut().set_dir(&folder.display().to_string())
                }
                // Closed without a choice: the field stays as it was.
                Ok(None) => Action::None,
                Err(why) => {
                    *c.browse_error.borrow_mut() = why;
                    Action::None
                }
            };
            after(&c, action);
        },
    );
}

/// Starts the engine on a worker thread with the plan made for the Ready page (made again
/// here, so its time is the moment Install was pressed).
fn start_install(controller: &Rc<Controller>) {
    let answers = controller.wizard.borrow().answers();
    if let Some(path) = &controller.options.save_answers
        && let Err(e) = crate::base::durable::replace_file(
            path,
            crate::wizard::machine::answers_file_text(&answers).as_bytes(),
            0o600,
        )
    {
        controller.wizard.borrow_mut().finish(Outcome::Failed {
            message: format!("cannot save the answers to \"{}\": {e}", path.display()),
            failure: crate::wizard::failure::Failure::SaveAnswers {
                path: path.display().to_string(),
            },
            rolled_back: false,
        });
        return;
    }
    if controller.wizard.borrow().needs_elevation() {
        // For all users from a normal user's window: only the install runs as root.
        let request = elevation::Request {
            format: elevation::FORMAT,
            job: elevation::Job::Install {
                answers,
                source: controller.options.source.clone(),
            },
        };
        let program = controller.options.elevated_program.clone();
        start_worker(controller, move |reporter, control| {
            reporter.step("installing for all users as administrator, through pkexec");
            match elevation::run(&request, program.as_deref(), reporter, control)? {
                elevation::Reply::Installed {
                    ksn,
                    dir,
                    recovered,
                } => {
                    if let Some(message) = &recovered {
                        reporter.notice(tr!("Recovered first: {}", message));
                    }
                    Ok(Outcome::Installed { ksn, dir })
                }
                elevation::Reply::Maintained(_) => Err(anyhow::anyhow!(
                    "the install as administrator answered as a maintenance task"
                )),
            }
        });
        return;
    }
    let bundle = Arc::clone(&controller.bundle);
    start_worker(controller, move |reporter, control| {
        let dir = answers.install_dir();
        let target = target::inspect(&dir, &bundle, answers.menu_dir.as_deref())?;
        let plan = plan::plan(&bundle, &answers, &target, &now_rfc3339())?;
        reporter.step(format!("plan:\n{plan}"));
        let installed = executor::install(&bundle, &plan, reporter, control)?;
        Ok(Outcome::Installed {
            ksn: installed.plan.ksn.record.clone(),
            dir: installed.plan.target,
        })
    });
}

/// Starts a maintenance task (Modify, Repair, Uninstall) on a worker thread.
fn start_maintenance(controller: &Rc<Controller>, task: crate::maintenance::task::Task) {
    let bundle = Arc::clone(&controller.bundle);
    let dir = PathBuf::from(controller.wizard.borrow().dir());
    let task = task.with_shown_statement(&bundle);
    if controller.wizard.borrow().maintenance_needs_elevation() {
        // A machine-wide install, changed from a normal user's window.
        let source = controller.options.source.clone();
        let program = controller.options.elevated_program.clone();
        start_worker(controller, move |reporter, control| {
            reporter.step("changing the installed product as administrator, through pkexec");
            let done = crate::maintenance::task::run_as_administrator(
                &dir,
                &task,
                source,
                program.as_deref(),
                reporter,
                control,
            )?;
            Ok(Outcome::Maintained { done })
        });
        return;
    }
    start_worker(controller, move |reporter, control| {
        let done = crate::maintenance::task::run(
            &dir,
            Some(&bundle),
            &task,
            &now_rfc3339(),
            reporter,
            control,
        )?;
        Ok(Outcome::Maintained { done })
    });
}

/// Runs `work` on a worker thread with a reporter whose events a timer drains into the
/// Progress page, and ends on the Finish page with its outcome.
fn start_worker(
    controller: &Rc<Controller>,
    work: impl FnOnce(&Reporter, &RunControl) -> WorkerResult + Send + 'static,
) {
    *controller.log.borrow_mut() = log::open(&controller.options.log).ok();
    let (sender, events) = mpsc::channel();
    let control = Arc::new(RunControl::new());
    let result = Arc::new(Mutex::new(None));
    {
        let control = Arc::clone(&control);
        let result = Arc::clone(&result);
        std::thread::spawn(move || {
            let reporter = Reporter::new(sender, true);
            let outcome = work(&reporter, &control);
            drop(reporter);
            let cancelled = control.is_cancelled();
            if let Ok(mut slot) = result.lock() {
                *slot = Some((outcome, cancelled));
            }
        });
    }
    *controller.worker.borrow_mut() = Some(Worker {
        events,
        result,
        control,
        started: Instant::now(),
    });

    let weak = Rc::downgrade(controller);
    controller.timer.start(
        slint::TimerMode::Repeated,
        Duration::from_millis(30),
        move || {
            if let Some(c) = weak.upgrade() {
                poll_worker(&c);
            }
        },
    );
}

/// Drains engine events into the Progress page and ends the install when the worker is done.
fn poll_worker(controller: &Rc<Controller>) {
    let mut finished = None;
    {
        let worker = controller.worker.borrow();
        let Some(worker) = worker.as_ref() else {
            return;
        };
        loop {
            match worker.events.try_recv() {
                Ok(event) => {
                    if let Some(file) = controller.log.borrow_mut().as_mut() {
                        log::write_log(file, &event);
                    }
                    controller
                        .wizard
                        .borrow_mut()
                        .record_event(&event, worker.started.elapsed());
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    finished = worker.result.lock().ok().and_then(|mut r| r.take());
                    break;
                }
            }
        }
    }
    if let Some((result, cancelled)) = finished {
        controller.timer.stop();
        // Authentication dismissed or refused: nothing was written; back to the Location page,
        // which says so, as a UAC prompt answered No returns to the installer.
        if let Some(refused) = result
            .as_ref()
            .err()
            .and_then(|e| e.downcast_ref::<elevation::ElevationError>())
            .filter(|e| e.nothing_ran())
        {
            if let Some(file) = controller.log.borrow_mut().as_mut() {
                log::write_log(file, &Event::Step(format!("error: {refused}")));
            }
            controller.worker.borrow_mut().take();
            let action = controller
                .wizard
                .borrow_mut()
                .elevation_refused(refused.in_words());
            perform(controller, action);
            if let Some(window) = controller.window.upgrade() {
                sync(&window, controller);
            }
            return;
        }
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(_) if cancelled => Outcome::Cancelled,
            Err(error) => Outcome::from_error(&error),
        };
        if let (Some(file), Outcome::Failed { message, .. }) =
            (controller.log.borrow_mut().as_mut(), &outcome)
        {
            log::write_log(file, &Event::Step(format!("error: {message}")));
        }
        controller.worker.borrow_mut().take();
        controller.wizard.borrow_mut().finish(outcome);
    }
    if let Some(window) = controller.window.upgrade() {
        sync(&window, controller);
    }
}

fn page_id(page: Page) -> PageId {
    match page {
        Page::Maintenance => PageId::Maintenance,
        Page::Welcome => PageId::Welcome,
        Page::License => PageId::License,
        Page::Privacy => PageId::Privacy,
        Page::Ksn => PageId::Ksn,
        Page::Location => PageId::Location,
        Page::Ready => PageId::Ready,
        Page::Confirm => PageId::Confirm,
        Page::Progress => PageId::Progress,
        Page::Finish => PageId::Finish,
    }
}

/// The Location page's state for a folder check: the state, the path (or the engine's words)
/// it names, and why another user's folder is refused.
fn location_state(status: &LocationStatus) -> (LocationState, String, String) {
    let none = String::new;
    match status {
        LocationStatus::Ok { creates: true, .. } => (LocationState::New, none(), none()),
        LocationStatus::Ok { .. } => (LocationState::Ok, none(), none()),
        LocationStatus::Empty => (LocationState::Empty, none(), none()),
        LocationStatus::NotAbsolute => (LocationState::NotAbsolute, none(), none()),
        LocationStatus::NotADir => (LocationState::NotAFolder, none(), none()),
        LocationStatus::FileInTheWay(file) => (LocationState::FileInTheWay, file.clone(), none()),
        LocationStatus::NotAllowed(dir) => (LocationState::NotAllowed, dir.clone(), none()),
        LocationStatus::ReadOnly => (LocationState::ReadOnly, none(), none()),
        LocationStatus::VirtualFs => (LocationState::VirtualFs, none(), none()),
        LocationStatus::NotWritable => (LocationState::NotWritable, none(), none()),
        LocationStatus::NoSpace => (LocationState::NoSpace, none(), none()),
        LocationStatus::ForeignNonEmpty => (LocationState::Foreign, none(), none()),
        LocationStatus::Untrusted { path, why } => {
            (LocationState::Untrusted, path.clone(), why.in_words())
        }
        LocationStatus::Other(message) => (LocationState::Other, message.clone(), none()),
    }
}

/// The Finish page's sentence for what a maintenance task did, and the paths it restored.
fn maintained(done: &Done) -> (Maintained, Vec<String>) {
    use crate::maintenance::ksn_change::ChangeOutcome;
    match done {
        Done::Modified(ChangeOutcome::Changed(record)) if record.participate => {
            (Maintained::KsnOn, Vec::new())
        }
        Done::Modified(ChangeOutcome::Changed(_)) => (Maintained::KsnOff, Vec::new()),
        Done::Modified(ChangeOutcome::Unchanged(record)) => (
            if record.participate {
                Maintained::KsnUnchangedOn
            } else {
                Maintained::KsnUnchangedOff
            },
            Vec::new(),
        ),
        Done::KsnUnchanged { participate: true } => (Maintained::KsnUnchangedOn, Vec::new()),
        Done::KsnUnchanged { participate: false } => (Maintained::KsnUnchangedOff, Vec::new()),
        Done::Repaired(damaged) => (
            Maintained::Repaired,
            damaged.iter().map(|(path, _)| path.to_string()).collect(),
        ),
        Done::NothingToRepair => (Maintained::NothingToRepair, Vec::new()),
        Done::Uninstalled {
            folder_removed: true,
            ..
        } => (Maintained::Removed, Vec::new()),
        Done::Uninstalled { .. } => (Maintained::RemovedKept, Vec::new()),
    }
}

fn ksn_choice(decision: Decision) -> KsnChoice {
    match decision {
        Decision::Agreed => KsnChoice::Agreed,
        Decision::Declined => KsnChoice::Declined,
        Decision::Undecided => KsnChoice::Undecided,
    }
}

/// Writes the wizard's whole state into the adapter: the one place domain values become UI values.
fn sync(window: &SetupWindow, controller: &Controller) {
    let wizard = controller.wizard.borrow();
    let bundle = &controller.bundle;
    let ui = window.global::<WizardAdapter>();
    let language = wizard.language;
    let text = |id: &str| -> (SharedString, SharedString) {
        let statement = bundle.statements.get(id);
        (
            statement.title(language).into(),
            statement.text(language).1.reflowed().into(),
        )
    };

    ui.set_page(page_id(wizard.page()));
    ui.set_can_back(wizard.can_back());
    ui.set_can_next(wizard.can_next());
    ui.set_can_cancel(wizard.can_cancel());
    ui.set_confirming_cancel(wizard.confirming_cancel());

    ui.set_product_name(bundle.product.name.as_str().into());
    let maintenance = wizard.maintenance();
    ui.set_maintenance(maintenance.is_some());
    if let Some(m) = maintenance {
        ui.set_installed_version(m.installed_version.as_str().into());
        ui.set_maintenance_choice(match m.choice {
            MaintenanceChoice::Modify => 0,
            MaintenanceChoice::Repair => 1,
            MaintenanceChoice::Uninstall => 2,
        });
        ui.set_keep_records(m.keep_records);
        let now = &m.ksn_now;
        ui.set_ksn_now(if now.participates {
            KsnChoice::Agreed
        } else if now.decided_at.is_some() {
            KsnChoice::Declined
        } else {
            KsnChoice::Undecided
        });
        ui.set_ksn_now_needs_consent(now.needs_consent);
        ui.set_ksn_now_since(
            now.decided_at
                .as_deref()
                .map(crate::base::time::local_display)
                .unwrap_or_default()
                .into(),
        );
        ui.set_ksn_now_version(now.statement_version.as_str().into());
    }
    ui.set_product_version(bundle.product.version.as_str().into());
    ui.set_language_index(language.index() as i32);

    if controller.texts_language.replace(Some(language)) != Some(language) {
        let (title, body) = text(statements::EULA);
        ui.set_eula_title(title);
        ui.set_eula_text(body);
        let (title, body) = text(statements::PRIVACY_POLICY);
        ui.set_privacy_title(title);
        ui.set_privacy_text(body);
        let (title, body) = text(statements::KSN);
        ui.set_ksn_title(title);
        ui.set_ksn_text(body);
    }
    ui.set_ksn_version(bundle.statements.ksn().version.as_str().into());
    ui.set_accept_eula(wizard.accept_eula());
    ui.set_accept_privacy(wizard.accept_privacy_policy());
    ui.set_ksn_agree(wizard.ksn_agree());
    ui.set_ksn_locked(wizard.ksn_locked());
    ui.set_reconsent(*controller.reconsent.borrow());

    ui.set_scope_all_users(wizard.scope() == Scope::System);
    ui.set_needs_admin(wizard.needs_elevation());
    ui.set_elevation_message(wizard.elevation_message().unwrap_or_default().into());
    ui.set_menu_dir(
        wizard
            .menu_dir()
            .map(|d| d.join("applications").display().to_string())
            .unwrap_or_default()
            .into(),
    );
    ui.set_dir(wizard.dir().into());
    let check = wizard.location();
    let (state, detail, why) = match check.map(|c| &c.status) {
        None => (LocationState::Checking, String::new(), String::new()),
        Some(status) => location_state(status),
    };
    let upgrade_from = match check.map(|c| &c.status) {
        Some(LocationStatus::Ok { upgrade_from, .. }) => upgrade_from.clone(),
        _ => None,
    };
    ui.set_location_state(state);
    ui.set_location_detail(detail.into());
    ui.set_location_why(why.into());
    ui.set_location_resolved(
        check
            .and_then(|c| c.resolved.clone())
            .unwrap_or_default()
            .into(),
    );
    ui.set_space_real(check.is_some_and(|c| c.status.space_is_real()));
    ui.set_space_needed(i18n::bytes(check.map(|c| c.needed).unwrap_or(0)).into());
    ui.set_space_free(i18n::bytes(check.map(|c| c.free).unwrap_or(0)).into());
    ui.set_browse_error(controller.browse_error.borrow().as_str().into());
    ui.set_upgrade(upgrade_from.is_some());
    ui.set_upgrade_from(upgrade_from.unwrap_or_default().into());

    let summary = controller
        .plan
        .borrow()
        .as_ref()
        .map(|p| p.ksn.record.decision);
    let chosen = if wizard.answers().ksn == Some(true) {
        Decision::Agreed
    } else {
        Decision::Declined
    };
    ui.set_summary_ksn(ksn_choice(summary.unwrap_or(chosen)));

    let progress = wizard.progress();
    ui.set_progress(progress.fraction());
    ui.set_progress_started(progress.files_total > 0);
    ui.set_committing(progress.committing);
    ui.set_progress_file(progress.current.as_str().into());
    ui.set_progress_done(i18n::bytes(progress.bytes_done).into());
    ui.set_progress_total(i18n::bytes(progress.bytes_total).into());
    // Time left only while copying: once the files are in place, what is left is the sync.
    ui.set_progress_time_left(
        progress
            .seconds_left
            .filter(|_| !progress.committing && progress.files_done < progress.files_total)
            .map(i18n::duration)
            .unwrap_or_default()
            .into(),
    );
    ui.set_rolling_back(progress.rolling_back);

    match wizard.outcome() {
        Some(Outcome::Installed { ksn, .. }) => {
            ui.set_ending(Ending::Installed);
            ui.set_recorded_ksn(ksn_choice(ksn.decision));
            ui.set_recorded_statement(ksn.statement_version.as_str().into());
        }
        Some(Outcome::Failed { failure, .. }) => {
            ui.set_ending(Ending::Failed);
            ui.set_error_message(failure.in_words().into());
        }
        Some(Outcome::Maintained { done }) => {
            ui.set_ending(Ending::Maintained);
            let (kind, list) = maintained(done);
            ui.set_maintained(kind);
            ui.set_repaired_count(list.len() as i32);
            ui.set_repaired_list(list.join(", ").into());
        }
        Some(Outcome::Cancelled) => ui.set_ending(Ending::Cancelled),
        None => {}
    }
    let logged = controller.log.borrow().is_some();
    ui.set_log_path(if logged {
        controller.options.log.display().to_string().into()
    } else {
        SharedString::new()
    });
}
