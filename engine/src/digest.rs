//! Content digests (BLAKE3) and the stat cache that lets a no-op build hash nothing.
//!
//! Like git's index, a file whose (size, mtime, ctime, inode) match what was recorded is
//! trusted to have the recorded digest; only files whose metadata changed are read.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

/// A BLAKE3 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }

    pub fn from_hex(s: &str) -> Option<Digest> {
        blake3::Hash::from_hex(s)
            .ok()
            .map(|h| Digest(*h.as_bytes()))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", &self.to_hex()[..12])
    }
}

/// How much of a file one read takes: large enough for BLAKE3's threads to share a chunk.
const CHUNK: usize = 1 << 20;
/// Chunks at least this large are hashed on several threads.
const PARALLEL_MIN: usize = 128 * 1024;

/// A file that changed while it was being read: its digest is of no content it ever had
/// whole, so it is not used, and the next build hashes the file again.
#[derive(Debug, thiserror::Error)]
#[error("it changed while batuta read it to hash it ({what}); it is read again at the next build")]
pub struct ChangedWhileHashed {
    what: String,
}

/// The BLAKE3 digest of a file's content, read in chunks. A file that changes while it is
/// read is an error ([`ChangedWhileHashed`], inside the `io::Error`). Reading, unlike a
/// memory map, cannot be killed by SIGBUS when another process truncates the file.
pub fn hash_file(path: &Path) -> io::Result<Digest> {
    let file = crate::fsutil::open_regular(path)?;
    let before = file.metadata()?;
    hash_stream(&file, &before, || file.metadata())
}

/// Hash what `reader` yields: the content of a file whose metadata was `before` when it was
/// opened and is `after()` once read. A size, modification time or change time that moved,
/// or a byte count that is not the size, means the file changed under the read.
fn hash_stream(
    reader: impl Read,
    before: &std::fs::Metadata,
    after: impl FnOnce() -> io::Result<std::fs::Metadata>,
) -> io::Result<Digest> {
    let expected = before.len();
    // One byte more than the size at most: a file that keeps growing is not read forever.
    let mut reader = reader.take(expected.saturating_add(1));
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0; CHUNK.min(expected as usize + 1).max(1)];
    let mut read: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n >= PARALLEL_MIN {
            hasher.update_rayon(&buf[..n]);
        } else {
            hasher.update(&buf[..n]);
        }
        read += n as u64;
    }
    let after = after()?;
    let changed = if read != expected {
        Some(format!("{expected} bytes when opened, {read} read"))
    } else if Stamp::of(&after) != Stamp::of(before) {
        Some(format!(
            "its size or modification time moved: {} bytes when opened, {} after",
            expected,
            after.len()
        ))
    } else {
        None
    };
    match changed {
        Some(what) => Err(io::Error::other(ChangedWhileHashed { what })),
        None => Ok(Digest(*hasher.finalize().as_bytes())),
    }
}

/// What the stat cache keys a digest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub inode: u64,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Stamp {
                size: meta.size(),
                mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
                ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
                inode: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128);
            Stamp {
                size: meta.len(),
                mtime_ns,
                ctime_ns: 0,
                inode: 0,
            }
        }
    }
}

impl Stamp {
    /// Whether a write could have left this stamp as it was, had it been taken at `at`
    /// (nanoseconds since the epoch): its mtime or ctime is within a timestamp tick of
    /// `at`. A stamp whose times are both whole seconds is taken to come from a file system
    /// that keeps whole seconds, whose tick is two seconds (on one that keeps nanoseconds
    /// that is one stamp in a billion, and costs only a second look).
    pub fn racy_at(&self, at: i128) -> bool {
        const SECOND: i128 = 1_000_000_000;
        let coarse = self.mtime_ns % SECOND == 0 && self.ctime_ns % SECOND == 0;
        let window = if coarse {
            COARSE_WINDOW_NS
        } else {
            RACY_WINDOW_NS
        };
        self.mtime_ns >= at - window || self.ctime_ns >= at - window
    }

    /// The stamp of what is at `p`, following links; `None` when nothing is there.
    pub fn of_path(p: &Path) -> Option<Stamp> {
        std::fs::metadata(p).ok().map(|m| Stamp::of(&m))
    }

    /// The stamp of what `fstatat` found.
    #[cfg(unix)]
    pub fn of_stat(st: &libc::stat) -> Stamp {
        Stamp {
            size: st.st_size as u64,
            mtime_ns: i128::from(st.st_mtime) * 1_000_000_000 + i128::from(st.st_mtime_nsec),
            ctime_ns: i128::from(st.st_ctime) * 1_000_000_000 + i128::from(st.st_ctime_nsec),
            inode: st.st_ino,
        }
    }
}

