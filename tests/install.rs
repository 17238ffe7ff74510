//! Unattended installs through the built binary: what a script or an administrator sees.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use support::*;

#[test]
fn install_is_byte_identical_to_the_payload_with_modes_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    let out = install(&dir, &["--ksn", "decline"]);
    assert_ok(&out);
    let installed = snapshot(&dir);
    assert_same_tree(
        &snapshot(&payload_dir()),
        &payload_part(&installed),
        "installed tree",
    );
    assert!(matches!(
        installed["bin/ksn-demo"],
        Node::File { mode: 0o755, .. }
    ));
    assert!(
        matches!(&installed["bin/kav"], Node::Symlink { target } if target.as_os_str() == "ksn-demo")
    );
    assert_no_leftovers(&dir);

    // The receipt lists every installed path with its size, mode and hash.
    let receipt = read_toml(&dir.join(".ksn-setup/receipt.toml"));
    let entries = receipt["entry"].as_array().unwrap();
    for (path, node) in snapshot(&payload_dir()) {
        let entry = entries
            .iter()
            .find(|e| e["path"].as_str() == Some(&path))
            .unwrap_or_else(|| panic!("{path} not in receipt"));
        if let Node::File { mode, bytes } = node {
            assert_eq!(
                entry["sha256"].as_str().unwrap(),
                sha256_hex(&bytes),
                "{path}"
            );
            assert_eq!(
                entry["size"].as_integer().unwrap() as usize,
                bytes.len(),
                "{path}"
            );
            assert_eq!(entry["mode"].as_integer().unwrap() as u32, mode, "{path}");
        }
    }
}

#[test]
fn installed_launcher_reports_the_recorded_choice() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, &["--ksn", "agree"]));
    let out = Command::new(dir.join("bin/ksn-demo")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Kaspersky Security Network: on"), "{text}");
    assert!(text.contains("administrator"), "{text}");

    assert_ok(&install(&dir, &["--ksn", "decline"]));
    let out = Command::new(dir.join("bin/kav")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Kaspersky Security Network: off"));
}

#[test]
fn each_ksn_answer_gives_its_config_and_log_line() {
    let ksn_en = fs::read(repo().join("statements/ksn.en.txt")).unwrap();
    let ksn_ru = fs::read(repo().join("statements/ksn.ru.txt")).unwrap();
    for (args, decision, participate, lang_hash) in [
        (vec!["--ksn", "agree"], "agreed", true, sha256_hex(&ksn_en)),
        (
            vec!["--ksn", "decline", "--lang", "ru"],
            "declined",
            false,
            sha256_hex(&ksn_ru),
        ),
        (vec![], "undecided", false, sha256_hex(&ksn_en)),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        assert_ok(&install(&dir, &args));
        let config = read_toml(&dir.join("etc/product.toml"));
        let ksn = config["ksn"].as_table().unwrap();
        assert_eq!(ksn["decision"].as_str(), Some(decision), "{args:?}");
        assert_eq!(ksn["participate"].as_bool(), Some(participate), "{args:?}");
        assert_eq!(ksn["statement_id"].as_str(), Some("ksn"));
        assert_eq!(ksn["statement_version"].as_str(), Some("1.1"));
        assert_eq!(
            ksn["statement_sha256"].as_str(),
            Some(lang_hash.as_str()),
            "{args:?}"
        );
        if decision == "undecided" {
            assert!(
                !ksn.contains_key("decided_at") && !ksn.contains_key("decided_by"),
                "nobody decided: {ksn:?}"
            );
        } else {
            assert_eq!(ksn["decided_by"].as_str(), Some("administrator"));
            // How: an administrator's flag, in the interface's language.
            assert_eq!(ksn["method"].as_str(), Some("command-line"), "{args:?}");
            let lang = if args.contains(&"ru") { "ru" } else { "en" };
            assert_eq!(ksn["interface_language"].as_str(), Some(lang));
            let at = ksn["decided_at"].as_str().unwrap();
            assert!(at.ends_with('Z') && at.len() == 20, "RFC 3339 UTC: {at}");
        }
        assert_eq!(config["license"]["eula_accepted"].as_bool(), Some(true));
        assert_eq!(
            config["license"]["privacy_policy_accepted"].as_bool(),
            Some(true)
        );
        assert_eq!(config["product"]["version"].as_str(), Some("1.0.0"));
        assert_eq!(
            config["installer"]["version"].as_str(),
            Some(env!("CARGO_PKG_VERSION"))
        );

        let lines = consent_lines(&dir);
        assert_eq!(lines.len(), 1, "{args:?}");
        assert_eq!(lines[0]["decision"], decision);
        assert_eq!(lines[0]["participate"], participate);
        assert_eq!(lines[0]["statement_sha256"], lang_hash.as_str());
        assert_eq!(lines[0]["event"], "install");
    }
}

#[test]
fn answers_file_presets_and_flags_override_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("from-answers");
    let answers = tmp.path().join("corp.toml");
    fs::write(
        &answers,
        format!(
            "[install]\ndir = \"{}\"\n[license]\naccept_eula = true\naccept_privacy_policy = true\n\
             [ksn]\nparticipate = true\nlocked = true\n[ui]\nlanguage = \"ru\"\nmode = \"silent\"\n",
            dir.display()
        ),
    )
    .unwrap();
    let out = ksn_setup()
        .args(["--unattended", "--answers"])
        .arg(&answers)
        .output()
        .unwrap();
    assert_ok(&out);
    let ksn = read_toml(&dir.join("etc/product.toml"))["ksn"].clone();
    assert_eq!(ksn["decision"].as_str(), Some("agreed"));
    assert_eq!(ksn["locked"].as_bool(), Some(true));
    assert_eq!(ksn["statement_language"].as_str(), Some("ru"));

    // A flag beats the file.
    let other = tmp.path().join("flag-dir");
    let out = ksn_setup()
        .args(["--unattended", "--ksn", "decline", "--answers"])
        .arg(&answers)
        .arg("--dir")
        .arg(&other)
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(
        read_toml(&other.join("etc/product.toml"))["ksn"]["decision"].as_str(),
        Some("declined")
    );
}

