//! Renders every page of the setup wizard to PNG under `docs/screenshots/`, in every language
//! there is a catalogue for, with Slint's software renderer on the headless testing backend:
//!
//!     cargo run --example screenshots
//!
//! The pages are reached the way a user reaches them (the adapter's callbacks); the Progress
//! page is shown with fixed sample figures, and the Finish page after a real install into a
//! temporary folder. On that installed product the wizard then opens in maintenance mode
//! (Modify with the current KSN state, Ready to remove, Ready to repair, a repair's result),
//! and so does the product's Settings window.

use std::path::Path;
use std::time::Duration;

use i_slint_backend_testing::{TestingBackend, TestingBackendOptions};
use ksn_setup::bundle::contents::Bundle;
use ksn_setup::consent::answers::{Answers, Overrides, Scope};
use ksn_setup::consent::statements::Language;
use ksn_setup::gui::setup_window::{self, GuiOptions};
use ksn_setup::gui::{PageId, WizardAdapter, settings_window};
use ksn_setup::maintenance::installed::InstalledProduct;
use ksn_setup::wizard::machine::{KsnNow, MenuDirs, Wizard};
use slint::ComponentHandle;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .map_err(|e| format!("{e:?}"))?;
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&out)?;
    for language in Language::ALL {
        shoot(language, &out)?;
    }
    println!("screenshots written to {}", out.display());
    Ok(())
}

fn shoot(language: Language, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("ksn-demo");
    let answers = Answers::merge(
        None,
        &Overrides {
            language: Some(language),
            scope: Some(Scope::User),
            ..Default::default()
        },
    );
    // A normal user's window, installing only for them (entries in a temporary data folder);
    // "For all users" is shown with the machine's real menu folder, never installed into.
    let menus = tmp.path().join("share");
    std::fs::create_dir_all(&menus)?;
    let wizard = Wizard::new(&answers, dir.clone())
        .with_admin(false)
        .with_menu_dirs(MenuDirs {
            user: Some(menus),
            system: Some("/usr/local/share".into()),
        });
    let options = GuiOptions {
        log: tmp.path().join("setup.log"),
        save_answers: None,
        ..Default::default()
    };
    let (window, controller) = setup_window::build(Bundle::open(None, None)?, wizard, options)?;
    window
        .window()
        .set_size(slint::LogicalSize::new(780.0, 580.0));
    window.show()?;
    let ui = window.global::<WizardAdapter>();
    let save = |name: &str| {
        save_png(
            window.window(),
            &out.join(format!("{}-{name}.png", language.code())),
        )
    };

    save("1-welcome")?;
    ui.invoke_next();
    ui.invoke_set_accept_eula(true);
    save("2-license")?;
    ui.invoke_next();
    ui.invoke_set_accept_privacy(true);
    save("2b-privacy")?;
    ui.invoke_next();
    save("3-ksn")?;
    ui.invoke_set_ksn_agree(true);
    ui.invoke_next();
    save("4-location")?;
    ui.invoke_set_scope_all_users(true);
    ui.invoke_set_dir("/opt/ksn-demo".into());
    save("4b-location-all-users")?;
    ui.invoke_next();
    save("5c-ready-all-users")?;
    ui.invoke_back();
    ui.invoke_set_scope_all_users(false);
    ui.invoke_set_dir(dir.display().to_string().into());
    ui.invoke_next();
    save("5-ready")?;
    ui.invoke_cancel();
    save("5b-cancel-question")?;
    ui.invoke_confirm_cancel(false);

    ui.invoke_next();
    while ui.get_page() != PageId::Finish {
        std::thread::sleep(Duration::from_millis(20));
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(40));
    }
    save("7-finish")?;

    // The Progress page with fixed figures: an install of the demo product is too quick to catch.
    ui.set_page(PageId::Progress);
    ui.set_progress(0.42);
    ui.set_progress_started(true);
    ui.set_committing(false);
    ui.set_progress_file("share/ksn-demo/bases/antimalware.db".into());
    // Written as the window writes them, in the page's language.
    ui.set_progress_done(ksn_setup::base::i18n::bytes(54_600_000).into());
    ui.set_progress_total(ksn_setup::base::i18n::bytes(130_000_000).into());
    ui.set_progress_time_left(ksn_setup::base::i18n::duration(12).into());
    ui.set_can_cancel(true);
    save("6-progress")?;
    window.hide()?;
    drop(controller);

    shoot_maintenance(language, &dir, &tmp.path().join("maintenance.log"), out)?;
    let settings = settings_window::build(&dir, None)?;
    settings
        .window()
        .set_size(slint::LogicalSize::new(640.0, 520.0));
    settings.show()?;
    save_png(
        settings.window(),
        &out.join(format!("settings-{}.png", language.code())),
    )?;
    // Off, then On again: turning it on shows the Statement first.
    let adapter = settings.global::<ksn_setup::gui::SettingsAdapter>();
    adapter.invoke_toggled(false);
    adapter.invoke_toggled(true);
    save_png(
        settings.window(),
        &out.join(format!("settings-statement-{}.png", language.code())),
    )?;
    settings.hide()?;
    Ok(())
}

/// The wizard as `ksn-setup` opens it on the product installed in `dir`.
fn shoot_maintenance(
    language: Language,
    dir: &Path,
    log: &Path,
    out: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let answers = Answers::merge(
        None,
        &Overrides {
            language: Some(language),
            ..Default::default()
        },
    );
    let installed = InstalledProduct::open(dir)?;
    let wizard = Wizard::for_installed(
        &answers,
        dir.to_path_buf(),
        installed.receipt.product_version.clone(),
        None,
        KsnNow::from_status(&installed.ksn_status(language)),
    );
    let options = GuiOptions {
        log: log.to_path_buf(),
        save_answers: None,
        ..Default::default()
    };
    let (window, controller) = setup_window::build(Bundle::open(None, None)?, wizard, options)?;
    window
        .window()
        .set_size(slint::LogicalSize::new(780.0, 580.0));
    window.show()?;
    let ui = window.global::<WizardAdapter>();
    let save = |name: &str| {
        save_png(
            window.window(),
            &out.join(format!("maintenance-{}-{name}.png", language.code())),
        )
    };
    save("1-choose")?;
    ui.invoke_next();
    save("2-modify-ksn")?;
    ui.invoke_back();
    ui.invoke_set_maintenance_choice(2);
    ui.invoke_next();
    save("3-ready-to-remove")?;
    ui.invoke_back();
    ui.invoke_set_maintenance_choice(1);
    ui.invoke_next();
    save("4-ready-to-repair")?;
    // A file the user deleted by mistake, so the repair has something to restore.
    std::fs::remove_file(dir.join("share/doc/ksn-demo/README.txt"))?;
    ui.invoke_next();
    while ui.get_page() != PageId::Finish {
        std::thread::sleep(Duration::from_millis(20));
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(40));
    }
    save("5-repaired")?;
    window.hide()?;
    drop(controller);
    Ok(())
}

/// Writes what `window` shows now as a PNG.
fn save_png(window: &slint::Window, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    // Let focus rings and widget animations settle before the picture.
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(600));
    let shot = window.take_snapshot()?;
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, shot.width(), shot.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(shot.as_bytes())?;
    Ok(())
}
