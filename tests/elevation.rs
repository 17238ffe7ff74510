//! "For all users" from a normal user's window: only the install runs as root, through
//! pkexec, and streams its progress back as JSON lines.
//!
//! The window here is the real one on Slint's headless backend, shown as a normal user's
//! (the wizard's `with_admin(false)`); `pkexec` is a stand-in on `PATH` that answers as the
//! real one does when the user dismisses the password dialog (126), when polkit refuses
//! (127), and when it grants (runs the program, as root: the tests run as root). The real
//! polkit, with a system bus and polkitd, is in `tests/polkit.rs`.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use i_slint_backend_testing::ElementHandle;
use ksn_setup::bundle::contents::Bundle;
use ksn_setup::consent::answers::{Answers, Overrides, Scope};
use ksn_setup::consent::statements::Language;
use ksn_setup::gui::setup_window::{self, GuiOptions};
use ksn_setup::gui::{Ending, PageId, SetupWindow, WizardAdapter};
use ksn_setup::wizard::machine::{MenuDirs, Wizard};
use slint::ComponentHandle;
use slint::platform::Key;

struct Window {
    window: SetupWindow,
    _controller: std::rc::Rc<setup_window::Controller>,
}

impl Window {
    /// A normal user's wizard installing for all users into `dir`, entries in `menu`.
    fn open(dir: &Path, menu: &Path, payload: Option<&Path>, log: &Path) -> Window {
        support::headless::init();
        let answers = Answers::merge(
            None,
            &Overrides {
                language: Some(Language::En),
                scope: Some(Scope::System),
                ..Default::default()
            },
        );
        let wizard = Wizard::new(&answers, dir.to_path_buf())
            .with_admin(false)
            .with_menu_dirs(MenuDirs {
                user: None,
                system: Some(menu.to_path_buf()),
            });
        let options = GuiOptions {
            log: log.to_path_buf(),
            source: ksn_setup::engine::elevation::Source {
                payload: payload.map(Path::to_path_buf),
                ..Default::default()
            },
            elevated_program: Some(PathBuf::from(support::bin())),
            ..Default::default()
        };
        let (window, controller) =
            setup_window::build(Bundle::open(payload, None).unwrap(), wizard, options).unwrap();
        window.show().unwrap();
        Window {
            window,
            _controller: controller,
        }
    }

    fn key(&self, key: impl Into<slint::SharedString>) {
        support::headless::press(self.window.window(), key);
    }

    fn page(&self) -> PageId {
        self.window.global::<WizardAdapter>().get_page()
    }

    /// Licenses accepted, the KSN box ticked, on to the Ready page.
    fn to_ready(&self) {
        self.key(Key::Return);
        for _ in 0..2 {
            self.key(" ");
            self.key(Key::Return);
        }
        assert_eq!(self.page(), PageId::Ksn);
        self.key(" ");
        self.key(Key::Return);
        assert_eq!(self.page(), PageId::Location);
        assert!(self.window.global::<WizardAdapter>().get_needs_admin());
        self.key(Key::Return);
        assert_eq!(self.page(), PageId::Ready);
    }

    /// Lets timers run until `done` or 60 s.
    fn pump_until(&self, what: &str, done: impl Fn(&Window) -> bool) {
        support::headless::pump_until(what, || done(self));
    }

    fn summary(&self) -> String {
        support::headless::texts(&self.window)
    }

    fn click(&self, label: &str) {
        ElementHandle::find_by_accessible_label(&self.window, label)
            .next()
            .unwrap_or_else(|| panic!("no {label:?}"))
            .invoke_accessible_default_action();
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(20));
    }
}

