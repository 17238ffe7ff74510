//! The console wizard end to end: the built binary on a pseudo-terminal with no display,
//! answered like a person would, and refused where there is neither a display nor a terminal.

mod support;

use std::ffi::CStr;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{bin, make_payload, read_toml, show, snapshot};

/// How long one session may take before the test gives up and shows what it saw.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The pager's prompt, answered with Enter wherever it shows up.
const MORE: &str = "-- more (Enter) --";

/// `ksn-setup` running with a pseudo-terminal as its stdin, stdout and stderr and as its
/// controlling terminal (so Ctrl-C typed into it is a SIGINT), and no display.
struct Session {
    master: File,
    child: Child,
    /// Everything the terminal showed, with the echo of what was typed.
    seen: Vec<u8>,
    /// Where the next `expect` starts looking.
    cursor: usize,
    deadline: Instant,
    /// The pager's prompt in the session's language.
    more: String,
}

impl Session {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Session {
        let (master, slave) = open_pty(40, 100);
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("KSN_SETUP_FAULT")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", "C.UTF-8")
            .env("TERM", "xterm")
            .env("XDG_DATA_HOME", support::fresh_menu_dir())
            .env("XDG_DATA_DIRS", support::fresh_menu_dir())
            .envs(env.iter().copied())
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: between fork and exec the closure only makes async-signal-safe calls.
        unsafe {
            cmd.pre_exec(|| {
                // A session of its own with the terminal as its controlling terminal, as a
                // login shell would give it.
                if libc::setsid() == -1 || libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start ksn-setup");
        // Dropping the command closes this process's copies of the terminal's slave side,
        // so the master reports the end once the child has gone.
        drop(cmd);
        Session {
            master: File::from(master),
            child,
            seen: Vec::new(),
            cursor: 0,
            deadline: Instant::now() + TIMEOUT,
            more: MORE.to_string(),
        }
    }

    fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Reads what the terminal shows within `wait`; false when nothing more can come.
    fn pump(&mut self, wait: Duration) -> bool {
        let mut poll = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the length of the call.
        let ready = unsafe { libc::poll(&mut poll, 1, wait.as_millis() as libc::c_int) };
        if ready <= 0 {
            return true;
        }
        let mut buf = [0u8; 8192];
        match self.master.read(&mut buf) {
            Ok(0) => false,
            Ok(n) => {
                self.seen.extend_from_slice(&buf[..n]);
                true
            }
            // EIO: every slave side is closed, the child has gone.
            Err(_) => false,
        }
    }

    /// Waits for `pattern` after what was matched before, answering every pager prompt on
    /// the way with Enter.
    fn expect(&mut self, pattern: &str) {
        loop {
            let rest = &self.seen[self.cursor..];
            let more = find(rest, self.more.as_bytes());
            let wanted = find(rest, pattern.as_bytes());
            let more_len = self.more.len();
            match (wanted, more) {
                (Some(w), Some(m)) if m < w => {
                    self.cursor += m + more_len;
                    self.send("\n");
                }
                (Some(w), _) => {
                    self.cursor += w + pattern.len();
                    return;
                }
                (None, Some(m)) => {
                    self.cursor += m + more_len;
                    self.send("\n");
                }
                (None, None) => {}
            }
            let alive = self.pump(Duration::from_millis(50));
            if !alive || Instant::now() > self.deadline {
                let status = self.child.try_wait();
                panic!(
                    "waiting for {pattern:?} (child {status:?}); the terminal showed:\n{}",
                    self.transcript()
                );
            }
        }
    }

    /// Types `text`.
    fn send(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Waits for the exit status, keeping the terminal drained so the child never blocks.
    fn wait(&mut self) -> i32 {
        loop {
            self.pump(Duration::from_millis(20));
            if let Some(status) = self.child.try_wait().unwrap() {
                while self.pump(Duration::from_millis(20)) && self.has_pending() {}
                return status.code().unwrap_or_else(|| {
                    panic!("ended by a signal: {status:?}\n{}", self.transcript())
                });
            }
            if Instant::now() > self.deadline {
                panic!(
                    "ksn-setup did not exit; the terminal showed:\n{}",
                    self.transcript()
                );
            }
        }
    }

    fn has_pending(&self) -> bool {
        let mut poll = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the length of the call.
        unsafe { libc::poll(&mut poll, 1, 0) > 0 && poll.revents & libc::POLLIN != 0 }
    }

    /// Waits until the child has stopped itself (a `pause@` fault point).
    fn wait_stopped(&mut self) {
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
                .unwrap_or_default();
            if stat.rsplit(") ").next().and_then(|s| s.chars().next()) == Some('T') {
                return;
            }
            self.pump(Duration::from_millis(10));
            if Instant::now() > self.deadline {
                panic!(
                    "ksn-setup never paused; the terminal showed:\n{}",
                    self.transcript()
                );
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A new pseudo-terminal of `rows` × `cols`: (master, slave). Both are close-on-exec from
/// the start, so a process another test starts meanwhile does not inherit them.
fn open_pty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    // SAFETY: plain calls on a descriptor this function owns; ptsname_r writes at most
    // `name.len()` bytes.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(fd >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        let master = OwnedFd::from_raw_fd(fd);
        assert_eq!(libc::grantpt(fd), 0, "grantpt");
        assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
        let path = CStr::from_ptr(name.as_ptr()).to_str().unwrap().to_string();
        let slave = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&path)
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        assert_eq!(libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &size), 0);
        (master, OwnedFd::from(slave))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Runs the wizard into `<tmp>/p`, answering the KSN question with `ksn`; returns the folder's
/// `[ksn]` table.
fn install_answering(ksn: &str) -> toml::Table {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let dir_arg = dir.to_str().unwrap();
    let mut s = Session::start(&["install", "--dir", dir_arg], &[]);
    s.expect("using the console wizard");
    s.expect("Enter keeps English):");
    s.send("\n");
    s.expect("I accept the terms of the End User License Agreement [y/N]:");
    s.send("y\n");
    s.expect("I accept the Privacy Policy [y/N]:");
    s.send("y\n");
    s.expect("I agree to participate in Kaspersky Security Network [y/N]:");
    s.send(ksn);
    s.expect(&format!("Install folder [{dir_arg}]:"));
    s.send("\n");
    s.expect("Install now? [Y/n]:");
    s.send("\n");
    let code = s.wait();
    assert_eq!(code, 0, "the terminal showed:\n{}", s.transcript());
    let seen = s.transcript();
    assert!(seen.contains("Setup is complete"), "{seen}");
    assert!(
        seen.contains(MORE),
        "a 40-row terminal pages the texts:\n{seen}"
    );
    read_toml(&dir.join("etc/product.toml"))["ksn"]
        .as_table()
        .unwrap()
        .clone()
}

#[test]
fn agreeing_on_the_terminal_records_the_users_agreement() {
    let ksn = install_answering("y\n");
    assert_eq!(ksn["decision"].as_str(), Some("agreed"));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    assert_eq!(ksn["method"].as_str(), Some("console-wizard"));
    // The pager showed every screenful of the Statement before the question.
    assert_eq!(ksn["statement_read_to_end"].as_bool(), Some(true));
    assert_eq!(ksn["participate"].as_bool(), Some(true));
}

#[test]
fn enter_at_the_ksn_question_declines() {
    let ksn = install_answering("\n");
    assert_eq!(ksn["decision"].as_str(), Some("declined"));
    assert_eq!(ksn["statement_read_to_end"].as_bool(), Some(true));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    assert_eq!(ksn["participate"].as_bool(), Some(false));
}

#[test]
fn ctrl_c_at_a_prompt_cancels_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let mut s = Session::start(&["install", "--dir", dir.to_str().unwrap()], &[]);
    s.expect("Enter keeps English):");
    s.send("\n");
    s.expect("End User License Agreement [y/N]:");
    s.send("\x03");
    assert_eq!(s.wait(), 3, "{}", s.transcript());
    assert!(s.transcript().contains("cancelled"), "{}", s.transcript());
    assert!(!dir.exists());
}

#[test]
fn ctrl_c_during_the_install_rolls_back() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("payload");
    make_payload(&payload, 20, 1);
    let dir = tmp.path().join("p");
    let mut s = Session::start(
        &[
            "install",
            "--dir",
            dir.to_str().unwrap(),
            "--payload",
            payload.to_str().unwrap(),
        ],
        &[("KSN_SETUP_FAULT", "pause@stage-file#3")],
    );
    for (prompt, answer) in [
        ("Enter keeps English):", "\n"),
        ("End User License Agreement [y/N]:", "y\n"),
        ("I accept the Privacy Policy [y/N]:", "y\n"),
        ("Kaspersky Security Network [y/N]:", "y\n"),
        ("Install folder [", "\n"),
        ("Install now? [Y/n]:", "y\n"),
    ] {
        s.expect(prompt);
        s.send(answer);
    }
    s.wait_stopped();
    // Config and consent line are on disk, in the tree being built beside the install folder
    // (which does not exist until that tree moves into place): there is something to roll
    // back.
    let beside = tmp.path().join(".p.ksn-setup-new");
    assert!(beside.join("etc/product.toml").exists());
    assert!(!dir.exists());
    // Ctrl-C typed while it is stopped acts as soon as it goes on.
    s.send("\x03");
    std::thread::sleep(Duration::from_millis(50));
    // SAFETY: kill has no memory preconditions.
    unsafe {
        libc::kill(s.child.id() as libc::pid_t, libc::SIGCONT);
    }
    assert_eq!(s.wait(), 3, "{}", s.transcript());
    let seen = s.transcript();
    assert!(seen.contains("rolled back"), "{seen}");
    assert!(!dir.exists(), "{:?}\n{seen}", snapshot(&dir));
    assert!(!beside.exists(), "{:?}\n{seen}", snapshot(&beside));
}

#[test]
fn without_a_display_or_a_terminal_the_wizard_refuses_and_names_unattended() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let out = Command::new(bin())
        .args(["install", "--dir"])
        .arg(&dir)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("KSN_SETUP_FAULT")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--unattended"), "{}", show(&out));
    assert!(!dir.exists(), "{}", show(&out));
}

#[test]
fn on_an_installed_product_the_console_wizard_offers_maintenance() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let dir_arg = dir.to_str().unwrap();
    support::assert_ok(&support::install(&dir, &[]));

