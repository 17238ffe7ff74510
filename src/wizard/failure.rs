//! Why a run failed, as facts a person can be told in their language.
//!
//! The engine's errors are chains of English contexts written for logs and scripts (MSI's
//! log is English too). The Finish page instead says what happened and what to do in the
//! user's language: [`Failure::of`] finds the first cause in the chain it knows (a full disk,
//! a refused permission, another Setup at work, another user's folder, a changed
//! installer), and [`Failure::in_words`] says it. A cause it does not know is named as
//! unexpected, with the engine's own words kept as technical details for support.

use std::io::ErrorKind;

use crate::base::error::RollbackIncomplete;
use crate::base::ownership::{Reason, Untrusted};
use crate::bundle::signing::SignatureError;
use crate::engine::elevation::ElevationError;
use crate::engine::lock::LockError;
use crate::tr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The disk (or the user's quota) filled up.
    NoSpace,
    /// The file system became, or was, read-only.
    ReadOnly,
    /// The operating system refused a change.
    PermissionDenied,
    /// Another ksn-setup holds the folder's lock.
    Busy,
    /// Another user controls a path on the way.
    Untrusted { path: String, reason: Reason },
    /// The installer's signature did not check out.
    Signature,
    /// Administrator rights were not given.
    Elevation,
    /// The rollback could not undo everything; each string names what is left.
    RollbackIncomplete(Vec<String>),
    /// The answers could not be saved where `--save-answers` asked.
    SaveAnswers { path: String },
    /// Anything else, with the engine's words.
    Unexpected { details: String },
}

impl Failure {
    /// The first known cause in `error`'s chain.
    pub fn of(error: &anyhow::Error) -> Failure {
        for cause in error.chain() {
            if let Some(left) = cause.downcast_ref::<RollbackIncomplete>() {
                return Failure::RollbackIncomplete(left.0.clone());
            }
        }
        for cause in error.chain() {
            if let Some(e) = cause.downcast_ref::<Untrusted>() {
                return Failure::Untrusted {
                    path: e.path.display().to_string(),
                    reason: e.reason.clone(),
                };
            }
            if let Some(LockError::Busy { .. }) = cause.downcast_ref::<LockError>() {
                return Failure::Busy;
            }
            if cause.downcast_ref::<SignatureError>().is_some() {
                return Failure::Signature;
            }
            if cause.downcast_ref::<ElevationError>().is_some() {
                return Failure::Elevation;
            }
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    ErrorKind::StorageFull | ErrorKind::QuotaExceeded => return Failure::NoSpace,
                    ErrorKind::ReadOnlyFilesystem => return Failure::ReadOnly,
                    ErrorKind::PermissionDenied => return Failure::PermissionDenied,
                    _ => {}
                }
            }
        }
        Failure::Unexpected {
            details: format!("{error:#}"),
        }
    }

    /// What happened and what to do, in the current language.
    pub fn in_words(&self) -> String {
        match self {
            Failure::NoSpace => tr!(
                "the disk is full. Free some space, or choose a folder on another disk, and \
                 run Setup again."
            ),
            Failure::ReadOnly => tr!(
                "the disk is mounted read-only. Choose a folder on another disk and run Setup \
                 again."
            ),
            Failure::PermissionDenied => tr!(
                "the system did not allow Setup to change a file or folder. Choose a folder \
                 of your own, or install for all users."
            ),
            Failure::Busy => tr!(
                "another Setup is working on this folder. Wait for it to finish, then run \
                 Setup again."
            ),
            // The Location page's sentence: the same refusal, found later.
            Failure::Untrusted { path, reason } => untrusted_in_words(path, reason),
            Failure::Signature => tr!(
                "the installer's signature does not match: it was changed after it was made. \
                 Get the installer again from its publisher."
            ),
            Failure::Elevation => tr!(
                "Setup could not get administrator rights. Run Setup again, or choose \"Only \
                 for me\"."
            ),
            Failure::RollbackIncomplete(left) => tr!(
                "Setup could not undo every change. Run Setup again: it finishes or undoes \
                 what is left. Left behind: {}",
                left.join("; ")
            ),
            Failure::SaveAnswers { path } => {
                tr!("the answers could not be saved to {}.", path)
            }
            Failure::Unexpected { details } => tr!(
                "an unexpected problem stopped Setup. Technical details for support: {}",
                details
            ),
        }
    }
}

/// Another user controls `path`, and how to choose instead: the Location page's words, and
/// the Finish page's when the refusal comes later.
pub fn untrusted_in_words(path: &str, reason: &Reason) -> String {
    tr!(
        "Another user controls {}: {}. Choose a folder that only you (or the administrator) \
         can change.",
        path,
        reason.in_words()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_known_cause_names_the_failure() {
        let full = anyhow::Error::new(std::io::Error::from(ErrorKind::StorageFull))
            .context("cannot write \"/opt/x/bin/tool\"");
        assert_eq!(Failure::of(&full), Failure::NoSpace);
        let busy = anyhow::Error::new(LockError::Busy {
            dir: "/opt/x".into(),
        });
        assert_eq!(Failure::of(&busy), Failure::Busy);
        let left = anyhow::Error::new(RollbackIncomplete(vec!["/opt/x/a".into()]))
            .context(std::io::Error::from(ErrorKind::StorageFull).to_string());
        assert_eq!(
            Failure::of(&left),
            Failure::RollbackIncomplete(vec!["/opt/x/a".into()])
        );
    }

    #[test]
    fn an_unknown_cause_keeps_the_engine_words_for_support() {
        let odd = anyhow::anyhow!("something odd");
        assert_eq!(
            Failure::of(&odd),
            Failure::Unexpected {
                details: "something odd".into()
            }
        );
        crate::base::i18n::set_language(crate::base::i18n::Language::Ru);
        let words = Failure::NoSpace.in_words();
        assert!(words.contains("диск"), "{words}");
    }
}
