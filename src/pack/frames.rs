//! Compressing the data as independent zstd frames on every core: what is written is cut into
//! pieces of [`FRAME_LEN`] bytes, each compressed on its own by one of a few threads, and the
//! frames are written in order, each hashed for the manifest.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use crate::bundle::manifest::{FRAME_LEN, Frame};

/// A compressed frame, or why not, by its place in the data.
type Compressed = (usize, io::Result<(Vec<u8>, u64)>);
/// What the writer thread gives back: the output and the frames it wrote, in order.
type Written<W> = io::Result<(W, Vec<Frame>)>;

/// A [`Write`] that compresses into frames on several threads and writes them to `W` in order.
pub struct FrameWriter<W: Write + Send + 'static> {
    frame_len: usize,
    buffer: Vec<u8>,
    next: usize,
    pieces: Option<SyncSender<(usize, Vec<u8>)>>,
    spare: Receiver<Vec<u8>>,
    workers: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<Written<W>>>,
}

impl<W: Write + Send + 'static> FrameWriter<W> {
    /// Frames of [`FRAME_LEN`] compressed at `level` on `threads` threads into `out`.
    pub fn new(out: W, level: i32, threads: usize) -> FrameWriter<W> {
        Self::with_frame_len(out, level, threads, FRAME_LEN as usize)
    }

    fn with_frame_len(out: W, level: i32, threads: usize, frame_len: usize) -> FrameWriter<W> {
        let threads = threads.max(1);
        // One piece waiting per thread at most: memory stays a few frames whatever the size.
        let (pieces_tx, pieces_rx) = sync_channel::<(usize, Vec<u8>)>(1);
        let pieces_rx = Arc::new(Mutex::new(pieces_rx));
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Compressed>();
        let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let workers = (0..threads)
            .map(|_| {
                let pieces = Arc::clone(&pieces_rx);
                let done = done_tx.clone();
                let spare = spare_tx.clone();
                std::thread::spawn(move || compress_thread(level, &pieces, &done, &spare))
            })
            .collect();
        drop(done_tx);
        let writer = std::thread::spawn(move || write_in_order(out, &done_rx));
        FrameWriter {
            frame_len,
            buffer: Vec::with_capacity(frame_len),
            next: 0,
            pieces: Some(pieces_tx),
            spare: spare_rx,
            workers,
            writer: Some(writer),
        }
    }

    /// Hands the full buffer to the compressors.
    fn send_piece(&mut self) -> io::Result<()> {
        let fresh = self
            .spare
            .try_recv()
            .map(|mut b| {
                b.clear();
                b
            })
            .unwrap_or_else(|_| Vec::with_capacity(self.frame_len));
        let piece = std::mem::replace(&mut self.buffer, fresh);
        let sent = self
            .pieces
            .as_ref()
            .map(|tx| tx.send((self.next, piece)).is_ok())
            .unwrap_or(false);
        self.next += 1;
        if !sent {
            // The writer stopped on an error: that error says why.
            return Err(self
                .stop()
                .err()
                .unwrap_or_else(|| io::Error::other("the frame compressors stopped")));
        }
        Ok(())
    }

    /// Stops the threads and returns what the writer returned.
    fn stop(&mut self) -> Written<W> {
        self.pieces.take();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        match self.writer.take() {
            Some(writer) => writer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the frame writer panicked"))),
            None => Err(io::Error::other("the frame writer already stopped")),
        }
    }

    /// Compresses what is left, waits for every frame to be written, and returns the output
    /// and the frames in order.
    pub fn finish(mut self) -> Written<W> {
        if !self.buffer.is_empty() {
            self.send_piece()?;
        }
        self.stop()
    }
}

impl<W: Write + Send + 'static> Write for FrameWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.frame_len - self.buffer.len();
        let n = buf.len().min(room);
        self.buffer.extend_from_slice(&buf[..n]);
        if self.buffer.len() == self.frame_len {
            self.send_piece()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write + Send + 'static> Drop for FrameWriter<W> {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.stop();
        }
    }
}

fn compress_thread(
    level: i32,
    pieces: &Mutex<Receiver<(usize, Vec<u8>)>>,
    done: &std::sync::mpsc::Sender<Compressed>,
    spare: &std::sync::mpsc::Sender<Vec<u8>>,
) {
    let mut compressor = zstd::bulk::Compressor::new(level);
    loop {
        let piece = pieces.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok((index, piece)) = piece else { return };
        let result = match &mut compressor {
            Ok(compressor) => compressor
                .compress(&piece)
                .map(|frame| (frame, piece.len() as u64)),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        };
        let _ = spare.send(piece);
        if done.send((index, result)).is_err() {
            return;
        }
    }
}

/// Writes frames in their order as they arrive, each hashed and listed.
fn write_in_order<W: Write>(
    mut out: W,
    done: &Receiver<Compressed>,
) -> io::Result<(W, Vec<Frame>)> {
    let mut waiting: BTreeMap<usize, (Vec<u8>, u64)> = BTreeMap::new();
    let mut frames = Vec::new();
    let mut offset = 0u64;
    for (index, result) in done {
        waiting.insert(index, result?);
        while let Some((frame, uncompressed_len)) = waiting.remove(&frames.len()) {
            out.write_all(&frame)?;
            frames.push(Frame {
                offset,
                compressed_len: frame.len() as u64,
                uncompressed_len,
                sha256: hex::encode(Sha256::digest(&frame)),
            });
            offset += frame.len() as u64;
        }
    }
    if !waiting.is_empty() {
        return Err(io::Error::other(
            "a frame was lost between the compressors and the writer",
        ));
    }
    Ok((out, frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_decode_to_what_was_written_in_order() {
        let data: Vec<u8> = (0..1_000_000u32)
            .map(|i| (i % 253) as u8 ^ (i >> 13) as u8)
            .collect();
        let mut writer = FrameWriter::with_frame_len(Vec::new(), 3, 3, 65_536);
        for piece in data.chunks(7_777) {
            writer.write_all(piece).unwrap();
        }
        let (out, frames) = writer.finish().unwrap();
        assert_eq!(frames.len(), data.len().div_ceil(65_536));
        let mut decoded = Vec::new();
        for frame in &frames {
            let bytes = &out[frame.offset as usize..(frame.offset + frame.compressed_len) as usize];
            assert_eq!(hex::encode(Sha256::digest(bytes)), frame.sha256);
            let piece = zstd::bulk::decompress(bytes, frame.uncompressed_len as usize).unwrap();
            assert_eq!(piece.len() as u64, frame.uncompressed_len);
            decoded.extend_from_slice(&piece);
        }
        assert_eq!(decoded, data);
        let last = frames.last().unwrap();
        assert_eq!(last.offset + last.compressed_len, out.len() as u64);
    }

    #[test]
    fn nothing_written_is_no_frames() {
        let (out, frames) = FrameWriter::new(Vec::new(), 19, 2).finish().unwrap();
        assert!(out.is_empty() && frames.is_empty());
    }

    #[test]
    fn a_failing_output_is_reported() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "no space left"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut writer = FrameWriter::with_frame_len(Full, 1, 2, 1024);
        let result = (0..100).try_for_each(|_| writer.write_all(&[7u8; 1000]));
        let err = match result {
            Err(e) => e,
            Ok(()) => writer.finish().err().expect("the full disk is reported"),
        };
        assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
    }
}
