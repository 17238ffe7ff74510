//! The setup wizard as a state machine, with no UI types: pages, answers, which buttons are
//! enabled, what Back keeps and what each page does on the way in.
//!
//! The Slint window and the console wizard both drive this one value and only translate:
//! they call [`Wizard::press_next`], [`Wizard::press_back`], [`Wizard::press_cancel`] and the setters, and
//! carry out the [`Action`] each returns (check a folder, make the plan, start the install,
//! exit). The rules a user relies on live here and are unit-tested without a window:
//! - Next on License is enabled only with the EULA accepted, on Privacy only with the
//!   Privacy Policy accepted;
//! - the KSN box is unticked every time the KSN page is entered (consent is an act on the
//!   page shown, never carried in), unless an administrator locked the choice;
//! - Next on KSN is always enabled: declining never blocks;
//! - Back keeps every other answer; Cancel before Install exits after a confirmation, Cancel
//!   during the install pauses it and asks, then rolls back or goes on;
//! - in maintenance mode nothing is removed or withdrawn without a page that says so: Repair
//!   and Uninstall go through a confirmation page (Repair, Remove), and Modify shows the
//!   current participation, so Apply with the box as it was changes nothing.

use std::path::PathBuf;

use crate::consent::answers::{Answers, Scope, UiMode};
use crate::consent::rules::{Collection, DecidedBy, KsnRecord, Method};
use crate::consent::statements::Language;
use crate::engine::progress::{Event, Phase};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Page {
    /// The product is already installed in the folder (the same version): Modify, Repair or
    /// Uninstall, as MSI's and Qt's maintenance tools offer. Not one of the install steps.
    Maintenance,
    Welcome,
    /// The End User License Agreement, with the whole page to be read in.
    License,
    /// The Privacy Policy, likewise: one document per page, as MSI and Inno give each.
    Privacy,
    Ksn,
    Location,
    Ready,
    /// Maintenance only: "Ready to repair" or "Ready to remove", with the button that does it.
    Confirm,
    Progress,
    Finish,
}

impl Page {
    pub const ALL: [Page; 8] = [
        Page::Welcome,
        Page::License,
        Page::Privacy,
        Page::Ksn,
        Page::Location,
        Page::Ready,
        Page::Progress,
        Page::Finish,
    ];

    pub fn index(self) -> usize {
        Page::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    fn after(self) -> Page {
        Page::ALL
            .get(self.index() + 1)
            .copied()
            .unwrap_or(Page::Finish)
    }

    fn before(self) -> Page {
        Page::ALL[self.index().saturating_sub(1)]
    }
}

/// What the folder check said about the chosen install folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationStatus {
    /// Fine: a new folder (`creates`: Setup makes it, and any missing folder above it), an
    /// empty one, or an earlier install of ours (`upgrade_from`).
    Ok {
        upgrade_from: Option<String>,
        creates: bool,
    },
    Empty,
    NotAbsolute,
    /// The path itself is a file.
    NotADir,
    /// A file stands where a folder of the path should be (`/etc/passwd/sub`): that file.
    FileInTheWay(String),
    /// A folder of the path this user may not look into.
    NotAllowed(String),
    /// The file system is mounted read-only.
    ReadOnly,
    /// The file system holds no files (`/proc`, `/sys`).
    VirtualFs,
    NotWritable,
    NoSpace,
    /// A non-empty folder that holds no install of ours.
    ForeignNonEmpty,
    /// Another user controls the folder or one above it: which one, and why.
    Untrusted {
        path: String,
        why: crate::base::ownership::Reason,
    },
    /// Another problem, in the engine's words.
    Other(String),
}

impl LocationStatus {
    /// Whether the space figures mean anything for this status: only where files can be
    /// made (the folder is fine, or only space is short).
    pub fn space_is_real(&self) -> bool {
        matches!(self, LocationStatus::Ok { .. } | LocationStatus::NoSpace)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationCheck {
    /// The folder the check was for, as typed.
    pub dir: String,
    /// Where that is, when it differs from what was typed (`~/ksn` is `/home/ann/ksn`).
    pub resolved: Option<String>,
    pub status: LocationStatus,
    pub needed: u64,
    pub free: u64,
}

/// What the Maintenance page offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaintenanceChoice {
    /// Change Kaspersky Security Network participation (on the KSN page).
    Modify,
    Repair,
    Uninstall,
}

/// The installed product's KSN participation now, as Modify shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KsnNow {
    pub participates: bool,
    /// Agreed to a text that is no longer installed: off until the new one is accepted.
    pub needs_consent: bool,
    /// When the decision was made (RFC 3339), if one was.
    pub decided_at: Option<String>,
    pub decided_by: Option<DecidedBy>,
    /// The statement version the record names.
    pub statement_version: String,
}

impl KsnNow {
    /// The same, participating or not.
    pub fn with_participation(self, participates: bool) -> KsnNow {
        KsnNow {
            participates,
            ..self
        }
    }

