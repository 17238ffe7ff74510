//! Fleets, as an administrator's configuration-management run sees them: the same silent
//! install run again changes nothing and says so; a changed answer changes only what it
//! must; damage is reported, and repaired on request; every command takes `--unattended`
//! and `--json`, and `--log-format json` writes JSON lines.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Output;

use support::*;

/// The JSON object a `--json` command printed on stdout (nothing else may be there).
fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{}", show(out)))
}

/// Each installed path with its inode, change time and modification time: a file rewritten,
/// replaced or touched shows here.
fn stamps(dir: &Path) -> BTreeMap<String, (u64, i64, i64, i64)> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (u64, i64, i64, i64)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(
                rel,
                (
                    meta.ino(),
                    meta.ctime(),
                    meta.ctime_nsec(),
                    meta.mtime_nsec(),
                ),
            );
            if meta.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// The unattended install with `--json`, licences accepted.
fn install_json(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--json"];
    all.extend(args);
    install_again(dir, &all)
}

/// The unattended install into `dir`, with the menu folder of every other run into `dir`
/// (a run with another menu folder would be an install with other answers).
fn install_again(dir: &Path, args: &[&str]) -> Output {
    let menus = dir.with_extension("menus");
    fs::create_dir_all(&menus).unwrap();
    install_command(dir, args)
        .env("XDG_DATA_HOME", &menus)
        .env("XDG_DATA_DIRS", &menus)
        .output()
        .expect("run ksn-setup")
}

fn records(dir: &Path) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    (
        fs::read(dir.join("etc/product.toml")).unwrap(),
        fs::read(dir.join("etc/consent-log.jsonl")).unwrap(),
        fs::read(dir.join(".ksn-setup/receipt.toml")).unwrap(),
    )
}

#[test]
fn the_same_install_again_changes_nothing_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    let first = install_json(&dir, &["--ksn", "decline"]);
    assert_ok(&first);
    let outcome = json_of(&first);
    assert_eq!(outcome["format"], 1);
    assert_eq!(outcome["command"], "install");
    assert_eq!(outcome["changed"], true, "{outcome}");
    assert_eq!(outcome["action"], "installed");
    assert_eq!(outcome["ksn"]["state"], "off");
    assert_eq!(outcome["product"]["version"], "1.0.0");

    let before = stamps(&dir);
    let records_before = records(&dir);
    // Let a rewrite show in the times, whatever their granularity.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = install_json(&dir, &["--ksn", "decline"]);
    assert_ok(&second);
    let outcome = json_of(&second);
    assert_eq!(outcome["changed"], false, "{outcome}");
    assert_eq!(outcome["action"], "unchanged");
    assert_eq!(outcome["exit_code"], 0);
    assert_eq!(outcome["ksn"]["record"]["decision"], "declined");
    assert_eq!(records(&dir), records_before, "no record rewritten");
    assert_eq!(
        stamps(&dir),
        before,
        "no file rewritten, replaced or touched"
    );

    // In words, for a person, it says so too; a full check by hash agrees.
    let third = install_again(&dir, &["--ksn", "decline", "--verify"]);
    assert_ok(&third);
    assert!(
        stdout(&third).contains("Already installed; nothing changed."),
        "{}",
        show(&third)
    );
    assert_eq!(stamps(&dir), before);
    // --quiet: not a word.
    let quiet = install_again(&dir, &["--ksn", "decline", "--quiet"]);
    assert_ok(&quiet);
    assert_eq!(
        (stdout(&quiet), stderr(&quiet)),
        (String::new(), String::new())
    );
}

