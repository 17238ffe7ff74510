//! Finding a bundle appended to an installer: the ELF program, then the bundle, then a
//! fixed-size trailer at the very end that says where each part is.
//!
//! ```text
//! [ program (ELF) ][ data: zstd frames ][ manifest: zstd JSON ][ trailer: 184 bytes ]
//! ```
//!
//! The program's own length comes from its ELF headers, not from the trailer, so a file with
//! bytes after the program but no valid trailer is known to be a damaged installer rather
//! than mistaken for a plain ksn-setup (which would install the built-in demo product).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

use sha2::{Digest, Sha256};
use thiserror::Error;

pub const MAGIC_START: &[u8; 8] = b"KSNSETUP";
pub const MAGIC_END: &[u8; 8] = b"KSNBNDL1";
pub const FORMAT: u32 = 1;
pub const LEN: usize = 184;
/// Bit 0 of the flags: the trailer carries a signature.
const FLAG_SIGNED: u32 = 1;

/// The trailer's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    pub program_len: u64,
    pub data_len: u64,
    pub manifest_len: u64,
    /// SHA-256 of the manifest bytes as stored: the bundle digest, which the signature covers.
    pub digest: [u8; 32],
    /// The signer's public key and the signature, when signed.
    pub signature: Option<([u8; 32], [u8; 64])>,
}

impl Trailer {
    pub fn to_bytes(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[0..8].copy_from_slice(MAGIC_START);
        out[8..12].copy_from_slice(&FORMAT.to_le_bytes());
        let flags = if self.signature.is_some() {
            FLAG_SIGNED
        } else {
            0
        };
        out[12..16].copy_from_slice(&flags.to_le_bytes());
        out[16..24].copy_from_slice(&self.program_len.to_le_bytes());
        out[24..32].copy_from_slice(&self.data_len.to_le_bytes());
        out[32..40].copy_from_slice(&self.manifest_len.to_le_bytes());
        out[40..72].copy_from_slice(&self.digest);
        if let Some((key, sig)) = &self.signature {
            out[72..104].copy_from_slice(key);
            out[104..168].copy_from_slice(sig);
        }
        let check = Sha256::digest(&out[..168]);
        out[168..176].copy_from_slice(&check[..8]);
        out[176..184].copy_from_slice(MAGIC_END);
        out
    }

    /// Parses the last [`LEN`] bytes of a file; `None` when they do not end with the magic.
    fn parse(bytes: &[u8; LEN]) -> Result<Option<Trailer>, LocateError> {
        if &bytes[176..184] != MAGIC_END {
            return Ok(None);
        }
        let check = Sha256::digest(&bytes[..168]);
        if bytes[168..176] != check[..8] || &bytes[0..8] != MAGIC_START {
            return Err(LocateError::TrailerDamaged);
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let format = u32_at(8);
        if format != FORMAT {
            return Err(LocateError::Format(format));
        }
        let flags = u32_at(12);
        if flags & !FLAG_SIGNED != 0 {
            return Err(LocateError::TrailerDamaged);
        }
        let signature = (flags & FLAG_SIGNED != 0).then(|| {
            (
                bytes[72..104].try_into().unwrap(),
                bytes[104..168].try_into().unwrap(),
            )
        });
        Ok(Some(Trailer {
            program_len: u64_at(16),
            data_len: u64_at(24),
            manifest_len: u64_at(32),
            digest: bytes[40..72].try_into().unwrap(),
            signature,
        }))
    }
}

#[derive(Debug, Error)]
pub enum LocateError {
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    #[error("it is not a ksn-setup installer: it is not a 64-bit little-endian ELF program")]
    NotElf,
    #[error(
        "it is truncated: its program alone should be {expected} bytes, but the file has {actual}"
    )]
    TruncatedProgram { expected: u64, actual: u64 },
    #[error(
        "it is damaged or truncated: {extra} bytes follow the program, but they do not end with a ksn-setup bundle trailer"
    )]
    NoTrailer { extra: u64 },
    #[error("its bundle trailer is damaged (its checksum does not match)")]
    TrailerDamaged,
    #[error("its bundle has format {0}, which this ksn-setup does not read; use a newer ksn-setup")]
    Format(u32),
    #[error(
        "its bundle trailer does not fit the file: program {program} + data {data} + manifest {manifest} + trailer {trailer} bytes is not the file's {file} bytes (truncated or damaged)"
    )]
    Lengths {
        program: u64,
        data: u64,
        manifest: u64,
        trailer: u64,
        file: u64,
    },
    #[error(
        "its bundle trailer says the program is {said} bytes, but the program's headers say {actual}"
    )]
    ProgramLength { said: u64, actual: u64 },
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Located {
    /// A ksn-setup program with nothing after it.
    Plain { program_len: u64 },
    /// A packed installer.
    Packed(Trailer),
}

impl Located {
    pub fn program_len(&self) -> u64 {
        match self {
            Located::Plain { program_len } => *program_len,
            Located::Packed(t) => t.program_len,
        }
    }
}

/// Finds the program and any bundle in `path`.
pub fn locate(path: &Path) -> Result<Located, LocateError> {
    let mut file = File::open(path)?;
    locate_in(&mut file)
}

