//! The console wizard's terminal plumbing: where it reads and writes, the screen's size,
//! signals, prompts with Back and Cancel, paging long texts, wrapping, and the progress meter.

use std::io::{self, BufRead, IsTerminal as _, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::base::error::ExitStatus;
use crate::base::i18n;
use crate::wizard::machine::Progress;
use crate::{tr, trn};

/// Where the wizard reads and writes.
pub(super) struct Term<R, W> {
    pub(super) input: R,
    /// Counts the rows written since the last answer, for the pager.
    pub(super) out: Rows<W>,
    pub(super) screen: Screen,
}

impl<R: BufRead, W: Write> Term<R, W> {
    pub(super) fn new(input: R, out: W, screen: Screen) -> Term<R, W> {
        Term {
            input,
            out: Rows::new(out),
            screen,
        }
    }

    /// One line, trimmed; `None` at the end of input. A read error means nobody can answer
    /// any more (the terminal went away), which is the same as the end of input.
    pub(super) fn read_line(&mut self) -> io::Result<Option<String>> {
        // The answer's Enter starts a fresh screenful.
        self.out.rows = 0;
        let mut bytes = Vec::new();
        match self.input.read_until(b'\n', &mut bytes) {
            Ok(0) | Err(_) => Ok(None),
            Ok(_) => Ok(Some(String::from_utf8_lossy(&bytes).trim().to_string())),
        }
    }

    pub(super) fn heading(&mut self, title: &str) -> io::Result<()> {
        writeln!(self.out, "\n== {title} ==\n")
    }

    /// A paragraph, wrapped, then a blank line.
    pub(super) fn para(&mut self, text: &str) -> io::Result<()> {
        for line in wrap(text, self.screen.width) {
            writeln!(self.out, "{line}")?;
        }
        writeln!(self.out)
    }

    pub(super) fn say(&mut self, line: &str) -> io::Result<()> {
        writeln!(self.out, "{line}")
    }

    /// Whether `needed` more rows would scroll what was printed since the last answer.
    pub(super) fn screen_full(&self, needed: usize) -> bool {
        self.screen
            .rows
            .is_some_and(|rows| self.out.rows + needed >= rows)
    }
}

/// What the output can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Screen {
    /// A terminal: the progress bar is redrawn in place instead of printed as lines.
    pub(super) terminal: bool,
    /// Rows of a screenful, to pause long texts; `None` prints them whole.
    pub(super) rows: Option<usize>,
    /// The column texts are wrapped at.
    pub(super) width: usize,
}

impl Screen {
    /// Not a terminal: texts whole, wrapped at 80 columns, progress as lines.
    pub(super) fn plain() -> Screen {
        Screen {
            terminal: false,
            rows: None,
            width: 80,
        }
    }

    pub(super) fn of_stdout() -> Screen {
        if !io::stdout().is_terminal() {
            return Screen::plain();
        }
        let (rows, cols) = window_size().unwrap_or((0, 0));
        Screen {
            terminal: true,
            // An unknown (0) or tiny height would pause every line or two: print whole.
            rows: (rows >= 5).then_some(rows),
            // One column short of the edge, so a full line does not wrap on its own; long
            // lines are hard to read, so at most 100.
            width: if cols >= 20 { cols.min(101) - 1 } else { 79 },
        }
    }
}

/// The terminal's rows and columns.
pub(super) fn window_size() -> Option<(usize, usize)> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct passed, which lives through
    // the call; nothing else is touched.
    let done = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (done == 0).then_some((usize::from(size.ws_row), usize::from(size.ws_col)))
}

/// What a signal does, shared between the wizard and the thread that receives signals.
#[derive(Debug, Default)]
pub(super) struct Interrupts {
    /// The engine's cancel flag, polled between files.
    pub(super) cancel: Arc<AtomicBool>,
    /// Set when Install is confirmed. The signal thread holds the lock while it ends the
    /// process, so the install cannot start under it.
    pub(super) installing: Mutex<bool>,
}

impl Interrupts {
    pub(super) fn start_install(&self) {
        *self
            .installing
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
    }

    /// Ctrl-C, SIGTERM or SIGHUP arrived.
    pub(super) fn signalled(&self) {
        let installing = self
            .installing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *installing {
            self.cancel.store(true, Ordering::Relaxed);
            return;
        }
        // Nothing is written before Install, so this is a cancel with nothing to undo; the
        // keypress is its confirmation. The terminal may be gone (SIGHUP): errors are moot.
        let _ = writeln!(
            io::stderr(),
            "\nksn-setup: {}",
            tr!("Setup was cancelled. Nothing on this computer was changed.")
        );
        std::process::exit(ExitStatus::Cancelled as i32);
    }
}

/// Rows the questions after a statement take: a paragraph and a prompt.
pub(super) const AFTER_TEXT_ROWS: usize = 5;

/// Output that counts the lines written since the last answer, for the pager.
pub(super) struct Rows<W> {
    pub(super) inner: W,
    pub(super) rows: usize,
}

impl<W: Write> Rows<W> {
    pub(super) fn new(inner: W) -> Rows<W> {
        Rows { inner, rows: 0 }
    }
}

impl<W: Write> Write for Rows<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.rows += buf[..written].iter().filter(|b| **b == b'\n').count();
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Draws copy progress: a bar redrawn in place on a terminal, a line per tenth otherwise.
/// Errors writing it are ignored: the install goes on whether or not it can be watched.
pub(super) struct Meter {
    screen: Screen,
    /// A bar is on the current line.
    drawn: bool,
    last_draw: Option<Instant>,
    last_percent: u64,
}

