//! Elevation: a normal user's window installs "for all users" by running ksn-setup's own
//! unattended install as root, through `pkexec` (polkit), while the window itself stays the
//! user's.
//!
//! The protocol is JSON lines over the child's standard streams. The window writes one
//! [`Request`] line (the answers chosen in the window, as they are: a KSN choice made there
//! stays `decided_by = "user"`), then [`Control`] lines (hold, resume, cancel) while the
//! install runs; closing the pipe cancels, so a window that dies takes its install back with
//! it. The privileged side writes [`Message`] lines: every progress [`Event`] as it happens,
//! then the outcome. `pkexec` exits 126 when the user dismissed the authentication and 127
//! when it was refused or could not be asked for; ksn-setup's own exit codes are 0 to 4, so
//! the two never mix.
//!
//! What runs as root is ksn-setup itself, the program file the window runs (as
//! `/proc/self/exe` names it, so a packed installer installs its own bundle), with the
//! `elevated` command and nothing from the user's environment: pkexec clears it.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::base::error::{Cancelled, ExitStatus, RollbackIncomplete};
use crate::consent::answers::Answers;
use crate::consent::rules::KsnRecord;
use crate::engine::control::RunControl;
use crate::engine::progress::{Event, Reporter};
use crate::tr;

pub const FORMAT: u32 = 1;
/// The command line of the privileged side, after the program.
pub const COMMAND: &str = "elevated";
/// The largest request line read: answers and a few paths.
pub const MAX_REQUEST: u64 = 1 << 20;

/// What the window asks root to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub format: u32,
    pub job: Job,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "kebab-case")]
pub enum Job {
    /// An install for all users with the answers chosen in the window.
    Install { answers: Answers, source: Source },
    /// A maintenance task (a KSN change, repair, uninstall) on a machine-wide install, as
    /// the maintenance part serialises it (the engine carries it without reading it).
    Maintain {
        dir: PathBuf,
        task: serde_json::Value,
        source: Source,
    },
}

/// Where the bundle comes from, as the window was started: its own (empty), or the
/// `--payload`, `--installer`, `--statements` and `--trusted-key` it was given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub payload: Option<PathBuf>,
    pub installer: Option<PathBuf>,
    pub statements: Option<PathBuf>,
    pub trusted_key: Option<PathBuf>,
}

/// What the window sends while the install runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    Hold,
    Resume,
    Cancel,
}

/// What the privileged side sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Message {
    Event(Event),
    Installed {
        ksn: KsnRecord,
        dir: PathBuf,
        recovered: Option<String>,
    },
    /// A maintenance task's outcome, as the maintenance part serialises it.
    Maintained {
        done: serde_json::Value,
    },
    Failed {
        message: String,
        /// ksn-setup's exit code for it.
        status: u8,
    },
}

impl Message {
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("a message serialises");
        line.push('\n');
        line
    }
}

/// Why the install could not be started as root. Nothing was written.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ElevationError {
    #[error(
        "installing for all users needs administrator rights, and pkexec (polkit) is not installed; install it, run Setup as root, or choose \"Only for me\""
    )]
    NoPkexec,
    #[error(
        "the administrator's password was not given (the request was dismissed); nothing was changed"
    )]
    Dismissed,
    #[error("administrator rights were refused{}; nothing was changed", detail(.0))]
    Refused(String),
    #[error(
        "the work as administrator ended without saying how ({0}); run Setup again: it finishes or undoes what was left"
    )]
    Silent(String),
}

impl ElevationError {
    /// What happened, in the current language, as the Location page says it after "Setup
    /// could not get administrator rights:".
    pub fn in_words(&self) -> String {
        match self {
            ElevationError::NoPkexec => tr!("pkexec (polkit) is not installed"),
            ElevationError::Dismissed => tr!("the administrator's password was not given"),
            ElevationError::Refused(why) if why.is_empty() => tr!("the request was refused"),
            // The operating system's own words follow, as pkexec gives them.
            ElevationError::Refused(why) => tr!("the request was refused ({})", why),
            ElevationError::Silent(why) => tr!(
                "the work as administrator ended without saying how ({}); run Setup again: it \
                 finishes or undoes what was left",
                why
            ),
        }
    }

    /// Whether the privileged side never ran, so nothing at all was written.
    pub fn nothing_ran(&self) -> bool {
        !matches!(self, ElevationError::Silent(_))
    }
}

fn detail(why: &str) -> String {
    if why.is_empty() {
        String::new()
    } else {
        format!(" ({why})")
    }
}

/// How an elevated job ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Installed {
        ksn: KsnRecord,
        dir: PathBuf,
        recovered: Option<String>,
    },
    Maintained(serde_json::Value),
}