/// Path (relative to the workspace) → the stamp and digest last seen.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct StatCache {
    entries: HashMap<String, (Stamp, Digest)>,
    /// When this cache was last saved. A file modified shortly before that instant may have
    /// been modified again within the same timestamp tick (git's "racy clean" problem), so
    /// only stamps clearly older than the save are trusted.
    saved_at_ns: i128,
    /// Whether anything changed since loading, so an unchanged cache need not be rewritten.
    #[serde(skip)]
    changed: bool,
}

/// Kernel file timestamps are coarse (a few milliseconds): a stamp within this of the
/// instant it was taken or kept says nothing of a write in the same tick (git's "racy
/// clean" problem). The stat cache, the tree's shape, the folder listings and the settled
/// record all keep clear of it (see [`Stamp::racy_at`]).
pub const RACY_WINDOW_NS: i128 = 50_000_000;

/// The same for a file system that keeps whole seconds (FAT keeps two, some network
/// mounts one): a write up to two seconds after the stamp's time leaves it as it was.
pub const COARSE_WINDOW_NS: i128 = 2_000_000_000 + RACY_WINDOW_NS;

/// `t` in nanoseconds since the epoch, as a [`Stamp`] counts time.
pub fn nanos(t: std::time::SystemTime) -> i128 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

impl StatCache {
    /// The recorded digest, if the file's current metadata says it is still right.
    pub fn trusted(&self, rel: &str, meta: &std::fs::Metadata) -> Option<Digest> {
        self.trusted_stamp(rel, Stamp::of(meta))
    }

    /// The recorded digest, if the file's current stamp says it is still right.
    pub fn trusted_stamp(&self, rel: &str, stamp: Stamp) -> Option<Digest> {
        match self.entries.get(rel) {
            Some((seen, digest)) if *seen == stamp && !stamp.racy_at(self.saved_at_ns) => {
                Some(*digest)
            }
            _ => None,
        }
    }

    pub fn insert(&mut self, rel: &str, meta: &std::fs::Metadata, digest: Digest) {
        self.changed = true;
        self.entries
            .insert(rel.to_owned(), (Stamp::of(meta), digest));
    }

    /// Record a stamp and digest as a journal entry kept them.
    pub fn insert_stamp(&mut self, rel: &str, stamp: Stamp, digest: Digest) {
        self.changed = true;
        self.entries.insert(rel.to_owned(), (stamp, digest));
    }

    /// The stamp and digest recorded for a path.
    pub fn get(&self, rel: &str) -> Option<(Stamp, Digest)> {
        self.entries.get(rel).copied()
    }

    /// Record a digest batuta computed itself (an output it just wrote or restored).
    pub fn record(&mut self, root: &Path, rel: &str, digest: Digest) {
        if let Ok(meta) = std::fs::metadata(root.join(rel)) {
            self.entries
                .insert(rel.to_owned(), (Stamp::of(&meta), digest));
        }
    }

    /// Call just before persisting: stamps recorded until now become trustworthy.
    pub fn mark_saved(&mut self) {
        self.saved_at_ns = nanos(std::time::SystemTime::now());
    }

    pub fn changed(&self) -> bool {
        self.changed
    }

    pub fn forget(&mut self, rel: &str) {
        self.changed = true;
        self.entries.remove(rel);
    }
}

