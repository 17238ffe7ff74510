//! What gets installed: the product's facts, its statements and its payload entries.
//!
//! A bundle comes from the binary itself (the demo product embedded by `build.rs`), from a
//! packed installer (a bundle appended to the program by `pack`), or from folders given on
//! the command line (`--payload`, `--statements`: an administrative image).
//! Every entry is checked when the bundle is opened, before any plan is made: paths are
//! relative and normalized, symlinks stay inside the tree, and only files, folders and
//! symlinks are accepted.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use sha2::{Digest, Sha256};

use crate::base::layout;
use crate::base::paths::RelPath;
use crate::bundle::embedded;
use crate::bundle::entry::{BundleError, Entry, EntryKind, check_entries};
use crate::bundle::manifest::PackedAnswers;
use crate::bundle::packed::Packed;
use crate::bundle::signing::{PublicKey, Trust};
use crate::consent::statements::Catalog;

/// The product a bundle installs.
#[derive(Debug, Clone)]
pub struct Product {
    pub name: String,
    pub version: String,
    /// The product's default user settings, written to `[settings]` on a fresh install.
    pub settings: toml::Table,
}

#[derive(Debug, Clone)]
enum Source {
    Embedded,
    Folder(PathBuf),
    /// A packed installer; `order` lists the file entries' indices in data order.
    Packed {
        packed: Arc<Packed>,
        order: Arc<Vec<usize>>,
    },
}

/// Where the payload of a run comes from, as the command line says.
#[derive(Debug, Clone, Copy)]
pub enum PayloadChoice<'a> {
    /// The bundle this program carries: the packed one if it is a packed installer, else the
    /// built-in demo product.
    Own,
    Folder(&'a Path),
    /// Another packed installer (or plain ksn-setup program) file.
    Installer(&'a Path),
}

/// A checked bundle, ready to be planned and installed.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub product: Product,
    pub statements: Catalog,
    /// Folders before their contents; the order files are installed in.
    pub entries: Vec<Entry>,
    source: Source,
    /// Where it came from, for messages and the plan.
    pub origin: String,
    /// The answers a packed installer carries.
    pub answers: Option<PackedAnswers>,
    /// Who signed the packed installer, when it is signed and the signature checked out.
    pub signer: Option<PublicKey>,
    /// Files ksn-setup adds to every install besides the payload (see
    /// [`Bundle::add_maintenance_files`]), by path.
    extras: Arc<BTreeMap<RelPath, Extra>>,
}

/// Where an added file's bytes come from.
#[derive(Debug, Clone)]
enum Extra {
    Bytes(Arc<Vec<u8>>),
    /// The first `len` bytes of a file: this program without any packed bundle.
    Prefix {
        path: PathBuf,
        len: u64,
    },
}

impl Bundle {
    /// Opens the bundle built into this binary, with the payload or statements replaced by
    /// folders when given.
    pub fn open(payload: Option<&Path>, statements: Option<&Path>) -> anyhow::Result<Bundle> {
        let statements = match statements {
            Some(dir) => Catalog::from_dir(dir)
                .with_context(|| format!("statements folder \"{}\"", dir.display()))?,
            None => builtin_catalog()?,
        };
        let product = builtin_product();
        let (entries, source, origin) = match payload {
            Some(dir) => {
                let entries = scan_folder(dir)
                    .with_context(|| format!("payload folder \"{}\"", dir.display()))?;
                (
                    entries,
                    Source::Folder(dir.to_path_buf()),
                    format!("payload folder {}", dir.display()),
                )
            }
            None => (
                builtin_entries()?,
                Source::Embedded,
                "built-in demo product".to_string(),
            ),
        };
        let entries = check_entries(entries)?;
        Ok(Bundle {
            product,
            statements,
            entries,
            source,
            origin,
            answers: None,
            signer: None,
            extras: Arc::default(),
        })
    }

