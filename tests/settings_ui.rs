//! The product's settings window (Settings → Security settings → Kaspersky Security Network),
//! driven headless through Slint's testing backend against a real installed product: controls
//! found by their accessible labels, keys and clicks as a person gives them, and every
//! assertion about a change checked in the files (the config's `[ksn]` table and the consent
//! log), not only in the window.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementRoot};
use ksn_setup::consent::statements::Language;
use ksn_setup::gui::settings_window;
use ksn_setup::gui::{SettingsAdapter, SettingsDialog, SettingsWindow};
use slint::ComponentHandle;
use slint::platform::Key;
use support::{assert_ok, consent_lines, install, read_toml, sha256_hex};

const SWITCH: &str = "Kaspersky Security Network";
const LOCKED_NOTE: &str = "Set by your administrator; it cannot be changed here.";

/// An installed product and its settings window on a headless backend.
struct Settings {
    window: SettingsWindow,
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

/// Installs the demo product into a fresh folder with `args`, then opens its settings.
fn installed(args: &[&str]) -> Settings {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, args));
    Settings {
        window: open(&dir),
        _tmp: tmp,
        dir,
    }
}

fn open(dir: &Path) -> SettingsWindow {
    support::headless::init();
    let window = settings_window::build(dir, None).unwrap();
    window.show().unwrap();
    window
}

/// The files a change writes, byte for byte.
#[derive(Debug, PartialEq, Eq)]
struct Written {
    config: Vec<u8>,
    log: Vec<u8>,
}

impl Settings {
    fn written(&self) -> Written {
        Written {
            config: std::fs::read(self.dir.join("etc/product.toml")).unwrap(),
            log: std::fs::read(self.dir.join("etc/consent-log.jsonl")).unwrap(),
        }
    }

    fn ksn(&self) -> toml::Table {
        read_toml(&self.dir.join("etc/product.toml"))["ksn"]
            .as_table()
            .unwrap()
            .clone()
    }

    fn adapter(&self) -> SettingsAdapter<'_> {
        self.window.global::<SettingsAdapter>()
    }

    fn dialog(&self) -> SettingsDialog {
        self.adapter().get_dialog()
    }

    fn key(&self, key: impl Into<slint::SharedString>) {
        support::headless::press(self.window.window(), key);
    }

    fn space(&self) {
        self.key(" ");
    }

    fn tab(&self) {
        self.key(Key::Tab);
    }

    fn find(&self, label: &str) -> ElementHandle {
        ElementHandle::find_by_accessible_label(&self.window, label)
            .next()
            .unwrap_or_else(|| panic!("no control labelled {label:?} ({:?})", self.dialog()))
    }

    fn exists(&self, label: &str) -> bool {
        ElementHandle::find_by_accessible_label(&self.window, label)
            .next()
            .is_some()
    }

    fn click(&self, label: &str) {
        self.find(label).invoke_accessible_default_action();
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
    }

    /// The On/Off switch, found as a screen reader finds it: a switch labelled KSN.
    fn switch(&self) -> ElementHandle {
        let found = self
            .window
            .root_element()
            .query_descendants()
            .match_accessible_role(AccessibleRole::Switch)
            .find_all();
        assert_eq!(found.len(), 1, "one switch");
        let switch = found.into_iter().next().unwrap();
        assert_eq!(switch.accessible_label().as_deref(), Some(SWITCH));
        switch
    }

    fn switch_on(&self) -> bool {
        self.switch().accessible_checked().unwrap_or(false)
    }

    fn click_switch(&self) {
        self.switch().invoke_accessible_default_action();
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
    }

    /// The statement text shown, if the Statement is on screen.
    fn statement_shown(&self) -> Option<String> {
        self.window
            .root_element()
            .query_descendants()
            .match_accessible_role(AccessibleRole::TextInput)
            .find_first()
            .and_then(|e| e.accessible_value())
            .map(|v| v.to_string())
    }

    /// Whether a text element shows exactly `text`, or one starting with `prefix` + "…".
    fn shows(&self, text: &str) -> bool {
        let text = text.to_string();
        self.shows_where(move |t| t == text)
    }

    fn shows_starting(&self, prefix: &str) -> bool {
        let prefix = prefix.to_string();
        self.shows_where(move |t| t.starts_with(&prefix))
    }

    fn shows_where(&self, matches: impl Fn(&str) -> bool + 'static) -> bool {
        self.window
            .root_element()
            .query_descendants()
            .match_predicate(move |e| {
                e.accessible_label().is_some_and(|l| matches(&l))
                    || e.accessible_value().is_some_and(|v| matches(&v))
            })
            .find_first()
            .is_some()
    }

    /// The installed KSN Statement's English text file: its version and SHA-256.
    fn installed_statement(&self) -> (String, String, String) {
        let statements = self.dir.join("lib/ksn-setup/statements");
        let index = read_toml(&statements.join("statements.toml"));
        let ksn = index["statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"].as_str() == Some("ksn"))
            .expect("a ksn statement in the installed index")
            .clone();
        let bytes = std::fs::read(statements.join("ksn.en.txt")).unwrap();
        (
            ksn["version"].as_str().unwrap().to_string(),
            sha256_hex(&bytes),
            String::from_utf8(bytes).unwrap(),
        )
    }
}

