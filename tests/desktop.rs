//! Menu entries and the icon: where an install puts them for each scope (the XDG base
//! directory spec), that every entry passes `desktop-file-validate`, and that they are part of
//! the install's transaction: listed in the receipt, restored by repair, removed by
//! uninstall, rolled back on an error and gone after a kill and recovery.

mod support;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::*;

const ENTRIES: [&str; 3] = [
    "applications/ksn-demo-security.desktop",
    "applications/ksn-demo-security-settings.desktop",
    "applications/ksn-demo-security-uninstall.desktop",
];
const ICONS: [&str; 2] = [
    "icons/hicolor/48x48/apps/ksn-demo-security.png",
    "icons/hicolor/scalable/apps/ksn-demo-security.svg",
];

/// A temp folder with a user data folder (`home-share`) and a system one (`sys-share`).
struct Machine {
    tmp: tempfile::TempDir,
}

impl Machine {
    fn new() -> Machine {
        let tmp = tempfile::tempdir().unwrap();
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        for d in ["home-share", "sys-share"] {
            fs::create_dir(tmp.path().join(d)).unwrap();
        }
        Machine { tmp }
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }
    fn user_share(&self) -> PathBuf {
        self.path("home-share")
    }
    fn system_share(&self) -> PathBuf {
        self.path("sys-share")
    }
    /// `ksn-setup ARGS` with this machine's XDG folders: the system data folders list
    /// `sys-share` first and not /usr/local/share, so it is where system entries go.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = ksn_setup();
        cmd.args(args)
            .env("XDG_DATA_HOME", self.user_share())
            .env(
                "XDG_DATA_DIRS",
                format!("{}:/usr/share", self.system_share().display()),
            )
            .stdin(std::process::Stdio::null());
        cmd
    }
    fn install(&self, dir: &Path, args: &[&str]) -> Output {
        self.install_command(dir, args).output().unwrap()
    }
    /// An install only for me into `dir`, stopped at the fault point `fault`.
    fn install_with_fault(&self, dir: &Path, fault: &str) -> Output {
        let mut cmd = self.install_command(dir, &["--scope", "user"]);
        cmd.env("KSN_SETUP_FAULT", fault);
        cmd.output().unwrap()
    }
    fn install_command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = self.command(&[
            "install",
            "--unattended",
            "--accept-eula",
            "--accept-privacy-policy",
        ]);
        cmd.arg("--dir").arg(dir).args(args);
        cmd
    }
    /// What is left in the user's data folder.
    fn left_in_user_share(&self) -> Vec<std::ffi::OsString> {
        fs::read_dir(self.user_share())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect()
    }
    fn run_on(&self, args: &[&str], dir: &Path) -> Output {
        let mut cmd = self.command(args);
        cmd.arg("--dir").arg(dir);
        cmd.output().unwrap()
    }
}

fn assert_entries(share: &Path, dir: &Path) {
    for rel in ENTRIES.iter().chain(ICONS.iter()) {
        let path = share.join(rel);
        let meta = fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(meta.is_file(), "{rel}");
        assert_eq!(meta.permissions().mode() & 0o777, 0o644, "{rel}");
    }
    for rel in ENTRIES {
        let path = share.join(rel);
        let out = Command::new("desktop-file-validate")
            .arg(&path)
            .output()
            .expect("desktop-file-validate (desktop-file-utils) runs");
        assert!(
            out.status.success() && out.stdout.is_empty(),
            "desktop-file-validate {rel}:\n{}",
            show(&out)
        );
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("Icon=ksn-demo-security\n"), "{text}");
        // Every program an entry starts is the installed product's own.
        let try_exec = text
            .lines()
            .find_map(|l| l.strip_prefix("TryExec="))
            .unwrap();
        assert!(Path::new(try_exec).starts_with(dir), "{try_exec}");
        assert!(Path::new(try_exec).exists(), "{try_exec}");
    }
}

fn assert_no_entries(share: &Path) {
    for rel in ENTRIES.iter().chain(ICONS.iter()) {
        assert!(
            fs::symlink_metadata(share.join(rel)).is_err(),
            "{rel} is still there"
        );
    }
}

/// The entries' `Exec` line, as the desktop reads it (a key of the first group).
fn exec_of(share: &Path, entry: &str) -> String {
    let text = fs::read_to_string(share.join(entry)).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .unwrap()
        .to_string()
}

#[test]
fn only_for_me_puts_valid_entries_and_the_icon_in_the_users_data_folder() {
    let m = Machine::new();
    // A folder with a space, as a home folder may have: the Exec lines quote it.
    let dir = m.path("My Programs/ksn");
    assert_ok(&m.install(&dir, &["--scope", "user"]));
    assert_entries(&m.user_share(), &dir);
    assert_no_entries(&m.system_share());
    assert_eq!(
        exec_of(
            &m.user_share(),
            "applications/ksn-demo-security-settings.desktop"
        ),
        format!("\"{}/bin/ksn-settings\" --page ksn", dir.display())
    );
    assert_eq!(
        exec_of(
            &m.user_share(),
            "applications/ksn-demo-security-uninstall.desktop"
        ),
        format!(
            "\"{d}/lib/ksn-setup/ksn-setup\" uninstall --dir \"{d}\" --wizard",
            d = dir.display()
        )
    );
    let receipt = read_toml(&dir.join(".ksn-setup/receipt.toml"));
    let menu = receipt["menu"].as_table().unwrap();
    assert_eq!(menu["dir"].as_str(), Some(m.user_share().to_str().unwrap()));
    assert_eq!(menu["file"].as_array().unwrap().len(), 5);
}

