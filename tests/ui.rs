//! The setup wizard's window, driven headless through Slint's testing backend: keys and
//! clicks as a person gives them, controls found by their accessible labels (what a screen
//! reader announces), and a real install at the end of the walk.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementRoot};
use ksn_setup::bundle::contents::Bundle;
use ksn_setup::consent::answers::{Answers, AnswersFile, Overrides, Scope};
use ksn_setup::consent::statements::Language;
use ksn_setup::gui::setup_window::{self, GuiOptions};
use ksn_setup::gui::{self, PageId, SetupWindow, WizardAdapter};
use ksn_setup::maintenance::installed::InstalledProduct;
use ksn_setup::wizard::machine::{KsnNow, MenuDirs, Wizard};
use slint::ComponentHandle;
use slint::platform::Key;

mod support;

use support::{assert_ok, consent_lines, install};

const EULA_BOX: &str = "I accept the terms of the End User License Agreement";
const PRIVACY_BOX: &str = "I accept the Privacy Policy";
const KSN_BOX: &str = "I agree to participate in Kaspersky Security Network";
const MODIFY: &str = "Modify: change your Kaspersky Security Network participation";
const REPAIR: &str = "Repair: restore missing or changed product files";
const UNINSTALL: &str = "Uninstall: remove the product from this computer";
const KEEP: &str = "Keep my settings and the record of my KSN choices";
const FOR_ME: &str = "Only for me: in my home folder, in my application menu";
const FOR_ALL: &str =
    "For all users of this computer: in /opt, in every user's menu (needs administrator rights)";

struct Setup {
    window: SetupWindow,
    controller: std::rc::Rc<setup_window::Controller>,
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

/// A wizard window on a headless backend, installing into a fresh temporary folder.
fn setup(answers_text: Option<&str>) -> Setup {
    setup_with(answers_text, None)
}

fn setup_with(answers_text: Option<&str>, payload: Option<&Path>) -> Setup {
    setup_full(answers_text, payload, None)
}

fn setup_full(
    answers_text: Option<&str>,
    payload: Option<&Path>,
    save_answers: Option<PathBuf>,
) -> Setup {
    support::headless::init();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    let file = answers_text.map(|t| AnswersFile::parse(Path::new("answers.toml"), t).unwrap());
    let answers = Answers::merge(
        file.as_ref(),
        &Overrides {
            language: Some(Language::En),
            ..Default::default()
        },
    );
    let wizard = Wizard::new(&answers, dir.clone());
    let options = GuiOptions {
        log: tmp.path().join("setup.log"),
        save_answers,
        ..Default::default()
    };
    let (window, controller) =
        setup_window::build(Bundle::open(payload, None).unwrap(), wizard, options).unwrap();
    window.show().unwrap();
    Setup {
        window,
        controller,
        _tmp: tmp,
        dir,
    }
}

/// The wizard window as `ksn-setup` opens it on the product installed in `dir`: maintenance
/// mode, on its Maintenance page.
fn open_installed(dir: &Path, log: &Path) -> Setup {
    support::headless::init();
    let answers = Answers::merge(
        None,
        &Overrides {
            language: Some(Language::En),
            ..Default::default()
        },
    );
    let installed = InstalledProduct::open(dir).unwrap();
    let wizard = Wizard::for_installed(
        &answers,
        dir.to_path_buf(),
        installed.receipt.product_version.clone(),
        None,
        KsnNow::from_status(&installed.ksn_status(Language::En)),
    );
    let options = GuiOptions {
        log: log.to_path_buf(),
        save_answers: None,
        ..Default::default()
    };
    let (window, controller) =
        setup_window::build(Bundle::open(None, None).unwrap(), wizard, options).unwrap();
    window.show().unwrap();
    Setup {
        window,
        controller,
        _tmp: tempfile::tempdir().unwrap(),
        dir: dir.to_path_buf(),
    }
}

impl Setup {
    fn key(&self, key: impl Into<slint::SharedString>) {
        support::headless::press(self.window.window(), key);
    }

    fn enter(&self) {
        self.key(Key::Return);
    }
    fn escape(&self) {
        self.key(Key::Escape);
    }
    fn tab(&self) {
        self.key(Key::Tab);
    }
    fn space(&self) {
        self.key(" ");
    }

    fn page(&self) -> PageId {
        self.window.global::<WizardAdapter>().get_page()
    }

