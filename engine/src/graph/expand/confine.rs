//! Keeping the graph inside the workspace: a path, or a folder it resolves through (a
//! symbolic link), that leads out is an error, never a read or a write outside.

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
                    std::io::ErrorKind::NotFound => {
                        "cannot read: its name is not valid UTF-8, or it vanished"
                    }
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
}
