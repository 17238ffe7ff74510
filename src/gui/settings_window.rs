//! The product's settings window at Settings → Security settings → Kaspersky Security Network.
//!
//! Split like the wizard: [`SettingsModel`] is the pure state (what the window shows, what the
//! switch, "I agree", Cancel, Accept and Decline do) and is unit-tested without a window; the
//! Slint glue below only translates. The rules:
//! - turning KSN on never turns it on: it shows the full KSN Statement, and only "I agree"
//!   makes the change, with the SHA-256 of exactly the text shown; Cancel changes nothing;
//! - turning KSN off is one step, with no question;
//! - when the installed Statement needs new consent (it changed since the agreement, or an
//!   upgrade reset the decision), the window opens on the new Statement with Accept and
//!   Decline, and KSN is off until Accept;
//! - a choice an administrator locked is shown and cannot be changed;
//! - every change is one [`ksn_change::apply`] transaction; afterwards the product is read
//!   again and the window shows what is on disk. A failed change is shown as a message.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use slint::ComponentHandle;

use crate::base::error::{BadInput, ExitStatus};
use crate::base::time::now_rfc3339;
use crate::consent::rules::{Collection, DecidedBy, Method};
use crate::consent::statements::Language;
use crate::engine::progress::Reporter;
use crate::maintenance::installed::{InstalledProduct, KsnState};
use crate::maintenance::ksn_change::{self, ChangeRequest};
use crate::wizard::failure::Failure;

use crate::gui::{KsnSetting, SettingsAdapter, SettingsDialog, SettingsWindow};

/// What the settings show about KSN, read from the installed product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KsnFacts {
    pub product_name: String,
    pub state: KsnState,
    pub decided_by: Option<DecidedBy>,
    /// RFC 3339, as recorded.
    pub decided_at: Option<String>,
    /// An administrator fixed the choice: the engine refuses every change.
    pub locked: bool,
    /// The version agreed to earlier, when the installed Statement needs new consent.
    pub agreed_version: Option<String>,
    /// The installed KSN Statement as shown: its language, title, version, text for the
    /// window, and the SHA-256 of that text's file (what an agreement is to).
    pub language: Language,
    pub statement_title: String,
    pub statement_version: String,
    pub statement_text: String,
    pub statement_sha256: String,
}

impl KsnFacts {
    /// Reads the facts from an installed product, with the window and the Statement in
    /// `language` (else the language the decision is recorded in).
    pub fn read(installed: &InstalledProduct, language: Option<Language>) -> KsnFacts {
        let record = installed.ksn_record();
        let statement = installed.ksn_statement();
        let (language, text) = statement.text(language.unwrap_or(record.statement_language));
        let status = installed.ksn_status(language);
        KsnFacts {
            product_name: installed.receipt.product_name.clone(),
            state: status.state,
            decided_by: record.decided_by,
            decided_at: record.decided_at.clone(),
            // The engine's rule (ksn_change::plan_change): locked by an administrator.
            locked: record.locked && record.decided_by == Some(DecidedBy::Administrator),
            agreed_version: status.agreed_version.clone(),
            language,
            statement_title: statement.title(language).to_string(),
            statement_version: statement.version.clone(),
            statement_text: text.reflowed(),
            statement_sha256: text.sha256.clone(),
        }
    }
}

/// Which statement dialog is over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialog {
    None,
    /// The Statement shown because the switch was turned on: "I agree" or Cancel.
    TurnOn,
    /// The new Statement after an update: Accept or Decline.
    Reconsent,
}

/// What the window must do after a user action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    /// Run one change transaction.
    Change(ChangeRequest),
    /// Close the window.
    Close,
}

/// The settings window's state, with no UI types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsModel {
    facts: KsnFacts,
    dialog: Dialog,
    error: Option<String>,
    /// The open dialog's Statement has been shown to its last line.
    read_to_end: bool,
}

