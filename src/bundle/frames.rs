//! Decoding a packed installer's data on every core: its independent zstd frames are read,
//! checked against the manifest's SHA-256 and decoded by a few threads at once, and handed
//! out in order as one stream of the concatenated file contents.
//!
//! A frame's compressed bytes are hashed before zstd sees them, so the decoder only ever
//! works on bytes the manifest vouches for; what it decodes to must be exactly the size the
//! manifest lists. Memory is bounded whatever the payload's size: the reader's frame and at
//! most [`FrameReader::ahead`] more are in memory, each at most
//! [`MAX_FRAME_LEN`](crate::bundle::manifest::MAX_FRAME_LEN), and their buffers are reused.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use crate::bundle::manifest::FrameSpec;

/// Why a frame could not be had; the message names the installer, the frame and its bytes.
type FrameResult = Result<Vec<u8>, String>;

/// What the decode threads and the reader share.
struct State {
    /// The next frame a decode thread should take.
    next: usize,
    /// Decode threads take only frames below this: the reader's frame plus how far ahead
    /// they may go.
    limit: usize,
    /// Decoded frames (or why not) the reader has not taken yet.
    ready: BTreeMap<usize, FrameResult>,
    /// Buffers the reader is done with, for the next frames.
    spare: Vec<Vec<u8>>,
    /// The reader is gone: stop.
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What every decode thread needs to find and check a frame.
struct Source {
    file: File,
    /// Where the data starts in the file (the program's length).
    data_start: u64,
    frames: Vec<FrameSpec>,
    /// "installer \"/path\"", for messages.
    shown: String,
    window_log_max: u32,
}

/// The data as one stream, decoded frame by frame on several threads.
pub struct FrameReader {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    frames: usize,
    ahead: usize,
    /// The frame `current` holds, plus one (0 before the first).
    taken: usize,
    current: Vec<u8>,
    at: usize,
}

impl FrameReader {
    /// Starts `threads` decode threads over `frames` of `file`, whose data starts at
    /// `data_start`.
    pub fn start(
        file: File,
        data_start: u64,
        frames: Vec<FrameSpec>,
        shown: String,
        window_log_max: u32,
        threads: usize,
    ) -> FrameReader {
        let count = frames.len();
        let threads = threads.clamp(1, count.max(1));
        // As many frames as threads past the reader's: each thread decodes one while the
        // reader works through its own, so threads + 1 frames are in memory at most.
        let ahead = threads;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next: 0,
                limit: ahead,
                ready: BTreeMap::new(),
                spare: Vec::new(),
                stop: false,
            }),
            changed: Condvar::new(),
        });
        let source = Arc::new(Source {
            file,
            data_start,
            frames,
            shown,
            window_log_max,
        });
        let threads = (0..threads)
            .map(|_| {
                let shared = Arc::clone(&shared);
                let source = Arc::clone(&source);
                std::thread::spawn(move || decode_thread(&shared, &source))
            })
            .collect();
        FrameReader {
            shared,
            threads,
            frames: count,
            ahead,
            taken: 0,
            current: Vec::new(),
            at: 0,
        }
    }

    /// How many decoded frames may wait for the reader at most.
    pub fn ahead(&self) -> usize {
        self.ahead
    }

    /// Whether every byte of every frame has been read.
    pub fn at_end(&self) -> bool {
        self.taken == self.frames && self.at == self.current.len()
    }

    /// Takes the next frame in order, waiting for a decode thread to finish it.
    fn take_next(&mut self) -> io::Result<()> {
        let wanted = self.taken;
        let mut state = self.shared.lock();
        let result = loop {
            if let Some(result) = state.ready.remove(&wanted) {
                break result;
            }
            state = self
                .shared
                .changed
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        };
        let spent = std::mem::take(&mut self.current);
        if spent.capacity() > 0 {
            state.spare.push(spent);
        }
        self.taken += 1;
        state.limit = self.taken + self.ahead;
        drop(state);
        self.shared.changed.notify_all();
        self.current = result.map_err(io::Error::other)?;
        self.at = 0;
        Ok(())
    }
}

impl Read for FrameReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            if self.taken == self.frames {
                return Ok(0);
            }
            self.take_next()?;
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for FrameReader {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for FrameReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameReader")
            .field("frames", &self.frames)
            .field("taken", &self.taken)
            .finish_non_exhaustive()
    }
}

fn decode_thread(shared: &Shared, source: &Source) {
    let mut compressed = Vec::new();
    let mut decoder = zstd::bulk::Decompressor::new()
        .and_then(|mut d| d.window_log_max(source.window_log_max).map(|()| d))
        .map_err(|e| format!("cannot start the zstd decoder: {e}"));
    loop {
        let (index, mut buffer) = {
            let mut state = shared.lock();
            loop {
                if state.stop || state.next >= source.frames.len() {
                    return;
                }
                if state.next < state.limit {
                    break;
                }
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
            }
            let index = state.next;
            state.next += 1;
            (index, state.spare.pop().unwrap_or_default())
        };
        let result = match &mut decoder {
            Ok(decoder) => decode_frame(source, index, &mut compressed, decoder, &mut buffer),
            Err(e) => Err(e.clone()),
        }
        .map(|()| buffer);
        let failed = result.is_err();
        shared.lock().ready.insert(index, result);
        shared.changed.notify_all();
        if failed {
            // The reader stops at this frame; decoding further would be wasted.
            return;
        }
    }
}