    fn find(&self, label: &str) -> ElementHandle {
        let found: Vec<_> = ElementHandle::find_by_accessible_label(&self.window, label).collect();
        assert!(
            !found.is_empty(),
            "no control labelled {label:?} on page {:?}",
            self.page()
        );
        found.into_iter().next().unwrap()
    }

    fn exists(&self, label: &str) -> bool {
        ElementHandle::find_by_accessible_label(&self.window, label)
            .next()
            .is_some()
    }

    fn checked(&self, label: &str) -> bool {
        self.find(label).accessible_checked().unwrap_or(false)
    }

    fn enabled(&self, label: &str) -> bool {
        self.find(label).accessible_enabled().unwrap_or(false)
    }

    fn click(&self, label: &str) {
        self.find(label).invoke_accessible_default_action();
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
    }

    /// Accepts both documents with the keyboard, each on its page (the focus starts on the
    /// page's box), and stays on the Privacy Policy's page.
    fn accept_licenses(&self) {
        assert_eq!(self.page(), PageId::License);
        self.space();
        assert!(self.checked(EULA_BOX));
        self.enter();
        assert_eq!(self.page(), PageId::Privacy);
        self.space();
        assert!(self.checked(PRIVACY_BOX));
    }

    /// Runs timers and animations until the install is over.
    fn wait_for_finish(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.page() != PageId::Finish {
            assert!(Instant::now() < deadline, "the install did not finish");
            std::thread::sleep(Duration::from_millis(10));
            i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(40));
        }
    }

    /// Every text the window shows, a line each: what a person reads on the page.
    fn summary(&self) -> String {
        support::headless::texts(&self.window)
    }

    fn ksn(&self) -> toml::Table {
        self.config()["ksn"].as_table().unwrap().clone()
    }

    fn config(&self) -> toml::Table {
        std::fs::read_to_string(self.dir.join("etc/product.toml"))
            .unwrap()
            .parse()
            .unwrap()
    }
}

#[test]
fn keyboard_walk_agreeing_installs_and_records_the_users_agreement() {
    let s = setup(None);
    assert_eq!(s.page(), PageId::Welcome);
    s.enter();
    s.accept_licenses();
    s.enter();
    assert_eq!(s.page(), PageId::Ksn);
    assert!(!s.checked(KSN_BOX), "the KSN box starts unticked");
    s.space();
    assert!(s.checked(KSN_BOX), "Space ticks the focused KSN box");
    s.enter();
    assert_eq!(s.page(), PageId::Location);
    s.enter();
    assert_eq!(s.page(), PageId::Ready);
    s.enter();
    s.wait_for_finish();
    assert_eq!(
        s.window.global::<WizardAdapter>().get_ending(),
        gui::Ending::Installed
    );

    let config = s.config();
    assert_eq!(config["ksn"]["decision"].as_str(), Some("agreed"));
    assert_eq!(config["ksn"]["participate"].as_bool(), Some(true));
    assert_eq!(config["ksn"]["decided_by"].as_str(), Some("user"));
    assert_eq!(config["ksn"]["method"].as_str(), Some("wizard-window"));
    assert_eq!(config["ksn"]["interface_language"].as_str(), Some("en"));
    // Ticked without scrolling the Statement: recorded as not read to its end, and allowed.
    assert_eq!(
        config["ksn"]["statement_read_to_end"].as_bool(),
        Some(false)
    );
    assert_eq!(config["license"]["accepted_by"].as_str(), Some("user"));
    assert!(s.dir.join("bin/ksn-demo").exists());
    s.enter();
    assert_eq!(s.controller.exit_status(), Some(0), "Finish exits 0");
}

#[test]
fn declining_is_recorded_and_never_blocks() {
    let s = setup(None);
    s.enter();
    s.accept_licenses();
    s.enter();
    assert!(
        s.enabled("Next >") || s.window.global::<WizardAdapter>().get_can_next(),
        "Next is enabled unticked"
    );
    s.enter();
    assert_eq!(s.page(), PageId::Location, "declining goes on");
    s.enter();
    assert_eq!(
        s.window.global::<WizardAdapter>().get_summary_ksn(),
        gui::KsnChoice::Declined
    );
    s.enter();
    s.wait_for_finish();
    let config = s.config();
    assert_eq!(config["ksn"]["decision"].as_str(), Some("declined"));
    assert_eq!(config["ksn"]["participate"].as_bool(), Some(false));
    assert_eq!(config["ksn"]["decided_by"].as_str(), Some("user"));
}

