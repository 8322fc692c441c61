//! The recorder: what a build keeps of each action, as ninja's build log and deps log are
//! kept apart from its plan. The local cache (and the remote one through it), the
//! journal's records and stat cache, appended to disk as each action ends; the failure
//! logs; the state file ([`phases`]); the history of builds.

mod boards;
pub(crate) mod phases;

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};

use super::remote_link::{Doing, RemoteLink};
use super::runner::Ran;
use super::{Event, Progress, Summary};
use crate::beneath::Beneath;
use crate::cache::{ActionResult, Cache, CacheError, INLINE_MAX};
use crate::digest::{Digest, Stamp, StatCache};
use crate::graph::Action;
use crate::journal::{ActionRecord, Appender, Entry, Journal};
use crate::rule::Failure;
use crate::rule::failure::Kind;

/// Where a failed command's whole output is kept, relative to the workspace.
pub const LOGS_DIR: &str = ".batuta/logs";

/// Where the failed action `id`'s whole output is kept, relative to the workspace:
/// `.batuta/logs/<id as one file name>.log` (see `fsutil::file_name_of`).
pub fn log_of(id: &str) -> String {
    format!("{LOGS_DIR}/{}.log", crate::fsutil::file_name_of(id))
}

pub(crate) struct Recorder<'a> {
    pub root: &'a Path,
    pub cache: Cache,
    pub stat: RwLock<StatCache>,
    records: RwLock<HashMap<String, ActionRecord>>,
    /// Whether `records` changed, so a no-op build need not rewrite the journal.
    changed: AtomicBool,
    journal_path: PathBuf,
    /// Opened at the first entry: a no-op build writes nothing.
    appender: Mutex<Option<Appender>>,
    /// Whether this build said it began writing (see [`Recorder::begin`]).
    began: AtomicBool,
    /// Bytes appended to the journal by this build, and by builds before it since the
    /// snapshot, and the snapshot's size (see `Journal::worth_compacting`).
    appended: std::sync::atomic::AtomicUsize,
    journal_appended: usize,
    journal_snapshot: usize,
    /// Whether the logs folder existed when the build started (so that a success need not
    /// look for a stale log when there can be none).
    logs: AtomicBool,
    pub remote: Option<&'a RemoteLink<'a>>,
    progress: &'a dyn Progress,
    /// Files are stat-ed relative to their folder, opened once (see `crate::folders`).
    folders: crate::folders::Folders,
}