    /// Participation as the installed product's status says it is.
    pub fn from_status(status: &crate::maintenance::installed::KsnStatus) -> KsnNow {
        use crate::maintenance::installed::KsnState;
        KsnNow {
            participates: status.participate,
            needs_consent: status.state == KsnState::NeedsConsent,
            decided_at: status.record.decided_at.clone(),
            decided_by: status.record.decided_by,
            statement_version: status.record.statement_version.clone(),
        }
    }
}

/// The maintenance mode's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    pub installed_version: String,
    pub choice: MaintenanceChoice,
    /// Uninstall keeps the config and the consent log.
    pub keep_records: bool,
    /// Participation now, shown on the KSN page and compared with the box on Apply.
    pub ksn_now: KsnNow,
}

/// How the install ended, for the Finish page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Installed {
        ksn: KsnRecord,
        dir: PathBuf,
    },
    /// A maintenance task ended (or, for Modify with nothing changed, was not needed).
    Maintained {
        done: crate::maintenance::task::Done,
    },
    Failed {
        /// The engine's words, for the log.
        message: String,
        /// What happened, for the Finish page in the user's language.
        failure: crate::wizard::failure::Failure,
        rolled_back: bool,
    },
    Cancelled,
}

impl Outcome {
    /// How a run that failed with `error` ends on the Finish page: cancelled, or failed with
    /// its message and whether the rollback undid everything.
    pub fn from_error(error: &anyhow::Error) -> Outcome {
        use crate::base::error::{ExitStatus, exit_status};
        match exit_status(error) {
            ExitStatus::Cancelled => Outcome::Cancelled,
            status => Outcome::Failed {
                message: format!("{error:#}"),
                failure: crate::wizard::failure::Failure::of(error),
                rolled_back: status != ExitStatus::RollbackIncomplete,
            },
        }
    }
}

/// Copy progress for the Progress page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub files_done: u64,
    pub files_total: u64,
    pub current: String,
    /// Seconds left at the current rate, once there is a rate.
    pub seconds_left: Option<u64>,
    pub rolling_back: bool,
    /// The files are in place and the run is writing its commit: no more time left to show,
    /// and nothing left to cancel.
    pub committing: bool,
}

impl Progress {
    /// Progress from the engine's figures after `elapsed` of copying, with the time left at
    /// the rate so far (once half a second has passed, so the first files do not mislead).
    pub fn measured(
        files_done: u64,
        files_total: u64,
        bytes_done: u64,
        bytes_total: u64,
        current: String,
        elapsed: std::time::Duration,
    ) -> Progress {
        let seconds = elapsed.as_secs_f64();
        let rate = bytes_done as f64 / seconds.max(0.001);
        let seconds_left = (bytes_done > 0 && seconds > 0.5)
            .then(|| (bytes_total.saturating_sub(bytes_done) as f64 / rate).ceil() as u64);
        Progress {
            bytes_done,
            bytes_total,
            files_done,
            files_total,
            current,
            seconds_left,
            rolling_back: false,
            committing: false,
        }
    }

    pub fn fraction(&self) -> f32 {
        if self.bytes_total == 0 {
            0.0
        } else {
            self.bytes_done as f32 / self.bytes_total as f32
        }
    }
}

/// What the front end must do after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    /// Check `dir` and call [`Wizard::set_location_check`].
    CheckLocation(String),
    /// Make the plan for the Ready page's summary.
    MakePlan,
    /// Start the install on a worker thread.
    StartInstall,
    /// Start a maintenance task on a worker thread.
    StartMaintenance(crate::maintenance::task::Task),
    /// Hold the running install (or task) where it is, while the user is asked whether to
    /// stop it: nothing more is copied, and nothing finishes behind the question.
    PauseWork,
    /// Let it go on: the user answered No.
    ResumeWork,
    /// Ask the running install to stop and roll back (it was paused; it goes on to roll back).
    RequestRollback,
    /// Leave with this exit status (0 done, 3 cancelled, 1 failed).
    Exit(u8),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wizard {
    page: Page,
    pub language: Language,
    accept_eula: bool,
    accept_privacy_policy: bool,
    ksn_agree: bool,
    /// The administrator's locked KSN answer, shown and not changeable.
    ksn_locked: Option<bool>,
    licenses_preset: bool,
    dir: String,
    location: Option<LocationCheck>,
    confirming_cancel: bool,
    progress: Progress,
    outcome: Option<Outcome>,
    mode: UiMode,
    maintenance: Option<Maintenance>,
    /// Only for me, or for all users (which needs administrator rights).
    scope: Scope,
    menu_entries: bool,
    /// Where each scope's menu entries go, as the front end found them in its environment;
    /// `None` (and in tests): no entries.
    menu_dirs: MenuDirs,
    /// This process runs as root (an administrator).
    admin: bool,
    /// Which wizard this is, for the record of how a KSN answer was given.
    front_end: Method,
    /// Whether the KSN Statement was shown to its end, for the record; `None` where the
    /// front end does not track it.
    ksn_read_to_end: Option<bool>,
    /// Why the install as administrator did not start (authentication dismissed or
    /// refused), shown on the Location page until the user changes something.
    elevation_message: Option<String>,
}

