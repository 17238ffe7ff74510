//! Installs from a packed installer are transactions too: a byte damaged after the start-up
//! check is caught while streaming, named, and rolled back; a failure or a kill while the
//! stream is being written leaves the folder as it was. Needs the `fault-injection` feature.
#![cfg(feature = "fault-injection")]

mod support;

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::*;

const TRAILER_LEN: usize = 184;

/// A packed installer of a payload with small files and one large (chunked) file.
fn packed_installer(dir: &Path) -> std::path::PathBuf {
    let payload = dir.join("product-v2");
    make_payload(&payload, 40, 2);
    let big: Vec<u8> = (0..2_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    fs::write(payload.join("bin/big.bin"), big).unwrap();
    let installer = dir.join("setup");
    let out = ksn_setup()
        .arg("pack")
        .arg("--payload")
        .arg(&payload)
        .arg("--output")
        .arg(&installer)
        .args(["--level", "3"])
        .output()
        .unwrap();
    assert_ok(&out);
    installer
}

/// The folder with an earlier install in it, and its snapshot.
fn earlier_install(dir: &Path) -> (std::path::PathBuf, std::collections::BTreeMap<String, Node>) {
    let v1 = dir.join("product-v1");
    make_payload(&v1, 12, 1);
    let dest = dir.join("dest");
    assert_ok(&install(&dest, &["--payload", v1.to_str().unwrap()]));
    let before = snapshot(&dest);
    (dest, before)
}

fn process_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

#[test]
fn data_damaged_after_the_check_is_named_and_rolled_back() {
    let tmp = tempfile::tempdir().unwrap();
    let installer = packed_installer(tmp.path());
    let (dest, before) = earlier_install(tmp.path());
    let bytes = fs::read(&installer).unwrap();
    let trailer = &bytes[bytes.len() - TRAILER_LEN..];
    let program = u64::from_le_bytes(trailer[16..24].try_into().unwrap());
    let data = u64::from_le_bytes(trailer[24..32].try_into().unwrap());

    // The run stops itself right after checking the whole bundle...
    let mut child = install_command(&dest, &["--installer", installer.to_str().unwrap()])
        .env("KSN_SETUP_FAULT", "pause@bundle-checked")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(process_state(pid), Some('T' | 't')) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the install ended before its pause point"
        );
        assert!(Instant::now() < deadline, "the install never paused");
        std::thread::sleep(Duration::from_millis(5));
    }
    // ...the installer file is damaged on disk behind its back...
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&installer)
        .unwrap();
    let at = program + data / 3;
    let mut byte = [0u8; 1];
    file.read_exact_at(&mut byte, at).unwrap();
    file.write_all_at(&[byte[0] ^ 0x5a], at).unwrap();
    drop(file);
    unsafe { libc::kill(pid as i32, libc::SIGCONT) };
    let out = child.wait_with_output().unwrap();

    // ...and the streaming check catches it, names the damaged frame and where it is, and
    // rolls everything back.
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("is damaged: data frame 1 of 1 (bytes ")
            && err.contains("does not match the manifest's SHA-256"),
        "{err}"
    );
    assert!(err.contains("rolled back"), "{err}");
    assert_same_tree(&before, &snapshot(&dest), "after the damaged stream");
}

#[test]
fn a_failure_or_a_kill_while_streaming_leaves_the_folder_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let installer = packed_installer(tmp.path());
    let (dest, before) = earlier_install(tmp.path());
    let from = ["--installer", installer.to_str().unwrap()];

    for point in ["stage-file#5", "staged", "install-file#3"] {
        let out = install_with(&dest, &from, Some(&format!("fail@{point}")));
        assert_eq!(out.status.code(), Some(1), "fail@{point}: {}", show(&out));
        assert_same_tree(&before, &snapshot(&dest), &format!("fail@{point}"));

        let out = install_with(&dest, &from, Some(&format!("kill@{point}")));
        assert_eq!(
            out.status.code(),
            None,
            "kill@{point} kills: {}",
            show(&out)
        );
        let out = ksn_setup()
            .args(["recover", "--dir"])
            .arg(&dest)
            .output()
            .unwrap();
        assert_ok(&out);
        assert_same_tree(
            &before,
            &snapshot(&dest),
            &format!("kill@{point}, recovered"),
        );
    }

    // And with nothing injected, the packed installer upgrades the folder.
    assert_ok(&install(&dest, &from));
    assert!(dest.join("bin/big.bin").exists());
}
