//! Durability: whatever happens to an install (SIGKILL at a random moment or at a fault point,
//! a full disk, a power cut), the target ends either absent (or, for a reinstall, the earlier
//! install byte for byte) or fully installed, and `recover` leaves no transaction behind.
//!
//! Every test runs the built binary in temp folders on generated payloads. The tests that need
//! root (tmpfs, loop-mounted ext4) print a message and pass when they cannot run. Tests with
//! many cases run them all and then list every failing one. `DURABILITY_SEED=N` shifts the
//! random kill times, `DURABILITY_ITERATIONS=N` runs more of them (`-- --nocapture` shows the
//! seeds and what each kill left).
#![cfg(feature = "fault-injection")]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The program under test: the test build, or `KSN_SETUP_TEST_BIN` (the release build in CI).
fn bin() -> String {
    std::env::var("KSN_SETUP_TEST_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_ksn-setup").to_string())
}
const FAULT_ENV: &str = "KSN_SETUP_FAULT";
/// How long any single run may take before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(240);
const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

/// `ksn-setup ARGS` with a predictable environment: English messages, no GUI, no fault.
fn ksn(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_remove(FAULT_ENV)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("LANGUAGE")
        .env("LANG", "C.UTF-8")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::null());
    cmd
}

/// A menu folder for this test process, never this machine's /usr/local/share. (Installs of
/// a bare payload folder add no menu entries; this keeps the tests hermetic if they did.)
fn menu_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("ksn-setup-durability-menus-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("make the test menu folder");
        dir
    })
}

fn install_cmd(payload: &Path, target: &Path) -> Command {
    install_cmd_answering(payload, target, "decline")
}

/// Version 1 of a reinstall case: it agrees, so that the reinstall's decline is a new
/// decision, with its consent-log line (the same answer again records nothing).
fn install_v1_cmd(payload: &Path, target: &Path) -> Command {
    install_cmd_answering(payload, target, "agree")
}

fn install_cmd_answering(payload: &Path, target: &Path, ksn_answer: &str) -> Command {
    let mut cmd = ksn(&[
        "install",
        "--unattended",
        "--accept-eula",
        "--accept-privacy-policy",
        "--ksn",
        ksn_answer,
    ]);
    cmd.arg("--payload").arg(payload).arg("--dir").arg(target);
    cmd.env("XDG_DATA_HOME", menu_dir())
        .env("XDG_DATA_DIRS", menu_dir());
    cmd
}

fn recover_cmd(target: &Path) -> Command {
    let mut cmd = ksn(&["recover"]);
    cmd.arg("--dir").arg(target);
    cmd
}

fn with_fault(mut cmd: Command, fault: &str) -> Command {
    cmd.env(FAULT_ENV, fault);
    cmd
}

