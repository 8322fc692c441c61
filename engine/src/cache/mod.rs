//! The local cache: a content-addressed store of blobs and an action cache (action key →
//! result), under `BATUTA_CACHE_DIR` (default `.batuta/cache` beside the manifest).
//!
//! Every write is atomic. Every read is verified: a blob whose content does not hash to its
//! name, or an action record whose checksum fails, is a miss and is reported, so the build
//! that follows replaces it; a damaged blob or pack is removed (a record in a sound pack
//! stays there, unused, until a newer pack's record of its key replaces it).
//!
//! Small blobs (outputs up to [`INLINE_MAX`], stdout, stderr) travel inside the action
//! record, as REAPI's inline outputs do; and a build's records go into one pack file
//! ([`pack`]), not one file each: caching a small action then creates no file at all, and
//! on ext4 creating files is most of what caching a small action costs.
//!
//! A record whose blob `cas/` no longer has is a miss without a word: `cache gc` ([`gc`])
//! removes blobs only with the records that name them, so that is a crash's or a hand's
//! doing, and the run that follows replaces both.

mod gc;
mod pack;

pub use pack::Packs;

pub use gc::GcReport;

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::fsutil::{self, Durability};

// 0002: records carry small blobs inline.
const ACTION_MAGIC: &[u8; 8] = b"BTAC0002";
/// Records of an older batuta: a miss (replaced by the next run), not damage to report.
const OLD_ACTION_MAGICS: &[&[u8; 8]] = &[b"BTAC0001"];

/// The cache folder of the workspace at `root`: `BATUTA_CACHE_DIR`, or `.batuta/cache`
/// beside the manifest.
pub fn dir_for(root: &Path) -> PathBuf {
    match std::env::var_os("BATUTA_CACHE_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => root.join(".batuta").join("cache"),
    }
}

/// Blobs up to this size are stored in the action record itself (see the module doc).
pub const INLINE_MAX: u64 = 64 * 1024;

/// What running an action produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    /// Each declared output: path relative to the workspace, digest, executable bit.
    pub outputs: Vec<(String, Digest, bool)>,
    pub exit_code: i32,
    pub stdout: Digest,
    pub stderr: Digest,
    /// Blobs carried in the record instead of `cas/`, by digest: small outputs, stdout and
    /// stderr. A digest named above and absent here is a blob of `cas/`.
    pub inline: Vec<(Digest, Vec<u8>)>,
}

impl ActionResult {
    /// The bytes of blob `digest` when the record carries them.
    pub fn inlined(&self, digest: &Digest) -> Option<&[u8]> {
        self.inline
            .iter()
            .find(|(d, _)| d == digest)
            .map(|(_, b)| b.as_slice())
    }

    /// The blobs the record names and does not carry: they are in `cas/`.
    pub fn cas_blobs(&self) -> impl Iterator<Item = Digest> + '_ {
        self.outputs
            .iter()
            .map(|(_, d, _)| *d)
            .chain([self.stdout, self.stderr])
            .filter(|d| self.inlined(d).is_none())
    }

    /// Carry `bytes` (whose digest is `digest`) in the record, once.
    pub fn add_inline(&mut self, digest: Digest, bytes: Vec<u8>) {
        if self.inlined(&digest).is_none() {
            self.inline.push((digest, bytes));
        }
    }
}

/// Why a cached item could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("blob {0} is not in the cache")]
    Missing(Digest),
    #[error(
        "blob {0} in the cache is corrupt (its content does not match its digest); it was removed"
    )]
    Corrupt(Digest),
    #[error("action pack {} is corrupt ({why}); it was removed", .path.display())]
    DamagedPack { path: PathBuf, why: String },
    #[error(transparent)]
    Io(#[from] io::Error),
}

#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    /// Entries written and not yet flushed to disk (see [`Cache::flush`]).
    unflushed: Mutex<Vec<PathBuf>>,
    /// This build's action records, until [`Cache::flush`] seals them into a pack.
    writer: Mutex<Option<pack::Writer>>,
    /// The packs on disk, read at the first lookup.
    packs: Mutex<Option<Arc<Packs>>>,
    /// The packs an earlier read found (this cache's, or the last build's in the same
    /// process): their indexes are not read again.
    before: Mutex<Option<Arc<Packs>>>,
    /// A restored record is noted as used again (a copy in this build's pack) when its
    /// last use is older than this: often enough for gc to tell old from recent, rarely
    /// enough that builds restoring everything do not copy every record each time.
    refresh_after_ns: u64,
    /// Keys whose packed record turned out damaged: reported once, then a miss (a pack
    /// cannot lose one record; the next run's record, in a newer pack, replaces it).
    damaged: Mutex<HashSet<Digest>>,
}

