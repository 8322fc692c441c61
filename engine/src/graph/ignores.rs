//! Which entries a walk leaves out, decided as ripgrep's `ignore` crate decides for its own
//! walker (whose matchers this uses): hidden entries, and what `.ignore`, `.gitignore`,
//! `.git/info/exclude` and git's global excludes say, from the walked folder's ancestors
//! down. batuta walks with its own traversal so that it can take each folder's entries
//! from a kept listing (see `listing`), and the rules must stay those users know.
//!
//! Precedence, as in `ignore` with `require_git(false)` (batuta honours `.gitignore` outside
//! git repositories too): for each kind of file, the deepest folder with a matching rule
//! decides; a `.ignore` match, from any folder, wins over a `.gitignore` match, which wins
//! over `.git/info/exclude`; git's global excludes come last; an entry no rule names is
//! left out when it is hidden. (A `.git` that
//! is a file, a worktree's, brings no exclude file here.)

use std::path::Path;
use std::sync::Arc;

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::listing::{Kind, Listing};

/// The rules in force in one folder.
#[derive(Clone)]
pub struct Ignores {
    level: Option<Arc<Level>>,
    global: Arc<Gitignore>,
}

struct Level {
    ignore: Option<Gitignore>,
    git: Option<Gitignore>,
    exclude: Option<Gitignore>,
    parent: Option<Arc<Level>>,
}

fn matcher(dir: &Path, files: &[&str]) -> Option<Gitignore> {
    let mut b = GitignoreBuilder::new(dir);
    for f in files {
        // A line that does not parse is skipped, as `ignore` does; the rest apply.
        let _ = b.add(dir.join(f));
    }
    b.build().ok().filter(|g| !g.is_empty())
}

impl Ignores {
    /// The rules in force in `root` (absolute) from the folders above it.
    pub fn above(root: &Path) -> Ignores {
        let (global, _) = Gitignore::global();
        let mut ignores = Ignores {
            level: None,
            global: Arc::new(global),
        };
        let mut ancestors: Vec<&Path> = root.ancestors().skip(1).collect();
        ancestors.reverse();
        for dir in ancestors {
            let has = |name: &str| dir.join(name).exists();
            ignores = ignores.with(
                dir,
                has(".ignore"),
                has(".gitignore"),
                dir.join(".git").is_dir(),
            );
        }
        ignores
    }

    /// The rules in force in `dir`, whose entries are `listing`, under these.
    pub fn enter(&self, dir: &Path, listing: &Listing) -> Ignores {
        let file = |name: &str| listing.has(name, Kind::File) || listing.has(name, Kind::Link);
        self.with(
            dir,
            file(".ignore"),
            file(".gitignore"),
            listing.has(".git", Kind::Folder),
        )
    }

    fn with(&self, dir: &Path, ignore: bool, gitignore: bool, has_git: bool) -> Ignores {
        let level = Level {
            ignore: ignore.then(|| matcher(dir, &[".ignore"])).flatten(),
            git: gitignore.then(|| matcher(dir, &[".gitignore"])).flatten(),
            exclude: has_git
                .then(|| matcher(dir, &[".git/info/exclude"]))
                .flatten(),
            parent: self.level.clone(),
        };
        let empty = level.ignore.is_none() && level.git.is_none() && level.exclude.is_none();
        Ignores {
            // A folder without rules changes nothing: share the parent's.
            level: if empty {
                self.level.clone()
            } else {
                Some(Arc::new(level))
            },
            global: self.global.clone(),
        }
    }

    /// Whether the entry at `path` (absolute, in a folder these rules are in force in) is
    /// left out.
    pub fn ignored(&self, path: &Path, is_dir: bool, hidden: bool) -> bool {
        let (mut by_ignore, mut by_git, mut by_exclude) = (Match::None, Match::None, Match::None);
        let mut level = self.level.as_deref();
        while let Some(l) = level {
            let first = |m: &mut Match<()>, g: &Option<Gitignore>| {
                if m.is_none()
                    && let Some(g) = g
                {
                    *m = g.matched(path, is_dir).map(|_| ());
                }
            };
            first(&mut by_ignore, &l.ignore);
            first(&mut by_git, &l.git);
            first(&mut by_exclude, &l.exclude);
            level = l.parent.as_deref();
        }
        let m = by_ignore.or(by_git).or(by_exclude);
        if m.is_ignore() {
            return true;
        }
        let mut whitelisted = m.is_whitelist();
        if !whitelisted {
            let g = self.global.matched(path, is_dir);
            if g.is_ignore() {
                return true;
            }
            whitelisted = g.is_whitelist();
        }
        !whitelisted && hidden
    }
}
