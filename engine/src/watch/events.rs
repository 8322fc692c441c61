//! File events: notify's watcher, folder by folder (non-recursively, so batuta's own cache
//! and build folders like `target/` stay unwatched), gathered into batches here.
//!
//! A batch is due once no event came for the debounce period. The wait is a blocking
//! receive up to that moment: no timer ticks while nothing happens, and a batch leaves as
//! soon as it is due rather than at the next tick of a polling debouncer (which cost an
//! edit a quarter of the debounce on average). A [`Waker`] ends a wait early, so the loop
//! hears of a build's end at once.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};

/// Why watching cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(
        "the system's limit of inotify watches is reached (watching {watched} folders)\n  \
         help: raise it, e.g. `sudo sysctl fs.inotify.max_user_watches=524288` \
         (add it to /etc/sysctl.conf to keep it), or exclude folders with project.exclude"
    )]
    Limit { watched: usize },
    #[error("cannot watch {path}: {source}")]
    Watch {
        path: PathBuf,
        source: notify::Error,
    },
    #[error("cannot start watching files: {0}")]
    Start(notify::Error),
}

/// What changed in one debounced batch.
#[derive(Debug, Default)]
pub struct Changes {
    /// Every path an event named (absolute).
    pub paths: BTreeSet<PathBuf>,
    /// The paths that came or went (create, remove, rename), a subset of `paths`.
    pub reshaped: BTreeSet<PathBuf>,
    /// Folders that appeared, to be watched too.
    pub new_dirs: Vec<PathBuf>,
    /// Events were lost (the kernel's queue overflowed): anything may have changed.
    pub lost: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && !self.lost
    }

    pub fn merge(&mut self, other: Changes) {
        self.paths.extend(other.paths);
        self.reshaped.extend(other.reshaped);
        self.new_dirs.extend(other.new_dirs);
        self.lost |= other.lost;
    }
}

enum Message {
    Event(notify::Result<notify::Event>),
    Wake,
}

/// Ends the watcher's current wait (see [`Watcher::next`]) from another thread.
#[derive(Clone)]
pub struct Waker(mpsc::Sender<Message>);

impl Waker {
    pub fn wake(&self) {
        let _ = self.0.send(Message::Wake);
    }
}

/// Events gathered into a batch that is not due yet.
struct Gathering {
    changes: Changes,
    first: Instant,
    last: Instant,
}

/// How many debounce periods a batch may keep gathering while events keep coming (a log
/// file written every few milliseconds must not hold back an edit for ever).
const LONGEST: u32 = 4;

pub struct Watcher {
    watcher: RecommendedWatcher,
    tx: mpsc::Sender<Message>,
    rx: mpsc::Receiver<Message>,
    debounce: Duration,
    gathering: Option<Gathering>,
    watched: HashSet<PathBuf>,
}

impl Watcher {
    /// Events closer together than `debounce` arrive as one batch.
    pub fn new(debounce: Duration) -> Result<Watcher, WatchError> {
        let (tx, rx) = mpsc::channel();
        let events = tx.clone();
        let watcher = notify::recommended_watcher(move |e| {
            let _ = events.send(Message::Event(e));
        })
        .map_err(WatchError::Start)?;
        Ok(Watcher {
            watcher,
            tx,
            rx,
            debounce,
            gathering: None,
            watched: HashSet::new(),
        })
    }

    /// What ends a wait of [`Watcher::next`] early.
    pub fn waker(&self) -> Waker {
        Waker(self.tx.clone())
    }

    /// Watch each folder (not its subfolders) that is not watched yet.
    pub fn watch<'a>(
        &mut self,
        dirs: impl IntoIterator<Item = &'a Path>,
    ) -> Result<(), WatchError> {
        for dir in dirs {
            if self.watched.contains(dir) || !dir.is_dir() {
                continue;
            }
            match self.watcher.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(dir.to_path_buf());
                }
                Err(e) if is_limit(&e) => {
                    return Err(WatchError::Limit {
                        watched: self.watched.len(),
                    });
                }
                // A folder removed between listing and watching is no error.
                Err(_) if !dir.exists() => {}
                Err(e) => {
                    return Err(WatchError::Watch {
                        path: dir.to_path_buf(),
                        source: e,
                    });
                }
            }
        }
        Ok(())
    }

    pub fn watched(&self) -> usize {
        self.watched.len()
    }

    /// The next batch of changes, once it is due, waiting at most `timeout`, or less when
    /// woken; `Ok(None)` when no batch became due by then. Events received meanwhile are
    /// kept for the next call.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<Changes>, WatchError> {
        let until = Instant::now() + timeout;
        loop {
            let now = Instant::now();
            let due = self
                .gathering
                .as_ref()
                .map(|g| (g.last + self.debounce).min(g.first + self.debounce * LONGEST));
            if due.is_some_and(|d| d <= now) {
                return Ok(self.gathering.take().map(|g| g.changes));
            }
            if now >= until {
                return Ok(None);
            }
            let wait = due.map_or(until, |d| d.min(until)) - now;
            match self.rx.recv_timeout(wait) {
                Ok(Message::Event(e)) => {
                    let c = to_changes(e)?;
                    if c.is_empty() {
                        continue;
                    }
                    let now = Instant::now();
                    let g = self.gathering.get_or_insert_with(|| Gathering {
                        changes: Changes::default(),
                        first: now,
                        last: now,
                    });
                    g.changes.merge(c);
                    g.last = now;
                }
                Ok(Message::Wake) => return Ok(None),
                Err(_) => {}
            }
        }
    }
}