impl SettingsModel {
    /// The state on opening: on the new Statement when it needs consent (unless locked).
    pub fn new(facts: KsnFacts) -> SettingsModel {
        let dialog = Self::opening_dialog(&facts);
        SettingsModel {
            facts,
            dialog,
            error: None,
            read_to_end: false,
        }
    }

    fn opening_dialog(facts: &KsnFacts) -> Dialog {
        if facts.state == KsnState::NeedsConsent && !facts.locked {
            Dialog::Reconsent
        } else {
            Dialog::None
        }
    }

    pub fn facts(&self) -> &KsnFacts {
        &self.facts
    }

    pub fn dialog(&self) -> Dialog {
        self.dialog
    }

    /// The message of the last failed change, until the next action.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Whether the switch shows on: the product participates, or the user just turned it on
    /// and the Statement is being shown.
    pub fn switch_on(&self) -> bool {
        self.facts.state.participates() || self.dialog == Dialog::TurnOn
    }

    /// Whether the switch can be used.
    pub fn switch_enabled(&self) -> bool {
        !self.facts.locked && self.dialog == Dialog::None
    }

    /// The switch was flipped to `on`.
    pub fn toggle(&mut self, on: bool) -> Action {
        if !self.switch_enabled() {
            return Action::None;
        }
        self.error = None;
        match (on, self.facts.state.participates()) {
            (true, false) => {
                self.dialog = Dialog::TurnOn;
                self.read_to_end = false;
                Action::None
            }
            (false, true) => Action::Change(self.request(false)),
            _ => Action::None,
        }
    }

    /// "I agree" on the Statement shown to turn KSN on, or Accept on the new Statement.
    pub fn agree(&mut self) -> Action {
        if self.dialog == Dialog::None || self.facts.locked {
            return Action::None;
        }
        self.error = None;
        Action::Change(self.request(true))
    }

    /// The open dialog's Statement has had its last line on screen.
    pub fn statement_read_to_end(&mut self) {
        if self.dialog != Dialog::None {
            self.read_to_end = true;
        }
    }

    /// Cancel on the Statement shown to turn KSN on: back to off, nothing written.
    pub fn cancel(&mut self) -> Action {
        if self.dialog == Dialog::TurnOn {
            self.dialog = Dialog::None;
        }
        Action::None
    }

    /// Decline on the new Statement: recorded as declined.
    pub fn decline(&mut self) -> Action {
        if self.dialog != Dialog::Reconsent || self.facts.locked {
            return Action::None;
        }
        self.error = None;
        Action::Change(self.request(false))
    }

    /// The Close button.
    pub fn close(&mut self) -> Action {
        Action::Close
    }

    /// A change ended: `facts` is the product read again (when it could be), `error` what
    /// went wrong. The dialog closes either way; the window shows what is on disk.
    pub fn changed(&mut self, facts: Option<KsnFacts>, error: Option<String>) {
        if let Some(facts) = facts {
            self.facts = facts;
        }
        self.dialog = Dialog::None;
        self.read_to_end = false;
        self.error = error;
    }

    fn request(&self, participate: bool) -> ChangeRequest {
        ChangeRequest {
            participate,
            accepted_sha256: participate.then(|| self.facts.statement_sha256.clone()),
            language: self.facts.language,
            // Whether the Statement was read to its end, for an answer given on it; a
            // withdrawal with the switch shows no Statement.
            how: settings_window_collection(
                self.facts.language,
                (self.dialog != Dialog::None).then_some(self.read_to_end),
            ),
        }
    }
}

/// How a change in this window is given.
fn settings_window_collection(language: Language, read_to_end: Option<bool>) -> Collection {
    Collection {
        method: Method::SettingsWindow,
        interface_language: language,
        read_to_end,
    }
}

/// An RFC 3339 time as the window shows it: local time with its zone, "2026-11-23 15:04 CET".
pub fn display_time(rfc3339: &str) -> String {
    crate::base::time::local_display(rfc3339)
}

