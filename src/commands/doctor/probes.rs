//! What doctor asks of this machine, one probe a thing: a program's version, a library's
//! place, a kernel limit, a GPU adapter, the cache folder. Each reads and never writes; each
//! answers in well under a second (the GPU probe is the slowest: it asks the driver).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use batuta_engine::digest::Digest;

/// The first line a program prints for `args` (stdout, else stderr), or why it could not
/// be run.
pub fn version(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "not found on PATH".to_owned(),
            _ => format!("cannot be run: {e}"),
        })?;
    let text = if out.stdout.iter().any(|b| !b.is_ascii_whitespace()) {
        out.stdout
    } else {
        out.stderr
    };
    let first = String::from_utf8_lossy(&text)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_owned();
    if out.status.success() || !first.is_empty() {
        Ok(first)
    } else {
        Err(format!("exited with {}", out.status))
    }
}

/// The first of `names` found on PATH.
pub fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// libclang, which decy loads: where `LIBCLANG_PATH` says, or where Debian, Fedora and
/// LLVM's own packages put it.
pub fn libclang() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LIBCLANG_PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(
        std::fs::read_dir("/usr/lib")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("llvm-"))
            .map(|e| e.path().join("lib")),
    );
    dirs.sort_by(|a, b| b.cmp(a)); // the newest LLVM first
    for d in [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs.iter().find_map(|d| {
        std::fs::read_dir(d)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().unwrap_or_default().to_string_lossy();
                n.starts_with("libclang") && n.contains(".so") && !n.starts_with("libclang-cpp")
            })
            .min()
    })
}

/// Whether rustc has the standard library for `target` (what `rustup target add` installs).
pub fn rust_target(target: &str) -> Result<PathBuf, String> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("rustc cannot be run: {e}"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let lib = sysroot.join("lib/rustlib").join(target).join("lib");
    if lib.is_dir() {
        Ok(lib)
    } else {
        Err(format!("not installed in {}", sysroot.display()))
    }
}

/// The kernel's inotify limits: (max_user_watches, max_user_instances).
pub fn inotify_limits() -> Option<(u64, u64)> {
    let read = |name: &str| -> Option<u64> {
        std::fs::read_to_string(Path::new("/proc/sys/fs/inotify").join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some((read("max_user_watches")?, read("max_user_instances")?))
}

/// The folders under `dir` (itself included), which is what watch puts a watch on.
pub fn folders(dir: &Path) -> u64 {
    let mut n = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        n += 1;
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name();
            let skip = name == ".git" || name == ".batuta" || name == "target";
            if !skip && e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(e.path());
            }
        }
    }
    n
}

/// What the cache folder holds and whether what was checked is intact.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CacheHealth {
    pub exists: bool,
    pub bytes: u64,
    pub blobs: u64,
    pub packs: u64,
    /// Blobs read back and hashed (at most [`CHECK_AT_MOST`]).
    pub checked: u64,
    /// Blobs whose content is not their name's digest.
    pub damaged: Vec<String>,
    /// Whether batuta could write there (the folder's permissions allow it).
    pub writable: bool,
}

/// Reading back every blob of a large cache would take as long as a build: doctor checks
/// this many, the same ones each time (the first in name order).
pub const CHECK_AT_MOST: u64 = 256;