#[test]
fn missing_license_acceptance_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    for flags in [
        vec!["--accept-eula"],
        vec!["--accept-privacy-policy"],
        vec![],
    ] {
        let out = ksn_setup()
            .args(["install", "--unattended", "--dir"])
            .arg(&dir)
            .args(&flags)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        assert!(stderr(&out).contains("must be accepted"), "{}", show(&out));
        assert!(!dir.exists(), "nothing may be written");
    }
}

#[test]
fn malformed_answers_exit_2_naming_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let answers = tmp.path().join("corp.toml");
    for (text, location, expected) in [
        (
            "[license]\naccept_eula = true\n[ksn\nparticipate = true\n",
            ":3:5:",
            "expected",
        ),
        (
            "[ksn]\nparticipate = true\nlokced = true\n",
            ":3:1:",
            "expected `participate` or `locked`",
        ),
        (
            "[ksn]\nparticipate = \"yes\"\n",
            ":2:15:",
            "expected a boolean",
        ),
        (
            "[ui]\nlanguage = \"fr\"\n",
            ":2:12:",
            "expected one of `en`, `de`, `ru`",
        ),
        ("[install]\ndir = \"relative/path\"\n", ":2:7:", "absolute"),
        ("[surprise]\nx = 1\n", ":1:2:", "expected one of"),
    ] {
        fs::write(&answers, text).unwrap();
        let out = ksn_setup()
            .args([
                "--unattended",
                "--accept-eula",
                "--accept-privacy-policy",
                "--answers",
            ])
            .arg(&answers)
            .arg("--dir")
            .arg(&dir)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}\n{}", show(&out));
        assert!(
            err.contains(&format!("{}{location}", answers.display())),
            "{text}\n{err}"
        );
        assert!(err.contains(expected), "{text}\n{err}");
        assert!(!dir.exists(), "nothing may be written for {text}");
    }
}