/// The menu folder of each scope ([`Scope::menu_dir`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MenuDirs {
    pub user: Option<PathBuf>,
    pub system: Option<PathBuf>,
}

impl MenuDirs {
    /// Both scopes' menu folders from this process's environment.
    pub fn from_env() -> MenuDirs {
        MenuDirs {
            user: Scope::User.menu_dir(),
            system: Scope::System.menu_dir(),
        }
    }

    fn of(&self, scope: Scope) -> Option<&PathBuf> {
        match scope {
            Scope::User => self.user.as_ref(),
            Scope::System => self.system.as_ref(),
        }
    }
}

impl Wizard {
    /// A wizard on its Welcome page, prefilled from `answers`, installing into `dir`.
    pub fn new(answers: &Answers, dir: PathBuf) -> Wizard {
        let licenses_preset = answers.accept_eula && answers.accept_privacy_policy;
        let ksn_locked = if answers.ksn_locked {
            answers.ksn
        } else {
            None
        };
        Wizard {
            page: Page::Welcome,
            language: answers.language(),
            accept_eula: answers.accept_eula,
            accept_privacy_policy: answers.accept_privacy_policy,
            ksn_agree: false,
            ksn_locked,
            licenses_preset,
            dir: dir.display().to_string(),
            location: None,
            confirming_cancel: false,
            progress: Progress::default(),
            outcome: None,
            mode: answers.mode,
            maintenance: None,
            scope: answers.scope,
            menu_entries: answers.menu_entries,
            menu_dirs: MenuDirs::default(),
            admin: rustix::process::geteuid().is_root(),
            front_end: Method::WizardWindow,
            ksn_read_to_end: None,
            elevation_message: None,
        }
    }

    /// The install as administrator did not start: nothing was written, so the user is back
    /// on the Location page with `message`, to try again or choose "Only for me".
    pub fn elevation_refused(&mut self, message: String) -> Action {
        self.confirming_cancel = false;
        self.progress = Progress::default();
        self.elevation_message = Some(message);
        self.location = None;
        self.page = Page::Location;
        Action::CheckLocation(self.dir.clone())
    }

    pub fn elevation_message(&self) -> Option<&str> {
        self.elevation_message.as_deref()
    }

    /// The wizard on a terminal (the console wizard) rather than in its window.
    pub fn on_terminal(mut self) -> Wizard {
        self.front_end = Method::ConsoleWizard;
        self
    }

    /// The front end showed the KSN Statement: to its end (`true`) or not. Recorded with
    /// the answer, never required for it.
    pub fn ksn_statement_shown(&mut self, to_end: bool) {
        self.ksn_read_to_end = Some(to_end);
    }

    /// How a KSN answer given on the KSN page is recorded.
    fn collection(&self) -> Collection {
        Collection {
            method: self.front_end,
            interface_language: self.language,
            read_to_end: self.ksn_read_to_end,
        }
    }

    /// The wizard as a normal user (`false`) or root (`true`) runs it; the UI tests, which
    /// run as root, show a normal user's window with it.
    pub fn with_admin(mut self, admin: bool) -> Wizard {
        self.admin = admin;
        self
    }

    /// Where the menu entries of each scope go; without this the wizard adds none.
    pub fn with_menu_dirs(mut self, menu_dirs: MenuDirs) -> Wizard {
        self.menu_dirs = menu_dirs;
        self
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Chooses for whom to install. A folder still at the other scope's default follows the
    /// choice (`/opt/ksn-demo` for all users, `~/.local/share/ksn-demo` only for me), as
    /// installers that ask "for me or for everyone" do; a folder the user typed stays.
    pub fn set_scope(&mut self, scope: Scope) -> Action {
        if scope == self.scope {
            return Action::None;
        }
        self.elevation_message = None;
        let was_default = crate::base::paths::expand_home(&self.dir) == self.scope.default_dir();
        self.scope = scope;
        if was_default {
            self.dir = scope.default_dir().display().to_string();
        }
        self.location = None;
        Action::CheckLocation(self.dir.clone())
    }

    /// Whether the install needs administrator rights this process does not have: a
    /// machine-wide install by a normal user.
    pub fn needs_elevation(&self) -> bool {
        self.scope == Scope::System && !self.admin
    }

    /// Whether a maintenance task on the installed product needs administrator rights this
    /// window lacks: the product is root's (installed for all users).
    pub fn maintenance_needs_elevation(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        self.maintenance.is_some()
            && !self.admin
            && std::fs::metadata(crate::base::paths::expand_home(&self.dir))
                .is_ok_and(|m| m.uid() == 0)
    }

    /// The menu folder the install writes its entries to, if any.
    pub fn menu_dir(&self) -> Option<&PathBuf> {
        if self.menu_entries {
            self.menu_dirs.of(self.scope)
        } else {
            None
        }
    }

    /// A wizard in maintenance mode for the product installed in `dir` (the same version as
    /// this installer's), on its Maintenance page. `locked` is the installed KSN choice when
    /// an administrator locked it.
    pub fn for_installed(
        answers: &Answers,
        dir: PathBuf,
        installed_version: String,
        locked: Option<bool>,
        ksn_now: KsnNow,
    ) -> Wizard {
        let mut wizard = Wizard::new(answers, dir);
        wizard.page = Page::Maintenance;
        wizard.ksn_locked = locked;
        wizard.maintenance = Some(Maintenance {
            installed_version,
            choice: MaintenanceChoice::Modify,
            keep_records: true,
            ksn_now,
        });
        wizard
    }

    pub fn maintenance(&self) -> Option<&Maintenance> {
        self.maintenance.as_ref()
    }

    pub fn set_maintenance_choice(&mut self, choice: MaintenanceChoice) {
        if let Some(m) = &mut self.maintenance {
            m.choice = choice;
        }
    }

    pub fn set_keep_records(&mut self, keep: bool) {
        if let Some(m) = &mut self.maintenance {
            m.keep_records = keep;
        }
    }

    pub fn page(&self) -> Page {
        self.page
    }
    pub fn accept_eula(&self) -> bool {
        self.accept_eula
    }
    pub fn accept_privacy_policy(&self) -> bool {
        self.accept_privacy_policy
    }
    /// Whether the KSN box is ticked.
    pub fn ksn_agree(&self) -> bool {
        self.ksn_agree
    }
    /// Whether an administrator locked the KSN choice.
    pub fn ksn_locked(&self) -> bool {
        self.ksn_locked.is_some()
    }
    pub fn dir(&self) -> &str {
        &self.dir
    }
    pub fn location(&self) -> Option<&LocationCheck> {
        self.location.as_ref().filter(|c| c.dir == self.dir)
    }
    pub fn confirming_cancel(&self) -> bool {
        self.confirming_cancel
    }
    pub fn progress(&self) -> &Progress {
        &self.progress
    }
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }
    pub fn mode(&self) -> UiMode {
        self.mode
    }