    // Modify: the current state, the KSN question, then the change, recorded as the user's.
    let mut s = Session::start(&["--dir", dir_arg], &[]);
    s.expect("is installed in");
    s.expect("Choose 1, 2 or 3:");
    s.send("1\n");
    s.expect("Currently: you do not take part (nobody has decided yet).");
    s.expect("I agree to participate in Kaspersky Security Network [y/N]:");
    s.send("y\n");
    assert_eq!(s.wait(), 0, "{}", s.transcript());
    assert!(
        s.transcript().contains("now takes part"),
        "{}",
        s.transcript()
    );
    let ksn = read_toml(&dir.join("etc/product.toml"))["ksn"].clone();
    assert_eq!(ksn["decision"].as_str(), Some("agreed"));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));

    // Uninstall, not keeping the records: the folder goes.
    let mut s = Session::start(&["--dir", dir_arg], &[]);
    s.expect("Choose 1, 2 or 3:");
    s.send("3\n");
    s.expect("Keep your settings and the record of your KSN choices? [Y/n]:");
    s.send("n\n");
    // Nothing is removed before the question that says what will be.
    s.expect("Ready to remove");
    s.expect(
        "Your settings and the record of your Kaspersky Security Network choices are removed too.",
    );
    s.expect("Remove KSN Demo Security now? [y/N]:");
    assert!(dir.join("etc/product.toml").exists());
    s.send("y\n");
    assert_eq!(s.wait(), 0, "{}", s.transcript());
    assert!(s.transcript().contains("was removed"), "{}", s.transcript());
    assert!(!dir.exists());
}

