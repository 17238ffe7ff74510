//! Consent and what it is given to: the statements a user is shown and their hashes
//! (`statements`), the KSN consent rules and the log line (`rules`), the answers an
//! administrator presets (`answers`), the installed config that records the decision
//! (`config`), the consent log read back as a chained history (`history`), and the current
//! decision as a Kantara consent receipt (`receipt`).
//!
//! All of it is pure: texts and values in, values and text out; nothing here touches an
//! install folder. May use: `base`. Must never use the engine, bundles or any front end, so
//! the rules read the same wherever a decision is made.

pub mod answers;
pub mod config;
pub mod history;
pub mod receipt;
pub mod rules;
pub mod statements;