/// The digest of the file at `root/rel`, hashing only when its stamp changed; `Ok(None)` when
/// it does not exist. The cache is locked only to look up and to record, never while
/// hashing, so many threads can ask at once.
pub fn digest(cache: &RwLock<StatCache>, root: &Path, rel: &str) -> io::Result<Option<Digest>> {
    let path = root.join(rel);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return Err(io::Error::other(format!("{rel} is not a regular file")));
    }
    if let Some(d) = cache.read().expect("stat cache lock").trusted(rel, &meta) {
        return Ok(Some(d));
    }
    let d = hash_file(&path)?;
    cache
        .write()
        .expect("stat cache lock")
        .insert(rel, &meta, d);
    Ok(Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    #[test]
    fn a_stamp_of_whole_seconds_is_racy_for_two_seconds() {
        let now: i128 = 1_800_000_000 * 1_000_000_000 + 500_000_000;
        let at = |ago_ms: i128, whole: bool| {
            let t = now - ago_ms * 1_000_000;
            let t = if whole { t - t % 1_000_000_000 } else { t };
            Stamp {
                size: 1,
                mtime_ns: t,
                ctime_ns: t,
                inode: 1,
            }
        };
        // Nanoseconds: a tick of a few milliseconds.
        assert!(at(10, false).racy_at(now));
        assert!(!at(100, false).racy_at(now));
        // Whole seconds (FAT, some network mounts): a write a second later keeps the
        // stamp, so a stamp one second old proves nothing.
        assert!(at(1_000, true).racy_at(now));
        assert!(!at(3_000, true).racy_at(now));
        // A file extracted from a tar archive keeps a whole-second mtime, but its ctime is
        // the extraction's: the usual tick.
        let mut extracted = at(3_600_000, true);
        extracted.ctime_ns = now - 500_000_000 - 1_234;
        assert!(!extracted.racy_at(now));
    }

    #[test]
    fn hex_round_trip_and_known_value() {
        let d = Digest::of(b"");
        assert_eq!(
            d.to_hex(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_eq!(Digest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(Digest::from_hex("zz"), None);
    }

    #[test]
    fn files_of_every_size_hash_as_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        for len in [0, 1, PARALLEL_MIN - 1, CHUNK, CHUNK + 1, 3 << 20] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            std::fs::write(&p, &data).unwrap();
            assert_eq!(hash_file(&p).unwrap(), Digest::of(&data), "{len} bytes");
        }
    }

    /// Reads a file, and after its first chunk lets `meddle` change it on disk.
    struct Meddled<'a> {
        file: File,
        meddle: Option<Box<dyn FnOnce() + 'a>>,
    }

    impl Read for Meddled<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.file.read(buf)?;
            if let Some(meddle) = self.meddle.take() {
                meddle();
            }
            Ok(n)
        }
    }

    fn hash_meddled(p: &Path, meddle: impl FnOnce() + 'static) -> io::Result<Digest> {
        let file = File::open(p).unwrap();
        let before = file.metadata().unwrap();
        let reader = Meddled {
            file: file.try_clone().unwrap(),
            meddle: Some(Box::new(meddle)),
        };
        hash_stream(reader, &before, || file.metadata())
    }

    fn changed(r: io::Result<Digest>) -> String {
        let e = r.expect_err("the change is noticed");
        assert!(
            e.get_ref().is_some_and(|e| e.is::<ChangedWhileHashed>()),
            "{e}"
        );
        e.to_string()
    }

    #[test]
    fn a_file_truncated_or_grown_while_it_is_read_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        let data = vec![7u8; 3 * CHUNK];
        std::fs::write(&p, &data).unwrap();
        let q = p.clone();
        let why = changed(hash_meddled(&p, move || {
            File::options()
                .write(true)
                .open(&q)
                .unwrap()
                .set_len(10)
                .unwrap();
        }));
        assert!(
            why.contains("3145728 bytes when opened, 1048576 read"),
            "{why}"
        );

        std::fs::write(&p, &data).unwrap();
        let q = p.clone();
        changed(hash_meddled(&p, move || {
            let mut f = File::options().append(true).open(&q).unwrap();
            std::io::Write::write_all(&mut f, b"more").unwrap();
        }));

        // Rewritten in place, same size: the modification time says so.
        std::fs::write(&p, &data).unwrap();
        let q = p.clone();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let why = changed(hash_meddled(&p, move || {
            let f = File::options().write(true).open(&q).unwrap();
            std::os::unix::fs::FileExt::write_all_at(&f, b"x", 5).unwrap();
        }));
        assert!(why.contains("modification time"), "{why}");
    }

    /// With a memory map, a truncation during hashing killed the process with SIGBUS.
    #[test]
    fn a_file_truncated_over_and_over_while_it_is_hashed_never_kills_batuta() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        let data = vec![1u8; 16 << 20];
        std::fs::write(&p, &data).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let f = File::options().write(true).open(&p).unwrap();
                    f.set_len(0).unwrap();
                    f.set_len(16 << 20).unwrap();
                }
            });
            for _ in 0..100 {
                let _ = hash_file(&p);
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = hash_file(&p).expect_err("not a regular file");
        assert_eq!(e.to_string(), "it is a FIFO (named pipe), not a file");
    }

    #[test]
    fn stamps_are_trusted_only_once_saved_and_settled() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        std::fs::write(&p, "one").unwrap();
        let sc = RwLock::new(StatCache::default());
        digest(&sc, dir.path(), "a").unwrap();
        let mut sc = sc.into_inner().unwrap();
        let meta = std::fs::metadata(&p).unwrap();
        assert_eq!(sc.trusted("a", &meta), None, "not saved yet");
        std::thread::sleep(std::time::Duration::from_millis(60));
        sc.mark_saved();
        assert_eq!(sc.trusted("a", &meta), Some(Digest::of(b"one")));
    }

    #[test]
    fn stat_cache_sees_changes_and_deletions() {
        let dir = tempfile::tempdir().unwrap();
        let sc = RwLock::new(StatCache::default());
        std::fs::write(dir.path().join("a"), "one").unwrap();
        assert_eq!(
            digest(&sc, dir.path(), "a").unwrap(),
            Some(Digest::of(b"one"))
        );
        std::fs::write(dir.path().join("a"), "two!").unwrap();
        assert_eq!(
            digest(&sc, dir.path(), "a").unwrap(),
            Some(Digest::of(b"two!"))
        );
        std::fs::remove_file(dir.path().join("a")).unwrap();
        assert_eq!(digest(&sc, dir.path(), "a").unwrap(), None);
        std::fs::create_dir(dir.path().join("d")).unwrap();
        assert!(
            digest(&sc, dir.path(), "d").is_err(),
            "a folder is not an input file"
        );
    }
}