#[test]
fn the_default_log_is_in_roots_own_folder_never_in_the_shared_temp_folder() {
    // SAFETY: geteuid has no preconditions.
    assert!(
        unsafe { libc::geteuid() } == 0,
        "this test checks where root's wizard logs: run the tests as root (CI does)"
    );
    let tmp = tempfile::tempdir().unwrap();
    // Another user planted the name the wizard used to log to in the shared temp folder.
    let shared = tmp.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, "root's file\n").unwrap();
    std::os::unix::fs::symlink(&victim, shared.join("ksn-setup.log")).unwrap();
    let dir = tmp.path().join("p");
    let dir_arg = dir.to_str().unwrap();
    let mut s = Session::start(
        &["install", "--dir", dir_arg],
        &[("TMPDIR", shared.to_str().unwrap())],
    );
    for (prompt, answer) in [
        ("Enter keeps English):", "\n"),
        ("End User License Agreement [y/N]:", "y\n"),
        ("I accept the Privacy Policy [y/N]:", "y\n"),
        ("Kaspersky Security Network [y/N]:", "\n"),
        ("Install folder [", "\n"),
        ("Install now? [Y/n]:", "\n"),
    ] {
        s.expect(prompt);
        s.send(answer);
    }
    assert_eq!(s.wait(), 0, "{}", s.transcript());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root's file\n");
    let log = std::path::Path::new("/var/log/ksn-setup/setup.log");
    assert!(
        s.transcript()
            .contains("The setup log is in /var/log/ksn-setup/setup.log"),
        "the Finish page says where: {}",
        s.transcript()
    );
    let mode = |p: &std::path::Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(log), 0o600);
    assert_eq!(mode(log.parent().unwrap()), 0o700);
    assert!(std::fs::read_to_string(log).unwrap().contains(dir_arg));
}

