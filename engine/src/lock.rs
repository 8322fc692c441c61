//! One workspace, one writer: the commands that write the journal, the state file, the cache
//! or outputs hold `.batuta/lock` while they do, so two builds never interleave their writes.
//!
//! The lock is an advisory file lock (flock on Unix, LockFileEx on Windows), released by the
//! kernel when its holder exits, however it exits: a crashed build leaves no stale lock. The
//! file holds the holder's pid, only to tell a waiting user who it waits for.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often a waiting command looks at the lock (and at Ctrl-C).
const POLL: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another batuta{} is working in this workspace (it holds {path})", holder_text(*.holder))]
    Busy { path: PathBuf, holder: Option<u32> },
    #[error("cancelled while waiting for the workspace lock")]
    Cancelled,
    #[error("cannot lock {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn holder_text(holder: Option<u32>) -> String {
    holder.map_or_else(String::new, |pid| format!(" (pid {pid})"))
}

/// Held for as long as it lives.
#[derive(Debug)]
pub struct WorkspaceLock {
    _file: File,
}

/// How a command waits for the lock.
pub enum Wait<'a> {
    /// Fail at once with [`LockError::Busy`].
    No,
    /// Wait until the holder is done or `cancel` is set; `waiting` is told once who holds it.
    Until {
        cancel: &'a AtomicBool,
        waiting: &'a mut dyn FnMut(Option<u32>),
    },
}

pub fn path(root: &Path) -> PathBuf {
    root.join(".batuta").join("lock")
}

impl WorkspaceLock {
    pub fn acquire(root: &Path, wait: Wait<'_>) -> Result<WorkspaceLock, LockError> {
        let path = path(root);
        let io_error = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_error)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error)?;
        let mut told = false;
        let mut wait = wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(io_error(e)),
            }
            let holder = read_pid(&mut file);
            match &mut wait {
                Wait::No => return Err(LockError::Busy { path, holder }),
                Wait::Until { cancel, waiting } => {
                    if cancel.load(Ordering::SeqCst) {
                        return Err(LockError::Cancelled);
                    }
                    if !told {
                        waiting(holder);
                        told = true;
                    }
                }
            }
            std::thread::sleep(POLL);
        }
        // Ours now: say who holds it. A failure here loses only the courtesy.
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| write!(file, "{}", std::process::id()))
            .and_then(|()| file.flush());
        Ok(WorkspaceLock { _file: file })
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_or_waits_until_the_first_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let first = WorkspaceLock::acquire(dir.path(), Wait::No).unwrap();
        match WorkspaceLock::acquire(dir.path(), Wait::No) {
            Err(LockError::Busy { holder, .. }) => assert_eq!(holder, Some(std::process::id())),
            other => panic!("expected Busy, got {other:?}"),
        }
        let released = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(first);
        });
        let cancel = AtomicBool::new(false);
        let mut told = Vec::new();
        let second = WorkspaceLock::acquire(
            dir.path(),
            Wait::Until {
                cancel: &cancel,
                waiting: &mut |pid| told.push(pid),
            },
        );
        released.join().unwrap();
        assert!(second.is_ok());
        assert_eq!(told, [Some(std::process::id())]);
    }

    #[test]
    fn waiting_stops_on_cancel() {
        let dir = tempfile::tempdir().unwrap();
        let _first = WorkspaceLock::acquire(dir.path(), Wait::No).unwrap();
        let cancel = AtomicBool::new(true);
        let r = WorkspaceLock::acquire(
            dir.path(),
            Wait::Until {
                cancel: &cancel,
                waiting: &mut |_| {},
            },
        );
        assert!(matches!(r, Err(LockError::Cancelled)));
    }
}
