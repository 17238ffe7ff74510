//! Sizes for people to read.

use crate::base::i18n::{self, Language};

/// Bytes for logs and administrators' output, always in English: `1.4 MB`. What a person
/// reads in their language is [`i18n::bytes`], which this is in English.
pub fn human_bytes(n: u64) -> String {
    i18n::in_language(Language::En, || i18n::bytes(n))
}
