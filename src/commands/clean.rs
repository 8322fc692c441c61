//! `batuta clean`, `batuta reset` and `batuta cache gc`: removing what batuta made.

use batuta_engine::cache::Cache;
use batuta_engine::fsutil::remove_file_if_exists;
use batuta_engine::manifest::workspace_of;
use batuta_engine::stale::Swept;
use batuta_engine::{graph, journal, state};

use crate::Exit;
use crate::cli::ManifestArg;
use crate::output::Ui;

/// Remove every action's outputs and the journal; with `cache`, the cache too.
pub fn clean(ui: &Ui, manifest: &ManifestArg, cache: bool) -> Exit {
    let loaded = super::load(manifest).and_then(|m| graph::expand_all(&m).map(|g| (m, g)));
    let (m, g) = match loaded {
        Ok(x) => x,
        Err(d) => {
            ui.report(&d);
            return Exit::Usage;
        }
    };
    let root = &m.root;
    let _lock = match super::lock(root, false, &super::NEVER) {
        Ok(l) => l,
        Err(exit) => return exit,
    };
    // What earlier builds wrote that no action of today's manifest writes (an excluded
    // file's module, an old crate root): the journal remembers each file and its digest,
    // and a file changed since is someone's own now, so it stays.
    let (mut j, _) = journal::Journal::load(&journal::path(root));
    let stat = std::sync::RwLock::new(std::mem::take(&mut j.stat));
    let mut removed = 0;
    let current: std::collections::HashSet<String> = g
        .actions
        .iter()
        .flat_map(|a| a.outputs.iter().cloned())
        .collect();
    for s in batuta_engine::stale::sweep(root, &mut j.actions, &current, &stat) {
        match s {
            Swept::Removed(_) => removed += 1,
            Swept::Kept(p) => println!("kept {p}: batuta wrote it, but it changed since"),
            Swept::Failed(p, e) => {
                eprintln!("error: cannot remove {p}: {e}");
                return Exit::Failed;
            }
        }
    }
    for out in g.actions.iter().flat_map(|a| &a.outputs) {
        let p = root.join(out);
        if p.is_file() {
            if let Err(e) = remove_file_if_exists(&p) {
                eprintln!("error: cannot remove {}: {e}", p.display());
                return Exit::Failed;
            }
            removed += 1;
        }
    }
    let _ = remove_file_if_exists(&journal::path(root));
    println!(
        "removed {removed} output{}",
        if removed == 1 { "" } else { "s" }
    );
    if cache {
        let dir = super::build::cache_dir(&m);
        if let Err(e) = Cache::new(&dir).clear() {
            eprintln!("error: cannot remove the cache {}: {e}", dir.display());
            return Exit::Failed;
        }
        println!("removed the cache {}", dir.display());
    }
    Exit::Success
}

/// Forget the workflow state.
pub fn reset(ui: &Ui, manifest: &ManifestArg, yes: bool) -> Exit {
    let root = match super::find_manifest(manifest) {
        Ok(p) => workspace_of(&p),
        Err(d) => {
            ui.report(&d);
            return Exit::Usage;
        }
    };
    let path = state::path(&root);
    if !yes {
        eprintln!(
            "error: this forgets every phase's status in {}; run `batuta reset --yes` to do it",
            path.display()
        );
        return Exit::Usage;
    }
    let _lock = match super::lock(&root, false, &super::NEVER) {
        Ok(l) => l,
        Err(exit) => return exit,
    };
    match remove_file_if_exists(&path) {
        Ok(()) => {
            println!("reset: every phase is Not Started");
            Exit::Success
        }
        Err(e) => {
            eprintln!("error: cannot remove {}: {e}", path.display());
            Exit::Failed
        }
    }
}

/// Evict least recently used cache entries down to `max` bytes.
pub fn gc(ui: &Ui, manifest: &ManifestArg, max: u64) -> Exit {
    let m = match super::load(manifest) {
        Ok(m) => m,
        Err(d) => {
            ui.report(&d);
            return Exit::Usage;
        }
    };
    let dir = super::build::cache_dir(&m);
    let _lock = match super::lock(&m.root, false, &super::NEVER) {
        Ok(l) => l,
        Err(exit) => return exit,
    };
    match Cache::new(&dir).gc(max) {
        Ok(r) => {
            println!(
                "evicted {} action records and removed {} blobs ({} bytes); the cache holds {} bytes ({} action records)",
                r.records_evicted, r.blobs_removed, r.bytes_freed, r.bytes_kept, r.records_kept
            );
            Exit::Success
        }
        Err(e) => {
            eprintln!("error: cache gc in {}: {e}", dir.display());
            Exit::Failed
        }
    }
}