impl Meter {
    pub(super) fn new(screen: Screen) -> Meter {
        Meter {
            screen,
            drawn: false,
            last_draw: None,
            last_percent: 0,
        }
    }

    pub(super) fn show(&mut self, out: &mut impl Write, progress: &Progress) {
        let percent = (progress.bytes_done * 100)
            .checked_div(progress.bytes_total)
            .unwrap_or(100);
        let complete = progress.files_done == progress.files_total;
        if !self.screen.terminal {
            if percent >= self.last_percent + 10 || complete {
                self.last_percent = percent - percent % 10;
                let _ = writeln!(
                    out,
                    "  {percent:>3}% ({})",
                    trn!(
                        "{} of {n} file",
                        "{} of {n} files",
                        progress.files_total,
                        i18n::integer(progress.files_done)
                    )
                );
            }
            return;
        }
        // A redraw costs a write to the terminal; ten a second is smooth enough.
        if !complete
            && self
                .last_draw
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last_draw = Some(Instant::now());
        const WIDTH: usize = 30;
        let filled = (progress.fraction() * WIDTH as f32).round() as usize;
        let filled = filled.min(WIDTH);
        let done = i18n::bytes(progress.bytes_done);
        let total = i18n::bytes(progress.bytes_total);
        let figures = match progress.seconds_left {
            Some(seconds) => tr!(
                "{} of {}, about {} left",
                done,
                total,
                i18n::duration(seconds)
            ),
            None => tr!("{} of {}", done, total),
        };
        let text = format!(
            "[{}{}] {percent:>3}%  {figures}",
            "=".repeat(filled),
            " ".repeat(WIDTH - filled),
        );
        let text: String = text.chars().take(self.screen.width).collect();
        // Carriage return and "erase to the end of the line": the bar stays on one line.
        let _ = write!(out, "\r{text}\x1b[K");
        let _ = out.flush();
        self.drawn = true;
    }

    /// A line of text above the bar.
    pub(super) fn line(&mut self, out: &mut impl Write, text: &str) {
        if self.drawn {
            let _ = write!(out, "\r\x1b[K");
            self.drawn = false;
            self.last_draw = None;
        }
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    pub(super) fn close(&mut self, out: &mut impl Write) {
        if self.drawn {
            let _ = writeln!(out);
            self.drawn = false;
        }
    }
}

/// y/yes or n/no, in any language the wizard speaks: English's letters always work (the
/// prompts' b and q are English letters too), and the current language's own words.
pub(super) fn yes_or_no(answer: &str) -> Option<bool> {
    let answer = answer.to_lowercase();
    let words = |list: String| list.split('|').any(|w| w == answer);
    match answer.as_str() {
        "y" | "yes" => Some(true),
        "n" | "no" => Some(false),
        // TRANSLATORS: the words that answer yes, separated by |; the first letter of the
        // first one is what [Y/n] shows.
        _ if words(tr!("y|yes")) => Some(true),
        // TRANSLATORS: the words that answer no, separated by |.
        _ if words(tr!("n|no")) => Some(false),
        _ => None,
    }
}

/// Wraps text at `width` columns. Each line of `text` is a paragraph, heading or list item
/// (as [`crate::consent::statements::Text::reflowed`] makes them); a wrapped item's later lines are
/// indented under its first word. Only whitespace changes, so the words shown are exactly
/// those of the statement that is hashed and recorded.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for source in text.lines() {
        if source.trim().is_empty() {
            lines.push(String::new());
            continue;
        }
        let body = source.trim_start();
        let lead = &source[..source.len() - body.len()];
        let hang = " ".repeat(lead.chars().count() + marker_width(body));
        let mut line = lead.to_string();
        let mut len = line.chars().count();
        let mut fresh = true;
        for word in body.split_whitespace() {
            let word_len = word.chars().count();
            if !fresh && len + 1 + word_len > width {
                lines.push(std::mem::replace(&mut line, hang.clone()));
                len = hang.len();
                fresh = true;
            }
            if !fresh {
                line.push(' ');
                len += 1;
            }
            line.push_str(word);
            len += word_len;
            fresh = false;
        }
        lines.push(line);
    }
    lines
}

/// Columns taken by a list marker such as `- `, `• ` or `12. ` at the start of `line`.
pub(super) fn marker_width(line: &str) -> usize {
    for bullet in ["- ", "* ", "• "] {
        if line.starts_with(bullet) {
            return 2;
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let rest = &line[digits..];
    if digits > 0 && (rest.starts_with(". ") || rest.starts_with(") ")) {
        digits + 2
    } else {
        0
    }
}

/// Labelled lines, `  label: value`, the values lined up whatever the labels' language.
pub fn labelled_lines(rows: &[(String, String)]) -> Vec<String> {
    let width = rows
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(label, value)| {
            let pad = " ".repeat(width - label.chars().count());
            format!("  {label}:{pad} {value}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_the_width() {
        let text = "A paragraph that is long enough to need wrapping at a narrow width.\n\n\
                    - an item whose text goes on past the edge of the line\n12. A heading";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20), "{lines:#?}");
        let words: Vec<&str> = text.split_whitespace().collect();
        let joined = lines.join(" ");
        assert_eq!(joined.split_whitespace().collect::<Vec<_>>(), words);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("  ") && !l.trim().is_empty())
        );
    }
}
