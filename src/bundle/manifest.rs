//! The manifest of a packed bundle: the program it runs, the product, the statements, the
//! answers, and every entry with its size, mode and SHA-256, plus the size and SHA-256 of
//! the compressed data.
//!
//! It is stored as zstd-compressed JSON. Its SHA-256, as stored, is the bundle digest in the
//! trailer; because it lists the program's SHA-256, the data's and each file's, that one
//! digest covers every byte of the installer before the trailer, and a signature over it
//! covers what runs as well as what is installed.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use crate::base::paths::RelPath;
use crate::bundle::entry::{Entry, EntryKind};

/// Format 2 added the program's length and SHA-256; format 1 installers are refused.
pub const FORMAT: u32 = 2;
/// The largest manifest this ksn-setup reads, uncompressed: bounds memory for a hostile file.
const MAX_MANIFEST: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// "ksn-setup 0.1.0": which program packed it.
    pub created_by: String,
    /// The program part of the installer: what runs when it is started.
    pub program: ProgramInfo,
    pub product: ManifestProduct,
    pub compression: Compression,
    pub data: DataInfo,
    /// The answers file packed in, verbatim, with the name it had.
    pub answers: Option<PackedAnswers>,
    /// Statement files by name (`statements.toml` and the texts it lists), verbatim.
    pub statements: BTreeMap<String, String>,
    /// Every entry; file contents follow one another in the data in this order.
    pub entries: Vec<ManifestEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramInfo {
    /// Bytes from the start of the file: the ELF program, without any bundle.
    pub len: u64,
    /// SHA-256 of those bytes, lowercase hex.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestProduct {
    pub name: String,
    pub version: String,
    /// The product's default settings, as TOML.
    pub settings: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compression {
    pub algorithm: String,
    pub level: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataInfo {
    /// Bytes of compressed data, as stored.
    pub compressed_len: u64,
    /// Bytes once decompressed: the sum of the file sizes.
    pub uncompressed_len: u64,
    /// SHA-256 of the compressed data, lowercase hex.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackedAnswers {
    /// The answers file's name when packed, for messages ("corp.toml:3:1").
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum ManifestEntry {
    Dir {
        path: String,
        mode: u32,
    },
    File {
        path: String,
        mode: u32,
        size: u64,
        sha256: String,
    },
    Symlink {
        path: String,
        target: String,
    },
}

impl ManifestEntry {
    pub fn from_entry(entry: &Entry) -> ManifestEntry {
        let path = entry.path.as_str().to_string();
        match &entry.kind {
            EntryKind::Dir => ManifestEntry::Dir {
                path,
                mode: entry.mode,
            },
            EntryKind::File { size, sha256 } => ManifestEntry::File {
                path,
                mode: entry.mode,
                size: *size,
                sha256: hex::encode(sha256.expect("packed files are hashed")),
            },
            EntryKind::Symlink { target } => ManifestEntry::Symlink {
                path,
                target: target.clone(),
            },
        }
    }

    /// The entry as the engine uses it; the path is checked like any payload path.
    pub fn to_entry(&self) -> anyhow::Result<Entry> {
        let (path, kind, mode) = match self {
            ManifestEntry::Dir { path, mode } => (path, EntryKind::Dir, *mode),
            ManifestEntry::File {
                path,
                mode,
                size,
                sha256,
            } => {
                let digest: [u8; 32] = hex::decode(sha256)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .with_context(|| format!("entry \"{path}\" has a malformed SHA-256"))?;
                (
                    path,
                    EntryKind::File {
                        size: *size,
                        sha256: Some(digest),
                    },
                    *mode,
                )
            }
            ManifestEntry::Symlink { path, target } => (
                path,
                EntryKind::Symlink {
                    target: target.clone(),
                },
                0o777,
            ),
        };
        if mode & !0o7777 != 0 {
            bail!("entry \"{path}\" has an impossible mode {mode:o}");
        }
        Ok(Entry {
            path: RelPath::payload(path)?,
            kind,
            mode,
        })
    }
}

impl Manifest {
    /// The stored form: compressed JSON.
    pub fn to_stored(&self) -> Vec<u8> {
        let json = serde_json::to_vec(self).expect("a manifest serialises");
        zstd::bulk::compress(&json, 19).expect("zstd compresses in memory")
    }

    pub fn from_stored(stored: &[u8]) -> anyhow::Result<Manifest> {
        let mut json = Vec::new();
        let mut decoder =
            zstd::stream::read::Decoder::new(stored).context("the manifest is not zstd data")?;
        decoder
            .window_log_max(crate::bundle::packed::WINDOW_LOG_MAX)
            .context("cannot limit the zstd window")?;
        std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut decoder, MAX_MANIFEST + 1),
            &mut json,
        )
        .context("the manifest does not decompress")?;
        if json.len() as u64 > MAX_MANIFEST {
            bail!("the manifest is larger than {MAX_MANIFEST} bytes");
        }
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        match serde_json::from_slice::<Format>(&json).map(|f| f.format) {
            Ok(1) => bail!(
                "it was packed by an earlier ksn-setup (manifest format 1), whose signature does not cover the program it runs; \
                 pack it again with this ksn-setup (ksn-setup pack --payload DIR --answers FILE --sign-key KEY --output NEW)"
            ),
            Ok(format) if format > FORMAT => bail!(
                "the manifest has format {format}, which this ksn-setup does not read; use a newer ksn-setup"
            ),
            _ => {}
        }
        let manifest: Manifest =
            serde_json::from_slice(&json).context("the manifest is not a valid manifest")?;
        if manifest.format != FORMAT {
            bail!(
                "the manifest has format {}, which this ksn-setup does not read",
                manifest.format
            );
        }
        if manifest.compression.algorithm != "zstd" {
            bail!(
                "the data is compressed with \"{}\", which this ksn-setup does not read",
                manifest.compression.algorithm
            );
        }
        Ok(manifest)
    }

    pub fn program_sha256(&self) -> anyhow::Result<[u8; 32]> {
        hex::decode(&self.program.sha256)
            .ok()
            .and_then(|b| b.try_into().ok())
            .context("the manifest's program SHA-256 is malformed")
    }

    pub fn data_sha256(&self) -> anyhow::Result<[u8; 32]> {
        hex::decode(&self.data.sha256)
            .ok()
            .and_then(|b| b.try_into().ok())
            .context("the manifest's data SHA-256 is malformed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips_and_rejects_junk() {
        let manifest = Manifest {
            format: FORMAT,
            created_by: "ksn-setup test".into(),
            program: ProgramInfo {
                len: 100,
                sha256: hex::encode([1u8; 32]),
            },
            product: ManifestProduct {
                name: "P".into(),
                version: "1".into(),
                settings: "a = 1\n".into(),
            },
            compression: Compression {
                algorithm: "zstd".into(),
                level: 3,
            },
            data: DataInfo {
                compressed_len: 0,
                uncompressed_len: 0,
                sha256: hex::encode([0u8; 32]),
            },
            answers: None,
            statements: BTreeMap::new(),
            entries: vec![
                ManifestEntry::Dir {
                    path: "bin".into(),
                    mode: 0o755,
                },
                ManifestEntry::Symlink {
                    path: "bin/x".into(),
                    target: "y".into(),
                },
            ],
        };
        let stored = manifest.to_stored();
        assert_eq!(Manifest::from_stored(&stored).unwrap(), manifest);
        assert!(Manifest::from_stored(b"not zstd").is_err());
    }

    #[test]
    fn a_format_1_manifest_is_refused_with_what_to_do() {
        let stored =
            zstd::bulk::compress(br#"{"format":1,"created_by":"ksn-setup 0.1.0"}"#, 3).unwrap();
        let err = Manifest::from_stored(&stored).unwrap_err().to_string();
        assert!(err.contains("does not cover the program"), "{err}");
        assert!(err.contains("pack it again"), "{err}");
    }

    #[test]
    fn unsafe_paths_in_a_manifest_are_refused() {
        let entry = ManifestEntry::Dir {
            path: "../etc".into(),
            mode: 0o755,
        };
        assert!(entry.to_entry().is_err());
    }
}