#[test]
fn a_new_ksn_preset_is_one_change_and_one_log_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    assert_ok(&install_json(&dir, &["--ksn", "decline"]));
    let lines = consent_lines(&dir).len();
    let before = stamps(&dir);

    let out = install_json(&dir, &["--ksn", "agree"]);
    assert_ok(&out);
    let outcome = json_of(&out);
    assert_eq!(outcome["changed"], true);
    assert_eq!(outcome["action"], "ksn-changed", "{outcome}");
    assert_eq!(outcome["ksn"]["state"], "on");
    let log = consent_lines(&dir);
    assert_eq!(log.len(), lines + 1, "one consent-log line");
    assert_eq!(log.last().unwrap()["event"], "change");
    assert_eq!(log.last().unwrap()["decision"], "agreed");
    let config = read_toml(&dir.join("etc/product.toml"));
    assert_eq!(config["ksn"]["participate"].as_bool(), Some(true));
    // Only the config (and the log it appends to) changed; no payload file was touched.
    let after = stamps(&dir);
    for (path, stamp) in &before {
        if path.starts_with("etc") || path.starts_with(".ksn-setup") {
            continue;
        }
        assert_eq!(after.get(path), Some(stamp), "{path} was rewritten");
    }

    // The same answer again: nothing.
    let again = install_json(&dir, &["--ksn", "agree"]);
    assert_ok(&again);
    assert_eq!(json_of(&again)["action"], "unchanged");
    assert_eq!(consent_lines(&dir).len(), lines + 1);
}

#[test]
fn damage_is_reported_with_exit_5_and_restored_with_repair() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    assert_ok(&install_json(&dir, &["--ksn", "decline"]));
    let launcher = dir.join("bin/ksn-demo");
    let good = fs::read(&launcher).unwrap();
    fs::remove_file(&launcher).unwrap();
    let records_before = records(&dir);

    let out = install_json(&dir, &["--ksn", "decline"]);
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));
    let outcome = json_of(&out);
    assert_eq!(outcome["ok"], false);
    assert_eq!(outcome["exit_code"], 5);
    assert_eq!(outcome["changed"], false);
    assert_eq!(outcome["action"], "damaged");
    assert_eq!(outcome["damaged"][0]["path"], "bin/ksn-demo", "{outcome}");
    assert_eq!(outcome["damaged"][0]["damage"], "missing");
    assert!(!launcher.exists(), "nothing was changed");
    assert_eq!(records(&dir), records_before);

    let out = install_json(&dir, &["--ksn", "decline", "--repair"]);
    assert_ok(&out);
    let outcome = json_of(&out);
    assert_eq!(outcome["action"], "repaired", "{outcome}");
    assert_eq!(outcome["changed"], true);
    assert_eq!(fs::read(&launcher).unwrap(), good);
    assert_eq!(consent_lines(&dir).len(), 1, "a repair records no decision");
}

#[test]
fn a_change_that_keeps_size_and_time_is_found_by_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    assert_ok(&install_again(&dir, &["--ksn", "decline"]));
    let readme = dir.join("share/doc/ksn-demo/README.txt");
    let meta = fs::metadata(&readme).unwrap();
    let mut bytes = fs::read(&readme).unwrap();
    bytes[0] ^= 0x20;
    fs::write(&readme, &bytes).unwrap();
    // Put the time back, as a careful hand (or a broken disk) would.
    let times = fs::FileTimes::new().set_modified(meta.modified().unwrap());
    fs::File::options()
        .write(true)
        .open(&readme)
        .unwrap()
        .set_times(times)
        .unwrap();

    // The quick check trusts size and time: documented, and what --verify is for.
    let quick = install_json(&dir, &["--ksn", "decline"]);
    assert_ok(&quick);
    assert_eq!(json_of(&quick)["action"], "unchanged");
    let full = install_json(&dir, &["--ksn", "decline", "--verify"]);
    assert_eq!(full.status.code(), Some(5), "{}", show(&full));
    let outcome = json_of(&full);
    assert_eq!(
        outcome["damaged"][0]["path"],
        "share/doc/ksn-demo/README.txt"
    );
    assert_eq!(outcome["damaged"][0]["damage"], "changed");
}

