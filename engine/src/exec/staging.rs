//! Staging: a command that is told where to write (`-o {out}`) writes into a private folder
//! instead, and only what the task declares is moved into the workspace.
//!
//! Two reasons. Tools write more than they are told: depyler puts a `Cargo.toml` beside
//! every `.rs`, a compiler a `.d` beside its object. Written in place, such a file would be
//! an output nobody declared (never cached, never cleaned) and, when two actions write into
//! one folder, a race. In a private folder it is either declared (an output beside the
//! named one, or a template's [`Sidecar`]) and moved into place, or the action fails naming
//! it. What a tool writes elsewhere (its working folder, absolute paths) is not seen here.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::beneath::Beneath;
use crate::codes;
use crate::graph::{Action, Sidecar};
use crate::rule::Failure;
use crate::rule::failure::Kind;

/// The action broke its declaration, or its outputs cannot be put in place
/// (BATUTA-E-002).
fn contract(undeclared: Vec<String>, message: String) -> Failure {
    Failure::of_kind(
        codes::E002,
        Kind::Contract {
            not_written: Vec::new(),
            undeclared,
        },
        message,
    )
}

/// Where the staging folders live, relative to the workspace.
pub(crate) const STAGING_DIR: &str = ".batuta/staging";

/// The staging folders of one build, reused from action to action: a folder made and
/// removed per action would leave ext4 thousands of recently deleted inodes to step over
/// on every file it creates next, which made a cold build of 10 000 actions no faster at
/// `-j 2` than at `-j 1`. A folder is empty whenever it is back in the pool.
pub(crate) struct StagingPool {
    root: PathBuf,
    free: Mutex<Vec<usize>>,
    made: AtomicUsize,
}

impl StagingPool {
    pub(crate) fn new(root: &Path) -> StagingPool {
        StagingPool {
            root: root.to_path_buf(),
            free: Mutex::new(Vec::new()),
            made: AtomicUsize::new(0),
        }
    }

    /// A free folder's number; a new one is emptied first (a killed build may have left
    /// files in it).
    fn take(&self) -> std::io::Result<usize> {
        if let Some(n) = self.free.lock().expect("staging pool lock").pop() {
            return Ok(n);
        }
        let n = self.made.fetch_add(1, Ordering::Relaxed);
        let dir = self.root.join(STAGING_DIR).join(n.to_string());
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        std::fs::create_dir_all(&dir)?;
        Ok(n)
    }

    fn give(&self, n: usize) {
        self.free.lock().expect("staging pool lock").push(n);
    }
}

impl Drop for StagingPool {
    fn drop(&mut self) {
        if *self.made.get_mut() > 0 {
            let _ = std::fs::remove_dir_all(self.root.join(STAGING_DIR));
        }
    }
}

/// The staging folder of one running command; emptied and given back when dropped.
pub(crate) struct Staging<'p> {
    pool: &'p StagingPool,
    n: usize,
    /// Each staged output (workspace-relative) with its folder inside the staging folder.
    staged: Vec<(String, PathBuf)>,
}

impl<'p> Staging<'p> {
    /// Stages the outputs `argv` names word for word. `None` when it names none: the
    /// command then runs as written.
    pub(crate) fn prepare(
        pool: &'p StagingPool,
        a: &Action,
        argv: &[String],
    ) -> Result<Option<(Staging<'p>, Vec<String>)>, Failure> {
        let named: Vec<&String> = a
            .outputs
            .iter()
            .filter(|o| argv.iter().skip(1).any(|arg| arg == *o))
            .collect();
        if named.is_empty() {
            return Ok(None);
        }
        let fail = |e: std::io::Error| {
            contract(
                Vec::new(),
                format!("cannot prepare a staging folder for {}: {e}", a.id),
            )
        };
        let n = pool.take().map_err(fail)?;
        // From here on, dropping the staging gives the folder back.
        let mut staging = Staging {
            pool,
            n,
            staged: Vec::with_capacity(named.len()),
        };
        let rel_dir = format!("{STAGING_DIR}/{n}");
        let mut argv = argv.to_vec();
        for (i, out) in named.into_iter().enumerate() {
            let sub = pool.root.join(&rel_dir).join(i.to_string());
            std::fs::create_dir_all(&sub).map_err(fail)?;
            let name = out.rsplit('/').next().unwrap_or(out);
            let rel = format!("{rel_dir}/{i}/{name}");
            for arg in argv.iter_mut().skip(1).filter(|arg| *arg == out) {
                arg.clone_from(&rel);
            }
            staging.staged.push((out.clone(), sub));
        }
        Ok(Some((staging, argv)))
    }

