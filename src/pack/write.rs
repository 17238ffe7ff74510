//! `pack`: writes a packed installer, one executable file: this program (without any bundle it
//! carries), the payload as independent zstd frames, the manifest, and the trailer.
//!
//! The output is written to a temp file beside it, fsynced and renamed into place, so a failed
//! or killed pack never leaves a half-written installer under the output name.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};

use crate::base::durable;
use crate::base::error::BadInput;
use crate::bundle::contents::Bundle;
use crate::bundle::entry::{Entry, EntryKind};
use crate::bundle::manifest::{
    self, Compression, DataInfo, Manifest, ManifestEntry, ManifestProduct,
};
use crate::bundle::signing::{PublicKey, SecretKey};
use crate::bundle::trailer::{self, Trailer};
use crate::consent::answers::AnswersFile;
use crate::pack::frames::FrameWriter;

/// The default zstd level. Decompression runs at the same speed whatever the level, so an
/// installer, packed once and installed many times, is packed for size: level 19 gives files
/// about 9% smaller than the CLI's default 3 on the benchmark payload (benches/README.md).
pub const DEFAULT_LEVEL: i32 = 19;
/// Levels above 19 need windows of up to 128 MiB to decode; installs bound memory instead.
pub const MAX_LEVEL: i32 = 19;

/// What to pack.
#[derive(Debug)]
pub struct PackRequest<'a> {
    /// The program the installer runs: its ELF part is copied, any bundle after it is not.
    pub program: &'a Path,
    /// The payload, statements and product to pack.
    pub bundle: &'a Bundle,
    /// The answers file: its path (for messages) and text, checked before anything is written.
    pub answers: Option<(PathBuf, String)>,
    pub output: &'a Path,
    pub level: i32,
    pub sign_key: Option<&'a SecretKey>,
}

/// What `pack` wrote.
#[derive(Debug, Clone)]
pub struct PackSummary {
    pub output: PathBuf,
    pub files: usize,
    pub payload_bytes: u64,
    pub program_bytes: u64,
    pub data_bytes: u64,
    pub manifest_bytes: u64,
    pub total_bytes: u64,
    pub digest: [u8; 32],
    pub signer: Option<PublicKey>,
    /// The detached Ed25519 signature over the whole file, when signed.
    pub signature_file: Option<PathBuf>,
}

/// Checks an answers file for packing: the same errors as at install time, and a silent
/// installer must accept the licenses itself, since it asks nothing.
fn check_answers(path: &Path, text: &str) -> anyhow::Result<()> {
    let file = AnswersFile::parse(path, text).map_err(|e| BadInput(e.into()))?;
    file.check_silent(path, text)
        .map_err(|e| BadInput(e.into()))?;
    Ok(())
}

