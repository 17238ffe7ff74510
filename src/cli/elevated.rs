//! `elevated`: the privileged side of an install a normal user's window started for all
//! users ([`crate::engine::elevation`]), run as root by pkexec. It reads the window's request
//! from standard input, runs the same unattended install as `install --unattended` with the
//! answers as chosen there, streams its progress as JSON lines on standard output, and takes
//! hold, resume and cancel from standard input; the end of standard input cancels.

use std::io::{BufRead, Read as _, Write as _};
use std::sync::Arc;
use std::sync::mpsc;

use anyhow::Context as _;

use super::common::bundle_to_install;
use crate::base::error::{self, BadInput, ExitStatus};
use crate::base::time::now_rfc3339;
use crate::bundle::signing;
use crate::consent::answers::Scope;
use crate::engine::control::RunControl;
use crate::engine::elevation::{self, Control, Job, Message, Request};
use crate::engine::progress::Reporter;
use crate::engine::{executor, plan, target};

pub(super) fn run_elevated() -> anyhow::Result<ExitStatus> {
    let mut stdin = std::io::stdin().lock();
    let mut line = String::new();
    (&mut stdin)
        .take(elevation::MAX_REQUEST)
        .read_line(&mut line)
        .context("cannot read the request")?;
    drop(stdin);
    let request: Request = serde_json::from_str(line.trim_end()).map_err(|e| {
        BadInput(anyhow::anyhow!(
            "the request is not one ksn-setup makes: {e}"
        ))
    })?;
    if request.format != elevation::FORMAT {
        return Err(BadInput(anyhow::anyhow!(
            "the request's format {} is not one this ksn-setup reads",
            request.format
        ))
        .into());
    }
    let control = Arc::new(RunControl::new());
    // The window's hold, resume and cancel; the pipe's end is a cancel too (the window is
    // gone, so nobody would see the install finish).
    {
        let control = Arc::clone(&control);
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Control>(line.trim()) {
                    Ok(Control::Hold) => control.hold(),
                    Ok(Control::Resume) => control.resume(),
                    Ok(Control::Cancel) | Err(_) => break,
                }
            }
            control.cancel();
        });
    }
    let (sender, events) = mpsc::channel();
    let writer = std::thread::spawn(move || {
        let mut out = std::io::stdout().lock();
        for event in events {
            // A window that went away cannot read; the install goes on to its cancel.
            let _ = out.write_all(Message::Event(event).to_line().as_bytes());
            let _ = out.flush();
        }
    });
    let reporter = Reporter::new(sender, false);
    let result = match request.job {
        Job::Install { answers, source } => install(answers, source, &reporter, &control),
        Job::Maintain { dir, task, source } => maintain(dir, task, source, &reporter, &control),
    };
    drop(reporter);
    let _ = writer.join();
    let message = match &result {
        Ok(message) => message.clone(),
        Err(e) => Message::Failed {
            message: format!("{e:#}"),
            status: error::exit_status(e) as u8,
        },
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(message.to_line().as_bytes());
    let _ = out.flush();
    result.map(|_| ExitStatus::Success)
}

fn install(
    answers: crate::consent::answers::Answers,
    source: elevation::Source,
    reporter: &Reporter,
    control: &RunControl,
) -> anyhow::Result<Message> {
    // Root installs here only what a machine-wide install is: a user's own install runs as
    // that user, never as root in their home folder.
    if answers.scope != Scope::System {
        return Err(BadInput(anyhow::anyhow!(
            "an install as administrator is for all users; install only for yourself without it"
        ))
        .into());
    }
    let trust = signing::trust(source.trusted_key.as_deref()).map_err(BadInput)?;
    let bundle = bundle_to_install(
        source.payload.as_deref(),
        source.installer.as_deref(),
        source.statements.as_deref(),
        trust.as_ref(),
    )?;
    let dir = answers.install_dir();
    if !dir.is_absolute() || answers.menu_dir.as_ref().is_some_and(|d| !d.is_absolute()) {
        return Err(BadInput(anyhow::anyhow!(
            "the request names a folder that is not an absolute path"
        ))
        .into());
    }
    let target = target::inspect(&dir, &bundle, answers.menu_dir.as_deref())?;
    let plan =
        plan::plan(&bundle, &answers, &target, &now_rfc3339()).map_err(|e| BadInput(e.into()))?;
    reporter.step(format!("plan (as administrator):\n{plan}"));
    let installed = executor::install(&bundle, &plan, reporter, control)?;
    Ok(Message::Installed {
        ksn: installed.plan.ksn.record.clone(),
        dir: installed.plan.target.clone(),
        recovered: installed.recovered.clone(),
    })
}

/// A maintenance task on a machine-wide install, as the window asked for it; a repair
/// restores from the bundle the window was started with.
fn maintain(
    dir: std::path::PathBuf,
    task: serde_json::Value,
    source: elevation::Source,
    reporter: &Reporter,
    control: &RunControl,
) -> anyhow::Result<Message> {
    use crate::maintenance::task::{self, Task};
    if !dir.is_absolute() {
        return Err(BadInput(anyhow::anyhow!(
            "the request names a folder that is not an absolute path"
        ))
        .into());
    }
    let task: Task = serde_json::from_value(task).map_err(|e| {
        BadInput(anyhow::anyhow!(
            "the request's task is not one ksn-setup makes: {e}"
        ))
    })?;
    let bundle = match task {
        Task::Repair => {
            let trust = signing::trust(source.trusted_key.as_deref()).map_err(BadInput)?;
            Some(bundle_to_install(
                source.payload.as_deref(),
                source.installer.as_deref(),
                source.statements.as_deref(),
                trust.as_ref(),
            )?)
        }
        _ => None,
    };
    let done = task::run(
        &dir,
        bundle.as_ref(),
        &task,
        &now_rfc3339(),
        reporter,
        control,
    )?;
    Ok(Message::Maintained {
        done: serde_json::to_value(&done).expect("an outcome serialises"),
    })
}
