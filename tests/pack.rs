//! Packed installers as an administrator makes them and a user runs them: `pack`, `inspect`,
//! `verify`, `keygen`, and the packed file run as its own program.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};
use support::*;

const TRAILER_LEN: u64 = 184;

/// A payload with what packing must keep: nested folders, modes, a relative symlink, an empty
/// file, an empty folder, a set-group-id program and a file large enough to travel in chunks.
fn rich_payload(dir: &Path) {
    make_payload(dir, 30, 1);
    fs::write(dir.join("bin/helper"), b"#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(dir.join("bin/helper"), fs::Permissions::from_mode(0o2750)).unwrap();
    fs::create_dir_all(dir.join("share/empty")).unwrap();
    fs::write(dir.join("share/zero-length"), b"").unwrap();
    let big: Vec<u8> = (0..3_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(dir.join("share/big.db"), big).unwrap();
    fs::set_permissions(dir.join("share/big.db"), fs::Permissions::from_mode(0o600)).unwrap();
}

/// `ksn-setup pack --payload P --output O ARGS…`, at a fast level.
fn pack(payload: &Path, output: &Path, args: &[&str]) -> Output {
    ksn_setup()
        .arg("pack")
        .arg("--payload")
        .arg(payload)
        .arg("--output")
        .arg(output)
        .args(["--level", "3"])
        .args(args)
        .output()
        .expect("run ksn-setup pack")
}

/// Runs a packed installer file as its own program, with no display.
fn run_installer(installer: &Path, args: &[&str]) -> Output {
    // Another test thread may be forking while this file was being written, holding a copy
    // of its write descriptor for a moment: exec then fails with ETXTBSY. Try again.
    for _ in 0..50 {
        let mut cmd = Command::new(installer);
        let menus = fresh_menu_dir();
        cmd.args(args)
            .env("XDG_DATA_HOME", &menus)
            .env("XDG_DATA_DIRS", &menus)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("KSN_SETUP_FAULT")
            .env("LANG", "C.UTF-8")
            .stdin(std::process::Stdio::null());
        match cmd.output() {
            Ok(out) => return out,
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => panic!("cannot run {}: {e}", installer.display()),
        }
    }
    panic!("{} stayed busy", installer.display());
}

/// Runs a packed installer unattended, licenses accepted, into `dest`, with `extra` flags.
fn run_unattended(installer: &Path, dest: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--unattended",
        "--accept-eula",
        "--accept-privacy-policy",
        "--dir",
        dest.to_str().unwrap(),
    ];
    args.extend(extra);
    run_installer(installer, &args)
}

fn write_answers(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

/// The trailer's fields: (program_len, data_len, manifest_len).
fn layout(installer: &Path) -> (u64, u64, u64) {
    let bytes = fs::read(installer).unwrap();
    let t = &bytes[bytes.len() - TRAILER_LEN as usize..];
    let at = |i: usize| u64::from_le_bytes(t[i..i + 8].try_into().unwrap());
    (at(16), at(24), at(32))
}

fn flipped_copy(installer: &Path, offset: u64, out: &Path) {
    let mut bytes = fs::read(installer).unwrap();
    bytes[offset as usize] ^= 0x5a;
    fs::write(out, &bytes).unwrap();
    fs::set_permissions(out, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The installed payload: the tree without the installer's records and the config folder.
fn installed_payload(dest: &Path) -> std::collections::BTreeMap<String, Node> {
    let mut tree = payload_part(&snapshot(dest));
    tree.remove("etc");
    tree
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn assert_no_panic(out: &Output) {
    assert!(!stderr(out).contains("panicked"), "{}", show(out));
}

const SILENT_LOCKED: &str = "\
[license]
accept_eula = true
accept_privacy_policy = true

[ksn]
participate = true
locked = true

[ui]
mode = \"silent\"
";

#[test]
fn pack_then_install_gives_the_source_tree_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("product");
    rich_payload(&payload);
    let installer = tmp.path().join("setup");
    let out = pack(&payload, &installer, &[]);
    assert_ok(&out);
    assert!(
        fs::metadata(&installer).unwrap().permissions().mode() & 0o111 == 0o111,
        "the installer is executable"
    );

    let dest = tmp.path().join("dest");
    let out = run_unattended(&installer, &dest, &["--ksn", "decline"]);
    assert_ok(&out);
    assert_same_tree(
        &snapshot(&payload),
        &installed_payload(&dest),
        "installed from the packed installer",
    );
    assert_no_leftovers(&dest);
    // The receipt holds the same SHA-256 the manifest promised.
    let receipt = read_toml(&dest.join(".ksn-setup/receipt.toml"));
    let big = receipt["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"].as_str() == Some("share/big.db"))
        .unwrap();
    assert_eq!(
        big["sha256"].as_str().unwrap(),
        sha256_hex(&fs::read(payload.join("share/big.db")).unwrap())
    );

    let out = ksn_setup().arg("verify").arg(&installer).output().unwrap();
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("OK"),
        "{}",
        show(&out)
    );
}

/// `len` bytes that do not compress: each frame of them stays about its own size.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn a_payload_of_several_frames_installs_verifies_and_names_a_damaged_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("product");
    make_payload(&payload, 8, 1);
    // 40 MiB in three files, one larger than a frame (16 MiB): frames cut through files,
    // and files through frames.
    fs::create_dir_all(payload.join("share")).unwrap();
    fs::write(payload.join("share/signatures.db"), noise(18 << 20, 1)).unwrap();
    fs::write(payload.join("share/engine.bin"), noise(14 << 20, 2)).unwrap();
    fs::write(payload.join("share/rules.db"), noise(8 << 20, 3)).unwrap();
    let installer = tmp.path().join("setup");
    assert_ok(&pack(&payload, &installer, &[]));
    let out = ksn_setup().arg("inspect").arg(&installer).output().unwrap();
    assert_ok(&out);
    assert!(stdout(&out).contains(", 3 frames"), "{}", show(&out));

    let dest = tmp.path().join("dest");
    assert_ok(&run_unattended(&installer, &dest, &["--ksn", "decline"]));
    assert_same_tree(
        &snapshot(&payload),
        &installed_payload(&dest),
        "installed from three frames",
    );
    assert_ok(&ksn_setup().arg("verify").arg(&installer).output().unwrap());

    // A byte in the middle of the data is in the second frame: both install and verify stop
    // there, name it, and the install rolls back to the folder as it was.
    let before = snapshot(&dest);
    let (program, data, _) = layout(&installer);
    let bad = tmp.path().join("bad-setup");
    flipped_copy(&installer, program + data / 2, &bad);
    let out = run_unattended(&bad, &dest, &["--ksn", "decline"]);
    assert_eq!(code(&out), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("data frame 2 of 3"), "{err}");
    assert!(
        err.contains("does not match the manifest's SHA-256"),
        "{err}"
    );
    assert!(err.contains("rolled back"), "{err}");
    assert_same_tree(&before, &snapshot(&dest), "after a damaged frame");
    let out = ksn_setup().arg("verify").arg(&bad).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("data frame 2 of 3"), "{}", show(&out));
}

