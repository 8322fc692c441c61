//! One parallel walk of `project.source`, honouring .gitignore and `project.exclude`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    WalkBuilder::new(dir)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|e| e.file_type().is_some_and(|t| t.is_dir()))
        .build_parallel()
        .run(|| {
            let found = &found;
            Box::new(move |entry| {
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                let path = entry.path();
                if skip.iter().any(|s| path == s) {
                    return WalkState::Skip;
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
    let walker = WalkBuilder::new(dir)
        .require_git(false)
        .follow_links(false)
        .build_parallel();
    walker.run(|| {
        let found = &found;
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
    fn star_does_not_cross_folders() {
        let g = glob_set(["*.py"]).unwrap();
        assert!(g.is_match("a.py"));
        assert!(!g.is_match("pkg/a.py"));
        let g = glob_set(["**/*.py"]).unwrap();
        assert!(g.is_match("a.py") && g.is_match("pkg/a.py"));
    }
}
