//! Root runs ksn-setup while another local user has prepared the ground.
//!
//! The attacker is a real unprivileged user (`nobody`, uid 65534): it runs `sh` as itself to
//! make folders, plant symlinks, journals and locks wherever it can write. Where it cannot
//! write (a root-owned install), the test plants the same things as root, standing for an
//! earlier compromise or a copied folder: the engine must not trust them either. Each test
//! then runs ksn-setup as root and checks that every file outside the install is unchanged,
//! and that each refusal names the path. These tests need root (CI runs as root) and fail,
//! rather than pass, without it.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::*;

const NOBODY: u32 = 65534;

fn require_root() {
    assert!(
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() } == 0,
        "the hostile-user tests run ksn-setup as root against another user: run them as root (CI does)"
    );
}

/// A scratch area the attacker can reach: the temp folder opened to all (0755), a shared
/// folder like /tmp (1777), and an `outside` folder of root's with files that must survive.
struct Ground {
    tmp: tempfile::TempDir,
}

impl Ground {
    fn new() -> Ground {
        require_root();
        let tmp = tempfile::tempdir().unwrap();
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let shared = tmp.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("victim.txt"), "root's precious file\n").unwrap();
        fs::write(outside.join("passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        fs::create_dir(outside.join("sub")).unwrap();
        fs::write(outside.join("sub/keep"), "keep\n").unwrap();
        let payload = tmp.path().join("payload");
        make_payload(&payload, 8, 1);
        Ground { tmp }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn outside(&self) -> PathBuf {
        self.path("outside")
    }

    fn payload(&self) -> String {
        self.path("payload").to_str().unwrap().to_string()
    }

    /// Runs `script` with `sh` as the unprivileged attacker, in the scratch area.
    fn attacker(&self, script: &str) {
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(self.tmp.path())
            .uid(NOBODY)
            .gid(NOBODY)
            .env("HOME", self.path("shared"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the attacker's script failed:\n{script}\n{}",
            show(&out)
        );
    }

    /// The attacker trying something that must fail; returns whether it succeeded.
    fn attacker_can(&self, script: &str) -> bool {
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(self.tmp.path())
            .uid(NOBODY)
            .gid(NOBODY)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }

    /// Root installs the small payload into `dir`.
    fn install(&self, dir: &Path) -> Output {
        install(dir, &["--payload", &self.payload()])
    }
}

fn refused(out: &Output, path: &Path, why: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", show(out));
    let said = stderr(out);
    assert!(
        said.contains(&format!("\"{}", path.display())),
        "the refusal names {}: {}",
        path.display(),
        show(out)
    );
    assert!(
        said.contains(why),
        "the refusal says \"{why}\": {}",
        show(out)
    );
}

/// Every maintenance command, as root, on the product in `dir`.
fn every_command(dir: &Path) -> Vec<(&'static str, Output)> {
    let hash = "0".repeat(64);
    vec![
        ("recover", run_on(&["recover"], dir)),
        ("ksn status", run_on(&["ksn", "status"], dir)),
        ("ksn decline", run_on(&["ksn", "decline"], dir)),
        (
            "ksn agree",
            run_on(&["ksn", "agree", "--accept-statement", &hash], dir),
        ),
        ("repair", run_on(&["repair"], dir)),
        ("uninstall", run_on(&["uninstall", "--remove-config"], dir)),
    ]
}

#[test]
fn an_install_folder_another_user_made_is_refused() {
    let g = Ground::new();
    let before = snapshot(&g.outside());
    // Before root installs, the attacker makes the folder and fills it with symlinks to
    // root's files, where the config, the state folder and a payload folder go.
    g.attacker(
        "mkdir shared/ksn && ln -s ../../outside shared/ksn/etc \
         && ln -s ../../outside shared/ksn/part0 && mkdir shared/ksn/.ksn-setup \
         && ln -s ../../../outside/victim.txt shared/ksn/.ksn-setup/lock",
    );
    let dir = g.path("shared/ksn");
    let out = g.install(&dir);
    refused(&out, &dir, "owned by user 65534");
    assert!(
        stderr(&out).contains("choose another folder"),
        "{}",
        show(&out)
    );
    assert_same_tree(
        &before,
        &snapshot(&g.outside()),
        "outside after the install",
    );
    for (command, out) in every_command(&dir) {
        assert_eq!(out.status.code(), Some(2), "{command}: {}", show(&out));
        assert!(
            stderr(&out).contains("shared/ksn"),
            "{command}: {}",
            show(&out)
        );
    }
    assert_same_tree(
        &before,
        &snapshot(&g.outside()),
        "outside after every command",
    );
}

#[test]
fn a_folder_above_that_others_can_write_is_refused() {
    let g = Ground::new();
    let open = g.path("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let dir = open.join("vendor/ksn");
    let out = g.install(&dir);
    refused(&out, &open, "every other user can write to it");
    assert!(
        fs::read_dir(&open).unwrap().next().is_none(),
        "nothing was created below it"
    );
    // A group that can write is refused the same way.
    fs::set_permissions(&open, fs::Permissions::from_mode(0o775)).unwrap();
    refused(&g.install(&dir), &open, "its group can write to it");
    // With only its owner writing, the same folder is fine.
    fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
    assert_ok(&g.install(&dir));
}

#[test]
fn a_shared_sticky_folder_is_fine_but_not_a_name_another_user_took_in_it() {
    let g = Ground::new();
    // Like /tmp/ksn-demo: others can add names to the sticky folder, not take root's.
    let mine = g.path("shared/mine");
    assert_ok(&g.install(&mine));
    assert!(!g.attacker_can("mv shared/mine shared/stolen"));
    assert!(!g.attacker_can("rm -rf shared/mine"));
    g.attacker("mkdir shared/theirs");
    let theirs = g.path("shared/theirs");
    refused(&g.install(&theirs), &theirs, "owned by user 65534");
}

#[test]
fn every_command_refuses_a_state_folder_another_user_controls() {
    let g = Ground::new();
    let dir = g.path("product");
    assert_ok(&g.install(&dir));
    // The state folder ends up the attacker's (say it made it before root installed), and
    // it plants a journal that would have root remove and replace root's files, and a lock
    // that would have root create or truncate one.
    let state = dir.join(".ksn-setup");
    std::os::unix::fs::chown(&state, Some(NOBODY), Some(NOBODY)).unwrap();
    fs::set_permissions(
        g.tmp.path().join("product"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let outside = g.outside();
    let begin = serde_json::json!({
        "record": "begin", "format": 1, "kind": "install",
        "target": dir, "created_dirs": [outside.join("sub")],
        "ops": [{"op": "remove-obsolete", "path": "part0/sub0/file-0.dat"}]
    });
    g.attacker(&format!(
        "mkdir product/.ksn-setup/txn && mkdir product/.ksn-setup/txn/backup \
         && ln -s ../../../../outside/passwd product/.ksn-setup/txn/backup/0 \
         && printf '%s\\n' '{begin}' > product/.ksn-setup/txn/journal.jsonl \
         && rm -f product/.ksn-setup/lock && ln -s ../../outside/victim.txt product/.ksn-setup/lock"
    ));
    let before = snapshot(&outside);
    for (command, out) in every_command(&dir) {
        assert_eq!(out.status.code(), Some(2), "{command}: {}", show(&out));
        let said = stderr(&out);
        assert!(
            said.contains(&state.display().to_string()) && said.contains("owned by user 65534"),
            "{command} names the state folder and why: {}",
            show(&out)
        );
    }
    let out = g.install(&dir);
    assert_eq!(
        out.status.code(),
        Some(2),
        "install over it: {}",
        show(&out)
    );
    assert_same_tree(&before, &snapshot(&outside), "outside");
    assert!(
        dir.join("part0/sub0/file-0.dat").exists(),
        "the product is as it was"
    );
}

#[test]
fn a_journal_that_is_not_ksn_setups_is_refused_before_any_undo() {
    let g = Ground::new();
    let dir = g.path("product");
    assert_ok(&g.install(&dir));
    let outside = g.outside();
    let before = snapshot(&outside);
    let product_before = snapshot(&dir);
    let journal = dir.join(".ksn-setup/txn/journal.jsonl");
    // Root-owned this time (copied from elsewhere, or left by a compromise): the engine
    // checks what the journal says, not only who wrote it.
    let cases = [
        (
            "created folders that are not this one",
            serde_json::json!({"record": "begin", "format": 1, "kind": "install", "target": dir,
                "created_dirs": [outside.join("sub")], "ops": []}),
            "neither this folder",
        ),
        (
            "another folder",
            serde_json::json!({"record": "begin", "format": 1, "kind": "install", "target": outside,
                "created_dirs": [], "ops": [{"op": "remove-obsolete", "path": "victim.txt"}]}),
            "names another folder",
        ),
        (
            "ksn-setup's own files as payload",
            serde_json::json!({"record": "begin", "format": 1, "kind": "install", "target": dir,
                "created_dirs": [], "ops": [{"op": "install", "path": ".ksn-setup/receipt.toml", "entry": 0, "replaces": true}]}),
            "reserved",
        ),
        (
            "a path leaving the folder",
            serde_json::json!({"record": "begin", "format": 1, "kind": "install", "target": dir,
                "created_dirs": [], "ops": [{"op": "remove-obsolete", "path": "../outside/victim.txt"}]}),
            "not a record ksn-setup writes",
        ),
    ];
    for (what, begin, why) in cases {
        fs::create_dir_all(journal.parent().unwrap()).unwrap();
        fs::set_permissions(journal.parent().unwrap(), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(&journal, format!("{begin}\n")).unwrap();
        fs::set_permissions(&journal, fs::Permissions::from_mode(0o600)).unwrap();
        for (command, out) in [
            ("recover", run_on(&["recover"], &dir)),
            ("ksn decline", run_on(&["ksn", "decline"], &dir)),
            ("uninstall", run_on(&["uninstall"], &dir)),
        ] {
            assert_eq!(
                out.status.code(),
                Some(2),
                "{what}, {command}: {}",
                show(&out)
            );
            let said = stderr(&out);
            assert!(
                said.contains("cannot be trusted") && said.contains(why),
                "{what}, {command}: {}",
                show(&out)
            );
        }
        assert_same_tree(&before, &snapshot(&outside), what);
        assert!(
            journal.exists(),
            "{what}: the journal is left for a person to look at"
        );
        fs::remove_dir_all(dir.join(".ksn-setup/txn")).unwrap();
        assert_same_tree(&product_before, &snapshot(&dir), what);
    }
}

#[test]
fn symlinks_planted_in_the_state_folder_are_never_followed() {
    let g = Ground::new();
    let dir = g.path("product");
    assert_ok(&g.install(&dir));
    let outside = g.outside();
    let before = snapshot(&outside);
    let lock = dir.join(".ksn-setup/lock");

    // A lock that is a symlink: to a file that does not exist (root would create it) and to
    // root's file (root would open it for writing).
    for target in [outside.join("created-by-root"), outside.join("victim.txt")] {
        fs::remove_file(&lock).unwrap();
        std::os::unix::fs::symlink(&target, &lock).unwrap();
        let out = run_on(&["ksn", "decline"], &dir);
        assert_ne!(out.status.code(), Some(0), "{}", show(&out));
        assert!(stderr(&out).contains(".ksn-setup/lock"), "{}", show(&out));
        assert_same_tree(&before, &snapshot(&outside), "lock symlink");
    }
    fs::remove_file(&lock).unwrap();
    fs::write(&lock, "").unwrap();
    fs::set_permissions(&lock, fs::Permissions::from_mode(0o600)).unwrap();

    // A temp file name planted beside the receipt and the config: root must not write
    // through it when it replaces them.
    let v2 = g.path("payload-v2");
    make_payload(&v2, 8, 2);
    for planted in [
        ".ksn-setup/.receipt.toml.ksn-tmp",
        "etc/.product.toml.ksn-tmp",
    ] {
        let link = dir.join(planted);
        std::os::unix::fs::symlink(outside.join("victim.txt"), &link).unwrap();
        let without_link = |mut tree: std::collections::BTreeMap<String, Node>| {
            tree.remove(planted);
            tree
        };
        let product_before = without_link(snapshot(&dir));
        let out = install(&dir, &["--payload", v2.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{planted}: {}", show(&out));
        assert!(stderr(&out).contains("rolled back"), "{}", show(&out));
        assert_same_tree(&before, &snapshot(&outside), planted);
        assert_same_tree(&product_before, &without_link(snapshot(&dir)), planted);
        let _ = fs::remove_file(&link);
    }
    assert_ok(&install(&dir, &["--payload", v2.to_str().unwrap()]));
}

#[test]
fn a_product_folder_others_can_write_cannot_steer_root_outside() {
    let g = Ground::new();
    // A product with a drop folder every user may write (a spool, say).
    let payload = g.path("payload-drop");
    make_payload(&payload, 4, 1);
    fs::create_dir_all(payload.join("share/drop/sub")).unwrap();
    fs::write(payload.join("share/drop/sub/file"), "v1\n").unwrap();
    fs::write(payload.join("share/drop/x"), "v1\n").unwrap();
    fs::set_permissions(
        payload.join("share/drop"),
        fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    let dir = g.path("product");
    assert_ok(&install(&dir, &["--payload", payload.to_str().unwrap()]));
    let outside = g.outside();
    let before = snapshot(&outside);
    // The attacker swaps the product's folder for a symlink to root's folder, and a product
    // file for a symlink to root's file.
    g.attacker(
        "mv product/share/drop/sub product/share/drop/old \
         && ln -s ../../../outside/sub product/share/drop/sub \
         && rm product/share/drop/x && ln -s ../../../outside/victim.txt product/share/drop/x",
    );
    let repair = run_on(&["repair", "--payload", payload.to_str().unwrap()], &dir);
    assert_same_tree(&before, &snapshot(&outside), "after repair");
    assert_ne!(repair.status.code(), Some(0), "{}", show(&repair));
    let mut v2 = payload.clone();
    v2.set_file_name("payload-drop-v2");
    fs::create_dir_all(v2.join("share/drop/sub")).unwrap();
    make_payload(&v2, 4, 2);
    fs::write(v2.join("share/drop/sub/file"), "v2\n").unwrap();
    fs::write(v2.join("share/drop/x"), "v2\n").unwrap();
    fs::set_permissions(v2.join("share/drop"), fs::Permissions::from_mode(0o777)).unwrap();
    let _ = install(&dir, &["--payload", v2.to_str().unwrap()]);
    assert_same_tree(&before, &snapshot(&outside), "after an upgrade");
    let _ = run_on(&["uninstall", "--remove-config"], &dir);
    assert_same_tree(&before, &snapshot(&outside), "after uninstall");
}

#[test]
fn another_user_cannot_hold_the_lock() {
    let g = Ground::new();
    let dir = g.path("product");
    assert_ok(&g.install(&dir));
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let lock = dir.join(".ksn-setup/lock");
    assert_eq!(
        fs::metadata(&lock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        !g.attacker_can("exec 3< product/.ksn-setup/lock && flock -n 3 && sleep 30"),
        "another user opened the lock"
    );
    // A lock left readable by an earlier ksn-setup is made private again on the next run.
    fs::set_permissions(&lock, fs::Permissions::from_mode(0o644)).unwrap();
    assert_ok(&run_on(&["ksn", "decline"], &dir));
    assert_eq!(
        fs::metadata(&lock).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn a_receipt_listing_the_consent_log_does_not_get_it_removed() {
    let g = Ground::new();
    let dir = g.path("product");
    assert_ok(&install(
        &dir,
        &["--payload", &g.payload(), "--ksn", "agree"],
    ));
    let receipt = dir.join(".ksn-setup/receipt.toml");
    let mut text = fs::read_to_string(&receipt).unwrap();
    text.push_str("\n[[entry]]\npath = \"etc/consent-log.jsonl\"\nkind = \"file\"\nmode = 420\n");
    fs::write(&receipt, text).unwrap();
    let log = fs::read(dir.join("etc/consent-log.jsonl")).unwrap();
    let out = run_on(&["uninstall"], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("receipt.toml:"),
        "names the line: {}",
        show(&out)
    );
    assert_eq!(fs::read(dir.join("etc/consent-log.jsonl")).unwrap(), log);
}

/// Waits until process `pid` has stopped itself at a pause fault point.
fn wait_stopped(child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stat = fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap_or_default();
        if let Some((_, rest)) = stat.rsplit_once(") ")
            && rest.starts_with(['T', 't'])
        {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before its pause point"
        );
        assert!(Instant::now() < deadline, "never paused");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn resume(child: &std::process::Child) {
    // SAFETY: kill has no memory preconditions; the pid is our own child's.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGCONT) }, 0);
}

#[test]
fn a_hostile_umask_leaves_nothing_writable_by_others() {
    // Both install paths: a target that does not exist is built beside it and moved into
    // place whole; a folder that holds something gets each file moved in on its own.
    for fresh in [true, false] {
        let g = Ground::new();
        let dir = g.path("product");
        if !fresh {
            fs::create_dir(&dir).unwrap();
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
            fs::write(dir.join("notes.txt"), "mine\n").unwrap();
        }
        let mut cmd = install_command(&dir, &["--payload", &g.payload()]);
        cmd.env("KSN_SETUP_FAULT", "pause@staged")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: umask is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
        wait_stopped(&mut child);
        let mode_in = |root: &Path, rel: &str| {
            fs::symlink_metadata(root.join(rel))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        // Mid-transaction: ksn-setup's own folders and files are private, and so is every
        // staged file until it moves into place (a fresh tree is private as a whole).
        let building = if fresh {
            dir.with_file_name(".product.ksn-setup-new")
        } else {
            dir.clone()
        };
        if fresh {
            assert!(!dir.exists(), "the target appeared before the tree moved");
            assert_eq!(mode_in(&building, ""), 0o700, "the tree being built");
        }
        assert_eq!(mode_in(&building, ".ksn-setup"), 0o755);
        assert_eq!(mode_in(&building, ".ksn-setup/lock"), 0o600);
        assert_eq!(mode_in(&building, ".ksn-setup/txn"), 0o700);
        assert_eq!(mode_in(&building, ".ksn-setup/txn/journal.jsonl"), 0o600);
        if !fresh {
            assert_eq!(mode_in(&building, ".ksn-setup/txn/staging"), 0o700);
            let staging = dir.join(".ksn-setup/txn/staging");
            for entry in fs::read_dir(&staging).unwrap() {
                let meta = fs::symlink_metadata(entry.unwrap().path()).unwrap();
                if meta.is_file() {
                    assert_eq!(meta.permissions().mode() & 0o7777, 0o600, "a staged file");
                }
            }
        }
        // Nothing is writable by others that the payload does not make so.
        let payload = snapshot(&g.path("payload"));
        for (path, node) in snapshot(&building) {
            if let Node::Dir { mode } | Node::File { mode, .. } = node {
                let wanted = match payload.get(&path) {
                    Some(Node::Dir { mode } | Node::File { mode, .. }) => *mode,
                    _ => 0,
                };
                assert_eq!(mode & 0o022 & !wanted, 0, "{path} is {mode:o} while staged");
            }
        }
        resume(&child);
        let out = child.wait_with_output().unwrap();
        assert_ok(&out);
        let mode = |rel: &str| mode_in(&dir, rel);
        assert_eq!(mode(""), 0o755);
        assert_eq!(mode("etc"), 0o755);
        assert_eq!(mode("etc/product.toml"), 0o644);
        assert_eq!(mode("etc/consent-log.jsonl"), 0o644);
        assert_eq!(mode(".ksn-setup/receipt.toml"), 0o644);
        for (path, node) in snapshot(&dir) {
            let found = match node {
                Node::Dir { mode } | Node::File { mode, .. } => mode,
                Node::Symlink { .. } => continue,
            };
            let wanted = match payload.get(&path) {
                Some(Node::Dir { mode } | Node::File { mode, .. }) => *mode,
                _ if path == "notes.txt" => found,
                _ => 0o755,
            };
            assert_eq!(found & 0o022, wanted & 0o022, "{path} is {found:o}");
        }
    }
}

#[test]
fn a_payload_file_swapped_after_the_repair_was_planned_is_not_installed() {
    let g = Ground::new();
    let payload = g.path("payload");
    let dir = g.path("product");
    assert_ok(&g.install(&dir));
    let damaged = dir.join("part0/sub0/file-0.dat");
    let good = fs::read(&damaged).unwrap();
    fs::remove_file(&damaged).unwrap();
    // The repair plans from the payload folder, then stops; meanwhile its file changes.
    let mut child = ksn_setup()
        .args(["repair", "--payload"])
        .arg(&payload)
        .arg("--dir")
        .arg(&dir)
        .env("KSN_SETUP_FAULT", "pause@begin")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_stopped(&mut child);
    fs::write(payload.join("part0/sub0/file-0.dat"), "an attacker's bytes").unwrap();
    resume(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("part0/sub0/file-0.dat"),
        "{}",
        show(&out)
    );
    assert!(!damaged.exists(), "the swapped file was not put in place");
    fs::write(payload.join("part0/sub0/file-0.dat"), &good).unwrap();
    assert_ok(&run_on(
        &["repair", "--payload", payload.to_str().unwrap()],
        &dir,
    ));
    assert_eq!(fs::read(&damaged).unwrap(), good);
}

#[test]
fn a_per_user_install_follows_the_same_rule_for_that_user() {
    let g = Ground::new();
    // The program, where the unprivileged user may run it.
    let program = g.path("ksn-setup");
    fs::copy(bin(), &program).unwrap();
    let as_user = |dir: &Path| {
        Command::new(&program)
            .args([
                "install",
                "--unattended",
                "--accept-eula",
                "--accept-privacy-policy",
            ])
            .args(["--payload", &g.payload(), "--dir"])
            .arg(dir)
            .env("HOME", g.path("shared/home"))
            .env_remove("KSN_SETUP_FAULT")
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
            .unwrap()
    };
    g.attacker("mkdir -p shared/home/.local/share");
    // Its own folder: fine, and the product is that user's.
    let own = g.path("shared/home/.local/share/ksn-demo");
    assert_ok(&as_user(&own));
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        fs::metadata(own.join("etc/product.toml")).unwrap().uid(),
        NOBODY
    );
    // A folder another (non-root) user owns, and one everybody can write: refused.
    let other = g.path("shared/other");
    fs::create_dir(&other).unwrap();
    std::os::unix::fs::chown(&other, Some(12345), Some(12345)).unwrap();
    refused(&as_user(&other.join("ksn")), &other, "owned by user 12345");
    let open = g.path("shared/open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    refused(
        &as_user(&open.join("ksn")),
        &open,
        "every other user can write to it",
    );
}
