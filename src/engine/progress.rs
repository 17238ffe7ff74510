//! Progress events: what the engine tells a front end while it works.
//!
//! The engine sends [`Event`]s on a channel and never waits for the receiver; the CLI draws a
//! progress bar or plain lines from them and the `--log` file records each one, the wizard
//! moves its progress page. A dropped receiver is fine: the install goes on.

use std::path::PathBuf;
use std::sync::mpsc::Sender;

use crate::tr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Recovering,
    Preparing,
    WritingConfig,
    Copying,
    Installing,
    Committing,
    RollingBack,
    Done,
}

impl Phase {
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Recovering => "recovering an interrupted run",
            Phase::Preparing => "preparing",
            Phase::WritingConfig => "recording the KSN decision in the config",
            Phase::Copying => "copying files",
            Phase::Installing => "moving files into place",
            Phase::Committing => "syncing to disk and committing",
            Phase::RollingBack => "rolling back",
            Phase::Done => "done",
        }
    }

    /// The phase for people, in the current language (the log keeps [`Phase::describe`]).
    pub fn in_words(self) -> String {
        match self {
            Phase::Recovering => tr!("Finishing or undoing an interrupted run"),
            Phase::Preparing => tr!("Preparing"),
            Phase::WritingConfig => tr!("Recording the Kaspersky Security Network decision"),
            Phase::Copying => tr!("Copying files"),
            Phase::Installing => tr!("Moving files into place"),
            Phase::Committing => tr!("Saving the installation to disk"),
            Phase::RollingBack => tr!("Undoing every change"),
            Phase::Done => tr!("Done"),
        }
    }
}

/// Also the JSON lines an elevated install streams to the window that started it
/// ([`crate::engine::elevation`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    Phase(Phase),
    /// A step done, in words, for the log.
    Step(String),
    /// Copy progress.
    Progress {
        files_done: u64,
        files_total: u64,
        bytes_done: u64,
        bytes_total: u64,
        current: PathBuf,
    },
    /// Something the user should know that is not an error (what recovery did, a folder left).
    Notice(String),
}

/// Sends events if anyone listens.
#[derive(Debug, Clone, Default)]
pub struct Reporter {
    sender: Option<Sender<Event>>,
    /// Whether per-file steps are wanted (a log is being written); without a log they would
    /// only cost a channel message per file.
    detail: bool,
}

impl Reporter {
    pub fn new(sender: Sender<Event>, detail: bool) -> Reporter {
        Reporter {
            sender: Some(sender),
            detail,
        }
    }

    /// A reporter nobody listens to.
    pub fn silent() -> Reporter {
        Reporter {
            sender: None,
            detail: false,
        }
    }

    pub fn send(&self, event: Event) {
        if let Some(sender) = &self.sender {
            let _ = sender.send(event);
        }
    }

    pub fn phase(&self, phase: Phase) {
        self.send(Event::Phase(phase));
    }

    pub fn step(&self, text: impl Into<String>) {
        self.send(Event::Step(text.into()));
    }

    /// A per-file step, sent only when a log wants that much detail.
    pub fn detail(&self, text: impl FnOnce() -> String) {
        if self.detail {
            self.step(text());
        }
    }

    pub fn notice(&self, text: impl Into<String>) {
        self.send(Event::Notice(text.into()));
    }
}