#[test]
fn dry_run_prints_the_ordered_plan_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let out = install(&dir, &["--ksn", "agree", "--dry-run"]);
    assert_ok(&out);
    let plan = String::from_utf8_lossy(&out.stdout);
    let config = plan.find("write etc/product.toml").expect("config step");
    let log = plan
        .find("append the decision to etc/consent-log.jsonl")
        .expect("log step");
    // The folder does not exist: the tree is built beside it, then moved into place whole.
    let files = plan.find("into their places in").expect("payload step");
    let moved = plan.find("move it all into place").expect("the move");
    assert!(
        config < log && log < files && files < moved,
        "config, then consent record, then payload, then the move:\n{plan}"
    );
    // An empty folder is replaced by the tree the same way.
    fs::create_dir(&dir).unwrap();
    let out = install(&dir, &["--ksn", "agree", "--dry-run"]);
    assert_ok(&out);
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        plan.contains("with one rename (replacing the empty folder)"),
        "{plan}"
    );
    // Into a folder that holds something, each file is staged and then moved in on its own.
    fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    let out = install(&dir, &["--ksn", "agree", "--dry-run"]);
    assert_ok(&out);
    let plan = String::from_utf8_lossy(&out.stdout);
    let config = plan.find("write etc/product.toml").expect("config step");
    let first_file = plan.find("install bin/").expect("payload step");
    assert!(config < first_file, "config, then payload:\n{plan}");
    assert!(!plan.contains("move it all into place"), "{plan}");
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["notes.txt"], "a dry run writes nothing");
    fs::remove_dir_all(&dir).unwrap();
    assert!(plan.contains("participates in KSN"), "{plan}");
    assert!(!dir.exists());
}

#[test]
fn foreign_files_are_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    fs::create_dir_all(dir.join("bin")).unwrap();
    fs::write(dir.join("bin/ksn-demo"), "mine").unwrap();
    fs::write(dir.join("notes.txt"), "also mine").unwrap();
    let before = snapshot(&dir);
    let out = install(&dir, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("\"bin/ksn-demo\""), "{}", show(&out));
    assert_same_tree(&before, &snapshot(&dir), "foreign folder");
}

#[test]
fn target_that_is_a_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("p");
    fs::write(&file, "x").unwrap();
    let out = install(&file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("not a folder"), "{}", show(&out));
    assert_eq!(fs::read(&file).unwrap(), b"x");
}

#[test]
fn unwritable_target_is_refused_before_anything_is_written() {
    // Root can write anywhere: the install runs as an unprivileged user (nobody), from a
    // copy of the program that user may run.
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let program = tmp.path().join("ksn-setup");
    fs::copy(bin(), &program).unwrap();
    let parent = tmp.path().join("read-only");
    fs::create_dir(&parent).unwrap();
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o555)).unwrap();
    let mut cmd = install_command_of(&program, &parent.join("p"), &[]);
    cmd.env("HOME", tmp.path());
    if rustix_is_root() {
        use std::os::unix::process::CommandExt;
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("is not writable"), "{}", show(&out));
    assert!(
        fs::read_dir(&parent).unwrap().next().is_none(),
        "nothing was written"
    );
}

