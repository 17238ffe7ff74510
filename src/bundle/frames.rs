//! Decoding a packed installer's data on every core. Its independent zstd frames are read in
//! two ways:
//!
//! - [`FrameStream`]: one frame, streamed, for an install, where each thread decodes a frame
//!   of its own and writes the files in it straight away ([`FrameLayout`] says which bytes of
//!   which files a frame holds). Nothing waits for another frame, and a thread holds only
//!   zstd's window and a small buffer. The frame's SHA-256 and size are checked at its end,
//!   before anything it held is committed.
//! - [`FrameReader`]: the whole data as one stream in order, for `verify` and for packing from
//!   a packed installer: a few threads decode frames ahead of the reader. A frame's compressed
//!   bytes are hashed before zstd sees them, so the decoder only works on bytes the manifest
//!   vouches for. Memory is bounded whatever the payload's size: the reader's frame and at
//!   most [`FrameReader::ahead`] more are in memory, each at most
//!   [`MAX_FRAME_LEN`](crate::bundle::manifest::MAX_FRAME_LEN), and their buffers are reused.
//!
//! Either way, what a frame decodes to must be exactly the size the manifest lists.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
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

/// A frame whose bytes are not the ones the manifest lists: the installer is damaged. Kept
/// apart from other errors so a run can name the frame rather than a file the damage spoilt.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FrameDamaged(pub String);

impl FrameDamaged {
    fn io(message: String) -> io::Error {
        io::Error::other(FrameDamaged(message))
    }

    /// Whether `error`, or what caused it, is a damaged frame.
    pub fn is_in(error: &anyhow::Error) -> bool {
        error.chain().any(|cause| {
            cause.is::<FrameDamaged>()
                || cause
                    .downcast_ref::<io::Error>()
                    .and_then(|e| e.get_ref())
                    .is_some_and(|inner| inner.is::<FrameDamaged>())
        })
    }
}

/// Where in the decoded data a frame's bytes go: one piece of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// The file entry's index in the bundle.
    pub entry: usize,
    /// Where the piece starts in the file.
    pub at: u64,
    pub len: u64,
    /// The whole file is in this frame: the piece is all of it.
    pub whole: bool,
}

/// Which pieces of which files each frame holds, from the files' sizes in data order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameLayout {
    /// By frame, in order.
    pub segments: Vec<Vec<Segment>>,
    /// Files cut by a frame boundary, with how many pieces each has.
    pub spanning: BTreeMap<usize, usize>,
    /// Files of no bytes: in no frame.
    pub empty: Vec<usize>,
}

impl FrameLayout {
    /// `files` are (entry index, size) in data order; their sizes must add up to the frames'.
    pub fn new(frames: &[FrameSpec], files: impl IntoIterator<Item = (usize, u64)>) -> FrameLayout {
        let mut segments: Vec<Vec<Segment>> = vec![Vec::new(); frames.len()];
        let mut spanning = BTreeMap::new();
        let mut empty = Vec::new();
        // The frame the next byte is in, and where that frame starts in the decoded data.
        let (mut frame, mut frame_start) = (0usize, 0u64);
        let mut at_data = 0u64;
        for (entry, size) in files {
            if size == 0 {
                empty.push(entry);
                continue;
            }
            let mut done = 0u64;
            let mut pieces = 0;
            while done < size && frame < frames.len() {
                let frame_end = frame_start + frames[frame].uncompressed_len;
                let len = (size - done).min(frame_end - at_data);
                segments[frame].push(Segment {
                    entry,
                    at: done,
                    len,
                    whole: len == size,
                });
                pieces += 1;
                done += len;
                at_data += len;
                if at_data == frame_end {
                    frame += 1;
                    frame_start = frame_end;
                }
            }
            if pieces > 1 {
                spanning.insert(entry, pieces);
            }
        }
        FrameLayout {
            segments,
            spanning,
            empty,
        }
    }
}

/// Reads `len` bytes of a file from `at`, hashing every byte it hands out.
struct HashingAt<'f> {
    file: &'f File,
    at: u64,
    end: u64,
    hasher: Sha256,
}

impl Read for HashingAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.at) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.at)?;
        self.hasher.update(&buf[..n]);
        self.at += n as u64;
        Ok(n)
    }
}

/// One frame, decoded as it is read: exactly the frame's listed bytes, then
/// [`FrameStream::finish`] checks its SHA-256 and that nothing follows.
pub struct FrameStream<'f> {
    decoder: zstd::stream::read::Decoder<'static, BufReader<HashingAt<'f>>>,
    spec: FrameSpec,
    left: u64,
    /// "installer \"/path\" is damaged: data frame 2 of 3 (bytes a..b)", for messages.
    place: String,
}

