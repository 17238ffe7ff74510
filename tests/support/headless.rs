//! Driving Slint windows on the headless testing backend, as the UI tests do.

use std::time::Duration;

use slint::platform::WindowEvent;

/// Sets up the testing backend once per test thread (each test runs on its own thread).
pub fn init() {
    thread_local! {
        static BACKEND: () = i_slint_backend_testing::init_no_event_loop();
    }
    BACKEND.with(|_| {});
}

/// Presses and releases `key` in `window`, then lets 20 ms pass for timers and animations.
pub fn press(window: &slint::Window, key: impl Into<slint::SharedString>) {
    let text: slint::SharedString = key.into();
    window.dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
    window.dispatch_event(WindowEvent::KeyReleased { text });
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
}

/// Asserts that every control of `roles` in `root` has a non-empty accessible label (what a
/// screen reader announces); `context` says where, for the message.
pub fn assert_labelled(
    root: &impl i_slint_backend_testing::ElementRoot,
    roles: &[i_slint_backend_testing::AccessibleRole],
    context: &str,
) {
    for &role in roles {
        for control in root
            .root_element()
            .query_descendants()
            .match_accessible_role(role)
            .find_all()
        {
            let label = control.accessible_label().unwrap_or_default();
            assert!(
                !label.trim().is_empty(),
                "a {role:?} has no label ({context})"
            );
        }
    }
}

/// Every text `root` shows, a line each: what a person reads on the page.
pub fn texts(root: &impl i_slint_backend_testing::ElementRoot) -> String {
    root.root_element()
        .query_descendants()
        .match_accessible_role(i_slint_backend_testing::AccessibleRole::Text)
        .find_all()
        .into_iter()
        .filter_map(|e| e.accessible_label().or_else(|| e.accessible_value()))
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lets timers and a worker thread run until `done` says so, or fails after 60 s.
pub fn pump_until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(40));
    }
}