#[test]
fn a_silent_installer_installs_without_asking_and_records_the_administrator() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("product");
    make_payload(&payload, 5, 1);
    let dest = tmp.path().join("dest");
    let answers = write_answers(
        tmp.path(),
        "corp.toml",
        &format!(
            "[install]\ndir = {:?}\n{SILENT_LOCKED}",
            dest.to_str().unwrap()
        ),
    );
    let installer = tmp.path().join("corp-setup");
    assert_ok(&pack(
        &payload,
        &installer,
        &["--answers", answers.to_str().unwrap()],
    ));

    // Flags cannot undo a locked choice.
    let out = run_installer(&installer, &["--ksn", "decline"]);
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("locked"), "{}", show(&out));
    assert!(!dest.exists(), "nothing written when refused");

    // No flags, no display, no terminal: the silent installer just installs.
    let out = run_installer(&installer, &[]);
    assert_ok(&out);
    let config = read_toml(&dest.join("etc/product.toml"));
    assert_eq!(config["ksn"]["participate"].as_bool(), Some(true));
    assert_eq!(config["ksn"]["decided_by"].as_str(), Some("administrator"));
    assert_eq!(
        config["license"]["accepted_by"].as_str(),
        Some("administrator")
    );
    let log = consent_lines(&dest);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["decided_by"], "administrator");
    assert_eq!(log[0]["locked"], true);

    // inspect shows the preset, its lock and the answers as packed.
    let out = ksn_setup().arg("inspect").arg(&installer).output().unwrap();
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("participate by the administrator, locked"),
        "{text}"
    );
    assert!(text.contains("silent"), "{text}");
    assert!(text.contains("Answers (corp.toml)"), "{text}");
}