    pub fn can_back(&self) -> bool {
        if self.maintenance.is_some() {
            return matches!(self.page, Page::Ksn | Page::Confirm) && !self.confirming_cancel;
        }
        matches!(
            self.page,
            Page::License | Page::Privacy | Page::Ksn | Page::Location | Page::Ready
        ) && !self.confirming_cancel
    }

    pub fn can_next(&self) -> bool {
        if self.confirming_cancel {
            return false;
        }
        match self.page {
            Page::Maintenance
            | Page::Welcome
            | Page::Ksn
            | Page::Ready
            | Page::Confirm
            | Page::Finish => true,
            Page::License => self.accept_eula,
            Page::Privacy => self.accept_privacy_policy,
            Page::Location => matches!(
                self.location().map(|c| &c.status),
                Some(LocationStatus::Ok { .. })
            ),
            Page::Progress => false,
        }
    }

    pub fn can_cancel(&self) -> bool {
        !self.confirming_cancel
            && self.page != Page::Finish
            && !self.progress.rolling_back
            && !self.progress.committing
    }

    pub fn set_language(&mut self, language: Language) {
        // Another language shows another text: what was read of the old one does not count.
        if language != self.language {
            self.ksn_read_to_end = None;
        }
        self.language = language;
    }

    pub fn set_accept_eula(&mut self, value: bool) {
        self.accept_eula = value;
    }

    pub fn set_accept_privacy_policy(&mut self, value: bool) {
        self.accept_privacy_policy = value;
    }

    /// Ticks or unticks the KSN box; a locked choice does not change.
    pub fn set_ksn_agree(&mut self, value: bool) {
        if self.ksn_locked.is_none() {
            self.ksn_agree = value;
        }
    }

    /// Changes the install folder; the front end checks it and reports back.
    pub fn set_dir(&mut self, dir: &str) -> Action {
        self.elevation_message = None;
        self.dir = dir.to_string();
        Action::CheckLocation(self.dir.clone())
    }

    pub fn set_location_check(&mut self, check: LocationCheck) {
        self.location = Some(check);
    }

    /// Next (or Install on Ready, Finish on Finish).
    pub fn press_next(&mut self) -> Action {
        if !self.can_next() {
            return Action::None;
        }
        if let Some(maintenance) = &self.maintenance {
            let task = match (self.page, maintenance.choice) {
                (Page::Maintenance, MaintenanceChoice::Modify) => return self.enter(Page::Ksn),
                // Nothing is repaired or removed from the choice itself: the next page says
                // what will happen, and its button does it.
                (Page::Maintenance, _) => return self.enter(Page::Confirm),
                (Page::Confirm, MaintenanceChoice::Repair) => {
                    crate::maintenance::task::Task::Repair
                }
                (Page::Confirm, MaintenanceChoice::Uninstall) => {
                    crate::maintenance::task::Task::Uninstall {
                        records: if maintenance.keep_records {
                            crate::maintenance::uninstall::Records::Keep
                        } else {
                            crate::maintenance::uninstall::Records::Remove
                        },
                    }
                }
                // The box as left on the page is the decision: ticked agrees to the statement
                // shown there, unticked withdraws. The front end adds the shown text's hash.
                // The box started as participation is now, so Apply with it as it was (or a
                // locked choice) changes nothing and writes nothing.
                (Page::Ksn, _) => {
                    let participate = self.ksn_locked.unwrap_or(self.ksn_agree);
                    let now = maintenance.ksn_now.participates;
                    if participate == now {
                        let record_unchanged =
                            crate::maintenance::task::Done::KsnUnchanged { participate: now };
                        self.finish(Outcome::Maintained {
                            done: record_unchanged,
                        });
                        return Action::None;
                    }
                    crate::maintenance::task::Task::Modify {
                        participate,
                        language: self.language,
                        shown_sha256: None,
                        how: self.collection(),
                    }
                }
                _ => return self.press_next_install(),
            };
            self.page = Page::Progress;
            self.progress = Progress::default();
            return Action::StartMaintenance(task);
        }
        self.press_next_install()
    }

