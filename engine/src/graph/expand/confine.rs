//! Keeping the graph inside the workspace: a path, or a folder it resolves through (a
//! symbolic link), that leads out is an error, never a read or a write outside.

use std::path::Path;

use super::*;

impl<'m> Expander<'m> {
    pub(super) fn abs(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.m.root.join(".")
        } else {
            self.m.root.join(rel)
        }
    }

    /// Whether the folder `rel` (relative to the workspace) resolves inside it; checks the
    /// nearest existing ancestor, so symlinked folders pointing out are caught before writes.
    pub(super) fn inside(&mut self, rel: &str) -> bool {
        if let Some(&known) = self.confined.get(rel) {
            return known;
        }
        let ok = match &self.root_canon {
            None => true,
            Some(root) => {
                let mut p = self.abs(rel);
                loop {
                    match p.canonicalize() {
                        Ok(c) => break c.starts_with(root),
                        Err(_) => {
                            if !p.pop() {
                                break true;
                            }
                        }
                    }
                }
            }
        };
        self.confined.insert(rel.to_owned(), ok);
        ok
    }

    pub(super) fn parent_inside(&mut self, rel: &str) -> bool {
        let parent = rel.rsplit_once('/').map_or("", |(d, _)| d);
        self.inside(parent)
    }

    /// Why a walked file cannot be an action's input, if it cannot.
    pub(super) fn unreadable(&self, file: &walk::SourceFile, input: &str) -> Option<&'static str> {
        if file.special {
            return Some("not a regular file (socket, pipe or device)");
        }
        if file.not_utf8 {
            return Some("its name is not valid UTF-8");
        }
        let abs = self.abs(input);
        if file.symlink {
            match std::fs::metadata(&abs) {
                #[cfg(unix)]
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    return Some("symbolic link loop");
                }
                Err(_) => return Some("symbolic link to nothing (dangling)"),
                Ok(m) if m.is_dir() => return Some("symbolic link to a folder"),
                Ok(m) if !m.is_file() => {
                    return Some("not a regular file (socket, pipe or device)");
                }
                Ok(_) if !self.file_inside(input) => {
                    return Some("symbolic link that leaves the workspace");
                }
                Ok(_) => {}
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let c = std::ffi::CString::new(abs.as_os_str().as_bytes()).ok()?;
            // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
            if unsafe { libc::access(c.as_ptr(), libc::R_OK) } != 0 {
                return Some(match std::io::Error::last_os_error().kind() {
                    std::io::ErrorKind::NotFound => "it vanished while batuta looked",
                    _ => "cannot read: permission denied",
                });
            }
        }
        None
    }

    pub(super) fn file_inside(&self, rel: &str) -> bool {
        match (&self.root_canon, self.abs(rel).canonicalize()) {
            (Some(root), Ok(c)) => c.starts_with(root),
            _ => true,
        }
    }

    /// Why `rel` (an output, normalised) is batuta's own and no task may write it, if it is:
    /// a task that replaced `.batuta/lock` let two builds run at once.
    pub(super) fn reserved(&self, rel: &str) -> Option<&'static str> {
        let under =
            |dir: &str| rel == dir || rel.strip_prefix(dir).is_some_and(|r| r.starts_with('/'));
        if under(".batuta") {
            Some("batuta keeps its lock, journal, cache and records under .batuta/")
        } else if rel == crate::state::FILE_NAME {
            Some("it is batuta's state file")
        } else if Some(rel) == self.manifest_rel.as_deref() {
            Some("it is the manifest")
        } else if self.cache_rel.as_deref().is_some_and(under) {
            Some("it is in the cache folder (BATUTA_CACHE_DIR)")
        } else {
            None
        }
    }
}

/// `path` relative to the workspace `root` (canonical), through any symbolic links, when it
/// is inside it. The part of `path` that does not exist yet is taken as written.
pub(super) fn rel_inside(root: &Path, path: &Path) -> Option<String> {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    let canonical = loop {
        match existing.canonicalize() {
            Ok(c) => break c,
            Err(_) => {
                rest.push(existing.file_name()?.to_owned());
                if !existing.pop() {
                    return None;
                }
            }
        }
    };
    let mut full = canonical;
    full.extend(rest.iter().rev());
    full.strip_prefix(root).ok().map(walk::to_slash)
}