#[test]
fn every_command_takes_unattended_and_json_and_reports_one_object() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    assert_ok(&install(&dir, &["--ksn", "agree"]));
    let d = dir.to_str().unwrap();
    let run = |args: &[&str]| {
        ksn_setup()
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };

    // The fleet report: who, where, what, and the decision.
    let status = run(&["ksn", "status", "--json", "--unattended", "--dir", d]);
    assert_ok(&status);
    let status = json_of(&status);
    assert_eq!(status["format"], 1);
    assert_eq!(status["dir"], d);
    assert_eq!(status["product"]["name"], "KSN Demo Security");
    assert_eq!(status["product"]["version"], "1.0.0");
    assert_eq!(status["scope"], "system", "root's folder: for all users");
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(status["host"], host.trim());
    assert_eq!(status["state"], "on");
    assert_eq!(status["record"]["decided_by"], "administrator");

    for (args, command, action, changed) in [
        (vec!["repair", "--unattended"], "repair", "nothing", false),
        (vec!["repair", "--check"], "repair", "nothing", false),
        (vec!["recover"], "recover", "nothing", false),
        (
            vec!["ksn", "decline", "--unattended"],
            "ksn decline",
            "ksn-changed",
            true,
        ),
        (
            vec!["ksn", "decline", "--unattended"],
            "ksn decline",
            "nothing",
            false,
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--json", "--dir", d]);
        let out = run(&all);
        assert_ok(&out);
        let outcome = json_of(&out);
        assert_eq!(outcome["command"], command, "{args:?}");
        assert_eq!(outcome["action"], action, "{args:?}: {outcome}");
        assert_eq!(outcome["changed"], changed, "{args:?}");
        assert_eq!(outcome["ok"], true);
        assert_eq!(outcome["dir"], d);
    }
    // Agreeing without a terminal needs the text's hash, with --unattended too.
    let refused = run(&["ksn", "agree", "--unattended", "--json", "--dir", d]);
    assert_eq!(refused.status.code(), Some(2), "{}", show(&refused));
    let outcome = json_of(&refused);
    assert_eq!(outcome["ok"], false);
    assert_eq!(outcome["error"]["exit_code"], 2);
    assert!(
        outcome["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--accept-statement"),
        "{outcome}"
    );
    let sha = status["statement_sha256"].as_str().unwrap();
    let agreed = run(&[
        "ksn",
        "agree",
        "--unattended",
        "--json",
        "--accept-statement",
        sha,
        "--dir",
        d,
    ]);
    assert_ok(&agreed);
    assert_eq!(json_of(&agreed)["ksn"]["state"], "on");

    // Read-only reports print their own documents.
    let history = run(&["ksn", "history", "--json", "--dir", d]);
    assert_ok(&history);
    assert!(json_of(&history)["entries"].is_array());
    let receipt = run(&["ksn", "receipt", "--json", "--dir", d]);
    assert_ok(&receipt);
    assert!(json_of(&receipt)["consentReceiptID"].is_string());

    // --quiet: nothing on stdout but what was asked for.
    let quiet = run(&["repair", "--quiet", "--dir", d]);
    assert_ok(&quiet);
    assert_eq!(stdout(&quiet), "");

    let out = run(&["uninstall", "--unattended", "--json", "--dir", d]);
    assert_ok(&out);
    let outcome = json_of(&out);
    assert_eq!(outcome["action"], "uninstalled");
    assert_eq!(outcome["changed"], true);
    assert!(!dir.join("bin").exists());

    // A failure is an outcome too, with the exit code the process ends with.
    let out = run(&["repair", "--json", "--dir", "/nonexistent/ksn-demo"]);
    let code = out.status.code().unwrap();
    assert_ne!(code, 0);
    let outcome = json_of(&out);
    assert_eq!(outcome["ok"], false);
    assert_eq!(outcome["action"], "failed");
    assert_eq!(outcome["exit_code"], code);
    assert_eq!(outcome["error"]["exit_code"], code);
}

#[test]
fn inspect_and_verify_report_the_installer_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let installer = tmp.path().join("setup");
    let out = ksn_setup()
        .args(["pack", "--level", "3", "--json", "--output"])
        .arg(&installer)
        .output()
        .unwrap();
    assert_ok(&out);
    let packed = json_of(&out);
    assert_eq!(packed["action"], "packed");
    let sha = packed["installer"]["sha256"].as_str().unwrap().to_string();
    for (command, action) in [("inspect", "inspected"), ("verify", "verified")] {
        let out = ksn_setup()
            .args([command, "--json"])
            .arg(&installer)
            .output()
            .unwrap();
        assert_ok(&out);
        let outcome = json_of(&out);
        assert_eq!(outcome["action"], action);
        assert_eq!(outcome["changed"], false);
        assert_eq!(outcome["product"]["name"], "KSN Demo Security");
        assert!(outcome["installer"]["files"].as_u64().unwrap() > 0);
        assert!(!sha.is_empty());
    }
}