fn rustix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn unsafe_payloads_are_refused_naming_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("target");
    // A symlink leading outside the tree.
    let payload = tmp.path().join("escape");
    fs::create_dir_all(payload.join("bin")).unwrap();
    std::os::unix::fs::symlink("../../../etc/passwd", payload.join("bin/passwd")).unwrap();
    let out = install(&dir, &["--payload", payload.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("bin/passwd"), "{}", show(&out));
    assert!(!dir.exists());

    // A named pipe cannot be installed.
    let payload = tmp.path().join("fifo");
    fs::create_dir_all(&payload).unwrap();
    let fifo = payload.join("pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let out = install(&dir, &["--payload", payload.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("named pipe"), "{}", show(&out));

    // The installer's own paths cannot be shipped.
    let payload = tmp.path().join("reserved");
    fs::create_dir_all(payload.join("etc")).unwrap();
    fs::write(
        payload.join("etc/product.toml"),
        "[ksn]\nparticipate = true\n",
    )
    .unwrap();
    let out = install(&dir, &["--payload", payload.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("etc/product.toml"), "{}", show(&out));
    assert!(!dir.exists());
}

#[test]
fn bad_statements_folder_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let statements = tmp.path().join("st");
    fs::create_dir_all(&statements).unwrap();
    fs::write(
        statements.join("statements.toml"),
        "format = 1\n[[statement]]\nid = \"ksn\"\nversoin = \"2\"\n",
    )
    .unwrap();
    let dir = tmp.path().join("p");
    let out = install(&dir, &["--statements", statements.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("statements.toml:4:1"),
        "{}",
        show(&out)
    );
    assert!(!dir.exists());
}

#[test]
fn upgrade_keeps_user_settings_and_reasks_on_a_new_statement() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, &["--ksn", "agree"]));
    let config_path = dir.join("etc/product.toml");
    let text = fs::read_to_string(&config_path).unwrap();
    let text = text.replace(
        "scheduled_scan = \"weekly\"",
        "# I scan daily\nscheduled_scan = \"daily\"",
    );
    fs::write(
        &config_path,
        format!("{text}\n[my_tweaks]\nverbose = true\n"),
    )
    .unwrap();

    // Same statement: the agreement stands, the user's settings stay.
    assert_ok(&install(&dir, &[]));
    let text = fs::read_to_string(&config_path).unwrap();
    assert!(
        text.contains("# I scan daily\nscheduled_scan = \"daily\""),
        "{text}"
    );
    let config = read_toml(&config_path);
    assert_eq!(config["ksn"]["decision"].as_str(), Some("agreed"));
    assert_eq!(config["my_tweaks"]["verbose"].as_bool(), Some(true));
    assert_eq!(consent_lines(&dir).len(), 1, "nothing new was decided");

    // An editorial new version carries the agreement over.
    let editorial = tmp.path().join("st-editorial");
    statements_with_new_ksn(&editorial, "1.2", true);
    assert_ok(&install(
        &dir,
        &["--statements", editorial.to_str().unwrap()],
    ));
    let config = read_toml(&config_path);
    assert_eq!(config["ksn"]["decision"].as_str(), Some("agreed"));
    assert_eq!(
        config["ksn"]["statement_version"].as_str(),
        Some("1.1"),
        "the record names the text agreed to"
    );

    // A material change: the agreement does not carry over; nobody has agreed to 2.0.
    let material = tmp.path().join("st-material");
    statements_with_new_ksn(&material, "2.0", false);
    let out = install(&dir, &["--statements", material.to_str().unwrap()]);
    assert_ok(&out);
    let config = read_toml(&config_path);
    assert_eq!(config["ksn"]["decision"].as_str(), Some("undecided"));
    assert_eq!(config["ksn"]["participate"].as_bool(), Some(false));
    assert_eq!(config["ksn"]["statement_version"].as_str(), Some("2.0"));
    assert_eq!(config["settings"]["scheduled_scan"].as_str(), Some("daily"));
    let lines = consent_lines(&dir);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["decision"], "undecided");
    assert_eq!(lines[1]["event"], "upgrade");
    assert_eq!(
        lines[1]["reason"]["statement-changed"]["agreed_version"],
        "1.1"
    );

    // Answers decide over the reset.
    assert_ok(&install(
        &dir,
        &["--statements", material.to_str().unwrap(), "--ksn", "agree"],
    ));
    assert_eq!(
        read_toml(&config_path)["ksn"]["statement_version"].as_str(),
        Some("2.0")
    );
    assert_eq!(consent_lines(&dir).len(), 3);
}

#[test]
fn a_changed_statement_text_under_the_same_version_ends_participation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, &["--ksn", "agree"]));
    let agreed_to = read_toml(&dir.join("etc/product.toml"))["ksn"]["statement_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    // A new installer ships KSN Statement 1.1 again, with other words in it.
    let changed = tmp.path().join("st-changed");
    statements_with_changed_ksn_text(&changed);
    assert_ok(&install(&dir, &["--statements", changed.to_str().unwrap()]));
    let ksn = read_toml(&dir.join("etc/product.toml"))["ksn"].clone();
    assert_eq!(ksn["decision"].as_str(), Some("undecided"));
    assert_eq!(ksn["participate"].as_bool(), Some(false));
    assert_eq!(ksn["statement_version"].as_str(), Some("1.1"));
    let lines = consent_lines(&dir);
    let why = &lines.last().unwrap()["reason"]["statement-changed"];
    assert_eq!(why["agreed_version"], "1.1");
    assert_eq!(
        why["agreed_sha256"],
        agreed_to.as_str(),
        "the log says which text was agreed to"
    );

    // The same seen from `ksn status`, when the installed text itself no longer matches.
    let other = tmp.path().join("q");
    assert_ok(&install(&other, &["--ksn", "agree"]));
    let installed_text = other.join("lib/ksn-setup/statements/ksn.en.txt");
    let mut text = fs::read_to_string(&installed_text).unwrap();
    text.push_str("\nA sentence nobody agreed to.\n");
    fs::write(&installed_text, text).unwrap();
    let out = ksn_setup()
        .args(["ksn", "status", "--json", "--dir"])
        .arg(&other)
        .output()
        .unwrap();
    assert_ok(&out);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["state"], "needs-consent", "{status}");
    assert_eq!(status["participate"], false);
}

