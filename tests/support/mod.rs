//! Helpers shared by the integration tests: run the built binary, snapshot folders, make
//! payloads and statement folders.
#![allow(dead_code)]

pub mod headless;
pub mod language;
pub mod xvfb;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The program under test: the debug build cargo made for the tests, or the one named by
/// `KSN_SETUP_TEST_BIN` (CI points it at the release build too, the program users run).
pub fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("KSN_SETUP_TEST_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_ksn-setup").to_string())
    })
}

/// The repository's folders.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn payload_dir() -> PathBuf {
    repo().join("payload")
}

/// A `ksn-setup` command with a clean, English environment.
pub fn ksn_setup() -> Command {
    program_command(Path::new(bin()))
}

/// `program` (a copy of ksn-setup) with a clean, English environment, and a menu folder of
/// its own (see [`fresh_menu_dir`]).
pub fn program_command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    let menus = fresh_menu_dir();
    cmd.env_remove("KSN_SETUP_FAULT")
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("XDG_DATA_HOME", &menus)
        .env("XDG_DATA_DIRS", &menus);
    cmd
}

/// A new, empty folder for one command's menu entries, as `$XDG_DATA_HOME` and
/// `$XDG_DATA_DIRS`: an install's entries and icon land there, never in this machine's
/// `/usr/local/share`, and tests running side by side never share one. A test that looks at
/// the entries points the variables at a folder of its own.
pub fn fresh_menu_dir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let parent = std::env::temp_dir().join("ksn-setup-test-menus");
    fs::create_dir_all(&parent).expect("make the test menu folders");
    let dir = parent.join(format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir(&dir).expect("make a test menu folder");
    dir
}

/// `ksn-setup install --unattended --accept-eula --accept-privacy-policy --dir DIR ARGS…`
pub fn install(dir: &Path, args: &[&str]) -> Output {
    install_with(dir, args, None)
}

pub fn install_with(dir: &Path, args: &[&str], fault: Option<&str>) -> Output {
    let mut cmd = install_command(dir, args);
    if let Some(fault) = fault {
        cmd.env("KSN_SETUP_FAULT", fault);
    }
    cmd.output().expect("run ksn-setup")
}

/// `ksn-setup ARGS --dir DIR`, run with no input.
pub fn run_on(args: &[&str], dir: &Path) -> Output {
    ksn_setup()
        .args(args)
        .arg("--dir")
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ksn-setup")
}

/// The unattended install command, not yet run.
pub fn install_command(dir: &Path, args: &[&str]) -> Command {
    install_command_of(Path::new(bin()), dir, args)
}

/// The unattended install command of `program` (a copy of ksn-setup), not yet run.
pub fn install_command_of(program: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = program_command(program);
    cmd.args([
        "install",
        "--unattended",
        "--accept-eula",
        "--accept-privacy-policy",
        "--dir",
    ])
    .arg(dir)
    .args(args);
    cmd
}

pub fn show(out: &Output) -> String {
    format!(
        "status: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn assert_ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", show(out));
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What stands at a path: kind, mode and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir { mode: u32 },
    File { mode: u32, bytes: Vec<u8> },
    Symlink { target: PathBuf },
}

/// Every path under `root` (relative) with what stands there; empty when `root` is absent.
pub fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    if fs::symlink_metadata(root).is_ok() {
        walk(root, root, &mut out);
    }
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
    for entry in fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let meta = fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        if meta.file_type().is_symlink() {
            out.insert(
                rel,
                Node::Symlink {
                    target: fs::read_link(&path).unwrap(),
                },
            );
        } else if meta.is_dir() {
            out.insert(rel, Node::Dir { mode });
            walk(root, &path, out);
        } else {
            out.insert(
                rel,
                Node::File {
                    mode,
                    bytes: fs::read(&path).unwrap(),
                },
            );
        }
    }
}

/// Asserts two snapshots are equal, naming the first difference.
pub fn assert_same_tree(
    expected: &BTreeMap<String, Node>,
    actual: &BTreeMap<String, Node>,
    context: &str,
) {
    for (path, node) in expected {
        match actual.get(path) {
            None => panic!("{context}: \"{path}\" is missing"),
            Some(found) if found != node => panic!("{context}: \"{path}\" differs"),
            _ => {}
        }
    }
    for path in actual.keys() {
        assert!(
            expected.contains_key(path),
            "{context}: unexpected \"{path}\""
        );
    }
}

/// The installed tree without the installer's own records and what it adds to every install
/// (the statements, and from an installer the maintenance program and settings launcher).
pub fn payload_part(tree: &BTreeMap<String, Node>) -> BTreeMap<String, Node> {
    let mut part: BTreeMap<String, Node> = tree
        .iter()
        .filter(|(p, _)| {
            !p.starts_with(".ksn-setup")
                && p.as_str() != "etc/product.toml"
                && p.as_str() != "etc/consent-log.jsonl"
                && !is_added_by_setup(p)
        })
        .map(|(p, n)| (p.clone(), n.clone()))
        .collect();
    // `lib` and `bin` may have been made only for what ksn-setup adds.
    for dir in ["lib", "bin"] {
        let prefix = format!("{dir}/");
        if !part.keys().any(|k| k.starts_with(&prefix)) {
            part.remove(dir);
        }
    }
    part
}

