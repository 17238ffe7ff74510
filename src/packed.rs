//! Reading a packed installer: find the trailer, check the manifest against the bundle digest,
//! check the signature under the run's trust, and stream the compressed data.
//!
//! Integrity before trust: [`Packed::open`] refuses a damaged manifest, a forged signature or
//! an untrusted signer before anything else reads the bundle, and [`Packed::check_data`]
//! hashes every byte of the compressed data against the manifest before an install writes
//! anything, as NSIS checks its installers at start. The install then checks each file's
//! SHA-256 again while writing it, so data that changes on disk after the check is caught too.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};

use crate::manifest::Manifest;
use crate::signing::{self, PublicKey, Trust};
use crate::trailer::{self, Located, Trailer};

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

    /// Hashes every byte of the compressed data and compares it with the manifest.
    pub fn check_data(&self) -> anyhow::Result<()> {
        let mut data = self.data()?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = data
                .read(&mut buffer)
                .with_context(|| format!("cannot read installer \"{}\"", self.path.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            total += n as u64;
        }
        let expected = self.manifest.data_sha256()?;
        let actual: [u8; 32] = hasher.finalize().into();
        if total != self.trailer.data_len || actual != expected {
            bail!(
                "installer \"{}\" is damaged: its compressed payload (bytes {}..{}) does not match the manifest's SHA-256",
                self.path.display(),
                self.trailer.program_len,
                self.trailer.program_len + self.trailer.data_len
            );
        }
        Ok(())
    }

    /// A decoder over the data: the concatenated file contents, in manifest order.
    pub fn decoder(
        &self,
    ) -> anyhow::Result<zstd::stream::read::Decoder<'static, BufReader<std::io::Take<File>>>> {
        let data = self.data()?;
        let mut decoder =
            zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(256 * 1024, data))
                .context("cannot start the zstd decoder")?;
        decoder
            .window_log_max(WINDOW_LOG_MAX)
            .context("cannot limit the zstd window")?;
        Ok(decoder)
    }
}
