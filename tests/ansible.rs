//! The Ansible role in docs/ansible, run by the real `ansible-playbook` (ansible-core from
//! PyPI, which .ci/run installs) against this machine with the local connection, as an
//! administrator runs it against a fleet: the first run installs and reports changed, the
//! second reports `changed=0`, the gathered KSN fact (as the fleet report holds it) is what
//! the host's config says, and the withdrawal playbook turns KSN off.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use support::*;

/// The program that runs playbooks: `KSN_SETUP_ANSIBLE_PLAYBOOK`, else `ansible-playbook`
/// on PATH. Without it the test fails: it exists to run the real client.
fn ansible_playbook() -> PathBuf {
    let found = std::env::var_os("KSN_SETUP_ANSIBLE_PLAYBOOK")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|path| {
                std::env::split_paths(&path)
                    .map(|p| p.join("ansible-playbook"))
                    .find(|p| p.is_file())
            })
        });
    found.unwrap_or_else(|| {
        panic!(
            "this test runs the Ansible role in docs/ansible and needs ansible-playbook: \
             python3 -m pip install ansible-core (or set KSN_SETUP_ANSIBLE_PLAYBOOK)"
        )
    })
}

/// What a play did on localhost: its output, the count of changed tasks from the recap,
/// and the host's KSN state as the role wrote it to the fleet report.
struct Played {
    out: Output,
    changed: u64,
    fact: serde_json::Value,
}

/// Runs `playbook` of docs/ansible against localhost with `vars`.
fn play(playbook: &str, vars: &serde_json::Value, home: &Path) -> Played {
    let docs = repo().join("docs/ansible");
    let out = std::process::Command::new(ansible_playbook())
        .current_dir(&docs)
        .arg(playbook)
        .arg("--extra-vars")
        .arg(vars.to_string())
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_HOME", home)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .env("XDG_DATA_HOME", home.join("menus"))
        .env("XDG_DATA_DIRS", home.join("menus"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ansible-playbook");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // PLAY RECAP: "localhost : ok=5 changed=2 unreachable=0 failed=0 ..."
    let changed = text
        .lines()
        .rfind(|l| l.starts_with("localhost") && l.contains(" changed="))
        .and_then(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("changed="))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no recap for localhost:\n{}", show(&out)));
    let report = vars["ksn_setup_report_dir"].as_str().unwrap();
    let written = fs::read(Path::new(report).join("localhost.json"))
        .unwrap_or_else(|e| panic!("no fleet report for localhost ({e}):\n{}", show(&out)));
    Played {
        out,
        changed,
        fact: serde_json::from_slice(&written).unwrap(),
    }
}

#[test]
fn the_playbook_installs_once_then_reports_no_change_and_gathers_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("ansible");
    fs::create_dir_all(home.join("menus")).unwrap();
    let installer = tmp.path().join("setup");
    let out = ksn_setup()
        .args(["pack", "--level", "3", "--output"])
        .arg(&installer)
        .output()
        .unwrap();
    assert_ok(&out);
    let dir = tmp.path().join("ksn-demo");
    let vars = serde_json::json!({
        "ksn_setup_installer": installer,
        "ksn_setup_remote_installer": tmp.path().join("copied-setup"),
        "ksn_setup_dir": dir,
        "ksn_setup_args": ["--accept-eula", "--accept-privacy-policy", "--ksn", "agree"],
        "ksn_setup_report_dir": tmp.path().join("report"),
    });
    fs::create_dir(tmp.path().join("report")).unwrap();

    let first = play("site.yml", &vars, &home);
    assert_ok(&first.out);
    assert_eq!(
        first.changed,
        3,
        "copied, installed, reported:\n{}",
        show(&first.out)
    );
    let config = read_toml(&dir.join("etc/product.toml"));
    let fact = first.fact.clone();
    assert_eq!(fact["state"], "on");
    assert_eq!(
        fact["record"]["participate"].as_bool(),
        config["ksn"]["participate"].as_bool()
    );
    assert_eq!(
        fact["record"]["statement_sha256"].as_str(),
        config["ksn"]["statement_sha256"].as_str()
    );
    assert_eq!(
        fact["record"]["decided_at"].as_str(),
        config["ksn"]["decided_at"].as_str()
    );
    assert_eq!(fact["dir"], dir.to_str().unwrap());
    assert_eq!(fact["product"]["version"], "1.0.0");
    let lines = consent_lines(&dir).len();

    let second = play("site.yml", &vars, &home);
    assert_ok(&second.out);
    assert_eq!(
        second.changed,
        0,
        "the second run changes nothing:\n{}",
        show(&second.out)
    );
    assert_eq!(consent_lines(&dir).len(), lines, "no consent-log line");
    assert_eq!(second.fact["record"], fact["record"]);

    // Withdraw fleet-wide: changed where KSN was on, then nothing.
    let withdrawn = play("withdraw.yml", &vars, &home);
    assert_ok(&withdrawn.out);
    assert_eq!(withdrawn.changed, 2, "{}", show(&withdrawn.out));
    let config = read_toml(&dir.join("etc/product.toml"));
    assert_eq!(config["ksn"]["participate"].as_bool(), Some(false));
    assert_eq!(withdrawn.fact["state"], "off");
    assert_eq!(
        withdrawn.fact["record"]["decided_at"].as_str(),
        config["ksn"]["decided_at"].as_str()
    );
    let again = play("withdraw.yml", &vars, &home);
    assert_ok(&again.out);
    assert_eq!(again.changed, 0, "{}", show(&again.out));
}
