//! Writing an output without leaving the workspace, whatever an action left on the way.
//!
//! The manifest's paths are checked when it loads (BATUTA-M-009), but an action runs
//! between that check and batuta's writes: one that plants `out/m -> ../sibling` would
//! make batuta's move of a later output `out/m/x` write into `sibling/`. So every output
//! batuta puts in place, removes or reads back is reached by a walk that opens each folder
//! on its way from the workspace with `O_NOFOLLOW` (making it when asked), as
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` would: a symbolic link anywhere on the
//! way is an error, never followed. What is then done to the file is done relative to the
//! folder so opened (`renameat`, `unlinkat`), or through a path that names that open folder
//! (Linux's `/proc/self/fd/N`), so the folder part is never resolved again.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A file's folder, opened beneath the workspace without following a link, and the file's
/// name in it.
#[derive(Debug)]
pub struct Beneath {
    dir: OwnedFd,
    name: OsString,
}

fn cstr(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a path"))
}

fn open_dir(at: libc::c_int, name: &OsStr) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: openat on a descriptor we hold (or AT_FDCWD) and a NUL-terminated name.
    let fd = unsafe {
        libc::openat(
            at,
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        // O_NOFOLLOW on a link gives ELOOP, O_DIRECTORY on a link to a file ENOTDIR.
        return Err(match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "'{}' is a symbolic link or not a folder, and an output may not go through one",
                    name.to_string_lossy()
                ),
            ),
            _ => e,
        });
    }
    // SAFETY: a descriptor just opened, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Beneath {
    /// The folder of `rel` (relative to `root`, `/`-separated, without `..`), opened
    /// folder by folder without following a link; missing folders are made when `create`.
    pub fn open(root: &Path, rel: &str, create: bool) -> io::Result<Beneath> {
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        if name.is_empty() || name == ".." || name == "." {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{rel}' does not name a file"),
            ));
        }
        let root = if root.as_os_str().is_empty() {
            Path::new(".")
        } else {
            root
        };
        // The workspace itself is where the user put it: a link there is theirs to make.
        let root_c = cstr(root.as_os_str())?;
        // SAFETY: open of a NUL-terminated path; the descriptor is owned below.
        let fd = unsafe {
            libc::open(
                root_c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: just opened, owned by nobody else.
        let mut dir = unsafe { OwnedFd::from_raw_fd(fd) };
        for part in parent.split('/').filter(|p| !p.is_empty() && *p != ".") {
            if part == ".." {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("'{rel}' leaves the workspace"),
                ));
            }
            let part = OsStr::new(part);
            dir = match open_dir(dir.as_raw_fd(), part) {
                Err(e) if create && e.kind() == io::ErrorKind::NotFound => {
                    let c = cstr(part)?;
                    // SAFETY: mkdirat in a folder we hold open.
                    if unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o777) } != 0 {
                        let e = io::Error::last_os_error();
                        if e.kind() != io::ErrorKind::AlreadyExists {
                            return Err(e);
                        }
                    }
                    open_dir(dir.as_raw_fd(), part)?
                }
                other => other?,
            };
        }
        Ok(Beneath {
            dir,
            name: OsString::from(name),
        })
    }

    /// A path naming the file in the folder as opened, for what takes paths: on Linux
    /// through `/proc/self/fd`, which names the open folder itself, so nothing on the way
    /// is looked up again. Valid while `self` lives.
    pub fn path(&self) -> PathBuf {
        // The BSDs and macOS have `/dev/fd` for the same.
        let fds = if cfg!(target_os = "linux") {
            "/proc/self/fd"
        } else {
            "/dev/fd"
        };
        PathBuf::from(format!("{fds}/{}", self.dir.as_raw_fd())).join(&self.name)
    }

    /// What is at the name, not following a link: `None` when nothing is.
    pub fn metadata(&self) -> io::Result<Option<std::fs::Metadata>> {
        match std::fs::symlink_metadata(self.path()) {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Remove the file (or the link) at the name; nothing there is no error.
    pub fn remove(&self) -> io::Result<()> {
        let c = cstr(&self.name)?;
        // SAFETY: unlinkat in a folder we hold open; a link is removed, not followed.
        if unsafe { libc::unlinkat(self.dir.as_raw_fd(), c.as_ptr(), 0) } != 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::NotFound {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Move the file at `from` (a path batuta made, in its own folders) to the name,
    /// replacing what is there (a link there is replaced, not followed).
    pub fn rename_from(&self, from: &Path) -> io::Result<()> {
        let src = cstr(from.as_os_str())?;
        let dst = cstr(&self.name)?;
        // SAFETY: renameat from a NUL-terminated path into a folder we hold open.
        if unsafe {
            libc::renameat(
                libc::AT_FDCWD,
                src.as_ptr(),
                self.dir.as_raw_fd(),
                dst.as_ptr(),
            )
        } != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_reached_through_a_link_is_refused_and_nothing_is_written_outside() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        let sibling = dir.path().join("sibling");
        std::fs::create_dir_all(ws.join("out")).unwrap();
        std::fs::create_dir(&sibling).unwrap();
        std::os::unix::fs::symlink("../../sibling", ws.join("out/m")).unwrap();
        let e = Beneath::open(&ws, "out/m/x.txt", true).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(std::fs::read_dir(&sibling).unwrap().next().is_none());
        assert!(Beneath::open(&ws, "../x", true).is_err());
    }

    #[test]
    fn folders_are_made_and_files_moved_removed_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let staged = dir.path().join("staged");
        std::fs::write(&staged, "content").unwrap();
        let b = Beneath::open(dir.path(), "a/b/c.txt", true).unwrap();
        assert!(b.metadata().unwrap().is_none());
        b.rename_from(&staged).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a/b/c.txt")).unwrap(),
            "content"
        );
        assert_eq!(std::fs::read_to_string(b.path()).unwrap(), "content");
        // A link planted where the output goes is replaced, not followed.
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "theirs").unwrap();
        b.remove().unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("a/b/c.txt")).unwrap();
        assert!(b.metadata().unwrap().unwrap().file_type().is_symlink());
        b.remove().unwrap();
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "theirs");
        assert!(Beneath::open(dir.path(), "a/missing/c.txt", false).is_err());
    }
}