#[test]
fn next_is_disabled_until_each_document_is_accepted_on_its_page() {
    let s = setup(None);
    s.enter();
    assert!(!s.enabled("Next >"));
    s.enter();
    assert_eq!(
        s.page(),
        PageId::License,
        "Enter does nothing while Next is disabled"
    );
    s.click(EULA_BOX);
    assert!(s.enabled("Next >"));
    s.click(EULA_BOX);
    assert!(!s.enabled("Next >"), "unticking disables Next again");
    s.click(EULA_BOX);
    s.enter();
    assert_eq!(s.page(), PageId::Privacy);
    assert!(!s.enabled("Next >"));
    s.click(PRIVACY_BOX);
    assert!(s.enabled("Next >"));
}

#[test]
fn back_and_forth_keeps_answers_and_the_ksn_box_is_unticked_on_every_way_in() {
    let s = setup(None);
    s.enter();
    s.accept_licenses();
    s.enter();
    s.click(KSN_BOX);
    assert!(s.checked(KSN_BOX));
    s.click("< Back");
    assert_eq!(s.page(), PageId::Privacy);
    assert!(s.checked(PRIVACY_BOX), "Back keeps the answer");
    s.click("< Back");
    assert_eq!(s.page(), PageId::License);
    assert!(s.checked(EULA_BOX), "Back keeps the answer");
    s.enter();
    s.enter();
    assert_eq!(s.page(), PageId::Ksn);
    assert!(!s.checked(KSN_BOX), "unticked when coming forward");
    s.click(KSN_BOX);
    s.enter();
    assert_eq!(s.page(), PageId::Location);
    let folder = s.find("Install folder");
    let elsewhere = s.dir.with_file_name("elsewhere");
    folder.set_accessible_value(elsewhere.display().to_string());
    s.click("< Back");
    assert_eq!(s.page(), PageId::Ksn);
    assert!(!s.checked(KSN_BOX), "unticked when coming back");
    s.enter();
    assert_eq!(
        s.window.global::<WizardAdapter>().get_dir(),
        elsewhere.display().to_string(),
        "Back keeps the folder"
    );
}

#[test]
fn escape_on_every_page_before_install_asks_then_exits_without_writing() {
    for steps in 0..5 {
        let s = setup(None);
        for step in 0..steps {
            if step == 1 {
                s.accept_licenses();
            }
            s.enter();
        }
        let page = s.page();
        s.escape();
        assert!(
            s.window.global::<WizardAdapter>().get_confirming_cancel(),
            "asks on {page:?}"
        );
        s.escape();
        assert!(
            !s.window.global::<WizardAdapter>().get_confirming_cancel(),
            "Escape again answers No"
        );
        assert_eq!(s.page(), page);
        assert_eq!(s.controller.exit_status(), None);
        // The keys still work after the question closed; the Cancel button asks the same.
        if steps % 2 == 0 {
            s.escape();
        } else {
            s.click("Cancel");
        }
        assert!(s.window.global::<WizardAdapter>().get_confirming_cancel());
        s.click("Yes");
        assert_eq!(s.controller.exit_status(), Some(3), "cancel on {page:?}");
        assert!(!s.dir.exists(), "nothing written on {page:?}");
    }
}

#[test]
fn a_locked_preset_is_shown_disabled_and_recorded_as_the_administrators() {
    let s = setup(Some("[ksn]\nparticipate = true\nlocked = true\n"));
    s.enter();
    s.accept_licenses();
    s.enter();
    assert!(s.checked(KSN_BOX), "shows the administrator's choice");
    assert!(!s.enabled(KSN_BOX), "cannot be changed");
    assert!(
        s.exists("Set by your administrator.") || has_text(&s.window, "Set by your administrator.")
    );
    s.click(KSN_BOX);
    assert!(s.checked(KSN_BOX));
    s.enter();
    s.enter();
    s.enter();
    s.wait_for_finish();
    let config = s.config();
    assert_eq!(config["ksn"]["decision"].as_str(), Some("agreed"));
    assert_eq!(config["ksn"]["decided_by"].as_str(), Some("administrator"));
    assert_eq!(config["ksn"]["method"].as_str(), Some("answers-file"));
    assert_eq!(config["ksn"]["locked"].as_bool(), Some(true));
}

/// Whether any text element shows `text` (plain texts are found by their accessible value
/// or label, depending on the element).
fn has_text(window: &SetupWindow, text: &str) -> bool {
    window
        .root_element()
        .query_descendants()
        .match_predicate({
            let text = text.to_string();
            move |e| {
                e.accessible_label().is_some_and(|l| l == text)
                    || e.accessible_value().is_some_and(|v| v == text)
            }
        })
        .find_first()
        .is_some()
}

