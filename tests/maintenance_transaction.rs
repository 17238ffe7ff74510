//! KSN changes, repair and uninstall are transactions like install: an injected failure rolls
//! back, and a kill at any step is finished or undone by the next run. Needs the
//! `fault-injection` feature.
#![cfg(feature = "fault-injection")]

mod support;

use std::fs;
use std::path::Path;
use std::process::{Output, Stdio};

use support::*;

fn run(args: &[&str], dir: &Path, fault: Option<&str>) -> Output {
    let mut cmd = ksn_setup();
    cmd.args(args).arg("--dir").arg(dir).stdin(Stdio::null());
    if let Some(fault) = fault {
        cmd.env("KSN_SETUP_FAULT", fault);
    }
    cmd.output().expect("run ksn-setup")
}

fn recover(dir: &Path) {
    let out = ksn_setup()
        .arg("recover")
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap();
    assert_ok(&out);
}

/// Fails, then kills, `args` at each of `points`; after each the folder must be as before
/// (after `recover` for a kill).
fn assert_transactional(dir: &Path, args: &[&str], points: &[&str]) {
    let before = snapshot(dir);
    for point in points {
        let out = run(args, dir, Some(&format!("fail@{point}")));
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} fail@{point}: {}",
            show(&out)
        );
        assert!(stderr(&out).contains("rolled back"), "{}", show(&out));
        assert_same_tree(&before, &snapshot(dir), &format!("{args:?} fail@{point}"));

        let out = run(args, dir, Some(&format!("kill@{point}")));
        assert_eq!(
            out.status.code(),
            None,
            "{args:?} kill@{point} kills: {}",
            show(&out)
        );
        recover(dir);
        assert_same_tree(&before, &snapshot(dir), &format!("{args:?} kill@{point}"));
    }
}

#[test]
fn a_ksn_change_is_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("product");
    assert_ok(&install(&dir, &["--ksn", "agree"]));
    assert_transactional(
        &dir,
        &["ksn", "decline"],
        &[
            "begin",
            "config-temp",
            "config",
            "consent-log",
            "before-commit",
        ],
    );
    // A kill after the commit record leaves the change made, once recovered.
    let out = run(&["ksn", "decline"], &dir, Some("kill@after-commit"));
    assert_eq!(out.status.code(), None, "{}", show(&out));
    recover(&dir);
    let config = read_toml(&dir.join("etc/product.toml"));
    assert_eq!(config["ksn"]["decision"].as_str(), Some("declined"));
    assert_eq!(consent_lines(&dir).last().unwrap()["event"], "change");
    assert_no_leftovers(&dir);
}

#[test]
fn a_repair_is_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("v1");
    make_payload(&payload, 12, 1);
    let dir = tmp.path().join("product");
    let from = payload.to_str().unwrap();
    assert_ok(&install(&dir, &["--payload", from]));
    fs::remove_file(dir.join("part0/sub0/file-0.dat")).unwrap();
    fs::write(dir.join("part1/sub1/file-1.dat"), b"bad").unwrap();
    fs::remove_dir_all(dir.join("only-v1")).unwrap();
    assert_transactional(
        &dir,
        &["repair", "--payload", from],
        &[
            "begin",
            "mkdir",
            "stage-file#1",
            "staged",
            "install-file",
            "install-file#1",
            "before-commit",
        ],
    );
    assert_ok(&run(&["repair", "--payload", from], &dir, None));
    assert_ok(&run(&["repair", "--check", "--payload", from], &dir, None));
}

#[test]
fn an_uninstall_is_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("v1");
    make_payload(&payload, 12, 1);
    let dir = tmp.path().join("product");
    assert_ok(&install(&dir, &["--payload", payload.to_str().unwrap()]));
    fs::write(dir.join("part2/user-file"), b"mine").unwrap();
    assert_transactional(
        &dir,
        &["uninstall", "--remove-config"],
        &[
            "begin",
            "remove-obsolete",
            "remove-obsolete#7",
            "remove-obsolete#20",
            "before-commit",
        ],
    );
    // Killed after its commit record, the uninstall is finished by recovery.
    let out = run(
        &["uninstall", "--remove-config"],
        &dir,
        Some("kill@after-commit"),
    );
    assert_eq!(out.status.code(), None, "{}", show(&out));
    recover(&dir);
    let left: Vec<String> = snapshot(&dir).into_keys().collect();
    assert_eq!(left, ["part2", "part2/user-file"]);
}
