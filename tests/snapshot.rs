//! What a person sees, pixel by pixel: a check box keeps its full size and its label with the
//! focus (the focus ring is drawn around them, never over them). Rendered with Slint's
//! software renderer on the headless testing backend.

mod support;

use std::time::Duration;

use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use ksn_setup::bundle::contents::Bundle;
use ksn_setup::consent::answers::{Answers, Overrides};
use ksn_setup::consent::statements::Language;
use ksn_setup::gui::WizardAdapter;
use ksn_setup::gui::setup_window::{self, GuiOptions};
use ksn_setup::wizard::machine::Wizard;
use slint::ComponentHandle;
use slint::platform::Key;

const KSN_BOX: &str = "I agree to participate in Kaspersky Security Network";

/// The RGBA pixels of the rectangle (logical = physical here: scale 1).
fn region(
    shot: &slint::SharedPixelBuffer<slint::Rgba8Pixel>,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
) -> Vec<[u8; 4]> {
    let width = shot.width();
    let pixels = shot.as_slice();
    let mut out = Vec::new();
    for row in y..y + h {
        for col in x..x + w {
            let p = pixels[(row * width + col) as usize];
            out.push([p.r, p.g, p.b, p.a]);
        }
    }
    out
}

#[test]
fn a_focused_check_box_is_drawn_at_full_size() {
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let answers = Answers::merge(
        None,
        &Overrides {
            language: Some(Language::En),
            ..Default::default()
        },
    );
    let wizard = Wizard::new(&answers, tmp.path().join("ksn-demo"));
    let options = GuiOptions {
        log: tmp.path().join("setup.log"),
        save_answers: None,
        ..Default::default()
    };
    let (window, _controller) =
        setup_window::build(Bundle::open(None, None).unwrap(), wizard, options).unwrap();
    window
        .window()
        .set_size(slint::LogicalSize::new(780.0, 580.0));
    window.show().unwrap();
    let ui = window.global::<WizardAdapter>();
    ui.invoke_next();
    ui.invoke_set_accept_eula(true);
    ui.invoke_next();
    ui.invoke_set_accept_privacy(true);
    ui.invoke_next();
    let settle = || i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(600));
    settle();

    // The KSN page opens with the focus on its box.
    let tick = ElementHandle::find_by_accessible_label(&window, KSN_BOX)
        .next()
        .expect("the KSN box");
    let (pos, size) = (tick.absolute_position(), tick.size());
    let focused = window.window().take_snapshot().unwrap();
    // Move the focus to the next control and draw again.
    support::headless::press(window.window(), Key::Tab);
    settle();
    let unfocused = window.window().take_snapshot().unwrap();

    // Every pixel of the box and its label, as drawn without the focus (whatever is not
    // the page's background there), is drawn the same with the focus: the ring takes
    // nothing of them. The style's own check box fails this: its ring is drawn over the
    // box's edge and the label's descenders.
    let (x, y) = (pos.x as u32, pos.y as u32);
    let (w, h) = (size.width as u32, size.height as u32);
    assert!(
        h >= 18,
        "the box's row is at least the box's height: {size:?}"
    );
    let background = region(&unfocused, x + w / 2, y - 2, 1, 1)[0];
    let before = region(&unfocused, x, y, w, h);
    let after = region(&focused, x, y, w, h);
    let content: Vec<usize> = (0..before.len())
        .filter(|&i| before[i] != background)
        .collect();
    assert!(
        content.len() > 300,
        "the box and its label are drawn: {} pixels",
        content.len()
    );
    let covered = content.iter().filter(|&&i| before[i] != after[i]).count();
    assert_eq!(
        covered, 0,
        "{covered} pixels of the box and its label change with the focus"
    );
    // And the ring is there: the focus is visible.
    let ring = (0..before.len()).filter(|&i| before[i] != after[i]).count();
    assert!(ring > 100, "no focus ring is drawn ({ring} pixels change)");
}
