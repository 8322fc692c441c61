//! Stat-ing many workspace files quickly: each file's folder is opened once (`O_PATH`) and
//! its files are stat-ed relative to it (`fstatat`), so the kernel looks up one name per
//! file instead of every folder on its path. A no-op build stats every input and output
//! of the graph; path lookup was the largest share of its time.

use std::collections::HashMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::digest::{Digest, Stamp, StatCache, hash_file};

/// Grow the process's descriptor table to hold `n` descriptors, once, while no other
/// thread runs. A build holds a descriptor per folder it stats in ([`Folders`]); the kernel
/// grows the table by doubling, and a growth with threads running waits for an RCU grace
/// period first (milliseconds each: at 2,000 folders most of a no-op's time). Growing it
/// before any thread exists costs a copy. Capped by the soft limit on open files.
///
/// # Safety
/// No other thread may exist yet: one could be handed the descriptor this borrows.
pub unsafe fn reserve_descriptors(n: usize) {
    let mut limit: libc::rlimit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return;
    }
    let top = (n as u64).min(limit.rlim_cur) as libc::c_int - 1;
    if top <= 2 {
        return;
    }
    // SAFETY: duplicating stderr to a free high number and closing that copy again.
    unsafe {
        if libc::fcntl(top, libc::F_GETFD) == -1 && libc::dup2(2, top) == top {
            libc::close(top);
        }
    }
}

/// The folder at `path`, opened to stat relative to it (`O_PATH`); `None` when it is
/// not there, not a folder, or cannot be opened.
pub fn open_folder(path: &Path) -> Option<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: open of a NUL-terminated path; the descriptor is owned below.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    // SAFETY: a descriptor just opened, owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The stamp of `name` in the folder `fd` and whether it is a regular file; `Ok(None)`
/// when nothing is there. Follows a final link.
pub fn stat_at(fd: &OwnedFd, name: &str) -> io::Result<Option<(Stamp, bool)>> {
    let name = cstr(name)?;
    // SAFETY: stat is plain data that fstatat fills.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstatat on a folder held open and a NUL-terminated name.
    if unsafe { libc::fstatat(fd.as_raw_fd(), name.as_ptr(), &mut st, 0) } != 0 {
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::NotFound => Ok(None),
            _ => Err(e),
        };
    }
    let regular = st.st_mode & libc::S_IFMT == libc::S_IFREG;
    Ok(Some((Stamp::of_stat(&st), regular)))
}

pub struct Folders {
    root: PathBuf,
    /// Each folder opened so far, by its workspace-relative path (`None`: it cannot be).
    open: RwLock<HashMap<String, Option<Arc<OwnedFd>>>>,
}

fn cstr(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a path"))
}

impl Folders {
    pub fn new(root: &Path) -> Folders {
        Folders {
            root: root.to_path_buf(),
            open: RwLock::new(HashMap::new()),
        }
    }

    fn folder(&self, dir: &str) -> Option<Arc<OwnedFd>> {
        if let Some(known) = self.open.read().expect("folders lock").get(dir) {
            return known.clone();
        }
        let path = if dir.is_empty() {
            self.root.clone()
        } else {
            self.root.join(dir)
        };
        let fd = open_folder(&path).map(Arc::new);
        self.open
            .write()
            .expect("folders lock")
            .insert(dir.to_owned(), fd.clone());
        fd
    }

    /// The stamp of the file at `rel` and whether it is a regular file; `Ok(None)` when
    /// nothing is there. Follows a final link, as `std::fs::metadata` does.
    pub fn stat(&self, rel: &str) -> io::Result<Option<(Stamp, bool)>> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let Some(fd) = self.folder(dir) else {
            // The folder is not there (or not a folder): neither is the file, or it cannot
            // be reached, which the plain path says best.
            return match std::fs::metadata(self.root.join(rel)) {
                Ok(m) => Ok(Some((Stamp::of(&m), m.is_file()))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            };
        };
        stat_at(&fd, name)
    }

    /// The digest of the file at `rel` through the stat cache, as `crate::digest::digest`
    /// gives it, with the stat made relative to the file's folder.
    pub fn digest(&self, cache: &RwLock<StatCache>, rel: &str) -> io::Result<Option<Digest>> {
        let Some((stamp, regular)) = self.stat(rel)? else {
            return Ok(None);
        };
        if !regular {
            return Err(io::Error::other(format!("{rel} is not a regular file")));
        }
        if let Some(d) = cache
            .read()
            .expect("stat cache lock")
            .trusted_stamp(rel, stamp)
        {
            return Ok(Some(d));
        }
        // Hashed, then stamped again: the stamp recorded is one the content had.
        let d = hash_file(&self.root.join(rel))?;
        match self.stat(rel)? {
            Some((after, _)) if after == stamp => {
                cache
                    .write()
                    .expect("stat cache lock")
                    .insert_stamp(rel, stamp, d);
            }
            _ => {}
        }
        Ok(Some(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_agree_with_the_plain_path_and_see_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/c.txt"), "one").unwrap();
        let f = Folders::new(dir.path());
        let cache = RwLock::new(StatCache::default());
        assert_eq!(
            f.digest(&cache, "a/b/c.txt").unwrap(),
            Some(Digest::of(b"one"))
        );
        assert_eq!(
            f.digest(&cache, "a/b/c.txt").unwrap(),
            crate::digest::digest(&cache, dir.path(), "a/b/c.txt").unwrap()
        );
        std::fs::write(dir.path().join("a/b/c.txt"), "two!").unwrap();
        assert_eq!(
            f.digest(&cache, "a/b/c.txt").unwrap(),
            Some(Digest::of(b"two!"))
        );
        assert_eq!(f.digest(&cache, "a/b/missing").unwrap(), None);
        assert_eq!(f.digest(&cache, "nowhere/x").unwrap(), None);
        assert!(f.digest(&cache, "a/b").is_err(), "a folder is not a file");
        // A folder made after it was first asked for is found.
        std::fs::create_dir(dir.path().join("later")).unwrap();
        std::fs::write(dir.path().join("later/x"), "x").unwrap();
        assert_eq!(f.stat("later/x").unwrap().map(|(_, r)| r), Some(true));
    }
}