/// The words of a text, so a reflowed text compares equal to its file.
fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

#[test]
fn turning_on_shows_the_statement_and_cancel_writes_nothing() {
    let s = installed(&[]);
    let before = s.written();
    assert!(!s.switch_on(), "no decision yet: off");
    assert!(s.shows("Off: no decision yet"));
    assert!(
        s.statement_shown().is_none(),
        "no statement before the switch is used"
    );

    // The switch has the focus: Space flips it on, which only shows the Statement.
    s.space();
    assert_eq!(s.dialog(), SettingsDialog::TurnOn);
    assert!(s.exists("I agree") && s.exists("Cancel"));
    let (_, _, text) = s.installed_statement();
    let shown = s.statement_shown().expect("the Statement is shown");
    assert_eq!(words(&shown), words(&text), "the whole installed Statement");
    assert_eq!(s.written(), before, "showing the Statement writes nothing");

    s.click("Cancel");
    assert_eq!(s.dialog(), SettingsDialog::None);
    assert!(!s.switch_on(), "Cancel puts the switch back off");
    assert!(!s.exists("I agree"), "the Statement is gone");
    assert!(s.shows("Off: no decision yet"));
    assert_eq!(s.written(), before, "Cancel writes nothing");

    // Escape is Cancel too, and the keys are back on the switch afterwards.
    s.space();
    assert_eq!(s.dialog(), SettingsDialog::TurnOn);
    s.key(Key::Escape);
    assert_eq!(s.dialog(), SettingsDialog::None);
    assert!(!s.switch_on());
    s.space();
    assert_eq!(s.dialog(), SettingsDialog::TurnOn, "Space works again");
    s.click("Cancel");
    assert_eq!(
        s.written(),
        before,
        "config and consent log unchanged byte for byte"
    );
}

