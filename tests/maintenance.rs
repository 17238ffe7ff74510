//! After install, from a terminal: `ksn status|agree|decline`, `repair`, `uninstall`, run on
//! real installed trees by the built binary.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::*;

fn status_json(dir: &Path) -> serde_json::Value {
    let out = run_on(&["ksn", "status", "--json"], dir);
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).expect("status is JSON")
}

fn ksn_table(dir: &Path) -> toml::Table {
    read_toml(&dir.join("etc/product.toml"))["ksn"]
        .as_table()
        .unwrap()
        .clone()
}

fn records(dir: &Path) -> (String, String) {
    (
        fs::read_to_string(dir.join("etc/product.toml")).unwrap(),
        fs::read_to_string(dir.join("etc/consent-log.jsonl")).unwrap(),
    )
}

#[test]
fn ksn_can_be_turned_on_and_off_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("product");
    assert_ok(&install(&dir, &[]));
    let status = status_json(&dir);
    assert_eq!(status["state"], "undecided");
    assert_eq!(status["participate"], false);
    let sha = status["statement_sha256"].as_str().unwrap().to_string();
    assert_eq!(
        sha,
        sha256_hex(&fs::read(dir.join("lib/ksn-setup/statements/ksn.en.txt")).unwrap()),
        "the status names the installed text's SHA-256"
    );

    // Agreeing without having shown the statement is impossible.
    let before = records(&dir);
    let out = run_on(&["ksn", "agree"], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("Statement shown first"),
        "{}",
        show(&out)
    );
    let out = run_on(
        &["ksn", "agree", "--accept-statement", &"0".repeat(64)],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("not the SHA-256"), "{}", show(&out));
    assert_eq!(records(&dir), before, "refused agreements write nothing");

    let out = run_on(&["ksn", "agree", "--accept-statement", &sha], &dir);
    assert_ok(&out);
    let ksn = ksn_table(&dir);
    assert_eq!(ksn["participate"].as_bool(), Some(true));
    assert_eq!(ksn["decision"].as_str(), Some("agreed"));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    assert_eq!(ksn["statement_sha256"].as_str(), Some(sha.as_str()));
    let log = consent_lines(&dir);
    let last = log.last().unwrap();
    assert_eq!(last["event"], "change");
    assert_eq!(last["decision"], "agreed");
    assert_eq!(last["decided_by"], "user");
    // A script passed the hash of the text it showed.
    assert_eq!(ksn["method"].as_str(), Some("script"));
    assert_eq!(last["method"], "script");
    assert_eq!(last["statement_version"], "1.1");
    assert_eq!(last["statement_sha256"], sha.as_str());
    assert_eq!(status_json(&dir)["state"], "on");

    // Withdrawing is one command with nothing to prove.
    let lines = log.len();
    let out = run_on(&["ksn", "decline"], &dir);
    assert_ok(&out);
    let ksn = ksn_table(&dir);
    assert_eq!(ksn["participate"].as_bool(), Some(false));
    assert_eq!(ksn["decision"].as_str(), Some("declined"));
    assert_eq!(ksn["decided_by"].as_str(), Some("user"));
    assert_eq!(consent_lines(&dir).len(), lines + 1);
    assert_eq!(status_json(&dir)["state"], "off");

    // Declining again changes nothing and logs nothing.
    let before = records(&dir);
    let out = run_on(&["ksn", "decline"], &dir);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("already off"));
    assert_eq!(records(&dir), before);

    // The user's settings and comments survive a change.
    let config = fs::read_to_string(dir.join("etc/product.toml")).unwrap();
    fs::write(
        dir.join("etc/product.toml"),
        config.replace(
            "scheduled_scan = \"weekly\"",
            "scheduled_scan = \"daily\" # mine",
        ),
    )
    .unwrap();
    assert_ok(&run_on(&["ksn", "agree", "--accept-statement", &sha], &dir));
    let config = fs::read_to_string(dir.join("etc/product.toml")).unwrap();
    assert!(
        config.contains("scheduled_scan = \"daily\" # mine"),
        "{config}"
    );
}

