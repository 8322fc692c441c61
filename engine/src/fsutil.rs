//! File-system helpers that keep batuta's promise that nothing is lost: writes go to a
//! temporary file, are flushed to disk, then renamed over the target.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Write `bytes` to `path` atomically: a reader sees the old content or the new, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}

/// Copy `from` to `to` atomically (same guarantees as [`write_atomic`]), keeping the mode.
pub fn copy_atomic(from: &Path, to: &Path) -> io::Result<()> {
    let dir = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut src = File::open(from)?;
    let mut dst = tmp.as_file();
    io::copy(&mut src, &mut dst)?;
    dst.sync_all()?;
    fs::set_permissions(tmp.path(), fs::metadata(from)?.permissions())?;
    tmp.persist(to).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
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
}
