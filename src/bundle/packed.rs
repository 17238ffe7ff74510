//! Reading a packed installer: find the trailer, check the manifest against the bundle digest,
//! check the signature under the run's trust, and stream the compressed data.
//!
//! Integrity before trust: [`Packed::open`] refuses a damaged manifest, a forged signature,
//! an untrusted signer or a program part that is not the one the manifest lists before
//! anything else reads the bundle. Checking the program catches damage and a program
//! swapped in by a copy of ksn-setup that checks; a replaced program that skips the check
//! can only be caught from outside (a trusted ksn-setup's `verify`, or the detached
//! signature `pack --sign-key` writes beside the installer). The data is then checked while
//! it streams: every frame's SHA-256 before zstd decodes it, and every file's SHA-256 before
//! the file is committed, so a bad byte anywhere stops the install, which rolls back.
//! `verify` decodes everything the same way without installing.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};

use crate::bundle::frames::{FrameReader, FrameStream};
use crate::bundle::manifest::{FrameSpec, Manifest};
use crate::bundle::signing::{self, PublicKey, Trust};
use crate::bundle::trailer::{self, Located, Trailer};

/// The largest zstd window a bundle may need (2^24 = 16 MiB): bounds the memory a hostile
/// bundle can make the decoder take. `pack` never needs more than 2^23 (level 19).
pub const WINDOW_LOG_MAX: u32 = 24;
/// Decode threads for one installer: more cores than this only add memory (a frame each).
const MAX_DECODE_THREADS: usize = 8;

/// A packed installer whose trailer, manifest and signature have been checked.
#[derive(Debug, Clone)]
pub struct Packed {
    pub path: PathBuf,
    pub trailer: Trailer,
    pub manifest: Manifest,
    /// The key whose signature checked out, if the bundle is signed.
    pub signer: Option<PublicKey>,
}

impl Packed {
    /// Opens `path`: `Ok(None)` when it is a plain ksn-setup program without a bundle.
    pub fn open(path: &Path, trust: Option<&Trust>) -> anyhow::Result<Option<Packed>> {
        let shown = path.display();
        let mut file =
            File::open(path).with_context(|| format!("cannot open installer \"{shown}\""))?;
        let trailer = match trailer::locate_in(&mut file)
            .with_context(|| format!("installer \"{shown}\""))?
        {
            Located::Plain { .. } => return Ok(None),
            Located::Packed(trailer) => trailer,
        };
        let manifest_at = trailer.program_len + trailer.data_len;
        let mut stored = Vec::new();
        file.seek(SeekFrom::Start(manifest_at))?;
        (&mut file)
            .take(trailer.manifest_len)
            .read_to_end(&mut stored)
            .with_context(|| format!("cannot read the manifest of \"{shown}\""))?;
        let digest: [u8; 32] = Sha256::digest(&stored).into();
        if digest != trailer.digest {
            bail!(
                "installer \"{shown}\" is damaged: its manifest (bytes {manifest_at}..{}) does not match the bundle digest",
                manifest_at + trailer.manifest_len
            );
        }
        let signature = trailer
            .signature
            .map(|(key, sig)| PublicKey::from_bytes(&key).map(|k| (k, sig)))
            .transpose()
            .with_context(|| {
                format!("installer \"{shown}\" names a signer key that is not valid")
            })?;
        let signer = signing::check(&digest, signature, trust)
            .with_context(|| format!("installer \"{shown}\" is refused"))?;
        let manifest =
            Manifest::from_stored(&stored).with_context(|| format!("installer \"{shown}\""))?;
        if manifest.program.len != trailer.program_len {
            bail!(
                "installer \"{shown}\" is damaged: its manifest says the program is {} bytes, the file's program is {}",
                manifest.program.len,
                trailer.program_len
            );
        }
        file.seek(SeekFrom::Start(0))?;
        let mut hasher = Sha256::new();
        let hashed = std::io::copy(&mut (&mut file).take(trailer.program_len), &mut hasher)
            .with_context(|| format!("cannot read the program of \"{shown}\""))?;
        if hashed != trailer.program_len
            || <[u8; 32]>::from(hasher.finalize()) != manifest.program_sha256()?
        {
            bail!(
                "installer \"{shown}\" is damaged or was tampered with: its program (bytes 0..{}) is not the one its manifest lists (SHA-256 {})",
                trailer.program_len,
                manifest.program.sha256
            );
        }
        if manifest.data.compressed_len != trailer.data_len {
            bail!(
                "installer \"{shown}\" is damaged: the manifest says {} bytes of data, the trailer {}",
                manifest.data.compressed_len,
                trailer.data_len
            );
        }
        manifest
            .frames()
            .with_context(|| format!("installer \"{shown}\" is damaged"))?;
        Ok(Some(Packed {
            path: path.to_path_buf(),
            trailer,
            manifest,
            signer,
        }))
    }

    /// A reader over the data: the concatenated file contents, in manifest order, decoded
    /// frame by frame on every core, each frame checked against its SHA-256 before it is
    /// decoded. [`Packed::finish`] checks that it was read to its end.
    pub fn decoder(&self) -> anyhow::Result<DataDecoder> {
        let shown = self.path.display();
        let file = self.open_data()?;
        let frames = self.frames()?;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(MAX_DECODE_THREADS);
        Ok(FrameReader::start(
            file,
            self.trailer.program_len,
            frames,
            format!("installer \"{shown}\""),
            WINDOW_LOG_MAX,
            threads,
        ))
    }

    /// The data's frames, checked when the installer was opened.
    pub fn frames(&self) -> anyhow::Result<Vec<FrameSpec>> {
        self.manifest
            .frames()
            .with_context(|| format!("installer \"{}\" is damaged", self.path.display()))
    }

    /// Opens the installer file for [`Packed::frame_stream`]: one handle per thread.
    pub fn open_data(&self) -> anyhow::Result<File> {
        File::open(&self.path)
            .with_context(|| format!("cannot open installer \"{}\"", self.path.display()))
    }

    /// Frame `index` of `frames` (from [`Packed::frames`]), decoded as it is read from `file`.
    pub fn frame_stream<'f>(
        &self,
        file: &'f File,
        frames: &[FrameSpec],
        index: usize,
    ) -> anyhow::Result<FrameStream<'f>> {
        FrameStream::open(
            file,
            self.trailer.program_len,
            frames[index],
            index,
            frames.len(),
            &format!("installer \"{}\"", self.path.display()),
            WINDOW_LOG_MAX,
        )
        .context("cannot start the zstd decoder")
    }

    /// After the last file: every frame must have been read to its end (the manifest's sizes
    /// add up, so anything else is a bundle whose files do not fill its data).
    pub fn finish(&self, decoder: DataDecoder) -> anyhow::Result<()> {
        if !decoder.at_end() {
            bail!(
                "installer \"{}\" is damaged: data goes on after its last file",
                self.path.display()
            );
        }
        Ok(())
    }
}

/// The reader over a packed installer's data.
pub type DataDecoder = FrameReader;
