//! One parallel walk of `project.source`, honouring .gitignore and `project.exclude` (see
//! `ignores`), each folder's entries taken from the listings the database keeps (see
//! `listing`) when it runs under [`observing_with`].

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::ignores::Ignores;
use super::listing::{self, Kind, Listing, Listings};

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

/// What observes the walks of a thread (see [`observing`]), and the listings they read
/// folders through.
#[derive(Debug, Default)]
pub struct Observation {
    seen: Mutex<Observed>,
    listings: Option<Arc<Listings>>,
}

pub type Observer = Arc<Observation>;

thread_local! {
    /// Where the walks made on this thread write what they see (see [`observing`]).
    static OBSERVER: RefCell<Option<Observer>> = const { RefCell::new(None) };
}

/// Run `f`, and say which folders the walks it made on this thread entered and which
/// files it asked for by name.
pub fn observing<T>(f: impl FnOnce() -> T) -> (T, Observed) {
    observing_with(None, f)
}

/// As [`observing`], the walks taking each folder's entries from `listings` when it
/// holds them for the folder as it stands.
pub fn observing_with<T>(listings: Option<Arc<Listings>>, f: impl FnOnce() -> T) -> (T, Observed) {
    let seen = Arc::new(Observation {
        seen: Mutex::default(),
        listings,
    });
    let outer = OBSERVER.with(|o| o.borrow_mut().replace(seen.clone()));
    let out = f();
    OBSERVER.with(|o| *o.borrow_mut() = outer);
    let mut seen = std::mem::take(&mut *seen.seen.lock().expect("observer lock"));
    for v in [&mut seen.folders, &mut seen.files] {
        v.sort_unstable();
        v.dedup();
    }
    (out, seen)
}

/// The observer of the calling thread, for a walk's worker threads to write to, and for
/// work the caller hands to other threads (see [`observed_by`]).
pub fn observer() -> Option<Observer> {
    OBSERVER.with(|o| o.borrow().clone())
}

/// Note that the calling thread's work depends on whether the file at `path` (absolute)
/// is there, outside any folder a walk lists: a compilation database looked for in the
/// workspace's top folder, say, which each build's own files make too busy to stamp.
pub fn probed(path: &Path) {
    if let Some(o) = observer() {
        o.seen
            .lock()
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
/// hidden, not ignored by .gitignore, not a cache folder, not in `skip`. `batuta watch`
/// watches these.
pub fn dirs(dir: &Path, skip: &[PathBuf]) -> Vec<PathBuf> {
    let found = Mutex::new(Vec::new());
    let root = absolute(dir);
    traverse(&root, skip, &|f| {
        if let Found::Folder(path) = f
            && *path != root
        {
            found.lock().expect("walk lock").push(path.to_path_buf());
        }
    });
    let mut dirs = found.into_inner().expect("walk lock");
    dirs.sort_unstable();
    dirs
}

/// Every file under `dir`, sorted, skipping `skip` folders and files and excluded paths.
pub fn walk(dir: &Path, exclude: &GlobSet, skip: &[PathBuf]) -> Vec<SourceFile> {
    let found = Mutex::new(Vec::new());
    let root = absolute(dir);
    traverse(&root, skip, &|f| {
        let Found::File(path, kind) = f else { return };
        let Ok(rel) = path.strip_prefix(&root) else {
            return;
        };
        let rel = to_slash(rel);
        if exclude.is_match(&rel) {
            return;
        }
        found.lock().expect("walk lock").push(SourceFile {
            not_utf8: path.to_str().is_none(),
            rel,
            symlink: kind == Kind::Link,
            special: kind == Kind::Other,
        });
    });
    let mut files = found.into_inner().expect("walk lock");
    files.sort_unstable();
    files
}

/// `p` absolute, as far as the working folder can be known.
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// What a traversal found (absolute paths).
enum Found<'a> {
    Folder(&'a Path),
    File(&'a Path, Kind),
}

struct Traversal<'a> {
    root: PathBuf,
    skip: Vec<PathBuf>,
    seen: Option<Observer>,
    found: &'a (dyn Fn(Found<'_>) + Sync),
}