/// Size, blob and pack counts, and a check of up to [`CHECK_AT_MOST`] blobs against their
/// names (a blob's name is its BLAKE3 digest). Nothing is changed: a damaged blob is
/// reported, not removed (the next build that reads it does that).
pub fn cache(dir: &Path) -> CacheHealth {
    let mut h = CacheHealth {
        exists: dir.is_dir(),
        ..CacheHealth::default()
    };
    if !h.exists {
        // A cache is made by the first build: what matters is that it can be.
        let parent = dir
            .ancestors()
            .find(|p| p.is_dir())
            .unwrap_or(Path::new("."));
        h.writable = writable(parent);
        return h;
    }
    h.writable = writable(dir);
    let mut blobs: Vec<PathBuf> = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(meta) = e.metadata() else { continue };
            let p = e.path();
            if meta.is_dir() {
                todo.push(p);
                continue;
            }
            h.bytes += meta.len();
            if p.extension().is_some_and(|x| x == "pack") {
                h.packs += 1;
            } else if p.parent().and_then(Path::parent).and_then(Path::file_name)
                == Some("cas".as_ref())
            {
                h.blobs += 1;
                blobs.push(p);
            }
        }
    }
    blobs.sort();
    for p in blobs.iter().take(CHECK_AT_MOST as usize) {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        let Some(want) = Digest::from_hex(&name) else {
            continue;
        };
        h.checked += 1;
        match std::fs::read(p) {
            Ok(bytes) if Digest::of(&bytes) == want => {}
            _ => h.damaged.push(p.display().to_string()),
        }
    }
    h
}

#[cfg(unix)]
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path; access() only reads it.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

#[cfg(not(unix))]
fn writable(dir: &Path) -> bool {
    std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly())
}

/// Whether something accepts a TCP connection at `url`'s host and port within `timeout`.
/// Only called for a manifest that names a remote.
pub fn reachable(url: &str, timeout: std::time::Duration) -> Result<String, String> {
    use std::net::ToSocketAddrs;
    let rest = url
        .split_once("://")
        .map_or(url, |(_, r)| r)
        .trim_end_matches('/');
    let host_port = rest.split('/').next().unwrap_or(rest);
    let addrs: Vec<_> = host_port
        .to_socket_addrs()
        .map_err(|e| format!("{host_port} does not resolve: {e}"))?
        .collect();
    let mut last = format!("{host_port} has no address");
    for a in addrs {
        match std::net::TcpStream::connect_timeout(&a, timeout) {
            Ok(_) => return Ok(format!("{host_port} accepts connections ({a})")),
            Err(e) => last = format!("{host_port} ({a}): {e}"),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_says_so() {
        assert_eq!(
            version("batuta-no-such-program-here", &["--version"]),
            Err("not found on PATH".to_owned())
        );
        let v = version("sh", &["-c", "echo; echo '  tool 1.2  '"]).unwrap();
        assert_eq!(v, "tool 1.2");
    }

    #[test]
    fn the_cache_check_finds_a_damaged_blob_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let good = b"hello";
        let d = Digest::of(good).to_hex();
        let cas = dir.path().join("cas").join(&d[..2]);
        std::fs::create_dir_all(&cas).unwrap();
        std::fs::write(cas.join(&d), good).unwrap();
        let bad = Digest::of(b"other").to_hex();
        let cas2 = dir.path().join("cas").join(&bad[..2]);
        std::fs::create_dir_all(&cas2).unwrap();
        std::fs::write(cas2.join(&bad), b"tampered").unwrap();
        std::fs::create_dir_all(dir.path().join("ac/packs")).unwrap();
        std::fs::write(dir.path().join("ac/packs/1.pack"), b"x").unwrap();
        let h = cache(dir.path());
        assert!(h.exists);
        assert_eq!((h.blobs, h.packs, h.checked), (2, 1, 2));
        assert_eq!(h.damaged.len(), 1, "{h:?}");
        assert!(h.damaged[0].ends_with(&bad));
        assert_eq!(h.bytes, 5 + 8 + 1);
        assert!(cas2.join(&bad).exists(), "doctor only looks");
        let none = cache(&dir.path().join("not/yet"));
        assert!(!none.exists && none.writable);
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        // Bind then drop a listener: its port is closed for the moment after.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = reachable(
            &format!("grpc://127.0.0.1:{port}"),
            std::time::Duration::from_secs(1),
        );
        assert!(r.is_err(), "{r:?}");
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("grpcs://{}/", l.local_addr().unwrap());
        assert!(reachable(&url, std::time::Duration::from_secs(1)).is_ok());
    }
}
