//! Installs are transactions: an injected failure at any step, or a cancel, puts the folder
//! back exactly as it was; and the config with its consent record is on disk before the
//! first payload file appears. Needs the `fault-injection` feature.
#![cfg(feature = "fault-injection")]

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// Every fault point an install passes, with the occurrences worth hitting.
const POINTS: &[&str] = &[
    "begin",
    "mkdir",
    "mkdir#1",
    "mkdir#4",
    "config-temp",
    "config",
    "consent-log",
    "stage-file",
    "stage-file#7",
    "staged",
    "install-file",
    "install-file#6",
    "remove-obsolete",
    "receipt-temp",
    "receipt",
    "move-into-place",
    "moved-into-place",
    "before-commit",
];

#[test]
fn injected_failure_at_every_step_rolls_back_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let (v1, v2) = (tmp.path().join("v1"), tmp.path().join("v2"));
    make_payload(&v1, 14, 1);
    make_payload(&v2, 14, 2);
    // New nested folders, so every `mkdir` point is reached in a reinstall too.
    fs::create_dir_all(v2.join("new/a/b/c")).unwrap();
    fs::write(v2.join("new/a/b/c/deep.txt"), "deep\n").unwrap();

    // A reinstall over an earlier install, where a fault must bring back the old files,
    // the old config and the old consent log byte for byte.
    let earlier = tmp.path().join("earlier");
    assert_ok(&install(
        &earlier,
        &["--payload", v1.to_str().unwrap(), "--ksn", "agree"],
    ));
    let before = snapshot(&earlier);

    for point in POINTS {
        let fault = format!("fail@{point}");
        let fresh = tmp
            .path()
            .join(format!("fresh-{}", point.replace('#', "-")));
        let out = install_with(
            &fresh,
            &["--payload", v2.to_str().unwrap(), "--ksn", "decline"],
            Some(&fault),
        );
        // A fresh target is built beside it and moved into place whole: nothing is moved
        // file by file and nothing is obsolete, so those points are never reached.
        if point.starts_with("install-file") || *point == "remove-obsolete" {
            assert_ok(&out);
        } else {
            assert_eq!(
                out.status.code(),
                Some(1),
                "{fault} (fresh)\n{}",
                show(&out)
            );
            assert!(
                stderr(&out).contains(&format!("injected failure at {point}")),
                "{}",
                show(&out)
            );
            assert!(stderr(&out).contains("rolled back"), "{}", show(&out));
            assert!(
                !fresh.exists(),
                "{fault}: a failed fresh install leaves nothing"
            );
            assert!(
                !beside(&fresh).exists(),
                "{fault}: a failed fresh install leaves nothing beside its target either"
            );
        }

        // A reinstall moves each file: it has no tree to move into place.
        if point.ends_with("into-place") {
            continue;
        }
        let out = install_with(
            &earlier,
            &["--payload", v2.to_str().unwrap(), "--ksn", "decline"],
            Some(&fault),
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{fault} (reinstall)\n{}",
            show(&out)
        );
        assert_same_tree(
            &before,
            &snapshot(&earlier),
            &format!("{fault} (reinstall)"),
        );
    }
    // The earlier install still upgrades cleanly afterwards.
    assert_ok(&install(&earlier, &["--payload", v2.to_str().unwrap()]));
    assert_no_leftovers(&earlier);
}

#[test]
fn missing_parent_folders_created_by_a_failed_install_are_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/c/ksn-demo");
    let out = install_with(&dir, &[], Some("fail@staged"));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        !tmp.path().join("a").exists(),
        "created ancestors are removed too"
    );
}

/// Where a fresh install into `dir` builds its tree before moving it into place.
fn beside(dir: &Path) -> std::path::PathBuf {
    let name = dir.file_name().unwrap().to_str().unwrap();
    dir.with_file_name(format!(".{name}.ksn-setup-new"))
}

