//! What the last builds saw, in one compact file loaded at start (`.batuta/journal`): the
//! stat cache and, per action, the key it last ran with and the outputs it left.
//!
//! With it a no-op build reads one file and stats the workspace, nothing more. A journal
//! that is missing or damaged costs speed, never correctness: actions then fall back to the
//! action cache.
//!
//! The file is a sealed snapshot followed by entries appended as actions finish, so a build
//! killed half-way keeps what its finished actions did: the next build replays them and
//! finds those actions up to date. An entry is one `write`, sealed on its own; a torn last
//! entry (the kill came in the middle of it) is where reading stops. A build that ends
//! writes a new snapshot in place of the file (temporary file, fsync, rename).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::{Digest, Stamp, StatCache};
use crate::fsutil;

// 0003: a snapshot with a length, and entries appended after it.
const MAGIC: &[u8; 8] = b"BTJN0003";
/// A snapshot's or an entry's header: its length, then its payload's BLAKE3.
const HEADER: usize = 8 + 32;

/// The last successful run of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub key: Digest,
    pub outputs: Vec<(String, Digest)>,
    /// How long it last ran here, in milliseconds; `None` when its outputs have only been
    /// restored from the cache since. What `batuta graph --critical-path` adds up.
    pub run_ms: Option<u32>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Journal {
    pub stat: StatCache,
    pub actions: HashMap<String, ActionRecord>,
    /// A build began and did not end (killed), and may have left temporary files.
    #[serde(skip)]
    pub unfinished: bool,
    /// How many bytes of entries follow the snapshot on disk, to tell when rewriting the
    /// snapshot is worth it.
    #[serde(skip)]
    pub appended: usize,
    /// The snapshot's size on disk.
    #[serde(skip)]
    pub snapshot: usize,
}

/// What one finished action changed, appended as it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Entry {
    /// A build began writing in the workspace (appended before its first write): if no
    /// snapshot or [`Entry::Ended`] follows, it was killed, and may have left temporary
    /// files.
    Began,
    /// The build that began ended (its entries are all there).
    Ended,
    /// It succeeded: its record, and the stamp and digest of each output as written.
    Ran {
        id: String,
        record: ActionRecord,
        stats: Vec<(String, Stamp, Digest)>,
    },
    /// It failed or was cancelled: its record and outputs are gone.
    Forgot { id: String, outputs: Vec<String> },
}

/// Where the journal of the workspace at `root` lives.
pub fn path(root: &Path) -> PathBuf {
    root.join(".batuta").join("journal")
}

impl Journal {
    /// Load the journal, replaying what was appended to it; a missing one is empty, a
    /// damaged one is empty and reported.
    pub fn load(path: &Path) -> (Journal, Option<String>) {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return (Journal::default(), None),
            Err(e) => {
                let w = format!("cannot read {}: {e}; starting afresh", path.display());
                return (Journal::default(), Some(w));
            }
        };
        let damaged = || {
            Some(format!(
                "{} is damaged or from another batuta version; starting afresh",
                path.display()
            ))
        };
        let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
            return (Journal::default(), damaged());
        };
        let Some((snapshot, mut rest)) = frame(rest) else {
            return (Journal::default(), damaged());
        };
        let Ok(mut journal) = postcard::from_bytes::<Journal>(snapshot) else {
            return (Journal::default(), damaged());
        };
        journal.snapshot = snapshot.len();
        journal.appended = rest.len();
        while let Some((payload, next)) = frame(rest) {
            rest = next;
            // An entry sealed right and not readable is from a newer format: stop there.
            let Ok(entry) = postcard::from_bytes::<Entry>(payload) else {
                break;
            };
            journal.apply(entry);
        }
        (journal, None)
    }

    /// Whether the entries appended since the snapshot weigh enough that the next build
    /// should start from a new snapshot (a quarter of it, or any after a killed build).
    pub fn worth_compacting(&self) -> bool {
        self.unfinished || self.appended * 4 > self.snapshot.max(4096)
    }

    pub fn apply(&mut self, entry: Entry) {
        match entry {
            Entry::Began => self.unfinished = true,
            Entry::Ended => self.unfinished = false,
            Entry::Ran { id, record, stats } => {
                for (path, stamp, digest) in stats {
                    self.stat.insert_stamp(&path, stamp, digest);
                }
                self.actions.insert(id, record);
            }
            Entry::Forgot { id, outputs } => {
                for o in &outputs {
                    self.stat.forget(o);
                }
                self.actions.remove(&id);
            }
        }
    }

    /// Write the journal as one snapshot, in place of what the file held.
    pub fn save(&mut self, path: &Path) -> io::Result<()> {
        let payload = postcard::to_stdvec(self).map_err(io::Error::other)?;
        let mut bytes = Vec::with_capacity(MAGIC.len() + HEADER + payload.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&framed(&payload));
        fsutil::write_atomic(path, &bytes)?;
        self.snapshot = payload.len();
        self.appended = 0;
        self.unfinished = false;
        Ok(())
    }
}

