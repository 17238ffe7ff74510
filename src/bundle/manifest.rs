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

/// Format 2 added the program's length and SHA-256; format 3 split the data into independent
/// zstd frames, each listed with its own SHA-256, so they decode on every core. Installers of
/// formats 1 and 2 are refused with what to do.
pub const FORMAT: u32 = 3;
/// The most a frame may decode to: bounds the memory of `verify`'s decode threads against a
/// hostile manifest. `pack` writes frames of [`FRAME_LEN`].
pub const MAX_FRAME_LEN: u64 = 16 * 1024 * 1024;
/// The uncompressed bytes `pack` puts in one frame. Independent frames lose the matches that
/// would reach back across a frame's start. Against one stream at level 19, 16 MiB frames
/// cost 0.75% on LibreOffice's core package and 0.81% on Go's sources, 8 MiB frames 1.3% and
/// 1.9% (benches/README.md). An install streams each frame, so the size costs no memory
/// there; `verify` holds a few frames.
pub const FRAME_LEN: u64 = 16 * 1024 * 1024;
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
    /// The independent zstd frames the data is made of, in order: together exactly the data.
    pub frames: Vec<Frame>,
}

/// One zstd frame of the data. Its bytes are checked against `sha256` before they reach the
/// decoder, so zstd only ever sees bytes the manifest (and its signature) vouches for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frame {
    /// Where the frame starts, from the start of the data.
    pub offset: u64,
    pub compressed_len: u64,
    /// What it decodes to: a slice of the concatenated file contents.
    pub uncompressed_len: u64,
    /// SHA-256 of the compressed bytes, lowercase hex.
    pub sha256: String,
}

/// A frame as the decoder uses it: checked, with its hash parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpec {
    pub offset: u64,
    pub compressed_len: u64,
    pub uncompressed_len: u64,
    pub sha256: [u8; 32],
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
            Ok(2) => bail!(
                "it was packed by an earlier ksn-setup (manifest format 2, its data one zstd stream that decodes on one core only); \
                 pack it again with this ksn-setup (ksn-setup pack --payload DIR --answers FILE --sign-key KEY --output NEW)"
            ),
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

    /// The data's frames, checked: they follow one another without a gap or an overlap from
    /// the data's first byte to its last, none is empty or decodes to more than
    /// [`MAX_FRAME_LEN`], and their sizes add up to the data's.
    pub fn frames(&self) -> anyhow::Result<Vec<FrameSpec>> {
        let mut specs = Vec::with_capacity(self.data.frames.len());
        let (mut at, mut uncompressed) = (0u64, 0u64);
        for (number, frame) in self.data.frames.iter().enumerate() {
            let number = number + 1;
            if frame.offset != at {
                bail!(
                    "data frame {number} starts at byte {}, but the one before it ends at {at}",
                    frame.offset
                );
            }
            if frame.compressed_len == 0 || frame.uncompressed_len == 0 {
                bail!("data frame {number} is empty");
            }
            if frame.uncompressed_len > MAX_FRAME_LEN
                || frame.compressed_len
                    > zstd::zstd_safe::compress_bound(MAX_FRAME_LEN as usize) as u64
            {
                bail!(
                    "data frame {number} is larger than the {MAX_FRAME_LEN} bytes a frame may hold"
                );
            }
            let sha256 = hex::decode(&frame.sha256)
                .ok()
                .and_then(|b| b.try_into().ok())
                .with_context(|| format!("data frame {number} has a malformed SHA-256"))?;
            at += frame.compressed_len;
            uncompressed += frame.uncompressed_len;
            specs.push(FrameSpec {
                offset: frame.offset,
                compressed_len: frame.compressed_len,
                uncompressed_len: frame.uncompressed_len,
                sha256,
            });
        }
        if at != self.data.compressed_len || uncompressed != self.data.uncompressed_len {
            bail!(
                "the data frames add up to {at} compressed and {uncompressed} uncompressed bytes, the manifest says {} and {}",
                self.data.compressed_len,
                self.data.uncompressed_len
            );
        }
        Ok(specs)
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
                compressed_len: 7,
                uncompressed_len: 9,
                frames: vec![Frame {
                    offset: 0,
                    compressed_len: 7,
                    uncompressed_len: 9,
                    sha256: hex::encode([2u8; 32]),
                }],
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
    fn a_format_2_manifest_is_refused_with_what_to_do() {
        let stored =
            zstd::bulk::compress(br#"{"format":2,"created_by":"ksn-setup 0.1.0"}"#, 3).unwrap();
        let err = Manifest::from_stored(&stored).unwrap_err().to_string();
        assert!(err.contains("format 2"), "{err}");
        assert!(err.contains("pack it again"), "{err}");
    }

    #[test]
    fn frames_must_tile_the_data() {
        let frame = |offset, compressed_len, uncompressed_len| Frame {
            offset,
            compressed_len,
            uncompressed_len,
            sha256: hex::encode([3u8; 32]),
        };
        let with = |frames: Vec<Frame>, compressed_len, uncompressed_len| DataInfo {
            compressed_len,
            uncompressed_len,
            frames,
        };
        let mut manifest: Manifest = serde_json::from_value(serde_json::json!({
            "format": FORMAT, "created_by": "t",
            "program": {"len": 1, "sha256": hex::encode([1u8; 32])},
            "product": {"name": "P", "version": "1", "settings": ""},
            "compression": {"algorithm": "zstd", "level": 3},
            "data": {"compressed_len": 0, "uncompressed_len": 0, "frames": []},
            "answers": null, "statements": {}, "entries": []
        }))
        .unwrap();
        assert_eq!(manifest.frames().unwrap(), vec![]);

        manifest.data = with(vec![frame(0, 10, 100), frame(10, 5, 50)], 15, 150);
        assert_eq!(manifest.frames().unwrap().len(), 2);

        let refused = [
            (
                "a gap",
                with(vec![frame(0, 10, 100), frame(11, 4, 50)], 15, 150),
                "starts at byte 11",
            ),
            (
                "an overlap",
                with(vec![frame(0, 10, 100), frame(9, 6, 50)], 15, 150),
                "starts at byte 9",
            ),
            (
                "a short sum",
                with(vec![frame(0, 10, 100)], 15, 100),
                "add up to",
            ),
            (
                "a wrong size",
                with(vec![frame(0, 10, 100)], 10, 99),
                "add up to",
            ),
            (
                "an empty frame",
                with(vec![frame(0, 10, 0)], 10, 0),
                "empty",
            ),
            (
                "a huge frame",
                with(vec![frame(0, 10, MAX_FRAME_LEN + 1)], 10, MAX_FRAME_LEN + 1),
                "larger than",
            ),
        ];
        for (what, data, says) in refused {
            manifest.data = data;
            let err = manifest.frames().unwrap_err().to_string();
            assert!(err.contains(says), "{what}: {err}");
        }
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