/// The model behind one window.
struct Controller {
    dir: PathBuf,
    model: RefCell<SettingsModel>,
    /// The statement text last written to the window, so it is set (and its scroll position
    /// reset) only when it changes.
    shown_text: RefCell<Option<(String, String)>>,
    window: slint::Weak<SettingsWindow>,
}

/// Opens the product in `dir` and creates its settings window with every callback bound,
/// without running the event loop (the tests drive it headless; [`run`] shows it). The
/// window speaks `language`, else the one the decision was recorded in.
pub fn build(dir: &Path, language: Option<Language>) -> anyhow::Result<SettingsWindow> {
    let installed = InstalledProduct::open(dir)?;
    build_for(&installed, language).map_err(|e| no_window(&e.to_string(), dir))
}

fn build_for(
    installed: &InstalledProduct,
    language: Option<Language>,
) -> Result<SettingsWindow, slint::PlatformError> {
    let facts = KsnFacts::read(installed, language);
    let window = SettingsWindow::new()?;
    crate::gui::set_app_id("ksn-demo-security-settings");
    // After the window: the translations are loaded with the first component.
    crate::gui::select_language(facts.language);
    let controller = Rc::new(Controller {
        dir: installed.dir.clone(),
        model: RefCell::new(SettingsModel::new(facts)),
        shown_text: RefCell::new(None),
        window: window.as_weak(),
    });
    connect(&window, &controller);
    sync(&window, &controller);
    Ok(window)
}

/// Shows the settings window of the product in `dir` until it is closed, in `language`,
/// else the language the environment names (as a desktop application follows the
/// session's locale), else the one the decision was recorded in.
pub fn run(dir: &Path, language: Option<Language>) -> anyhow::Result<ExitStatus> {
    let installed = InstalledProduct::open(dir)?;
    if !crate::gui::has_display() {
        return Err(no_window(
            "there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)",
            dir,
        ));
    }
    let window = build_for(&installed, language.or_else(Language::named_by_env))
        .map_err(|e| no_window(&format!("the window could not be opened ({e})"), dir))?;
    crate::gui::fit_to_screen(&window);
    window
        .run()
        .map_err(|e| no_window(&format!("the window could not be opened ({e})"), dir))?;
    Ok(ExitStatus::Success)
}

fn no_window(why: &str, dir: &Path) -> anyhow::Error {
    let dir = dir.display();
    BadInput(anyhow::anyhow!(
        "{why}, so the settings window cannot open; use `ksn-setup ksn status --dir {dir}`, \
         `ksn-setup ksn agree --dir {dir}` or `ksn-setup ksn decline --dir {dir}` instead"
    ))
    .into()
}

/// Binds the adapter's callbacks. The window owns the closures and they own the controller,
/// which holds the window only weakly.
fn connect(window: &SettingsWindow, controller: &Rc<Controller>) {
    let adapter = window.global::<SettingsAdapter>();
    let on = |f: fn(&mut SettingsModel) -> Action| {
        let c = Rc::clone(controller);
        move || {
            let action = f(&mut c.model.borrow_mut());
            after(&c, action);
        }
    };
    adapter.on_agree(on(SettingsModel::agree));
    adapter.on_cancel(on(SettingsModel::cancel));
    adapter.on_decline(on(SettingsModel::decline));
    adapter.on_close(on(SettingsModel::close));
    let c = Rc::clone(controller);
    adapter.on_statement_read_to_end(move || c.model.borrow_mut().statement_read_to_end());
    let c = Rc::clone(controller);
    adapter.on_toggled(move |value| {
        let action = c.model.borrow_mut().toggle(value);
        after(&c, action);
    });
}