/// Walk `root` (absolute) in parallel, folder by folder: left out are what `ignores`
/// leaves out, `skip`, and folders other than `root` marked as caches. Links are not
/// followed.
fn traverse(root: &Path, skip: &[PathBuf], found: &(dyn Fn(Found<'_>) + Sync)) {
    let root = root.to_path_buf();
    let skip: Vec<PathBuf> = skip.iter().map(|s| absolute(s)).collect();
    if skip.contains(&root) {
        return;
    }
    let t = Traversal {
        root,
        skip,
        seen: observer(),
        found,
    };
    let above = Ignores::above(&t.root);
    rayon::scope(|s| t.folder(s, t.root.clone(), above));
}

impl Traversal<'_> {
    fn list(&self, dir: &Path) -> Option<Arc<Listing>> {
        let listings = self.seen.as_ref().and_then(|o| o.listings.as_ref());
        match listings {
            Some(l) => l.list(dir).ok(),
            None => listing::read(dir).ok().map(Arc::new),
        }
    }

    fn folder<'s>(&'s self, s: &rayon::Scope<'s>, dir: PathBuf, ignores: Ignores) {
        // An unreadable folder (permissions, gone since its parent was listed) holds
        // nothing the walk can report.
        let Some(listing) = self.list(&dir) else {
            return;
        };
        // A cache folder (cargo's target/, marked by the CACHEDIR.TAG standard) holds
        // thousands of build products and never an input: walking it would make every
        // no-op build slow. Nor is it observed: cargo changes it with every build.
        if dir != self.root && listing.has("CACHEDIR.TAG", Kind::File) {
            return;
        }
        if let Some(o) = &self.seen {
            o.seen
                .lock()
                .expect("observer lock")
                .folders
                .push(dir.clone());
        }
        (self.found)(Found::Folder(&dir));
        let ignores = ignores.enter(&dir, &listing);
        for e in &listing.entries {
            let path = dir.join(&e.name);
            if self.skip.contains(&path) {
                continue;
            }
            let is_dir = e.kind == Kind::Folder;
            let hidden = e.name.as_encoded_bytes().starts_with(b".");
            if ignores.ignored(&path, is_dir, hidden) {
                continue;
            }
            if is_dir {
                let ignores = ignores.clone();
                s.spawn(move |s| self.folder(s, path, ignores));
            } else {
                (self.found)(Found::File(&path, e.kind));
            }
        }
    }
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

    /// What ripgrep's own walker finds with the options batuta's walk follows: the files
    /// and the folders below `d`.
    fn by_ignore_crate(d: &Path) -> (Vec<String>, Vec<PathBuf>) {
        let (mut files, mut folders) = (Vec::new(), Vec::new());
        for e in ignore::WalkBuilder::new(d)
            .require_git(false)
            .follow_links(false)
            .build()
            .flatten()
        {
            let rel = to_slash(e.path().strip_prefix(d).unwrap());
            if e.file_type().is_some_and(|t| t.is_dir()) {
                if e.depth() > 0 {
                    folders.push(e.path().to_path_buf());
                }
            } else {
                files.push(rel);
            }
        }
        files.sort();
        folders.sort();
        (files, folders)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// The walk leaves out what `ignore`'s walker leaves out, on trees of hidden
        /// entries, nested `.gitignore` and `.ignore` files, negations and folder rules.
        #[test]
        fn the_walk_leaves_out_what_ripgreps_walker_does(
            files in proptest::collection::vec(
                (0usize..4, 0usize..4, 0usize..6), 1..25),
            rules in proptest::collection::vec(
                (0usize..4, proptest::bool::ANY, proptest::collection::vec(0usize..12, 1..4)),
                0..5),
        ) {
            const DIRS: [&str; 4] = ["", "pkg", "pkg/sub", ".hidden"];
            const SUBS: [&str; 4] = ["", "build", "sub2", ".cache"];
            const NAMES: [&str; 6] = ["a.py", "b.log", "keep.log", ".env", "c.txt", "build"];
            const PATTERNS: [&str; 12] = [
                "*.log", "!keep.log", "build/", "/a.py", "sub2", ".env", "!.env", "*.py",
                "pkg/", "**/c*", "!.hidden", "!build/",
            ];
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            for (top, sub, name) in files {
                let folder = d.join(DIRS[top]).join(SUBS[sub]);
                // A file called `build` where a folder `build` was wanted: skip it.
                if std::fs::create_dir_all(&folder).is_err() {
                    continue;
                }
                let p = folder.join(NAMES[name]);
                if !p.is_dir() {
                    std::fs::write(&p, "x").unwrap();
                }
            }
            for (at, dot_ignore, patterns) in rules {
                let folder = d.join(DIRS[at]);
                if std::fs::create_dir_all(&folder).is_err() {
                    continue;
                }
                let name = if dot_ignore { ".ignore" } else { ".gitignore" };
                let text: Vec<&str> = patterns.iter().map(|i| PATTERNS[*i]).collect();
                std::fs::write(folder.join(name), text.join("\n")).unwrap();
            }
            let none = glob_set(std::iter::empty::<&str>()).unwrap();
            let ours: Vec<String> = walk(d, &none, &[]).into_iter().map(|f| f.rel).collect();
            let (theirs, folders) = by_ignore_crate(d);
            proptest::prop_assert_eq!(ours, theirs);
            proptest::prop_assert_eq!(dirs(d, &[]), folders);
        }
    }

    #[test]
    fn a_kept_listing_is_used_until_its_folder_changes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in ["a.py", "pkg/b.py", "pkg/deep/c.py"] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(60));
        let none = glob_set(std::iter::empty::<&str>()).unwrap();
        let listings = Arc::new(Listings::default());
        let walked = || observing_with(Some(listings.clone()), || walk(d, &none, &[])).0;
        assert_eq!(walked().len(), 3);
        assert_eq!(listings.reads(), 3, "three folders read");
        assert_eq!(walked().len(), 3);
        assert_eq!(listings.reads(), 3, "none read again");
        std::fs::write(d.join("pkg/new.py"), "").unwrap();
        let files: Vec<String> = walked().into_iter().map(|f| f.rel).collect();
        assert_eq!(files, ["a.py", "pkg/b.py", "pkg/deep/c.py", "pkg/new.py"]);
        assert_eq!(listings.reads(), 4, "only the folder that changed");
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
