//! `keygen`: a new ed25519 key pair for signing installers, written as PEM files that
//! `pack --sign-key` and `--trusted-key` read (and `openssl pkey` too).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::base::durable;
use crate::bundle::signing::{PublicKey, SecretKey};

/// The files `keygen` wrote.
#[derive(Debug)]
pub struct KeyFiles {
    pub secret: PathBuf,
    pub public: PathBuf,
    pub key: PublicKey,
}

/// Makes a new key pair: `path` (secret, mode 0600) and `path.pub` (public). Refuses to
/// overwrite either: losing a signing key strands every install pinned to it.
pub fn keygen(path: &Path) -> anyhow::Result<KeyFiles> {
    let public_path = {
        let mut name = path.as_os_str().to_owned();
        name.push(".pub");
        PathBuf::from(name)
    };
    for p in [path, public_path.as_path()] {
        if durable::exists(p) {
            bail!(
                "\"{}\" already exists; keygen never overwrites a key",
                p.display()
            );
        }
    }
    let key = SecretKey::generate()?;
    let secret_pem = key.to_pem()?;
    let public = key.public();
    durable::write_new_synced(path, secret_pem.as_bytes(), 0o600)
        .with_context(|| format!("cannot write \"{}\"", path.display()))?;
    durable::write_new_synced(&public_path, public.to_pem().as_bytes(), 0o644)
        .with_context(|| format!("cannot write \"{}\"", public_path.display()))?;
    Ok(KeyFiles {
        secret: path.to_path_buf(),
        public: public_path,
        key: public,
    })
}