#[test]
fn every_control_has_an_accessible_label() {
    let s = setup(None);
    let mut pages_seen = 0;
    loop {
        support::headless::assert_labelled(
            &s.window,
            &[
                AccessibleRole::Button,
                AccessibleRole::Checkbox,
                AccessibleRole::TextInput,
                AccessibleRole::Combobox,
            ],
            &format!("page {:?}", s.page()),
        );
        pages_seen += 1;
        match s.page() {
            PageId::Welcome => s.enter(),
            PageId::License => {
                s.accept_licenses();
                s.enter();
            }
            PageId::Ksn | PageId::Location => s.enter(),
            _ => break,
        }
    }
    assert_eq!(pages_seen, 5, "Welcome, License, KSN, Location, Ready");
}

#[test]
fn a_foreign_non_empty_folder_is_refused_with_the_reason() {
    let s = setup(None);
    s.enter();
    s.accept_licenses();
    s.enter();
    s.enter();
    assert_eq!(s.page(), PageId::Location);
    let foreign = s.dir.with_file_name("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    s.find("Install folder")
        .set_accessible_value(foreign.display().to_string());
    assert_eq!(
        s.window.global::<WizardAdapter>().get_location_state(),
        gui::LocationState::Foreign
    );
    assert!(!s.enabled("Next >"));
    s.find("Install folder")
        .set_accessible_value("relative/path");
    assert_eq!(
        s.window.global::<WizardAdapter>().get_location_state(),
        gui::LocationState::NotAbsolute
    );
}

#[test]
fn cancel_during_the_install_asks_then_rolls_back_and_shows_it() {
    let payload = tempfile::tempdir().unwrap();
    for i in 0..80 {
        let bytes: Vec<u8> = (0..600_000u32)
            .map(|b| (b.wrapping_mul(2_654_435_761) >> (i % 7)) as u8)
            .collect();
        std::fs::write(payload.path().join(format!("data-{i}.bin")), bytes).unwrap();
    }
    let s = setup_with(None, Some(payload.path()));
    s.enter();
    s.accept_licenses();
    s.enter();
    s.space();
    s.enter();
    s.enter();
    s.enter();
    assert_eq!(s.page(), PageId::Progress);
    assert!(!s.exists("< Back"), "no Back while installing");
    s.escape();
    assert!(s.window.global::<WizardAdapter>().get_confirming_cancel());
    s.click("Yes");
    assert!(
        s.window.global::<WizardAdapter>().get_rolling_back(),
        "the page says it is rolling back"
    );
    s.wait_for_finish();
    assert_eq!(
        s.window.global::<WizardAdapter>().get_ending(),
        gui::Ending::Cancelled
    );
    assert!(
        !s.dir.exists(),
        "everything rolled back, consent record included"
    );
    s.enter();
    assert_eq!(s.controller.exit_status(), Some(3));
}

#[test]
fn saved_answers_replay_the_same_choices_unattended() {
    let saved_dir = tempfile::tempdir().unwrap();
    let saved = saved_dir.path().join("answers.toml");
    let s = setup_full(None, None, Some(saved.clone()));
    s.enter();
    s.accept_licenses();
    s.enter();
    s.space();
    s.enter();
    s.enter();
    s.enter();
    s.wait_for_finish();
    let text = std::fs::read_to_string(&saved).expect("answers saved when Install was pressed");
    let file =
        AnswersFile::parse(&saved, &text).expect("the saved answers are a valid answers file");
    let answers = Answers::merge(Some(&file), &Overrides::default());
    assert_eq!(answers.ksn, Some(true));
    assert!(answers.accept_eula && answers.accept_privacy_policy);
    assert_eq!(answers.dir.as_deref(), Some(s.dir.as_path()));
}

// ---- The wizard run again on an installed product: Maintenance (Modify, Repair, Uninstall).

#[test]
fn modify_shows_participation_now_and_changes_only_what_the_box_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("product");
    assert_ok(&install(&dir, &["--ksn", "agree"]));
    let log = tmp.path().join("setup.log");
    let records = |dir: &Path| {
        (
            std::fs::read(dir.join("etc/product.toml")).unwrap(),
            std::fs::read(dir.join("etc/consent-log.jsonl")).unwrap(),
        )
    };
    let before = records(&dir);

    // Modify is preselected; Enter goes to the KSN page, which says KSN is on and shows the
    // box ticked as it is.
    let s = open_installed(&dir, &log);
    assert_eq!(s.page(), PageId::Maintenance);
    assert_eq!(s.find(MODIFY).accessible_checked(), Some(true));
    s.key(Key::Return);
    assert_eq!(s.page(), PageId::Ksn);
    assert!(
        s.summary().contains("Currently: you take part"),
        "{}",
        s.summary()
    );
    assert_eq!(s.find(KSN_BOX).accessible_checked(), Some(true));
    assert!(s.enabled("Apply"));
    // Apply with the box as it was: nothing is written, and the page says so.
    s.key(Key::Return);
    assert_eq!(s.page(), PageId::Finish);
    assert!(
        s.summary().contains("nothing was changed"),
        "{}",
        s.summary()
    );
    assert_eq!(consent_lines(&dir).len(), 1, "no new decision was recorded");
    assert_eq!(s.ksn()["decision"].as_str(), Some("agreed"));
    assert!(
        before == records(&dir),
        "the config and the log are byte for byte as they were"
    );
    drop(s);

    // Unticking the box and Apply withdraws: one step.
    let s = open_installed(&dir, &log);
    s.key(Key::Return);
    s.space();
    assert_eq!(s.find(KSN_BOX).accessible_checked(), Some(false));
    s.key(Key::Return);
    s.wait_for_finish();
    assert!(
        s.summary().contains("no longer takes part"),
        "{}",
        s.summary()
    );
    let ksn = s.ksn();
    assert_eq!(ksn["decision"].as_str(), Some("declined"));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    drop(s);

    // Now off, the box starts unticked; ticking it agrees, to the text the page showed.
    let s = open_installed(&dir, &log);
    s.key(Key::Return);
    assert!(
        s.summary().contains("Currently: you do not take part"),
        "{}",
        s.summary()
    );
    assert_eq!(s.find(KSN_BOX).accessible_checked(), Some(false));
    s.click(KSN_BOX);
    s.key(Key::Return);
    s.wait_for_finish();
    let ksn = s.ksn();
    assert_eq!(ksn["decision"].as_str(), Some("agreed"));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    let shown = std::fs::read(dir.join("lib/ksn-setup/statements/ksn.en.txt")).unwrap();
    assert_eq!(
        ksn["statement_sha256"].as_str(),
        Some(support::sha256_hex(&shown).as_str())
    );
    let log_lines = consent_lines(&dir);
    assert_eq!(log_lines.len(), 3, "install, withdraw, agree");
    assert_eq!(log_lines[2]["event"], "change");
}

