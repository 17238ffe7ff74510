//! Renders every page of the setup wizard to PNG under `docs/screenshots/`, in English and
//! Russian, with Slint's software renderer on the headless testing backend:
//!
//!     cargo run --example screenshots
//!
//! The pages are reached the way a user reaches them (the adapter's callbacks); the Progress
//! page is shown with fixed sample figures, and the Finish page after a real install into a
//! temporary folder.

use std::path::Path;
use std::time::Duration;

use i_slint_backend_testing::{TestingBackend, TestingBackendOptions};
use ksn_setup::bundle::contents::Bundle;
use ksn_setup::consent::answers::{Answers, Overrides};
use ksn_setup::consent::statements::Language;
use ksn_setup::gui::setup_window::{self, GuiOptions};
use ksn_setup::gui::{PageId, WizardAdapter};
use ksn_setup::wizard::machine::Wizard;
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
    for language in [Language::En, Language::Ru] {
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
            ..Default::default()
        },
    );
    let wizard = Wizard::new(&answers, dir.clone());
    let options = GuiOptions {
        log: tmp.path().join("setup.log"),
        save_answers: None,
    };
    let (window, controller) = setup_window::build(Bundle::open(None, None)?, wizard, options)?;
    window
        .window()
        .set_size(slint::LogicalSize::new(780.0, 580.0));
    window.show()?;
    let ui = window.global::<WizardAdapter>();
    let save = |name: &str| -> Result<(), Box<dyn std::error::Error>> {
        // Let focus rings and widget animations settle before the picture.
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(600));
        let shot = window.window().take_snapshot()?;
        let path = out.join(format!("{}-{name}.png", language.code()));
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let mut encoder = png::Encoder::new(file, shot.width(), shot.height());
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header()?.write_image_data(shot.as_bytes())?;
        Ok(())
    };

    save("1-welcome")?;
    ui.invoke_next();
    ui.invoke_set_accept_eula(true);
    save("2-license")?;
    ui.invoke_set_accept_privacy(true);
    ui.invoke_next();
    save("3-ksn")?;
    ui.invoke_set_ksn_agree(true);
    ui.invoke_next();
    save("4-location")?;
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
    ui.set_progress_file("share/ksn-demo/bases/antimalware.db".into());
    ui.set_progress_done("54.6 MB".into());
    ui.set_progress_total("130.0 MB".into());
    ui.set_progress_time_left("12 s".into());
    ui.set_can_cancel(true);
    save("6-progress")?;
    drop(controller);
    Ok(())
}