#[test]
fn agreeing_to_the_statement_shown_turns_ksn_on_in_one_transaction() {
    let s = installed(&["--ksn", "decline"]);
    let lines_before = consent_lines(&s.dir).len();
    assert!(!s.switch_on());
    assert!(s.shows_starting("Turned off by your administrator on "));
    s.click_switch();
    assert_eq!(s.dialog(), SettingsDialog::TurnOn);
    assert_eq!(s.ksn()["decision"].as_str(), Some("declined"), "not yet");
    s.click("I agree");

    assert_eq!(s.dialog(), SettingsDialog::None);
    assert!(s.switch_on());
    assert!(s.shows_starting("Turned on by you on "));
    let ksn = s.ksn();
    assert_eq!(ksn["participate"].as_bool(), Some(true));
    assert_eq!(ksn["decision"].as_str(), Some("agreed"));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    let (version, sha256, _) = s.installed_statement();
    assert_eq!(ksn["statement_version"].as_str(), Some(version.as_str()));
    assert_eq!(ksn["statement_sha256"].as_str(), Some(sha256.as_str()));

    let lines = consent_lines(&s.dir);
    assert_eq!(lines.len(), lines_before + 1, "one new consent-log line");
    let line = lines.last().unwrap();
    assert_eq!(line["event"], "change");
    assert_eq!(line["decision"], "agreed");
    assert_eq!(line["decided_by"], "user");
    assert_eq!(line["method"], "settings-window");
    assert_eq!(line["statement_version"], version.as_str());
    assert_eq!(line["statement_sha256"], sha256.as_str());
    assert!(
        !s.dir.join(".ksn-setup/txn").exists(),
        "transaction finished"
    );
}

#[test]
fn turning_off_is_one_action_with_no_statement() {
    let s = installed(&["--ksn", "agree"]);
    let lines_before = consent_lines(&s.dir).len();
    assert!(s.switch_on());
    assert!(s.shows_starting("Turned on by your administrator on "));
    assert!(!s.shows_starting("Turned off by you on "));
    assert!(!s.shows(LOCKED_NOTE), "not locked");
    assert!(s.switch().accessible_enabled().unwrap_or(false));

    s.click_switch();
    assert_eq!(s.dialog(), SettingsDialog::None, "no question");
    assert!(s.statement_shown().is_none(), "no statement shown");
    assert!(!s.exists("I agree"));
    assert!(!s.switch_on());
    assert!(s.shows_starting("Turned off by you on "));
    let ksn = s.ksn();
    assert_eq!(ksn["participate"].as_bool(), Some(false));
    assert_eq!(ksn["decision"].as_str(), Some("declined"));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    let lines = consent_lines(&s.dir);
    assert_eq!(lines.len(), lines_before + 1, "one new consent-log line");
    let line = lines.last().unwrap();
    assert_eq!(line["event"], "change");
    assert_eq!(line["decision"], "declined");
    assert_eq!(line["decided_by"], "user");
}

/// Installs agreeing to KSN Statement 1.1, then upgrades with Statement 2.0, to which the
/// agreement does not carry over.
fn upgraded_to_a_new_statement() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, &["--ksn", "agree"]));
    let statements = tmp.path().join("statements-2.0");
    support::statements_with_new_ksn(&statements, "2.0", false);
    assert_ok(&install(
        &dir,
        &["--statements", statements.to_str().unwrap()],
    ));
    (tmp, dir)
}

#[test]
fn a_new_statement_after_an_upgrade_is_shown_at_once_and_accept_records_it() {
    let (tmp, dir) = upgraded_to_a_new_statement();
    let s = Settings {
        window: open(&dir),
        _tmp: tmp,
        dir,
    };
    assert_eq!(
        s.ksn()["participate"].as_bool(),
        Some(false),
        "the upgrade turned participation off until accepted"
    );
    assert_eq!(
        s.dialog(),
        SettingsDialog::Reconsent,
        "opens on the Statement"
    );
    assert!(s.exists("Accept") && s.exists("Decline"));
    assert!(!s.exists("I agree"));
    assert!(!s.switch_on(), "off until Accept");
    let (version, sha256, text) = s.installed_statement();
    assert_eq!(version, "2.0");
    let shown = s.statement_shown().expect("the new Statement is shown");
    assert!(shown.contains("Version 2.0: we now also send crash reports."));
    assert_eq!(words(&shown), words(&text));
    let lines_before = consent_lines(&s.dir).len();

    // Keyboard: the text has the focus, Tab goes on to Accept, Space presses it.
    s.tab();
    s.space();

    assert_eq!(s.dialog(), SettingsDialog::None);
    assert!(s.switch_on());
    let ksn = s.ksn();
    assert_eq!(ksn["participate"].as_bool(), Some(true));
    assert_eq!(ksn["decision"].as_str(), Some("agreed"));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    assert_eq!(ksn["statement_version"].as_str(), Some("2.0"));
    assert_eq!(ksn["statement_sha256"].as_str(), Some(sha256.as_str()));
    let lines = consent_lines(&s.dir);
    assert_eq!(lines.len(), lines_before + 1);
    let line = lines.last().unwrap();
    assert_eq!(line["event"], "change");
    assert_eq!(line["statement_version"], "2.0");
    assert_eq!(line["statement_sha256"], sha256.as_str());
}