#[test]
fn a_locked_choice_cannot_be_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("product");
    let answers = tmp.path().join("corp.toml");
    fs::write(&answers, "[ksn]\nparticipate = true\nlocked = true\n").unwrap();
    assert_ok(&install(&dir, &["--answers", answers.to_str().unwrap()]));
    let before = records(&dir);
    let out = run_on(&["ksn", "decline"], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("by the administrator and locked"),
        "{}",
        show(&out)
    );
    assert_eq!(records(&dir), before);
    let status = status_json(&dir);
    assert_eq!(status["record"]["locked"], true);
    assert_eq!(status["record"]["decided_by"], "administrator");
}

#[test]
fn a_newer_statement_is_off_until_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("product");
    assert_ok(&install(&dir, &["--ksn", "agree"]));
    let old_sha = status_json(&dir)["statement_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(status_json(&dir)["state"], "on");

    // An upgrade brings KSN Statement 2.0, whose changes need new consent.
    let statements = tmp.path().join("statements-2.0");
    statements_with_new_ksn(&statements, "2.0", false);
    assert_ok(&install(
        &dir,
        &["--statements", statements.to_str().unwrap()],
    ));
    let status = status_json(&dir);
    assert_eq!(status["state"], "needs-consent");
    assert_eq!(status["participate"], false);
    assert_eq!(status["agreed_version"], "1.1");
    assert_eq!(status["statement_version"], "2.0");
    assert_eq!(ksn_table(&dir)["participate"].as_bool(), Some(false));

    // The old text's hash does not agree to the new one.
    let out = run_on(&["ksn", "agree", "--accept-statement", &old_sha], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let new_sha = status["statement_sha256"].as_str().unwrap();
    assert_ok(&run_on(
        &["ksn", "agree", "--accept-statement", new_sha],
        &dir,
    ));
    let ksn = ksn_table(&dir);
    assert_eq!(ksn["statement_version"].as_str(), Some("2.0"));
    assert_eq!(ksn["participate"].as_bool(), Some(true));
}

#[test]
fn repair_restores_deleted_corrupted_and_changed_mode_files() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("v1");
    make_payload(&payload, 10, 1);
    let dir = tmp.path().join("product");
    let from = ["--payload", payload.to_str().unwrap()];
    assert_ok(&install(&dir, &from));
    let good = snapshot(&dir);

    fs::remove_file(dir.join("part1/sub1/file-1.dat")).unwrap();
    fs::write(dir.join("part2/sub0/file-2.dat"), b"corrupted").unwrap();
    fs::set_permissions(dir.join("bin/tool"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::remove_file(dir.join("only-v1/link")).unwrap();
    fs::remove_file(dir.join("lib/ksn-setup/statements/ksn.en.txt")).unwrap();
    fs::write(dir.join("part0/user-notes.txt"), b"mine").unwrap();

    let mut check = vec!["repair", "--check"];
    check.extend(from);
    let out = run_on(&check, &dir);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    for path in [
        "part1/sub1/file-1.dat (missing)",
        "part2/sub0/file-2.dat (changed)",
        "bin/tool (mode 600)",
        "only-v1/link (missing)",
        "lib/ksn-setup/statements/ksn.en.txt (missing)",
    ] {
        assert!(report.contains(path), "{path} in:\n{report}");
    }
    assert!(!report.contains("user-notes"), "{report}");

    let mut repair = vec!["repair"];
    repair.extend(from);
    let out = run_on(&repair, &dir);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("restored: part2/sub0/file-2.dat"));
    let mut expected = good.clone();
    expected.insert(
        "part0/user-notes.txt".into(),
        Node::File {
            mode: 0o644,
            bytes: b"mine".to_vec(),
        },
    );
    assert_same_tree(&expected, &snapshot(&dir), "after repair");
    assert_ok(&run_on(&check, &dir));

    // Repair from another version's payload is refused, and changes nothing.
    let v2 = tmp.path().join("v2");
    make_payload(&v2, 10, 2);
    fs::write(dir.join("part2/sub0/file-2.dat"), b"corrupted").unwrap();
    let before = snapshot(&dir);
    let out = run_on(&["repair", "--payload", v2.to_str().unwrap()], &dir);
    assert_ne!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stderr(&out).contains("does not carry the installed version"),
        "{}",
        show(&out)
    );
    assert_same_tree(&before, &snapshot(&dir), "refused repair");
}

