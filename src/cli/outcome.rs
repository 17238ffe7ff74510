//! What a command did, for scripts: with `--json`, every command that acts or checks prints
//! one [`Outcome`] on stdout when it ends, whether it succeeded or not, and nothing else
//! there. README ("Deploying to many machines") documents the fields; `format` says which
//! set of them this is, and a field is only ever added.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::base::error::ExitStatus;
use crate::maintenance::installed::{InstalledProduct, KsnStatus};

/// The version of the outcome's fields.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub format: u32,
    /// The command, as typed: `install`, `ksn decline`, `verify`…
    pub command: String,
    /// Whether it succeeded (`exit_code` 0).
    pub ok: bool,
    /// The process's exit code (README, "Exit codes").
    pub exit_code: u8,
    /// Whether anything on the machine was changed.
    pub changed: bool,
    /// What was done, one word: see [`Action`].
    pub action: Action,
    /// Why a full install ran over the same version, or what else there is to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The install folder the command acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<Product>,
    /// The KSN state after the command, read back from the installed config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ksn: Option<KsnStatus>,
    /// Installed paths found missing or changed (and, after a repair, restored).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub damaged: Vec<DamagedPath>,
    /// What `inspect` and `verify` report of an installer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installer: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

/// What a command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A fresh install.
    Installed,
    /// Over another version, or the same version with other files or answers.
    Upgraded,
    /// The same version with the same answers over an intact install: nothing written.
    Unchanged,
    /// The same version over an intact install, and only the KSN decision changed.
    KsnChanged,
    /// The same version over an intact install: no payload file changed, but the menu
    /// entries or the licence record did (and maybe the KSN decision); `detail` says which.
    Reconfigured,
    /// Damaged files were restored.
    Repaired,
    /// The same version is installed but damaged; nothing was changed.
    Damaged,
    Uninstalled,
    Recovered,
    /// `recover` found no interrupted run; `repair` found no damage; `ksn agree|decline`
    /// found the product already as asked.
    Nothing,
    /// `verify`: every byte of the installer checked.
    Verified,
    /// `inspect`: the installer described.
    Inspected,
    /// `pack`: an installer written.
    Packed,
    /// `keygen`: a key pair written.
    KeyMade,
    /// The command failed; `error` says why.
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DamagedPath {
    pub path: String,
    /// `missing`, `changed`, `mode 644`, `replaced by something else`, `points elsewhere`.
    pub damage: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    pub exit_code: u8,
    /// The error with its causes, in English.
    pub message: String,
}

impl Outcome {
    /// An outcome of `command` that did `action`, changing the machine or not.
    pub fn new(command: &str, action: Action, changed: bool) -> Outcome {
        Outcome {
            format: FORMAT,
            command: command.to_string(),
            ok: true,
            exit_code: ExitStatus::Success as u8,
            changed,
            action,
            detail: None,
            dir: None,
            product: None,
            ksn: None,
            damaged: Vec::new(),
            installer: None,
            error: None,
        }
    }

    /// The command failed with `err` (exit `status`); `changed` says whether anything stayed
    /// changed (a rollback that could not finish).
    pub fn failed(command: &str, status: ExitStatus, err: &anyhow::Error) -> Outcome {
        Outcome {
            ok: false,
            exit_code: status as u8,
            changed: status == ExitStatus::RollbackIncomplete,
            error: Some(ErrorReport {
                exit_code: status as u8,
                message: format!("{err:#}"),
            }),
            ..Outcome::new(command, Action::Failed, false)
        }
    }

    /// Adds the install folder, and the product and its KSN state read back from it when
    /// one is installed there.
    pub fn of_installed(mut self, dir: &Path) -> Outcome {
        self.dir = Some(dir.to_path_buf());
        if let Ok(installed) = InstalledProduct::open(dir) {
            self.product = Some(Product {
                name: installed.receipt.product_name.clone(),
                version: installed.receipt.product_version.clone(),
            });
            self.ksn = Some(installed.ksn_status(installed.ksn_record().statement_language));
        }
        self
    }

    pub fn with_status(mut self, status: ExitStatus) -> Outcome {
        self.exit_code = status as u8;
        self.ok = status == ExitStatus::Success;
        self
    }

    pub fn with_damaged<'a>(
        mut self,
        damaged: impl IntoIterator<Item = (&'a String, &'a crate::maintenance::repair::Damage)>,
    ) -> Outcome {
        self.damaged = damaged
            .into_iter()
            .map(|(path, damage)| DamagedPath {
                path: path.clone(),
                damage: damage.to_string(),
            })
            .collect();
        self
    }

    pub fn print(&self) {
        println!(
            "{}",
            serde_json::to_string_pretty(self).expect("an outcome serialises")
        );
    }
}

/// How a command reports what it did: sentences for a person (none with `--quiet`), or with
/// `--json` one [`Outcome`] when it ends and nothing else on stdout.
#[derive(Debug, Default)]
pub struct Report {
    pub json: bool,
    pub quiet: bool,
    /// `--unattended`: nothing may ask.
    pub unattended: bool,
    outcome: Option<Outcome>,
    /// The command printed its own JSON document (`ksn status|history|receipt --json`).
    printed_own: bool,
}

impl Report {
    pub fn new(json: bool, quiet: bool, unattended: bool) -> Report {
        Report {
            json,
            quiet,
            unattended,
            ..Report::default()
        }
    }

    /// A sentence for a person on stdout: not with `--json` (stdout is the outcome's) nor
    /// with `--quiet`.
    pub fn say(&self, text: impl std::fmt::Display) {
        if !self.json && !self.quiet {
            println!("{text}");
        }
    }

    /// How progress shows on stderr: nothing with `--quiet`, a bar on a terminal (not with
    /// `--json`, whose reader is a program), plain lines otherwise.
    pub fn progress(&self) -> crate::console::progress::Shown {
        use crate::console::progress::Shown;
        use std::io::IsTerminal as _;
        if self.quiet {
            Shown::Nothing
        } else if !self.json && std::io::stderr().is_terminal() {
            Shown::Bar
        } else {
            Shown::Lines
        }
    }

    /// What the command did, printed when it ends with `--json`.
    pub fn set(&mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
    }

    /// Prints a document the command defines itself (with `--json`), in place of an outcome.
    pub fn print_own(&mut self, document: &impl Serialize) {
        println!(
            "{}",
            serde_json::to_string_pretty(document).expect("a report serialises")
        );
        self.printed_own = true;
    }

    /// With `--json`, prints the outcome of `command`, which ended with `status`.
    pub fn finish(self, command: &str, status: ExitStatus) {
        if !self.json || self.printed_own {
            return;
        }
        let mut outcome = self
            .outcome
            .unwrap_or_else(|| Outcome::new(command, Action::Nothing, false));
        command.clone_into(&mut outcome.command);
        outcome.with_status(status).print();
    }
}