#[test]
fn declining_a_new_statement_is_recorded_as_the_users_decline() {
    let (tmp, dir) = upgraded_to_a_new_statement();
    let s = Settings {
        window: open(&dir),
        _tmp: tmp,
        dir,
    };
    assert_eq!(s.dialog(), SettingsDialog::Reconsent);
    s.key(Key::Escape);
    assert_eq!(
        s.dialog(),
        SettingsDialog::Reconsent,
        "Escape does not decide for the user"
    );
    let lines_before = consent_lines(&s.dir).len();
    s.click("Decline");
    assert_eq!(s.dialog(), SettingsDialog::None);
    assert!(!s.switch_on());
    assert!(s.shows_starting("Turned off by you on "));
    let ksn = s.ksn();
    assert_eq!(ksn["participate"].as_bool(), Some(false));
    assert_eq!(ksn["decision"].as_str(), Some("declined"));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    let lines = consent_lines(&s.dir);
    assert_eq!(lines.len(), lines_before + 1);
    assert_eq!(lines.last().unwrap()["decision"], "declined");
}

#[test]
fn a_locked_choice_is_shown_disabled_and_cannot_be_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let answers = tmp.path().join("answers.toml");
    std::fs::write(&answers, "[ksn]\nparticipate = true\nlocked = true\n").unwrap();
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, &["--answers", answers.to_str().unwrap()]));
    let s = Settings {
        window: open(&dir),
        _tmp: tmp,
        dir,
    };
    let before = s.written();
    assert!(s.switch_on(), "shows the administrator's choice");
    assert_eq!(s.switch().accessible_enabled(), Some(false), "disabled");
    assert!(s.shows(LOCKED_NOTE));
    assert!(s.shows("Turned on by your administrator and locked"));

    // The switch, the keys, and even a call around the disabled switch change nothing.
    s.click_switch();
    s.space();
    s.adapter().invoke_toggled(false);
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
    s.adapter().invoke_agree();
    assert!(s.switch_on());
    assert_eq!(s.dialog(), SettingsDialog::None);
    assert_eq!(s.written(), before, "nothing written");
    assert_eq!(s.ksn()["decided_by"].as_str(), Some("administrator"));
}

#[test]
fn an_engine_error_is_shown_in_the_window_and_nothing_changes() {
    let s = installed(&["--ksn", "agree"]);
    let before = s.written();
    // Another ksn-setup holds the folder lock, as a running install does.
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(s.dir.join(".ksn-setup/lock"))
        .unwrap();
    lock.try_lock().unwrap();
    s.click_switch();
    assert!(
        s.shows_where(|t| t.starts_with("The setting could not be changed: ")
            && t.contains("another Setup is working on this folder")),
        "the engine's message is shown"
    );
    assert!(s.switch_on(), "still on: the window shows what is on disk");
    assert_eq!(s.written(), before, "nothing written");

    drop(lock);
    s.click_switch();
    assert!(!s.shows_starting("The setting could not be changed"));
    assert!(!s.switch_on());
    assert_eq!(s.ksn()["decision"].as_str(), Some("declined"));
}