    /// Moves what the command wrote into the workspace: each staged output, and what it wrote
    /// beside one when the action declares it. Anything else fails the action.
    pub(crate) fn finish(&self, root: &Path, a: &Action, program: &str) -> Result<(), Failure> {
        let fail = |msg: String| contract(Vec::new(), msg);
        let mut undeclared = Vec::new();
        for (out, sub) in &self.staged {
            let (parent, name) = out.rsplit_once('/').unwrap_or(("", out));
            for rel in files_under(sub)
                .map_err(|e| fail(format!("cannot list what {program} wrote for '{out}': {e}")))?
            {
                let beside = if parent.is_empty() {
                    rel.clone()
                } else {
                    format!("{parent}/{rel}")
                };
                let dest = if rel == name {
                    Some(out.as_str())
                } else if let Some(Sidecar { output, .. }) =
                    a.sidecars.iter().find(|s| s.name == rel)
                {
                    Some(output.as_str())
                } else {
                    a.outputs.iter().find(|o| **o == beside).map(String::as_str)
                };
                let Some(dest) = dest else {
                    undeclared.push(beside);
                    continue;
                };
                // Moved without following a link an action may have planted on the way.
                let to = Beneath::open(root, dest, true)
                    .map_err(|e| fail(format!("cannot move '{dest}' into place: {e}")))?;
                to.rename_from(&sub.join(&rel))
                    .map_err(|e| fail(format!("cannot move '{dest}' into place: {e}")))?;
            }
        }
        // A sidecar is what the tool had to say beside its output; saying nothing (an older
        // or newer tool) is an empty file, so the action's outputs are always complete.
        for Sidecar { output, .. } in &a.sidecars {
            let cannot = |e: std::io::Error| fail(format!("cannot write '{output}': {e}"));
            let to = Beneath::open(root, output, true).map_err(cannot)?;
            if to.metadata().map_err(cannot)?.is_none() {
                std::fs::File::create_new(to.path()).map_err(cannot)?;
            }
        }
        if undeclared.is_empty() {
            return Ok(());
        }
        let list = undeclared
            .iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(", ");
        Err(contract(
            undeclared.clone(),
            format!("{program} wrote {list}, which {} does not declare", a.id),
        )
        .hint("add it to the task's `outputs:` so batuta caches and cleans it, or make the tool stop writing it"))
    }
}

impl Drop for Staging<'_> {
    /// What a failed or cancelled command left is removed; the folders themselves stay for
    /// the next action. One that cannot be emptied is not given back.
    fn drop(&mut self) {
        let mut clean = true;
        for (_, sub) in &self.staged {
            if let Ok(entries) = std::fs::read_dir(sub) {
                for e in entries.flatten() {
                    let p = e.path();
                    let gone = match e.file_type() {
                        Ok(t) if t.is_dir() => std::fs::remove_dir_all(&p),
                        _ => std::fs::remove_file(&p),
                    };
                    clean &= gone.is_ok();
                }
            }
        }
        if clean {
            self.pool.give(self.n);
        }
    }
}

/// Every file (not folder) under `dir`, as `/`-separated paths relative to it, sorted.
fn files_under(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut todo = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = todo.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type()?.is_dir() {
                todo.push((entry.path(), rel));
            } else {
                found.push(rel);
            }
        }
    }
    found.sort();
    Ok(found)
}