pub fn pack(request: &PackRequest<'_>) -> anyhow::Result<PackSummary> {
    let PackRequest {
        program,
        bundle,
        answers,
        output,
        level,
        sign_key,
    } = request;
    if !(1..=MAX_LEVEL).contains(level) {
        return Err(BadInput(anyhow::anyhow!(
            "--level must be 1 to {MAX_LEVEL}, not {level}"
        ))
        .into());
    }
    if let Some((path, text)) = answers {
        check_answers(path, text)?;
    }
    if let Some(dir) = bundle.payload_folder()
        && let (Ok(dir), Some(parent)) = (dir.canonicalize(), output.parent())
        && let Ok(parent) = parent_or_cwd(parent).canonicalize()
        && parent.starts_with(&dir)
    {
        return Err(BadInput(anyhow::anyhow!(
            "the output \"{}\" is inside the payload folder \"{}\"; write it elsewhere",
            output.display(),
            dir.display()
        ))
        .into());
    }
    let program_len = trailer::locate(program)
        .with_context(|| format!("program \"{}\"", program.display()))?
        .program_len();

    let out_dir = parent_or_cwd(output.parent().unwrap_or(Path::new("")));
    let mut temp = tempfile::Builder::new()
        .prefix(".ksn-pack-")
        .suffix(durable::TMP_SUFFIX)
        .tempfile_in(out_dir)
        .with_context(|| format!("cannot create a temp file in \"{}\"", out_dir.display()))?;

    // The program, hashed as it is copied: the manifest lists it, so the signature covers
    // what runs.
    let mut source = File::open(program)
        .with_context(|| format!("cannot open \"{}\"", program.display()))?
        .take(program_len);
    let temp_path = temp.path().to_path_buf();
    let mut program_copy = HashingWriter::new(temp.as_file_mut());
    let copied = io::copy(&mut source, &mut program_copy)
        .with_context(|| format!("cannot copy the program into \"{}\"", temp_path.display()))?;
    if copied != program_len {
        bail!("\"{}\" changed while it was copied", program.display());
    }
    let program_sha256 = program_copy.hasher.finalize();

    // The data: every file's bytes in entry order, cut into independent zstd frames that
    // are compressed on every core (and later decoded on every core).
    let out = temp
        .as_file()
        .try_clone()
        .context("cannot reopen the temp file")?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut encoder = FrameWriter::new(BufWriter::with_capacity(1 << 20, out), *level, threads);
    let mut hashes: BTreeMap<usize, [u8; 32]> = BTreeMap::new();
    let mut buffer = vec![0u8; 1 << 20];
    bundle.for_each_file(|index, reader| {
        let entry = &bundle.entries[index];
        let mut hasher = Sha256::new();
        let mut read = 0u64;
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot read payload file \"{}\"", entry.path));
                }
            };
            hasher.update(&buffer[..n]);
            encoder
                .write_all(&buffer[..n])
                .context("cannot write the compressed payload")?;
            read += n as u64;
        }
        if read != entry.size() {
            bail!(
                "payload file \"{}\" changed while it was packed ({} bytes, then {read})",
                entry.path,
                entry.size()
            );
        }
        let digest: [u8; 32] = hasher.finalize().into();
        if let EntryKind::File {
            sha256: Some(expected),
            ..
        } = &entry.kind
            && *expected != digest
        {
            bail!(
                "payload entry \"{}\" is damaged: its SHA-256 differs from the bundle's",
                entry.path
            );
        }
        hashes.insert(index, digest);
        Ok(())
    })?;
    let (mut writer, frames) = encoder
        .finish()
        .context("cannot write the compressed payload")?;
    let data_len: u64 = frames.iter().map(|f| f.compressed_len).sum();

    // The manifest.
    let entries: Vec<ManifestEntry> = bundle
        .entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let mut entry: Entry = entry.clone();
            if let EntryKind::File { sha256, .. } = &mut entry.kind {
                *sha256 = hashes.get(&index).copied();
            }
            ManifestEntry::from_entry(&entry)
        })
        .collect();
    let statements = bundle
        .statements
        .files()
        .into_iter()
        .map(|(name, bytes)| {
            String::from_utf8(bytes)
                .map(|text| (name.clone(), text))
                .map_err(|_| anyhow::anyhow!("statement file \"{name}\" is not UTF-8 text"))
        })
        .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
    let manifest = Manifest {
        format: manifest::FORMAT,
        created_by: format!("ksn-setup {}", crate::INSTALLER_VERSION),
        program: manifest::ProgramInfo {
            len: program_len,
            sha256: hex::encode(program_sha256),
        },
        product: ManifestProduct {
            name: bundle.product.name.clone(),
            version: bundle.product.version.clone(),
            settings: toml::to_string(&bundle.product.settings)
                .context("cannot write the product settings")?,
        },
        compression: Compression {
            algorithm: "zstd".into(),
            level: *level,
        },
        data: DataInfo {
            compressed_len: data_len,
            uncompressed_len: bundle.payload_bytes(),
            frames,
        },
        answers: answers
            .as_ref()
            .map(|(path, text)| manifest::PackedAnswers {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "answers.toml".into()),
                text: text.clone(),
            }),
        statements,
        entries,
    };
    let stored = manifest.to_stored();
    let digest: [u8; 32] = Sha256::digest(&stored).into();
    writer
        .write_all(&stored)
        .context("cannot write the manifest")?;

    // The trailer, signed over the bundle digest.
    let signature = sign_key.map(|key| (key.public().to_bytes(), key.sign(&digest)));
    let trailer = Trailer {
        program_len,
        data_len,
        manifest_len: stored.len() as u64,
        digest,
        signature,
    };
    writer
        .write_all(&trailer.to_bytes())
        .context("cannot write the trailer")?;
    writer.flush().context("cannot write the installer")?;
    drop(writer);

    let file = temp.as_file();
    file.sync_all()
        .context("cannot sync the installer to disk")?;
    let total_bytes = file.metadata()?.len();
    // The detached signature covers the whole file, program and trailer included, so any
    // standard Ed25519 tool can check an installer without running anything from it. The
    // temp file is this process's own (mode 0600, created with O_EXCL), so the bytes signed
    // are the bytes written.
    let detached = match sign_key {
        Some(key) => {
            // SAFETY: the mapping is read only and the file is private to this process until
            // it is renamed into place below; nothing changes it while it is mapped.
            let bytes = unsafe { memmap2::Mmap::map(file) }
                .context("cannot read the installer back to sign it")?;
            let signature = key.sign_detached(&bytes);
            drop(bytes);
            let sig_path = detached_path(output);
            let mut sig_temp = tempfile::Builder::new()
                .prefix(".ksn-pack-sig-")
                .suffix(durable::TMP_SUFFIX)
                .tempfile_in(out_dir)
                .with_context(|| {
                    format!("cannot create a temp file in \"{}\"", out_dir.display())
                })?;
            sig_temp
                .write_all(&signature)
                .and_then(|()| {
                    sig_temp
                        .as_file()
                        .set_permissions(fs::Permissions::from_mode(0o644))
                })
                .and_then(|()| sig_temp.as_file().sync_all())
                .context("cannot write the detached signature")?;
            Some((sig_temp, sig_path))
        }
        None => None,
    };
    file.set_permissions(fs::Permissions::from_mode(0o755))?;
    temp.persist(output)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot put the installer at \"{}\"", output.display()))?;
    // The installer first: a kill between the two renames leaves a signature that fails to
    // check, never an old installer passing as new.
    let signature_file = match detached {
        Some((sig_temp, sig_path)) => {
            sig_temp
                .persist(&sig_path)
                .map_err(|e| e.error)
                .with_context(|| {
                    format!("cannot put the signature at \"{}\"", sig_path.display())
                })?;
            Some(sig_path)
        }
        None => None,
    };
    durable::sync_dir(out_dir)
        .with_context(|| format!("cannot sync the folder \"{}\"", out_dir.display()))?;
    Ok(PackSummary {
        output: output.to_path_buf(),
        files: hashes.len(),
        payload_bytes: bundle.payload_bytes(),
        program_bytes: program_len,
        data_bytes: data_len,
        manifest_bytes: stored.len() as u64,
        total_bytes,
        digest,
        signer: sign_key.map(|k| k.public()),
        signature_file,
    })
}

/// Where the detached signature of `installer` goes: `installer.sig`.
pub fn detached_path(installer: &Path) -> PathBuf {
    let mut name = installer.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

fn parent_or_cwd(parent: &Path) -> &Path {
    if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    }
}

/// Counts and hashes what passes through to the installer file.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