#[test]
fn repair_says_what_it_will_do_then_restores_a_deleted_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("product");
    assert_ok(&install(&dir, &[]));
    let launcher = dir.join("bin/ksn-demo");
    let original = std::fs::read(&launcher).unwrap();
    std::fs::remove_file(&launcher).unwrap();

    let s = open_installed(&dir, &tmp.path().join("setup.log"));
    s.click(REPAIR);
    assert_eq!(s.find(REPAIR).accessible_checked(), Some(true));
    assert_eq!(
        s.find(KEEP).accessible_enabled(),
        Some(false),
        "only for uninstall"
    );
    s.key(Key::Return);
    assert_eq!(s.page(), PageId::Confirm, "a page says what Repair will do");
    assert!(
        s.summary()
            .contains("restore the ones that are missing or changed")
    );
    assert!(
        !launcher.exists(),
        "nothing is done before the Repair button"
    );
    s.key(Key::Return);
    s.wait_for_finish();
    assert!(
        s.summary().contains("Restored 1 item: bin/ksn-demo."),
        "{}",
        s.summary()
    );
    assert_eq!(std::fs::read(&launcher).unwrap(), original);
}

#[test]
fn uninstall_needs_its_confirmation_then_removes_the_records_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("product");
    assert_ok(&install(&dir, &[]));

    let s = open_installed(&dir, &tmp.path().join("setup.log"));
    s.click(UNINSTALL);
    assert_eq!(s.find(KEEP).accessible_enabled(), Some(true));
    assert_eq!(
        s.find(KEEP).accessible_checked(),
        Some(true),
        "kept unless asked"
    );
    s.click(KEEP);
    // Next does not remove anything: it asks, on a page of its own, with a Remove button.
    s.key(Key::Return);
    assert_eq!(s.page(), PageId::Confirm);
    assert!(s.exists("Remove"));
    assert!(s.summary().contains("are removed too"), "{}", s.summary());
    assert!(dir.join("bin/ksn-demo").exists());
    // Back returns to the choice with nothing removed.
    s.click("< Back");
    assert_eq!(s.page(), PageId::Maintenance);
    assert!(dir.join("bin/ksn-demo").exists());
    s.key(Key::Return);
    assert_eq!(s.page(), PageId::Confirm);
    // Enter presses the focused button: Remove, the page's default.
    s.key(Key::Return);
    s.wait_for_finish();
    assert!(s.summary().contains("was removed"), "{}", s.summary());
    assert!(
        !dir.exists(),
        "nothing is left: {:?}",
        std::fs::read_dir(&dir).map(|d| d.count())
    );
}