#[test]
fn for_all_users_puts_them_in_the_first_system_data_folder_and_uninstall_removes_them() {
    let m = Machine::new();
    let dir = m.path("opt/ksn-demo");
    let out = m.install(&dir, &["--scope", "system"]);
    assert_ok(&out);
    assert_entries(&m.system_share(), &dir);
    assert_no_entries(&m.user_share());
    // The folders below the data folder were made by the install, and go with it.
    assert!(m.system_share().join("icons/hicolor/48x48/apps").is_dir());
    let out = m.run_on(&["uninstall"], &dir);
    assert_ok(&out);
    assert_no_entries(&m.system_share());
    let left: Vec<_> = fs::read_dir(m.system_share())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in the data folder: {left:?}");
}

#[test]
fn uninstall_keeps_other_programs_entries_and_their_folders() {
    let m = Machine::new();
    let other = m.system_share().join("applications/other.desktop");
    fs::create_dir_all(other.parent().unwrap()).unwrap();
    fs::write(
        &other,
        "[Desktop Entry]\nType=Application\nName=Other\nExec=other\n",
    )
    .unwrap();
    let dir = m.path("opt/ksn-demo");
    assert_ok(&m.install(&dir, &["--scope", "system"]));
    assert_ok(&m.run_on(&["uninstall"], &dir));
    assert_no_entries(&m.system_share());
    assert!(other.is_file(), "another program's entry was removed");
}

#[test]
fn repair_restores_a_deleted_entry_and_a_changed_icon() {
    let m = Machine::new();
    let dir = m.path("p");
    assert_ok(&m.install(&dir, &["--scope", "user"]));
    let share = m.user_share();
    let settings = share.join(ENTRIES[1]);
    let good = fs::read(&settings).unwrap();
    let icon = share.join(ICONS[1]);
    let good_icon = fs::read(&icon).unwrap();
    fs::remove_file(&settings).unwrap();
    fs::write(&icon, "<svg/>").unwrap();
    let out = m.run_on(&["repair", "--check"], &dir);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stdout(&out).contains("ksn-demo-security-settings.desktop (missing)"),
        "{}",
        show(&out)
    );
    let out = m.run_on(&["repair"], &dir);
    assert_ok(&out);
    assert_eq!(fs::read(&settings).unwrap(), good);
    assert_eq!(fs::read(&icon).unwrap(), good_icon);
    assert_entries(&share, &dir);
    let out = m.run_on(&["repair", "--check"], &dir);
    assert_ok(&out);
}

#[test]
fn no_menu_entries_adds_none() {
    let m = Machine::new();
    let dir = m.path("p");
    assert_ok(&m.install(&dir, &["--scope", "user", "--no-menu-entries"]));
    assert_no_entries(&m.user_share());
    let receipt = read_toml(&dir.join(".ksn-setup/receipt.toml"));
    assert!(!receipt.contains_key("menu"));
}

#[test]
fn an_error_while_writing_the_entries_rolls_them_back_with_the_install() {
    let m = Machine::new();
    let dir = m.path("p");
    // The fourth menu file: two icons and an entry are written by then.
    let out = m.install_with_fault(&dir, "fail@menu-file#3");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_no_entries(&m.user_share());
    assert!(!dir.exists());
    let left = m.left_in_user_share();
    assert!(left.is_empty(), "left in the data folder: {left:?}");
}

#[test]
fn a_kill_while_writing_the_entries_leaves_none_after_recovery() {
    for nth in 0..5 {
        let m = Machine::new();
        let dir = m.path("p");
        let out = m.install_with_fault(&dir, &format!("kill@menu-file#{nth}"));
        assert_eq!(
            out.status.code(),
            None,
            "kill@menu-file#{nth}: {}",
            show(&out)
        );
        let out = m.run_on(&["recover"], &dir);
        assert_ok(&out);
        assert_no_entries(&m.user_share());
        let left = m.left_in_user_share();
        assert!(left.is_empty(), "kill@menu-file#{nth} left {left:?}");
    }
}

#[test]
fn a_reinstall_over_entries_of_an_earlier_install_puts_them_back_on_rollback() {
    let m = Machine::new();
    let dir = m.path("p");
    assert_ok(&m.install(&dir, &["--scope", "user"]));
    // Another folder's install would take the entries over; it fails, and they come back.
    let before = fs::read(m.user_share().join(ENTRIES[0])).unwrap();
    let second = m.path("q");
    let out = m.install_with_fault(&second, "fail@receipt");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(fs::read(m.user_share().join(ENTRIES[0])).unwrap(), before);
    assert_entries(&m.user_share(), &dir);
}

#[test]
fn a_symlink_planted_at_an_entry_is_refused_before_anything_is_written() {
    let m = Machine::new();
    let apps = m.user_share().join("applications");
    fs::create_dir(&apps).unwrap();
    let victim = m.path("victim");
    fs::write(&victim, "precious").unwrap();
    symlink(&victim, apps.join("ksn-demo-security.desktop")).unwrap();
    let dir = m.path("p");
    let out = m.install(&dir, &["--scope", "user"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("refusing to write a menu entry through it"),
        "{}",
        show(&out)
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!dir.exists());
}

#[test]
fn a_menu_folder_another_user_controls_is_refused() {
    let m = Machine::new();
    let share = m.system_share();
    // nobody owns the folder root would write the entries into.
    std::os::unix::fs::chown(&share, Some(65534), Some(65534)).unwrap();
    assert!(
        rustix_is_root(),
        "this test needs root (CI runs as root) to hand a folder to another user"
    );
    let dir = m.path("opt/ksn-demo");
    let out = m.install(&dir, &["--scope", "system"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains(share.to_str().unwrap()),
        "{}",
        show(&out)
    );
    assert!(!dir.exists());
    assert_no_entries(&share);
}

fn rustix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