/// Starts an install that stops itself at `point`, and waits until it has. The caller
/// waits for the returned child.
#[allow(clippy::zombie_processes)]
fn start_paused(dir: &Path, args: &[&str], point: &str) -> Child {
    let mut cmd = install_command(dir, args);
    cmd.env("KSN_SETUP_FAULT", format!("pause@{point}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stat = fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap_or_default();
        let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
        if state == Some('T') {
            return child;
        }
        assert!(Instant::now() < deadline, "install never reached {point}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill has no memory preconditions.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

#[test]
fn config_and_consent_record_are_on_disk_before_the_first_payload_file() {
    let tmp = tempfile::tempdir().unwrap();
    let payload_files: Vec<String> = snapshot(&payload_dir())
        .into_iter()
        .filter(|(_, n)| !matches!(n, Node::Dir { .. }))
        .map(|(p, _)| p)
        .collect();
    // Stopped while staging and just before the payload moves into place. A target that does
    // not exist, or is an empty folder, is built beside it and moved into place whole; a
    // folder that holds something (here a note of the administrator's) gets each file moved
    // in on its own.
    for (point, start) in [
        ("stage-file", "missing"),
        ("move-into-place", "missing"),
        ("stage-file", "empty"),
        ("move-into-place", "empty"),
        ("stage-file", "occupied"),
        ("install-file", "occupied"),
    ] {
        let dir = tmp.path().join(format!("{point}-{start}"));
        if start != "missing" {
            fs::create_dir(&dir).unwrap();
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
        }
        if start == "occupied" {
            fs::write(dir.join("notes.txt"), "mine\n").unwrap();
        }
        let before = (start != "missing").then(|| snapshot(&dir));
        let fresh = start != "occupied";
        let records = if fresh { beside(&dir) } else { dir.clone() };
        let child = start_paused(&dir, &["--ksn", "agree"], point);
        if fresh {
            assert_eq!(
                dir.exists().then(|| snapshot(&dir)),
                before,
                "{point}, {start}: the target changed before the tree moved"
            );
        }
        let config = read_toml(&records.join("etc/product.toml"));
        assert_eq!(
            config["ksn"]["decision"].as_str(),
            Some("agreed"),
            "{point}"
        );
        assert_eq!(config["ksn"]["decided_by"].as_str(), Some("administrator"));
        let lines = consent_lines(&records);
        assert_eq!(lines.len(), 1, "{point}");
        assert_eq!(lines[0]["decision"], "agreed");
        for file in &payload_files {
            assert!(
                fs::symlink_metadata(dir.join(file)).is_err(),
                "{point}: {file} appeared before commit"
            );
        }
        signal(&child, libc::SIGKILL);
        let _ = child.wait_with_output();
        assert_ok(
            &ksn_setup()
                .args(["recover", "--dir"])
                .arg(&dir)
                .output()
                .unwrap(),
        );
        assert_eq!(
            dir.exists().then(|| snapshot(&dir)),
            before,
            "{point}, {start}: recovery removes the unfinished install"
        );
        assert!(
            !beside(&dir).exists(),
            "{point}: recovery removes the tree being built"
        );
    }
}

#[test]
fn cancel_during_the_copy_rolls_back_and_exits_3() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("v1");
    make_payload(&payload, 20, 1);
    let earlier = tmp.path().join("earlier");
    assert_ok(&install(&earlier, &["--ksn", "decline"]));
    let before = snapshot(&earlier);
    for (dir, fresh) in [(tmp.path().join("fresh"), true), (earlier.clone(), false)] {
        let child = start_paused(
            &dir,
            &["--payload", payload.to_str().unwrap(), "--ksn", "agree"],
            "stage-file#3",
        );
        // Ctrl-C arrives while the install is stopped, and acts as soon as it goes on.
        signal(&child, libc::SIGINT);
        signal(&child, libc::SIGCONT);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{}", show(&out));
        assert!(stderr(&out).contains("cancelled"), "{}", show(&out));
        if fresh {
            assert!(!dir.exists());
        } else {
            assert_same_tree(&before, &snapshot(&dir), "cancelled reinstall");
        }
    }
}

#[test]
fn an_empty_folder_replaced_by_a_fresh_tree_comes_back_when_the_install_fails_or_dies() {
    let tmp = tempfile::tempdir().unwrap();
    for how in ["fail", "kill"] {
        let dir = tmp.path().join(format!("empty-{how}"));
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
        // After the tree has replaced the folder and before the commit record.
        let out = install_with(&dir, &[], Some(&format!("{how}@moved-into-place")));
        if how == "fail" {
            assert_eq!(out.status.code(), Some(1), "{}", show(&out));
            assert!(stderr(&out).contains("rolled back"), "{}", show(&out));
        } else {
            assert_eq!(out.status.code(), None, "killed: {}", show(&out));
            assert!(dir.join("etc/product.toml").exists(), "the tree had moved");
            let out = ksn_setup()
                .args(["recover", "--dir"])
                .arg(&dir)
                .output()
                .unwrap();
            assert_ok(&out);
        }
        let meta = fs::symlink_metadata(&dir).unwrap();
        assert!(meta.is_dir(), "{how}: the empty folder is back");
        assert_eq!(
            meta.permissions().mode() & 0o7777,
            0o750,
            "{how}: with its mode"
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "{how}: and empty");
        assert!(!beside(&dir).exists(), "{how}: nothing is left beside it");
    }
}
