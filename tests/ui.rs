//! The setup wizard's window, driven headless through Slint's testing backend: keys and
//! clicks as a person gives them, controls found by their accessible labels (what a screen
//! reader announces), and a real install at the end of the walk.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementRoot};
use ksn_setup::bundle::contents::Bundle;
use ksn_setup::consent::answers::{Answers, AnswersFile, Overrides};
use ksn_setup::consent::statements::Language;
use ksn_setup::gui::setup_window::{self, GuiOptions};
use ksn_setup::gui::{self, PageId, SetupWindow, WizardAdapter};
use ksn_setup::maintenance::installed::InstalledProduct;
use ksn_setup::wizard::machine::Wizard;
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
    );
    let options = GuiOptions {
        log: log.to_path_buf(),
        save_answers: None,
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

    /// Accepts both licenses with the keyboard: first focus is on the EULA box.
    fn accept_licenses(&self) {
        assert_eq!(self.page(), PageId::License);
        self.space();
        self.tab();
        self.tab();
        self.space();
        assert!(self.checked(EULA_BOX) && self.checked(PRIVACY_BOX));
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

    /// What a maintenance task's Finish page says.
    fn summary(&self) -> String {
        self.window
            .global::<WizardAdapter>()
            .get_maintenance_summary()
            .to_string()
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
fn next_is_disabled_until_both_licenses_are_accepted() {
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
    assert!(!s.enabled("Next >"));
    s.click(PRIVACY_BOX);
    assert!(s.enabled("Next >"));
    s.click(EULA_BOX);
    assert!(!s.enabled("Next >"), "unticking disables Next again");
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
    assert_eq!(s.page(), PageId::License);
    assert!(
        s.checked(EULA_BOX) && s.checked(PRIVACY_BOX),
        "Back keeps the license answers"
    );
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
    assert_eq!(pages_seen, 5);
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
fn modify_withdraws_and_agrees_with_the_statement_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("product");
    assert_ok(&install(&dir, &["--ksn", "agree"]));
    let log = tmp.path().join("setup.log");

    // Modify is preselected; Enter goes to the KSN page, whose box starts unticked.
    let s = open_installed(&dir, &log);
    assert_eq!(s.page(), PageId::Maintenance);
    assert_eq!(s.find(MODIFY).accessible_checked(), Some(true));
    s.key(Key::Return);
    assert_eq!(s.page(), PageId::Ksn);
    assert_eq!(s.find(KSN_BOX).accessible_checked(), Some(false));
    // Leaving it unticked and pressing Apply withdraws: one step.
    s.key(Key::Return);
    s.wait_for_finish();
    assert!(
        s.summary().contains("no longer participates"),
        "{}",
        s.summary()
    );
    let ksn = s.ksn();
    assert_eq!(ksn["decision"].as_str(), Some("declined"));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    drop(s);

    // Ticking the box agrees, to the text the page showed.
    let s = open_installed(&dir, &log);
    s.key(Key::Return);
    s.click(KSN_BOX);
    assert_eq!(s.find(KSN_BOX).accessible_checked(), Some(true));
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
fn repair_restores_a_deleted_file() {
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
    s.wait_for_finish();
    assert!(
        s.summary().contains("bin/ksn-demo (missing)"),
        "{}",
        s.summary()
    );
    assert_eq!(std::fs::read(&launcher).unwrap(), original);
}

#[test]
fn uninstall_removes_the_product_and_the_records_when_asked() {
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
    s.key(Key::Return);
    s.wait_for_finish();
    assert!(s.summary().contains("was removed"), "{}", s.summary());
    assert!(
        !dir.exists(),
        "nothing is left: {:?}",
        std::fs::read_dir(&dir).map(|d| d.count())
    );
}