impl<'a> Recorder<'a> {
    pub fn new(
        root: &'a Path,
        cache_dir: &Path,
        journal: Journal,
        journal_path: PathBuf,
        remote: Option<&'a RemoteLink<'a>>,
        progress: &'a dyn Progress,
        packs_read: Option<std::sync::Arc<crate::cache::Packs>>,
    ) -> Recorder<'a> {
        let (journal_appended, journal_snapshot) = (journal.appended, journal.snapshot);
        Recorder {
            journal_appended,
            journal_snapshot,
            root,
            cache: Cache::new(cache_dir).after(packs_read),
            stat: RwLock::new(journal.stat),
            records: RwLock::new(journal.actions),
            changed: AtomicBool::new(false),
            journal_path,
            appender: Mutex::new(None),
            began: AtomicBool::new(false),
            appended: std::sync::atomic::AtomicUsize::new(0),
            logs: AtomicBool::new(root.join(LOGS_DIR).is_dir()),
            remote,
            progress,
            folders: crate::folders::Folders::new(root),
        }
    }

    fn warn(&self, w: String) {
        self.progress.event(Event::Warning(&w));
    }

    /// The digest of a workspace file through the stat cache (`Ok(None)`: no such file).
    pub fn digest(&self, rel: &str) -> io::Result<Option<Digest>> {
        self.folders.digest(&self.stat, rel)
    }

    /// The build is about to write in the workspace for the first time: the journal says
    /// so first, so that if it is killed the next build knows to sweep what it left.
    pub fn begin(&self) {
        if !self.began.swap(true, Ordering::Relaxed) {
            self.append(Entry::Began);
        }
    }

    /// Remove the files earlier builds wrote that no action writes any more (`writes`, see
    /// `crate::stale`), and forget the records that named them, in the journal too.
    pub fn sweep_stale(&self, writes: &HashSet<String>) -> Vec<crate::stale::Swept> {
        let (swept, dropped) = {
            let mut records = self.records.write().expect("records lock");
            crate::stale::sweep(self.root, &mut records, writes, &self.stat)
        };
        if !dropped.is_empty() {
            self.begin();
        }
        for (id, outputs) in dropped {
            self.append(Entry::Forgot { id, outputs });
        }
        swept
    }

    /// Whether the action has a record of a last run.
    pub fn has_record(&self, id: &str) -> bool {
        self.records.read().expect("records lock").contains_key(id)
    }

    /// Whether the action's last run had this key and left the outputs that are there now.
    pub fn up_to_date(&self, a: &Action, key: &Digest) -> bool {
        let records = self.records.read().expect("records lock");
        let Some(record) = records.get(&a.id).filter(|r| r.key == *key) else {
            return false;
        };
        record
            .outputs
            .iter()
            .all(|(path, want)| matches!(self.digest(path), Ok(Some(d)) if d == *want))
    }

    /// Restore outputs from the action cache. `Ok(false)` on a miss.
    pub fn restore(&self, a: &Action, key: &Digest) -> Result<bool, CacheError> {
        let Some(result) = self.cache.get_action(key)? else {
            return Ok(false);
        };
        for (path, digest, exec) in &result.outputs {
            let current = self.digest(path).ok().flatten();
            if current != Some(*digest) {
                // Put in place without following a link an action may have planted.
                let place = Beneath::open(self.root, path, true)?;
                self.cache
                    .restore_output(&result, digest, &place.path(), *exec)?;
                self.stat
                    .write()
                    .expect("stat lock")
                    .record(self.root, path, *digest);
            }
        }
        let outputs = result.outputs.iter().map(|(p, d, _)| (p.clone(), *d));
        self.remember(a, key, outputs.collect(), None);
        Ok(true)
    }

    /// Fetch the action's result from the remote cache into the local one and restore it.
    /// `false` on a miss or any failure (reported), so the action runs.
    pub fn restore_remote(&self, a: &Action, key: &Digest) -> bool {
        let Some(link) = self.remote else {
            return false;
        };
        let Some(remote) = link.live() else {
            return false;
        };
        let result = match remote.fetch(key, &a.outputs, &self.cache) {
            Ok(Some(r)) => r,
            Ok(None) => return false,
            Err(e) => {
                link.failed(a, e, Doing::Fetch);
                return false;
            }
        };
        // Every output must be one the action declares: a result for other paths is not
        // this action's, whatever the server says.
        let declared = result.outputs.len() == a.outputs.len()
            && result.outputs.iter().all(|(p, _, _)| a.outputs.contains(p));
        if !declared {
            let e = crate::remote::RemoteError::Unusable(
                "its outputs are not the action's declared outputs".into(),
            );
            link.failed(a, e, Doing::Fetch);
            return false;
        }
        if let Err(e) = self.cache.put_action(key, &result) {
            self.warn(format!(
                "{}: could not store the remote result in the local cache: {e}",
                a.id
            ));
            return false;
        }
        match self.restore(a, key) {
            Ok(restored) => restored,
            Err(e) => {
                self.warn(format!("{}: {e}; running the action instead", a.id));
                false
            }
        }
    }

    /// Record what a successful run wrote (`outputs`: path, digest, executable, and the
    /// bytes of the small ones), in the cache when the action is cached, and in the
    /// journal.
    pub fn ran(
        &self,
        a: &Action,
        key: &Digest,
        outputs: Vec<(String, Digest, bool, Option<Vec<u8>>)>,
        ran: &Ran,
        run_ms: u32,
    ) {
        if self.logs.load(Ordering::Relaxed) {
            let _ = crate::fsutil::remove_file_if_exists(&self.log_path(&a.id));
        }
        if !a.cache {
            return;
        }
        let recorded: Vec<(String, Digest, bool)> = outputs
            .iter()
            .map(|(p, d, x, _)| (p.clone(), *d, *x))
            .collect();
        let small = outputs.into_iter().map(|(_, _, _, b)| b).collect();
        match self.store(key, &recorded, small, ran) {
            Ok(result) => self.upload(a, key, &result),
            Err(e) => self.warn(format!(
                "{}: could not store the result in the cache: {e}",
                a.id
            )),
        }
        let outputs = recorded.into_iter().map(|(p, d, _)| (p, d)).collect();
        self.remember(a, key, outputs, Some(run_ms));
    }

    /// Cache a run: small blobs (`small[i]` holds output `i`'s bytes when it is one) in the
    /// action record, larger ones in `cas/`.
    fn store(
        &self,
        key: &Digest,
        outputs: &[(String, Digest, bool)],
        small: Vec<Option<Vec<u8>>>,
        ran: &Ran,
    ) -> io::Result<ActionResult> {
        let mut result = ActionResult {
            outputs: outputs.to_vec(),
            exit_code: 0,
            stdout: Digest::of(&ran.stdout),
            stderr: Digest::of(&ran.stderr),
            inline: Vec::new(),
        };
        for ((path, digest, _), bytes) in outputs.iter().zip(small) {
            match bytes {
                Some(b) => result.add_inline(*digest, b),
                None => self.cache.put_file(&self.root.join(path), digest)?,
            }
        }
        for (digest, bytes) in [(result.stdout, &ran.stdout), (result.stderr, &ran.stderr)] {
            if bytes.len() as u64 <= INLINE_MAX {
                result.add_inline(digest, bytes.clone());
            } else {
                self.cache.put_bytes(bytes)?;
            }
        }
        self.cache.put_action(key, &result)?;
        Ok(result)
    }

    /// Share a successful run's result (the remote does nothing when read-only).
    fn upload(&self, a: &Action, key: &Digest, result: &ActionResult) {
        let Some(link) = self.remote else {
            return;
        };
        let Some(remote) = link.live() else {
            return;
        };
        if let Err(e) = remote.upload(key, &a.outputs, result, &self.cache) {
            link.failed(a, e, Doing::Upload);
        }
    }

    /// Record a successful run, or a restore (`run_ms` `None`: the last run's time stays),
    /// and append it to the journal on disk at once.
    fn remember(
        &self,
        a: &Action,
        key: &Digest,
        outputs: Vec<(String, Digest)>,
        run_ms: Option<u32>,
    ) {
        self.changed.store(true, Ordering::Relaxed);
        let record = {
            let mut records = self.records.write().expect("records lock");
            let run_ms = run_ms.or_else(|| records.get(&a.id).and_then(|r| r.run_ms));
            let record = ActionRecord {
                key: *key,
                outputs,
                run_ms,
            };
            records.insert(a.id.clone(), record.clone());
            record
        };
        let stats = {
            let stat = self.stat.read().expect("stat lock");
            record
                .outputs
                .iter()
                .filter_map(|(p, _)| {
                    let (stamp, digest): (Stamp, Digest) = stat.get(p)?;
                    Some((p.clone(), stamp, digest))
                })
                .collect()
        };
        self.append(Entry::Ran {
            id: a.id.clone(),
            record,
            stats,
        });
    }

    /// Nothing half-written stays behind as an output, and the action's record goes.
    pub fn discard(&self, a: &Action) {
        for out in &a.outputs {
            if let Ok(place) = Beneath::open(self.root, out, false) {
                let _ = place.remove();
            }
            self.stat.write().expect("stat lock").forget(out);
        }
        let removed = self
            .records
            .write()
            .expect("records lock")
            .remove(&a.id)
            .is_some();
        if removed {
            self.changed.store(true, Ordering::Relaxed);
            self.append(Entry::Forgot {
                id: a.id.clone(),
                outputs: a.outputs.clone(),
            });
        }
    }

    fn append(&self, entry: Entry) {
        let mut appender = self.appender.lock().expect("appender lock");
        if appender.is_none() {
            // A snapshot was read whole from the file at the start: it is sound.
            let sound = self.journal_snapshot > 0;
            match Appender::open(&self.journal_path, sound, || self.snapshot()) {
                Ok(a) => *appender = Some(a),
                Err(e) => {
                    // Said once: without it the journal is still saved at the end.
                    self.warn(format!(
                        "cannot append to {}: {e}; a killed build will lose its progress",
                        self.journal_path.display()
                    ));
                    return;
                }
            }
        }
        if let Some(w) = appender.as_mut() {
            match w.append(&entry) {
                Ok(n) => {
                    self.appended.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => {
                    self.warn(format!(
                        "cannot append to {}: {e}",
                        self.journal_path.display()
                    ));
                    *appender = None;
                }
            }
        }
    }

    /// The journal as it stands, to start a file that entries can follow.
    fn snapshot(&self) -> Journal {
        Journal {
            stat: self.stat.read().expect("stat lock").clone(),
            actions: self.records.read().expect("records lock").clone(),
            ..Journal::default()
        }
    }

    fn log_path(&self, id: &str) -> PathBuf {
        self.root.join(log_of(id))
    }

    /// Keep a failed command's whole output where its failure says: the andon shows only
    /// its last lines.
    pub fn failed(&self, a: &Action, mut f: Failure) -> Failure {
        if let Kind::Command { log, .. } = f.kind.as_mut()
            && !f.detail.is_empty()
        {
            let path = self.log_path(&a.id);
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| {
                    crate::fsutil::write_replace(
                        &path,
                        f.detail.as_bytes(),
                        crate::fsutil::Durability::Deferred,
                    )
                });
            match written {
                Ok(()) => {
                    self.logs.store(true, Ordering::Relaxed);
                    *log = Some(log_of(&a.id));
                }
                Err(e) => self.warn(format!("{}: cannot keep its output: {e}", a.id)),
            }
        }
        f
    }

    /// The end of the build: the cache made durable, the remote's uploads finished, the
    /// journal told the build ended, and the journal as it now stands, with whether this
    /// build changed it.
    /// End the build's records: the journal as it now stands, whether this build changed
    /// it, and the cache's packs as read (for the next build of the process).
    pub fn finish(self) -> (Journal, bool, Option<std::sync::Arc<crate::cache::Packs>>) {
        if self.began.load(Ordering::Relaxed) {
            self.append(Entry::Ended);
        }
        if let Some(link) = self.remote {
            link.finish();
        }
        if let Err(e) = self.cache.flush() {
            self.warn(format!("could not flush the cache to disk: {e}"));
        }
        let changed = self.changed.load(Ordering::Relaxed);
        let journal = Journal {
            stat: self.stat.into_inner().expect("stat lock"),
            actions: self.records.into_inner().expect("records lock"),
            unfinished: false,
            appended: self.journal_appended + self.appended.load(Ordering::Relaxed),
            snapshot: self.journal_snapshot,
        };
        (journal, changed, self.cache.packs_read())
    }
}