#[test]
fn every_control_has_an_accessible_label_in_every_state() {
    let s = installed(&[]);
    let check = |what: &str| {
        support::headless::assert_labelled(
            &s.window,
            &[
                AccessibleRole::Button,
                AccessibleRole::Switch,
                AccessibleRole::Checkbox,
                AccessibleRole::TextInput,
            ],
            what,
        )
    };
    check("main view");
    assert!(s.exists("Close"));
    s.space();
    assert_eq!(s.dialog(), SettingsDialog::TurnOn);
    check("statement to turn on");
    assert!(
        s.exists("Kaspersky Security Network Statement"),
        "the text is labelled by its title"
    );
}

#[test]
fn the_window_speaks_the_language_the_decision_was_recorded_in() {
    let s = installed(&["--lang", "ru", "--ksn", "decline"]);
    assert!(s.shows("Параметры безопасности"));
    s.click_switch();
    assert!(s.exists("Я согласен") && s.exists("Отмена"));
    let shown = s.statement_shown().unwrap();
    let text = std::fs::read_to_string(s.dir.join("lib/ksn-setup/statements/ksn.ru.txt")).unwrap();
    assert_eq!(words(&shown), words(&text), "the Russian Statement");
    s.click("Я согласен");
    assert_eq!(s.ksn()["statement_language"].as_str(), Some("ru"));
    assert_eq!(s.ksn()["decision"].as_str(), Some("agreed"));
}

#[test]
fn whether_the_statement_was_scrolled_to_its_end_is_recorded_never_required() {
    // Agreeing at once: allowed, and recorded as not read to its end.
    let s = installed(&["--ksn", "decline"]);
    s.click_switch();
    s.click("I agree");
    assert_eq!(s.ksn()["decision"].as_str(), Some("agreed"));
    assert_eq!(s.ksn()["statement_read_to_end"].as_bool(), Some(false));
    // Turning it off shows no Statement: nothing to say about reading it.
    s.click_switch();
    assert_eq!(s.ksn()["decision"].as_str(), Some("declined"));
    assert!(
        s.ksn().get("statement_read_to_end").is_none(),
        "{:?}",
        s.ksn()
    );
    // Scrolled to the end, then agreed.
    s.click_switch();
    let statement = s.find("Kaspersky Security Network Statement");
    let at = statement.absolute_position();
    let size = statement.size();
    for _ in 0..50 {
        s.window
            .window()
            .dispatch_event(slint::platform::WindowEvent::PointerScrolled {
                position: slint::LogicalPosition::new(
                    at.x + size.width / 2.0,
                    at.y + size.height / 2.0,
                ),
                delta_x: 0.0,
                delta_y: -2000.0,
            });
    }
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
    s.click("I agree");
    assert_eq!(s.ksn()["statement_read_to_end"].as_bool(), Some(true));
    let log = std::fs::read_to_string(s.dir.join("etc/consent-log.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(
        last["statement_read_to_end"].as_bool(),
        Some(true),
        "{last}"
    );
}

#[test]
fn the_window_speaks_the_users_language_and_records_the_statement_it_showed() {
    // Installed in English; opened by a German user (as `ksn-settings` does under
    // LANG=de_DE.UTF-8, or with --lang de).
    let s = installed(&["--ksn", "decline"]);
    let window = settings_window::build(&s.dir, Some(Language::De)).unwrap();
    window.show().unwrap();
    let german = Settings {
        window,
        _tmp: tempfile::tempdir().unwrap(),
        dir: s.dir.clone(),
    };
    assert!(german.shows("Sicherheitseinstellungen"));
    german.click_switch();
    let shown = german.statement_shown().unwrap();
    let text = std::fs::read_to_string(s.dir.join("lib/ksn-setup/statements/ksn.de.txt")).unwrap();
    assert_eq!(words(&shown), words(&text), "the German Statement");
    german.click("Ich stimme zu");
    assert_eq!(german.ksn()["statement_language"].as_str(), Some("de"));
    assert_eq!(german.ksn()["interface_language"].as_str(), Some("de"));
    assert_eq!(german.ksn()["method"].as_str(), Some("settings-window"));
}