#[test]
fn upgrade_keeps_a_decline_whatever_the_statement() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, &["--ksn", "decline"]));
    let material = tmp.path().join("st");
    statements_with_new_ksn(&material, "2.0", false);
    assert_ok(&install(
        &dir,
        &["--statements", material.to_str().unwrap()],
    ));
    let ksn = read_toml(&dir.join("etc/product.toml"))["ksn"].clone();
    assert_eq!(ksn["decision"].as_str(), Some("declined"));
    assert_eq!(ksn["statement_version"].as_str(), Some("1.1"));
}

#[test]
fn upgrade_replaces_changed_files_and_removes_obsolete_ones_but_keeps_user_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (v1, v2) = (tmp.path().join("v1"), tmp.path().join("v2"));
    make_payload(&v1, 12, 1);
    make_payload(&v2, 12, 2);
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, &["--payload", v1.to_str().unwrap()]));
    fs::write(dir.join("only-v1/my-notes.txt"), "user file").unwrap();
    assert_ok(&install(&dir, &["--payload", v2.to_str().unwrap()]));
    let tree = snapshot(&dir);
    let mut expected = snapshot(&v2);
    expected.insert("only-v1".into(), Node::Dir { mode: 0o755 });
    expected.insert("etc".into(), Node::Dir { mode: 0o755 });
    expected.insert(
        "only-v1/my-notes.txt".into(),
        Node::File {
            mode: 0o644,
            bytes: b"user file".to_vec(),
        },
    );
    assert_same_tree(&expected, &payload_part(&tree), "upgraded tree");
    assert_no_leftovers(&dir);
}

#[test]
fn broken_installed_config_stops_an_upgrade_and_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, &[]));
    fs::write(dir.join("etc/product.toml"), "[settings\nbroken = \n").unwrap();
    let before = snapshot(&dir);
    let out = install(&dir, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("product.toml:1:"), "{}", show(&out));
    assert_same_tree(&before, &snapshot(&dir), "after refusing");
}

#[test]
fn log_file_records_steps_in_order_and_errors_with_causes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let log = tmp.path().join("setup.log");
    assert_ok(&install(&dir, &["--log", log.to_str().unwrap()]));
    let text = fs::read_to_string(&log).unwrap();
    let config = text
        .find("wrote etc/product.toml")
        .expect("config step logged");
    let first = text
        .find("moved the whole tree into place")
        .expect("payload step logged");
    assert!(config < first, "{text}");
    assert!(text.contains("committed"));

    let file = tmp.path().join("file");
    fs::write(&file, "").unwrap();
    let out = install(&file, &["--log", log.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.contains("error: cannot install"), "{text}");
}

#[test]
fn recover_on_a_clean_folder_says_nothing_to_recover() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    assert_ok(&install(&dir, &[]));
    let out = ksn_setup()
        .args(["recover", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to recover"));
}

#[test]
fn help_is_there_for_every_command() {
    for args in [
        vec!["--help"],
        vec!["install", "--help"],
        vec!["recover", "--help"],
    ] {
        let out = ksn_setup().args(&args).output().unwrap();
        assert_ok(&out);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    let out = ksn_setup()
        .args(["install", "--ksn", "maybe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn symlinked_folder_in_the_target_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("bin")).unwrap();
    let out = install(&dir, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("\"bin\" is a symlink"),
        "{}",
        show(&out)
    );
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing written through the link"
    );
    assert!(!dir.join("etc").exists());
}