/// See `Cache::refresh_after_ns`: an hour.
const REFRESH_AFTER_NS: u64 = 3600 * 1_000_000_000;

/// Past this many unflushed entries one `syncfs` beats an fsync each.
const FSYNC_EACH_MAX: usize = 256;

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache {
            dir: dir.into(),
            unflushed: Mutex::new(Vec::new()),
            writer: Mutex::new(None),
            packs: Mutex::new(None),
            before: Mutex::new(None),
            refresh_after_ns: REFRESH_AFTER_NS,
            damaged: Mutex::new(HashSet::new()),
        }
    }

    fn wrote(&self, path: PathBuf) {
        self.unflushed.lock().expect("cache lock").push(path);
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        let hex = d.to_hex();
        self.dir.join("cas").join(&hex[..2]).join(&hex)
    }

    /// A record of its own (as batuta wrote them before packs): still read.
    fn action_path(&self, key: &Digest) -> PathBuf {
        let hex = key.to_hex();
        self.dir.join("ac").join(&hex[..2]).join(&hex)
    }

    fn packs_dir(&self) -> PathBuf {
        self.dir.join("ac").join("packs")
    }

    /// Start from the packs an earlier build of this process read (see
    /// [`Cache::packs_read`]), so that only new packs have their index read.
    pub fn after(self, read: Option<Arc<Packs>>) -> Cache {
        *self.before.lock().expect("packs lock") = read;
        self
    }

    /// The packs this cache read last, for the next build's [`Cache::after`].
    pub fn packs_read(&self) -> Option<Arc<Packs>> {
        let packs = self.packs.lock().expect("packs lock").clone();
        packs.or_else(|| self.before.lock().expect("packs lock").clone())
    }

    /// The packs on disk, read once; a damaged one is reported (once) as `Err`.
    fn packs(&self) -> Result<Arc<Packs>, CacheError> {
        let mut packs = self.packs.lock().expect("packs lock");
        if let Some(p) = &*packs {
            return Ok(p.clone());
        }
        let before = self.before.lock().expect("packs lock").clone();
        let mut loaded = pack::Packs::load(&self.packs_dir(), before.as_deref());
        let damaged = std::mem::take(&mut loaded.damaged);
        *packs = Some(Arc::new(loaded));
        match damaged.into_iter().next() {
            Some((path, why)) => Err(CacheError::DamagedPack { path, why }),
            None => Ok(packs.as_ref().expect("just set").clone()),
        }
    }

    /// This build's pack, started if it is not: before the first blob too, so gc, seeing
    /// when it was started, spares the blobs this build writes before its records.
    fn writer(&self) -> io::Result<std::sync::MutexGuard<'_, Option<pack::Writer>>> {
        let mut writer = self.writer.lock().expect("writer lock");
        if writer.is_none() {
            *writer = Some(pack::Writer::new(&self.packs_dir())?);
        }
        Ok(writer)
    }

    /// Store a file's content under its (already computed) digest.
    pub fn put_file(&self, path: &Path, digest: &Digest) -> io::Result<()> {
        let dest = self.blob_path(digest);
        if dest.exists() {
            return Ok(());
        }
        drop(self.writer()?);
        fsutil::copy_replace(path, &dest, Durability::Deferred)?;
        self.wrote(dest);
        Ok(())
    }

    pub fn put_bytes(&self, bytes: &[u8]) -> io::Result<Digest> {
        let digest = Digest::of(bytes);
        let dest = self.blob_path(&digest);
        if !dest.exists() {
            drop(self.writer()?);
            fsutil::write_replace(&dest, bytes, Durability::Deferred)?;
            self.wrote(dest);
        }
        Ok(digest)
    }

    /// Copy blob `digest` to `to` atomically, verifying its content on the way.
    pub fn restore(&self, digest: &Digest, to: &Path, executable: bool) -> Result<(), CacheError> {
        let src = self.blob_path(digest);
        let mut file = match File::open(&src) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(CacheError::Missing(*digest));
            }
            Err(e) => return Err(e.into()),
        };
        let mut tmp = temp_beside(to)?;
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])?;
        }
        if hasher.finalize().as_bytes() != &digest.0 {
            let _ = fs::remove_file(&src);
            return Err(CacheError::Corrupt(*digest));
        }
        set_executable(tmp.path(), executable)?;
        // A restored output is like one a tool writes: no flush.
        fsutil::persist(tmp, to, Durability::Deferred)?;
        Ok(())
    }

    /// Write `bytes` (blob `digest`, carried inline by a record) to `to` atomically.
    fn restore_bytes(&self, bytes: &[u8], to: &Path, executable: bool) -> io::Result<()> {
        let mut tmp = temp_beside(to)?;
        tmp.write_all(bytes)?;
        set_executable(tmp.path(), executable)?;
        fsutil::persist(tmp, to, Durability::Deferred)
    }

    /// Restore output `digest` of `result` to `to`: from the record when it carries the
    /// bytes (verified when the record was read), else from `cas/`, verified on the way.
    pub fn restore_output(
        &self,
        result: &ActionResult,
        digest: &Digest,
        to: &Path,
        executable: bool,
    ) -> Result<(), CacheError> {
        match result.inlined(digest) {
            Some(bytes) => Ok(self.restore_bytes(bytes, to, executable)?),
            None => self.restore(digest, to, executable),
        }
    }

    /// Blob `digest` of `result` (an output, stdout or stderr): from the record when it
    /// carries it, else from `cas/`, verified.
    pub fn read_output(
        &self,
        result: &ActionResult,
        digest: &Digest,
    ) -> Result<Vec<u8>, CacheError> {
        match result.inlined(digest) {
            Some(bytes) => Ok(bytes.to_vec()),
            None => self.read(digest),
        }
    }

    /// A blob's bytes, verified.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, CacheError> {
        let src = self.blob_path(digest);
        let bytes = match fs::read(&src) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(CacheError::Missing(*digest));
            }
            Err(e) => return Err(e.into()),
        };
        if Digest::of(&bytes) != *digest {
            let _ = fs::remove_file(&src);
            return Err(CacheError::Corrupt(*digest));
        }
        Ok(bytes)
    }

    /// The recorded result of an action key: this build's, else the newest pack's, else a
    /// record file's. A damaged record is reported as `Err` (once), and is then a miss. A
    /// record that names a blob `cas/` no longer has (gc took it) is a miss, silently.
    pub fn get_action(&self, key: &Digest) -> Result<Option<ActionResult>, CacheError> {
        let found = self.find_action(key)?;
        Ok(found.filter(|r| r.cas_blobs().all(|d| self.blob_path(&d).exists())))
    }

    fn find_action(&self, key: &Digest) -> Result<Option<ActionResult>, CacheError> {
        let mine = match &*self.writer.lock().expect("writer lock") {
            Some(w) => w.get(key)?,
            None => None,
        };
        if let Some(bytes) = mine {
            return self.packed(key, &bytes);
        }
        let packs = self.packs()?;
        if let Some((bytes, used)) = packs.get(key)? {
            let r = self.packed(key, &bytes)?;
            if r.is_some() && pack::now_ns().saturating_sub(used) > self.refresh_after_ns {
                // Used now: this build's pack carries the record again with the time of
                // this use (gc evicts the least recently used records first).
                if let Err(e) = self
                    .writer()
                    .and_then(|mut w| w.as_mut().expect("started").append(*key, &bytes))
                {
                    tracing::debug!("cannot note the use of an action record: {e}");
                }
            }
            return Ok(r);
        }
        self.get_action_file(key)
    }

    fn packed(&self, key: &Digest, bytes: &[u8]) -> Result<Option<ActionResult>, CacheError> {
        match decode(bytes) {
            Some(r) => Ok(Some(r)),
            None if self.damaged.lock().expect("damaged lock").insert(*key) => {
                Err(CacheError::Corrupt(*key))
            }
            None => Ok(None),
        }
    }

    fn get_action_file(&self, key: &Digest) -> Result<Option<ActionResult>, CacheError> {
        let path = self.action_path(key);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if OLD_ACTION_MAGICS.iter().any(|m| bytes.starts_with(&m[..])) {
            return Ok(None);
        }
        match decode(&bytes) {
            Some(r) => {
                touch(&path);
                Ok(Some(r))
            }
            None => {
                let _ = fs::remove_file(&path);
                Err(CacheError::Corrupt(*key))
            }
        }
    }

    /// Record `result` under `key` in this build's pack (durable at [`Cache::flush`]).
    pub fn put_action(&self, key: &Digest, result: &ActionResult) -> io::Result<()> {
        let payload = postcard::to_stdvec(result).map_err(io::Error::other)?;
        let sealed = fsutil::seal(ACTION_MAGIC, &payload);
        self.writer()?
            .as_mut()
            .expect("started")
            .append(*key, &sealed)
    }

    /// Make everything written so far durable: the blobs (an fsync each, in parallel, for a
    /// few; one `syncfs` for many), then this build's pack, sealed and renamed into place.
    /// The unsealed packs of killed builds go at the same time.
    pub fn flush(&self) -> io::Result<()> {
        let blobs = self.flush_blobs();
        let records = match self.writer.lock().expect("writer lock").take() {
            Some(w) => {
                if let Some(read) = self.packs.lock().expect("packs lock").take() {
                    *self.before.lock().expect("packs lock") = Some(read);
                }
                pack::sweep_unsealed(&self.packs_dir());
                w.finish(&self.packs_dir())
                    .and_then(|()| pack::merge_if_many(&self.packs_dir()))
            }
            None => Ok(()),
        };
        blobs.and(records)
    }

    /// What a killed build left in the cache: its unsealed pack, and temporary files in
    /// `cas/` (see `fsutil::TEMP_PREFIX`). Returns how many went.
    pub fn sweep(&self) -> usize {
        let shards = fs::read_dir(self.dir.join("cas"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect::<Vec<_>>();
        pack::sweep_unsealed(&self.packs_dir())
            + fsutil::sweep_temporaries(shards.iter().map(PathBuf::as_path))
    }

    fn flush_blobs(&self) -> io::Result<()> {
        use rayon::prelude::*;
        let written = std::mem::take(&mut *self.unflushed.lock().expect("cache lock"));
        if written.len() > FSYNC_EACH_MAX {
            return fsutil::sync_filesystem(&self.dir);
        }
        let mut folders: Vec<&Path> = written.iter().filter_map(|p| p.parent()).collect();
        folders.sort_unstable();
        folders.dedup();
        written
            .par_iter()
            .map(PathBuf::as_path)
            .chain(folders.into_par_iter())
            .try_for_each(|p| File::open(p)?.sync_all())
    }

    /// Evict the least recently used action records, with the blobs only they name, until
    /// the cache holds at most `max_bytes`; what nothing uses goes first (see [`gc`]).
    pub fn gc(&self, max_bytes: u64) -> io::Result<GcReport> {
        gc::collect(self, max_bytes)
    }

    /// Remove the whole cache.
    pub fn clear(&self) -> io::Result<()> {
        match fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// An action record's result, if its seal and its inline blobs check out.
fn decode(bytes: &[u8]) -> Option<ActionResult> {
    fsutil::unseal(ACTION_MAGIC, bytes)
        .and_then(|p| postcard::from_bytes::<ActionResult>(p).ok())
        // The seal covers the bytes; this catches a record that names them wrongly.
        .filter(|r| r.inline.iter().all(|(d, b)| Digest::of(b) == *d))
}

/// Mark an entry as used now, for least-recently-used eviction.
fn touch(path: &Path) {
    if let Ok(f) = File::options().append(true).open(path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

fn set_executable(path: &Path, executable: bool) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o755 } else { 0o644 };
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, executable);
        Ok(())
    }
}

/// A temporary file in `to`'s folder (made if missing), to be renamed onto `to` once
/// written: a restore is atomic.
fn temp_beside(to: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    fsutil::temp_in(dir)
}

/// Whether a file is executable by its owner.
pub fn is_executable(meta: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o100 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_corruption_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let d = cache.put_bytes(b"hello").unwrap();
        let out = dir.path().join("out/x");
        cache.restore(&d, &out, true).unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"hello");
        fs::write(cache.blob_path(&d), b"hellO").unwrap();
        assert!(matches!(
            cache.restore(&d, &out, false),
            Err(CacheError::Corrupt(_))
        ));
        assert!(
            matches!(cache.read(&d), Err(CacheError::Missing(_))),
            "corrupt blob removed"
        );
    }

    #[test]
    fn action_records_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let key = Digest::of(b"key");
        let r = ActionResult {
            outputs: vec![("some/output.json".into(), Digest::of(b"a"), false)],
            exit_code: 0,
            stdout: Digest::of(b""),
            stderr: Digest::of(b""),
            inline: Vec::new(),
        };
        assert_eq!(cache.get_action(&key).unwrap(), None);
        cache.put_bytes(b"a").unwrap();
        cache.put_bytes(b"").unwrap();
        cache.put_action(&key, &r).unwrap();
        assert_eq!(
            cache.get_action(&key).unwrap(),
            Some(r.clone()),
            "before flush"
        );
        cache.flush().unwrap();
        assert_eq!(cache.get_action(&key).unwrap(), Some(r.clone()), "after");
        let next_build = Cache::new(dir.path());
        assert_eq!(next_build.get_action(&key).unwrap(), Some(r.clone()));

        // A record damaged in its pack: reported once, then a miss, then replaced.
        damage(dir.path(), b"some/output.json");
        let next_build = Cache::new(dir.path());
        assert!(matches!(
            next_build.get_action(&key),
            Err(CacheError::Corrupt(_))
        ));
        assert_eq!(next_build.get_action(&key).unwrap(), None);
        next_build.put_action(&key, &r).unwrap();
        next_build.flush().unwrap();
        assert_eq!(Cache::new(dir.path()).get_action(&key).unwrap(), Some(r));
    }

    #[test]
    fn record_files_of_before_packs_are_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let key = Digest::of(b"key");
        let r = inline_result();
        cache.put_bytes(b"in cas").unwrap();
        let p = cache.action_path(&key);
        let sealed = fsutil::seal(ACTION_MAGIC, &postcard::to_stdvec(&r).unwrap());
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, &sealed).unwrap();
        assert_eq!(cache.get_action(&key).unwrap(), Some(r));
        let mut torn = sealed;
        torn.pop();
        fs::write(&p, &torn).unwrap();
        assert!(cache.get_action(&key).is_err());
        assert!(!p.exists(), "damaged record removed");
    }

    #[test]
    fn builds_sharing_a_cache_keep_every_record() {
        // Two builds at once on one cache folder (BATUTA_CACHE_DIR shared by two
        // workspaces), each flushing often enough that both merge packs as they go.
        let dir = tempfile::tempdir().unwrap();
        let result = |i: u32| ActionResult {
            outputs: vec![(format!("out/{i}"), Digest::of(&i.to_le_bytes()), false)],
            exit_code: 0,
            stdout: Digest::of(b""),
            stderr: Digest::of(b""),
            inline: Vec::new(),
        };
        let key = |i: u32| Digest::of(format!("key {i}").as_bytes());
        std::thread::scope(|s| {
            for t in 0..2u32 {
                let dir = dir.path();
                s.spawn(move || {
                    for build in 0..20u32 {
                        let cache = Cache::new(dir);
                        cache.put_bytes(b"").unwrap();
                        for j in 0..5 {
                            let i = t * 1000 + build * 10 + j;
                            cache.put_bytes(&i.to_le_bytes()).unwrap();
                            cache.put_action(&key(i), &result(i)).unwrap();
                        }
                        cache.flush().unwrap();
                    }
                });
            }
        });
        let cache = Cache::new(dir.path());
        for t in 0..2u32 {
            for i in (0..20u32).flat_map(|b| (0..5).map(move |j| t * 1000 + b * 10 + j)) {
                assert_eq!(cache.get_action(&key(i)).unwrap(), Some(result(i)), "{i}");
            }
        }
        let packs = fs::read_dir(dir.path().join("ac/packs")).unwrap().count();
        assert!(
            packs <= pack::MERGE_OVER + 2,
            "{packs} packs: merged as they grew"
        );
    }

    /// Flip the first byte of `what` in every pack of the cache at `dir`.
    fn damage(dir: &Path, what: &[u8]) {
        let mut hit = false;
        for p in fs::read_dir(dir.join("ac/packs")).unwrap().flatten() {
            let mut bytes = fs::read(p.path()).unwrap();
            if let Some(at) = bytes.windows(what.len()).position(|w| w == what) {
                bytes[at] ^= 0x20;
                fs::write(p.path(), bytes).unwrap();
                hit = true;
            }
        }
        assert!(hit, "{what:?} in no pack");
    }

    fn inline_result() -> ActionResult {
        let mut r = ActionResult {
            outputs: vec![
                ("small".into(), Digest::of(b"small output"), true),
                ("big".into(), Digest::of(b"in cas"), false),
            ],
            exit_code: 0,
            stdout: Digest::of(b""),
            stderr: Digest::of(b""),
            inline: Vec::new(),
        };
        r.add_inline(Digest::of(b"small output"), b"small output".to_vec());
        r.add_inline(Digest::of(b""), Vec::new());
        r.add_inline(Digest::of(b""), Vec::new());
        r
    }

    #[test]
    fn inline_blobs_round_trip_in_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let key = Digest::of(b"key");
        let r = inline_result();
        assert_eq!(r.inline.len(), 2, "stdout and stderr share one empty blob");
        cache.put_bytes(b"in cas").unwrap();
        cache.put_action(&key, &r).unwrap();
        let back = cache.get_action(&key).unwrap().unwrap();
        assert_eq!(back, r);
        assert!(
            !cache.blob_path(&Digest::of(b"small output")).exists(),
            "an inline blob has no file of its own"
        );
        let out = dir.path().join("out/small");
        cache
            .restore_output(&back, &back.outputs[0].1, &out, true)
            .unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"small output");
        assert!(is_executable(&fs::metadata(&out).unwrap()));
        let big = dir.path().join("out/big");
        cache
            .restore_output(&back, &back.outputs[1].1, &big, false)
            .unwrap();
        assert_eq!(fs::read(&big).unwrap(), b"in cas");
        assert_eq!(
            cache.read_output(&back, &back.outputs[0].1).unwrap(),
            b"small output"
        );
        assert_eq!(cache.read_output(&back, &back.stdout).unwrap(), b"");
        assert_eq!(
            cache.read_output(&back, &back.outputs[1].1).unwrap(),
            b"in cas"
        );
    }

    #[test]
    fn a_damaged_inline_blob_is_a_corrupt_record() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let key = Digest::of(b"key");
        cache.put_action(&key, &inline_result()).unwrap();
        cache.flush().unwrap();
        damage(dir.path(), b"small output");
        assert!(matches!(
            Cache::new(dir.path()).get_action(&key),
            Err(CacheError::Corrupt(_))
        ));

        // Sealed correctly, but the bytes are not the blob they claim to be.
        let mut lying = inline_result();
        lying.inline[0].1 = b"other output".to_vec();
        let cache = Cache::new(dir.path().join("other"));
        cache.put_action(&key, &lying).unwrap();
        assert!(matches!(
            cache.get_action(&key),
            Err(CacheError::Corrupt(_))
        ));
    }

    #[test]
    fn a_restore_notes_a_use_only_of_a_record_not_used_lately() {
        let dir = tempfile::tempdir().unwrap();
        let key = Digest::of(b"key");
        let cache = Cache::new(dir.path());
        cache
            .put_action(&key, &inline_result_without_cas())
            .unwrap();
        cache.flush().unwrap();
        let packs = || fs::read_dir(dir.path().join("ac/packs")).unwrap().count();
        let restore = |refresh_after_ns| {
            let mut cache = Cache::new(dir.path());
            cache.refresh_after_ns = refresh_after_ns;
            assert!(cache.get_action(&key).unwrap().is_some());
            cache.flush().unwrap();
        };
        restore(REFRESH_AFTER_NS);
        assert_eq!(packs(), 1, "used a moment ago: no copy");
        restore(0);
        assert_eq!(packs(), 2, "the use is noted in this build's pack");
    }

    fn inline_result_without_cas() -> ActionResult {
        let mut r = inline_result();
        r.outputs.pop();
        r
    }

    #[test]
    fn an_older_record_format_is_a_quiet_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let key = Digest::of(b"key");
        let p = cache.action_path(&key);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, fsutil::seal(b"BTAC0001", b"whatever it held")).unwrap();
        assert_eq!(cache.get_action(&key).unwrap(), None);
    }
}