/// The whole install in `code`'s language on a terminal, answered with its own yes: every
/// prompt, heading, menu and progress line in that language.
fn install_speaking(code: &str, native: &str) {
    let words = support::language::catalogue(code);
    let tr = |msgid: &str| {
        words
            .get(msgid)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| panic!("{code}: {msgid:?} is not translated"))
            .clone()
    };
    let yes = tr("y|yes").split('|').next().unwrap().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let dir_arg = dir.to_str().unwrap();
    let mut s = Session::start(&["install", "--dir", dir_arg, "--lang", code], &[]);
    s.more = format!("-- {} --", tr("more (Enter)"));
    s.expect(&format!("] {native}"));
    s.expect("):");
    s.send("\n");
    s.expect(&tr("I accept the terms of the End User License Agreement"));
    s.expect(&tr("[y/N]"));
    s.send(&format!("{yes}\n"));
    s.expect(&tr("I accept the Privacy Policy"));
    s.expect(&tr("[y/N]"));
    s.send(&format!("{yes}\n"));
    s.expect(&tr("I agree to participate in Kaspersky Security Network"));
    s.expect(&tr("[y/N]"));
    s.send(&format!("{yes}\n"));
    s.expect(&format!("{} [{dir_arg}]:", tr("Install folder")));
    s.send("\n");
    s.expect(&tr("Install now?"));
    s.send("\n");
    assert_eq!(s.wait(), 0, "the terminal showed:\n{}", s.transcript());
    let seen = s.transcript();
    assert!(seen.contains(&tr("Setup is complete")), "{seen}");
    assert!(
        seen.contains(&s.more),
        "a 40-row terminal pages the texts:\n{seen}"
    );
    let english = support::language::english_on(&seen, dir_arg);
    assert!(
        english.is_empty(),
        "English on the {code} terminal:\n{}\n\nthe terminal showed:\n{seen}",
        english.join("\n")
    );
    let ksn = read_toml(&dir.join("etc/product.toml"))["ksn"].clone();
    assert_eq!(ksn["decision"].as_str(), Some("agreed"));
    assert_eq!(ksn["method"].as_str(), Some("console-wizard"));
    assert_eq!(ksn["statement_language"].as_str(), Some(code));
    assert_eq!(ksn["interface_language"].as_str(), Some(code));
}