#[test]
fn answers_are_checked_at_pack_time_with_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("product");
    make_payload(&payload, 2, 1);
    let installer = tmp.path().join("setup");

    let bad = write_answers(tmp.path(), "typo.toml", "[ksn]\nparticipat = true\n");
    let out = pack(&payload, &installer, &["--answers", bad.to_str().unwrap()]);
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("typo.toml:2:1"), "{}", show(&out));
    assert!(!installer.exists());

    let silent = write_answers(tmp.path(), "silent.toml", "[ui]\nmode = \"silent\"\n");
    let out = pack(
        &payload,
        &installer,
        &["--answers", silent.to_str().unwrap()],
    );
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("silent.toml:2:8"), "{err}");
    assert!(err.contains("license.accept_eula = true"), "{err}");
    assert!(!installer.exists());
}

#[test]
fn pack_refuses_unsafe_payloads_naming_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let installer = tmp.path().join("setup");

    let escaping = tmp.path().join("escaping");
    make_payload(&escaping, 2, 1);
    std::os::unix::fs::symlink("../../etc/passwd", escaping.join("bin/passwd")).unwrap();
    let out = pack(&escaping, &installer, &[]);
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("bin/passwd"), "{}", show(&out));

    // Lexically inside (`share/up/../x` reads as `share/x`), but `share/up` points at the top
    // of the tree, so the kernel would resolve it above the install folder. Refused by pack,
    // and by an install from the folder.
    let through = tmp.path().join("through");
    make_payload(&through, 2, 1);
    fs::create_dir_all(through.join("share")).unwrap();
    std::os::unix::fs::symlink("..", through.join("share/up")).unwrap();
    std::os::unix::fs::symlink("../share/up/../etc/passwd", through.join("bin/passwd")).unwrap();
    let out = pack(&through, &installer, &[]);
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("bin/passwd"), "{}", show(&out));
    let dest = tmp.path().join("dest");
    let out = install(&dest, &["--payload", through.to_str().unwrap()]);
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(!dest.exists());

    let socket = tmp.path().join("socket");
    make_payload(&socket, 2, 1);
    let _listener = std::os::unix::net::UnixListener::bind(socket.join("bin/agent.sock")).unwrap();
    let out = pack(&socket, &installer, &[]);
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("agent.sock") && err.contains("socket"),
        "{err}"
    );

    let fifo = tmp.path().join("fifo");
    make_payload(&fifo, 2, 1);
    let path = std::ffi::CString::new(fifo.join("bin/pipe").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
    let out = pack(&fifo, &installer, &[]);
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("bin/pipe"), "{}", show(&out));

    assert!(!installer.exists(), "no installer written");
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".ksn-pack-"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn a_flipped_byte_anywhere_in_the_bundle_is_refused_and_the_target_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("product");
    rich_payload(&payload);
    let installer = tmp.path().join("setup");
    assert_ok(&pack(&payload, &installer, &[]));
    let (program, data, manifest) = layout(&installer);
    let len = fs::metadata(&installer).unwrap().len();
    assert_eq!(program + data + manifest + TRAILER_LEN, len);

    // An earlier install that must survive every refused run byte for byte.
    let dest = tmp.path().join("dest");
    assert_ok(&install(&dest, &["--payload", payload.to_str().unwrap()]));
    let before = snapshot(&dest);

    // A damaged manifest or trailer is refused before anything is written (exit 2); damaged
    // data is caught while it streams, before the commit, and rolled back (exit 1). Either
    // way the folder is left as it was.
    let offsets = [
        ("first data byte", program, 1),
        ("middle of the data", program + data / 2, 1),
        ("last data byte", program + data - 1, 1),
        ("manifest", program + data + manifest / 2, 2),
        ("trailer lengths", len - TRAILER_LEN + 26, 2),
        ("trailer digest", len - TRAILER_LEN + 50, 2),
        ("trailer flags", len - TRAILER_LEN + 12, 2),
        ("trailer end magic", len - 3, 2),
    ];
    for (what, offset, status) in offsets {
        let bad = tmp.path().join("bad-setup");
        flipped_copy(&installer, offset, &bad);
        let out = run_unattended(&bad, &dest, &[]);
        assert_eq!(code(&out), Some(status), "{what}: {}", show(&out));
        assert_no_panic(&out);
        let err = stderr(&out);
        assert!(
            err.contains("damaged") || err.contains("does not match"),
            "{what}: {err}"
        );
        if status == 1 {
            assert!(err.contains("rolled back"), "{what}: {err}");
        }
        assert_same_tree(&before, &snapshot(&dest), what);

        let out = ksn_setup().arg("verify").arg(&bad).output().unwrap();
        assert_eq!(code(&out), Some(2), "verify, {what}: {}", show(&out));
        assert_no_panic(&out);
    }
}