// ---- Native behaviour: the question holds the focus, Enter presses the focused button, the
// install waits on the question, Location reasons are true.

#[test]
fn the_cancel_question_holds_the_focus_until_answered() {
    // However many times Tab moves the focus while the question is open, Space presses Yes
    // or No: never the KSN box or anything else behind it.
    for tabs in 0..6 {
        let s = setup(None);
        s.enter();
        s.accept_licenses();
        s.enter();
        assert_eq!(s.page(), PageId::Ksn);
        s.escape();
        assert!(s.window.global::<WizardAdapter>().get_confirming_cancel());
        assert!(!s.enabled(KSN_BOX), "the page behind is out of reach");
        for _ in 0..tabs {
            s.tab();
        }
        s.space();
        assert!(
            !s.window.global::<WizardAdapter>().get_confirming_cancel(),
            "after {tabs} Tabs, Space answered the question"
        );
        assert!(
            !s.checked(KSN_BOX),
            "after {tabs} Tabs the box behind was not ticked"
        );
        match s.controller.exit_status() {
            // Yes: setup ended, nothing written.
            Some(3) => assert!(!s.dir.exists()),
            // No: still on the page, the question gone, the box usable again.
            None => {
                assert_eq!(s.page(), PageId::Ksn);
                assert!(s.enabled(KSN_BOX));
            }
            other => panic!("after {tabs} Tabs: exit {other:?}"),
        }
    }
}

#[test]
fn enter_presses_the_focused_button_and_the_default_one_elsewhere() {
    let s = setup(None);
    s.enter();
    s.accept_licenses();
    s.enter();
    assert_eq!(s.page(), PageId::Ksn);
    // The focus is on the box: Enter means Next (the default button), Space ticks.
    s.space();
    assert!(s.checked(KSN_BOX));
    s.enter();
    assert_eq!(s.page(), PageId::Location);
    s.key(Key::Escape);
    s.key(Key::Escape);
    // The focus starts on the selected scope ("For all users", as root); Tab reaches the
    // folder field, Browse…, then < Back: Enter there goes back.
    s.tab();
    s.tab();
    s.tab();
    s.enter();
    assert_eq!(s.page(), PageId::Ksn, "Enter on a focused Back goes back");
    // From the box: Tab, Tab, Tab is Cancel; Enter on it asks, it does not go on.
    s.tab();
    s.tab();
    s.tab();
    s.enter();
    assert!(
        s.window.global::<WizardAdapter>().get_confirming_cancel(),
        "Enter on a focused Cancel asks to cancel"
    );
    assert_eq!(s.page(), PageId::Ksn);
    // In the question, Enter presses the focused No.
    s.enter();
    assert!(!s.window.global::<WizardAdapter>().get_confirming_cancel());
    assert_eq!(s.controller.exit_status(), None);
}

/// A payload that takes a while to install: 80 files of 600 KB.
fn slow_payload() -> tempfile::TempDir {
    let payload = tempfile::tempdir().unwrap();
    for i in 0..80 {
        let bytes: Vec<u8> = (0..600_000u32)
            .map(|b| (b.wrapping_mul(2_654_435_761) >> (i % 7)) as u8)
            .collect();
        std::fs::write(payload.path().join(format!("data-{i}.bin")), bytes).unwrap();
    }
    payload
}