/// Whether changing the installed product in `dir` needs administrator rights this process
/// lacks: it is root's (a machine-wide install) and this is a normal user.
pub fn needed_for(dir: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    !rustix::process::geteuid().is_root() && std::fs::metadata(dir).is_ok_and(|m| m.uid() == 0)
}

/// Runs `request` as root through pkexec (found on `PATH`), with `program` as the ksn-setup
/// to run there (`None`: this program's own file), sending its events to `reporter` and
/// `control`'s hold, resume and cancel to it. An install that failed there comes back as its
/// error, with the exit code it had (cancelled, rolled back, rollback incomplete).
pub fn run(
    request: &Request,
    program: Option<&std::path::Path>,
    reporter: &Reporter,
    control: &RunControl,
) -> anyhow::Result<Reply> {
    let pkexec = find_program("pkexec").ok_or(ElevationError::NoPkexec)?;
    let exe = match program {
        Some(program) => program.to_path_buf(),
        None => std::fs::read_link("/proc/self/exe")
            .map_err(|e| anyhow::anyhow!("cannot find this program's own file: {e}"))?,
    };
    let mut child = Command::new(pkexec)
        .arg(exe)
        .arg(COMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start pkexec: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let request_line = format!(
        "{}\n",
        serde_json::to_string(request).expect("a request serialises")
    );
    // A failed write means the child is gone already; its exit status says why.
    let _ = stdin.write_all(request_line.as_bytes());
    let _ = stdin.flush();

    let ended = Arc::new(AtomicBool::new(false));
    let outcome = std::thread::scope(|scope| {
        // The window's hold, resume and cancel, as lines; the pipe closes with a cancel.
        let ended_flag = Arc::clone(&ended);
        scope.spawn(move || {
            let mut held = false;
            while !ended_flag.load(Ordering::Relaxed) {
                let cancelled = control.is_cancelled();
                let now_held = control.is_held();
                let send = if cancelled {
                    Some(Control::Cancel)
                } else if now_held != held {
                    held = now_held;
                    Some(if held { Control::Hold } else { Control::Resume })
                } else {
                    None
                };
                if let Some(c) = send {
                    let line = format!("{}\n", serde_json::to_string(&c).expect("serialises"));
                    if stdin.write_all(line.as_bytes()).is_err() || cancelled {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            drop(stdin);
        });
        let errors = scope.spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });
        let mut outcome = None;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<Message>(&line) {
                Ok(Message::Event(event)) => reporter.send(event),
                Ok(other) => outcome = Some(other),
                // pkexec and the agent may print their own words; only ours are messages.
                Err(_) => reporter.step(format!("pkexec: {line}")),
            }
        }
        let status = child.wait();
        ended.store(true, Ordering::Relaxed);
        (outcome, status, errors.join().unwrap_or_default())
    });
    let (outcome, status, errors) = outcome;
    let status = status.map_err(|e| anyhow::anyhow!("cannot wait for pkexec: {e}"))?;
    match (outcome, status.code()) {
        (
            Some(Message::Installed {
                ksn,
                dir,
                recovered,
            }),
            _,
        ) => Ok(Reply::Installed {
            ksn,
            dir,
            recovered,
        }),
        (Some(Message::Maintained { done }), _) => Ok(Reply::Maintained(done)),
        (Some(Message::Failed { message, status }), _) => Err(failure(message, status)),
        (_, Some(126)) => Err(ElevationError::Dismissed.into()),
        (_, Some(127)) => Err(ElevationError::Refused(errors.trim().to_string()).into()),
        (_, code) => Err(ElevationError::Silent(match code {
            Some(code) => format!("exit code {code}: {}", errors.trim()),
            None => "killed by a signal".into(),
        })
        .into()),
    }
}

/// The error a failed elevated install reported, with its exit code's meaning.
fn failure(message: String, status: u8) -> anyhow::Error {
    match ExitStatus::from_code(status) {
        ExitStatus::Cancelled => anyhow::Error::new(Cancelled).context(message),
        ExitStatus::RollbackIncomplete => anyhow::Error::new(RollbackIncomplete(vec![message])),
        ExitStatus::BadInput => crate::base::error::BadInput(anyhow::Error::msg(message)).into(),
        _ => anyhow::Error::msg(message),
    }
}

/// `program` in `PATH`.
fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_controls_are_one_json_line_each() {
        let line = Message::Event(Event::Step("x".into())).to_line();
        assert_eq!(line.matches('\n').count(), 1);
        assert_eq!(
            serde_json::from_str::<Message>(line.trim()).unwrap(),
            Message::Event(Event::Step("x".into()))
        );
        assert_eq!(
            serde_json::to_string(&Control::Cancel).unwrap(),
            "\"cancel\""
        );
    }
}
