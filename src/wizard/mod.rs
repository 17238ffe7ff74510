//! The setup wizard without a user interface: the state machine of its pages, answers and
//! buttons (`machine`), why a run failed in words for people (`failure`), and the Location page's check of a folder in the engine's own terms
//! (`location`). The Slint window and the console wizard both drive this and only translate.
//!
//! May use: `maintenance`, `engine`, `bundle`, `consent` and `base`. Must never use Slint or a
//! front end: its rules are unit-tested without a window.

pub mod failure;
pub mod location;
pub mod machine;
