//! Front ends on a terminal: the progress display of unattended runs and maintenance
//! commands (`progress`), and the console wizard for a machine with no display (`wizard`: the
//! session and its engine runs; `pages`: each page's words; `terminal`: prompts, paging,
//! wrapping and the progress meter).
//!
//! May use: `wizard`, `maintenance`, `engine`, `bundle`, `consent` and `base`. Must never use
//! the other front ends (`cli`, `gui`).

mod pages;
pub mod progress;
mod terminal;

pub use terminal::labelled_lines;
pub mod wizard;
