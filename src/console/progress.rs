//! Shows engine events on a terminal (a progress bar) or as plain lines, and writes them to
//! the `--log` file with timestamps.
//!
//! Events arrive on a channel and are drawn on a thread of their own, so the engine never
//! waits for the screen or the log.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use indicatif::{ProgressBar, ProgressStyle};

use crate::engine::log::write_log;
use crate::engine::progress::{Event, Phase, Reporter};

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// A progress bar, on a terminal.
    Bar,
    /// Plain lines: a phase a line, progress every 10%.
    Lines,
    /// Nothing (`--quiet`); the log still gets every event.
    Nothing,
}

/// The running display; [`Console::finish`] waits for it to drain.
#[derive(Debug)]
pub struct Console {
    sender: mpsc::Sender<Event>,
    logging: bool,
    thread: JoinHandle<()>,
}

impl Console {
    pub fn start(log: Option<&Path>, shown: Shown) -> anyhow::Result<Console> {
        let mut log_file = match log {
            Some(path) => Some(crate::engine::log::open(path)?),
            None => None,
        };
        let logging = log_file.is_some();
        let (sender, receiver) = mpsc::channel::<Event>();
        let thread = std::thread::spawn(move || {
            let mut view = View::new(shown == Shown::Bar);
            for event in receiver {
                if let Some(file) = log_file.as_mut() {
                    write_log(file, &event);
                }
                if shown != Shown::Nothing {
                    view.show(&event);
                }
            }
            view.close();
        });
        Ok(Console {
            sender,
            logging,
            thread,
        })
    }

    pub fn reporter(&self) -> Reporter {
        Reporter::new(self.sender.clone(), self.logging)
    }

    pub fn finish(self) {
        drop(self.sender);
        let _ = self.thread.join();
    }
}

struct View {
    bar: Option<ProgressBar>,
    terminal: bool,
    last_percent: u64,
}

impl View {
    fn new(terminal: bool) -> View {
        View {
            bar: None,
            terminal,
            last_percent: 0,
        }
    }

    fn show(&mut self, event: &Event) {
        match event {
            Event::Phase(phase) => {
                if let Some(bar) = &self.bar
                    && *phase != Phase::Copying
                {
                    bar.finish_and_clear();
                    self.bar = None;
                }
                if *phase != Phase::Done {
                    self.line(&format!("ksn-setup: {}", phase.describe()));
                }
            }
            Event::Progress {
                files_done,
                files_total,
                bytes_done,
                bytes_total,
                current,
            } => {
                if self.terminal {
                    let bar = self.bar.get_or_insert_with(|| {
                        let bar = ProgressBar::new(*bytes_total);
                        bar.set_style(
                            ProgressStyle::with_template(
                                "  [{bar:30}] {percent:>3}% {bytes}/{total_bytes} {eta} left  {msg}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                        );
                        bar
                    });
                    bar.set_position(*bytes_done);
                    bar.set_message(format!("{files_done}/{files_total} {}", current.display()));
                } else {
                    let percent = if *bytes_total == 0 {
                        100
                    } else {
                        bytes_done * 100 / bytes_total
                    };
                    if percent >= self.last_percent + 10 || files_done == files_total {
                        self.last_percent = percent - percent % 10;
                        eprintln!("  {percent:>3}% ({files_done}/{files_total} files)");
                    }
                }
            }
            Event::Notice(text) => self.line(&format!("ksn-setup: {text}")),
            Event::Step(_) => {}
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn close(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