/// Whether an installed path is one ksn-setup adds itself: `lib/ksn-setup/…` (statements,
/// maintenance program) and `bin/ksn-settings`, with the folders made for them.
pub fn is_added_by_setup(path: &str) -> bool {
    path == "lib/ksn-setup" || path.starts_with("lib/ksn-setup/") || path == "bin/ksn-settings"
}

/// Writes a small payload tree of `files` files, content varied by `version`.
pub fn make_payload(dir: &Path, files: usize, version: u32) {
    for i in 0..files {
        let sub = dir.join(format!("part{}/sub{}", i % 3, i % 2));
        fs::create_dir_all(&sub).unwrap();
        let path = sub.join(format!("file-{i}.dat"));
        let bytes: Vec<u8> = (0..(1000 + i * 37))
            .map(|b| ((b * 31 + i + version as usize) % 251) as u8)
            .collect();
        fs::write(&path, bytes).unwrap();
        if i % 5 == 0 {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    // Something only this version has, so upgrades remove and rollbacks restore it.
    fs::create_dir_all(dir.join(format!("only-v{version}"))).unwrap();
    fs::write(
        dir.join(format!("only-v{version}/notes.txt")),
        format!("version {version}\n"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "../part0/sub0/file-0.dat",
        dir.join(format!("only-v{version}/link")),
    )
    .unwrap();
    fs::create_dir_all(dir.join("bin")).unwrap();
    fs::write(
        dir.join("bin/tool"),
        format!("#!/bin/sh\necho v{version}\n"),
    )
    .unwrap();
    fs::set_permissions(dir.join("bin/tool"), fs::Permissions::from_mode(0o755)).unwrap();
}

/// Copies `statements/` to `dir`, giving the KSN statement `version`, new text, and the
/// earlier version 1.1 superseded with `carries_over` (named by the SHA-256 of its texts,
/// which ship beside the new ones).
pub fn statements_with_new_ksn(dir: &Path, version: &str, carries_over: bool) {
    fs::create_dir_all(dir).unwrap();
    for entry in fs::read_dir(repo().join("statements")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let mut hashes = Vec::new();
    for lang in ["en", "ru"] {
        let path = dir.join(format!("ksn.{lang}.txt"));
        let old = fs::read(&path).unwrap();
        fs::write(dir.join(format!("ksn-1.1.{lang}.txt")), &old).unwrap();
        hashes.push(format!("{lang} = \"{}\"", sha256_hex(&old)));
        let mut text = String::from_utf8(old).unwrap();
        text.push_str(&format!(
            "\nVersion {version}: we now also send crash reports.\n"
        ));
        fs::write(&path, text).unwrap();
    }
    let index = fs::read_to_string(dir.join("statements.toml")).unwrap();
    let mut index = index.replace("version = \"1.1\"", &format!("version = \"{version}\""));
    assert!(
        index.contains(&format!("version = \"{version}\""))
            && index.trim_end().ends_with("ksn-1.0.ru.txt\" }"),
        "statements.toml changed shape"
    );
    index.push_str(&format!(
        "\n[[statement.supersedes]]\nversion = \"1.1\"\nconsent_carries_over = {carries_over}\nsha256 = {{ {} }}\nfiles = {{ en = \"ksn-1.1.en.txt\", ru = \"ksn-1.1.ru.txt\" }}\n",
        hashes.join(", ")
    ));
    fs::write(dir.join("statements.toml"), index).unwrap();
}

/// Copies `statements/` to `dir` with the KSN statement's texts changed but its version
/// kept: what an agreement must not survive.
pub fn statements_with_changed_ksn_text(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for entry in fs::read_dir(repo().join("statements")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    for lang in ["en", "ru"] {
        let path = dir.join(format!("ksn.{lang}.txt"));
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("\nWe now also send the names of your documents.\n");
        fs::write(&path, text).unwrap();
    }
}

pub fn read_toml(path: &Path) -> toml::Table {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

pub fn consent_lines(dir: &Path) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(dir.join("etc/consent-log.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each consent line is JSON"))
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// No transaction leftovers anywhere under `dir`.
pub fn assert_no_leftovers(dir: &Path) {
    assert!(
        !dir.join(".ksn-setup/txn").exists(),
        "transaction folder left in {}",
        dir.display()
    );
    for path in snapshot(dir).keys() {
        assert!(!path.ends_with(".ksn-tmp"), "temp file left: {path}");
    }
}

/// A tmpfs mounted at `dir` with `options` (`ro`, `size=1m`), unmounted when dropped. Mounting
/// needs root: without it the test fails here, saying so, instead of passing untested.
pub struct Mount {
    dir: PathBuf,
}

impl Mount {
    pub fn tmpfs(dir: &Path, options: &[&str]) -> Mount {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &options.join(","), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs at {} (this test needs root, as CI has): {}",
            dir.display(),
            show(&out)
        );
        Mount {
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}
