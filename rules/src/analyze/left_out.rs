//! The folders the walk of a tree leaves out, named for the analysis's output: a user who
//! finds `venv/` or `node_modules/` missing from the counts reads why instead of guessing.
//! The walk is the one `each` and the analyze stage make (`batuta_engine::graph::walk`):
//! .gitignore honoured, hidden entries and cache folders (CACHEDIR.TAG) passed over,
//! `project.exclude` applied, batuta's own folders skipped.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use globset::GlobSet;
use ignore::{WalkBuilder, WalkState};
use serde::{Deserialize, Serialize};

/// Listed one by one up to this many; the rest are counted.
pub const LISTED: usize = 20;

/// One folder the walk does not enter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    /// Relative to the analysed folder, `/`-separated, ending in `/`.
    pub path: String,
    /// `excluded by venv/**`, `hidden`, `a cache folder (CACHEDIR.TAG)`, `batuta's own` (its output).
    pub why: String,
}

/// The outermost folders under `root` that the walk leaves out, sorted; `patterns` are the
/// `exclude` globs `exclude` was built from, in order, and `own` batuta's output folders
/// (absolute). `root/.batuta`, batuta's state, is no source and not listed; nor are the
/// folders .gitignore ignores, which the walk never visits.
pub fn left_out(
    root: &Path,
    exclude: &GlobSet,
    patterns: &[&str],
    own: &[PathBuf],
) -> Vec<LeftOut> {
    let state = root.join(".batuta");
    let found = Mutex::new(Vec::new());
    WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .follow_links(false)
        .build_parallel()
        .run(|| {
            let (found, state) = (&found, &state);
            Box::new(move |entry| {
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                if entry.depth() == 0 || !entry.file_type().is_some_and(|t| t.is_dir()) {
                    return WalkState::Continue;
                }
                let path = entry.path();
                let Ok(rel) = path.strip_prefix(root) else {
                    return WalkState::Continue;
                };
                let rel = format!("{}/", batuta_engine::graph::walk::to_slash(rel));
                if path == state.as_path() {
                    return WalkState::Skip;
                }
                let why = if own.iter().any(|o| o == path) {
                    Some("batuta's own".to_owned())
                } else if entry.file_name().to_string_lossy().starts_with('.') {
                    Some("hidden".to_owned())
                } else if path.join("CACHEDIR.TAG").is_file() {
                    Some("a cache folder (CACHEDIR.TAG)".to_owned())
                } else {
                    exclude.matches(&rel).first().map(|&i| {
                        format!("excluded by {}", patterns.get(i).copied().unwrap_or("?"))
                    })
                };
                match why {
                    Some(why) => {
                        found
                            .lock()
                            .expect("walk lock")
                            .push(LeftOut { path: rel, why });
                        WalkState::Skip
                    }
                    None => WalkState::Continue,
                }
            })
        });
    let mut out = found.into_inner().expect("walk lock");
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_folder_the_walk_passes_over() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in [
            "venv/lib/site-packages/numpy",
            ".venv/lib",
            "pkg/__pycache__",
            "pkg/sub/__pycache__",
            "web/node_modules/left-pad",
            "target/debug",
            ".batuta/cache",
            "rust/src",
            "pkg/kept",
            "build/gen",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(
            root.join("target/CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55",
        )
        .unwrap();
        std::fs::write(root.join(".gitignore"), "build/\n").unwrap();
        let patterns = [
            "**/__pycache__/**",
            "**/node_modules/**",
            "venv/**",
            ".venv/**",
        ];
        let exclude = batuta_engine::graph::walk::glob_set(patterns).unwrap();
        let got: Vec<(String, String)> = left_out(root, &exclude, &patterns, &[root.join("rust")])
            .into_iter()
            .map(|l| (l.path, l.why))
            .collect();
        let want: Vec<(String, String)> = [
            (".venv/", "hidden"),
            ("pkg/__pycache__/", "excluded by **/__pycache__/**"),
            ("pkg/sub/__pycache__/", "excluded by **/__pycache__/**"),
            ("rust/", "batuta's own"),
            ("target/", "a cache folder (CACHEDIR.TAG)"),
            ("venv/", "excluded by venv/**"),
            ("web/node_modules/", "excluded by **/node_modules/**"),
        ]
        .iter()
        .map(|(p, w)| ((*p).to_owned(), (*w).to_owned()))
        .collect();
        assert_eq!(got, want);
    }
}
