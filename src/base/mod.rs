//! The primitives every other part stands on: durable file writes (`durable`), bundle paths
//! checked to stay inside a target (`paths`), exit codes and located errors (`error`), where
//! everything lives in an install folder (`layout`), time stamps (`time`), sizes in words
//! (`units`) and every sentence in the user's language (`i18n`).
//!
//! May use: the standard library and small crates. Must never use any other part of
//! ksn-setup: everything above depends on these, so an import upward would make a circle.

pub mod dir;
pub mod durable;
pub mod error;
pub mod i18n;
pub mod layout;
pub mod ownership;
pub mod paths;
pub mod time;
pub mod units;
