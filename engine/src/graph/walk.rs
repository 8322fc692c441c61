//! One parallel walk of `project.source`, honouring .gitignore and `project.exclude`.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::{WalkBuilder, WalkState};

/// A file found under the source folder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceFile {
    /// Relative to `project.source`, `/`-separated.
    pub rel: String,
    /// Whether the entry is a symbolic link (checked against the workspace by the caller).
    pub symlink: bool,
    /// Neither a regular file nor a symbolic link: a socket, pipe or device.
    pub special: bool,
    /// Its path is not valid UTF-8: `rel` spells it with U+FFFD and names no file.
    pub not_utf8: bool,
}

/// What the walks and probes made on a thread saw (see [`observing`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The folders the walks entered: what they found depends on their listings, and a
    /// folder's mtime changes with its listing.
    pub folders: Vec<PathBuf>,
    /// The files whose presence was asked of by name (see [`probed`]): expansion chose
    /// by whether each is there.
    pub files: Vec<PathBuf>,
}

thread_local! {
    /// Where the walks made on this thread write what they see (see [`observing`]).
    static OBSERVER: RefCell<Option<Observer>> = const { RefCell::new(None) };
}

/// Run `f`, and say which folders the walks it made on this thread entered and which
/// files it asked for by name.
pub fn observing<T>(f: impl FnOnce() -> T) -> (T, Observed) {
    let seen = Arc::new(Mutex::new(Observed::default()));
    let outer = OBSERVER.with(|o| o.borrow_mut().replace(seen.clone()));
    let out = f();
    OBSERVER.with(|o| *o.borrow_mut() = outer);
    let mut seen = std::mem::take(&mut *seen.lock().expect("observer lock"));
    for v in [&mut seen.folders, &mut seen.files] {
        v.sort_unstable();
        v.dedup();
    }
    (out, seen)
}

/// What observes the walks of a thread (see [`observing`]).
pub type Observer = Arc<Mutex<Observed>>;

/// The observer of the calling thread, for a walk's worker threads to write to, and for
/// work the caller hands to other threads (see [`observed_by`]).
pub fn observer() -> Option<Observer> {
    OBSERVER.with(|o| o.borrow().clone())
}

/// Note that the calling thread's work depends on whether the file at `path` (absolute)
/// is there, outside any folder a walk lists: a compilation database looked for in the
/// workspace's top folder, say, which each build's own files make too busy to stamp.
pub fn probed(path: &Path) {
    if let Some(seen) = observer() {
        seen.lock()
            .expect("observer lock")
            .files
            .push(path.to_path_buf());
    }
}

/// Run `f` with `observer` observing the walks it makes on this thread: work that an
/// [`observing`] caller hands to other threads (a workspace's projects, expanded in
/// parallel) must report the folders it walks to the caller's observer, or the database
/// would not know to expand again when they change.
pub fn observed_by<T>(observer: Option<Observer>, f: impl FnOnce() -> T) -> T {
    let outer = OBSERVER.with(|o| std::mem::replace(&mut *o.borrow_mut(), observer));
    let out = f();
    OBSERVER.with(|o| *o.borrow_mut() = outer);
    out
}

/// Compile globs the way `each` and `exclude` mean them: `*` stays inside one folder.
pub fn glob_set<'a>(
    patterns: impl IntoIterator<Item = &'a str>,
) -> Result<GlobSet, globset::Error> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(GlobBuilder::new(p).literal_separator(true).build()?);
    }
    b.build()
}

/// Every folder under `dir` (not `dir` itself) that the walk of files would enter: not
/// hidden, not ignored by .gitignore, not in `skip`. `batuta watch` watches these.
pub fn dirs(dir: &Path, skip: &[PathBuf]) -> Vec<PathBuf> {
    let found = Mutex::new(Vec::new());
    let seen = observer();
    WalkBuilder::new(dir)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|e| e.file_type().is_some_and(|t| t.is_dir()))
        .build_parallel()
        .run(|| {
            let (found, seen) = (&found, &seen);
            Box::new(move |entry| {
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                let path = entry.path();
                if skip.iter().any(|s| path == s) {
                    return WalkState::Skip;
                }
                if let Some(seen) = seen {
                    seen.lock()
                        .expect("observer lock")
                        .folders
                        .push(path.to_path_buf());
                }
                if entry.depth() > 0 {
                    found.lock().expect("walk lock").push(path.to_path_buf());
                }
                WalkState::Continue
            })
        });
    let mut dirs = found.into_inner().expect("walk lock");
    dirs.sort_unstable();
    dirs
}

