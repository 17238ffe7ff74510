//! Making and describing preconfigured installers: `pack` writes one executable file of this
//! program, a payload (compressed as frames on every core, `frames`), statements and answers
//! (`write`); `keygen` writes a signing key pair
//! (`keygen`); `inspect` and `verify` put a checked installer into words (`inspect`).
//!
//! The only part besides the engine that writes files, and only its own outputs (an installer,
//! a key), never an install folder. May use: `bundle`, `consent` and `base`. Must never use
//! the engine, maintenance, the wizard or a front end.

mod frames;
pub mod inspect;
pub mod keygen;
pub mod write;
