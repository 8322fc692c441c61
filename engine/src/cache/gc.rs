//! `cache gc`: keep the cache under a size by evicting the least recently used action
//! records, each with the blobs only it names.
//!
//! What nothing uses goes first, whatever the size: blobs no record names, copies of a
//! record that a newer pack holds again, records that do not decode, packs of an older
//! format, and temporary files a build left more than a day ago. Then, while the cache is
//! still over the size, the record used longest ago goes (see `pack` for how a use is
//! recorded), and with it every blob no record that stays names. A pack that loses records
//! is rewritten without them under its own name. A blob younger than the oldest pack a
//! build is still writing stays: that build may be about to name it.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{Cache, decode, pack};
use crate::digest::Digest;

/// A temporary file older than this is a crashed build's, not a running one's.
const ONE_DAY_NS: u64 = 24 * 3600 * 1_000_000_000;

/// What a gc did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcReport {
    pub records_evicted: usize,
    pub records_kept: usize,
    pub blobs_removed: usize,
    pub bytes_freed: u64,
    pub bytes_kept: u64,
}

/// Where a record that is in use lives.
enum Place {
    Pack {
        pack: usize,
        entry: pack::Entry,
    },
    /// A record file of a batuta from before packs.
    File(PathBuf),
}

struct Record {
    place: Place,
    /// What it takes on disk: its bytes, and its index entry in a pack.
    size: u64,
    used: u64,
    /// The blobs of `cas/` it names, each once.
    blobs: Vec<Digest>,
    evicted: bool,
}

struct Blob {
    path: PathBuf,
    size: u64,
    /// Written since the oldest pack still being written was started.
    young: bool,
    remove: bool,
}

struct Pack {
    path: PathBuf,
    size: u64,
    file: fs::File,
    entries: Vec<pack::Entry>,
}

/// Everything in a cache folder, and what uses what.
#[derive(Default)]
struct Inventory {
    packs: Vec<Pack>,
    records: Vec<Record>,
    /// The record in use for each key.
    live: HashMap<Digest, usize>,
    blobs: HashMap<Digest, Blob>,
    /// Files nothing uses: old or damaged packs, stale temporary files, record files
    /// another record replaces.
    garbage: Vec<(PathBuf, u64)>,
    total: u64,
}

pub(super) fn collect(cache: &Cache, max_bytes: u64) -> io::Result<GcReport> {
    let mut inv = Inventory::default();
    let since = inv.list_packs(&cache.packs_dir())?;
    inv.list_record_files(&cache.dir.join("ac"))?;
    inv.list_blobs(&cache.dir.join("cas"), since)?;

    let mut refs: HashMap<Digest, usize> = HashMap::new();
    for r in &inv.records {
        for b in &r.blobs {
            *refs.entry(*b).or_default() += 1;
        }
    }
    let mut projected = inv.total - inv.garbage.iter().map(|g| g.1).sum::<u64>();
    for (d, blob) in &mut inv.blobs {
        if !refs.contains_key(d) && !blob.young {
            blob.remove = true;
            projected = projected.saturating_sub(blob.size);
        }
    }
    let live_copies: HashSet<(usize, u64)> = inv
        .records
        .iter()
        .filter_map(|r| match r.place {
            Place::Pack { pack, entry } => Some((pack, entry.offset)),
            Place::File(_) => None,
        })
        .collect();
    for (i, p) in inv.packs.iter().enumerate() {
        for e in &p.entries {
            if !live_copies.contains(&(i, e.offset)) {
                projected = projected.saturating_sub(u64::from(e.len) + pack::ENTRY as u64);
            }
        }
    }

    let mut by_age: Vec<usize> = (0..inv.records.len()).collect();
    by_age.sort_by_key(|&i| inv.records[i].used);
    let mut evicted = 0;
    for i in by_age {
        if projected <= max_bytes {
            break;
        }
        let r = &mut inv.records[i];
        r.evicted = true;
        evicted += 1;
        projected = projected.saturating_sub(r.size);
        for d in &r.blobs {
            let n = refs.get_mut(d).expect("counted");
            *n -= 1;
            if *n == 0
                && let Some(blob) = inv.blobs.get_mut(d)
                && !blob.young
                && !blob.remove
            {
                blob.remove = true;
                projected = projected.saturating_sub(blob.size);
            }
        }
    }

    let mut freed = inv.rewrite_packs(&cache.packs_dir())?;
    let mut blobs_removed = 0;
    for blob in inv.blobs.values().filter(|b| b.remove) {
        if remove(&blob.path)? {
            freed += blob.size;
            blobs_removed += 1;
        }
    }
    for r in inv.records.iter().filter(|r| r.evicted) {
        if let Place::File(path) = &r.place
            && remove(path)?
        {
            freed += r.size;
        }
    }
    for (path, size) in &inv.garbage {
        if remove(path)? {
            freed += size;
        }
    }
    Ok(GcReport {
        records_evicted: evicted,
        records_kept: inv.records.len() - evicted,
        blobs_removed,
        bytes_freed: freed,
        bytes_kept: inv.total.saturating_sub(freed),
    })
}

