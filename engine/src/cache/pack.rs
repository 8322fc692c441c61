//! Action records packed into one file per build.
//!
//! A record per file made every cached action create a file, and on ext4 creating files is
//! what caching a small action costs (without a journal, each new inode also steps over the
//! ones deleted in the last minutes: half the system time of a cold `batuta analyze`). So a
//! build appends its records to one temporary file and, when the cache is flushed, seals
//! it with an index and renames it into `ac/packs/`. A build never changes a pack once
//! written; the newest record of a key wins; past [`MERGE_OVER`] packs, a flush merges them
//! into one; `cache gc` rewrites a pack without the records it evicts, under its own name.
//!
//! Each index entry says when its record was last used: when it was written, or when a
//! build last restored from it (a hit on a record not used for a while appends it again to
//! that build's pack, so packs stay write-once). Merges and gc keep these times, so
//! least-recently-used eviction is per record, not per pack.
//!
//! Layout: `BTPK0002`, then the sealed records back to back, then the index (per record: key,
//! offset, length, last use), then the footer: the index's offset, its count, its BLAKE3,
//! `BTPKEND2`. Each record keeps its own seal, so a damaged one is noticed when it is read; a
//! pack whose footer or index does not check out is ignored as a whole. A pack of the first
//! format (`BTPKEND1`, no last use) is not read: its records are misses, and gc removes it.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::digest::Digest;
use crate::fsutil::{self, Durability};

const MAGIC: &[u8; 8] = b"BTPK0002";
const END: &[u8; 8] = b"BTPKEND2";
/// The end tag of packs without last-use times.
const OLD_END: &[u8; 8] = b"BTPKEND1";
/// key, offset, length, last use.
pub const ENTRY: usize = 32 + 8 + 4 + 8;
/// index offset, count, index digest, end tag.
const FOOTER: usize = 8 + 4 + 32 + 8;
/// Past this many packs a flush merges them, so a lookup opens a bounded number of files.
pub const MERGE_OVER: usize = 16;

/// Where a record is in its pack, and when it was last used.
#[derive(Debug, Clone, Copy)]
struct At {
    offset: u64,
    len: u32,
    used: u64,
}

/// One record of a pack's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub key: Digest,
    pub offset: u64,
    pub len: u32,
    /// When the record was last written or restored from, in nanoseconds since 1970.
    pub used: u64,
}

/// The packs of a cache folder, read once, newest first: a key's record is the newest
/// pack's that has it.
#[derive(Debug, Default)]
pub struct Packs {
    packs: Vec<Arc<Pack>>,
    /// Packs that did not check out, and why: removed, to be reported.
    pub damaged: Vec<(PathBuf, String)>,
}

/// One pack's index, with the pack open.
#[derive(Debug)]
struct Pack {
    path: PathBuf,
    file: File,
    /// Device, inode and size. A pack is written once and renamed into place, and merges
    /// and gc write new files, so a file of the same identity holds the same index: the
    /// next build of the same process (`watch`) reads only the packs that are new.
    identity: (u64, u64, u64),
    index: HashMap<Digest, At>,
}

fn identity(m: &fs::Metadata) -> (u64, u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino(), m.len())
}

