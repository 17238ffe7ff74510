//! "For all users" from a normal user's window with the real polkit: a system D-Bus and
//! polkitd (started here when the machine has none running), a rules file granting a test
//! user `org.freedesktop.policykit.exec` without a password, and the real setuid `pkexec`.
//! The windows are the real ones on a real X server (Xvfb), driven with keys by `xdotool`,
//! run as that user: the setup window installs for all users, then the menu's Settings entry
//! turns KSN off and its Uninstall entry removes the product; only the work runs as root.
//!
//! Needs root (to add the user and the rule; CI runs as root) and the packages pkexec,
//! polkitd, dbus-daemon, xvfb and xdotool (`.ci/run` installs them). Without them the test
//! fails, naming what is missing.

mod support;

use support::xvfb::Xvfb;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const USER: &str = "ksn-setup-polkit";
const RULES: &str = "/etc/polkit-1/rules.d/49-ksn-setup-test.rules";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn run(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"))
}

fn ids(user: &str) -> (u32, u32) {
    let id = |flag| {
        let out = run("id", &[flag, user]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

/// A system bus and polkitd, as a desktop machine has them; started when not running.
///
/// A bus is running when its socket answers, not when the socket file exists: a bus killed
/// with the session before (as every session's processes are) leaves its socket and pid
/// file behind, and a polkitd still alive is tied to that dead bus.
fn polkit_up() {
    const SOCKET: &str = "/run/dbus/system_bus_socket";
    if std::os::unix::net::UnixStream::connect(SOCKET).is_err() {
        fs::create_dir_all("/run/dbus").unwrap();
        // dbus-daemon refuses to start over either leftover.
        let _ = fs::remove_file(SOCKET);
        let _ = fs::remove_file("/run/dbus/pid");
        let out = run("dbus-daemon", &["--system", "--fork"]);
        assert!(
            out.status.success(),
            "dbus-daemon --system: {}",
            support::show(&out)
        );
        // A polkitd of the old bus serves nobody; the new bus needs its own.
        let _ = run("pkill", &["-x", "polkitd"]);
        wait_for("the old polkitd to end", Duration::from_secs(10), || {
            !run("pgrep", &["-x", "polkitd"]).status.success()
        });
    }
    let running = run("pgrep", &["-x", "polkitd"]).status.success();
    if !running {
        let polkitd = ["/usr/lib/polkit-1/polkitd", "/usr/libexec/polkitd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("polkitd is installed (apt-get install polkitd)");
        // It stays, as the machine's polkit daemon: never waited for.
        #[allow(clippy::zombie_processes)]
        Command::new(polkitd)
            .arg("--no-debug")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("polkitd starts");
    }
}

trait Keyboard {
    fn xdotool(&self, args: &[&str]) -> std::process::Output;
    fn key(&self, key: &str);
    fn focus(&self, name: &str, program: &mut UserProgram);
}

/// A program started as the test user, its error output kept in a file so that a window
/// that never shows can say why.
struct UserProgram {
    child: std::process::Child,
    errors: std::path::PathBuf,
}

impl UserProgram {
    fn errors(&self) -> String {
        fs::read_to_string(&self.errors).unwrap_or_default()
    }

    /// Panics with the program's errors when it has ended.
    fn still_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the program ended ({status}): {}", self.errors());
        }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Keyboard for Xvfb {
    fn xdotool(&self, args: &[&str]) -> std::process::Output {
        Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .expect("xdotool runs (apt-get install xdotool)")
    }

    /// Presses `key` in the window that has the focus, then lets the window act on it.
    fn key(&self, key: &str) {
        self.xdotool(&["key", key]);
        sleep(Duration::from_millis(700));
    }

    /// Waits for a window whose title holds `name` and gives it the keyboard's focus (there
    /// is no window manager to do it).
    fn focus(&self, name: &str, program: &mut UserProgram) {
        let ids = || {
            String::from_utf8_lossy(&self.xdotool(&["search", "--name", name]).stdout)
                .lines()
                .last()
                .map(|id| id.trim().to_string())
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while ids().is_none() {
            program.still_running();
            assert!(
                Instant::now() < deadline,
                "timed out waiting for the window {name}; the program said: {}",
                program.errors()
            );
            sleep(Duration::from_millis(100));
        }
        sleep(Duration::from_secs(1));
        let id = ids().unwrap();
        self.xdotool(&["mousemove", "400", "300", "click", "1"]);
        self.xdotool(&["windowfocus", "--sync", &id]);
        sleep(Duration::from_millis(500));
    }
}

fn wait_for(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_normal_user_installs_for_all_users_turns_ksn_off_and_uninstalls_from_the_menu_through_the_real_polkit()
 {
    assert!(
        is_root(),
        "this test needs root (CI runs as root) to add a user and a polkit rule"
    );
    if !run("id", &[USER]).status.success() {
        let out = run("useradd", &["-m", "-s", "/bin/sh", USER]);
        assert!(out.status.success(), "useradd: {}", support::show(&out));
    }
    let (uid, gid) = ids(USER);
    fs::create_dir_all("/etc/polkit-1/rules.d").unwrap();
    fs::write(
        RULES,
        format!(
            "polkit.addRule(function(action, subject) {{\n    if (action.id == \"org.freedesktop.policykit.exec\" && subject.user == \"{USER}\") {{\n        return polkit.Result.YES;\n    }}\n}});\n"
        ),
    )
    .unwrap();
    polkit_up();
    // polkitd reads the new rule on its own; pkexec works for the user once it has.
    wait_for(
        "polkit to grant the test user",
        Duration::from_secs(20),
        || {
            Command::new("pkexec")
                .arg("/bin/true")
                .uid(uid)
                .gid(gid)
                .stdin(Stdio::null())
                .output()
                .is_ok_and(|o| o.status.success())
        },
    );

    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    // The program where the user may run it, and a system menu folder of the test's own.
    let program = tmp.path().join("ksn-setup");
    fs::copy(support::bin(), &program).unwrap();
    let menu = tmp.path().join("sys-share");
    fs::create_dir(&menu).unwrap();
    let home = tmp.path().join("home");
    fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
    let dir = tmp.path().join("opt/ksn-demo");

    let x = Xvfb::start((1280, 1024));
    // A program run as that user, with nothing of this test's environment but its display
    // and the test's system menu folder.
    let started = std::cell::Cell::new(0);
    let as_user = |program: &Path, args: &[&str]| {
        started.set(started.get() + 1);
        let errors = tmp.path().join(format!("errors-{}.txt", started.get()));
        let child = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home)
            .env("LANG", "C.UTF-8")
            .env("DISPLAY", &x.display)
            .env("XDG_DATA_DIRS", &menu)
            .uid(uid)
            .gid(gid)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&errors).unwrap())
            .spawn()
            .unwrap();
        UserProgram { child, errors }
    };
    // The user's programs connect once the user's own client can: a window started the
    // moment the server answered root once failed with "No backends configured".
    wait_for(
        "the X server to answer the test user",
        Duration::from_secs(20),
        || {
            Command::new("xwininfo")
                .args(["-root", "-display", &x.display])
                .env_clear()
                .uid(uid)
                .gid(gid)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        },
    );
    let mut window = as_user(
        &program,
        &[
            "install",
            "--scope",
            "system",
            "--dir",
            dir.to_str().unwrap(),
        ],
    );
    x.focus("KSN Demo Security", &mut window);
    // Welcome, both licenses ticked, the KSN box ticked, Location (for all users, from
    // --scope), Ready, Install: pkexec asks polkit, which grants.
    for key in [
        "Return", "space", "Return", "space", "Return", "space", "Return", "Return", "Return",
    ] {
        x.key(key);
    }
    let config = dir.join("etc/product.toml");
    wait_for("the install as root", Duration::from_secs(60), || {
        dir.join(".ksn-setup/receipt.toml").exists()
    });
    let meta = fs::metadata(&config).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(meta.uid(), 0, "the product is root's");
    let ksn = support::read_toml(&config)["ksn"]
        .as_table()
        .unwrap()
        .clone();
    assert_eq!(ksn["participate"].as_bool(), Some(true));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    let entry = menu.join("applications/ksn-demo-security-settings.desktop");
    assert!(entry.is_file());
    let out = run("desktop-file-validate", &[entry.to_str().unwrap()]);
    assert!(out.status.success(), "{}", support::show(&out));
    // Finish closes the window, which ends well.
    sleep(Duration::from_secs(1));
    x.key("Return");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = window.child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = window.child.kill();
            panic!("the window did not close on Finish: {}", window.errors());
        }
        sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(0), "{}", window.errors());

    // From the menu, as that user: Settings turns KSN off (Space on the focused switch),
    // then Uninstall removes the product (Next, Uninstall on "Ready to remove", Finish).
    let run_entry = |entry: &Path| {
        let words = shell_words(&exec_of(entry));
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        as_user(Path::new(&words[0]), &args)
    };
    let mut settings = run_entry(&entry);
    x.focus("Settings", &mut settings);
    x.key("space");
    wait_for("KSN off, as root", Duration::from_secs(30), || {
        support::read_toml(&config)["ksn"]["participate"].as_bool() == Some(false)
    });
    let ksn = support::read_toml(&config)["ksn"]
        .as_table()
        .unwrap()
        .clone();
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    x.key("Escape");
    settings.stop();
    let uninstall_entry = menu.join("applications/ksn-demo-security-uninstall.desktop");
    let mut uninstall = run_entry(&uninstall_entry);
    x.focus("Setup", &mut uninstall);
    x.key("Return");
    x.key("Return");
    wait_for("the uninstall, as root", Duration::from_secs(60), || {
        !dir.join("bin/ksn-demo").exists()
    });
    wait_for("the menu entries to go", Duration::from_secs(10), || {
        !entry.exists() && !uninstall_entry.exists()
    });
    x.key("Return");
    uninstall.stop();
    let _ = fs::remove_file(RULES);
}

/// The `Exec` line of a desktop entry.
fn exec_of(entry: &Path) -> String {
    fs::read_to_string(entry)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .unwrap()
        .to_string()
}

/// An `Exec` line split as the Desktop Entry spec says (double quotes, backslash escapes).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            '\\' if quoted => word.extend(chars.next()),
            ' ' if !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}