impl<'f> FrameStream<'f> {
    /// Frame `index` (of `count`) of `file`, whose data starts at `data_start`.
    pub fn open(
        file: &'f File,
        data_start: u64,
        spec: FrameSpec,
        index: usize,
        count: usize,
        shown: &str,
        window_log_max: u32,
    ) -> io::Result<FrameStream<'f>> {
        let start = data_start + spec.offset;
        let place = format!(
            "{shown} is damaged: data frame {} of {count} (bytes {start}..{})",
            index + 1,
            start + spec.compressed_len
        );
        let source = HashingAt {
            file,
            at: start,
            end: start + spec.compressed_len,
            hasher: Sha256::new(),
        };
        let mut decoder =
            zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(128 << 10, source))?
                .single_frame();
        decoder.window_log_max(window_log_max)?;
        Ok(FrameStream {
            decoder,
            spec,
            left: spec.uncompressed_len,
            place,
        })
    }

    /// Checks, after its last byte was read, that the frame ends there and its compressed
    /// bytes are the ones the manifest lists.
    pub fn finish(mut self) -> io::Result<()> {
        if self.left != 0 {
            return Err(FrameDamaged::io(format!(
                "{}: {} of its bytes were not read",
                self.place, self.left
            )));
        }
        let mut more = [0u8; 1];
        if self.decoder.read(&mut more).map_err(|e| self.damaged(e))? != 0 {
            return Err(FrameDamaged::io(format!(
                "{} decodes to more than the {} bytes the manifest says",
                self.place, self.spec.uncompressed_len
            )));
        }
        let place = self.place;
        let mut rest = self.decoder.finish();
        io::copy(&mut rest, &mut io::sink())
            .map_err(|e| io::Error::other(format!("cannot read {place}: {e}")))?;
        let source = rest.into_inner();
        if source.at != source.end || <[u8; 32]>::from(source.hasher.finalize()) != self.spec.sha256
        {
            return Err(FrameDamaged::io(format!(
                "{place} does not match the manifest's SHA-256"
            )));
        }
        Ok(())
    }

    fn damaged(&self, e: io::Error) -> io::Error {
        FrameDamaged::io(format!("{} does not decode: {e}", self.place))
    }
}

impl std::fmt::Debug for FrameStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameStream")
            .field("place", &self.place)
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}

impl Read for FrameStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min(self.left.try_into().unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self
            .decoder
            .read(&mut buf[..want])
            .map_err(|e| self.damaged(e))?;
        if n == 0 {
            return Err(FrameDamaged::io(format!(
                "{} decodes to {} bytes, the manifest says {}",
                self.place,
                self.spec.uncompressed_len - self.left,
                self.spec.uncompressed_len
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
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
    fn a_layout_cuts_files_at_frame_boundaries() {
        let spec = |uncompressed_len| FrameSpec {
            offset: 0,
            compressed_len: 1,
            uncompressed_len,
            sha256: [0; 32],
        };
        // Frames of 10, 10 and 5 bytes; files of 4, 0, 12 (over the first boundary), 9.
        let layout = FrameLayout::new(
            &[spec(10), spec(10), spec(5)],
            [(7, 4), (8, 0), (9, 12), (3, 9)],
        );
        let seg = |entry, at, len, whole| Segment {
            entry,
            at,
            len,
            whole,
        };
        assert_eq!(
            layout.segments,
            vec![
                vec![seg(7, 0, 4, true), seg(9, 0, 6, false)],
                vec![seg(9, 6, 6, false), seg(3, 0, 4, false)],
                vec![seg(3, 4, 5, false)],
            ]
        );
        assert_eq!(layout.spanning, BTreeMap::from([(9, 2), (3, 2)]));
        assert_eq!(layout.empty, vec![8]);
    }

    #[test]
    fn a_stream_gives_one_frame_and_checks_it_at_its_end() {
        let data = data(300_000);
        let (file, specs) = framed(&data, 100_000, 17);
        let handle = file.reopen().unwrap();
        let open = |spec, index| {
            FrameStream::open(&handle, 17, spec, index, 3, "installer \"t\"", 24).unwrap()
        };
        let mut out = Vec::new();
        let mut stream = open(specs[1], 1);
        stream.read_to_end(&mut out).unwrap();
        stream.finish().unwrap();
        assert_eq!(out, data[100_000..200_000]);

        // Its listed hash is not its bytes'.
        let mut wrong = specs[2];
        wrong.sha256[0] ^= 1;
        let mut stream = open(wrong, 2);
        stream.read_to_end(&mut Vec::new()).unwrap();
        let err = stream.finish().unwrap_err().to_string();
        assert!(err.contains("data frame 3 of 3"), "{err}");
        assert!(
            err.contains("does not match the manifest's SHA-256"),
            "{err}"
        );

        // Listed shorter or longer than it decodes to.
        let mut short = specs[0];
        short.uncompressed_len -= 1;
        let mut stream = open(short, 0);
        stream.read_to_end(&mut Vec::new()).unwrap();
        let err = stream.finish().unwrap_err().to_string();
        assert!(err.contains("decodes to more than"), "{err}");
        let mut long = specs[0];
        long.uncompressed_len += 1;
        let err = open(long, 0)
            .read_to_end(&mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("decodes to 100000 bytes, the manifest says 100001"),
            "{err}"
        );
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
