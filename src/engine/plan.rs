//! The plan: every change an install will make, in order, computed without touching anything.
//!
//! `plan()` takes the bundle, the answers, the inspected target and the time, and returns a
//! [`Plan`]: the config text and consent line to write, and the list of [`Op`]s the executor
//! runs in order. The config and the consent record always come before the first payload
//! file. `--dry-run` prints the plan; the wizard's Ready page summarises it; the journal stores
//! its ops so an interrupted run can be undone from the plan and the disk alone.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::base::layout;
use crate::base::paths::RelPath;
use crate::base::units::human_bytes;
use crate::bundle::contents::Bundle;
use crate::bundle::entry::EntryKind;
use crate::consent::answers::Answers;
use crate::consent::config::{self, ConfigValues, LicenseRecord};
use crate::consent::rules::{self, LogLine, Resolution};
use crate::consent::statements::{self, Language};
use crate::engine::desktop::{self, MenuFile};
use crate::engine::receipt::ReceiptKind;
use crate::engine::target::{Existing, Obstacle, Target};
use crate::tr;

/// One step of an install. Each step's undo is derived from the step and the disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// Create a folder of the payload (or `etc` for the config).
    CreateDir { path: RelPath, mode: u32 },
    /// Write `etc/product.toml` atomically; `replaces` when one exists.
    WriteConfig { replaces: bool },
    /// Append the consent line to `etc/consent-log.jsonl`, which had this length before.
    AppendConsentLog { previous_len: Option<u64> },
    /// Copy every payload file and symlink into the staging folder, checking hashes.
    Stage,
    /// Move staged entry `entry` into place at `path`.
    Install {
        path: RelPath,
        entry: usize,
        replaces: bool,
    },
    /// Move a file or symlink of the earlier install that the new one does not have out of the way.
    RemoveObsolete { path: RelPath },
    /// Remove a folder of the earlier install that the new one does not have, if empty.
    RemoveObsoleteDir { path: RelPath, mode: u32 },
    /// Create a folder below the menu folder ([`crate::engine::desktop::DIRS`]).
    CreateMenuDir { path: String },
    /// Write a menu entry or the icon ([`crate::engine::desktop::FILES`]) below the menu
    /// folder atomically; `replaces` when one is there (its bytes are kept for rollback).
    WriteMenuFile { path: String, replaces: bool },
    /// Remove a menu entry or the icon (its bytes are kept for rollback).
    RemoveMenuFile { path: String },
    /// Remove a folder below the menu folder that ksn-setup created, if empty.
    RemoveMenuDir { path: String },
    /// Write `.ksn-setup/receipt.toml` atomically.
    WriteReceipt { replaces: bool },
    /// A fresh install: sync the tree built in [`layout::fresh_dir`] and move it to the
    /// target with one rename, which fails if anything but the empty folder the plan saw
    /// stands there. `replaces_empty_dir` is that folder's mode, when there is one.
    MoveIntoPlace { replaces_empty_dir: Option<u32> },
}

/// Why an install cannot go ahead; found before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    NotADir(PathBuf),
    /// A file where a folder of the path should be.
    FileInTheWay(PathBuf),
    /// A folder of the path this user may not look into.
    NotAllowed(PathBuf),
    /// The file system is mounted read-only.
    ReadOnly(PathBuf),
    /// The file system holds no files (proc, sysfs).
    VirtualFs(PathBuf),
    NotWritable(PathBuf),
    NoSpace {
        needed: u64,
        free: u64,
    },
    /// Paths in the target that ksn-setup did not install and would overwrite.
    Foreign(Vec<RelPath>),
    /// A folder the install writes into is a symlink, which could redirect writes elsewhere.
    Symlinked(RelPath),
    /// An upgrade would turn one of our folders into a file or back.
    KindChange(RelPath),
    /// The earlier install came from an installer signed by `pinned`; this one is signed by
    /// another key, or not at all.
    SignerChanged {
        pinned: String,
        now: Option<String>,
    },
    /// The menu folder of the scope does not exist (and is not made by the install).
    NoMenuDir(PathBuf),
    /// Something other than ksn-setup's own file or folder stands at a menu path.
    MenuPathTaken(PathBuf),
    /// The menu entries cannot name the install folder.
    MenuEntry(String),
}

