//! Reading a packed installer: find the trailer, check the manifest against the bundle digest,
//! check the signature under the run's trust, and stream the compressed data.
//!
//! Integrity before trust: [`Packed::open`] refuses a damaged manifest, a forged signature,
//! an untrusted signer or a program part that is not the one the manifest lists before
//! anything else reads the bundle. Checking the program catches damage and a program
//! swapped in by a copy of ksn-setup that checks; a replaced program that skips the check
//! can only be caught from outside (a trusted ksn-setup's `verify`, or the detached
//! signature `pack --sign-key` writes beside the installer). The data is then checked while
//! it streams: every file's SHA-256 before the file is committed, and the SHA-256 of all the
//! compressed bytes at the end of the stream ([`Packed::finish`]), so a bad byte anywhere
//! stops the install, which rolls back. `verify` decodes everything the same way without
//! installing.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};

use crate::bundle::manifest::Manifest;
use crate::bundle::signing::{self, PublicKey, Trust};
use crate::bundle::trailer::{self, Located, Trailer};

/// The largest zstd window a bundle may need (2^24 = 16 MiB): bounds the memory a hostile
/// bundle can make the decoder take. `pack` never needs more than 2^23 (level 19).
pub const WINDOW_LOG_MAX: u32 = 24;

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
        Ok(Some(Packed {
            path: path.to_path_buf(),
            trailer,
            manifest,
            signer,
        }))
    }

    /// The compressed data, as stored.
    fn data(&self) -> anyhow::Result<std::io::Take<File>> {
        let mut file = File::open(&self.path)
            .with_context(|| format!("cannot open installer \"{}\"", self.path.display()))?;
        file.seek(SeekFrom::Start(self.trailer.program_len))?;
        Ok(file.take(self.trailer.data_len))
    }

    /// A decoder over the data: the concatenated file contents, in manifest order. It hashes
    /// the compressed bytes as it reads them; [`Packed::finish`] checks that hash.
    pub fn decoder(&self) -> anyhow::Result<DataDecoder> {
        let data = HashingReader {
            inner: BufReader::with_capacity(256 * 1024, self.data()?),
            hasher: Sha256::new(),
            len: 0,
        };
        let mut decoder = zstd::stream::read::Decoder::with_buffer(data)
            .context("cannot start the zstd decoder")?;
        decoder
            .window_log_max(WINDOW_LOG_MAX)
            .context("cannot limit the zstd window")?;
        Ok(decoder)
    }

    /// After the last file: the stream must end here, and every compressed byte read must
    /// match the manifest's SHA-256, or the installer is damaged (so an install rolls back).
    pub fn finish(&self, mut decoder: DataDecoder) -> anyhow::Result<()> {
        let shown = self.path.display();
        let mut rest = [0u8; 1];
        let more = decoder
            .read(&mut rest)
            .with_context(|| format!("installer \"{shown}\" is damaged after its last file"))?;
        if more != 0 {
            bail!("installer \"{shown}\" is damaged: data goes on after its last file");
        }
        let mut data = decoder.finish();
        std::io::copy(&mut data, &mut std::io::sink())
            .with_context(|| format!("cannot read installer \"{shown}\""))?;
        let actual: [u8; 32] = data.hasher.finalize().into();
        if data.len != self.trailer.data_len || actual != self.manifest.data_sha256()? {
            bail!(
                "installer \"{shown}\" is damaged: its compressed payload (bytes {}..{}) does not match the manifest's SHA-256",
                self.trailer.program_len,
                self.trailer.program_len + self.trailer.data_len
            );
        }
        Ok(())
    }
}

/// The zstd decoder over a packed installer's data.
pub type DataDecoder =
    zstd::stream::read::Decoder<'static, HashingReader<BufReader<std::io::Take<File>>>>;

/// Hands the compressed data to the decoder, hashing every byte it consumes.
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: BufRead> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for HashingReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        // The bytes consumed are the front of the buffer `fill_buf` last returned; asking
        // again reads nothing new.
        if let Ok(buffer) = self.inner.fill_buf() {
            let amount = amount.min(buffer.len());
            self.hasher.update(&buffer[..amount]);
            self.len += amount as u64;
        }
        self.inner.consume(amount);
    }
}