    fn press_next_install(&mut self) -> Action {
        match self.page {
            Page::Ready => {
                self.page = Page::Progress;
                self.progress = Progress::default();
                Action::StartInstall
            }
            Page::Finish => Action::Exit(match self.outcome {
                Some(Outcome::Installed { .. } | Outcome::Maintained { .. }) => 0,
                Some(Outcome::Cancelled) => 3,
                // The rollback left something behind: the message lists it.
                Some(Outcome::Failed {
                    rolled_back: false, ..
                }) => 4,
                _ => 1,
            }),
            page => self.enter(page.after()),
        }
    }

    pub fn press_back(&mut self) -> Action {
        if !self.can_back() {
            return Action::None;
        }
        if self.maintenance.is_some() {
            self.page = Page::Maintenance;
            return Action::None;
        }
        self.enter(self.page.before())
    }

    /// Cancel (or Escape): asks first everywhere but on the Finish page. During the install
    /// the work is held while the question is open.
    pub fn press_cancel(&mut self) -> Action {
        if !self.can_cancel() {
            return Action::None;
        }
        self.confirming_cancel = true;
        if self.page == Page::Progress {
            Action::PauseWork
        } else {
            Action::None
        }
    }

    /// The answer to "Cancel setup?".
    pub fn confirm_cancel(&mut self, yes: bool) -> Action {
        if !self.confirming_cancel {
            return Action::None;
        }
        self.confirming_cancel = false;
        match (yes, self.page) {
            (false, Page::Progress) => Action::ResumeWork,
            (false, _) => Action::None,
            (true, Page::Progress) => {
                self.progress.rolling_back = true;
                Action::RequestRollback
            }
            (true, _) => Action::Exit(3),
        }
    }

    /// Copy progress from the engine.
    /// Folds an engine event into the Progress page: copy figures (with the time left at the
    /// rate since `elapsed` began) and the start of a rollback. Both wizards call this.
    pub fn record_event(&mut self, event: &Event, elapsed: std::time::Duration) {
        match event {
            Event::Progress {
                files_done,
                files_total,
                bytes_done,
                bytes_total,
                current,
            } => {
                self.set_progress(Progress::measured(
                    *files_done,
                    *files_total,
                    *bytes_done,
                    *bytes_total,
                    current.display().to_string(),
                    elapsed,
                ));
            }
            Event::Phase(Phase::RollingBack) => self.progress.rolling_back = true,
            // Past this point the run finishes: there is nothing left to cancel.
            Event::Phase(Phase::Committing) => self.progress.committing = true,
            _ => {}
        }
    }

    pub fn set_progress(&mut self, progress: Progress) {
        let rolling_back = self.progress.rolling_back || progress.rolling_back;
        let committing = self.progress.committing || progress.committing;
        self.progress = Progress {
            rolling_back,
            committing,
            ..progress
        };
    }

    /// The install ended: show the Finish page.
    pub fn finish(&mut self, outcome: Outcome) {
        self.confirming_cancel = false;
        self.outcome = Some(outcome);
        self.page = Page::Finish;
    }

    /// The rules of each page on the way in.
    fn enter(&mut self, page: Page) -> Action {
        self.page = page;
        match page {
            Page::Ksn => {
                // Never carried in: the user ticks it on this page, or an administrator locked
                // it. In maintenance the box shows participation as it is now, so nothing
                // changes unless the user changes it; with a new Statement to accept, it is
                // unticked.
                let now = self
                    .maintenance
                    .as_ref()
                    .is_some_and(|m| m.ksn_now.participates);
                self.ksn_agree = self.ksn_locked.unwrap_or(now);
                // The Statement is shown now; the front end says when its end was reached
                // (and a reading to the end on an earlier visit still counts).
                self.ksn_read_to_end.get_or_insert(false);
                Action::None
            }
            Page::Location => Action::CheckLocation(self.dir.clone()),
            Page::Ready => Action::MakePlan,
            _ => Action::None,
        }
    }

