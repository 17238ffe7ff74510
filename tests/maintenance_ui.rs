//! The wizard run again on an installed product: its Maintenance page (Modify, Repair,
//! Uninstall), driven headless through Slint's testing backend on a real install.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use i_slint_backend_testing::ElementHandle;
use ksn_setup::answers::{Answers, Overrides};
use ksn_setup::bundle::Bundle;
use ksn_setup::gui::{self, GuiOptions, PageId, SetupWindow, WizardAdapter};
use ksn_setup::installed::InstalledProduct;
use ksn_setup::statements::Language;
use ksn_setup::wizard::Wizard;
use slint::ComponentHandle;
use slint::platform::{Key, WindowEvent};
use support::{assert_ok, consent_lines, install, read_toml};

const KSN_BOX: &str = "I agree to participate in Kaspersky Security Network";
const MODIFY: &str = "Modify: change your Kaspersky Security Network participation";
const REPAIR: &str = "Repair: restore missing or changed product files";
const UNINSTALL: &str = "Uninstall: remove the product from this computer";
const KEEP: &str = "Keep my settings and the record of my KSN choices";

struct Setup {
    window: SetupWindow,
    _controller: std::rc::Rc<gui::Controller>,
    dir: PathBuf,
}

/// The wizard window for the product installed in `dir`, as `ksn-setup` opens it there.
fn open(dir: &Path, log: &Path) -> Setup {
    thread_local! {
        static BACKEND: () = i_slint_backend_testing::init_no_event_loop();
    }
    BACKEND.with(|_| {});
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
        gui::build(Bundle::open(None, None).unwrap(), wizard, options).unwrap();
    window.show().unwrap();
    Setup {
        window,
        _controller: controller,
        dir: dir.to_path_buf(),
    }
}

impl Setup {
    fn key(&self, key: impl Into<slint::SharedString>) {
        let text: slint::SharedString = key.into();
        self.window
            .window()
            .dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
        self.window
            .window()
            .dispatch_event(WindowEvent::KeyReleased { text });
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
    }

    fn page(&self) -> PageId {
        self.window.global::<WizardAdapter>().get_page()
    }

    fn find(&self, label: &str) -> ElementHandle {
        ElementHandle::find_by_accessible_label(&self.window, label)
            .next()
            .unwrap_or_else(|| panic!("no control labelled {label:?} on page {:?}", self.page()))
    }

    fn click(&self, label: &str) {
        self.find(label).invoke_accessible_default_action();
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
    }

    fn wait_for_finish(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.page() != PageId::Finish {
            assert!(Instant::now() < deadline, "the task did not finish");
            std::thread::sleep(Duration::from_millis(10));
            i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(40));
        }
    }

    fn summary(&self) -> String {
        self.window
            .global::<WizardAdapter>()
            .get_maintenance_summary()
            .to_string()
    }

    fn ksn(&self) -> toml::Table {
        read_toml(&self.dir.join("etc/product.toml"))["ksn"]
            .as_table()
            .unwrap()
            .clone()
    }
}

#[test]
fn modify_withdraws_and_agrees_with_the_statement_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("product");
    assert_ok(&install(&dir, &["--ksn", "agree"]));
    let log = tmp.path().join("setup.log");

    // Modify is preselected; Enter goes to the KSN page, whose box starts unticked.
    let s = open(&dir, &log);
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
    let s = open(&dir, &log);
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

    let s = open(&dir, &tmp.path().join("setup.log"));
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

    let s = open(&dir, &tmp.path().join("setup.log"));
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