/// A payload with its header.
fn framed(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(blake3::hash(payload).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// The first framed payload of `bytes` and what follows it, if it is whole and sound.
fn frame(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    if bytes.len() < HEADER {
        return None;
    }
    let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    let len = usize::try_from(len).ok()?;
    let body = bytes.get(HEADER..HEADER.checked_add(len)?)?;
    (blake3::hash(body).as_bytes() == &bytes[8..HEADER]).then(|| (body, &bytes[HEADER + len..]))
}

/// Appends entries to a journal file as actions finish. Not flushed to disk one by one: a
/// killed process loses nothing the kernel has, and a power cut loses at most the tail,
/// which reading then ignores.
pub struct Appender {
    file: File,
}

impl Appender {
    /// Open the journal at `path` for appending. Unless the file is known `sound` (it was
    /// just loaded whole), a missing or damaged one is first written as the snapshot
    /// `journal` gives, so appended entries always follow one.
    pub fn open(
        path: &Path,
        sound: bool,
        journal: impl FnOnce() -> Journal,
    ) -> io::Result<Appender> {
        let sound = sound
            || std::fs::read(path)
                .ok()
                .and_then(|b| b.strip_prefix(MAGIC.as_slice()).and_then(frame).map(|_| ()))
                .is_some();
        if !sound {
            journal().save(path)?;
        }
        let file = File::options().append(true).open(path)?;
        Ok(Appender { file })
    }

    /// Append `entry`; returns how many bytes it took.
    pub fn append(&mut self, entry: &Entry) -> io::Result<usize> {
        let payload = postcard::to_stdvec(entry).map_err(io::Error::other)?;
        let bytes = framed(&payload);
        // One write: entries never interleave, and a kill tears at most this one.
        self.file.write_all(&bytes)?;
        Ok(bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(k: &[u8]) -> ActionRecord {
        ActionRecord {
            key: Digest::of(k),
            outputs: vec![("o".into(), Digest::of(b"o"))],
            run_ms: Some(12),
        }
    }

    #[test]
    fn round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path());
        let mut j = Journal::default();
        j.actions.insert("a".into(), record(b"k"));
        j.save(&p).unwrap();
        let (loaded, warning) = Journal::load(&p);
        assert_eq!(loaded.actions, j.actions);
        assert!(warning.is_none() && !loaded.unfinished);
        std::fs::write(&p, b"garbage").unwrap();
        let (loaded, warning) = Journal::load(&p);
        assert!(loaded.actions.is_empty());
        assert!(warning.unwrap().contains("damaged"));
    }

    #[test]
    fn appended_entries_survive_a_kill_and_a_torn_one_is_where_reading_stops() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path());
        let mut j = Journal::default();
        j.actions.insert("old".into(), record(b"old"));
        j.actions.insert("gone".into(), record(b"gone"));
        let mut w = Appender::open(&p, false, || j).unwrap();
        let ran = |id: &str| Entry::Ran {
            id: id.into(),
            record: record(id.as_bytes()),
            stats: Vec::new(),
        };
        w.append(&ran("a")).unwrap();
        w.append(&Entry::Forgot {
            id: "gone".into(),
            outputs: vec!["o".into()],
        })
        .unwrap();
        w.append(&ran("b")).unwrap();
        drop(w);
        let (loaded, warning) = Journal::load(&p);
        assert!(warning.is_none());
        let mut ids: Vec<&str> = loaded.actions.keys().map(String::as_str).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["a", "b", "old"]);

        // Killed in the middle of writing entry "b": every prefix of it is ignored, "a"
        // and the forgetting before it stay.
        let whole = std::fs::read(&p).unwrap();
        let b_len = framed(&postcard::to_stdvec(&ran("b")).unwrap()).len();
        for cut in 1..b_len {
            std::fs::write(&p, &whole[..whole.len() - cut]).unwrap();
            let (loaded, warning) = Journal::load(&p);
            assert!(warning.is_none(), "a torn tail is no damage to report");
            assert!(loaded.actions.contains_key("a"), "cut {cut}");
            assert!(!loaded.actions.contains_key("b"), "cut {cut}");
            assert!(!loaded.actions.contains_key("gone"), "cut {cut}");
        }
        // A flipped byte inside an entry: that entry and what follows are not applied.
        let mut flipped = whole.clone();
        let at = whole.len() - b_len + HEADER + 1;
        flipped[at] ^= 1;
        std::fs::write(&p, &flipped).unwrap();
        let (loaded, _) = Journal::load(&p);
        assert!(!loaded.actions.contains_key("b"));

        // The end of a build: one snapshot again, nothing appended after it.
        let mut loaded = loaded;
        loaded.save(&p).unwrap();
        assert_eq!(Journal::load(&p).0.appended, 0);
    }

    #[test]
    fn a_build_that_began_and_did_not_end_was_killed() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path());
        let mut w = Appender::open(&p, false, Journal::default).unwrap();
        w.append(&Entry::Began).unwrap();
        assert!(Journal::load(&p).0.unfinished);
        w.append(&Entry::Ended).unwrap();
        let (j, _) = Journal::load(&p);
        assert!(!j.unfinished && j.appended > 0);
    }
}
