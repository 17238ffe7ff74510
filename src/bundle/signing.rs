//! Ed25519 keys and bundle signatures.
//!
//! Keys are standard PEM files (PKCS#8 for the secret key, SPKI for the public key), so
//! `openssl pkey` reads them too. A signature covers the bundle digest, which is the SHA-256 of
//! the manifest; the manifest lists the answers, the statements, every entry's SHA-256 and the
//! SHA-256 of the compressed data, so flipping any preset answer or payload byte breaks it.
//!
//! Trust never comes from the bundle being checked: the key a bundle names is only used to
//! say who signed it. Whether that signer is trusted is decided by [`Trust`]: a key given with
//! `--trusted-key`, one built in at compile time, or one pinned by an earlier signed install.

use std::fmt;
use std::path::Path;

use anyhow::Context as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroizing;

/// What a bundle signature signs: this prefix, then the 32-byte bundle digest. The prefix keeps
/// a bundle signature from being valid as any other kind of signature made with the same key.
const SIGNED_PREFIX: &[u8] = b"ksn-setup bundle signature v1\0";

/// A public key, shown as `ed25519:<64 hex digits>` in messages, `inspect` and the receipt.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub VerifyingKey);

impl PublicKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> anyhow::Result<PublicKey> {
        Ok(PublicKey(
            VerifyingKey::from_bytes(bytes).context("not a valid ed25519 public key")?,
        ))
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Parses the `ed25519:<hex>` form.
    pub fn parse(text: &str) -> anyhow::Result<PublicKey> {
        let hex_part = text
            .strip_prefix("ed25519:")
            .with_context(|| format!("\"{text}\" is not an ed25519:<hex> key"))?;
        let bytes: [u8; 32] = hex::decode(hex_part)
            .ok()
            .and_then(|b| b.try_into().ok())
            .with_context(|| format!("\"{text}\" does not hold 32 bytes of hex"))?;
        PublicKey::from_bytes(&bytes)
    }

    /// Reads a public key PEM file (SPKI, as `keygen` and `openssl pkey -pubout` write).
    pub fn load(path: &Path) -> anyhow::Result<PublicKey> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read public key \"{}\"", path.display()))?;
        PublicKey::from_pem(&text).with_context(|| {
            format!(
                "\"{}\" is not an ed25519 public key in PEM form (-----BEGIN PUBLIC KEY-----)",
                path.display()
            )
        })
    }

    pub fn from_pem(text: &str) -> anyhow::Result<PublicKey> {
        Ok(PublicKey(
            VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| anyhow::anyhow!("{e}"))?,
        ))
    }

    pub fn to_pem(&self) -> String {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .expect("an ed25519 key encodes")
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ed25519:{}", hex::encode(self.0.to_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A secret signing key read from a PKCS#8 PEM file.
pub struct SecretKey(SigningKey);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.public())
    }
}

impl SecretKey {
    pub fn load(path: &Path) -> anyhow::Result<SecretKey> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read signing key \"{}\"", path.display()))?;
        let key = SigningKey::from_pkcs8_pem(text.trim()).map_err(|e| {
            anyhow::anyhow!(
                "\"{}\" is not an ed25519 private key in PEM form (-----BEGIN PRIVATE KEY-----): {e}",
                path.display()
            )
        })?;
        Ok(SecretKey(key))
    }

    /// A new random key.
    pub fn generate() -> anyhow::Result<SecretKey> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness for a key: {e}"))?;
        let key = SigningKey::from_bytes(&seed);
        seed.fill(0);
        Ok(SecretKey(key))
    }

    /// The key as PKCS#8 PEM, as `load` reads it (and `openssl pkey`).
    pub fn to_pem(&self) -> anyhow::Result<Zeroizing<String>> {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| anyhow::anyhow!("cannot encode the key: {e}"))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub fn sign(&self, digest: &[u8; 32]) -> [u8; 64] {
        self.0.sign(&signed_message(digest)).to_bytes()
    }

    /// A plain Ed25519 signature over `message`, with no prefix: what standard tools check
    /// (`openssl pkeyutl -verify -rawin`), for the detached signature over a whole installer.
    pub fn sign_detached(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

fn signed_message(digest: &[u8; 32]) -> Vec<u8> {
    let mut message = SIGNED_PREFIX.to_vec();
    message.extend_from_slice(digest);
    message
}

/// Checks `signature` over `digest` by `key`. Strict verification: no malleable signatures.
/// Checks a detached signature made by [`SecretKey::sign_detached`].
pub fn verify_detached(key: &PublicKey, message: &[u8], signature: &[u8; 64]) -> bool {
    key.0
        .verify_strict(message, &Signature::from_bytes(signature))
        .is_ok()
}

pub fn verify(key: &PublicKey, digest: &[u8; 32], signature: &[u8; 64]) -> bool {
    key.0
        .verify_strict(&signed_message(digest), &Signature::from_bytes(signature))
        .is_ok()
}

/// Where the trusted key for a check comes from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustSource {
    /// `--trusted-key FILE`.
    Flag,
    /// Built into this ksn-setup at compile time (`KSN_SETUP_TRUSTED_KEY`).
    BuiltIn,
}