impl Problem {
    /// The problem for the Location page, in the current language: the ones the page has no
    /// state of its own for (the others it names itself). The log and `--unattended` keep
    /// the English of [`Display`](fmt::Display).
    pub fn in_words(&self) -> String {
        match self {
            Problem::Symlinked(p) => tr!(
                "{} is a symlink in the install folder; Setup does not install through it",
                p
            ),
            Problem::KindChange(p) => tr!(
                "{} changes between file and folder in this version; uninstall the earlier \
                 version first",
                p
            ),
            Problem::SignerChanged {
                pinned,
                now: Some(key),
            } => tr!(
                "the installed product came from an installer signed by {}, and this one is \
                 signed by {}; an update must be signed by the same key",
                pinned,
                key
            ),
            Problem::SignerChanged { pinned, now: None } => tr!(
                "the installed product came from an installer signed by {}, and this one is not \
                 signed; an update must be signed by the same key",
                pinned
            ),
            Problem::NoMenuDir(p) => tr!(
                "the folder for menu entries, {}, does not exist; create it, or install \
                 without menu entries",
                p.display()
            ),
            Problem::MenuPathTaken(p) => tr!(
                "{} is not a plain file or folder, so Setup does not write a menu entry \
                 through it",
                p.display()
            ),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotADir(p) => write!(f, "\"{}\" exists and is not a folder", p.display()),
            Problem::FileInTheWay(p) => write!(
                f,
                "\"{}\" is a file, so no folder can be made inside it",
                p.display()
            ),
            Problem::NotAllowed(p) => write!(
                f,
                "you may not look into \"{}\"; choose another folder or run Setup as an administrator",
                p.display()
            ),
            Problem::ReadOnly(p) => write!(
                f,
                "\"{}\" is on a file system mounted read-only",
                p.display()
            ),
            Problem::VirtualFs(p) => write!(
                f,
                "\"{}\" is on a virtual file system (like /proc or /sys) that holds no files",
                p.display()
            ),
            Problem::NotWritable(p) => write!(f, "\"{}\" is not writable", p.display()),
            Problem::NoSpace { needed, free } => write!(
                f,
                "not enough free space: the install needs {} and {} is free",
                human_bytes(*needed),
                human_bytes(*free)
            ),
            Problem::Foreign(paths) => {
                let shown: Vec<_> = paths.iter().take(10).map(|p| format!("\"{p}\"")).collect();
                let more = if paths.len() > 10 {
                    format!(" and {} more", paths.len() - 10)
                } else {
                    String::new()
                };
                write!(
                    f,
                    "the folder holds files that ksn-setup did not install and would overwrite: {}{more}",
                    shown.join(", ")
                )
            }
            Problem::Symlinked(p) => {
                write!(
                    f,
                    "\"{p}\" is a symlink in the install folder; refusing to install through it"
                )
            }
            Problem::KindChange(p) => write!(
                f,
                "\"{p}\" changes between file and folder in this version; uninstall the earlier version first"
            ),
            Problem::SignerChanged { pinned, now } => write!(
                f,
                "the installed product came from an installer signed by {pinned}, and this installer is {}; \
                 an upgrade must be signed by the same key",
                match now {
                    Some(key) => format!("signed by {key}"),
                    None => "not signed".to_string(),
                }
            ),
            Problem::NoMenuDir(p) => write!(
                f,
                "the folder for menu entries, \"{}\", does not exist; create it, or install with --no-menu-entries",
                p.display()
            ),
            Problem::MenuPathTaken(p) => write!(
                f,
                "\"{}\" is not a plain file or folder (a symlink, or a folder where a menu entry goes); refusing to write a menu entry through it",
                p.display()
            ),
            Problem::MenuEntry(why) => write!(f, "{why}; install with --no-menu-entries"),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PlanError {
    #[error(
        "the End User License Agreement and the Privacy Policy must be accepted: \
         pass --accept-eula and --accept-privacy-policy, or set them in the answers file's [license]"
    )]
    LicensesNotAccepted,
}

/// What kind of install this is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstallKind {
    Fresh,
    /// Over an earlier install of ours, of this version.
    Upgrade {
        from_version: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub target: PathBuf,
    /// Folders to create for the target itself, outermost first.
    pub target_dirs: Vec<PathBuf>,
    pub kind: InstallKind,
    pub product_name: String,
    pub product_version: String,
    pub origin: String,
    pub now: String,
    pub language: Language,
    pub answers: Answers,
    pub ksn: Resolution,
    pub license: LicenseRecord,
    pub config_text: String,
    pub consent_line: Option<String>,
    pub ops: Vec<Op>,
    pub files: u64,
    pub bytes: u64,
    pub space_needed: u64,
    pub space_free: u64,
    pub problems: Vec<Problem>,
    /// An interrupted transaction must be recovered first.
    pub recover_first: bool,
    /// The target does not exist: the tree is built beside it and moved into place whole
    /// ([`Op::MoveIntoPlace`]); otherwise each file is staged and moved on its own.
    pub fresh: bool,
    /// A fresh install into an empty folder: that folder's mode, which the tree takes when it
    /// replaces it (and which a rollback gives the empty folder it puts back).
    pub replaces_empty_dir: Option<u32>,
    /// Where the menu entries go; `None`: the install adds none.
    pub menu_dir: Option<PathBuf>,
    /// The menu entries and the icon `Op::WriteMenuFile` writes.
    pub menu_files: Vec<MenuFile>,
    /// The folders below the menu folder that installs of this product created (this one and
    /// earlier ones), for the receipt: uninstall removes them when empty.
    pub menu_dirs: Vec<String>,
    /// The menu folder an earlier install added entries to and this one adds none to: its
    /// entries there are removed (`Op::RemoveMenuFile`, `Op::RemoveMenuDir`).
    #[serde(default)]
    pub menu_removed_from: Option<PathBuf>,
}

/// Makes the plan for installing `bundle` into `target` with `answers` at time `now`.
pub fn plan(
    bundle: &Bundle,
    answers: &Answers,
    target: &Target,
    now: &str,
) -> Result<Plan, PlanError> {
    if !(answers.accept_eula && answers.accept_privacy_policy) {
        return Err(PlanError::LicensesNotAccepted);
    }
    let language = answers.language();
    let previous = target.previous.as_ref();
    let previous_ksn = previous
        .and_then(|p| p.config.as_ref())
        .and_then(|c| c.ksn.as_ref());
    let ksn = rules::resolve(
        previous_ksn,
        answers.ksn_answer(),
        bundle.statements.ksn(),
        language,
        now,
    );

    let eula = bundle.statements.get(statements::EULA);
    let privacy = bundle.statements.get(statements::PRIVACY_POLICY);
    let license = LicenseRecord {
        eula_accepted: true,
        eula_version: eula.version.clone(),
        eula_sha256: eula.text(language).1.sha256.clone(),
        privacy_policy_accepted: true,
        privacy_policy_version: privacy.version.clone(),
        privacy_policy_sha256: privacy.text(language).1.sha256.clone(),
        language: eula.text(language).0,
        accepted_by: answers.decided_by,
        accepted_at: now.to_string(),
    };
    let config_text = config::render(
        previous.and_then(|p| p.config.as_ref()),
        &ConfigValues {
            product_name: &bundle.product.name,
            product_version: &bundle.product.version,
            installed_at: now,
            license: &license,
            ksn: &ksn.record,
            default_settings: &bundle.product.settings,
        },
    );
    let kind = match previous {
        Some(p) => InstallKind::Upgrade {
            from_version: p.receipt.product_version.clone(),
        },
        None => InstallKind::Fresh,
    };
    let consent_line = ksn.changed.then(|| {
        LogLine {
            format: 1,
            at: now.to_string(),
            event: match kind {
                InstallKind::Fresh => "install".into(),
                InstallKind::Upgrade { .. } => "upgrade".into(),
            },
            record: ksn.record.clone(),
            reason: ksn.reason.clone(),
            product_version: bundle.product.version.clone(),
            installer_version: crate::INSTALLER_VERSION.into(),
            prev_sha256: Some(target.consent_log_tip.clone()),
        }
        .to_line()
    });

    let mut problems = Vec::new();
    // The first real reason, and only it: a file in the way explains why nothing else can be
    // said of the folder.
    let anchor = target
        .missing_dirs
        .first()
        .and_then(|d| d.parent())
        .unwrap_or(&target.dir)
        .to_path_buf();
    let path_problem = match &target.obstacle {
        Some(Obstacle::FileInTheWay(p)) => Some(Problem::FileInTheWay(p.clone())),
        Some(Obstacle::NotAllowed(p)) => Some(Problem::NotAllowed(p.clone())),
        None if target.not_a_dir => Some(Problem::NotADir(target.dir.clone())),
        None if target.virtual_fs => Some(Problem::VirtualFs(anchor.clone())),
        None if target.read_only => Some(Problem::ReadOnly(anchor.clone())),
        None if !target.writable => Some(Problem::NotWritable(anchor.clone())),
        None => None,
    };
    let blocked = path_problem.is_some();
    problems.extend(path_problem);

    // A signed install pins its signer: only the same key may change the folder again.
    if let Some(pinned) = previous.and_then(|p| p.receipt.signer.as_ref()) {
        let now = bundle.signer.map(|k| k.to_string());
        if now.as_ref() != Some(pinned) {
            problems.push(Problem::SignerChanged {
                pinned: pinned.clone(),
                now,
            });
        }
    }

    let ours = |path: &RelPath| previous.and_then(|p| p.receipt.find(path));
    let mut ops = Vec::new();
    let mut foreign = Vec::new();

    // The config's folder first: the config and the consent record precede all payload.
    let etc = RelPath::new("etc").expect("valid path");
    match target.existing.get(&etc) {
        None => ops.push(Op::CreateDir {
            path: etc.clone(),
            mode: 0o755,
        }),
        Some(Existing::Dir) => {}
        Some(Existing::Symlink) => problems.push(Problem::Symlinked(etc.clone())),
        Some(_) => foreign.push(etc.clone()),
    }
    if previous.is_none() {
        if target.config_exists {
            foreign.push(RelPath::new(layout::CONFIG).expect("valid path"));
        }
        if target.consent_log_len.is_some() {
            foreign.push(RelPath::new(layout::CONSENT_LOG).expect("valid path"));
        }
    }
    ops.push(Op::WriteConfig {
        replaces: target.config_exists,
    });
    if consent_line.is_some() {
        ops.push(Op::AppendConsentLog {
            previous_len: target.consent_log_len,
        });
    }

    let mut installs = Vec::new();
    let mut files = 0;
    let mut new_dirs = 0u64;
    for (index, entry) in bundle.entries.iter().enumerate() {
        let existing = target.existing.get(&entry.path).copied();
        let earlier = ours(&entry.path);
        match (&entry.kind, existing) {
            (EntryKind::Dir, None) => {
                if entry.path != etc {
                    ops.push(Op::CreateDir {
                        path: entry.path.clone(),
                        mode: entry.mode,
                    });
                }
                new_dirs += 1;
            }
            (EntryKind::Dir, Some(Existing::Dir)) => {}
            (EntryKind::Dir, Some(Existing::Symlink)) => {
                problems.push(Problem::Symlinked(entry.path.clone()))
            }
            (EntryKind::Dir, Some(_)) | (_, Some(Existing::Dir)) if earlier.is_some() => {
                problems.push(Problem::KindChange(entry.path.clone()))
            }
            (EntryKind::Dir, Some(_)) | (_, Some(Existing::Dir | Existing::Other)) => {
                foreign.push(entry.path.clone())
            }
            (_, None) => {
                installs.push(Op::Install {
                    path: entry.path.clone(),
                    entry: index,
                    replaces: false,
                });
                files += 1;
            }
            (_, Some(Existing::File | Existing::Symlink)) => {
                if earlier.is_some() {
                    installs.push(Op::Install {
                        path: entry.path.clone(),
                        entry: index,
                        replaces: true,
                    });
                    files += 1;
                } else {
                    foreign.push(entry.path.clone());
                }
            }
        }
    }
    // A target that does not exist yet is built whole beside it, where its files are staged
    // in their places, and moved into place with one rename: no file of it is in the target
    // before all of it is, the config first among them.
    let missing = target.missing_dirs.last() == Some(&target.dir);
    let fresh = previous.is_none() && (missing || target.empty_dir.is_some());
    ops.push(Op::Stage);
    if !fresh {
        ops.extend(installs);
    }

    // What the earlier install had and this one does not: files first, then folders deepest first.
    if let Some(prev) = previous {
        let wanted: BTreeSet<&RelPath> = bundle.entries.iter().map(|e| &e.path).collect();
        for old in &prev.receipt.entries {
            if old.kind != ReceiptKind::Dir
                && !wanted.contains(&old.path)
                && target.existing.contains_key(&old.path)
            {
                ops.push(Op::RemoveObsolete {
                    path: old.path.clone(),
                });
            }
        }
        let mut old_dirs: Vec<_> = prev
            .receipt
            .entries
            .iter()
            .filter(|e| e.kind == ReceiptKind::Dir && !wanted.contains(&e.path) && e.path != etc)
            .filter(|e| target.existing.get(&e.path) == Some(&Existing::Dir))
            .collect();
        old_dirs.sort_by_key(|e| std::cmp::Reverse(e.path.as_str().matches('/').count()));
        for old in old_dirs {
            ops.push(Op::RemoveObsoleteDir {
                path: old.path.clone(),
                mode: old.mode,
            });
        }
    }
    let (menu_dir, menu_files, menu_dirs) = plan_menu(bundle, target, &mut ops, &mut problems);
    // Without entries now, the earlier install's entries go, or they would be left behind
    // with no receipt naming them. (Entries moving to another menu folder stay where they
    // were: one transaction works below one menu folder.)
    let menu_removed_from = match (&menu_dir, &target.earlier_menu) {
        (None, Some(earlier)) => {
            ops.extend(
                earlier
                    .files
                    .iter()
                    .map(|path| Op::RemoveMenuFile { path: path.clone() }),
            );
            ops.extend(
                earlier
                    .dirs
                    .iter()
                    .map(|path| Op::RemoveMenuDir { path: path.clone() }),
            );
            Some(earlier.dir.clone())
        }
        _ => None,
    };
    ops.push(Op::WriteReceipt {
        replaces: previous.is_some(),
    });
    if fresh {
        ops.push(Op::MoveIntoPlace {
            replaces_empty_dir: target.empty_dir,
        });
    }

    // An interrupted run's half-written files look foreign until recovery removes them; the
    // executor plans again after recovering, so they are judged then.
    if !foreign.is_empty() && !target.interrupted {
        problems.push(Problem::Foreign(foreign));
    }

    // Space: every file rounded up to a block, a block per new folder, the records, the
    // journal, and a margin. Rollback keeps replaced files as hard links, which cost nothing.
    let bs = target.block_size.max(512);
    let bytes = bundle.payload_bytes();
    let payload_blocks: u64 = bundle
        .entries
        .iter()
        .map(|e| e.size().div_ceil(bs) * bs)
        .sum();
    let records =
        (config_text.len() as u64).div_ceil(bs) * bs * 2 + 256 * bundle.entries.len() as u64;
    let space_needed = payload_blocks + (new_dirs + 4) * bs + records * 2 + (1 << 20);
    // Free space is real only where files can be made at all.
    if !blocked && space_needed > target.free_bytes {
        problems.push(Problem::NoSpace {
            needed: space_needed,
            free: target.free_bytes,
        });
    }

    let mut target_dirs = target.missing_dirs.clone();
    if fresh {
        // The folders above it; the target itself comes with the rename.
        if missing {
            target_dirs.pop();
        }
    } else if previous.is_none() {
        target_dirs.push(target.dir.join(layout::STATE_DIR));
    }
    Ok(Plan {
        target: target.dir.clone(),
        target_dirs,
        kind,
        product_name: bundle.product.name.clone(),
        product_version: bundle.product.version.clone(),
        origin: bundle.origin.clone(),
        now: now.to_string(),
        language,
        answers: answers.clone(),
        ksn,
        license,
        config_text,
        consent_line,
        ops,
        files,
        bytes,
        space_needed,
        space_free: target.free_bytes,
        problems,
        recover_first: target.interrupted,
        fresh,
        replaces_empty_dir: if fresh { target.empty_dir } else { None },
        menu_dir,
        menu_files,
        menu_dirs,
        menu_removed_from,
    })
}

/// The menu entries and the icon, after the payload (they name its programs) and before the
/// receipt (which lists them): a folder created where one is missing, each file written or
/// replaced. Anything but ksn-setup's own kind of file or folder at one of its paths stops
/// the install, as a foreign file in the install folder does.
fn plan_menu(
    bundle: &Bundle,
    target: &Target,
    ops: &mut Vec<Op>,
    problems: &mut Vec<Problem>,
) -> (Option<PathBuf>, Vec<MenuFile>, Vec<String>) {
    // The entries open the maintenance program and the settings launcher: a bare payload
    // folder (an image for tests and benchmarks) installs neither, so it gets no entries.
    let launcher = bundle
        .entries
        .iter()
        .any(|e| e.path.as_str() == layout::SETTINGS_LAUNCHER);
    let Some(menu) = target.menu.as_ref().filter(|_| launcher) else {
        return (None, Vec::new(), Vec::new());
    };
    if !menu.exists {
        problems.push(Problem::NoMenuDir(menu.dir.clone()));
        return (Some(menu.dir.clone()), Vec::new(), Vec::new());
    }
    // Folders an earlier install into this same menu folder created stay ours.
    let mut owned: Vec<String> = target
        .previous
        .as_ref()
        .and_then(|p| p.receipt.menu.as_ref())
        .filter(|m| m.dir == menu.dir)
        .map(|m| m.dirs.clone())
        .unwrap_or_default();
    if !menu.writable {
        problems.push(Problem::NotWritable(menu.dir.clone()));
    }
    let files = match desktop::render(&bundle.product.name, &target.dir) {
        Ok(files) => files,
        Err(why) => {
            problems.push(Problem::MenuEntry(why));
            return (Some(menu.dir.clone()), Vec::new(), Vec::new());
        }
    };
    for dir in desktop::DIRS {
        match menu.existing.get(dir) {
            None => {
                ops.push(Op::CreateMenuDir { path: dir.into() });
                if !owned.iter().any(|d| d == dir) {
                    owned.push(dir.to_string());
                }
            }
            Some(Existing::Dir) => {}
            Some(_) => problems.push(Problem::MenuPathTaken(menu.dir.join(dir))),
        }
    }
    for file in &files {
        match menu.existing.get(&file.path) {
            None => ops.push(Op::WriteMenuFile {
                path: file.path.clone(),
                replaces: false,
            }),
            Some(Existing::File) => ops.push(Op::WriteMenuFile {
                path: file.path.clone(),
                replaces: true,
            }),
            Some(_) => problems.push(Problem::MenuPathTaken(menu.dir.join(&file.path))),
        }
    }
    owned.sort_by_key(|d| desktop::DIRS.iter().position(|k| k == d));
    (Some(menu.dir.clone()), files, owned)
}

impl Plan {
    /// The same plan with the parts that depend on when it was made removed, to compare a plan
    /// made before taking the lock with one made under it.
    pub fn same_changes(&self, other: &Plan) -> bool {
        self.ops == other.ops
            && self.target == other.target
            && self.ksn.record == other.ksn.record
            && self.menu_dir == other.menu_dir
    }