pub fn locate_in(file: &mut File) -> Result<Located, LocateError> {
    let file_len = file.seek(SeekFrom::End(0))?;
    let program_len = elf_len(file)?;
    if file_len < program_len {
        return Err(LocateError::TruncatedProgram {
            expected: program_len,
            actual: file_len,
        });
    }
    if file_len == program_len {
        return Ok(Located::Plain { program_len });
    }
    let extra = file_len - program_len;
    if extra < LEN as u64 {
        return Err(LocateError::NoTrailer { extra });
    }
    let mut bytes = [0u8; LEN];
    file.read_exact_at(&mut bytes, file_len - LEN as u64)?;
    let trailer = Trailer::parse(&bytes)?.ok_or(LocateError::NoTrailer { extra })?;
    let sum = trailer
        .program_len
        .checked_add(trailer.data_len)
        .and_then(|s| s.checked_add(trailer.manifest_len))
        .and_then(|s| s.checked_add(LEN as u64));
    if sum != Some(file_len) {
        return Err(LocateError::Lengths {
            program: trailer.program_len,
            data: trailer.data_len,
            manifest: trailer.manifest_len,
            trailer: LEN as u64,
            file: file_len,
        });
    }
    if trailer.program_len != program_len {
        return Err(LocateError::ProgramLength {
            said: trailer.program_len,
            actual: program_len,
        });
    }
    Ok(Located::Packed(trailer))
}

/// The length of the ELF program at the start of `file`: the furthest end of its program
/// headers, section headers and the sections and segments they describe.
fn elf_len(file: &mut File) -> Result<u64, LocateError> {
    let mut header = [0u8; 64];
    file.seek(SeekFrom::Start(0))?;
    if file.read_exact(&mut header).is_err() {
        return Err(LocateError::NotElf);
    }
    // Magic, ELFCLASS64, ELFDATA2LSB.
    if &header[0..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return Err(LocateError::NotElf);
    }
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes(b[at..at + 2].try_into().unwrap()) as u64;
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let (phoff, shoff) = (u64_at(&header, 0x20), u64_at(&header, 0x28));
    let (phentsize, phnum) = (u16_at(&header, 0x36), u16_at(&header, 0x38));
    let (shentsize, shnum) = (u16_at(&header, 0x3a), u16_at(&header, 0x3c));
    if (phnum > 0 && phentsize < 56) || (shnum > 0 && shentsize < 64) {
        return Err(LocateError::NotElf);
    }
    let file_len = file.seek(SeekFrom::End(0))?;
    let mut end = 64u64
        .max(phoff.saturating_add(phentsize * phnum))
        .max(shoff.saturating_add(shentsize * shnum));
    if end > file_len {
        // The header tables themselves are cut off.
        return Ok(end);
    }
    let mut table = vec![0u8; (phentsize * phnum) as usize];
    file.read_exact_at(&mut table, phoff)?;
    for ph in table.chunks_exact(phentsize as usize) {
        end = end.max(u64_at(ph, 0x08).saturating_add(u64_at(ph, 0x20)));
    }
    let mut table = vec![0u8; (shentsize * shnum) as usize];
    file.read_exact_at(&mut table, shoff)?;
    for sh in table.chunks_exact(shentsize as usize) {
        const SHT_NOBITS: u32 = 8;
        if u32_at(sh, 0x04) != SHT_NOBITS {
            end = end.max(u64_at(sh, 0x18).saturating_add(u64_at(sh, 0x20)));
        }
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn this_program() -> Vec<u8> {
        std::fs::read(std::env::current_exe().unwrap()).unwrap()
    }

    #[test]
    fn a_plain_program_is_plain() {
        let exe = std::env::current_exe().unwrap();
        let len = std::fs::metadata(&exe).unwrap().len();
        assert_eq!(locate(&exe).unwrap(), Located::Plain { program_len: len });
    }

    #[test]
    fn a_trailer_is_found_and_damage_is_named() {
        let program = this_program();
        let trailer = Trailer {
            program_len: program.len() as u64,
            data_len: 3,
            manifest_len: 2,
            digest: [9; 32],
            signature: Some(([1; 32], [2; 64])),
        };
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&program).unwrap();
        file.write_all(b"dddmm").unwrap();
        file.write_all(&trailer.to_bytes()).unwrap();
        assert_eq!(locate(file.path()).unwrap(), Located::Packed(trailer));

        // A flipped byte in the trailer's fields.
        let mut bytes = std::fs::read(file.path()).unwrap();
        let at = bytes.len() - LEN + 20;
        bytes[at] ^= 0x40;
        std::fs::write(file.path(), &bytes).unwrap();
        assert!(matches!(
            locate(file.path()),
            Err(LocateError::TrailerDamaged)
        ));

        // Cut in the bundle: bytes after the program, no trailer.
        std::fs::write(file.path(), &bytes[..program.len() + 4]).unwrap();
        assert!(matches!(
            locate(file.path()),
            Err(LocateError::NoTrailer { extra: 4 })
        ));

        // Cut in the program.
        std::fs::write(file.path(), &bytes[..program.len() / 2]).unwrap();
        assert!(matches!(
            locate(file.path()),
            Err(LocateError::TruncatedProgram { .. })
        ));

        std::fs::write(file.path(), b"#!/bin/sh\necho hi\n").unwrap();
        assert!(matches!(locate(file.path()), Err(LocateError::NotElf)));
    }
}