impl Inventory {
    /// The packs, newest first, and the records in use in them (each key's newest). Returns
    /// when the oldest pack still being written was started (`u64::MAX` when none is).
    fn list_packs(&mut self, dir: &Path) -> io::Result<u64> {
        let now = pack::now_ns();
        let mut since = u64::MAX;
        for entry in read_dir(dir)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((size, modified)) = file_of(&entry) else {
                continue;
            };
            if name.starts_with(pack::TEMP_PREFIX) {
                if now.saturating_sub(modified) < ONE_DAY_NS {
                    // Being written. One without its start in its name: spare every blob.
                    since = since.min(pack::temp_started(&name).unwrap_or(0));
                    self.total += size;
                } else {
                    self.garbage(entry.path(), size);
                }
            }
        }
        for path in pack::pack_files(dir) {
            let size = match fs::metadata(&path) {
                Ok(m) => m.len(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            match pack::read_index(&path) {
                Ok((file, entries)) => {
                    self.total += size;
                    let n = self.packs.len();
                    for entry in &entries {
                        if self.live.contains_key(&entry.key) {
                            continue; // a newer pack holds it again
                        }
                        let mut bytes = vec![0; entry.len as usize];
                        file.read_exact_at(&mut bytes, entry.offset)?;
                        if let Some(result) = decode(&bytes) {
                            self.live.insert(entry.key, self.records.len());
                            self.records.push(Record {
                                place: Place::Pack {
                                    pack: n,
                                    entry: *entry,
                                },
                                size: u64::from(entry.len) + pack::ENTRY as u64,
                                used: entry.used,
                                blobs: distinct(result.cas_blobs()),
                                evicted: false,
                            });
                        }
                    }
                    self.packs.push(Pack {
                        path,
                        size,
                        file,
                        entries,
                    });
                }
                Err(pack::IndexError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {}
                // An older format, or damage: nothing in it is read.
                Err(_) => self.garbage(path, size),
            }
        }
        Ok(since)
    }

    /// Record files of before packs (`ac/XX/KEY`), used when no pack holds their key.
    fn list_record_files(&mut self, ac: &Path) -> io::Result<()> {
        for shard in read_dir(ac)? {
            if shard.file_name() == "packs" {
                continue;
            }
            for entry in read_dir(&shard.path())? {
                let Some((size, modified)) = file_of(&entry) else {
                    continue;
                };
                let key = entry.file_name().to_str().and_then(Digest::from_hex);
                let result = match key {
                    Some(k) if !self.live.contains_key(&k) => {
                        fs::read(entry.path()).ok().and_then(|b| decode(&b))
                    }
                    _ => None,
                };
                match (key, result) {
                    (Some(key), Some(result)) => {
                        self.live.insert(key, self.records.len());
                        self.records.push(Record {
                            place: Place::File(entry.path()),
                            size,
                            used: modified,
                            blobs: distinct(result.cas_blobs()),
                            evicted: false,
                        });
                        self.total += size;
                    }
                    _ => self.garbage(entry.path(), size),
                }
            }
        }
        Ok(())
    }

    /// The blobs of `cas/XX/`; `since` is when the oldest pack being written was started.
    fn list_blobs(&mut self, cas: &Path, since: u64) -> io::Result<()> {
        let now = pack::now_ns();
        for shard in read_dir(cas)? {
            for entry in read_dir(&shard.path())? {
                let Some((size, modified)) = file_of(&entry) else {
                    continue;
                };
                match entry.file_name().to_str().and_then(Digest::from_hex) {
                    Some(d) => {
                        self.total += size;
                        self.blobs.insert(
                            d,
                            Blob {
                                path: entry.path(),
                                size,
                                young: modified >= since,
                                remove: false,
                            },
                        );
                    }
                    // A blob being written (its temporary file), or one a crash left.
                    None if now.saturating_sub(modified) < ONE_DAY_NS => self.total += size,
                    None => self.garbage(entry.path(), size),
                }
            }
        }
        Ok(())
    }

    fn garbage(&mut self, path: PathBuf, size: u64) {
        self.total += size;
        self.garbage.push((path, size));
    }

    /// Rewrite each pack that holds records not kept (evicted, or replaced by a newer
    /// pack's copy) with only those it keeps, under its own name; remove a pack that keeps
    /// none. Returns the bytes freed.
    fn rewrite_packs(&self, dir: &Path) -> io::Result<u64> {
        let kept = |pack: usize, e: &pack::Entry| {
            self.live.get(&e.key).is_some_and(|&i| {
                let r = &self.records[i];
                !r.evicted
                    && matches!(r.place, Place::Pack { pack: p, entry } if p == pack && entry.offset == e.offset)
            })
        };
        let mut freed = 0;
        for (i, p) in self.packs.iter().enumerate() {
            let keep: Vec<&pack::Entry> = p.entries.iter().filter(|e| kept(i, e)).collect();
            if keep.len() == p.entries.len() {
                continue;
            }
            if keep.is_empty() {
                if remove(&p.path)? {
                    freed += p.size;
                }
                continue;
            }
            let mut w = pack::Writer::new(dir)?;
            for e in keep {
                let mut bytes = vec![0; e.len as usize];
                p.file.read_exact_at(&mut bytes, e.offset)?;
                w.append_used(e.key, &bytes, e.used)?;
            }
            w.finish_as(&p.path)?;
            freed += p.size.saturating_sub(fs::metadata(&p.path)?.len());
        }
        Ok(freed)
    }
}

/// The entries of a folder; none when it does not exist.
fn read_dir(dir: &Path) -> io::Result<Vec<fs::DirEntry>> {
    match fs::read_dir(dir) {
        Ok(entries) => entries.collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// A regular file's size and modification time (nanoseconds since 1970).
fn file_of(entry: &fs::DirEntry) -> Option<(u64, u64)> {
    let meta = entry.metadata().ok().filter(fs::Metadata::is_file)?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    Some((meta.len(), modified))
}

fn distinct(blobs: impl Iterator<Item = Digest>) -> Vec<Digest> {
    let mut v: Vec<Digest> = blobs.collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Remove a file; `false` when it was already gone (another process took it).
fn remove(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::super::ActionResult;
    use super::*;

    /// A record naming `blobs` (kept in `cas/`) as its outputs.
    fn result(blobs: &[Digest]) -> ActionResult {
        let mut r = ActionResult {
            outputs: blobs
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("out/{i}"), *d, false))
                .collect(),
            exit_code: 0,
            stdout: Digest::of(b""),
            stderr: Digest::of(b""),
            inline: Vec::new(),
        };
        r.add_inline(Digest::of(b""), Vec::new());
        r
    }

    fn key(name: &str) -> Digest {
        Digest::of(name.as_bytes())
    }

    /// One build: blobs `bytes` stored, one record per key naming the blobs listed for it.
    fn build(dir: &Path, records: &[(&str, &[&[u8]])]) {
        let cache = Cache::new(dir);
        for (k, blobs) in records {
            let digests: Vec<Digest> = blobs.iter().map(|b| cache.put_bytes(b).unwrap()).collect();
            cache.put_action(&key(k), &result(&digests)).unwrap();
        }
        cache.flush().unwrap();
    }

    /// Whether a build now finds the record of `k` with all its blobs (a hit).
    fn hit(dir: &Path, k: &str) -> bool {
        Cache::new(dir).get_action(&key(k)).unwrap().is_some()
    }

    /// A build that restores `k` from the cache, and so records its use (at once: the
    /// records of these tests are seconds old, not hours).
    fn restore(dir: &Path, k: &str) {
        let mut cache = Cache::new(dir);
        cache.refresh_after_ns = 0;
        assert!(cache.get_action(&key(k)).unwrap().is_some(), "{k} is a hit");
        cache.flush().unwrap();
    }

    fn size_of(dir: &Path) -> u64 {
        fn walk(p: &Path) -> u64 {
            fs::read_dir(p).map_or(0, |entries| {
                entries
                    .flatten()
                    .map(|e| match e.metadata() {
                        Ok(m) if m.is_dir() => walk(&e.path()),
                        Ok(m) => m.len(),
                        Err(_) => 0,
                    })
                    .sum()
            })
        }
        walk(dir)
    }

    fn age(path: &Path) {
        let f = fs::File::options().append(true).open(path).unwrap();
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000))
            .unwrap();
    }

    #[test]
    fn blobs_nothing_names_go_first_and_every_hit_stays() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let records: Vec<(String, Vec<u8>)> = (0..20)
            .map(|i| (format!("k{i}"), vec![i as u8; 1000]))
            .collect();
        let listed: Vec<(&str, Vec<&[u8]>)> = records
            .iter()
            .map(|(k, b)| (k.as_str(), vec![b.as_slice()]))
            .collect();
        let listed: Vec<(&str, &[&[u8]])> =
            listed.iter().map(|(k, b)| (*k, b.as_slice())).collect();
        build(d, &listed);
        let live = size_of(d);
        // Blobs a lost record named, written after the pack: the old gc evicted by file age.
        let cache = Cache::new(d);
        let orphans: Vec<Digest> = (0..30)
            .map(|i| cache.put_bytes(&[100 + i as u8; 5000]).unwrap())
            .collect();
        drop(cache); // its writer, never used for a record, leaves no pack
        assert!(size_of(d) > live + 100_000);

        let report = Cache::new(d).gc(live + 1000).unwrap();
        assert_eq!(report.records_evicted, 0);
        assert_eq!(report.blobs_removed, 30);
        assert_eq!(report.bytes_freed, 150_000);
        assert_eq!(report.bytes_kept, size_of(d));
        for (k, _) in &records {
            assert!(hit(d, k), "{k} is still a hit");
        }
        let cache = Cache::new(d);
        assert!(orphans.iter().all(|o| cache.read(o).is_err()));
    }

