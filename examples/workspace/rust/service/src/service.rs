//! legacy/service/service.py, ported by hand.

use std::io::{BufRead, Write};

// codec.c is still C: the codec crate's build script compiles and links it.
extern crate codec;

unsafe extern "C" {
    fn codec_checksum(data: *const u8, len: usize) -> u32;
}

/// One record, signed with the library's checksum.
pub fn sign(record: &[u8]) -> String {
    // SAFETY: codec_checksum reads exactly `len` bytes of `data`.
    let sum = unsafe { codec_checksum(record.as_ptr(), record.len()) };
    format!("{sum:08x} {}", String::from_utf8_lossy(record))
}

pub fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().split(b'\n') {
        let record = line.expect("stdin");
        if !record.is_empty() {
            writeln!(out, "{}", sign(&record)).expect("stdout");
        }
    }
}