#[test]
fn a_truncated_or_foreign_file_gives_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("product");
    make_payload(&payload, 5, 1);
    let installer = tmp.path().join("setup");
    assert_ok(&pack(&payload, &installer, &[]));
    let bytes = fs::read(&installer).unwrap();
    let (program, data, _) = layout(&installer);

    for (what, cut, expect) in [
        ("cut in the data", program + data / 2, "truncated"),
        ("cut in the trailer", bytes.len() as u64 - 10, "truncated"),
        ("cut in the program", program / 2, "truncated"),
    ] {
        let cut_file = tmp.path().join("cut-setup");
        fs::write(&cut_file, &bytes[..cut as usize]).unwrap();
        fs::set_permissions(&cut_file, fs::Permissions::from_mode(0o755)).unwrap();
        for command in ["verify", "inspect"] {
            let out = ksn_setup().arg(command).arg(&cut_file).output().unwrap();
            assert_eq!(code(&out), Some(2), "{command}, {what}: {}", show(&out));
            assert_no_panic(&out);
            assert!(
                stderr(&out).contains(expect),
                "{command}, {what}: {}",
                show(&out)
            );
        }
    }

    // A truncated installer run as a program refuses to install anything.
    let cut_file = tmp.path().join("cut-run");
    fs::write(&cut_file, &bytes[..(program + data / 2) as usize]).unwrap();
    fs::set_permissions(&cut_file, fs::Permissions::from_mode(0o755)).unwrap();
    let dest = tmp.path().join("dest");
    let out = run_unattended(&cut_file, &dest, &[]);
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("truncated"), "{}", show(&out));
    assert!(!dest.exists());

    let text = tmp.path().join("notes.txt");
    fs::write(&text, "just some text\n").unwrap();
    let out = ksn_setup().arg("verify").arg(&text).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("not a ksn-setup installer"),
        "{}",
        show(&out)
    );

    let out = ksn_setup().arg("verify").arg(bin()).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("no packed bundle"), "{}", show(&out));
}

fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(name);
    let out = ksn_setup()
        .args(["keygen", "--output"])
        .arg(&key)
        .output()
        .unwrap();
    assert_ok(&out);
    let public = dir.join(format!("{name}.pub"));
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600,
        "the private key is private"
    );
    assert!(
        fs::read_to_string(&public)
            .unwrap()
            .contains("BEGIN PUBLIC KEY")
    );
    (key, public)
}