/// Why a pack's index cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A pack of the first format: not damage, just not read.
    #[error("a pack of an older format")]
    Old,
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Packs {
    /// The packs in `dir`, newest first, each index read unless `before` (an earlier load)
    /// holds the same file. A pack whose footer or index does not check out is removed (a
    /// pack is renamed into place whole, so that is damage, not a write in progress) and
    /// listed in `damaged`.
    pub fn load(dir: &Path, before: Option<&Packs>) -> Packs {
        let mut packs = Packs::default();
        for path in pack_files(dir) {
            let known = before.and_then(|b| {
                let p = b.packs.iter().find(|p| p.path == path)?;
                let now = fs::metadata(&path).ok()?;
                (identity(&now) == p.identity).then(|| p.clone())
            });
            if let Some(p) = known {
                packs.packs.push(p);
                continue;
            }
            match read_index(&path) {
                Ok((file, entries)) => {
                    let Ok(meta) = file.metadata() else { continue };
                    let mut index = HashMap::with_capacity(entries.len());
                    for e in entries {
                        index.insert(
                            e.key,
                            At {
                                offset: e.offset,
                                len: e.len,
                                used: e.used,
                            },
                        );
                    }
                    packs.packs.push(Arc::new(Pack {
                        path,
                        identity: identity(&meta),
                        file,
                        index,
                    }));
                }
                // Merged into a newer pack by another build since it was listed.
                Err(IndexError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {}
                Err(IndexError::Old) => {}
                Err(IndexError::Io(e)) => {
                    let _ = fs::remove_file(&path);
                    packs.damaged.push((path, e.to_string()));
                }
            }
        }
        packs
    }

    /// The sealed record of `key` and when it was last used, if a pack has it.
    pub fn get(&self, key: &Digest) -> io::Result<Option<(Vec<u8>, u64)>> {
        for p in &self.packs {
            if let Some(at) = p.index.get(key) {
                let mut bytes = vec![0; at.len as usize];
                p.file.read_exact_at(&mut bytes, at.offset)?;
                return Ok(Some((bytes, at.used)));
            }
        }
        Ok(None)
    }

    pub fn len(&self) -> usize {
        self.packs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packs.is_empty()
    }
}

/// `*.pack` in `dir`, newest first (names start with the time they were written).
pub fn pack_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pack"))
        .collect();
    files.sort_unstable_by(|a, b| b.cmp(a));
    files
}

fn bad(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_owned())
}

/// The records of the pack at `path`, in its index's order, and the open pack.
pub fn read_index(path: &Path) -> Result<(File, Vec<Entry>), IndexError> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if size < (MAGIC.len() + FOOTER) as u64 {
        return Err(bad("too short").into());
    }
    let mut footer = [0u8; FOOTER];
    file.read_exact_at(&mut footer, size - FOOTER as u64)?;
    let (offset, rest) = footer.split_at(8);
    let (count, rest) = rest.split_at(4);
    let (sum, end) = rest.split_at(32);
    if end == OLD_END {
        return Err(IndexError::Old);
    }
    let offset = u64::from_le_bytes(offset.try_into().expect("8 bytes"));
    let count = u32::from_le_bytes(count.try_into().expect("4 bytes")) as u64;
    let index_len = count * ENTRY as u64;
    if end != END || offset.checked_add(index_len) != Some(size - FOOTER as u64) {
        return Err(bad("footer damaged").into());
    }
    let mut index = vec![0u8; index_len as usize];
    file.read_exact_at(&mut index, offset)?;
    if blake3::hash(&index).as_bytes() != sum {
        return Err(bad("index damaged").into());
    }
    let entries = index
        .chunks_exact(ENTRY)
        .map(|e| Entry {
            key: Digest(e[..32].try_into().expect("32 bytes")),
            offset: u64::from_le_bytes(e[32..40].try_into().expect("8 bytes")),
            len: u32::from_le_bytes(e[40..44].try_into().expect("4 bytes")),
            used: u64::from_le_bytes(e[44..52].try_into().expect("8 bytes")),
        })
        .filter(|e| {
            e.offset
                .checked_add(u64::from(e.len))
                .is_some_and(|end| end <= offset)
        })
        .collect();
    Ok((file, entries))
}

/// Now, in nanoseconds since 1970: a record's last use.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The prefix of a pack being written: `.tmp-<nanoseconds when it was started>-`, so gc can
/// tell which blobs a build that is still running may have written.
pub const TEMP_PREFIX: &str = ".tmp-";

/// When the temporary pack called `name` was started, if it is one.
pub fn temp_started(name: &str) -> Option<u64> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    rest.get(..20)?.parse().ok()
}

/// The pack a build is writing: records appended as they come, sealed by [`Writer::finish`].
#[derive(Debug)]
pub struct Writer {
    file: tempfile::NamedTempFile,
    len: u64,
    /// Newest offset, length and last use per key.
    index: HashMap<Digest, (u64, u32, u64)>,
}

