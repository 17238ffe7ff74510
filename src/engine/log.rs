//! The log of a run: every engine event and every error with its causes, a line per line of
//! text, each stamped with the time, appended to the file a front end chose.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::engine::progress::Event;

fn stamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Appends one event to a log file, a line per line of text, each with a timestamp.
pub fn write_log(file: &mut File, event: &Event) {
    let text = match event {
        Event::Phase(p) => format!("phase: {}", p.describe()),
        Event::Step(s) => s.clone(),
        Event::Progress {
            files_done,
            files_total,
            bytes_done,
            current,
            ..
        } => {
            format!(
                "copied {} ({files_done}/{files_total} files, {bytes_done} bytes)",
                current.display()
            )
        }
        Event::Notice(n) => format!("notice: {n}"),
    };
    for line in text.lines() {
        let _ = writeln!(file, "{} {line}", stamp());
    }
}

/// Appends an error and each of its causes to the log.
pub fn log_error(path: &Path, err: &anyhow::Error) {
    if let Ok(mut file) = OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(file, "{} error: {err}", stamp());
        for cause in err.chain().skip(1) {
            for line in cause.to_string().lines() {
                let _ = writeln!(file, "{}   caused by: {line}", stamp());
            }
        }
    }
}