/// Remove what a killed build left: batuta's temporary files beside the outputs, in the
/// workspace and in `.batuta/`, the staging folders, and in the cache its unsealed pack and
/// temporary blobs. Returns how many files went.
pub(crate) fn sweep(root: &Path, g: &crate::graph::ActionGraph, cache: &Cache) -> usize {
    let mut dirs: std::collections::BTreeSet<PathBuf> = g
        .actions
        .iter()
        .flat_map(|a| &a.outputs)
        .filter_map(|o| root.join(o).parent().map(Path::to_path_buf))
        .collect();
    dirs.insert(root.to_path_buf());
    dirs.insert(root.join(".batuta"));
    let _ = std::fs::remove_dir_all(root.join(super::staging::STAGING_DIR));
    crate::fsutil::sweep_temporaries(dirs.iter().map(PathBuf::as_path)) + cache.sweep()
}

/// Add a build that did something to `.batuta/history.jsonl`.
pub(crate) fn history(root: &Path, target: &str, s: &Summary, progress: &dyn Progress) {
    if s.executed + s.cached + s.failed == 0 && !s.cancelled {
        return;
    }
    let entry = crate::history::Entry {
        finished: crate::state::now_rfc3339(),
        target: target.to_owned(),
        duration_ms: s.duration.as_millis() as u64,
        executed: s.executed,
        cached: s.cached,
        up_to_date: s.up_to_date,
        failed: s.failed,
        cancelled: s.cancelled,
    };
    if let Err(e) = crate::history::append(root, &entry) {
        let w = format!("could not add the build to its history: {e}");
        progress.event(Event::Warning(&w));
    }
}