fn after(controller: &Controller, action: Action) {
    match action {
        Action::None => {}
        Action::Change(request) => {
            let result = if crate::engine::elevation::needed_for(&controller.dir) {
                change_as_administrator(&controller.dir, &request)
            } else {
                ksn_change::apply(
                    &controller.dir,
                    &request,
                    &now_rfc3339(),
                    &Reporter::silent(),
                )
                .map(|_| ())
            };
            // Whatever happened, show what is on disk now, in the language the window speaks.
            let language = controller.model.borrow().facts().language;
            let (facts, read_error) = match InstalledProduct::open(&controller.dir) {
                Ok(installed) => (Some(KsnFacts::read(&installed, Some(language))), None),
                Err(e) => (None, Some(Failure::of(&e).in_words())),
            };
            // In the user's language; the engine's own words stay for support in the
            // unexpected case.
            let error = result
                .err()
                .map(|e| Failure::of(&e).in_words())
                .or(read_error);
            controller.model.borrow_mut().changed(facts, error);
        }
        Action::Close => {
            if let Some(window) = controller.window.upgrade() {
                let _ = window.hide();
            }
            let _ = slint::quit_event_loop();
            return;
        }
    }
    if let Some(window) = controller.window.upgrade() {
        sync(&window, controller);
    }
}

/// A change on a machine-wide install from a normal user's window: the same change, run as
/// root through pkexec ([`crate::engine::elevation`]); the window waits for it (a KSN change
/// takes a moment; the password dialog is the desktop's own window).
fn change_as_administrator(dir: &Path, request: &ksn_change::ChangeRequest) -> anyhow::Result<()> {
    use crate::maintenance::task::{self, Task};
    let task = Task::Modify {
        participate: request.participate,
        language: request.language,
        shown_sha256: request.accepted_sha256.clone(),
        how: request.how,
    };
    task::run_as_administrator(
        dir,
        &task,
        Default::default(),
        None,
        &Reporter::silent(),
        &crate::engine::control::RunControl::new(),
    )
    .map(|_| ())
}

