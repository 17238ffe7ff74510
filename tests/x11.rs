//! The windows on a real X server (Xvfb), as a desktop sees them: each names itself with its
//! own `WM_CLASS`, so docks and window lists tell the setup from the settings, each carries
//! the product's icon (`_NET_WM_ICON`), and each opens no larger than the screen, even at 2× scale, where its natural size is larger than
//! a 1280×1024 screen. The headless backend has no window manager properties and no screen,
//! so only a real server can show this. Needs `Xvfb` and `xwininfo` (`.ci/run` installs
//! them, and `xprop`); the test fails without them.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::xvfb::Xvfb;
use support::{assert_ok, install};

const SCREEN: (u32, u32) = (1280, 1024);

/// A top-level window as `xwininfo -root -tree` lists it.
#[derive(Debug)]
struct Shown {
    id: String,
    class: String,
    width: u32,
    height: u32,
}

/// Waits for a window whose `WM_CLASS` class is `class`, and returns how it is shown once
/// its size has settled (the fit to the screen comes right after the first map).
fn wait_for_window(x: &Xvfb, program: &mut Child, class: &str, errors: &Path) -> Shown {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last: Option<(Shown, Instant)> = None;
    loop {
        if let Some(status) = program.try_wait().unwrap() {
            panic!(
                "the program ended ({status}) before its window {class:?} was shown:\n{}",
                std::fs::read_to_string(errors).unwrap_or_default()
            );
        }
        let tree = Command::new("xwininfo")
            .args(["-root", "-tree", "-display", &x.display])
            .output()
            .expect("xwininfo runs (apt-get install x11-utils; .ci/run installs it)");
        let tree = String::from_utf8_lossy(&tree.stdout).into_owned();
        let found = tree.lines().find_map(|line| parse_tree_line(line, class));
        match (found, &last) {
            (Some(now), Some((before, since)))
                if now.width == before.width
                    && now.height == before.height
                    && since.elapsed() > Duration::from_millis(800) =>
            {
                return now;
            }
            (Some(now), Some((before, _)))
                if now.width == before.width && now.height == before.height => {}
            (Some(now), _) => last = Some((now, Instant::now())),
            (None, _) => {}
        }
        assert!(
            Instant::now() < deadline,
            "no window of class {class:?} appeared; the windows:\n{tree}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `0x200003 "Title": ("instance" "class")  1152x922+0+0  +0+0`
fn parse_tree_line(line: &str, class: &str) -> Option<Shown> {
    let wanted = format!("\"{class}\")");
    let at = line.find(&wanted)?;
    let open = line[..at].rfind("(\"")?;
    let classes = &line[open..at + wanted.len()];
    let geometry = line[at + wanted.len()..].split_whitespace().next()?;
    let (width, rest) = geometry.split_once('x')?;
    let height = rest.split(['+', '-']).next()?;
    Some(Shown {
        id: line.split_whitespace().next()?.to_string(),
        class: classes.to_string(),
        width: width.parse().ok()?,
        height: height.parse().ok()?,
    })
}

/// The icon the window gives the desktop: its size as `xprop` reports it (`Icon (48 x 48):`).
fn icon_of(x: &Xvfb, window: &Shown) -> String {
    let out = Command::new("xprop")
        .args(["-display", &x.display, "-id", &window.id, "_NET_WM_ICON"])
        .output()
        .expect("xprop runs (apt-get install x11-utils)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("_NET_WM_ICON(CARDINAL) = ")
                .map(str::trim)
        })
        .unwrap_or_else(|| panic!("the window has no icon: {text}"))
        .to_string()
}

/// Runs `cmd` on `x`'s screen at 2× scale, its error output to `errors`.
fn on_display(cmd: &mut Command, x: &Xvfb, errors: &Path) {
    cmd.env("DISPLAY", &x.display)
        .env_remove("WAYLAND_DISPLAY")
        .env("SLINT_SCALE_FACTOR", "2")
        .env("SLINT_BACKEND", "winit")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(errors).unwrap());
}

fn stop(mut program: Child) {
    let _ = program.kill();
    let _ = program.wait();
}

#[test]
fn the_setup_window_names_itself_and_fits_the_screen_at_double_scale() {
    let x = Xvfb::start(SCREEN);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let mut cmd = support::ksn_setup();
    cmd.arg("--dir")
        .arg(&dir)
        .arg("--log")
        .arg(tmp.path().join("setup.log"));
    let errors = tmp.path().join("errors.txt");
    on_display(&mut cmd, &x, &errors);
    let mut program = cmd.spawn().unwrap();
    let shown = wait_for_window(&x, &mut program, "ksn-demo-security-setup", &errors);
    let icon = icon_of(&x, &shown);
    stop(program);
    assert!(icon.starts_with("Icon (48 x 48)"), "{icon}");
    assert!(
        shown.width <= SCREEN.0 && shown.height <= SCREEN.1,
        "the window is larger than the {}×{} screen: {shown:?}",
        SCREEN.0,
        SCREEN.1
    );
    // Still a wizard a person can use: not shrunk to nothing.
    assert!(shown.width >= 900 && shown.height >= 700, "{shown:?}");
    assert!(!dir.exists(), "opening the wizard changes nothing");
}

#[test]
fn the_settings_window_has_a_class_of_its_own_and_fits_the_screen() {
    let x = Xvfb::start(SCREEN);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, &[]));
    // As the product's menu entry starts it: the installed `ksn-settings` launcher.
    let launcher = dir.join("bin/ksn-settings");
    assert!(Path::new(&launcher).exists());
    let mut cmd = Command::new(&launcher);
    cmd.env("LANG", "C.UTF-8");
    let errors = tmp.path().join("errors.txt");
    on_display(&mut cmd, &x, &errors);
    let mut program = cmd.spawn().unwrap();
    let shown = wait_for_window(&x, &mut program, "ksn-demo-security-settings", &errors);
    let icon = icon_of(&x, &shown);
    stop(program);
    assert!(icon.starts_with("Icon (48 x 48)"), "{icon}");
    assert!(
        !shown.class.contains("ksn-demo-security-setup"),
        "{shown:?}"
    );
    assert!(
        shown.width <= SCREEN.0 && shown.height <= SCREEN.1,
        "the window is larger than the {}×{} screen: {shown:?}",
        SCREEN.0,
        SCREEN.1
    );
}