/// Re-signs nothing: writes a copy of `unsigned` whose trailer carries the signature and key
/// of `signed`, with a correct trailer checksum, as a forger would.
fn graft_signature(signed: &Path, unsigned: &Path, out: &Path) {
    let signed = fs::read(signed).unwrap();
    let mut bytes = fs::read(unsigned).unwrap();
    let t = bytes.len() - TRAILER_LEN as usize;
    let s = signed.len() - TRAILER_LEN as usize;
    bytes[t + 12..t + 16].copy_from_slice(&1u32.to_le_bytes());
    bytes[t + 72..t + 168].copy_from_slice(&signed[s + 72..s + 168]);
    let check = Sha256::digest(&bytes[t..t + 168]);
    bytes[t + 168..t + 176].copy_from_slice(&check[..8]);
    fs::write(out, &bytes).unwrap();
    fs::set_permissions(out, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn signatures_with_and_without_a_trusted_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = keygen(tmp.path(), "vendor.pem");
    let (other_key, _) = keygen(tmp.path(), "other.pem");
    let out = ksn_setup()
        .args(["keygen", "--output"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(
        code(&out),
        Some(2),
        "keygen never overwrites: {}",
        show(&out)
    );

    let payload = tmp.path().join("product");
    make_payload(&payload, 5, 1);
    let decline = write_answers(
        tmp.path(),
        "decline.toml",
        "[ksn]\nparticipate = false\nlocked = true\n",
    );
    let agree = write_answers(
        tmp.path(),
        "agree.toml",
        "[ksn]\nparticipate = true\nlocked = true\n",
    );
    let signed = tmp.path().join("signed");
    let key_arg = key.to_str().unwrap();
    assert_ok(&pack(
        &payload,
        &signed,
        &[
            "--answers",
            decline.to_str().unwrap(),
            "--sign-key",
            key_arg,
        ],
    ));
    let unsigned = tmp.path().join("unsigned");
    assert_ok(&pack(
        &payload,
        &unsigned,
        &["--answers", decline.to_str().unwrap()],
    ));
    let foreign = tmp.path().join("foreign");
    assert_ok(&pack(
        &payload,
        &foreign,
        &[
            "--answers",
            decline.to_str().unwrap(),
            "--sign-key",
            other_key.to_str().unwrap(),
        ],
    ));
    // A forger flips the preset KSN answer and keeps the vendor's signature.
    let flipped_answers = tmp.path().join("flipped-unsigned");
    assert_ok(&pack(
        &payload,
        &flipped_answers,
        &["--answers", agree.to_str().unwrap()],
    ));
    let forged = tmp.path().join("forged");
    graft_signature(&signed, &flipped_answers, &forged);

    let trusted = ["--trusted-key", public.to_str().unwrap()];
    let verify = |installer: &Path, extra: &[&str]| {
        ksn_setup()
            .arg("verify")
            .arg(installer)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = verify(&signed, &trusted);
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("the trusted key"),
        "{}",
        show(&out)
    );
    let out = verify(&signed, &[]);
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no trusted key"),
        "{}",
        show(&out)
    );
    assert_ok(&verify(&unsigned, &[]));
    assert_ok(&verify(&foreign, &[]));

    for (what, installer, expect) in [
        ("unsigned", &unsigned, "not signed"),
        ("signed by another key", &foreign, "not by the trusted key"),
        ("forged", &forged, "does not match"),
    ] {
        let out = verify(installer, &trusted);
        assert_eq!(code(&out), Some(2), "verify {what}: {}", show(&out));
        assert!(
            stderr(&out).contains(expect),
            "verify {what}: {}",
            show(&out)
        );

        let dest = tmp.path().join(format!("dest-{}", what.replace(' ', "-")));
        let out = run_unattended(installer, &dest, &trusted);
        assert_eq!(code(&out), Some(2), "install {what}: {}", show(&out));
        assert!(
            stderr(&out).contains(expect),
            "install {what}: {}",
            show(&out)
        );
        assert!(!dest.exists(), "install {what}: nothing may be written");
    }
    // A forged signature is refused even without a trusted key.
    let out = verify(&forged, &[]);
    assert_eq!(code(&out), Some(2), "{}", show(&out));

    // A trusted key does not accept a payload folder, which carries no signature.
    let dest = tmp.path().join("dest-folder");
    let out = install(
        &dest,
        &[
            "--payload",
            payload.to_str().unwrap(),
            "--trusted-key",
            public.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(!dest.exists());

    // The signed installer installs under the trusted key, and its config keeps the preset.
    let dest = tmp.path().join("dest");
    assert_ok(&run_unattended(&signed, &dest, &trusted));
    let config = read_toml(&dest.join("etc/product.toml"));
    assert_eq!(config["ksn"]["participate"].as_bool(), Some(false));
    let receipt = read_toml(&dest.join(".ksn-setup/receipt.toml"));
    assert!(receipt["signer"].as_str().unwrap().starts_with("ed25519:"));
}

/// `openssl pkeyutl -verify` of `installer` against its detached signature: what an
/// administrator runs before trusting a file, with no ksn-setup involved.
fn openssl_verify(public: &Path, installer: &Path, signature: &Path) -> Output {
    Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(public)
        .args(["-rawin", "-in"])
        .arg(installer)
        .arg("-sigfile")
        .arg(signature)
        .output()
        .expect("openssl runs (CI installs it)")
}

#[test]
fn a_signed_installer_whose_program_was_replaced_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = keygen(tmp.path(), "vendor.pem");
    let payload = tmp.path().join("payload");
    make_payload(&payload, 5, 1);
    let installer = tmp.path().join("corp-setup");
    let out = pack(&payload, &installer, &["--sign-key", key.to_str().unwrap()]);
    assert_ok(&out);
    let signature = tmp.path().join("corp-setup.sig");
    assert_eq!(
        fs::metadata(&signature).unwrap().len(),
        64,
        "a raw Ed25519 signature"
    );
    assert!(
        stdout(&out).contains("openssl pkeyutl -verify"),
        "{}",
        show(&out)
    );

    // The untouched installer checks out with ksn-setup and with openssl.
    let trusted = ["--trusted-key", public.to_str().unwrap()];
    let out = ksn_setup()
        .arg("verify")
        .arg(&installer)
        .args(trusted)
        .output()
        .unwrap();
    assert_ok(&out);
    let out = openssl_verify(&public, &installer, &signature);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        stdout(&out).contains("Signature Verified Successfully"),
        "{}",
        show(&out)
    );

    // An attacker keeps the bundle and its signature, puts another program in front (here
    // /bin/true) and fixes up the trailer's program length and checksum.
    let (program_len, _, _) = layout(&installer);
    let original = fs::read(&installer).unwrap();
    let other_program = fs::read("/bin/true").unwrap();
    let mut replaced = other_program.clone();
    replaced.extend_from_slice(&original[program_len as usize..]);
    let t = replaced.len() - TRAILER_LEN as usize;
    replaced[t + 16..t + 24].copy_from_slice(&(other_program.len() as u64).to_le_bytes());
    let check = Sha256::digest(&replaced[t..t + 168]);
    replaced[t + 168..t + 176].copy_from_slice(&check[..8]);
    let swapped = tmp.path().join("swapped-setup");
    fs::write(&swapped, &replaced).unwrap();
    // And the same with the program's length kept: one byte of it changed.
    let tampered = tmp.path().join("tampered-setup");
    flipped_copy(&installer, program_len / 2, &tampered);

    for bad in [&swapped, &tampered] {
        let out = ksn_setup()
            .arg("verify")
            .arg(bad)
            .args(trusted)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "verify passed a replaced program: {}",
            show(&out)
        );
        let said = stderr(&out);
        assert!(
            said.contains("program") && said.contains("manifest"),
            "the refusal names the program and the manifest: {}",
            show(&out)
        );
        let dest = tmp.path().join("dest");
        let out = install_command(&dest, &["--installer", bad.to_str().unwrap()])
            .args(trusted)
            .output()
            .unwrap();
        assert_eq!(code(&out), Some(2), "{}", show(&out));
        assert!(!dest.exists(), "nothing is written for a replaced program");
        let out = openssl_verify(&public, bad, &signature);
        assert!(
            !out.status.success(),
            "openssl accepted a replaced program: {}",
            show(&out)
        );
    }
}

#[test]
fn a_signed_install_pins_its_key_for_upgrades() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, _) = keygen(tmp.path(), "vendor.pem");
    let (other_key, _) = keygen(tmp.path(), "other.pem");
    let payload = tmp.path().join("product");
    make_payload(&payload, 5, 1);
    let signed = tmp.path().join("signed");
    assert_ok(&pack(
        &payload,
        &signed,
        &["--sign-key", key.to_str().unwrap()],
    ));
    let foreign = tmp.path().join("foreign");
    assert_ok(&pack(
        &payload,
        &foreign,
        &["--sign-key", other_key.to_str().unwrap()],
    ));
    let unsigned = tmp.path().join("unsigned");
    assert_ok(&pack(&payload, &unsigned, &[]));

    let dest = tmp.path().join("dest");
    assert_ok(&run_unattended(&signed, &dest, &[]));
    let before = snapshot(&dest);

    for (what, installer) in [("another key", &foreign), ("unsigned", &unsigned)] {
        let out = run_unattended(installer, &dest, &[]);
        assert_ne!(code(&out), Some(0), "{what}: {}", show(&out));
        assert!(
            stderr(&out).contains("must be signed by the same key"),
            "{what}: {}",
            show(&out)
        );
        assert_same_tree(&before, &snapshot(&dest), what);
    }
    let out = install(&dest, &["--payload", payload.to_str().unwrap()]);
    assert_ne!(
        code(&out),
        Some(0),
        "a payload folder over a signed install: {}",
        show(&out)
    );
    assert_same_tree(&before, &snapshot(&dest), "payload folder");

    // The same key may upgrade.
    assert_ok(&run_unattended(&signed, &dest, &[]));
}