    /// The answers as chosen, for the plan and for `--save-answers`.
    pub fn answers(&self) -> Answers {
        let (ksn, ksn_decided_by) = match self.ksn_locked {
            Some(locked) => (locked, DecidedBy::Administrator),
            None => (self.ksn_agree, DecidedBy::User),
        };
        let unchanged_preset =
            self.licenses_preset && self.accept_eula && self.accept_privacy_policy;
        Answers {
            dir: Some(crate::base::paths::expand_home(&self.dir)),
            accept_eula: self.accept_eula,
            accept_privacy_policy: self.accept_privacy_policy,
            decided_by: if unchanged_preset {
                DecidedBy::Administrator
            } else {
                DecidedBy::User
            },
            ksn: Some(ksn),
            ksn_decided_by,
            // A locked preset came from the administrator's answers.
            ksn_method: match self.ksn_locked {
                Some(_) => Method::AnswersFile,
                None => self.front_end,
            },
            // A locked preset was not decided on the page the Statement was shown on.
            ksn_read_to_end: match self.ksn_locked {
                Some(_) => None,
                None => self.ksn_read_to_end,
            },
            ksn_locked: self.ksn_locked.is_some(),
            language: Some(self.language),
            mode: self.mode,
            scope: self.scope,
            menu_entries: self.menu_entries,
            menu_dir: self.menu_dir().cloned(),
        }
    }
}

