//! The database on disk, `.batuta/db/<selection>`: salsa's own serialization of the
//! persisted inputs and queries (the `persistence` feature), with what the database needs
//! besides (the tool answers of `crate::probe`, the tree's [`Shape`], the folder listings
//! of `crate::graph::listing`).
//!
//! Layout: `BTDB0001`, 32 bytes naming the batuta binary that wrote it, the payload's
//! length and BLAKE3, the payload (postcard). Salsa numbers its ingredients in the order
//! the binary registers them, so a file written by another build of batuta is not read:
//! the binary is named by its version and its executable's size, mtime and inode. A file
//! that is damaged, foreign or fails to load is discarded with one warning, and the
//! database starts empty: a slower build, never a wrong one. Written atomically
//! (temporary file, fsync, rename), so a kill leaves the old file or the new one.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Database;
use super::shape::Shape;
use crate::fsutil;
use crate::probe;

const MAGIC: &[u8; 8] = b"BTDB0001";

/// What is kept besides salsa's part.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Extra {
    pub probes: probe::Memo,
    pub shape: Shape,
    /// The listings of the folders the last expansion walked (shared with the database).
    pub listings: std::sync::Arc<crate::graph::listing::Listings>,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    salsa: Vec<u8>,
    extra: Extra,
}

/// This binary, as files name it: its version and its executable's identity.
fn binary() -> [u8; 32] {
    static ID: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    *ID.get_or_init(|| {
        let mut h = blake3::Hasher::new();
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        if let Ok(meta) = std::env::current_exe().and_then(std::fs::metadata) {
            let s = crate::digest::Stamp::of(&meta);
            h.update(&s.size.to_le_bytes());
            h.update(&s.mtime_ns.to_le_bytes());
            h.update(&s.inode.to_le_bytes());
        }
        *h.finalize().as_bytes()
    })
}

/// `payload` framed as batuta's files under `.batuta/db/` are: `magic`, this binary's
/// name, the payload's length and BLAKE3, the payload.
pub(super) fn seal(magic: &[u8; 8], payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(magic.len() + 32 + 8 + 32 + payload.len());
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(&binary());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(blake3::hash(payload).as_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// The payload [`seal`] framed, or why it cannot be trusted.
pub(super) fn unseal<'a>(magic: &[u8; 8], bytes: &'a [u8]) -> Result<&'a [u8], &'static str> {
    let rest = bytes
        .strip_prefix(magic.as_slice())
        .ok_or("not a batuta database, or from another version")?;
    let (id, rest) = rest.split_at_checked(32).ok_or("damaged")?;
    if id != binary() {
        return Err("from another build of batuta");
    }
    let (len, rest) = rest.split_at_checked(8).ok_or("damaged")?;
    let (sum, payload) = rest.split_at_checked(32).ok_or("damaged")?;
    let len = u64::from_le_bytes(len.try_into().expect("8 bytes"));
    if payload.len() as u64 != len || blake3::hash(payload).as_bytes() != sum {
        return Err("damaged");
    }
    Ok(payload)
}

/// Fill `db` (new and empty) from the file at `path`. `Ok(None)` when there is no file;
/// `Err` says why a file was not used, and leaves `db` for the caller to replace.
pub fn load(path: &Path, db: &mut Database) -> Result<Option<Extra>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let damaged = |why: &str| format!("{} is {why}; it was discarded", path.display());
    let payload = unseal(MAGIC, &bytes).map_err(damaged)?;
    let payload: Payload = postcard::from_bytes(payload).map_err(|_| damaged("damaged"))?;
    // Sealed and from this binary, it loads; should salsa still refuse it, the caller
    // starts afresh rather than trust a half-filled database.
    let loaded = catch_unwind(AssertUnwindSafe(|| {
        <dyn salsa::Database>::deserialize(
            db,
            &mut postcard::Deserializer::from_bytes(&payload.salsa),
        )
    }));
    match loaded {
        Ok(Ok(())) => Ok(Some(payload.extra)),
        _ => Err(damaged("not loadable")),
    }
}

/// Write `db` and `extra` to `path`, atomically.
pub fn save(path: &Path, db: &mut Database, extra: &Extra) -> io::Result<()> {
    let salsa =
        postcard::to_stdvec(&<dyn salsa::Database>::as_serialize(db)).map_err(io::Error::other)?;
    let payload = postcard::to_stdvec(&PayloadRef {
        salsa: &salsa,
        extra,
    })
    .map_err(io::Error::other)?;
    fsutil::write_atomic(path, &seal(MAGIC, &payload))
}

/// [`Payload`] as written, without copying the database's bytes.
#[derive(Serialize)]
struct PayloadRef<'a> {
    salsa: &'a [u8],
    extra: &'a Extra,
}
