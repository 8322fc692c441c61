//! File events: notify with notify-debouncer-full, watching folders one by one
//! (non-recursively) so batuta's own cache and build folders like `target/` stay unwatched.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify_debouncer_full::notify::{self, EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

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
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    pub fn merge(&mut self, other: Changes) {
        self.paths.extend(other.paths);
        self.reshaped.extend(other.reshaped);
        self.new_dirs.extend(other.new_dirs);
    }
}

pub struct Watcher {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    rx: mpsc::Receiver<DebounceEventResult>,
    watched: HashSet<PathBuf>,
}

impl Watcher {
    /// Events closer together than `debounce` arrive as one batch.
    pub fn new(debounce: Duration) -> Result<Watcher, WatchError> {
        let (tx, rx) = mpsc::channel();
        // Tick often so a batch is delivered soon after its quiet period ends.
        let tick = (debounce / 4).max(Duration::from_millis(5));
        let debouncer = new_debouncer(debounce, Some(tick), move |r| {
            let _ = tx.send(r);
        })
        .map_err(WatchError::Start)?;
        Ok(Watcher {
            debouncer,
            rx,
            watched: HashSet::new(),
        })
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
            match self.debouncer.watch(dir, RecursiveMode::NonRecursive) {
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

    /// The next batch of changes, waiting at most `timeout`; `Ok(None)` when none came.
    pub fn next(&self, timeout: Duration) -> Result<Option<Changes>, WatchError> {
        match self.rx.recv_timeout(timeout) {
            Ok(batch) => {
                let mut changes = to_changes(batch)?;
                // Take whatever else is already queued, so one save is one build.
                while let Ok(more) = self.rx.try_recv() {
                    changes.merge(to_changes(more)?);
                }
                Ok(Some(changes))
            }
            Err(_) => Ok(None),
        }
    }
}

fn to_changes(batch: DebounceEventResult) -> Result<Changes, WatchError> {
    let events = match batch {
        Ok(events) => events,
        Err(errors) => {
            if errors.iter().any(is_limit) {
                return Err(WatchError::Limit { watched: 0 });
            }
            // Other watcher errors (a folder vanished under a watch) lose no change that
            // matters: the paths involved are reported by other events.
            for e in errors {
                tracing::debug!(error = %e, "watcher error");
            }
            return Ok(Changes::default());
        }
    };
    let mut c = Changes::default();
    for e in events {
        let shape = matches!(
            e.kind,
            EventKind::Create(_)
                | EventKind::Remove(_)
                | EventKind::Modify(notify::event::ModifyKind::Name(_))
        );
        // Reading a file is no change.
        if matches!(e.kind, EventKind::Access(_)) {
            continue;
        }
        for p in &e.paths {
            if shape {
                if p.is_dir() {
                    c.new_dirs.push(p.clone());
                }
                c.reshaped.insert(p.clone());
            }
            c.paths.insert(p.clone());
        }
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
        use notify_debouncer_full::DebouncedEvent;
        let dir = tempfile::tempdir().unwrap();
        let (new, edited) = (dir.path().join("new.py"), dir.path().join("old.py"));
        let event = |kind, path: &PathBuf| {
            DebouncedEvent::new(
                notify::Event::new(kind).add_path(path.clone()),
                std::time::Instant::now(),
            )
        };
        let c = to_changes(Ok(vec![
            event(EventKind::Create(CreateKind::File), &new),
            event(
                EventKind::Modify(ModifyKind::Data(DataChange::Content)),
                &edited,
            ),
            event(
                EventKind::Access(notify::event::AccessKind::Read),
                &dir.path().join("read.py"),
            ),
        ]))
        .unwrap();
        assert_eq!(c.paths, [new.clone(), edited].into_iter().collect());
        assert_eq!(c.reshaped, [new].into_iter().collect());
        assert!(c.new_dirs.is_empty());
    }
}
