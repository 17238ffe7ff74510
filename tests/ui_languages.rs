//! Every page of the setup window, and the settings window, in each language the program
//! ships besides English, driven headless: each shows no English sentence. The languages run
//! one after the other in one test, since a process selects one translation at a time.

use std::path::Path;
use std::time::{Duration, Instant};

use i_slint_backend_testing::ElementRoot;
use ksn_setup::bundle::contents::Bundle;
use ksn_setup::consent::answers::{Answers, Overrides};
use ksn_setup::consent::statements::Language;
use ksn_setup::gui::setup_window::{self, GuiOptions};
use ksn_setup::gui::{PageId, WizardAdapter, settings_window};
use ksn_setup::wizard::machine::Wizard;
use slint::ComponentHandle;
use slint::platform::Key;

mod support;

/// Everything an element tree shows or announces: texts, labels, values.
fn everything_shown(root: &impl ElementRoot) -> String {
    root.root_element()
        .query_descendants()
        .find_all()
        .into_iter()
        .flat_map(|e| [e.accessible_label(), e.accessible_value()])
        .flatten()
        .map(|t| t.to_string())
        .filter(|t| !t.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_no_english(shown: &str, place: &str, dir: &Path) {
    let english = support::language::english_on(shown, dir.to_str().unwrap());
    assert!(
        english.is_empty(),
        "English on {place}:\n{}\n\nit shows:\n{shown}",
        english.join("\n")
    );
}

/// Walks Welcome to Finish in `language`, installing, checking each page on the way.
fn walk_the_setup_window(language: Language) -> std::path::PathBuf {
    support::headless::init();
    let tmp = tempfile::tempdir().unwrap().keep();
    let dir = tmp.join("ksn-demo");
    let answers = Answers::merge(
        None,
        &Overrides {
            language: Some(language),
            ..Default::default()
        },
    );
    let options = GuiOptions {
        log: tmp.join("setup.log"),
        ..Default::default()
    };
    let (window, _controller) = setup_window::build(
        Bundle::open(None, None).unwrap(),
        Wizard::new(&answers, dir.clone()),
        options,
    )
    .unwrap();
    window.show().unwrap();
    let key = |k: slint::SharedString| support::headless::press(window.window(), k);
    let page = || window.global::<WizardAdapter>().get_page();
    let check = |what: &str| {
        let shown = everything_shown(&window);
        assert_no_english(&shown, &format!("the {what} page in {language}"), &dir);
        shown
    };
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "stuck on {:?}", page());
        let now = page();
        if seen.last() != Some(&now) {
            seen.push(now);
            check(&format!("{now:?}"));
            // The cancel question on every page before the install: asked, then No.
            if now != PageId::Progress && now != PageId::Finish {
                key(Key::Escape.into());
                assert!(window.global::<WizardAdapter>().get_confirming_cancel());
                check(&format!("cancel question on {now:?}"));
                key(Key::Escape.into());
                assert!(!window.global::<WizardAdapter>().get_confirming_cancel());
            }
        }
        match now {
            // The box has the focus as each document's page opens.
            PageId::License | PageId::Privacy => {
                key(" ".into());
                key(Key::Return.into());
            }
            PageId::Welcome | PageId::Ksn | PageId::Location | PageId::Ready => {
                key(Key::Return.into())
            }
            PageId::Progress => {
                std::thread::sleep(Duration::from_millis(10));
                i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(40));
            }
            PageId::Finish => break,
            other => panic!("unexpected page {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            PageId::Welcome,
            PageId::License,
            PageId::Privacy,
            PageId::Ksn,
            PageId::Location,
            PageId::Ready,
            PageId::Progress,
            PageId::Finish
        ]
    );
    let finish = check("Finish");
    let words = support::language::catalogue(language.code());
    assert!(
        finish.contains(words["Setup is complete"].as_str()),
        "{finish}"
    );
    let config = std::fs::read_to_string(dir.join("etc/product.toml")).unwrap();
    let config: toml::Table = config.parse().unwrap();
    assert_eq!(
        config["ksn"]["interface_language"].as_str(),
        Some(language.code())
    );
    assert_eq!(config["ksn"]["method"].as_str(), Some("wizard-window"));
    dir
}

/// The wizard again on the product installed in `dir`: the Maintenance page, and what each
/// choice leads to before anything is done (Modify's KSN page, Ready to repair, Ready to
/// remove).
fn look_at_maintenance(dir: &Path, language: Language) {
    let answers = Answers::merge(
        None,
        &Overrides {
            language: Some(language),
            ..Default::default()
        },
    );
    let installed = ksn_setup::maintenance::installed::InstalledProduct::open(dir).unwrap();
    let wizard = Wizard::for_installed(
        &answers,
        dir.to_path_buf(),
        installed.receipt.product_version.clone(),
        None,
        ksn_setup::wizard::machine::KsnNow::from_status(&installed.ksn_status(language)),
    );
    let options = GuiOptions {
        log: dir.with_file_name("maintenance.log"),
        ..Default::default()
    };
    let (window, _controller) =
        setup_window::build(Bundle::open(None, None).unwrap(), wizard, options).unwrap();
    window.show().unwrap();
    let adapter = window.global::<WizardAdapter>();
    let check = |what: &str| {
        let shown = everything_shown(&window);
        assert_no_english(&shown, &format!("{what} in {language}"), dir);
        shown
    };
    assert_eq!(adapter.get_page(), PageId::Maintenance);
    let words = support::language::catalogue(language.code());
    let shown = check("the Maintenance page");
    assert!(
        shown.contains(words["Repair: restore missing or changed product files"].as_str()),
        "{shown}"
    );
    for (choice, page) in [(0, PageId::Ksn), (1, PageId::Confirm), (2, PageId::Confirm)] {
        adapter.invoke_set_maintenance_choice(choice);
        adapter.invoke_next();
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
        assert_eq!(adapter.get_page(), page, "choice {choice}");
        check(&format!("{page:?} after choice {choice}"));
        adapter.invoke_back();
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
        assert_eq!(adapter.get_page(), PageId::Maintenance);
    }
    window.hide().unwrap();
}

/// The settings window of the product just installed in `language`, and the Statement's
/// dialog it opens.
fn look_at_the_settings_window(dir: &Path, language: Language) {
    let window = settings_window::build(dir, None).unwrap();
    window.show().unwrap();
    let shown = everything_shown(&window);
    assert_no_english(&shown, &format!("the settings window in {language}"), dir);
    let words = support::language::catalogue(language.code());
    assert!(
        shown.contains(words["Security settings"].as_str()),
        "{shown}"
    );
    // The Statement's dialog, opened by the switch.
    let adapter = window.global::<ksn_setup::gui::SettingsAdapter>();
    adapter.invoke_toggled(true);
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
    let shown = everything_shown(&window);
    assert!(shown.contains(words["I agree"].as_str()), "{shown}");
    assert_no_english(
        &shown,
        &format!("the settings' Statement in {language}"),
        dir,
    );
    adapter.invoke_cancel();
    window.hide().unwrap();
}

#[test]
fn every_page_speaks_each_language() {
    for language in Language::ALL {
        if language == Language::En {
            continue;
        }
        let dir = walk_the_setup_window(language);
        look_at_maintenance(&dir, language);
        look_at_the_settings_window(&dir, language);
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    }
}