impl Writer {
    pub fn new(dir: &Path) -> io::Result<Writer> {
        fs::create_dir_all(dir)?;
        let prefix = format!("{TEMP_PREFIX}{:020}-", now_ns());
        let mut file = tempfile::Builder::new().prefix(&prefix).tempfile_in(dir)?;
        // Held while the pack is written: a temporary pack no one holds is a killed
        // build's, and goes (see `sweep_unsealed`).
        file.as_file().lock()?;
        file.write_all(MAGIC)?;
        Ok(Writer {
            file,
            len: MAGIC.len() as u64,
            index: HashMap::new(),
        })
    }

    /// Append a record used now.
    pub fn append(&mut self, key: Digest, sealed: &[u8]) -> io::Result<()> {
        self.append_used(key, sealed, now_ns())
    }

    /// Append a record last used at `used` (a copy of another pack's).
    pub fn append_used(&mut self, key: Digest, sealed: &[u8], used: u64) -> io::Result<()> {
        let len = u32::try_from(sealed.len()).map_err(|_| bad("record over 4 GiB"))?;
        self.file.write_all(sealed)?;
        self.index.insert(key, (self.len, len, used));
        self.len += u64::from(len);
        Ok(())
    }

    /// The record of `key` written by this build, if any.
    pub fn get(&self, key: &Digest) -> io::Result<Option<Vec<u8>>> {
        let Some(&(offset, len, _)) = self.index.get(key) else {
            return Ok(None);
        };
        let mut bytes = vec![0; len as usize];
        self.file.as_file().read_exact_at(&mut bytes, offset)?;
        Ok(Some(bytes))
    }

    /// Write the index and footer, make the pack durable and give it its name in `dir`.
    pub fn finish(self, dir: &Path) -> io::Result<()> {
        self.finish_as(&dir.join(new_name()))
    }

    /// Write the index and footer, make the pack durable and put it at `path` (replacing
    /// what is there). A pack without records is not written.
    pub fn finish_as(mut self, path: &Path) -> io::Result<()> {
        if self.index.is_empty() {
            return Ok(());
        }
        let mut entries: Vec<(&Digest, &(u64, u32, u64))> = self.index.iter().collect();
        entries.sort_unstable_by_key(|(_, (offset, _, _))| *offset);
        let mut index = Vec::with_capacity(entries.len() * ENTRY);
        for (key, (offset, len, used)) in entries {
            index.extend_from_slice(&key.0);
            index.extend_from_slice(&offset.to_le_bytes());
            index.extend_from_slice(&len.to_le_bytes());
            index.extend_from_slice(&used.to_le_bytes());
        }
        let mut footer = Vec::with_capacity(FOOTER);
        footer.extend_from_slice(&self.len.to_le_bytes());
        footer.extend_from_slice(&(self.index.len() as u32).to_le_bytes());
        footer.extend_from_slice(blake3::hash(&index).as_bytes());
        footer.extend_from_slice(END);
        self.file.write_all(&index)?;
        self.file.write_all(&footer)?;
        fsutil::persist(self.file, path, Durability::Now)
    }
}

/// A writer locks its pack within microseconds of making it: one younger than this may be
/// a writer's that has not locked it yet.
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether the temporary pack at `path` is still being written: its writer holds its lock,
/// or it is too new to tell. A killed build's is not.
pub fn being_written(path: &Path) -> bool {
    let Ok(f) = File::open(path) else {
        return false;
    };
    let young = f
        .metadata()
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().unwrap_or_default() < LOCK_GRACE);
    young || matches!(f.try_lock(), Err(fs::TryLockError::WouldBlock))
}

/// Remove the temporary packs of `dir` that no build is writing: a killed build's records,
/// never sealed. (Its outputs are still found up to date through the journal, which kept
/// each finished action as it ended.) Returns how many went.
pub fn sweep_unsealed(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
        .filter(|e| !being_written(&e.path()) && fs::remove_file(e.path()).is_ok())
        .count()
}