#[test]
fn log_format_json_writes_one_object_a_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    let log = tmp.path().join("setup.log");
    let out = install(
        &dir,
        &[
            "--ksn",
            "decline",
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
        ],
    );
    assert_ok(&out);
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() > 3, "{text}");
    for line in &lines {
        assert!(
            line["at"].is_string() && line["event"].is_string(),
            "{line}"
        );
        assert!(line["message"].is_string(), "{line}");
    }
    assert!(lines.iter().any(|l| l["event"] == "phase"));
}

#[test]
fn a_dry_run_over_the_same_version_says_what_installing_again_would_do() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    assert_ok(&install_again(&dir, &["--ksn", "decline"]));
    let before = stamps(&dir);
    let same = install_again(&dir, &["--ksn", "decline", "--dry-run"]);
    assert_ok(&same);
    assert!(
        stdout(&same).contains("installing again would change nothing"),
        "{}",
        show(&same)
    );
    let ksn = install_again(&dir, &["--ksn", "agree", "--dry-run"]);
    assert_ok(&ksn);
    assert!(
        stdout(&ksn).contains("would only change the KSN choice"),
        "{}",
        show(&ksn)
    );
    // The dry runs wrote nothing.
    assert_eq!(stamps(&dir), before);
    fs::remove_file(dir.join("bin/ksn-demo")).unwrap();
    let before = stamps(&dir);
    let damaged = install_again(&dir, &["--ksn", "decline", "--dry-run"]);
    assert_eq!(damaged.status.code(), Some(5), "{}", show(&damaged));
    assert!(stdout(&damaged).contains("damaged: bin/ksn-demo (missing)"));
    assert_eq!(stamps(&dir), before);
    assert_eq!(consent_lines(&dir).len(), 1);
}

/// The payload's part of `stamps`: what a change of records and menu entries must not touch.
fn payload_stamps(dir: &Path) -> BTreeMap<String, (u64, i64, i64, i64)> {
    stamps(dir)
        .into_iter()
        .filter(|(path, _)| path != "etc" && !path.starts_with("etc/product.toml"))
        .filter(|(path, _)| !path.starts_with("etc/consent-log") && !path.starts_with(".ksn-setup"))
        .collect()
}