#[test]
fn the_install_waits_while_stop_is_asked_and_goes_on_after_no() {
    let payload = slow_payload();
    let s = setup_with(None, Some(payload.path()));
    s.enter();
    s.accept_licenses();
    s.enter();
    s.enter();
    s.enter();
    s.enter();
    assert_eq!(s.page(), PageId::Progress);
    s.escape();
    assert!(s.window.global::<WizardAdapter>().get_confirming_cancel());
    // Let the worker's events drain, then watch: nothing moves while the question is open.
    let pump = |ms: u64| {
        let until = Instant::now() + Duration::from_millis(ms);
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
            i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(40));
        }
    };
    pump(300);
    let held = s.window.global::<WizardAdapter>().get_progress();
    pump(1500);
    assert_eq!(
        s.window.global::<WizardAdapter>().get_progress(),
        held,
        "no file was copied while the question was open"
    );
    assert_eq!(
        s.page(),
        PageId::Progress,
        "and the install did not finish behind it"
    );
    assert!(s.summary().contains("Setup has paused"), "{}", s.summary());
    // No: it goes on to the end.
    s.click("No");
    s.wait_for_finish();
    assert_eq!(
        s.window.global::<WizardAdapter>().get_ending(),
        gui::Ending::Installed
    );
    assert!(s.dir.join("data-79.bin").exists());
}

/// The Location page's state after typing `folder`.
fn location_for(s: &Setup, folder: &str) -> gui::LocationState {
    s.find("Install folder").set_accessible_value(folder);
    s.window.global::<WizardAdapter>().get_location_state()
}

#[test]
fn the_location_page_gives_the_real_reason() {
    let s = setup(None);
    s.enter();
    s.accept_licenses();
    s.enter();
    s.enter();
    assert_eq!(s.page(), PageId::Location);
    let ui = s.window.global::<WizardAdapter>();
    let tmp = tempfile::tempdir().unwrap();

    // A file where a folder of the path should be: that file is named, no space figures.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let under = file.join("sub");
    assert_eq!(
        location_for(&s, under.to_str().unwrap()),
        gui::LocationState::FileInTheWay
    );
    assert_eq!(ui.get_location_detail(), file.display().to_string());
    assert!(
        !ui.get_space_real(),
        "no space figures for a path that cannot be"
    );
    assert!(!s.enabled("Next >"));

    // The path itself is a file.
    assert_eq!(
        location_for(&s, file.to_str().unwrap()),
        gui::LocationState::NotAFolder
    );
    // A virtual file system: not "not enough space".
    assert_eq!(
        location_for(&s, "/proc/ksn-demo"),
        gui::LocationState::VirtualFs
    );
    assert!(!ui.get_space_real());
    // A folder another user made.
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    assert_eq!(
        location_for(&s, theirs.to_str().unwrap()),
        gui::LocationState::Untrusted
    );
    assert_eq!(ui.get_location_detail(), theirs.display().to_string());
    // A read-only file system, and a full one, with real numbers.
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let _ro = support::Mount::tmpfs(&ro, &["ro", "size=1m"]);
    assert_eq!(
        location_for(&s, ro.join("ksn").to_str().unwrap()),
        gui::LocationState::ReadOnly
    );
    let small = tmp.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let _small = support::Mount::tmpfs(&small, &["size=1m"]);
    assert_eq!(
        location_for(&s, small.join("ksn").to_str().unwrap()),
        gui::LocationState::NoSpace
    );
    assert!(
        ui.get_space_real(),
        "the figures are real when only space is short"
    );
    assert!(ui.get_space_free().contains("KB") || ui.get_space_free().contains("MB"));
    // `~` is the home folder.
    assert_eq!(
        location_for(&s, "~/ksn-demo-test-nowhere"),
        gui::LocationState::New
    );
    let home = std::env::var("HOME").unwrap();
    assert_eq!(
        ui.get_location_resolved(),
        format!("{home}/ksn-demo-test-nowhere")
    );
    assert!(s.enabled("Next >"));
    // A folder whose parents do not exist either: Setup makes them all, and says so.
    assert_eq!(
        location_for(&s, tmp.path().join("new/deeper/ksn").to_str().unwrap()),
        gui::LocationState::New
    );
    assert_eq!(ui.get_location_resolved(), "");
    assert!(s.enabled("Next >"));
    // An empty folder that is there already.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(
        location_for(&s, empty.to_str().unwrap()),
        gui::LocationState::Ok
    );
}