    /// Adds what the installed product needs after install: the statements (so the settings
    /// can show the text they ask about) and, when `program` is given, the maintenance
    /// program (this ksn-setup without its bundle) with a settings launcher. They are
    /// ordinary entries from here on: staged, checked, recorded in the receipt, removed by
    /// uninstall.
    pub fn add_maintenance_files(&mut self, program: Option<&Path>) -> anyhow::Result<()> {
        use layout::{PROGRAM, SETTINGS_LAUNCHER, STATEMENTS_DIR};
        let mut added: Vec<(RelPath, Extra, u32)> = Vec::new();
        for (name, bytes) in self.statements.files() {
            let path = RelPath::new(&format!("{STATEMENTS_DIR}/{name}"))?;
            added.push((path, Extra::Bytes(Arc::new(bytes)), 0o644));
        }
        if let Some(program) = program {
            let len = crate::bundle::trailer::locate(program)
                .with_context(|| format!("program \"{}\"", program.display()))?
                .program_len();
            added.push((
                RelPath::new(PROGRAM)?,
                Extra::Prefix {
                    path: program.to_path_buf(),
                    len,
                },
                0o755,
            ));
        }
        let mut entries = self.entries.clone();
        if program.is_some() {
            // The settings launcher is a symlink to the program, which, called by that name,
            // finds its product from its own file, never from $0 (see `cli::main`).
            let launcher = RelPath::new(SETTINGS_LAUNCHER)?;
            if self.entries.iter().any(|e| e.path == launcher) {
                anyhow::bail!(
                    "the payload has \"{launcher}\", which ksn-setup installs itself; remove it from the payload"
                );
            }
            entries.push(Entry {
                path: launcher,
                kind: EntryKind::Symlink {
                    target: format!("../{PROGRAM}"),
                },
                mode: 0o777,
            });
        }
        let mut extras = (*self.extras).clone();
        for (path, extra, mode) in added {
            if self.entries.iter().any(|e| e.path == path) {
                anyhow::bail!(
                    "the payload has \"{path}\", which ksn-setup installs itself; remove it from the payload"
                );
            }
            // The program is hashed while it is staged, like a payload folder's files: reading
            // it once more here would only add to every install's time.
            let (size, sha256) = match &extra {
                Extra::Bytes(bytes) => (
                    bytes.len() as u64,
                    Some(Sha256::digest(bytes.as_slice()).into()),
                ),
                // When the program is this packed installer's own, the signed manifest says
                // what its bytes must be: staging checks them like any payload file.
                Extra::Prefix { path, len } => (
                    *len,
                    match self.packed() {
                        Some((packed, _)) if packed.path == *path => {
                            Some(packed.manifest.program_sha256()?)
                        }
                        _ => None,
                    },
                ),
            };
            entries.push(Entry {
                path: path.clone(),
                kind: EntryKind::File { size, sha256 },
                mode,
            });
            extras.insert(path, extra);
        }
        // Sorting again moves indices: a packed bundle's data order follows by path.
        let order_paths: Option<Vec<RelPath>> = self.packed().map(|(_, order)| {
            order
                .iter()
                .map(|&i| self.entries[i].path.clone())
                .collect()
        });
        self.entries = check_entries(entries)?;
        if let (Some(paths), Source::Packed { packed, .. }) = (order_paths, &self.source) {
            let index_of: BTreeMap<&RelPath, usize> = self
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (&e.path, i))
                .collect();
            let order = paths.iter().map(|p| index_of[p]).collect();
            self.source = Source::Packed {
                packed: Arc::clone(packed),
                order: Arc::new(order),
            };
        }
        self.extras = Arc::new(extras);
        Ok(())
    }

    /// Opens the bundle a run uses. `trust`, when set, must have signed it: a payload folder
    /// has no signature and is refused then; the built-in demo product is part of the program
    /// and needs none. A packed bundle's data is checked as it is read.
    pub fn open_for_run(
        payload: PayloadChoice<'_>,
        statements: Option<&Path>,
        trust: Option<&Trust>,
    ) -> anyhow::Result<Bundle> {
        let installer = match payload {
            PayloadChoice::Folder(dir) => {
                if let Some(trust) = trust {
                    anyhow::bail!(
                        "a trusted key is set ({}: {}), and a payload folder carries no signature; \
                         install from an installer packed with `pack --sign-key`",
                        trust.source,
                        trust.key
                    );
                }
                return Bundle::open(Some(dir), statements);
            }
            PayloadChoice::Own => std::env::current_exe()
                .context("cannot find this program's own file (/proc/self/exe)")?,
            PayloadChoice::Installer(path) => path.to_path_buf(),
        };
        match Packed::open(&installer, trust)? {
            None if matches!(payload, PayloadChoice::Installer(_)) => anyhow::bail!(
                "\"{}\" is a plain ksn-setup program with no packed bundle",
                installer.display()
            ),
            None => Bundle::open(None, statements),
            Some(packed) => {
                // The data is checked as it streams (each file's SHA-256, then the whole
                // stream's): a full pass here would cost every install a read of the bundle.
                Bundle::from_packed(packed, statements)
            }
        }
    }

    /// The bundle of a checked packed installer.
    pub fn from_packed(packed: Packed, statements: Option<&Path>) -> anyhow::Result<Bundle> {
        let shown = packed.path.display().to_string();
        let manifest = &packed.manifest;
        let statements = match statements {
            Some(dir) => Catalog::from_dir(dir)
                .with_context(|| format!("statements folder \"{}\"", dir.display()))?,
            None => {
                let index = manifest
                    .statements
                    .get("statements.toml")
                    .with_context(|| format!("installer \"{shown}\" carries no statements.toml"))?;
                Catalog::parse(
                    Path::new("statements.toml"),
                    index.as_bytes().to_vec(),
                    |name| {
                        manifest
                            .statements
                            .get(name)
                            .map(|t| t.as_bytes().to_vec())
                            .ok_or_else(|| {
                                std::io::Error::new(
                                    std::io::ErrorKind::NotFound,
                                    "not in the bundle",
                                )
                            })
                    },
                )
                .with_context(|| format!("the statements in installer \"{shown}\""))?
            }
        };
        let settings: toml::Table = manifest.product.settings.parse().with_context(|| {
            format!("installer \"{shown}\": the product settings are not valid TOML")
        })?;
        let product = Product {
            name: manifest.product.name.clone(),
            version: manifest.product.version.clone(),
            settings,
        };
        let listed = manifest
            .entries
            .iter()
            .map(|e| e.to_entry())
            .collect::<anyhow::Result<Vec<_>>>()
            .with_context(|| format!("installer \"{shown}\""))?;
        let data_order: Vec<RelPath> = listed
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::File { .. }))
            .map(|e| e.path.clone())
            .collect();
        let entries = check_entries(listed).with_context(|| format!("installer \"{shown}\""))?;
        let index_of: BTreeMap<&RelPath, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (&e.path, i))
            .collect();
        let order: Vec<usize> = data_order.iter().map(|p| index_of[p]).collect();
        let uncompressed: u64 = order.iter().map(|&i| entries[i].size()).sum();
        if uncompressed != manifest.data.uncompressed_len {
            anyhow::bail!(
                "installer \"{shown}\" is damaged: its files add up to {uncompressed} bytes, the manifest says {}",
                manifest.data.uncompressed_len
            );
        }
        Ok(Bundle {
            product,
            statements,
            entries,
            origin: format!("packed installer {shown}"),
            answers: manifest.answers.clone(),
            signer: packed.signer,
            extras: Arc::default(),
            source: Source::Packed {
                packed: Arc::new(packed),
                order: Arc::new(order),
            },
        })
    }

    /// Reads every file and checks its size and the SHA-256 the bundle promises, writing
    /// nothing (`verify`). Returns the number of files and bytes checked.
    pub fn check_files(&self) -> anyhow::Result<(usize, u64)> {
        let mut files = 0;
        let mut bytes = 0;
        self.for_each_file(|index, reader| {
            let entry = &self.entries[index];
            let mut hasher = Sha256::new();
            let read = std::io::copy(reader, &mut hasher).with_context(|| damaged(&entry.path))?;
            if read != entry.size() {
                anyhow::bail!(
                    "payload entry \"{}\" is damaged: {read} bytes, the bundle says {}",
                    entry.path,
                    entry.size()
                );
            }
            if let EntryKind::File {
                sha256: Some(expected),
                ..
            } = &entry.kind
                && *expected != <[u8; 32]>::from(hasher.finalize())
            {
                anyhow::bail!(
                    "payload entry \"{}\" is damaged: its SHA-256 differs from the manifest's",
                    entry.path
                );
            }
            files += 1;
            bytes += read;
            Ok(())
        })?;
        Ok((files, bytes))
    }

    /// The payload folder, when the payload comes from one.
    pub fn payload_folder(&self) -> Option<&Path> {
        match &self.source {
            Source::Folder(dir) => Some(dir),
            _ => None,
        }
    }

    /// The packed installer and its data order, when the bundle is packed: its files are read
    /// as one stream, not one by one.
    pub fn packed(&self) -> Option<(&Packed, &[usize])> {
        match &self.source {
            Source::Packed { packed, order } => Some((packed, order)),
            _ => None,
        }
    }

    /// Reads every file entry in data order, calling `each` with its index and a reader over
    /// exactly its bytes (for `pack` and `verify`: one pass, one thread).
    pub fn for_each_file(
        &self,
        mut each: impl FnMut(usize, &mut dyn Read) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match &self.source {
            Source::Packed { packed, order } => {
                let mut decoder = packed.decoder()?;
                for &index in order.iter() {
                    let entry = &self.entries[index];
                    let mut reader = (&mut decoder).take(entry.size());
                    each(index, &mut reader)?;
                    if reader.limit() != 0 {
                        // The callback stopped early; drain so the stream stays aligned.
                        std::io::copy(&mut reader, &mut std::io::sink())
                            .with_context(|| damaged(&entry.path))?;
                    }
                }
                packed.finish(decoder)
            }
            _ => {
                for (index, entry) in self.entries.iter().enumerate() {
                    if matches!(entry.kind, EntryKind::File { .. }) {
                        let mut reader = self.read_file(index)?;
                        each(index, &mut reader)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Total bytes of payload files.
    pub fn payload_bytes(&self) -> u64 {
        self.entries.iter().map(Entry::size).sum()
    }

    /// For an added file that is the first `len` bytes of a file on disk (the maintenance
    /// program, from this program's own file): that file and `len`, so the executor can
    /// have the kernel copy it.
    pub fn file_prefix(&self, index: usize) -> Option<(&Path, u64)> {
        match self.extras.get(&self.entries.get(index)?.path)? {
            Extra::Prefix { path, len } => Some((path.as_path(), *len)),
            Extra::Bytes(_) => None,
        }
    }

    /// A reader over the bytes of file entry `index`.
    pub fn read_file(&self, index: usize) -> anyhow::Result<Box<dyn Read + Send + '_>> {
        let entry = &self.entries[index];
        match self.extras.get(&entry.path) {
            Some(Extra::Bytes(bytes)) => return Ok(Box::new(bytes.as_slice())),
            Some(Extra::Prefix { path, len }) => {
                let file = fs::File::open(path)
                    .with_context(|| format!("cannot open \"{}\"", path.display()))?;
                return Ok(Box::new(file.take(*len)));
            }
            None => {}
        }
        match &self.source {
            Source::Embedded => {
                let (zstd, len) = embedded::PAYLOAD
                    .iter()
                    .find(|e| e.path == entry.path.as_str())
                    .and_then(|e| match e.kind {
                        embedded::EmbeddedKind::File { zstd, len } => Some((zstd, len)),
                        _ => None,
                    })
                    .with_context(|| format!("built-in payload has no file \"{}\"", entry.path))?;
                let decoder = zstd::stream::read::Decoder::with_buffer(zstd)
                    .context("cannot start the zstd decoder")?;
                Ok(Box::new(decoder.take(len)))
            }
            Source::Folder(dir) => {
                let path = entry.path.under(dir);
                let file = fs::File::open(&path)
                    .with_context(|| format!("cannot open payload file \"{}\"", path.display()))?;
                Ok(Box::new(file))
            }
            Source::Packed { .. } => {
                anyhow::bail!("a packed bundle is read as one stream, not file by file")
            }
        }
    }
}

/// "payload entry X is damaged", for errors met while decompressing it.
pub fn damaged(path: &RelPath) -> String {
    format!("payload entry \"{path}\" is damaged: its compressed data does not decode")
}

fn builtin_product() -> Product {
    let settings = embedded::PRODUCT_SETTINGS.parse().unwrap_or_default();
    Product {
        name: embedded::PRODUCT_NAME.to_string(),
        version: embedded::PRODUCT_VERSION.to_string(),
        settings,
    }
}

/// The statements built into this program.
pub fn builtin_catalog() -> anyhow::Result<Catalog> {
    let files: BTreeMap<&str, &[u8]> = embedded::STATEMENTS.iter().copied().collect();
    let index = files
        .get("statements.toml")
        .context("built-in statements have no statements.toml")?;
    Catalog::parse(
        Path::new("statements/statements.toml"),
        index.to_vec(),
        |name| {
            files
                .get(name)
                .map(|b| b.to_vec())
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "not built in"))
        },
    )
    .context("built-in statements")
}

fn builtin_entries() -> anyhow::Result<Vec<Entry>> {
    embedded::PAYLOAD
        .iter()
        .map(|e| {
            let path = RelPath::payload(e.path).map_err(BundleError::from)?;
            let kind = match e.kind {
                embedded::EmbeddedKind::Dir => EntryKind::Dir,
                embedded::EmbeddedKind::File { zstd, len } => {
                    let bytes = zstd::bulk::decompress(zstd, len as usize).with_context(|| {
                        format!("built-in payload file \"{}\" does not decode", e.path)
                    })?;
                    EntryKind::File {
                        size: bytes.len() as u64,
                        sha256: Some(Sha256::digest(&bytes).into()),
                    }
                }
                embedded::EmbeddedKind::Symlink(target) => EntryKind::Symlink {
                    target: target.to_string(),
                },
            };
            Ok(Entry {
                path,
                kind,
                mode: e.mode,
            })
        })
        .collect()
}

/// Lists a payload folder, refusing what cannot be installed safely.
pub fn scan_folder(dir: &Path) -> anyhow::Result<Vec<Entry>> {
    if !dir.is_dir() {
        return Err(BundleError::NoPayload(dir.to_path_buf()).into());
    }
    let mut out = Vec::new();
    scan_into(dir, dir, &mut out)?;
    Ok(out)
}

fn scan_into(base: &Path, dir: &Path, out: &mut Vec<Entry>) -> anyhow::Result<()> {
    let mut children = fs::read_dir(dir)
        .with_context(|| format!("cannot list \"{}\"", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("cannot list \"{}\"", dir.display()))?;
    children.sort();
    for child in children {
        let meta = fs::symlink_metadata(&child)
            .with_context(|| format!("cannot read \"{}\"", child.display()))?;
        let rel = child.strip_prefix(base).expect("child of base");
        let rel = rel
            .to_str()
            .ok_or_else(|| BundleError::NotUtf8(child.clone()))?;
        let path = RelPath::payload(rel).map_err(BundleError::from)?;
        let ft = meta.file_type();
        let mode = meta.permissions().mode() & 0o7777;
        let kind = if ft.is_symlink() {
            let target = fs::read_link(&child)
                .with_context(|| format!("cannot read link \"{}\"", child.display()))?;
            let target = target
                .to_str()
                .ok_or_else(|| BundleError::NotUtf8(child.clone()))?;
            EntryKind::Symlink {
                target: target.to_string(),
            }
        } else if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_file() {
            EntryKind::File {
                size: meta.len(),
                sha256: None,
            }
        } else {
            let kind = if ft.is_socket() {
                "socket"
            } else if ft.is_fifo() {
                "named pipe"
            } else if ft.is_block_device() || ft.is_char_device() {
                "device file"
            } else {
                "special file"
            };
            return Err(BundleError::UnsupportedType { path: child, kind }.into());
        };
        let is_dir = kind == EntryKind::Dir;
        out.push(Entry { path, kind, mode });
        if is_dir {
            scan_into(base, &child, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_bundle_opens_and_has_the_launcher() {
        let bundle = Bundle::open(None, None).unwrap();
        let launcher = bundle
            .entries
            .iter()
            .find(|e| e.path.as_str() == "bin/ksn-demo")
            .unwrap();
        assert_eq!(launcher.mode & 0o111, 0o111, "launcher is executable");
        assert!(
            bundle.entries.iter().any(|e| e.size() > 1024 * 1024),
            "a file over 1 MB"
        );
        assert_eq!(bundle.statements.ksn().id, "ksn");
    }
}