#[test]
fn other_menu_or_licence_answers_change_the_records_and_entries_not_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    let entry = dir
        .with_extension("menus")
        .join("applications/ksn-demo-security.desktop");
    assert_ok(&install_again(&dir, &["--ksn", "decline"]));
    assert!(entry.exists());
    let files = payload_stamps(&dir);
    let lines = consent_lines(&dir).len();

    // A dry run says what would happen, and does nothing.
    let dry = install_again(
        &dir,
        &["--ksn", "decline", "--no-menu-entries", "--dry-run"],
    );
    assert_ok(&dry);
    let said = stdout(&dry);
    assert!(said.contains("would change no payload file"), "{said}");
    assert!(
        said.contains("remove ") && said.contains("ksn-demo-security.desktop"),
        "{said}"
    );
    assert!(entry.exists());

    // Without menu entries now: they go, and the receipt no longer names them.
    let out = install_json(&dir, &["--ksn", "decline", "--no-menu-entries"]);
    assert_ok(&out);
    let outcome = json_of(&out);
    assert_eq!(outcome["action"], "reconfigured", "{outcome}");
    assert_eq!(outcome["changed"], true);
    assert_eq!(outcome["detail"], "the menu entries differ");
    assert!(!entry.exists(), "the entry was removed");
    assert!(
        read_toml(&dir.join(".ksn-setup/receipt.toml"))
            .get("menu")
            .is_none()
    );
    assert_eq!(payload_stamps(&dir), files, "no payload file touched");
    assert_eq!(consent_lines(&dir).len(), lines);
    let again = install_json(&dir, &["--ksn", "decline", "--no-menu-entries"]);
    assert_eq!(json_of(&again)["action"], "unchanged");

    // With them again: they come back, recorded.
    let out = install_json(&dir, &["--ksn", "decline"]);
    assert_ok(&out);
    assert_eq!(json_of(&out)["action"], "reconfigured");
    assert!(entry.exists());
    let receipt = read_toml(&dir.join(".ksn-setup/receipt.toml"));
    assert_eq!(receipt["menu"]["file"].as_array().unwrap().len(), 5);
    assert_eq!(payload_stamps(&dir), files);

    // The licences accepted in another language: the config records it, nothing else moves.
    let out = install_json(&dir, &["--ksn", "decline", "--lang", "de"]);
    assert_ok(&out);
    let outcome = json_of(&out);
    assert_eq!(outcome["action"], "reconfigured", "{outcome}");
    let config = read_toml(&dir.join("etc/product.toml"));
    assert_eq!(config["license"]["language"].as_str(), Some("de"));
    assert_eq!(payload_stamps(&dir), files);
    // A decline in German is another text declined: one line.
    assert_eq!(consent_lines(&dir).len(), lines + 1);

    // And the receipt stays true: uninstall removes exactly the entries it names.
    let out = run_on(&["uninstall"], &dir);
    assert_ok(&out);
    assert!(!entry.exists());
}

#[test]
fn a_records_change_that_fails_or_is_killed_leaves_the_install_as_it_was() {
    // Entries removed (with a new KSN answer), then entries added.
    for (first, again, points) in [
        (
            vec!["--ksn", "decline"],
            vec!["--ksn", "agree", "--no-menu-entries"],
            vec!["config", "consent-log", "receipt", "before-commit"],
        ),
        (
            vec!["--ksn", "decline", "--no-menu-entries"],
            vec!["--ksn", "decline"],
            vec!["config", "menu-file", "receipt", "before-commit"],
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ksn-demo");
        let menus = dir.with_extension("menus");
        assert_ok(&install_again(&dir, &first));
        // The desktop's caches in the menu folder are its own, made again when entries
        // change; what is ours is the rest.
        let state = || {
            let mut menu = snapshot(&menus);
            menu.retain(|path, _| !path.ends_with(".cache"));
            (snapshot(&dir), menu)
        };
        let differs = |a: &(BTreeMap<String, Node>, BTreeMap<String, Node>),
                       b: &(BTreeMap<String, Node>, BTreeMap<String, Node>)| {
            let mut paths: Vec<&String> = Vec::new();
            for (x, y) in [(&a.0, &b.0), (&a.1, &b.1)] {
                for (path, node) in x {
                    if y.get(path) != Some(node) {
                        paths.push(path);
                    }
                }
                paths.extend(y.keys().filter(|p| !x.contains_key(*p)));
            }
            paths.iter().map(|p| p.to_string()).collect::<Vec<_>>()
        };
        let before = state();
        let run = |fault: &str| {
            install_command(&dir, &again)
                .env("XDG_DATA_HOME", &menus)
                .env("XDG_DATA_DIRS", &menus)
                .env("KSN_SETUP_FAULT", fault)
                .output()
                .unwrap()
        };
        for point in points {
            let out = run(&format!("fail@{point}"));
            assert_eq!(out.status.code(), Some(1), "fail@{point}: {}", show(&out));
            let now = state();
            assert!(
                differs(&now, &before).is_empty(),
                "{again:?} rolled back at {point}: {:?}",
                differs(&now, &before)
            );

            let out = run(&format!("kill@{point}"));
            assert_eq!(out.status.code(), None, "kill@{point}: {}", show(&out));
            assert_ok(&run_on(&["recover"], &dir));
            let now = state();
            assert!(
                differs(&now, &before).is_empty(),
                "{again:?} recovered at {point}: {:?}",
                differs(&now, &before)
            );
        }
        // Unhindered, it goes through.
        let out = run("none@begin");
        assert_ok(&out);
        assert!(
            stdout(&out).contains("no payload file changed"),
            "{}",
            show(&out)
        );
    }
}

#[test]
fn every_command_accepts_unattended_json_and_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    assert_ok(&install_again(&dir, &["--ksn", "decline"]));
    let d = dir.to_str().unwrap();
    let installer = tmp.path().join("setup");
    let i = installer.to_str().unwrap();
    let key = tmp.path().join("key");
    let k = key.to_str().unwrap();
    for args in [
        vec!["pack", "--level", "1", "--output", i],
        vec!["inspect", i],
        vec!["verify", i],
        vec!["keygen", "--output", k],
        vec!["recover", "--dir", d],
        vec!["repair", "--dir", d],
        vec!["ksn", "status", "--dir", d],
        vec!["ksn", "history", "--dir", d],
        vec!["ksn", "receipt", "--dir", d],
        vec!["ksn", "decline", "--dir", d],
        vec!["uninstall", "--dir", d],
    ] {
        for flags in [["--unattended", "--quiet"], ["--unattended", "--json"]] {
            // keygen never overwrites a key: a new one each time.
            let _ = fs::remove_file(&key);
            let _ = fs::remove_file(key.with_extension("pub"));
            let out = ksn_setup()
                .args(&args)
                .args(flags)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            // A second uninstall finds nothing installed: that is its answer, not a
            // refused flag.
            if args[0] == "uninstall" && flags[1] == "--json" {
                assert_eq!(out.status.code(), Some(2), "{}", show(&out));
                assert_eq!(json_of(&out)["ok"], false);
                continue;
            }
            assert_ok(&out);
            if flags[1] == "--json" {
                let report = json_of(&out);
                assert!(report.is_object(), "{args:?}");
                // The ksn reports are their own documents; the status has a format too.
                if !matches!(args[1], "history" | "receipt") {
                    assert_eq!(report["format"], 1, "{args:?}");
                }
            } else {
                // Reports still print what they report; commands that act say nothing.
                let reports = args[0] == "inspect" || args[0] == "ksn" && args[1] != "decline";
                assert!(
                    reports || stdout(&out).is_empty(),
                    "{args:?} --quiet: {}",
                    show(&out)
                );
            }
        }
    }
    // The settings window asks a person; unattended, it says what to use instead.
    let out = ksn_setup()
        .args(["settings", "--unattended", "--dir", d])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("ksn decline"), "{}", show(&out));
}