#[test]
fn repair_from_a_packed_installer() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("v1");
    make_payload(&payload, 10, 1);
    let installer = tmp.path().join("setup");
    let out = ksn_setup()
        .args(["pack", "--level", "3", "--payload"])
        .arg(&payload)
        .arg("--output")
        .arg(&installer)
        .output()
        .unwrap();
    assert_ok(&out);
    let dir = tmp.path().join("product");
    assert_ok(&install(
        &dir,
        &["--installer", installer.to_str().unwrap()],
    ));
    let good = snapshot(&dir);
    assert!(
        dir.join("lib/ksn-setup/ksn-setup").exists(),
        "the maintenance program"
    );
    fs::remove_file(dir.join("part0/sub0/file-0.dat")).unwrap();
    fs::write(dir.join("part1/sub1/file-7.dat"), b"x").unwrap();
    let out = run_on(
        &["repair", "--installer", installer.to_str().unwrap()],
        &dir,
    );
    assert_ok(&out);
    assert_same_tree(&good, &snapshot(&dir), "after repair from the installer");
}

#[test]
fn uninstall_removes_what_was_installed_and_keeps_what_the_user_added() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("v1");
    make_payload(&payload, 10, 1);
    let dir = tmp.path().join("product");
    assert_ok(&install(&dir, &["--payload", payload.to_str().unwrap()]));
    fs::write(dir.join("part1/sub0/user-notes.txt"), b"mine").unwrap();
    fs::write(dir.join("top-level-user-file"), b"mine too").unwrap();

    let out = run_on(&["uninstall"], &dir);
    assert_ok(&out);
    let left = snapshot(&dir);
    let names: Vec<&String> = left.keys().collect();
    assert_eq!(
        names,
        [
            "etc",
            "etc/consent-log.jsonl",
            "etc/product.toml",
            "part1",
            "part1/sub0",
            "part1/sub0/user-notes.txt",
            "top-level-user-file"
        ],
        "only the user's files and the kept records remain"
    );

    // Asked to, it removes the records too; with nothing of the user's left, the folder goes.
    let dir2 = tmp.path().join("product2");
    assert_ok(&install(&dir2, &["--payload", payload.to_str().unwrap()]));
    let out = run_on(&["uninstall", "--remove-config"], &dir2);
    assert_ok(&out);
    assert!(!dir2.exists(), "the empty install folder is removed");

    let out = run_on(&["uninstall"], &dir2);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("holds no installed product"),
        "{}",
        show(&out)
    );
}

#[test]
fn the_installed_settings_launcher_opens_the_maintenance_program() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("product");
    assert_ok(&install(&dir, &[]));
    let launcher = dir.join("bin/ksn-settings");
    assert_eq!(
        fs::read_link(&launcher).unwrap(),
        std::path::Path::new("../lib/ksn-setup/ksn-setup")
    );
    // Started through a symlink somewhere else and from another folder, it still opens the
    // settings of its own product (here it says so, with no display to open them on).
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&launcher, elsewhere.join("ksn-settings")).unwrap();
    let out = std::process::Command::new(elsewhere.join("ksn-settings"))
        .current_dir(&elsewhere)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains(&format!("ksn status --dir {}", dir.display())),
        "{}",
        show(&out)
    );
    // The maintenance program is this ksn-setup, without any bundle, and answers for the product.
    let program = dir.join("lib/ksn-setup/ksn-setup");
    let out = std::process::Command::new(&program)
        .args(["ksn", "status", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("KSN: off: no decision yet"));
    let receipt = read_toml(&dir.join(".ksn-setup/receipt.toml"));
    let listed: Vec<&str> = receipt["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    for path in [
        "lib/ksn-setup/ksn-setup",
        "bin/ksn-settings",
        "lib/ksn-setup/statements/ksn.en.txt",
    ] {
        assert!(listed.contains(&path), "{path} is in the receipt");
    }
    // Uninstall removes them with the rest.
    assert_ok(&run_on(&["uninstall", "--remove-config"], &dir));
    assert!(!dir.exists());
}