/// Reads frame `index`, checks its SHA-256, and decodes it into `out`, which must end up
/// exactly the frame's listed size.
fn decode_frame(
    source: &Source,
    index: usize,
    compressed: &mut Vec<u8>,
    decoder: &mut zstd::bulk::Decompressor<'static>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let frame = &source.frames[index];
    let start = source.data_start + frame.offset;
    let place = || {
        format!(
            "{} is damaged: data frame {} of {} (bytes {start}..{})",
            source.shown,
            index + 1,
            source.frames.len(),
            start + frame.compressed_len
        )
    };
    compressed.resize(frame.compressed_len as usize, 0);
    source
        .file
        .read_exact_at(compressed, start)
        .map_err(|e| format!("cannot read {}: {e}", place()))?;
    if <[u8; 32]>::from(Sha256::digest(&compressed[..])) != frame.sha256 {
        return Err(format!("{} does not match the manifest's SHA-256", place()));
    }
    out.clear();
    out.reserve_exact(frame.uncompressed_len as usize);
    let decoded = decoder
        .decompress_to_buffer(&compressed[..], out)
        .map_err(|e| format!("{} does not decode: {e}", place()))?;
    if decoded as u64 != frame.uncompressed_len {
        return Err(format!(
            "{} decodes to {decoded} bytes, the manifest says {}",
            place(),
            frame.uncompressed_len
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A file of `prefix` junk bytes and then `data` cut into frames of `frame_len`; the specs.
    fn framed(
        data: &[u8],
        frame_len: usize,
        prefix: usize,
    ) -> (tempfile::NamedTempFile, Vec<FrameSpec>) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&vec![0x7f; prefix]).unwrap();
        let mut specs = Vec::new();
        let mut offset = 0;
        for piece in data.chunks(frame_len) {
            let compressed = zstd::bulk::compress(piece, 3).unwrap();
            file.write_all(&compressed).unwrap();
            specs.push(FrameSpec {
                offset,
                compressed_len: compressed.len() as u64,
                uncompressed_len: piece.len() as u64,
                sha256: Sha256::digest(&compressed).into(),
            });
            offset += compressed.len() as u64;
        }
        (file, specs)
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i * 7 % 251) as u8 ^ (i / 1000) as u8)
            .collect()
    }

    fn reader(
        file: &tempfile::NamedTempFile,
        prefix: u64,
        specs: Vec<FrameSpec>,
        threads: usize,
    ) -> FrameReader {
        FrameReader::start(
            file.reopen().unwrap(),
            prefix,
            specs,
            "installer \"t\"".into(),
            24,
            threads,
        )
    }

    #[test]
    fn frames_come_back_in_order_on_any_number_of_threads() {
        let data = data(1_000_003);
        let (file, specs) = framed(&data, 65_536, 123);
        for threads in [1, 2, 5, 64] {
            let mut reader = reader(&file, 123, specs.clone(), threads);
            let mut out = Vec::new();
            reader.read_to_end(&mut out).unwrap();
            assert_eq!(out, data, "{threads} threads");
            assert!(reader.at_end());
        }
    }

    #[test]
    fn a_changed_byte_is_caught_before_decoding_and_named() {
        let data = data(300_000);
        let (file, specs) = framed(&data, 100_000, 0);
        let at = specs[1].offset + specs[1].compressed_len / 2;
        let handle = file.reopen().unwrap();
        let mut byte = [0u8];
        handle.read_exact_at(&mut byte, at).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(file.path())
            .unwrap()
            .write_all_at(&[byte[0] ^ 1], at)
            .unwrap();
        let mut reader = reader(&file, 0, specs, 2);
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).unwrap_err().to_string();
        assert!(err.contains("data frame 2 of 3"), "{err}");
        assert!(
            err.contains("does not match the manifest's SHA-256"),
            "{err}"
        );
        // The first frame was whole and came out before the damage stopped the stream.
        assert_eq!(out, data[..100_000]);
    }

    #[test]
    fn a_frame_that_decodes_to_another_size_is_refused() {
        let data = data(200_000);
        let (file, mut specs) = framed(&data, 100_000, 0);
        specs[0].uncompressed_len += 1;
        let err = reader(&file, 0, specs.clone(), 2)
            .read_to_end(&mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("decodes to 100000 bytes, the manifest says 100001"),
            "{err}"
        );
        // Listed smaller than it is: zstd stops at the buffer's end, or the size check does.
        specs[0].uncompressed_len -= 2;
        let err = reader(&file, 0, specs, 2)
            .read_to_end(&mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("data frame 1 of 2"), "{err}");
    }

    #[test]
    fn dropping_a_reader_midway_stops_its_threads() {
        let data = data(2_000_000);
        let (file, specs) = framed(&data, 50_000, 0);
        let mut reader = reader(&file, 0, specs, 3);
        let mut some = [0u8; 10];
        reader.read_exact(&mut some).unwrap();
        drop(reader);
    }
}