/// A name that sorts by time: `<nanoseconds since 1970>-<pid>-<n>.pack`.
fn new_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{nanos:020}-{}-{}.pack",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Merge the packs of `dir` into one when there are more than [`MERGE_OVER`]: each key's
/// newest record, copied as it is (its seal goes with it). The merged packs are removed.
pub fn merge_if_many(dir: &Path) -> io::Result<()> {
    if pack_files(dir).len() <= MERGE_OVER {
        return Ok(());
    }
    let packs = Packs::load(dir, None);
    // Each key's newest record: (pack, where), the oldest pack first so newer ones win.
    let mut newest: HashMap<&Digest, (usize, &At)> = HashMap::new();
    for (n, p) in packs.packs.iter().enumerate().rev() {
        for (key, at) in &p.index {
            newest.insert(key, (n, at));
        }
    }
    let mut w = Writer::new(dir)?;
    let mut keys: Vec<(&Digest, (usize, &At))> = newest.into_iter().collect();
    // Oldest pack first, in file order: the merged pack reads like the ones it replaces.
    keys.sort_unstable_by_key(|(_, (n, at))| (std::cmp::Reverse(*n), at.offset));
    for (key, (n, at)) in keys {
        let mut bytes = vec![0; at.len as usize];
        packs.packs[n].file.read_exact_at(&mut bytes, at.offset)?;
        w.append_used(*key, &bytes, at.used)?;
    }
    w.finish(dir)?;
    for p in &packs.packs {
        let _ = fs::remove_file(&p.path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> Digest {
        Digest::of(&i.to_le_bytes())
    }

    #[test]
    fn records_round_trip_and_the_newest_wins() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::new(dir.path()).unwrap();
        w.append(key(1), b"one").unwrap();
        w.append(key(2), b"two").unwrap();
        w.append(key(1), b"one again").unwrap();
        assert_eq!(w.get(&key(1)).unwrap().unwrap(), b"one again");
        w.finish(dir.path()).unwrap();
        let mut w = Writer::new(dir.path()).unwrap();
        w.append(key(2), b"two, later").unwrap();
        w.finish(dir.path()).unwrap();
        let packs = Packs::load(dir.path(), None);
        assert_eq!(packs.len(), 2);
        assert_eq!(packs.get(&key(1)).unwrap().unwrap().0, b"one again");
        assert_eq!(packs.get(&key(2)).unwrap().unwrap().0, b"two, later");
        assert!(packs.get(&key(3)).unwrap().is_none());
    }

    #[test]
    fn a_later_load_reads_only_the_packs_that_are_new() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::new(dir.path()).unwrap();
        w.append(key(1), b"one").unwrap();
        w.finish(dir.path()).unwrap();
        let first = Packs::load(dir.path(), None);
        let mut w = Writer::new(dir.path()).unwrap();
        w.append(key(2), b"two").unwrap();
        w.finish(dir.path()).unwrap();
        let second = Packs::load(dir.path(), Some(&first));
        assert_eq!(second.len(), 2);
        assert!(Arc::ptr_eq(&second.packs[1], &first.packs[0]), "kept");
        assert_eq!(second.get(&key(2)).unwrap().unwrap().0, b"two");
        // A pack rewritten under its own name (as gc does) is a new file: read again.
        let old = first.packs[0].path.clone();
        let mut w = Writer::new(dir.path()).unwrap();
        w.append(key(1), b"one, rewritten").unwrap();
        w.finish_as(&old).unwrap();
        let third = Packs::load(dir.path(), Some(&second));
        assert!(
            !Arc::ptr_eq(&third.packs[1], &second.packs[1]),
            "read again"
        );
        assert!(Arc::ptr_eq(&third.packs[0], &second.packs[0]), "kept");
        assert_eq!(third.get(&key(1)).unwrap().unwrap().0, b"one, rewritten");
    }

    #[test]
    fn a_damaged_or_unfinished_pack_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::new(dir.path()).unwrap();
        w.append(key(1), b"one").unwrap();
        w.finish(dir.path()).unwrap();
        let mut unfinished = Writer::new(dir.path()).unwrap();
        unfinished.append(key(2), b"two").unwrap();
        let path = pack_files(dir.path()).remove(0);
        let mut bytes = fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - FOOTER - 1] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let packs = Packs::load(dir.path(), None);
        assert_eq!(packs.len(), 0);
        assert_eq!(packs.damaged[0].1, "index damaged");
        assert!(!path.exists(), "removed");
        bytes.truncate(n - 3);
        fs::write(&path, &bytes).unwrap();
        assert_eq!(Packs::load(dir.path(), None).damaged[0].1, "footer damaged");
        assert!(
            Packs::load(dir.path(), None).damaged.is_empty(),
            "reported once"
        );
        drop(unfinished);
    }

    #[test]
    fn an_unsealed_pack_goes_once_its_writer_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::new(dir.path()).unwrap();
        w.append(key(1), b"one").unwrap();
        assert_eq!(sweep_unsealed(dir.path()), 0, "still being written");
        // A killed build: the file stays, its lock goes with the process.
        let (file, path) = w.file.keep().unwrap();
        drop(file);
        assert!(path.exists());
        assert_eq!(sweep_unsealed(dir.path()), 0, "too new to tell");
        let old = std::time::SystemTime::now() - 2 * LOCK_GRACE;
        File::options()
            .append(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(sweep_unsealed(dir.path()), 1);
        assert!(!path.exists());
    }

    #[test]
    fn last_use_is_kept_by_a_merge_and_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..=MERGE_OVER as u64 {
            let mut w = Writer::new(dir.path()).unwrap();
            w.append_used(key(i as u32), b"r", 1000 + i).unwrap();
            w.finish(dir.path()).unwrap();
        }
        merge_if_many(dir.path()).unwrap();
        let merged = pack_files(dir.path()).remove(0);
        let (_, entries) = read_index(&merged).unwrap();
        let mut used: Vec<u64> = entries.iter().map(|e| e.used).collect();
        used.sort_unstable();
        assert_eq!(used, (1000..=1000 + MERGE_OVER as u64).collect::<Vec<_>>());
        let mut w = Writer::new(dir.path()).unwrap();
        w.append_used(key(0), b"r", 1000).unwrap();
        w.finish_as(&merged).unwrap();
        let (_, entries) = read_index(&merged).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].key, entries[0].used), (key(0), 1000));
    }

    #[test]
    fn a_pack_of_the_first_format_is_not_read_and_not_damage() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::new(dir.path()).unwrap();
        w.append(key(1), b"one").unwrap();
        w.finish(dir.path()).unwrap();
        let path = pack_files(dir.path()).remove(0);
        let mut bytes = fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 8..].copy_from_slice(OLD_END);
        fs::write(&path, &bytes).unwrap();
        let packs = Packs::load(dir.path(), None);
        assert!(packs.get(&key(1)).unwrap().is_none());
        assert!(packs.damaged.is_empty());
        assert!(path.exists(), "left for gc");
        assert!(matches!(read_index(&path), Err(IndexError::Old)));
    }

    #[test]
    fn a_pack_being_written_says_when_it_was_started() {
        let dir = tempfile::tempdir().unwrap();
        let before = now_ns();
        let w = Writer::new(dir.path()).unwrap();
        let name = w
            .file
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let started = temp_started(&name).unwrap();
        assert!(started >= before && started <= now_ns(), "{name}");
        assert_eq!(temp_started(".tmp-x"), None);
    }

    #[test]
    fn many_packs_merge_into_one() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..=MERGE_OVER as u32 {
            let mut w = Writer::new(dir.path()).unwrap();
            w.append(key(i), format!("r{i}").as_bytes()).unwrap();
            w.append(key(1000), format!("newest is {i}").as_bytes())
                .unwrap();
            w.finish(dir.path()).unwrap();
        }
        assert_eq!(Packs::load(dir.path(), None).len(), MERGE_OVER + 1);
        merge_if_many(dir.path()).unwrap();
        let packs = Packs::load(dir.path(), None);
        assert_eq!(packs.len(), 1);
        for i in 0..=MERGE_OVER as u32 {
            assert_eq!(
                packs.get(&key(i)).unwrap().unwrap().0,
                format!("r{i}").as_bytes()
            );
        }
        assert_eq!(
            packs.get(&key(1000)).unwrap().unwrap().0,
            format!("newest is {MERGE_OVER}").as_bytes()
        );
    }
}