/// The command as a shell line (only the fault variable of the environment is shown).
fn describe(cmd: &Command) -> String {
    let mut line = String::new();
    for (key, value) in cmd.get_envs() {
        if let (FAULT_ENV, Some(value)) = (key.to_string_lossy().as_ref(), value) {
            line.push_str(&format!("{FAULT_ENV}={} ", value.to_string_lossy()));
        }
    }
    line.push_str(&cmd.get_program().to_string_lossy());
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// A running ksn-setup whose output goes to anonymous temp files (so a stopped or killed
/// process never blocks on a pipe). Dropping it kills the process if it still runs.
struct Proc {
    child: Child,
    desc: String,
    stdout: File,
    stderr: File,
    status: Option<ExitStatus>,
}

/// A finished run: the command, how it ended and what it printed.
struct Outcome {
    desc: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Proc {
    fn spawn(mut cmd: Command) -> Proc {
        let desc = describe(&cmd);
        let stdout = tempfile::tempfile().expect("create a temp file for stdout");
        let stderr = tempfile::tempfile().expect("create a temp file for stderr");
        cmd.stdout(stdout.try_clone().expect("clone the stdout file"))
            .stderr(stderr.try_clone().expect("clone the stderr file"));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{desc}`: {e}"));
        Proc {
            child,
            desc,
            stdout,
            stderr,
            status: None,
        }
    }

    fn pid(&self) -> libc::pid_t {
        libc::pid_t::try_from(self.child.id()).expect("pid fits in pid_t")
    }

    fn poll(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self
                .child
                .try_wait()
                .unwrap_or_else(|e| panic!("cannot wait for `{}`: {e}", self.desc));
        }
        self.status
    }

    /// Sends `sig` unless the process has already been reaped (so the pid cannot be reused).
    fn signal(&mut self, sig: libc::c_int) {
        if self.poll().is_none() {
            // SAFETY: kill(2) with a pid we own and have not reaped yet.
            unsafe { libc::kill(self.pid(), sig) };
        }
    }

    fn read_output(&mut self) -> (String, String) {
        fn read(f: &mut File) -> String {
            let mut bytes = Vec::new();
            f.seek(SeekFrom::Start(0)).expect("rewind an output file");
            f.read_to_end(&mut bytes).expect("read an output file");
            String::from_utf8_lossy(&bytes).into_owned()
        }
        (read(&mut self.stdout), read(&mut self.stderr))
    }

    fn wait_for(&mut self, limit: Duration) -> Outcome {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.poll() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let (out, err) = self.read_output();
                panic!(
                    "`{}` did not finish within {limit:?} (killed it)\n--- stdout ---\n{out}\n--- stderr ---\n{err}",
                    self.desc
                );
            }
            sleep(Duration::from_millis(5));
        };
        let (stdout, stderr) = self.read_output();
        Outcome {
            desc: self.desc.clone(),
            status,
            stdout,
            stderr,
        }
    }

    fn wait(&mut self) -> Outcome {
        self.wait_for(RUN_LIMIT)
    }

    fn kill_and_wait(&mut self) -> Outcome {
        self.signal(libc::SIGKILL);
        self.wait()
    }

    /// Waits until the process has stopped itself (a `pause@…` fault point).
    fn wait_stopped(&mut self) {
        let deadline = Instant::now() + RUN_LIMIT;
        loop {
            if self.poll().is_some() {
                let outcome = self.wait();
                panic!(
                    "expected the process to stop itself at its pause fault point, but it ended\n{}",
                    outcome.report()
                );
            }
            if matches!(process_state(self.pid()), Some('T' | 't')) {
                return;
            }
            if Instant::now() > deadline {
                panic!("`{}` did not stop within {RUN_LIMIT:?}", self.desc);
            }
            sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Outcome {
    fn report(&self) -> String {
        format!(
            "command: {}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.desc, self.status, self.stdout, self.stderr
        )
    }

    fn expect_code(&self, code: i32, what: &str) -> &Self {
        if self.status.code() != Some(code) {
            panic!("{what}: expected exit code {code}\n{}", self.report());
        }
        self
    }

    fn killed(&self) -> bool {
        self.status.signal() == Some(libc::SIGKILL)
    }

    fn text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

fn run(cmd: Command) -> Outcome {
    Proc::spawn(cmd).wait()
}

/// The state letter of /proc/PID/stat (`R`, `S`, `T`, `Z`, …).
fn process_state(pid: libc::pid_t) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.trim_start().chars().next()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `body`, turning a panic into an error message, so a test can go through all its cases
/// and report every failing one.
fn run_case(name: &str, failures: &mut Vec<String>, body: impl FnOnce()) {
    let started = Instant::now();
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(()) => println!("ok   {name} ({:?})", started.elapsed()),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "non-string panic".to_owned());
            println!("FAIL {name}");
            failures.push(format!("== {name} ==\n{message}"));
        }
    }
}

fn finish_cases(failures: Vec<String>) {
    if !failures.is_empty() {
        panic!(
            "{} case(s) failed:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Payloads
// ---------------------------------------------------------------------------------------------

/// splitmix64: deterministic content and shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n fits in usize")
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

struct FileSpec {
    rel: String,
    size: usize,
    mode: u32,
    seed: u64,
}

fn content(seed: u64, size: usize) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut bytes = Vec::with_capacity(size + 8);
    while bytes.len() < size {
        bytes.extend_from_slice(&rng.next().to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

fn write_tree(root: &Path, files: &[FileSpec]) {
    for f in files {
        let path = root.join(&f.rel);
        fs::create_dir_all(path.parent().expect("a payload file has a parent"))
            .unwrap_or_else(|e| panic!("create the folder of {}: {e}", path.display()));
        fs::write(&path, content(f.seed, f.size))
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        fs::set_permissions(&path, fs::Permissions::from_mode(f.mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    }
}

/// About `total` bytes in `files` files spread over a random folder tree up to five levels
/// deep; the first six files are executables in `bin/`, two files are empty, a few are big.
fn tree_payload(seed: u64, files: usize, total: usize) -> Vec<FileSpec> {
    let mut rng = Rng(seed);
    let mut dirs: Vec<String> = ["bin", "lib", "share", "data", "modules", "resources"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let wanted_dirs = (files / 10).clamp(8, 80);
    while dirs.len() < wanted_dirs {
        let parent = dirs[rng.below(dirs.len())].clone();
        if parent.starts_with("bin") || parent.matches('/').count() >= 4 {
            continue;
        }
        let name = format!("{parent}/d{:02}", dirs.len());
        dirs.push(name);
    }
    let mut raw = Vec::with_capacity(files);
    for i in 0..files {
        let weight = if i == 10 || i == 11 {
            0
        } else if rng.below(25) == 0 {
            400_000 + rng.below(800_000)
        } else {
            512 + rng.below(100_000)
        };
        raw.push(weight);
    }
    let raw_total: usize = raw.iter().sum::<usize>().max(1);
    (0..files)
        .map(|i| {
            let (rel, mode) = if i < 6 {
                (format!("bin/tool-{i}"), 0o755)
            } else {
                let dir = &dirs[1 + rng.below(dirs.len() - 1)];
                (format!("{dir}/file-{i:04}.dat"), 0o644)
            };
            let size = usize::try_from(raw[i] as u128 * total as u128 / raw_total as u128)
                .expect("size fits");
            FileSpec {
                rel,
                size,
                mode,
                seed: seed ^ fnv(&format!("{i}")).rotate_left(17),
            }
        })
        .collect()
}

/// A small product in two versions. Version 2 keeps half of the files of version 1 as they
/// are, changes the others (one changes mode), drops four (obsolete) and adds files in eight
/// new nested folders, so every fault point is reached at least six times where it can be.
fn small_payload(version: u64) -> Vec<FileSpec> {
    let mut files = Vec::new();
    let mut add = |rel: String, mode: u32, seed: u64| {
        let size = if rel == "lib/core/item-2.bin" {
            0
        } else {
            64 + usize::try_from(seed % 12_000).expect("fits")
        };
        files.push(FileSpec {
            rel,
            size,
            mode,
            seed,
        });
    };
    for dir in ["bin", "lib/core", "share/doc/ksn", "data/db/main"] {
        for j in 0..6u64 {
            let rel = if dir == "bin" {
                format!("bin/tool-{j}")
            } else {
                format!("{dir}/item-{j}.bin")
            };
            let changed = j >= 3;
            let seed = fnv(&rel) ^ if changed { version << 40 } else { 0 };
            let executable = dir == "bin" && (j == 0 || (j == 4 && version >= 2));
            add(rel, if executable { 0o755 } else { 0o644 }, seed);
        }
    }
    if version == 1 {
        for j in 0..4 {
            let rel = format!("old/legacy/x/obsolete-{j}.dat");
            let seed = fnv(&rel);
            add(rel, 0o644, seed);
        }
    } else {
        for dir in ["plugins/alpha/beta/gamma/delta", "modules/one/two"] {
            for j in 0..3 {
                let rel = format!("{dir}/new-{j}.dat");
                let seed = fnv(&rel) ^ version;
                add(rel, 0o644, seed);
            }
        }
    }
    add("README.txt".to_owned(), 0o644, fnv("README") ^ version);
    add("LICENSE.txt".to_owned(), 0o644, fnv("LICENSE"));
    files
}

// ---------------------------------------------------------------------------------------------
// Looking at a target
// ---------------------------------------------------------------------------------------------

/// Every entry under `root` (relative path, metadata), sorted, without following symlinks.
fn walk(root: &Path) -> Vec<(PathBuf, fs::Metadata)> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let entries =
            fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
            let rel = rel.join(entry.file_name());
            let meta = fs::symlink_metadata(entry.path())
                .unwrap_or_else(|e| panic!("cannot stat {}: {e}", entry.path().display()));
            if meta.is_dir() {
                stack.push(rel.clone());
            }
            out.push((rel, meta));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn exists(path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => panic!("cannot stat {}: {e}", path.display()),
    }
}

fn listing(root: &Path, limit: usize) -> String {
    if !exists(root) {
        return "  (does not exist)".to_owned();
    }
    let entries = walk(root);
    let mut text: Vec<String> = entries
        .iter()
        .take(limit)
        .map(|(rel, meta)| {
            let kind = if meta.is_dir() { "/" } else { "" };
            format!("  {}{kind} ({} bytes)", rel.display(), meta.len())
        })
        .collect();
    if entries.len() > limit {
        text.push(format!("  … and {} more", entries.len() - limit));
    }
    text.join("\n")
}

fn in_state_dir(rel: &Path) -> bool {
    rel.starts_with(".ksn-setup")
}

fn mode_of(meta: &fs::Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}

/// After any run that exited, or after `recover`: no transaction folder, no temp file.
/// Where a fresh install into `target` builds its tree before moving it into place.
fn beside(target: &Path) -> PathBuf {
    let name = target.file_name().unwrap().to_str().unwrap();
    target.with_file_name(format!(".{name}.ksn-setup-new"))
}

fn assert_clean(target: &Path, ctx: &str) {
    if exists(&beside(target)) {
        panic!(
            "{ctx}: the fresh install's folder {} was left behind:\n{}",
            beside(target).display(),
            listing(&beside(target), 30)
        );
    }
    if !exists(target) {
        return;
    }
    let txn = target.join(".ksn-setup/txn");
    let mut problems = Vec::new();
    if exists(&txn) {
        problems.push(format!("{} exists:\n{}", txn.display(), listing(&txn, 30)));
    }
    for (rel, _) in walk(target) {
        if rel.to_string_lossy().ends_with(".ksn-tmp") {
            problems.push(format!("temp file left behind: {}", rel.display()));
        }
    }
    if !problems.is_empty() {
        panic!(
            "{ctx}: {} is not clean:\n{}",
            target.display(),
            problems.join("\n")
        );
    }
}

fn assert_absent(target: &Path, ctx: &str) {
    if exists(target) {
        panic!(
            "{ctx}: expected {} to be absent (rolled back), but it holds:\n{}",
            target.display(),
            listing(target, 40)
        );
    }
}

/// If the config exists it is a whole TOML document with a `[ksn]` table.
fn assert_config_not_torn(target: &Path, ctx: &str) {
    let path = target.join("etc/product.toml");
    if !exists(&path) {
        return;
    }
    let text = fs::read(&path).unwrap_or_else(|e| panic!("{ctx}: read {}: {e}", path.display()));
    let text = String::from_utf8_lossy(&text);
    match text.parse::<toml::Table>() {
        Ok(table) if table.get("ksn").is_some_and(toml::Value::is_table) => {}
        Ok(_) => panic!("{ctx}: {} has no [ksn] table:\n{text}", path.display()),
        Err(e) => panic!(
            "{ctx}: {} is torn (not TOML): {e}\n--- content ---\n{text}",
            path.display()
        ),
    }
}

/// Problems that keep `target` from being a complete install of `payload` (empty: complete).
fn install_problems(payload: &Path, target: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    if !exists(target) {
        return vec![format!("{} does not exist", target.display())];
    }
    let payload_files: BTreeMap<PathBuf, fs::Metadata> = walk(payload)
        .into_iter()
        .filter(|(_, m)| m.is_file())
        .collect();
    for (rel, pmeta) in &payload_files {
        let installed = target.join(rel);
        let meta = match fs::symlink_metadata(&installed) {
            Ok(meta) => meta,
            Err(e) => {
                problems.push(format!("missing {}: {e}", rel.display()));
                continue;
            }
        };
        if !meta.is_file() {
            problems.push(format!("{} is not a regular file", rel.display()));
            continue;
        }
        if mode_of(&meta) != mode_of(pmeta) {
            problems.push(format!(
                "{}: mode {:o}, payload has {:o}",
                rel.display(),
                mode_of(&meta),
                mode_of(pmeta)
            ));
        }
        let want = fs::read(payload.join(rel)).expect("read a payload file");
        match fs::read(&installed) {
            Ok(got) if got == want => {}
            Ok(got) => problems.push(format!(
                "{}: content differs ({} bytes, payload has {})",
                rel.display(),
                got.len(),
                want.len()
            )),
            Err(e) => problems.push(format!("{}: cannot read: {e}", rel.display())),
        }
    }
    let allowed: BTreeSet<PathBuf> = ["etc/product.toml", "etc/consent-log.jsonl"]
        .iter()
        .map(PathBuf::from)
        .collect();
    for (rel, meta) in walk(target) {
        if in_state_dir(&rel) || meta.is_dir() {
            continue;
        }
        // The statements (and from an installer, the maintenance program) ksn-setup adds.
        let added = rel.starts_with("lib/ksn-setup") || rel == Path::new("bin/ksn-settings");
        if !payload_files.contains_key(&rel) && !allowed.contains(&rel) && !added {
            problems.push(format!("unexpected {} (not in the payload)", rel.display()));
        }
    }
    let config = target.join("etc/product.toml");
    match fs::read_to_string(&config) {
        Err(e) => problems.push(format!("etc/product.toml: {e}")),
        Ok(text) => match text.parse::<toml::Table>() {
            Err(e) => problems.push(format!("etc/product.toml is not TOML: {e}\n{text}")),
            Ok(table) => {
                let decision = table
                    .get("ksn")
                    .and_then(|k| k.get("decision"))
                    .and_then(toml::Value::as_str);
                // Version 1 of a reinstall case agrees (`install_v1_cmd`); every other
                // install declines.
                let want = if payload.ends_with("v1") {
                    "agreed"
                } else {
                    "declined"
                };
                if decision != Some(want) {
                    problems.push(format!(
                        "etc/product.toml: [ksn] decision is {decision:?}, want \"{want}\"\n{text}"
                    ));
                }
            }
        },
    }
    match fs::read_to_string(target.join("etc/consent-log.jsonl")) {
        Err(e) => problems.push(format!("etc/consent-log.jsonl: {e}")),
        Ok(text) => {
            let whole_lines = text.ends_with('\n')
                && text
                    .lines()
                    .all(|l| l.starts_with('{') && l.trim_end().ends_with('}'));
            if text.is_empty() || !whole_lines {
                problems.push(format!(
                    "etc/consent-log.jsonl is not whole JSON lines:\n{text}"
                ));
            }
        }
    }
    match fs::read_to_string(target.join(".ksn-setup/receipt.toml")) {
        Err(e) => problems.push(format!(".ksn-setup/receipt.toml: {e}")),
        Ok(text) => {
            if let Err(e) = text.parse::<toml::Table>() {
                problems.push(format!(".ksn-setup/receipt.toml is not TOML: {e}"));
            }
        }
    }
    problems
}

fn assert_installed(payload: &Path, target: &Path, ctx: &str) {
    let problems = install_problems(payload, target);
    if !problems.is_empty() {
        let shown: Vec<&String> = problems.iter().take(30).collect();
        panic!(
            "{ctx}: {} is not a complete install of {} ({} problem(s)):\n - {}\nthe target holds:\n{}",
            target.display(),
            payload.display(),
            problems.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n - "),
            listing(target, 60)
        );
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Absent,
    Installed,
}

/// The all-or-nothing property for a fresh target.
fn assert_absent_or_installed(payload: &Path, target: &Path, ctx: &str) -> State {
    if !exists(target) {
        return State::Absent;
    }
    let problems = install_problems(payload, target);
    if problems.is_empty() {
        return State::Installed;
    }
    panic!(
        "{ctx}: {} is neither absent nor a complete install of {}:\n - {}\nthe target holds:\n{}",
        target.display(),
        payload.display(),
        problems
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n - "),
        listing(target, 60)
    );
}

#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File { mode: u32, bytes: Vec<u8> },
    Symlink(PathBuf),
    Other,
}

type Snapshot = BTreeMap<PathBuf, Node>;

/// Everything a user sees in an install: all entries outside `.ksn-setup/`, plus the receipt.
fn snapshot(target: &Path) -> Snapshot {
    walk(target)
        .into_iter()
        .filter(|(rel, _)| !in_state_dir(rel) || rel == Path::new(".ksn-setup/receipt.toml"))
        .map(|(rel, meta)| {
            let path = target.join(&rel);
            let node = if meta.is_dir() {
                Node::Dir
            } else if meta.is_file() {
                Node::File {
                    mode: mode_of(&meta),
                    bytes: fs::read(&path)
                        .unwrap_or_else(|e| panic!("read {}: {e}", path.display())),
                }
            } else if meta.file_type().is_symlink() {
                Node::Symlink(fs::read_link(&path).expect("read a symlink"))
            } else {
                Node::Other
            };
            (rel, node)
        })
        .collect()
}

fn describe_node(node: &Node) -> String {
    match node {
        Node::Dir => "folder".to_owned(),
        Node::File { mode, bytes } => {
            if bytes.len() <= 4096 && std::str::from_utf8(bytes).is_ok() {
                format!(
                    "file mode {mode:o}, {} bytes:\n{}",
                    bytes.len(),
                    String::from_utf8_lossy(bytes)
                )
            } else {
                format!("file mode {mode:o}, {} bytes", bytes.len())
            }
        }
        Node::Symlink(to) => format!("symlink to {}", to.display()),
        Node::Other => "special file".to_owned(),
    }
}

/// The earlier install is back exactly: same entries, same bytes and modes (config and consent
/// log included), same receipt.
fn assert_same_tree(before: &Snapshot, target: &Path, ctx: &str) {
    if !exists(target) {
        panic!(
            "{ctx}: the earlier install at {} is gone entirely",
            target.display()
        );
    }
    let after = snapshot(target);
    let mut problems = Vec::new();
    for (rel, old) in before {
        match after.get(rel) {
            None => problems.push(format!("missing {}", rel.display())),
            Some(new) if new != old => problems.push(format!(
                "changed {}\n   before: {}\n   after:  {}",
                rel.display(),
                describe_node(old),
                describe_node(new)
            )),
            Some(_) => {}
        }
    }
    for (rel, node) in &after {
        if !before.contains_key(rel) {
            problems.push(format!(
                "unexpected {} ({})",
                rel.display(),
                describe_node(node)
            ));
        }
    }
    if !problems.is_empty() {
        let shown: Vec<String> = problems.iter().take(30).cloned().collect();
        panic!(
            "{ctx}: the earlier install at {} was not restored exactly ({} difference(s)):\n - {}",
            target.display(),
            problems.len(),
            shown.join("\n - ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Mounts (root only)
// ---------------------------------------------------------------------------------------------

fn command_output(program: &str, args: &[&str]) -> Result<String, String> {
    let line = format!("{program} {}", args.join(" "));
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Err(e) => Err(format!("`{line}`: cannot start: {e}")),
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => Err(format!(
            "`{line}`: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// A mounted file system, unmounted (and its loop device detached) on drop, even on panic.
struct Mount {
    dir: PathBuf,
    image: Option<PathBuf>,
    mounted: bool,
}

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Result<Mount, String> {
        let d = dir.to_str().expect("UTF-8 temp path");
        command_output(
            "mount",
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", d],
        )?;
        Ok(Mount {
            dir: dir.to_owned(),
            image: None,
            mounted: true,
        })
    }

    fn loop_image(image: &Path, dir: &Path) -> Result<Mount, String> {
        let mut mount = Mount {
            dir: dir.to_owned(),
            image: Some(image.to_owned()),
            mounted: false,
        };
        mount.mount()?;
        Ok(mount)
    }

    fn mount(&mut self) -> Result<(), String> {
        let image = self.image.as_ref().expect("only loop mounts are remounted");
        command_output(
            "mount",
            &[
                "-o",
                "loop",
                image.to_str().expect("UTF-8 temp path"),
                self.dir.to_str().expect("UTF-8 temp path"),
            ],
        )?;
        self.mounted = true;
        Ok(())
    }

    fn unmount(&mut self) -> Result<(), String> {
        let dir = self.dir.to_str().expect("UTF-8 temp path");
        let mut last = String::new();
        for _ in 0..50 {
            match command_output("umount", &[dir]) {
                Ok(_) => {
                    self.mounted = false;
                    self.detach_loops();
                    return Ok(());
                }
                Err(e) => last = e,
            }
            sleep(Duration::from_millis(100));
        }
        Err(last)
    }

    /// Unmount and mount again: after a shutdown this replays the ext4 journal, as a reboot would.
    fn remount(&mut self) {
        self.unmount()
            .unwrap_or_else(|e| panic!("unmount after the power cut: {e}"));
        self.mount()
            .unwrap_or_else(|e| panic!("mount again after the power cut: {e}"));
    }

    /// After a case that panicked between a power cut and the remount, the file system is still
    /// shut down (every write fails): mount it again so the next case starts from a live disk.
    fn ensure_usable(&mut self) -> Result<(), String> {
        let probe = self.dir.join(".probe");
        if self.mounted && fs::write(&probe, b"probe").is_ok() && fs::remove_file(&probe).is_ok() {
            return Ok(());
        }
        if self.mounted {
            self.unmount()?;
        }
        self.mount()
    }

    fn detach_loops(&self) {
        let Some(image) = &self.image else { return };
        let Ok(list) = command_output("losetup", &["-j", image.to_str().unwrap_or_default()])
        else {
            return;
        };
        for line in list.lines() {
            if let Some((device, _)) = line.split_once(':') {
                let _ = command_output("losetup", &["-d", device]);
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if self.mounted {
            let dir = self.dir.to_str().unwrap_or_default().to_owned();
            if self.unmount().is_err() {
                let _ = command_output("umount", &["-l", &dir]);
                self.mounted = false;
            }
        }
        self.detach_loops();
    }
}

/// Writes zeros into `path` until the file system is full. Returns the bytes written.
fn fill_until_enospc(path: &Path) -> u64 {
    let mut file =
        File::create(path).unwrap_or_else(|e| panic!("create filler {}: {e}", path.display()));
    let chunk = vec![0xA5u8; 1 << 16];
    let mut total = 0u64;
    for size in [1 << 16, 4096, 512, 1] {
        loop {
            match file.write(&chunk[..size]) {
                Ok(0) => break,
                Ok(n) => total += n as u64,
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("fill {}: {e}", path.display()),
            }
        }
    }
    total
}

const EXT4_IOC_SHUTDOWN: u64 = 0x8004_587D; // _IOR('X', 125, __u32)
const EXT4_GOING_FLAGS_NOLOGFLUSH: u32 = 2;

/// Cuts the power under the file system mounted at `mnt`: from now on nothing reaches the disk,
/// and what the ext4 journal had not committed is lost.
fn power_cut(mnt: &Path) {
    let dir = File::open(mnt).unwrap_or_else(|e| panic!("open {}: {e}", mnt.display()));
    let flags: u32 = EXT4_GOING_FLAGS_NOLOGFLUSH;
    // SAFETY: EXT4_IOC_SHUTDOWN reads one u32 through the pointer, which outlives the call.
    let rc = unsafe {
        libc::ioctl(
            dir.as_raw_fd(),
            EXT4_IOC_SHUTDOWN as _,
            &flags as *const u32,
        )
    };
    if rc != 0 {
        panic!(
            "EXT4_IOC_SHUTDOWN on {}: {}",
            mnt.display(),
            io::Error::last_os_error()
        );
    }
}

fn mentions_space(outcome: &Outcome) -> bool {
    outcome.text().to_lowercase().contains("space")
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// Kill times as fractions of an install: iteration `i` of `n` lands in the i-th slice of the
/// install's duration stretched by 15 % (so the last kills can come after the commit), at a
/// position an LCG seeded with `i` picks (PCG-style xorshift output, so that consecutive seeds
/// do not give the same position).
fn kill_fraction(seed: u64, iteration: u64, iterations: u64) -> f64 {
    let mut x = seed;
    for _ in 0..3 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
    let out = (x ^ (x >> 22)) >> (22 + (x >> 61));
    let jitter = (out & 0xFFFF) as f64 / 65_536.0;
    (iteration as f64 + jitter) / iterations as f64 * 1.15
}

#[test]
fn killed_at_random_moments_then_recovered() {
    // DURABILITY_ITERATIONS=N runs more kills (a soak run); the default keeps the test short.
    let iterations: u64 = std::env::var("DURABILITY_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let work = tempfile::tempdir().expect("create a temp dir");
    let payload = work.path().join("payload");
    let specs = tree_payload(0x5EED_0001, 800, 40 * MIB);
    write_tree(&payload, &specs);
    println!(
        "payload: {} files, {} bytes",
        specs.len(),
        specs.iter().map(|f| f.size).sum::<usize>()
    );

    let duration = {
        let dir = tempfile::tempdir().expect("create a temp dir");
        let target = dir.path().join("target");
        let started = Instant::now();
        run(install_cmd(&payload, &target)).expect_code(0, "an uninterrupted install");
        let duration = started.elapsed();
        assert_installed(&payload, &target, "an uninterrupted install");
        assert_clean(&target, "an uninterrupted install");
        duration
    };
    println!("an uninterrupted install takes {duration:?}");

    // DURABILITY_SEED=N shifts the seeds, to try other kill times or replay a printed one.
    let base_seed: u64 = std::env::var("DURABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (mut absent, mut installed) = (0, 0);
    for iteration in 0..iterations {
        let seed = base_seed.wrapping_add(iteration);
        let delay = duration.mul_f64(kill_fraction(seed, iteration, iterations));
        let ctx = format!("iteration {iteration} (seed {seed}, SIGKILL after {delay:?})");
        println!("{ctx}");
        let dir = tempfile::tempdir().expect("create a temp dir");
        let target = dir.path().join("target");

        let mut install = Proc::spawn(install_cmd(&payload, &target));
        sleep(delay);
        let outcome = install.kill_and_wait();
        if !outcome.killed() && outcome.status.code() != Some(0) {
            panic!(
                "{ctx}: the install failed by itself before the kill\n{}",
                outcome.report()
            );
        }

        let recovered = run(recover_cmd(&target));
        recovered.expect_code(0, &format!("{ctx}: recover"));
        let after = format!(
            "{ctx}, after recover\n--- the killed install ---\n{}\n--- recover ---\n{}",
            outcome.report(),
            recovered.report()
        );
        let state = assert_absent_or_installed(&payload, &target, &after);
        assert_clean(&target, &after);
        println!(
            "  {} → {state:?}",
            if outcome.killed() {
                "killed"
            } else {
                "had finished"
            }
        );
        match state {
            State::Absent => absent += 1,
            State::Installed => installed += 1,
        }

        let again = format!("{ctx}: install again after recover");
        run(install_cmd(&payload, &target)).expect_code(0, &again);
        assert_installed(&payload, &target, &again);
        assert_clean(&target, &again);
    }
    println!("{iterations} kills: {absent} ended absent, {installed} ended installed");
}

/// The contract's fault points, in execution order, plus repeats of the per-item points.
const FAULT_POINTS: &[&str] = &[
    "begin",
    "mkdir",
    "mkdir#1",
    "mkdir#5",
    "config-temp",
    "config",
    "consent-log",
    "stage-file",
    "stage-file#1",
    "stage-file#5",
    "staged",
    "install-file",
    "install-file#1",
    "install-file#5",
    "remove-obsolete",
    "receipt",
    "move-into-place",
    "moved-into-place",
    "before-commit",
    "after-commit",
];

/// Whether an install reaches fault point `point`: a fresh target's tree is built beside it
/// and moved into place whole, so nothing is moved file by file or removed as obsolete; a
/// reinstall moves each file, and has no tree to move.
fn reaches(point: &str, reinstall: bool) -> bool {
    let per_file = point.starts_with("install-file") || point == "remove-obsolete";
    let fresh = point.ends_with("into-place");
    (reinstall || !per_file) && (!reinstall || !fresh)
}

#[test]
fn killed_at_every_fault_point_then_recovered() {
    let work = tempfile::tempdir().expect("create a temp dir");
    let v1 = work.path().join("v1");
    let v2 = work.path().join("v2");
    write_tree(&v1, &small_payload(1));
    write_tree(&v2, &small_payload(2));

    let mut failures = Vec::new();
    for &point in FAULT_POINTS {
        for reinstall in [false, true] {
            let name = format!(
                "kill@{point} on a {}",
                if reinstall {
                    "reinstall over version 1"
                } else {
                    "fresh target"
                }
            );
            run_case(&name, &mut failures, || {
                let dir = tempfile::tempdir().expect("create a temp dir");
                let target = dir.path().join("target");
                let before = reinstall.then(|| {
                    run(install_v1_cmd(&v1, &target)).expect_code(0, "install version 1");
                    assert_installed(&v1, &target, "install version 1");
                    snapshot(&target)
                });

                let outcome = run(with_fault(
                    install_cmd(&v2, &target),
                    &format!("kill@{point}"),
                ));
                if !outcome.killed() {
                    // Each install path has points of its own; the other's never come.
                    if !reaches(point, reinstall) && outcome.status.code() == Some(0) {
                        println!("     ({point} is not on this install's path; install completed)");
                        assert_installed(&v2, &target, &name);
                        assert_clean(&target, &name);
                        return;
                    }
                    panic!(
                        "{name}: expected the install to die by SIGKILL at {point}\n{}",
                        outcome.report()
                    );
                }
                assert_config_not_torn(&target, &format!("{name}, before recover"));

                let recovered = run(recover_cmd(&target));
                recovered.expect_code(0, &format!("{name}: recover"));
                let ctx = format!("{name}, after recover\n{}", recovered.report());
                match (point, &before) {
                    ("after-commit", _) => assert_installed(&v2, &target, &ctx),
                    (_, None) => assert_absent(&target, &ctx),
                    (_, Some(before)) => assert_same_tree(before, &target, &ctx),
                }
                assert_clean(&target, &ctx);

                let again = format!("{name}: install version 2 again after recover");
                run(install_cmd(&v2, &target)).expect_code(0, &again);
                assert_installed(&v2, &target, &again);
                assert_clean(&target, &again);
            });
        }
    }
    finish_cases(failures);
}

#[test]
fn full_disk_fails_cleanly_and_rolls_back() {
    assert!(
        is_root(),
        "full_disk_fails_cleanly_and_rolls_back must mount a tmpfs: run the tests as root (CI does)"
    );
    let work = tempfile::tempdir().expect("create a temp dir");
    let mnt = work.path().join("mnt");
    fs::create_dir(&mnt).expect("create the mount point");
    let _mount = match Mount::tmpfs(&mnt, "16m") {
        Ok(mount) => mount,
        Err(e) => panic!("cannot mount a tmpfs, so the full-disk test cannot do its work: {e}"),
    };
    let big = work.path().join("big");
    let v1 = work.path().join("v1");
    let v2 = work.path().join("v2");
    write_tree(&big, &tree_payload(0xB16, 40, 20 * MIB));
    write_tree(&v1, &tree_payload(0x0001, 30, 2 * MIB));
    write_tree(&v2, &tree_payload(0x0002, 40, 4 * MIB));

    let mut failures = Vec::new();

    run_case("(a) payload larger than the disk", &mut failures, || {
        let target = mnt.join("too-big");
        let before = listing(&mnt, 100);
        // kill@begin: an install that gets past preflight dies at its first journal record.
        let outcome = run(with_fault(install_cmd(&big, &target), "kill@begin"));
        if outcome.killed() {
            panic!(
                "preflight let a 20 MiB payload through onto a 16 MiB tmpfs (reached `begin`)\n{}",
                outcome.report()
            );
        }
        outcome.expect_code(1, "install of a payload larger than the free space");
        println!("     refused: {}", outcome.stderr.trim());
        if !mentions_space(&outcome) {
            panic!("the refusal does not mention space\n{}", outcome.report());
        }
        assert_absent(&target, "after the refusal");
        assert_eq!(before, listing(&mnt, 100), "the refusal changed the disk");
    });

    // (b) preflight passes, then the disk fills while the install is paused at POINT.
    // (At `receipt` nothing is left that needs space: the install rightly succeeds.)
    for point in ["config", "stage-file#3", "install-file#2"] {
        for reinstall in [false, true] {
            if !reaches(point, reinstall) {
                continue;
            }
            let name = format!(
                "(b) the disk fills up at {point} during a {}",
                if reinstall {
                    "reinstall"
                } else {
                    "fresh install"
                }
            );
            let target = mnt.join(format!(
                "{}-{}",
                point.replace('#', "-"),
                if reinstall { "reinstall" } else { "fresh" }
            ));
            run_case(&name, &mut failures, || {
                let before = reinstall.then(|| {
                    run(install_v1_cmd(&v1, &target)).expect_code(0, "install version 1");
                    assert_installed(&v1, &target, "install version 1");
                    snapshot(&target)
                });
                let check = |ctx: &str| match &before {
                    None => assert_absent(&target, ctx),
                    Some(before) => assert_same_tree(before, &target, ctx),
                };

                let mut install = Proc::spawn(with_fault(
                    install_cmd(&v2, &target),
                    &format!("pause@{point}"),
                ));
                install.wait_stopped();
                let filler = mnt.join("filler");
                let filled = fill_until_enospc(&filler);
                println!("     filled the tmpfs with {filled} bytes");
                install.signal(libc::SIGCONT);
                let outcome = install.wait();
                let _ = fs::remove_file(&filler);
                outcome.expect_code(1, &format!("{name}: install"));
                println!("     failed: {}", outcome.stderr.trim());
                if !mentions_space(&outcome) {
                    panic!(
                        "{name}: the failure does not mention space\n{}",
                        outcome.report()
                    );
                }
                let ctx = format!("{name}, after the failed install\n{}", outcome.report());
                check(&ctx);
                assert_clean(&target, &ctx);

                let recovered = run(recover_cmd(&target));
                recovered.expect_code(0, &format!("{name}: recover after removing the filler"));
                println!("     recover: {}", recovered.text().trim());
                if !recovered.text().to_lowercase().contains("nothing") {
                    panic!(
                        "{name}: recover after a clean rollback should say there is nothing to recover\n{}",
                        recovered.report()
                    );
                }
                check(&format!("{name}, after recover"));
                assert_clean(&target, &format!("{name}, after recover"));
            });
            // Keep the 16 MiB for the next case.
            let _ = fs::remove_dir_all(&target);
            let _ = fs::remove_file(mnt.join("filler"));
        }
    }
    finish_cases(failures);
}

#[test]
fn power_cut_during_install_and_after_success() {
    assert!(
        is_root(),
        "power_cut_during_install_and_after_success must loop-mount ext4: run the tests as root (CI does)"
    );
    let work = tempfile::tempdir().expect("create a temp dir");
    let image = work.path().join("disk.img");
    let mnt = work.path().join("mnt");
    fs::create_dir(&mnt).expect("create the mount point");
    File::create(&image)
        .and_then(|f| f.set_len(256 * MIB as u64))
        .expect("create the disk image");
    if let Err(e) = command_output(
        "mkfs.ext4",
        &["-q", "-F", image.to_str().expect("UTF-8 temp path")],
    ) {
        panic!("cannot make an ext4 file system, so the power-cut test cannot do its work: {e}");
    }
    let mut mount = match Mount::loop_image(&image, &mnt) {
        Ok(mount) => mount,
        Err(e) => {
            panic!("cannot loop-mount the image, so the power-cut test cannot do its work: {e}")
        }
    };
    let v1 = work.path().join("v1");
    let v2 = work.path().join("v2");
    write_tree(&v1, &tree_payload(0x41, 40, 3 * MIB));
    write_tree(&v2, &tree_payload(0x42, 50, 4 * MIB));

    let mut failures = Vec::new();
    // The brief's points (config, consent-log, staged, install-file#3, before-commit,
    // after-commit) and the others between them; each case costs a fraction of a second.
    let points = [
        "begin",
        "mkdir",
        "config-temp",
        "config",
        "consent-log",
        "stage-file",
        "stage-file#5",
        "staged",
        "install-file",
        "install-file#3",
        "install-file#20",
        "remove-obsolete",
        "receipt",
        "move-into-place",
        "moved-into-place",
        "before-commit",
        "after-commit",
    ];
    for point in points {
        for reinstall in [false, true] {
            // Each install path has points of its own: the pause would never come.
            if !reaches(point, reinstall) {
                continue;
            }
            let name = format!(
                "power cut at pause@{point} on a {}",
                if reinstall {
                    "reinstall"
                } else {
                    "fresh target"
                }
            );
            let target = mnt.join(format!(
                "{}-{}",
                point.replace('#', "-"),
                if reinstall { "reinstall" } else { "fresh" }
            ));
            run_case(&name, &mut failures, || {
                let before = reinstall.then(|| {
                    run(install_v1_cmd(&v1, &target)).expect_code(0, "install version 1");
                    assert_installed(&v1, &target, "install version 1");
                    snapshot(&target)
                });
                let mut install = Proc::spawn(with_fault(
                    install_cmd(&v2, &target),
                    &format!("pause@{point}"),
                ));
                install.wait_stopped();
                power_cut(&mnt);
                let outcome = install.kill_and_wait();
                mount.remount();

                let ctx = format!("{name}, after the reboot\n{}", outcome.report());
                assert_config_not_torn(&target, &ctx);
                let recovered = run(recover_cmd(&target));
                recovered.expect_code(0, &format!("{name}: recover after the reboot"));
                let ctx = format!("{ctx}\n{}", recovered.report());
                assert_config_not_torn(&target, &ctx);
                match (point, &before) {
                    ("after-commit", _) => assert_installed(&v2, &target, &ctx),
                    (_, None) => assert_absent(&target, &ctx),
                    (_, Some(before)) => assert_same_tree(before, &target, &ctx),
                }
                assert_clean(&target, &ctx);
            });
            if let Err(e) = mount.ensure_usable() {
                failures.push(format!("cannot mount the image again: {e}"));
                finish_cases(failures);
                return;
            }
        }
    }

    for reinstall in [false, true] {
        let name = format!(
            "power cut right after a successful {}",
            if reinstall {
                "reinstall"
            } else {
                "fresh install"
            }
        );
        let target = mnt.join(if reinstall {
            "success-reinstall"
        } else {
            "success-fresh"
        });
        run_case(&name, &mut failures, || {
            if reinstall {
                run(install_v1_cmd(&v1, &target)).expect_code(0, "install version 1");
            }
            let outcome = run(install_cmd(&v2, &target));
            outcome.expect_code(0, &name);
            power_cut(&mnt);
            mount.remount();
            let ctx = format!(
                "{name}, after the reboot, before recover\n{}",
                outcome.report()
            );
            assert_installed(&v2, &target, &ctx);
            let recovered = run(recover_cmd(&target));
            recovered.expect_code(0, &format!("{name}: recover after the reboot"));
            let ctx = format!("{name}, after recover\n{}", recovered.report());
            assert_installed(&v2, &target, &ctx);
            assert_clean(&target, &ctx);
        });
        if let Err(e) = mount.ensure_usable() {
            failures.push(format!("cannot mount the image again: {e}"));
            break;
        }
    }
    drop(mount);
    finish_cases(failures);
}

/// Contract, transaction step 2: an install that finds an interrupted transaction recovers it
/// first (and says so), then installs; the user need not know about `recover`.
#[test]
fn install_after_a_kill_recovers_first() {
    let work = tempfile::tempdir().expect("create a temp dir");
    let v1 = work.path().join("v1");
    let v2 = work.path().join("v2");
    write_tree(&v1, &small_payload(1));
    write_tree(&v2, &small_payload(2));

    let mut failures = Vec::new();
    let points = [
        "config",
        "staged",
        "install-file#1",
        "move-into-place",
        "moved-into-place",
        "after-commit",
    ];
    for point in points {
        for reinstall in [false, true] {
            if !reaches(point, reinstall) {
                continue;
            }
            let name = format!(
                "kill@{point} on a {}, then install again without recover",
                if reinstall {
                    "reinstall"
                } else {
                    "fresh target"
                }
            );
            run_case(&name, &mut failures, || {
                let dir = tempfile::tempdir().expect("create a temp dir");
                let target = dir.path().join("target");
                if reinstall {
                    run(install_v1_cmd(&v1, &target)).expect_code(0, "install version 1");
                }
                let killed = run(with_fault(
                    install_cmd(&v2, &target),
                    &format!("kill@{point}"),
                ));
                if !killed.killed() {
                    panic!("{name}: expected death by SIGKILL\n{}", killed.report());
                }
                let again = run(install_cmd(&v2, &target));
                again.expect_code(0, &format!("{name}: the second install"));
                if !again.text().to_lowercase().contains("recover") {
                    panic!(
                        "{name}: the install should say that it recovered the interrupted run\n{}",
                        again.report()
                    );
                }
                let ctx = format!("{name}\n{}", again.report());
                assert_installed(&v2, &target, &ctx);
                assert_clean(&target, &ctx);
            });
        }
    }
    finish_cases(failures);
}

#[test]
fn second_concurrent_install_is_refused() {
    let work = tempfile::tempdir().expect("create a temp dir");
    let payload = work.path().join("payload");
    write_tree(&payload, &small_payload(1));
    let target = work.path().join("target");

    let mut first = Proc::spawn(with_fault(install_cmd(&payload, &target), "pause@staged"));
    first.wait_stopped();

    let mut second = Proc::spawn(install_cmd(&payload, &target));
    let second = second.wait_for(Duration::from_secs(30));
    second.expect_code(1, "a second install while the first one works");
    if !second.stderr.contains("another ksn-setup") {
        panic!(
            "the refusal should say \"another ksn-setup is working on …\"\n{}",
            second.report()
        );
    }

    // recover must not roll back a transaction that a live process is still running.
    let mut recover = Proc::spawn(recover_cmd(&target));
    let recover = recover.wait_for(Duration::from_secs(30));
    recover.expect_code(1, "recover while an install works");
    if !recover.stderr.contains("another ksn-setup") {
        panic!(
            "recover should refuse with \"another ksn-setup is working on …\"\n{}",
            recover.report()
        );
    }

    first.signal(libc::SIGCONT);
    let outcome = first.wait();
    outcome.expect_code(0, "the first install, continued");
    let ctx = format!("after the first install finished\n{}", outcome.report());
    assert_installed(&payload, &target, &ctx);
    assert_clean(&target, &ctx);
}