#[test]
fn the_scope_choice_moves_the_default_folder_and_the_ready_page_says_who_needs_an_administrator() {
    support::headless::init();
    let tmp = tempfile::tempdir().unwrap();
    let answers = Answers::merge(
        None,
        &Overrides {
            language: Some(Language::En),
            scope: Some(Scope::User),
            ..Default::default()
        },
    );
    let user_menu = tmp.path().join("home-share");
    let system_menu = tmp.path().join("sys-share");
    // A normal user's window: "For all users" needs an administrator.
    let wizard = Wizard::new(&answers, Scope::User.default_dir())
        .with_admin(false)
        .with_menu_dirs(MenuDirs {
            user: Some(user_menu.clone()),
            system: Some(system_menu.clone()),
        });
    let options = GuiOptions {
        log: tmp.path().join("setup.log"),
        save_answers: None,
        ..Default::default()
    };
    let (window, controller) =
        setup_window::build(Bundle::open(None, None).unwrap(), wizard, options).unwrap();
    window.show().unwrap();
    let s = Setup {
        window,
        controller,
        _tmp: tmp,
        dir: PathBuf::new(),
    };
    let ui = || s.window.global::<WizardAdapter>();
    s.enter();
    s.accept_licenses();
    s.enter();
    s.enter();
    assert_eq!(s.page(), PageId::Location);
    assert!(s.checked(FOR_ME) && !s.checked(FOR_ALL));
    let user_dir = Scope::User.default_dir().display().to_string();
    assert_eq!(ui().get_dir(), user_dir.as_str());
    assert!(!ui().get_needs_admin());

    // The arrow key moves the choice, as in a radio group; the default folder follows.
    s.key(Key::DownArrow);
    assert!(s.checked(FOR_ALL) && !s.checked(FOR_ME));
    assert_eq!(ui().get_dir(), "/opt/ksn-demo");
    assert!(ui().get_needs_admin());
    assert!(
        s.summary()
            .contains("Setup asks for an administrator's password"),
        "{}",
        s.summary()
    );
    // Root will write /opt: that this user cannot is no reason to refuse the folder.
    assert!(ui().get_can_next(), "{:?}", ui().get_location_state());
    s.enter();
    assert_eq!(s.page(), PageId::Ready);
    let ready = s.summary();
    assert!(ready.contains("All users of this computer"), "{ready}");
    assert!(
        ready.contains("Installing for all users needs administrator rights"),
        "{ready}"
    );
    assert!(
        ready.contains(&format!("{}/applications", system_menu.display())),
        "{ready}"
    );
    let answers = s.controller.wizard().answers();
    assert_eq!(answers.scope, Scope::System);
    assert_eq!(answers.menu_dir.as_ref(), Some(&system_menu));

    // Back, and only for me again: the folder and the menu go back to the user's.
    s.key(Key::Escape);
    s.key(Key::Escape);
    s.click("< Back");
    assert_eq!(s.page(), PageId::Location);
    s.click(FOR_ME);
    assert_eq!(ui().get_dir(), user_dir.as_str());
    assert!(!ui().get_needs_admin());
    // A folder the user typed stays when the scope changes.
    s.find("Install folder").set_accessible_value("/srv/ksn");
    s.click(FOR_ALL);
    assert_eq!(ui().get_dir(), "/srv/ksn");
    s.click(FOR_ME);
    s.find("Install folder").set_accessible_value(&user_dir);
    s.enter();
    assert_eq!(s.page(), PageId::Ready);
    let ready = s.summary();
    assert!(ready.contains("Only you"), "{ready}");
    assert!(!ready.contains("needs administrator rights"), "{ready}");
    assert!(
        ready.contains(&format!("{}/applications", user_menu.display())),
        "{ready}"
    );
}

/// Turns the mouse wheel far down over the element labelled `label`, to its end.
pub fn scroll_to_the_end(window: &slint::Window, element: &ElementHandle) {
    let at = element.absolute_position();
    let size = element.size();
    let position = slint::LogicalPosition::new(at.x + size.width / 2.0, at.y + size.height / 2.0);
    for _ in 0..50 {
        window.dispatch_event(slint::platform::WindowEvent::PointerScrolled {
            position,
            delta_x: 0.0,
            delta_y: -2000.0,
        });
    }
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
}

#[test]
fn scrolling_the_statement_to_its_end_is_recorded() {
    let s = setup(None);
    s.enter();
    s.accept_licenses();
    s.enter();
    assert_eq!(s.page(), PageId::Ksn);
    let statement = s.find("Kaspersky Security Network Statement");
    scroll_to_the_end(s.window.window(), &statement);
    s.click(KSN_BOX);
    s.enter();
    s.enter();
    s.enter();
    s.wait_for_finish();
    let ksn = s.ksn();
    assert_eq!(ksn["decision"].as_str(), Some("agreed"));
    assert_eq!(ksn["statement_read_to_end"].as_bool(), Some(true));
    // The consent log's line says so too.
    let lines = consent_lines(&s.dir);
    assert_eq!(
        lines[0]["statement_read_to_end"].as_bool(),
        Some(true),
        "{lines:?}"
    );
}