/// Every file under `dir`, sorted, skipping `skip` folders (absolute) and excluded paths.
pub fn walk(dir: &Path, exclude: &GlobSet, skip: &[PathBuf]) -> Vec<SourceFile> {
    let found = Mutex::new(Vec::new());
    let seen = observer();
    let walker = WalkBuilder::new(dir)
        .require_git(false)
        .follow_links(false)
        .build_parallel();
    walker.run(|| {
        let found = &found;
        let seen = &seen;
        Box::new(move |entry| {
            let Ok(entry) = entry else {
                return WalkState::Continue;
            };
            let path = entry.path();
            if skip.iter().any(|s| path == s) {
                return WalkState::Skip;
            }
            let Some(ft) = entry.file_type() else {
                return WalkState::Continue;
            };
            if ft.is_dir() {
                // A cache folder (cargo's target/, marked by the CACHEDIR.TAG standard) holds
                // thousands of build products and never an input: walking it would make
                // every no-op build slow.
                if path != dir && path.join("CACHEDIR.TAG").is_file() {
                    return WalkState::Skip;
                }
                if let Some(seen) = seen {
                    seen.lock()
                        .expect("observer lock")
                        .folders
                        .push(path.to_path_buf());
                }
                return WalkState::Continue;
            }
            let Ok(rel) = path.strip_prefix(dir) else {
                return WalkState::Continue;
            };
            let rel = to_slash(rel);
            if exclude.is_match(&rel) {
                return WalkState::Continue;
            }
            found.lock().expect("walk lock").push(SourceFile {
                not_utf8: path.to_str().is_none(),
                rel,
                symlink: ft.is_symlink(),
                special: !ft.is_file() && !ft.is_symlink(),
            });
            WalkState::Continue
        })
    });
    let mut files = found.into_inner().expect("walk lock");
    files.sort_unstable();
    files
}

/// A relative path as a `/`-separated string, the form batuta uses everywhere.
pub fn to_slash(p: &Path) -> String {
    let mut s = String::new();
    for c in p.components() {
        if !s.is_empty() {
            s.push('/');
        }
        s.push_str(&c.as_os_str().to_string_lossy());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_with_excludes_and_gitignore() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "b.py",
            "a.py",
            "pkg/c.py",
            "venv/x.py",
            "pkg/__pycache__/c.pyc",
            "ignored.log",
        ] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        std::fs::write(d.join(".gitignore"), "*.log\n").unwrap();
        let ex = glob_set(["venv/**", "**/__pycache__/**"]).unwrap();
        let files: Vec<String> = walk(d, &ex, &[]).into_iter().map(|f| f.rel).collect();
        assert_eq!(files, ["a.py", "b.py", "pkg/c.py"]);
    }

    #[test]
    fn cache_folders_are_not_walked() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "Cargo.toml",
            "src/main.rs",
            "target/CACHEDIR.TAG",
            "target/release/x",
        ] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let none = glob_set(std::iter::empty::<&str>()).unwrap();
        let files: Vec<String> = walk(d, &none, &[]).into_iter().map(|f| f.rel).collect();
        assert_eq!(files, ["Cargo.toml", "src/main.rs"]);
        // Asked for by name, a cache folder is walked.
        let inside: Vec<String> = walk(&d.join("target"), &none, &[])
            .into_iter()
            .map(|f| f.rel)
            .collect();
        assert_eq!(inside, ["CACHEDIR.TAG", "release/x"]);
    }

    #[test]
    fn an_observer_hears_of_every_folder_a_walk_enters() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in ["a.py", "pkg/b.py", "pkg/empty/.keep", "skipped/c.py"] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let none = glob_set(std::iter::empty::<&str>()).unwrap();
        let (files, seen) = observing(|| walk(d, &none, &[d.join("skipped")]));
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(
            seen.folders,
            [d.to_path_buf(), d.join("pkg"), d.join("pkg/empty")]
        );
        assert!(seen.files.is_empty());
        // Outside `observing`, nothing is kept.
        assert!(observer().is_none());
    }

    #[test]
    fn star_does_not_cross_folders() {
        let g = glob_set(["*.py"]).unwrap();
        assert!(g.is_match("a.py"));
        assert!(!g.is_match("pkg/a.py"));
        let g = glob_set(["**/*.py"]).unwrap();
        assert!(g.is_match("a.py") && g.is_match("pkg/a.py"));
    }
}
