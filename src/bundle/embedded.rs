//! The demo product, statements and product facts compiled into the program by `build.rs`
//! (a table of `include_bytes!` entries in a stable order), and the public key a vendor build
//! trusts (`KSN_SETUP_TRUSTED_KEY`).

/// One entry of the payload compiled into the binary.
#[derive(Debug)]
pub struct EmbeddedEntry {
    pub path: &'static str,
    pub mode: u32,
    pub kind: EmbeddedKind,
}

#[derive(Debug)]
pub enum EmbeddedKind {
    Dir,
    /// A file, zstd-compressed by `build.rs`, and how long it is once decompressed.
    File {
        zstd: &'static [u8],
        len: u64,
    },
    Symlink(&'static str),
}

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