fn to_changes(event: notify::Result<notify::Event>) -> Result<Changes, WatchError> {
    let mut c = Changes::default();
    let e = match event {
        Ok(e) => e,
        Err(e) if is_limit(&e) => return Err(WatchError::Limit { watched: 0 }),
        // Other watcher errors (a folder vanished under a watch) lose no change that
        // matters: the paths involved are reported by other events.
        Err(e) => {
            tracing::debug!(error = %e, "watcher error");
            return Ok(c);
        }
    };
    if e.need_rescan() {
        c.lost = true;
    }
    // Reading a file is no change.
    if matches!(e.kind, EventKind::Access(_)) {
        return Ok(c);
    }
    let shape = matches!(
        e.kind,
        EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(notify::event::ModifyKind::Name(_))
    );
    for p in e.paths {
        if shape {
            if p.is_dir() {
                c.new_dirs.push(p.clone());
            }
            c.reshaped.insert(p.clone());
        }
        c.paths.insert(p);
    }
    Ok(c)
}

fn is_limit(e: &notify::Error) -> bool {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => true,
        // inotify_add_watch says ENOSPC when the watch limit is reached.
        notify::ErrorKind::Io(io) => io.raw_os_error() == Some(28),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_watches_is_recognised_and_says_how_to_raise_the_limit() {
        // inotify_add_watch reports the limit as ENOSPC; notify may also say MaxFilesWatch.
        let enospc = notify::Error::io(std::io::Error::from_raw_os_error(28));
        assert!(is_limit(&enospc));
        assert!(is_limit(&notify::Error::new(
            notify::ErrorKind::MaxFilesWatch
        )));
        let other = notify::Error::io(std::io::Error::from_raw_os_error(13));
        assert!(!is_limit(&other));
        let text = WatchError::Limit { watched: 8192 }.to_string();
        assert!(text.contains("fs.inotify.max_user_watches"), "{text}");
        assert!(text.contains("8192"), "{text}");
    }

    #[test]
    fn a_batch_separates_what_came_or_went_from_what_was_written() {
        use notify::event::{CreateKind, DataChange, ModifyKind};
        let dir = tempfile::tempdir().unwrap();
        let (new, edited) = (dir.path().join("new.py"), dir.path().join("old.py"));
        let event = |kind, path: &PathBuf| {
            to_changes(Ok(notify::Event::new(kind).add_path(path.clone()))).unwrap()
        };
        let mut c = event(EventKind::Create(CreateKind::File), &new);
        c.merge(event(
            EventKind::Modify(ModifyKind::Data(DataChange::Content)),
            &edited,
        ));
        c.merge(event(
            EventKind::Access(notify::event::AccessKind::Read),
            &dir.path().join("read.py"),
        ));
        assert_eq!(c.paths, [new.clone(), edited].into_iter().collect());
        assert_eq!(c.reshaped, [new].into_iter().collect());
        assert!(c.new_dirs.is_empty());
        assert!(!c.lost);
        let overflow = to_changes(Ok(
            notify::Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan)
        ))
        .unwrap();
        assert!(overflow.lost && !overflow.is_empty());
    }

    #[test]
    fn a_batch_is_due_after_a_quiet_period_and_a_waker_ends_a_wait() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Watcher::new(Duration::from_millis(100)).unwrap();
        w.watch([dir.path()]).unwrap();
        let waker = w.waker();
        let t = Instant::now();
        let waking = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            waker.wake();
        });
        assert!(w.next(Duration::from_secs(10)).unwrap().is_none());
        let woken = t.elapsed();
        waking.join().unwrap();
        assert!(woken < Duration::from_secs(5), "woken after {woken:?}");

        let file = dir.path().join("a.py");
        std::fs::write(&file, "a").unwrap();
        let t = Instant::now();
        let batch = loop {
            if let Some(c) = w.next(Duration::from_secs(10)).unwrap() {
                break c;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "no batch");
        };
        assert!(batch.paths.contains(&file), "{batch:?}");
        // Not before its quiet period.
        assert!(
            t.elapsed() >= Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
    }
}