/// Puts a stand-in `pkexec` running `script` first on `PATH`.
fn stand_in_pkexec(bin_dir: &Path, script: &str) {
    let path = bin_dir.join("pkexec");
    fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn empty_or_absent(dir: &Path) -> bool {
    fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

/// The tests change `PATH` for this process: one at a time.
static PATH_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One test, its cases in turn.
#[test]
fn for_all_users_runs_only_the_install_as_root_and_a_refusal_returns_to_the_location_page() {
    let _path = PATH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let bin_dir = tmp.path().join("bin");
    fs::create_dir(&bin_dir).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    // SAFETY: under PATH_LOCK, before this test starts a thread that reads the environment;
    // the Slint backend reads no PATH.
    unsafe { std::env::set_var("PATH", format!("{}:{path}", bin_dir.display())) };
    let menu = tmp.path().join("sys-share");
    fs::create_dir(&menu).unwrap();
    let log = tmp.path().join("setup.log");

    // Dismissed (126) and refused (127): back on Location, saying so; nothing written.
    for (code, script, says) in [
        (
            126,
            "exit 126",
            "the administrator's password was not given",
        ),
        (
            127,
            "echo 'Error executing command as another user: Not authorized' >&2; exit 127",
            "Not authorized",
        ),
    ] {
        let dir = tmp.path().join(format!("opt-{code}/ksn-demo"));
        stand_in_pkexec(&bin_dir, script);
        let w = Window::open(&dir, &menu, None, &log);
        w.to_ready();
        w.key(Key::Return);
        w.pump_until("the refusal", |w| w.page() == PageId::Location);
        let message = w
            .window
            .global::<WizardAdapter>()
            .get_elevation_message()
            .to_string();
        assert!(message.contains(says), "pkexec exit {code}: {message}");
        assert!(
            w.summary()
                .contains("Setup could not get administrator rights"),
            "{}",
            w.summary()
        );
        assert!(!dir.exists(), "pkexec exit {code} left {}", dir.display());
        assert!(empty_or_absent(&menu));
        // The user can go on: For me, or try again.
        assert!(w.window.global::<WizardAdapter>().get_can_next());
    }

    // Granted: the stand-in runs the program as root (this test is root), the JSON lines
    // bring the progress to the window, and the KSN choice made there stays the user's.
    stand_in_pkexec(&bin_dir, "exec \"$@\"");
    let dir = tmp.path().join("opt/ksn-demo");
    let w = Window::open(&dir, &menu, None, &log);
    w.to_ready();
    w.key(Key::Return);
    w.pump_until("the install", |w| w.page() == PageId::Finish);
    let ui = w.window.global::<WizardAdapter>();
    assert_eq!(ui.get_ending(), Ending::Installed, "{}", w.summary());
    let config = support::read_toml(&dir.join("etc/product.toml"));
    let ksn = config["ksn"].as_table().unwrap();
    assert_eq!(ksn["participate"].as_bool(), Some(true));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    assert!(
        menu.join("applications/ksn-demo-security.desktop")
            .is_file()
    );
    let logged = fs::read_to_string(&log).unwrap();
    assert!(logged.contains("plan (as administrator)"), "{logged}");
    assert!(logged.contains("committed"), "{logged}");

    // Cancel while it runs: the question holds the run as root, Yes cancels it, and it
    // rolls back there.
    let payload = slow_payload();
    let dir = tmp.path().join("opt-cancel/ksn-demo");
    let w = Window::open(&dir, &menu, Some(payload.path()), &log);
    w.to_ready();
    w.key(Key::Return);
    w.pump_until("the copy to start", |w| {
        w.window.global::<WizardAdapter>().get_progress_started()
    });
    w.key(Key::Escape);
    assert!(w.window.global::<WizardAdapter>().get_confirming_cancel());
    w.click("Yes");
    w.pump_until("the rollback", |w| w.page() == PageId::Finish);
    assert_eq!(
        w.window.global::<WizardAdapter>().get_ending(),
        Ending::Cancelled,
        "{}",
        w.summary()
    );
    assert!(
        !dir.exists(),
        "the cancelled install left {}",
        dir.display()
    );
}

/// The product installed for all users (root's, as the tests run as root), and a normal
/// user's window on it uninstalling from the menu's entry: the task runs as root.
#[test]
fn a_normal_users_uninstall_of_a_machine_wide_install_runs_as_root() {
    let _path = PATH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let menu = tmp.path().join("sys-share");
    fs::create_dir(&menu).unwrap();
    let dir = tmp.path().join("opt/ksn-demo");
    let out = support::ksn_setup()
        .args([
            "install",
            "--unattended",
            "--accept-eula",
            "--accept-privacy-policy",
            "--scope",
            "system",
            "--dir",
        ])
        .arg(&dir)
        .env("XDG_DATA_DIRS", &menu)
        .output()
        .unwrap();
    support::assert_ok(&out);
    assert!(
        menu.join("applications/ksn-demo-security.desktop")
            .is_file()
    );

    // The stand-in pkexec records that it was asked, then runs the program (as root).
    let bin_dir = tmp.path().join("bin");
    fs::create_dir(&bin_dir).unwrap();
    let asked = tmp.path().join("asked");
    let program = PathBuf::from(support::bin());
    let stand_in = format!(
        "#!/bin/sh\necho \"$@\" > '{}'\nexec \"$@\"\n",
        asked.display()
    );
    fs::write(bin_dir.join("pkexec"), stand_in).unwrap();
    fs::set_permissions(bin_dir.join("pkexec"), fs::Permissions::from_mode(0o755)).unwrap();

    support::headless::init();
    let answers = Answers::merge(
        None,
        &Overrides {
            language: Some(Language::En),
            ..Default::default()
        },
    );
    let mut wizard = Wizard::for_installed(
        &answers,
        dir.clone(),
        "1.0.0".into(),
        None,
        ksn_setup::wizard::machine::KsnNow::from_status(
            &ksn_setup::maintenance::installed::InstalledProduct::open(&dir)
                .unwrap()
                .ksn_status(Language::En),
        ),
    )
    .with_admin(false);
    wizard.set_maintenance_choice(ksn_setup::wizard::machine::MaintenanceChoice::Uninstall);
    assert!(wizard.maintenance_needs_elevation());
    let options = GuiOptions {
        log: tmp.path().join("setup.log"),
        elevated_program: Some(program.clone()),
        ..Default::default()
    };
    let (window, controller) =
        setup_window::build(Bundle::open(None, None).unwrap(), wizard, options).unwrap();
    window.show().unwrap();
    let w = Window {
        window,
        _controller: controller,
    };
    // The PATH with the stand-in, only for this window's run.
    let path = std::env::var("PATH").unwrap_or_default();
    // SAFETY: under PATH_LOCK, before the run's threads start.
    unsafe { std::env::set_var("PATH", format!("{}:{path}", bin_dir.display())) };
    w.key(Key::Return);
    w.key(Key::Return);
    w.pump_until("the uninstall", |w| w.page() == PageId::Finish);
    assert!(
        fs::read_to_string(&asked)
            .unwrap()
            .contains(&format!("{} elevated", program.display())),
        "pkexec was not asked"
    );
    assert!(!dir.join("bin/ksn-demo").exists(), "{}", w.summary());
    assert!(!menu.join("applications/ksn-demo-security.desktop").exists());
}

/// A payload that takes a while to install: 80 files of 600 KB.
fn slow_payload() -> tempfile::TempDir {
    let payload = tempfile::tempdir().unwrap();
    fs::set_permissions(payload.path(), fs::Permissions::from_mode(0o755)).unwrap();
    for i in 0..80u32 {
        let bytes: Vec<u8> = (0..600_000u32)
            .map(|b| (b.wrapping_mul(2_654_435_761) >> (i % 7)) as u8)
            .collect();
        fs::write(payload.path().join(format!("data-{i}.bin")), bytes).unwrap();
    }
    payload
}