    /// One step of the plan, for people: what `op` does.
    pub fn step(&self, op: &Op) -> String {
        match op {
            Op::CreateDir { path, mode } => format!("create folder {path} (mode {mode:o})"),
            Op::WriteConfig { replaces } => format!(
                "{} {} with the KSN decision ({}), durably",
                if *replaces { "update" } else { "write" },
                layout::CONFIG,
                self.ksn.record.decision.as_str()
            ),
            Op::AppendConsentLog { .. } => {
                format!("append the decision to {}", layout::CONSENT_LOG)
            }
            Op::Stage if self.fresh => format!(
                "copy {} files ({}) into their places in {}, checking SHA-256, then sync",
                self.files,
                human_bytes(self.bytes),
                layout::fresh_dir(&self.target)
                    .unwrap_or_default()
                    .display()
            ),
            Op::Stage => format!(
                "copy {} files ({}) into .ksn-setup/txn/staging, checking SHA-256, then sync",
                self.files,
                human_bytes(self.bytes)
            ),
            Op::MoveIntoPlace { replaces_empty_dir } => format!(
                "move it all into place as {} with one rename{}",
                self.target.display(),
                if replaces_empty_dir.is_some() {
                    " (replacing the empty folder)"
                } else {
                    ""
                }
            ),
            Op::Install { path, replaces, .. } => {
                format!("{} {path}", if *replaces { "replace" } else { "install" })
            }
            Op::RemoveObsolete { path } => format!("remove {path} (not in this version)"),
            Op::RemoveObsoleteDir { path, .. } => {
                format!("remove folder {path} if empty (not in this version)")
            }
            Op::CreateMenuDir { path } => format!("create folder {}", self.menu_path(path)),
            Op::WriteMenuFile { path, replaces } => format!(
                "{} {}",
                if *replaces { "replace" } else { "add" },
                self.menu_path(path)
            ),
            Op::RemoveMenuFile { path } => format!("remove {}", self.menu_path(path)),
            Op::RemoveMenuDir { path } => {
                format!("remove folder {} if empty", self.menu_path(path))
            }
            Op::WriteReceipt { .. } => format!("write {}", layout::RECEIPT),
        }
    }