impl fmt::Display for TrustSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrustSource::Flag => "given with --trusted-key",
            TrustSource::BuiltIn => "built into this ksn-setup",
        })
    }
}

/// The key bundles must be signed with, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trust {
    pub key: PublicKey,
    pub source: TrustSource,
}

/// The key built in at compile time, if the build set `KSN_SETUP_TRUSTED_KEY`.
pub fn builtin_trusted_key() -> anyhow::Result<Option<PublicKey>> {
    match crate::bundle::embedded::TRUSTED_KEY {
        None => Ok(None),
        Some(pem) => PublicKey::from_pem(pem)
            .map(Some)
            .context("the trusted key built into this ksn-setup is not valid"),
    }
}

/// The trust for a run: `--trusted-key` if given, else the built-in key, else none.
pub fn trust(flag: Option<&Path>) -> anyhow::Result<Option<Trust>> {
    if let Some(path) = flag {
        return Ok(Some(Trust {
            key: PublicKey::load(path)?,
            source: TrustSource::Flag,
        }));
    }
    Ok(builtin_trusted_key()?.map(|key| Trust {
        key,
        source: TrustSource::BuiltIn,
    }))
}

/// Why a bundle's signature was not accepted.
#[derive(Debug, Error)]
pub enum SignatureError {
    #[error(
        "the signature does not match the bundle: the installer was changed after signing, or the signature is forged"
    )]
    Invalid,
    #[error("the installer is not signed, but a trusted key is set ({trust}: {key})")]
    Unsigned { key: String, trust: TrustSource },
    #[error("the installer is signed by {signer}, not by the trusted key {key} ({trust})")]
    Untrusted {
        signer: String,
        key: String,
        trust: TrustSource,
    },
}

/// Decides whether a bundle with `signature` (by the key it names) over `digest` may be used
/// under `trust`. Returns the signer whose signature checked out.
pub fn check(
    digest: &[u8; 32],
    signature: Option<(PublicKey, [u8; 64])>,
    trust: Option<&Trust>,
) -> Result<Option<PublicKey>, SignatureError> {
    let signer = match signature {
        None => None,
        Some((key, sig)) => {
            // A bundle naming any key but the trusted one is refused whatever it claims.
            if let Some(t) = trust
                && t.key != key
            {
                return Err(SignatureError::Untrusted {
                    signer: key.to_string(),
                    key: t.key.to_string(),
                    trust: t.source,
                });
            }
            if !verify(&key, digest, &sig) {
                return Err(SignatureError::Invalid);
            }
            Some(key)
        }
    };
    if let (None, Some(t)) = (signer, trust) {
        return Err(SignatureError::Unsigned {
            key: t.key.to_string(),
            trust: t.source,
        });
    }
    Ok(signer)
}

/// A short fingerprint for display: the first 16 hex digits of SHA-256 of the key.
pub fn fingerprint(key: &PublicKey) -> String {
    hex::encode(&Sha256::digest(key.to_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SecretKey {
        SecretKey(SigningKey::from_bytes(&[seed; 32]))
    }

    #[test]
    fn a_signature_checks_only_for_its_digest_and_key() {
        let k = key(1);
        let digest = [7u8; 32];
        let sig = k.sign(&digest);
        assert!(verify(&k.public(), &digest, &sig));
        assert!(!verify(&k.public(), &[8u8; 32], &sig));
        assert!(!verify(&key(2).public(), &digest, &sig));
    }

    #[test]
    fn trust_refuses_unsigned_foreign_and_forged() {
        let k = key(1);
        let other = key(2);
        let digest = [7u8; 32];
        let trust = Trust {
            key: k.public(),
            source: TrustSource::Flag,
        };
        let good = Some((k.public(), k.sign(&digest)));
        assert_eq!(
            check(&digest, good, Some(&trust)).unwrap(),
            Some(k.public())
        );
        assert!(matches!(
            check(&digest, None, Some(&trust)),
            Err(SignatureError::Unsigned { .. })
        ));
        let foreign = Some((other.public(), other.sign(&digest)));
        assert!(matches!(
            check(&digest, foreign, Some(&trust)),
            Err(SignatureError::Untrusted { .. })
        ));
        // Without a trusted key a foreign signature is reported as its signer's, not trusted.
        assert_eq!(check(&digest, foreign, None).unwrap(), Some(other.public()));
        let mut forged = k.sign(&digest);
        forged[10] ^= 1;
        assert!(matches!(
            check(&digest, Some((k.public(), forged)), None),
            Err(SignatureError::Invalid)
        ));
        assert_eq!(check(&digest, None, None).unwrap(), None);
    }

    #[test]
    fn pem_round_trips() {
        let k = key(3);
        let pem = k.0.to_pkcs8_pem(LineEnding::LF).unwrap();
        let back = SigningKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(back.verifying_key(), k.0.verifying_key());
        let public = k.public();
        assert_eq!(PublicKey::from_pem(&public.to_pem()).unwrap(), public);
        assert_eq!(PublicKey::parse(&public.to_string()).unwrap(), public);
    }
}
