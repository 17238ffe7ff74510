//! A seeded random mutation test of the installer format: hundreds of damaged copies of a
//! packed installer (bits flipped, runs zeroed, the file cut short, bytes inserted, anywhere
//! in the bundle and the trailer), each installed as a user would. Every one must be refused
//! with exit 1 or 2, without a panic, leaving nothing in the target. The fixed-offset
//! tests in `pack.rs` name the damage; this one looks where nobody thought to.
//!
//! The seed is printed; `KSN_SETUP_MUTATION_SEED=N` repeats a run, `KSN_SETUP_MUTANTS=N`
//! changes how many mutants there are (300 by default).

mod support;

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::*;

const TRAILER_LEN: usize = 184;

/// xorshift64*: small, seeded, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Debug)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Zero { at: usize, len: usize },
    Cut { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
}

impl Mutation {
    /// A random mutation of the bytes from `start` (the bundle) to `len`, the file's end.
    fn random(rng: &mut Rng, start: usize, len: usize) -> Mutation {
        let span = len - start;
        // Half the mutants aim at the trailer and the manifest, the parts with structure.
        let at = if rng.below(2) == 0 {
            len - 1 - rng.below(span.min(TRAILER_LEN + 512))
        } else {
            start + rng.below(span)
        };
        match rng.below(4) {
            0 => Mutation::Flip {
                at,
                mask: 1 << rng.below(8),
            },
            1 => Mutation::Zero {
                at,
                len: 1 + rng.below(64),
            },
            2 => Mutation::Cut { at },
            _ => Mutation::Insert {
                at,
                bytes: (0..1 + rng.below(64)).map(|_| rng.next() as u8).collect(),
            },
        }
    }

    /// The bundle part of the mutant (everything after the program), from the original's.
    fn apply(&self, bundle: &[u8], start: usize) -> Vec<u8> {
        let mut out = bundle.to_vec();
        match self {
            Mutation::Flip { at, mask } => out[at - start] ^= mask,
            Mutation::Zero { at, len } => {
                let from = at - start;
                let to = (from + len).min(out.len());
                for b in &mut out[from..to] {
                    *b = 0;
                }
                if out == bundle {
                    // Zeroing zeros changes nothing; make it a change.
                    out[from] = 0xff;
                }
            }
            Mutation::Cut { at } => out.truncate(at - start),
            Mutation::Insert { at, bytes } => {
                let from = at - start;
                out.splice(from..from, bytes.iter().copied());
            }
        }
        out
    }
}

#[test]
fn hundreds_of_random_mutants_of_an_installer_are_each_refused() {
    let seed: u64 = std::env::var("KSN_SETUP_MUTATION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mutants: usize = std::env::var("KSN_SETUP_MUTANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    println!("mutation seed: {seed} (KSN_SETUP_MUTATION_SEED={seed} repeats this run)");

    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("payload");
    make_payload(&payload, 12, 1);
    // Bytes zstd cannot shrink, so most of the bundle is data and most mutants land in it.
    let mut noise = Rng(0x5eed);
    fs::write(
        payload.join("big.bin"),
        (0..400_000)
            .map(|_| noise.next() as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let answers = tmp.path().join("corp.toml");
    fs::write(&answers, "[ksn]\nparticipate = false\n").unwrap();
    let installer = tmp.path().join("corp-setup");
    let out = ksn_setup()
        .arg("pack")
        .arg("--payload")
        .arg(&payload)
        .arg("--answers")
        .arg(&answers)
        .args(["--level", "3", "--output"])
        .arg(&installer)
        .output()
        .unwrap();
    assert_ok(&out);
    let original = fs::read(&installer).unwrap();
    let t = original.len() - TRAILER_LEN;
    let program_len = u64::from_le_bytes(original[t + 16..t + 24].try_into().unwrap()) as usize;
    let bundle = &original[program_len..];

    let mut rng = Rng(seed);
    let plan: Vec<Mutation> = (0..mutants)
        .map(|_| Mutation::random(&mut rng, program_len, original.len()))
        .collect();
    let workers = 2;
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let plan = &plan;
                let original = &original;
                let dir = tmp.path().join(format!("worker-{w}"));
                scope.spawn(move || {
                    fs::create_dir(&dir).unwrap();
                    // The program part is written once; each mutant rewrites only the bundle.
                    let file_path = dir.join("mutant");
                    let mut file = File::create(&file_path).unwrap();
                    file.write_all(&original[..program_len]).unwrap();
                    fs::set_permissions(&file_path, fs::Permissions::from_mode(0o755)).unwrap();
                    let mut failures = Vec::new();
                    let mut seen = std::collections::BTreeMap::<String, usize>::new();
                    for (i, mutation) in plan.iter().enumerate().skip(w).step_by(workers) {
                        let mutated = mutation.apply(bundle, program_len);
                        write_bundle(&mut file, program_len, &mutated);
                        let target = dir.join(format!("target-{i}"));
                        match try_mutant(&file_path, &target) {
                            Ok(kind) => *seen.entry(kind).or_default() += 1,
                            Err(problem) => {
                                failures.push(format!("mutant {i} {mutation:?}: {problem}"))
                            }
                        }
                    }
                    for (kind, count) in seen {
                        println!("worker {w}: {count:>4} refused as: {kind}");
                    }
                    failures
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "seed {seed}: {} of {mutants} mutants were not refused cleanly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn write_bundle(file: &mut File, program_len: usize, bundle: &[u8]) {
    file.set_len(program_len as u64).unwrap();
    file.seek(SeekFrom::Start(program_len as u64)).unwrap();
    file.write_all(bundle).unwrap();
    file.flush().unwrap();
}

/// Installs the mutant as a user would: how it was refused (exit code and the gist of the
/// message), or what was wrong with how it ended.
fn try_mutant(mutant: &Path, target: &Path) -> Result<String, String> {
    let out = install_command(target, &["--installer", mutant.to_str().unwrap()])
        .output()
        .unwrap();
    let said = stderr(&out);
    if said.contains("panicked") {
        return Err(format!("it panicked: {said}"));
    }
    let code = match out.status.code() {
        Some(code @ (1 | 2)) => code,
        other => return Err(format!("exit {other:?}: {}", show(&out))),
    };
    if fs::symlink_metadata(target).is_ok() {
        return Err(format!("it left {} behind: {said}", target.display()));
    }
    // The message without the installer's path and numbers, to count kinds of refusal.
    let gist: String = said
        .lines()
        .find(|l| l.contains("error:"))
        .unwrap_or_default()
        .replace(mutant.to_str().unwrap(), "FILE")
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .take(90)
        .collect();
    Ok(format!("exit {code}: {gist}"))
}
