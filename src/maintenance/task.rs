//! Maintenance tasks on an installed product, as the command line and the wizards run them:
//! change KSN participation (Modify), Repair, Uninstall. Each is one journaled transaction
//! made under the folder lock from what is on disk ([`crate::engine::executor::maintain`]).

use std::path::Path;

use crate::bundle::contents::Bundle;
use crate::consent::rules::Collection;
use crate::consent::rules::KsnRecord;
use crate::consent::statements::Language;
use crate::engine::control::RunControl;
use crate::engine::executor;
use crate::engine::progress::Reporter;
use crate::maintenance::installed::InstalledProduct;
use crate::maintenance::ksn_change::{self, ChangeOutcome, ChangeRequest};
use crate::maintenance::repair::{self, Damage};
use crate::maintenance::uninstall::{self, Records};
use crate::{tr, trn};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Task {
    /// Participate or not; an agreement is to the KSN Statement text in `language`, which the
    /// caller has shown (`shown_sha256`).
    Modify {
        participate: bool,
        language: Language,
        shown_sha256: Option<String>,
        /// How the change was asked for, for the record.
        how: Collection,
    },
    Repair,
    Uninstall {
        records: Records,
    },
}

impl Task {
    /// A Modify as a wizard's KSN page asked for it: an agreement is to the statement text that
    /// page showed, the bundle's in the chosen language.
    pub fn with_shown_statement(self, bundle: &Bundle) -> Task {
        match self {
            Task::Modify {
                participate,
                language,
                how,
                ..
            } => Task::Modify {
                participate,
                language,
                shown_sha256: participate
                    .then(|| bundle.statements.ksn().text(language).1.sha256.clone()),
                how,
            },
            other => other,
        }
    }
}

/// What a task did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Done {
    Modified(ChangeOutcome),
    /// Modify with the choice as it was: nothing was asked of the engine.
    KsnUnchanged {
        participate: bool,
    },
    Repaired(Vec<(String, Damage)>),
    NothingToRepair,
    /// Uninstalled; whether the folder itself is gone, and whether the config and the
    /// consent log were kept.
    Uninstalled {
        folder_removed: bool,
        records_kept: bool,
    },
}

impl Done {
    /// One paragraph for the Finish page and the terminal.
    /// What was done, in the current language: the window's Finish page's words.
    pub fn summary(&self, product: &str, dir: &Path) -> String {
        match self {
            Done::Modified(ChangeOutcome::Changed(record)) if record.participate => tr!(
                "{} now takes part in Kaspersky Security Network (KSN Statement {}). You can \
                 turn it off at any time in Settings.",
                product,
                record.statement_version
            ),
            Done::Modified(ChangeOutcome::Changed(_)) => tr!(
                "{} no longer takes part in Kaspersky Security Network. You can turn it on \
                 again at any time in Settings.",
                product
            ),
            Done::KsnUnchanged { participate: true }
            | Done::Modified(ChangeOutcome::Unchanged(KsnRecord {
                participate: true, ..
            })) => tr!(
                "Kaspersky Security Network participation is on, as it was; nothing was changed."
            ),
            Done::KsnUnchanged { .. } | Done::Modified(ChangeOutcome::Unchanged(_)) => tr!(
                "Kaspersky Security Network participation is off, as it was; nothing was changed."
            ),
            Done::Repaired(damaged) => {
                let list = repaired_list(damaged);
                trn!(
                    "Restored {n} item: {}.",
                    "Restored {n} items: {}.",
                    damaged.len() as u64,
                    list
                )
            }
            Done::NothingToRepair => {
                tr!("Nothing to repair: every installed file matches the record of the install.")
            }
            Done::Uninstalled {
                folder_removed: true,
                ..
            } => tr!(
                "{} was removed, and its folder {} with it.",
                product,
                dir.display()
            ),
            Done::Uninstalled {
                folder_removed: false,
                ..
            } => tr!(
                "{} was removed from {}. What you added there, and the records you chose to \
                 keep, are still there.",
                product,
                dir.display()
            ),
        }
    }
}

/// The first ten repaired paths with what was wrong with each, in the current language.
pub fn repaired_list(damaged: &[(String, Damage)]) -> String {
    let mut list: Vec<String> = damaged
        .iter()
        .take(10)
        .map(|(path, damage)| format!("{path} ({})", damage.in_words()))
        .collect();
    let more = damaged.len().saturating_sub(10);
    if more > 0 {
        list.push(trn!("{n} more", "{n} more", more as u64));
    }
    list.join(", ")
}

/// Runs `task` on the product in `dir` as root, through pkexec, for a normal user's window on
/// a machine-wide install ([`crate::engine::elevation`]): `source` is where a repair's
/// bundle comes from, `program` the ksn-setup to run there (`None`: this program).
pub fn run_as_administrator(
    dir: &Path,
    task: &Task,
    source: crate::engine::elevation::Source,
    program: Option<&Path>,
    reporter: &Reporter,
    control: &RunControl,
) -> anyhow::Result<Done> {
    use crate::engine::elevation::{self, Job, Reply, Request};
    let request = Request {
        format: elevation::FORMAT,
        job: Job::Maintain {
            dir: dir.to_path_buf(),
            task: serde_json::to_value(task).expect("a task serialises"),
            source,
        },
    };
    match elevation::run(&request, program, reporter, control)? {
        Reply::Maintained(done) => serde_json::from_value(done).map_err(|e| {
            anyhow::anyhow!(
                "the task as administrator answered in words this program does not read: {e}"
            )
        }),
        Reply::Installed { .. } => Err(anyhow::anyhow!(
            "the task as administrator answered as an install"
        )),
    }
}

/// Runs `task` on the product in `dir`; `bundle` is what a repair restores from.
pub fn run(
    dir: &Path,
    bundle: Option<&Bundle>,
    task: &Task,
    now: &str,
    reporter: &Reporter,
    control: &RunControl,
) -> anyhow::Result<Done> {
    match task {
        Task::Modify {
            participate,
            language,
            shown_sha256,
            how,
        } => {
            let request = ChangeRequest {
                participate: *participate,
                accepted_sha256: shown_sha256.clone(),
                language: *language,
                how: *how,
            };
            Ok(Done::Modified(ksn_change::apply(
                dir, &request, now, reporter,
            )?))
        }
        Task::Repair => {
            let bundle =
                bundle.ok_or_else(|| anyhow::anyhow!("a repair needs the installer's payload"))?;
            let mut damaged = Vec::new();
            let done = executor::maintain(
                dir,
                Some(bundle),
                |root| {
                    let installed = InstalledProduct::read(root)?;
                    Ok(
                        repair::plan_repair(root, &installed, bundle, now, repair::Check::Full)?
                            .map(|plan| {
                                damaged = plan.damaged;
                                plan.work
                            }),
                    )
                },
                reporter,
                control,
            )?;
            Ok(match done {
                Some(_) => Done::Repaired(damaged),
                None => Done::NothingToRepair,
            })
        }
        Task::Uninstall { records } => {
            executor::maintain(
                dir,
                None,
                |root| {
                    let installed = InstalledProduct::read(root)?;
                    Ok(Some(uninstall::plan_uninstall(
                        root, &installed, *records, now,
                    )?))
                },
                reporter,
                control,
            )?;
            // The folder lock and .ksn-setup go too, and the folder when nothing is left.
            let _ = crate::engine::recovery::recover(dir, &Reporter::silent());
            Ok(Done::Uninstalled {
                records_kept: *records == Records::Keep,
                folder_removed: !dir.exists(),
            })
        }
    }
}
