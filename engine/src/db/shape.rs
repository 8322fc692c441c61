//! The shape of the file tree an expansion read, so that the next run can tell, by a few
//! hundred `stat` calls and no listing, whether expanding again could give another graph.
//!
//! Expansion lists folders (the source tree, and the folders input globs walk), filters
//! what it lists by ignore files, checks that the paths to each input and output resolve
//! inside the workspace (no symbolic link pointing out), and that each hand-ported module
//! exists. So what it saw is summed up by:
//!
//! - the stamp of every folder it listed (a folder's mtime changes whenever an entry in it
//!   is created, removed or renamed), and of the `.gitignore` and `.ignore` files in them;
//! - the stamps of the ignore files above the folders it listed (the walk honours a
//!   parent's `.gitignore`), of `.git/info/exclude`, and of git's global excludes and
//!   configuration;
//! - the kind (missing, file, folder, or link and where it points) of each folder on the
//!   way to an input or an output, of each input no action writes, and of each
//!   hand-ported module. Only their kind: files coming and going in an output's folder
//!   change nothing expansion decided, and batuta's own files (the state file, `.batuta/`)
//!   come and go in the workspace's folder with every build.
//!
//! A stamp taken within a clock tick of the expansion (git's "racy clean" problem) proves
//! nothing: such an observation is racy, and the next run expands again.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Expansion;
use crate::digest::{Stamp, nanos};

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Each folder listed and ignore file read, with its stamp then (`None`: absent).
    listed: Vec<(PathBuf, Option<Stamp>)>,
    /// Each path whose kind mattered, with its kind then.
    kinds: Vec<(PathBuf, Kind)>,
    /// Something observed changed within a clock tick of the expansion.
    racy: bool,
}

/// What a path is, not looking through a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Kind {
    Missing,
    File,
    Folder,
    Link(PathBuf),
    Other,
}

fn kind(p: &Path) -> Kind {
    match std::fs::symlink_metadata(p) {
        Err(_) => Kind::Missing,
        Ok(m) if m.file_type().is_symlink() => {
            Kind::Link(std::fs::read_link(p).unwrap_or_default())
        }
        Ok(m) if m.is_dir() => Kind::Folder,
        Ok(m) if m.is_file() => Kind::File,
        Ok(_) => Kind::Other,
    }
}

/// `rel` and its folders, from `skip` levels up to the workspace (`""`), as paths under
/// `root`.
fn ancestors(root: &Path, rel: &str, skip: usize, into: &mut BTreeSet<PathBuf>) {
    let mut dir = rel;
    for _ in 0..skip {
        dir = dir.rsplit_once('/').map_or("", |(d, _)| d);
    }
    loop {
        if !into.insert(if dir.is_empty() {
            root.to_path_buf()
        } else {
            root.join(dir)
        }) {
            return;
        }
        if dir.is_empty() {
            return;
        }
        dir = dir.rsplit_once('/').map_or("", |(d, _)| d);
    }
}

/// Git's global excludes and the configuration that can name another.
fn global_ignores() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let mut files = Vec::new();
    if let Some(x) = xdg {
        files.push(x.join("git/ignore"));
        files.push(x.join("git/config"));
    }
    if let Some(h) = home {
        files.push(h.join(".gitconfig"));
    }
    files
}

/// Each path with what `look` says of it, looked at in parallel.
fn each<T: Send>(paths: BTreeSet<PathBuf>, look: fn(&Path) -> T) -> Vec<(PathBuf, T)> {
    let paths: Vec<PathBuf> = paths.into_iter().collect();
    paths
        .into_par_iter()
        .map(|p| {
            let t = look(&p);
            (p, t)
        })
        .collect()
}

