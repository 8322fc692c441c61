//! File-system helpers that keep batuta's promise that nothing is lost: writes go to a
//! temporary file and are renamed over the target, flushed to disk first or, for cache
//! entries, in one go at the end of a build.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// When a write reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Flushed before the rename: for the journal and the state file.
    Now,
    /// Renamed into place at once, flushed later by [`sync_filesystem`]: for cache entries,
    /// which are verified on every read, so one torn by a power cut is a miss, not a lie.
    Deferred,
}

fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Write `bytes` to `path` atomically and durably: a reader sees the old content or the
/// new, never half, even after a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_replace(path, bytes, Durability::Now)
}

/// Write `bytes` to `path` through a temporary file and a rename.
pub fn write_replace(path: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    let dir = folder_of(path);
    fs::create_dir_all(dir)?;
    let mut tmp = temp_in(dir)?;
    tmp.write_all(bytes)?;
    persist(tmp, path, durability)
}

/// A temporary file in `dir` created as an ordinary file is (0666 less the umask), not
/// tempfile's private 0600: what batuta writes (a report, a release manifest) is read by
/// other people and programs, like the files a compiler writes.
pub fn temp_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    let mut b = tempfile::Builder::new();
    #[cfg(unix)]
    b.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    b.tempfile_in(dir)
}

/// Copy `from` to `to` through a temporary file and a rename.
pub fn copy_replace(from: &Path, to: &Path, durability: Durability) -> io::Result<()> {
    let dir = folder_of(to);
    fs::create_dir_all(dir)?;
    let tmp = temp_in(dir)?;
    io::copy(&mut File::open(from)?, &mut tmp.as_file())?;
    persist(tmp, to, durability)
}

/// Rename a finished temporary file over `to`, flushing first if asked.
pub fn persist(tmp: tempfile::NamedTempFile, to: &Path, durability: Durability) -> io::Result<()> {
    if durability == Durability::Now {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(to).map_err(|e| e.error)?;
    if durability == Durability::Now {
        sync_dir(folder_of(to));
    }
    Ok(())
}

/// Flush every deferred write on the file system that holds `path` (one `syncfs`).
pub fn sync_filesystem(path: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let dir = File::open(path)?;
        // SAFETY: syncfs(2) on a descriptor we own for the duration of the call.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        // SAFETY: sync(2) takes no arguments and cannot fail.
        #[cfg(unix)]
        unsafe {
            libc::sync()
        };
        Ok(())
    }
}

/// Make a rename durable. Best effort: not every platform can open a folder.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Wrap a payload with a magic tag and its digest, so a torn or foreign file is noticed.
pub fn seal(magic: &[u8; 8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 32 + payload.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(blake3::hash(payload).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payload of a sealed file, or `None` if the tag or the digest does not match.
pub fn unseal<'a>(magic: &[u8; 8], bytes: &'a [u8]) -> Option<&'a [u8]> {
    let rest = bytes.strip_prefix(magic.as_slice())?;
    if rest.len() < 32 {
        return None;
    }
    let (sum, payload) = rest.split_at(32);
    (blake3::hash(payload).as_bytes() == sum).then_some(payload)
}

/// A path that is there but is not a regular file, saying what it is instead.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotRegular(pub &'static str);

/// Open `path` for reading if it is a regular file, else [`NotRegular`] (inside the
/// `io::Error`). On Unix a FIFO is not waited on: opening one for reading would block
/// until something writes to it.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    let what = if kind.is_dir() {
        "it is a folder, not a file"
    } else {
        special_kind(kind)
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        NotRegular(what),
    ))
}

#[cfg(unix)]
fn special_kind(kind: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "it is a FIFO (named pipe), not a file"
    } else if kind.is_socket() {
        "it is a socket, not a file"
    } else if kind.is_block_device() || kind.is_char_device() {
        "it is a device, not a file"
    } else {
        "it is not a regular file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: fs::FileType) -> &'static str {
    "it is not a regular file"
}

/// Remove a file if it exists.
pub fn remove_file_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_payloads_detect_damage() {
        let sealed = seal(b"TESTv001", b"payload");
        assert_eq!(unseal(b"TESTv001", &sealed), Some(&b"payload"[..]));
        assert_eq!(unseal(b"OTHERv01", &sealed), None);
        let mut torn = sealed.clone();
        torn.truncate(sealed.len() - 1);
        assert_eq!(unseal(b"TESTv001", &torn), None);
        let mut flipped = sealed;
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(unseal(b"TESTv001", &flipped), None);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_readable_by_others_as_the_umask_allows() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("report.html");
        write_atomic(&p, b"<html>").unwrap();
        // SAFETY: umask only reads and sets this process's mask; set it back at once.
        let umask = unsafe {
            let m = libc::umask(0);
            libc::umask(m);
            m
        };
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !(umask as u32), "{mode:o}");
    }
}