#[test]
fn the_history_lists_every_decision_and_verify_names_the_first_line_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, &["--ksn", "agree"]));
    assert_ok(&run_on(&["ksn", "decline"], &dir));
    let sha = status_json(&dir)["statement_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ok(&run_on(&["ksn", "agree", "--accept-statement", &sha], &dir));
    let out = run_on(&["ksn", "history", "--verify"], &dir);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("the administrator agreed to KSN, with a command-line flag (at install)"),
        "{text}"
    );
    assert!(
        text.contains("the user declined KSN, by a script (changed later)"),
        "{text}"
    );
    assert!(text.contains("The chain of the log is intact."), "{text}");
    let out = run_on(&["ksn", "history", "--json"], &dir);
    assert_ok(&out);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["entries"].as_array().unwrap().len(), 3);
    assert_eq!(json["entries"][1]["decision"]["method"], "script");
    assert!(json["broken"].is_null());

    // Each line names the one before it; an edit, a removal and a reorder are each found,
    // at the first line that no longer follows.
    let log = dir.join("etc/consent-log.jsonl");
    let good = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = good.split_inclusive('\n').collect();
    for (changed, first_bad) in [
        (
            format!(
                "{}{}{}",
                lines[0].replace("command-line", "wizard-window"),
                lines[1],
                lines[2]
            ),
            2,
        ),
        (format!("{}{}", lines[0], lines[2]), 2),
        (format!("{}{}{}", lines[1], lines[0], lines[2]), 1),
        (format!("{}{}", lines[0], lines[1]), 2),
    ] {
        fs::write(&log, &changed).unwrap();
        let out = run_on(&["ksn", "history", "--verify"], &dir);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        assert!(
            stderr(&out).contains(&format!("line {first_bad}:")),
            "{}",
            show(&out)
        );
    }
    // A log written before the chain existed is read, and said to be unchained.
    let unchained: String = lines
        .iter()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("prev_sha256");
            format!("{v}\n")
        })
        .collect();
    fs::write(&log, unchained).unwrap();
    let out = run_on(&["ksn", "history", "--verify"], &dir);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("3 lines at the start were written before the log was chained"),
        "{}",
        show(&out)
    );
}

#[test]
fn the_receipt_names_controller_method_time_text_and_withdrawal_and_points_at_its_log_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, &["--ksn", "agree"]));
    let receipt = |dir: &Path| {
        let out = run_on(&["ksn", "receipt", "--json"], dir);
        assert_ok(&out);
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()
    };
    // The ID is the SHA-256 of the log line that recorded the decision, newline included,
    // so an auditor finds the line with `tail -1 etc/consent-log.jsonl | sha256sum`.
    let last_line_sha = |dir: &Path| {
        let log = fs::read_to_string(dir.join("etc/consent-log.jsonl")).unwrap();
        let last = log.lines().last().unwrap();
        format!("sha256:{}", sha256_hex(format!("{last}\n").as_bytes()))
    };
    let agreed = receipt(&dir);
    assert_eq!(agreed["version"], "KI-CR-v1.1.0");
    assert_eq!(agreed["collectionMethod"], "command-line");
    assert_eq!(agreed["consentReceiptID"], last_line_sha(&dir).as_str());
    assert_eq!(agreed["piiControllers"][0]["piiController"], "Demo Vendor");
    assert_eq!(
        agreed["services"][0]["service"],
        "Kaspersky Security Network"
    );
    let ext = &agreed["x-ksn-setup"];
    assert_eq!(ext["decision"], "agreed");
    assert_eq!(ext["decidedBy"], "administrator");
    assert_eq!(
        ext["statementSha256"],
        sha256_hex(&fs::read(dir.join("lib/ksn-setup/statements/ksn.en.txt")).unwrap()).as_str()
    );
    assert!(
        ext["howToWithdraw"]
            .as_str()
            .unwrap()
            .contains("ksn-setup ksn decline --dir"),
        "{ext}"
    );
    assert!(agreed["consentTimestamp"].as_i64().unwrap() > 1_700_000_000);

    // A withdrawal has its receipt as plainly, pointing at its own line.
    assert_ok(&run_on(&["ksn", "decline"], &dir));
    let declined = receipt(&dir);
    assert_eq!(declined["x-ksn-setup"]["decision"], "declined");
    assert_eq!(declined["x-ksn-setup"]["participate"], false);
    assert_eq!(declined["consentReceiptID"], last_line_sha(&dir).as_str());
    let text = stdout(&run_on(&["ksn", "receipt"], &dir));
    assert!(text.contains("Decision:          declined"), "{text}");
    assert!(text.contains("How to withdraw:"), "{text}");

    // No decision, no receipt: said so, exit 1.
    let undecided = tmp.path().join("u");
    assert_ok(&install(&undecided, &[]));
    let out = run_on(&["ksn", "receipt"], &undecided);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no KSN decision has been recorded yet"),
        "{}",
        show(&out)
    );
}