/// Writes the model into the adapter: the one place domain values become UI values.
fn sync(window: &SettingsWindow, controller: &Controller) {
    let model = controller.model.borrow();
    let facts = model.facts();
    let ui = window.global::<SettingsAdapter>();
    ui.set_product_name(facts.product_name.as_str().into());
    ui.set_state(match facts.state {
        KsnState::On => KsnSetting::On,
        KsnState::Off => KsnSetting::Off,
        KsnState::Undecided => KsnSetting::Undecided,
        KsnState::NeedsConsent => KsnSetting::NeedsConsent,
    });
    ui.set_by_administrator(facts.decided_by == Some(DecidedBy::Administrator));
    ui.set_locked(facts.locked);
    ui.set_decided_at(
        facts
            .decided_at
            .as_deref()
            .map(display_time)
            .unwrap_or_default()
            .into(),
    );
    ui.set_agreed_version(facts.agreed_version.clone().unwrap_or_default().into());
    ui.set_statement_title(facts.statement_title.as_str().into());
    ui.set_statement_version(facts.statement_version.as_str().into());
    let text = (facts.statement_sha256.clone(), facts.statement_text.clone());
    if controller.shown_text.borrow().as_ref() != Some(&text) {
        ui.set_statement_text(text.1.as_str().into());
        *controller.shown_text.borrow_mut() = Some(text);
    }
    ui.set_dialog(match model.dialog() {
        Dialog::None => SettingsDialog::None,
        Dialog::TurnOn => SettingsDialog::TurnOn,
        Dialog::Reconsent => SettingsDialog::Reconsent,
    });
    ui.set_error_message(model.error().unwrap_or_default().into());
    ui.set_ksn_on(model.switch_on());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(state: KsnState, locked: bool) -> KsnFacts {
        KsnFacts {
            product_name: "KSN Demo Security".into(),
            state,
            decided_by: Some(if locked {
                DecidedBy::Administrator
            } else {
                DecidedBy::User
            }),
            decided_at: Some("2026-11-23T14:04:05Z".into()),
            locked,
            agreed_version: None,
            language: Language::En,
            statement_title: "Kaspersky Security Network Statement".into(),
            statement_version: "1.1".into(),
            statement_text: "text".into(),
            statement_sha256: "abc".into(),
        }
    }

    #[test]
    fn turning_on_shows_the_statement_and_only_agreeing_changes() {
        let mut m = SettingsModel::new(facts(KsnState::Off, false));
        assert_eq!(m.dialog(), Dialog::None);
        assert!(!m.switch_on());
        assert_eq!(m.toggle(true), Action::None);
        assert_eq!(m.dialog(), Dialog::TurnOn);
        assert!(
            m.switch_on(),
            "the switch stays on while the Statement is shown"
        );
        assert_eq!(m.cancel(), Action::None);
        assert_eq!(m.dialog(), Dialog::None);
        assert!(!m.switch_on(), "Cancel puts the switch back off");
        m.toggle(true);
        // Agreeing without scrolling to the end is allowed, and recorded as such.
        assert_eq!(
            m.agree(),
            Action::Change(ChangeRequest {
                participate: true,
                accepted_sha256: Some("abc".into()),
                language: Language::En,
                how: settings_window_collection(Language::En, Some(false)),
            })
        );
        m.statement_read_to_end();
        let Action::Change(request) = m.agree() else {
            panic!("agreeing changes")
        };
        assert_eq!(request.how.read_to_end, Some(true));
        // A new dialog starts unread.
        m.changed(None, None);
        m.toggle(true);
        let Action::Change(request) = m.agree() else {
            panic!("agreeing changes")
        };
        assert_eq!(request.how.read_to_end, Some(false));
    }

    #[test]
    fn turning_off_is_one_step() {
        let mut m = SettingsModel::new(facts(KsnState::On, false));
        assert!(m.switch_on());
        assert_eq!(
            m.toggle(false),
            Action::Change(ChangeRequest {
                participate: false,
                accepted_sha256: None,
                language: Language::En,
                how: settings_window_collection(Language::En, None),
            })
        );
        assert_eq!(m.dialog(), Dialog::None);
    }

    #[test]
    fn new_consent_opens_on_the_statement_and_decline_is_recorded() {
        let mut m = SettingsModel::new(facts(KsnState::NeedsConsent, false));
        assert_eq!(m.dialog(), Dialog::Reconsent);
        assert!(!m.switch_on() && !m.switch_enabled());
        assert_eq!(
            m.toggle(true),
            Action::None,
            "the switch waits for the answer"
        );
        assert!(matches!(m.decline(), Action::Change(r) if !r.participate));
        m.changed(Some(facts(KsnState::Off, false)), None);
        assert_eq!(m.dialog(), Dialog::None);
    }

    #[test]
    fn a_locked_choice_cannot_be_changed() {
        let mut m = SettingsModel::new(facts(KsnState::On, true));
        assert!(!m.switch_enabled());
        assert_eq!(m.toggle(false), Action::None);
        assert_eq!(m.agree(), Action::None);
        assert_eq!(m.decline(), Action::None);
        let m = SettingsModel::new(facts(KsnState::NeedsConsent, true));
        assert_eq!(
            m.dialog(),
            Dialog::None,
            "no question the user cannot answer"
        );
    }

    #[test]
    fn a_failed_change_is_kept_as_a_message_until_the_next_action() {
        let mut m = SettingsModel::new(facts(KsnState::On, false));
        m.toggle(false);
        m.changed(None, Some("another ksn-setup is working".into()));
        assert_eq!(m.error(), Some("another ksn-setup is working"));
        assert!(m.switch_on(), "still on: nothing changed");
        m.toggle(false);
        assert_eq!(m.error(), None);
    }

    #[test]
    fn times_are_shown_to_the_minute_in_local_time_with_the_zone() {
        // The same moment written in two zones reads the same, in this process's zone.
        let utc = display_time("2026-11-23T14:04:05Z");
        assert_eq!(display_time("2026-11-23T16:04:05+02:00"), utc);
        assert!(utc.split(' ').count() == 3, "date, time and zone: {utc}");
        assert_eq!(display_time("garbled"), "garbled");
    }
}