/// Renders answers as an answers file that `--unattended` accepts.
pub fn answers_file_text(answers: &Answers) -> String {
    let mut text = String::from("# Answers saved by the ksn-setup wizard.\n[install]\n");
    if let Some(dir) = &answers.dir {
        text.push_str(&format!(
            "dir = {}\n",
            toml::Value::String(dir.display().to_string())
        ));
    }
    text.push_str(&format!(
        "scope = \"{}\"\nmenu_entries = {}\n",
        answers.scope.as_str(),
        answers.menu_entries
    ));
    text.push_str(&format!(
        "[license]\naccept_eula = {}\naccept_privacy_policy = {}\n",
        answers.accept_eula, answers.accept_privacy_policy
    ));
    if let Some(participate) = answers.ksn {
        text.push_str(&format!(
            "[ksn]\nparticipate = {participate}\nlocked = {}\n",
            answers.ksn_locked
        ));
    }
    text.push_str(&format!(
        "[ui]\nlanguage = \"{}\"\nmode = \"{}\"\n",
        answers.language(),
        match answers.mode {
            UiMode::Wizard => "wizard",
            UiMode::Silent => "silent",
        }
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::answers::Overrides;

    fn wizard() -> Wizard {
        let answers = Answers::merge(
            None,
            &Overrides {
                language: Some(Language::En),
                ..Default::default()
            },
        );
        Wizard::new(&answers, PathBuf::from("/opt/ksn-demo"))
    }

    fn ok_location(w: &mut Wizard) {
        let dir = w.dir().to_string();
        w.set_location_check(LocationCheck {
            dir,
            resolved: None,
            status: LocationStatus::Ok {
                upgrade_from: None,
                creates: false,
            },
            needed: 1,
            free: 2,
        });
    }

    fn maintenance_wizard(locked: Option<bool>) -> Wizard {
        maintenance_wizard_now(locked, KsnNow::default())
    }

    fn maintenance_wizard_now(locked: Option<bool>, now: KsnNow) -> Wizard {
        Wizard::for_installed(
            &Answers::merge(None, &Default::default()),
            PathBuf::from("/opt/x"),
            "1.0.0".into(),
            locked,
            now,
        )
    }

    fn participating() -> KsnNow {
        KsnNow {
            participates: true,
            decided_at: Some("2026-11-01T10:00:00Z".into()),
            decided_by: Some(DecidedBy::User),
            statement_version: "1.1".into(),
            ..KsnNow::default()
        }
    }

    #[test]
    fn maintenance_modify_goes_through_the_ksn_page_and_applies_the_box() {
        use crate::maintenance::task::Task;
        let mut w = maintenance_wizard(None);
        assert_eq!(w.page(), Page::Maintenance);
        assert!(!w.can_back());
        assert_eq!(w.press_next(), Action::None);
        assert_eq!(w.page(), Page::Ksn);
        assert!(!w.ksn_agree(), "unticked on the way in");
        assert_eq!(w.press_back(), Action::None);
        assert_eq!(w.page(), Page::Maintenance);
        w.press_next();
        w.set_ksn_agree(true);
        match w.press_next() {
            Action::StartMaintenance(Task::Modify { participate, .. }) => assert!(participate),
            other => panic!("{other:?}"),
        }
        assert_eq!(w.page(), Page::Progress);
        w.finish(Outcome::Maintained {
            done: crate::maintenance::task::Done::NothingToRepair,
        });
        assert_eq!(w.press_next(), Action::Exit(0));
    }

    #[test]
    fn modify_shows_participation_as_it_is_and_apply_unchanged_changes_nothing() {
        use crate::maintenance::task::{Done, Task};
        let mut w = maintenance_wizard_now(None, participating());
        w.press_next();
        assert_eq!(w.page(), Page::Ksn);
        assert!(
            w.ksn_agree(),
            "the box shows that the product takes part now"
        );
        // Apply with the box as it was: no task, nothing written, and the page says so.
        assert_eq!(w.press_next(), Action::None);
        assert_eq!(w.page(), Page::Finish);
        assert_eq!(
            w.outcome(),
            Some(&Outcome::Maintained {
                done: Done::KsnUnchanged { participate: true }
            })
        );
        // Unticking it is the withdrawal.
        let mut w = maintenance_wizard_now(None, participating());
        w.press_next();
        w.set_ksn_agree(false);
        match w.press_next() {
            Action::StartMaintenance(Task::Modify { participate, .. }) => assert!(!participate),
            other => panic!("{other:?}"),
        }
        // A Statement that needs new consent: off until ticked on this page.
        let mut w = maintenance_wizard_now(
            None,
            KsnNow {
                needs_consent: true,
                ..participating()
            }
            .with_participation(false),
        );
        w.press_next();
        assert!(!w.ksn_agree());
    }

    #[test]
    fn repair_and_uninstall_wait_for_their_confirmation_page() {
        use crate::maintenance::task::Task;
        use crate::maintenance::uninstall::Records;
        let mut w = maintenance_wizard(None);
        w.set_maintenance_choice(MaintenanceChoice::Repair);
        assert_eq!(
            w.press_next(),
            Action::None,
            "nothing starts from the choice"
        );
        assert_eq!(w.page(), Page::Confirm);
        assert_eq!(w.press_next(), Action::StartMaintenance(Task::Repair));

        let mut w = maintenance_wizard(None);
        w.set_maintenance_choice(MaintenanceChoice::Uninstall);
        w.set_keep_records(false);
        assert_eq!(w.press_next(), Action::None);
        assert_eq!(w.page(), Page::Confirm);
        assert!(w.can_back());
        w.press_back();
        assert_eq!(
            w.page(),
            Page::Maintenance,
            "Back from Remove removes nothing"
        );
        w.press_next();
        assert_eq!(
            w.press_next(),
            Action::StartMaintenance(Task::Uninstall {
                records: Records::Remove
            })
        );
    }

    #[test]
    fn cancel_during_the_work_holds_it_until_answered() {
        let mut w = wizard();
        to_ksn(&mut w);
        w.press_next();
        ok_location(&mut w);
        w.press_next();
        assert_eq!(w.press_next(), Action::StartInstall);
        assert_eq!(w.press_cancel(), Action::PauseWork);
        assert!(w.confirming_cancel());
        assert_eq!(w.confirm_cancel(false), Action::ResumeWork);
        assert_eq!(w.press_cancel(), Action::PauseWork);
        assert_eq!(w.confirm_cancel(true), Action::RequestRollback);
        // Once the run commits there is nothing left to cancel.
        let mut w = wizard();
        to_ksn(&mut w);
        w.press_next();
        ok_location(&mut w);
        w.press_next();
        w.press_next();
        w.record_event(&Event::Phase(Phase::Committing), std::time::Duration::ZERO);
        assert!(!w.can_cancel());
        assert_eq!(w.press_cancel(), Action::None);
    }

    #[test]
    fn maintenance_keeps_a_locked_choice() {
        use crate::maintenance::task::Task;
        // The lock decides whatever the box says; with the product already as locked, Apply
        // changes nothing.
        let mut w = maintenance_wizard(Some(true));
        w.press_next();
        w.set_ksn_agree(false);
        match w.press_next() {
            Action::StartMaintenance(Task::Modify { participate, .. }) => assert!(participate),
            other => panic!("{other:?}"),
        }
        let mut w = maintenance_wizard_now(Some(true), participating());
        w.press_next();
        assert_eq!(w.press_next(), Action::None);
        assert_eq!(w.page(), Page::Finish);
    }

    fn to_ksn(w: &mut Wizard) {
        w.press_next();
        w.set_accept_eula(true);
        w.press_next();
        w.set_accept_privacy_policy(true);
        w.press_next();
        assert_eq!(w.page(), Page::Ksn);
    }

    #[test]
    fn each_document_needs_its_acceptance_on_its_page() {
        let mut w = wizard();
        w.press_next();
        assert_eq!(w.page(), Page::License);
        assert!(!w.can_next());
        assert_eq!(w.press_next(), Action::None);
        assert_eq!(w.page(), Page::License);
        w.set_accept_eula(true);
        assert!(w.can_next());
        w.press_next();
        assert_eq!(w.page(), Page::Privacy);
        assert!(!w.can_next());
        w.set_accept_privacy_policy(true);
        assert!(w.can_next());
    }

    #[test]
    fn ksn_box_is_unticked_on_every_way_in_and_never_blocks() {
        let mut w = wizard();
        to_ksn(&mut w);
        assert!(!w.ksn_agree());
        assert!(w.can_next(), "declining never blocks");
        w.set_ksn_agree(true);
        assert_eq!(
            w.press_next(),
            Action::CheckLocation("/opt/ksn-demo".into())
        );
        w.press_back();
        assert_eq!(w.page(), Page::Ksn);
        assert!(!w.ksn_agree(), "unticked when coming back");
        w.set_ksn_agree(true);
        w.press_back();
        w.press_next();
        assert!(!w.ksn_agree(), "unticked when coming forward");
    }

    #[test]
    fn back_keeps_the_other_answers() {
        let mut w = wizard();
        to_ksn(&mut w);
        w.set_dir("/tmp/elsewhere");
        w.press_next();
        w.press_back();
        w.press_back();
        assert_eq!(w.page(), Page::Privacy);
        w.press_back();
        assert_eq!(w.page(), Page::License);
        assert!(w.accept_eula() && w.accept_privacy_policy());
        assert_eq!(w.dir(), "/tmp/elsewhere");
        w.press_back();
        assert_eq!(w.page(), Page::Welcome);
        assert!(!w.can_back());
    }

    #[test]
    fn location_next_waits_for_a_good_check_of_the_current_folder() {
        let mut w = wizard();
        to_ksn(&mut w);
        w.press_next();
        assert_eq!(w.page(), Page::Location);
        assert!(!w.can_next());
        ok_location(&mut w);
        assert!(w.can_next());
        w.set_dir("/elsewhere");
        assert!(!w.can_next(), "a check of another folder does not count");
        w.set_location_check(LocationCheck {
            dir: "/elsewhere".into(),
            resolved: None,
            status: LocationStatus::ForeignNonEmpty,
            needed: 1,
            free: 2,
        });
        assert!(!w.can_next());
    }

    #[test]
    fn the_ksn_answer_is_the_users_and_a_decline_is_recorded() {
        let mut w = wizard();
        to_ksn(&mut w);
        let a = w.answers();
        assert_eq!(a.ksn, Some(false));
        assert_eq!(a.ksn_decided_by, DecidedBy::User);
        w.set_ksn_agree(true);
        assert_eq!(w.answers().ksn, Some(true));
    }

    #[test]
    fn a_locked_choice_is_shown_and_cannot_change() {
        let file = crate::consent::answers::AnswersFile::parse(
            std::path::Path::new("a.toml"),
            "[ksn]\nparticipate = true\nlocked = true\n",
        )
        .unwrap();
        let answers = Answers::merge(Some(&file), &Overrides::default());
        let mut w = Wizard::new(&answers, PathBuf::from("/opt/x"));
        to_ksn(&mut w);
        assert!(w.ksn_locked());
        assert!(w.ksn_agree(), "shows the administrator's choice");
        w.set_ksn_agree(false);
        assert!(w.ksn_agree());
        assert_eq!(w.answers().ksn_decided_by, DecidedBy::Administrator);
    }

    #[test]
    fn an_unlocked_preset_is_not_a_pre_ticked_box() {
        let file = crate::consent::answers::AnswersFile::parse(
            std::path::Path::new("a.toml"),
            "[ksn]\nparticipate = true\n",
        )
        .unwrap();
        let answers = Answers::merge(Some(&file), &Overrides::default());
        let mut w = Wizard::new(&answers, PathBuf::from("/opt/x"));
        to_ksn(&mut w);
        assert!(!w.ksn_agree());
    }

    #[test]
    fn cancel_asks_first_then_exits_before_install() {
        let mut w = wizard();
        w.press_cancel();
        assert_eq!(w.confirm_cancel(true), Action::Exit(3), "from Welcome");
        for steps in 0..4 {
            let mut w = wizard();
            w.press_next();
            w.set_accept_eula(true);
            w.set_accept_privacy_policy(true);
            for _ in 0..steps {
                w.press_next();
                ok_location(&mut w);
            }
            let page = w.page();
            assert_eq!(w.press_cancel(), Action::None);
            assert!(w.confirming_cancel());
            assert!(!w.can_next() && !w.can_back());
            assert_eq!(w.confirm_cancel(false), Action::None);
            assert_eq!(w.page(), page, "no keeps the page");
            w.press_cancel();
            assert_eq!(w.confirm_cancel(true), Action::Exit(3));
        }
    }

    #[test]
    fn install_then_cancel_rolls_back_and_finish_exits() {
        let mut w = wizard();
        to_ksn(&mut w);
        w.press_next();
        ok_location(&mut w);
        assert_eq!(w.press_next(), Action::MakePlan);
        assert_eq!(w.page(), Page::Ready);
        assert_eq!(w.press_next(), Action::StartInstall);
        assert_eq!(w.page(), Page::Progress);
        assert!(!w.can_back() && !w.can_next());
        w.press_cancel();
        assert_eq!(w.confirm_cancel(true), Action::RequestRollback);
        assert!(w.progress().rolling_back);
        assert!(!w.can_cancel());
        w.finish(Outcome::Cancelled);
        assert_eq!(w.page(), Page::Finish);
        assert!(!w.can_cancel());
        assert_eq!(w.press_next(), Action::Exit(3));
    }

    #[test]
    fn saved_answers_parse_back() {
        let mut w = wizard();
        to_ksn(&mut w);
        w.set_ksn_agree(true);
        let text = answers_file_text(&w.answers());
        let file =
            crate::consent::answers::AnswersFile::parse(std::path::Path::new("saved.toml"), &text)
                .unwrap();
        let again = Answers::merge(Some(&file), &Overrides::default());
        assert_eq!(again.ksn, Some(true));
        assert!(again.accept_eula && again.accept_privacy_policy);
        assert_eq!(again.dir, Some(PathBuf::from("/opt/ksn-demo")));
    }
}
