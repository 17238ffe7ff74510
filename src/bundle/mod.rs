//! What gets installed, and reading it safely: the product, its statements and its payload
//! entries (`contents`, `entry`), the demo product built into the program (`embedded`), and a
//! packed installer's parts: the trailer at its end (`trailer`), the manifest (`manifest`),
//! the compressed data (`packed`), decoded frame by frame on every core (`frames`), and the signature and trust rules (`signing`).
//!
//! Read-only: a bundle is opened, checked and streamed, never written here (writing an
//! installer or a key is `pack`'s). May use: `consent` and `base`. Must never use the engine,
//! maintenance or a front end; the engine calls in, and gets its fault points from its own
//! side.

pub mod contents;
mod embedded;
pub mod entry;
pub mod frames;
pub mod manifest;
pub mod packed;
pub mod signing;
pub mod trailer;