#[test]
fn a_packed_installer_can_be_repacked_with_new_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("product");
    rich_payload(&payload);
    let first_answers = write_answers(tmp.path(), "first.toml", "[ksn]\nparticipate = false\n");
    let first = tmp.path().join("first-setup");
    assert_ok(&pack(
        &payload,
        &first,
        &["--answers", first_answers.to_str().unwrap()],
    ));

    // An answers file on the command line cannot replace the packed one.
    let dest = tmp.path().join("dest-refused");
    let out = run_unattended(
        &first,
        &dest,
        &["--answers", first_answers.to_str().unwrap()],
    );
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("re-pack"), "{}", show(&out));
    assert!(!dest.exists());

    // The packed installer re-packs itself: same payload, new answers, no Rust toolchain.
    let dest = tmp.path().join("dest");
    let second_answers = write_answers(
        tmp.path(),
        "second.toml",
        &format!(
            "[install]\ndir = {:?}\n{SILENT_LOCKED}",
            dest.to_str().unwrap()
        ),
    );
    let second = tmp.path().join("second-setup");
    let out = run_installer(
        &first,
        &[
            "pack",
            "--answers",
            second_answers.to_str().unwrap(),
            "--output",
            second.to_str().unwrap(),
            "--level",
            "3",
        ],
    );
    assert_ok(&out);
    // The second installer carries the program once, not the first bundle inside it.
    assert_eq!(layout(&second).0, layout(&first).0);

    let out = ksn_setup().arg("inspect").arg(&second).output().unwrap();
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Answers (second.toml)"), "{text}");
    assert!(text.contains("locked"), "{text}");

    assert_ok(&run_installer(&second, &[]));
    assert_same_tree(
        &snapshot(&payload),
        &installed_payload(&dest),
        "installed from the re-packed installer",
    );
    let config = read_toml(&dest.join("etc/product.toml"));
    assert_eq!(config["ksn"]["participate"].as_bool(), Some(true));
    assert_eq!(config["ksn"]["decided_by"].as_str(), Some("administrator"));
}