    #[test]
    fn the_least_recently_used_record_goes_with_the_blobs_only_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (only_a, only_b, shared) = (&[1u8; 40_000][..], &[2u8; 40_000][..], &[3u8; 40_000][..]);
        build(d, &[("a", &[only_a, shared])]);
        build(d, &[("b", &[only_b, shared])]);
        // A use of `a` makes it the more recent.
        restore(d, "a");
        let report = Cache::new(d).gc(100_000).unwrap();
        assert_eq!((report.records_evicted, report.blobs_removed), (1, 1));
        assert!(hit(d, "a"));
        assert!(!hit(d, "b"));
        let cache = Cache::new(d);
        assert!(cache.read(&Digest::of(shared)).is_ok(), "a still names it");
        assert!(cache.read(&Digest::of(only_b)).is_err());
        assert!(size_of(d) <= 100_000);
        // What is left is what a gc to nothing removes.
        let report = Cache::new(d).gc(0).unwrap();
        assert_eq!((report.records_kept, report.bytes_kept), (0, 0));
        assert_eq!(size_of(d), 0);
    }

    #[test]
    fn a_pack_keeps_its_name_and_its_other_records_when_it_loses_some() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let packs = || pack::pack_files(&d.join("ac/packs"));
        build(d, &[("old", &[&[9u8; 10_000]])]);
        let first = packs();
        build(
            d,
            &[
                ("x", &[&[1u8; 10_000]]),
                ("y", &[&[2u8; 10_000]]),
                ("z", &[&[3u8; 10_000]]),
            ],
        );
        let second = packs().into_iter().find(|p| !first.contains(p)).unwrap();
        let records = |path: &Path| {
            let (_, entries) = pack::read_index(path).unwrap();
            entries.iter().map(|e| (e.key, e.used)).collect::<Vec<_>>()
        };
        let written = records(&second);
        // `x` is used again, so a newer pack holds it: `old`, then `y`, are the least
        // recently used.
        restore(d, "x");
        Cache::new(d).gc(size_of(d) - 10_000).unwrap();
        assert!(!hit(d, "old") && hit(d, "x") && hit(d, "y") && hit(d, "z"));
        assert!(!first[0].exists(), "a pack that keeps nothing is removed");
        assert_eq!(
            records(&second),
            written[1..],
            "x's old copy dropped, times kept"
        );
        Cache::new(d).gc(size_of(d) - 5_000).unwrap();
        assert!(hit(d, "x") && !hit(d, "y") && hit(d, "z"));
        assert_eq!(records(&second), written[2..]);
    }

    #[test]
    fn blobs_a_running_build_may_name_are_spared() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let cache = Cache::new(d);
        let old = cache
            .put_bytes(b"written long ago by a crashed build")
            .unwrap();
        age(&cache.blob_path(&old));
        let running = Cache::new(d);
        let fresh = running
            .put_bytes(b"written by a build still running")
            .unwrap();
        let report = Cache::new(d).gc(0).unwrap();
        assert_eq!(report.blobs_removed, 1);
        assert!(cache.read(&old).is_err());
        assert!(
            running.read(&fresh).is_ok(),
            "its record is not written yet"
        );
        running.put_action(&key("late"), &result(&[fresh])).unwrap();
        running.flush().unwrap();
        assert!(hit(d, "late"));
    }

    #[test]
    fn old_packs_damaged_records_and_stale_temporary_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        build(d, &[("a", &[&[1u8; 100]])]);
        let packs = d.join("ac/packs");
        let mut old = fs::read(&pack::pack_files(&packs)[0]).unwrap();
        let n = old.len();
        old[n - 8..].copy_from_slice(b"BTPKEND1");
        fs::write(packs.join("0-old.pack"), &old).unwrap();
        let stale = packs.join(".tmp-00000000000000000001-crashed");
        fs::write(&stale, b"BTPK0002 half a pack").unwrap();
        age(&stale);
        let legacy = d.join("ac/ab/not-a-key");
        fs::create_dir_all(legacy.parent().unwrap()).unwrap();
        fs::write(&legacy, b"junk").unwrap();
        let report = Cache::new(d).gc(u64::MAX).unwrap();
        assert_eq!(report.records_kept, 1);
        assert!(!packs.join("0-old.pack").exists() && !stale.exists() && !legacy.exists());
        assert!(hit(d, "a"));
    }

    #[test]
    fn a_record_whose_blob_is_gone_is_a_quiet_miss() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        build(d, &[("a", &[&[1u8; 100_000]])]);
        let cache = Cache::new(d);
        fs::remove_file(cache.blob_path(&Digest::of(&[1u8; 100_000]))).unwrap();
        assert!(matches!(cache.get_action(&key("a")), Ok(None)));
    }
}