#[test]
fn the_console_wizard_speaks_each_language_throughout() {
    // Russian and German today; every catalogue added later too.
    let languages: Vec<_> = ksn_setup::consent::statements::Language::ALL
        .into_iter()
        .filter(|l| l.code() != "en")
        .collect();
    assert!(languages.len() >= 2, "{languages:?}");
    for language in languages {
        install_speaking(language.code(), language.native_name());
    }
}

#[test]
fn the_english_detector_sees_an_untranslated_sentence() {
    // The checks above must be able to fail: an English sentence among Russian ones is found.
    use support::language::english_on;
    let shown = "Установка завершена.\nPlease wait while Setup installs it.\n/opt/x";
    assert_eq!(english_on(shown, "/opt/x").len(), 1);
    assert!(english_on("Установка завершена.\nKSN Demo Security", "/opt/x").is_empty());
}

#[test]
fn ksn_agree_typed_on_a_terminal_is_recorded_as_the_terminal_in_its_language() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let dir_arg = dir.to_str().unwrap();
    support::assert_ok(&support::install(&dir, &["--ksn", "decline"]));
    let ru = support::language::catalogue("ru");
    // The Statement, then the question in Russian; the Russian yes agrees.
    let mut s = Session::start(
        &["ksn", "agree", "--dir", dir_arg],
        &[("LANG", "ru_RU.UTF-8")],
    );
    s.expect("ПОЛОЖЕНИЕ О KASPERSKY SECURITY NETWORK");
    let question = ru["Type \"{}\" to agree to participate in Kaspersky Security Network:"]
        .replace("{}", &ru["yes"]);
    s.expect(&question);
    s.send(&format!("{}\n", ru["yes"]));
    assert_eq!(s.wait(), 0, "{}", s.transcript());
    let english = support::language::english_on(&s.transcript(), dir_arg);
    assert!(english.is_empty(), "{english:?}\n{}", s.transcript());
    let ksn = read_toml(&dir.join("etc/product.toml"))["ksn"].clone();
    assert_eq!(ksn["decision"].as_str(), Some("agreed"));
    assert_eq!(ksn["method"].as_str(), Some("terminal"));
    assert_eq!(ksn["interface_language"].as_str(), Some("ru"));
    assert_eq!(ksn["statement_language"].as_str(), Some("ru"));

    // Declining typed on a terminal is the terminal's too; anything but yes agrees to nothing.
    let mut s = Session::start(&["ksn", "decline", "--dir", dir_arg], &[]);
    assert_eq!(s.wait(), 0, "{}", s.transcript());
    let ksn = read_toml(&dir.join("etc/product.toml"))["ksn"].clone();
    assert_eq!(ksn["decision"].as_str(), Some("declined"));
    assert_eq!(ksn["method"].as_str(), Some("terminal"));
    let mut s = Session::start(&["ksn", "agree", "--dir", dir_arg], &[]);
    s.expect("to agree to participate in Kaspersky Security Network:");
    s.send("sure\n");
    assert_eq!(s.wait(), 3, "{}", s.transcript());
    let ksn = read_toml(&dir.join("etc/product.toml"))["ksn"].clone();
    assert_eq!(ksn["decision"].as_str(), Some("declined"));
}