#[test]
fn an_upgrade_without_menu_entries_removes_the_earlier_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    let menus = dir.with_extension("menus");
    let entry = menus.join("applications/ksn-demo-security.desktop");
    assert_ok(&install_again(&dir, &["--ksn", "decline"]));
    assert!(entry.exists());
    // Version 2 of the product, packed.
    let installer = tmp.path().join("setup-2");
    let out = ksn_setup()
        .args([
            "pack",
            "--level",
            "1",
            "--product-version",
            "2.0.0",
            "--output",
        ])
        .arg(&installer)
        .output()
        .unwrap();
    assert_ok(&out);
    let dry = install_again(
        &dir,
        &[
            "--installer",
            installer.to_str().unwrap(),
            "--no-menu-entries",
            "--dry-run",
        ],
    );
    assert_ok(&dry);
    assert!(
        stdout(&dry).contains(&format!("remove {}", entry.display())),
        "{}",
        show(&dry)
    );
    let out = install_json(
        &dir,
        &[
            "--installer",
            installer.to_str().unwrap(),
            "--no-menu-entries",
        ],
    );
    assert_ok(&out);
    assert_eq!(json_of(&out)["action"], "upgraded");
    assert!(!entry.exists(), "the earlier entry is not left behind");
    assert!(
        !menus
            .join("applications/ksn-demo-security-settings.desktop")
            .exists()
    );
    let receipt = read_toml(&dir.join(".ksn-setup/receipt.toml"));
    assert!(receipt.get("menu").is_none());
    assert_eq!(receipt["product_version"].as_str(), Some("2.0.0"));
}