impl Shape {
    /// What the expansion `e` of the workspace at `root`, begun at `started`, depended on.
    pub fn observe(root: &Path, e: &Expansion, started: SystemTime) -> Shape {
        // Absolute, so the next run may stand in another folder.
        let abs = crate::graph::walk::absolute;
        let root = abs(root);
        let root = root.as_path();
        let walked: Vec<PathBuf> = e.walked.iter().map(|d| abs(d)).collect();
        let mut paths = BTreeSet::new();
        for dir in &walked {
            paths.insert(dir.clone());
            paths.insert(dir.join(".gitignore"));
            paths.insert(dir.join(".ignore"));
        }
        // Above the walked folders: ignore files apply from parents too.
        let tops: BTreeSet<&Path> = walked
            .iter()
            .filter(|d| !d.parent().is_some_and(|p| walked.iter().any(|w| w == p)))
            .map(PathBuf::as_path)
            .collect();
        for top in tops {
            for up in top.ancestors() {
                paths.insert(up.join(".gitignore"));
                paths.insert(up.join(".ignore"));
                paths.insert(up.join(".git/info/exclude"));
            }
        }
        paths.extend(global_ignores());
        let g = &e.graph;
        let mut kinds = BTreeSet::new();
        let written: std::collections::HashSet<&str> = g
            .actions
            .iter()
            .flat_map(|a| a.outputs.iter().map(String::as_str))
            .collect();
        let walked_set: std::collections::HashSet<&Path> =
            walked.iter().map(PathBuf::as_path).collect();
        for a in &g.actions {
            for i in &a.inputs {
                // A file in a folder that was listed is covered by that folder's stamp: it
                // cannot turn into a link without an entry of the folder changing.
                let listed = root
                    .join(i)
                    .parent()
                    .is_some_and(|p| walked_set.contains(p));
                if listed {
                    continue;
                }
                let generated = written.contains(i.as_str());
                ancestors(root, i, usize::from(generated), &mut kinds);
            }
            for o in &a.outputs {
                ancestors(root, o, 1, &mut kinds);
            }
        }
        for h in &g.hand_ported {
            ancestors(root, &h.module, 0, &mut kinds);
        }
        for p in &e.probed {
            if let Ok(rel) = abs(p).strip_prefix(root) {
                ancestors(root, &rel.to_string_lossy(), 0, &mut kinds);
            }
        }
        let mut listed = each(paths, Stamp::of_path);
        // An ignore file absent from a listed folder cannot appear without the folder's
        // stamp moving: the folder's stamp stands for it, and the next check spares a
        // failing `stat` per folder (two thousand at a thousand folders).
        listed.retain(|(p, stamp)| {
            let ignore_file = p
                .file_name()
                .is_some_and(|n| n == ".gitignore" || n == ".ignore");
            stamp.is_some() || !ignore_file || !p.parent().is_some_and(|d| walked_set.contains(d))
        });
        let kinds = each(kinds, kind);
        let at = nanos(started);
        let racy = listed.iter().any(|(_, s)| s.is_some_and(|s| s.racy_at(at)));
        Shape {
            listed,
            kinds,
            racy,
        }
    }

    /// Whether expanding again could give another graph: something observed changed, or
    /// the observation was racy.
    pub fn changed(&self) -> bool {
        self.racy
            || self
                .listed
                .par_iter()
                .any(|(p, then)| Stamp::of_path(p) != *then)
            || self.kinds.par_iter().any(|(p, then)| kind(p) != *then)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::ActionGraph;

    fn expansion(walked: Vec<PathBuf>) -> Expansion {
        Expansion {
            graph: ActionGraph {
                target: "default".into(),
                keep_going: false,
                stages: Vec::new(),
                actions: Vec::new(),
                graph: Default::default(),
                action_nodes: Vec::new(),
                hand_ported: Vec::new(),
                plan: Vec::new(),
                warnings: Vec::new(),
                projects: Vec::new(),
            },
            walked,
            probed: Vec::new(),
        }
    }

    /// An observation made well after the tree settled.
    fn settled(root: &Path, walked: Vec<PathBuf>) -> Shape {
        std::thread::sleep(std::time::Duration::from_millis(60));
        Shape::observe(root, &expansion(walked), SystemTime::now())
    }

    #[test]
    fn a_new_file_an_edited_ignore_file_or_a_racy_stamp_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("pkg")).unwrap();
        std::fs::write(src.join("pkg/a.py"), "a").unwrap();
        let walked = vec![src.clone(), src.join("pkg")];
        let shape = settled(dir.path(), walked.clone());
        assert!(!shape.racy);
        assert!(!shape.changed(), "nothing changed");

        // A file edited in place changes no folder: the shape holds.
        std::fs::write(src.join("pkg/a.py"), "edited").unwrap();
        assert!(!shape.changed());

        std::fs::write(src.join("pkg/b.py"), "b").unwrap();
        assert!(shape.changed(), "a new file in a listed folder");

        let shape = settled(dir.path(), walked.clone());
        std::fs::write(src.join(".gitignore"), "*.py\n").unwrap();
        assert!(shape.changed(), "an ignore file appeared");
        let shape = settled(dir.path(), walked.clone());
        std::fs::write(src.join(".gitignore"), "b.py\n").unwrap();
        assert!(shape.changed(), "an ignore file was edited in place");

        // Observed right after a change: racy, so the next run expands again.
        std::fs::write(src.join("pkg/c.py"), "c").unwrap();
        let racy = Shape::observe(dir.path(), &expansion(walked), SystemTime::now());
        assert!(racy.racy && racy.changed());
    }

    #[test]
    fn a_probed_file_that_appears_or_goes_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let probed = dir.path().join("compile_commands.json");
        let mut e = expansion(Vec::new());
        e.probed = vec![probed.clone()];
        std::thread::sleep(std::time::Duration::from_millis(60));
        let shape = Shape::observe(dir.path(), &e, SystemTime::now());
        assert!(!shape.changed());
        std::fs::write(&probed, "[]").unwrap();
        assert!(shape.changed(), "the file appeared");
        std::thread::sleep(std::time::Duration::from_millis(60));
        let shape = Shape::observe(dir.path(), &e, SystemTime::now());
        assert!(!shape.changed());
        std::fs::remove_file(&probed).unwrap();
        assert!(shape.changed(), "the file went");
    }
}