    /// A path below the menu folder, for people.
    fn menu_path(&self, path: &str) -> String {
        match self.menu_dir.as_ref().or(self.menu_removed_from.as_ref()) {
            Some(dir) => dir.join(path).display().to_string(),
            None => path.to_string(),
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            InstallKind::Fresh => "fresh install".to_string(),
            InstallKind::Upgrade { from_version } => {
                format!("over installed version {from_version}")
            }
        };
        writeln!(
            f,
            "Plan: install {} {} ({}) into {} ({kind})",
            self.product_name,
            self.product_version,
            self.origin,
            self.target.display()
        )?;
        writeln!(f, "KSN: the product {}", rules::describe(&self.ksn.record))?;
        if let rules::Reason::StatementChanged { agreed_version, .. } = &self.ksn.reason {
            writeln!(
                f,
                "     (the earlier agreement was to a text of statement version {agreed_version} that this one does not carry over; it needs new consent)"
            )?;
        }
        writeln!(
            f,
            "Space: needs {}, {} free; {} files, {}",
            human_bytes(self.space_needed),
            human_bytes(self.space_free),
            self.files,
            human_bytes(self.bytes)
        )?;
        if self.recover_first {
            writeln!(
                f,
                "First: recover the interrupted transaction in this folder"
            )?;
        }
        let mut step = 0;
        let mut line = |f: &mut fmt::Formatter<'_>, text: String| {
            step += 1;
            writeln!(f, "{step:>4}. {text}")
        };
        for dir in &self.target_dirs {
            line(f, format!("create folder {}", dir.display()))?;
        }
        for op in &self.ops {
            let text = self.step(op);
            line(f, text)?;
        }
        line(f, "sync and commit".to_string())?;
        for problem in &self.problems {
            writeln!(f, "Cannot install: {problem}")?;
        }
        Ok(())
    }
}
