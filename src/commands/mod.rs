//! One module per subcommand; this one holds what they share: finding and loading the
//! manifest.

pub mod affected;
pub mod analyze;
pub mod build;
pub mod check;
pub mod clean;
pub mod completions;
pub mod doctor;
pub mod explain;
pub mod files;
pub mod graph;
pub mod init;
pub mod next;
pub mod port;
pub mod remote;
pub mod report;
pub mod status;
pub mod watch;
pub mod worker;

use std::path::{Path, PathBuf};

use std::sync::atomic::AtomicBool;

use batuta_engine::lock::{LockError, Wait, WorkspaceLock};
use batuta_engine::manifest::{self, Code, Diagnostic, Diagnostics, Manifest, Source};

use crate::Exit;

use crate::cli::ManifestArg;

pub const MANIFEST_NAME: &str = "batuta.yaml";

/// The manifest named with -f, or `batuta.yaml` in this folder or the nearest parent,
/// as cargo finds Cargo.toml.
pub fn find_manifest(arg: &ManifestArg) -> Result<PathBuf, Diagnostics> {
    if let Some(f) = &arg.file {
        return Ok(f.clone());
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    for dir in cwd.ancestors() {
        let candidate = dir.join(MANIFEST_NAME);
        if candidate.is_file() {
            // Shown relative to where the user stands, when it is below it.
            return Ok(candidate
                .strip_prefix(&cwd)
                .map(Path::to_path_buf)
                .unwrap_or(candidate));
        }
    }
    Err(Diagnostics {
        source: Source::new(MANIFEST_NAME, ""),
        items: vec![
            Diagnostic::new(
                Code::Unreadable,
                format!(
                    "no {MANIFEST_NAME} in {} or any folder above it",
                    cwd.display()
                ),
            )
            .help("run `batuta init` here to write one for the code in this folder, or name the manifest with -f FILE"),
        ],
    })
}

/// Find and load the manifest with the built-in catalog.
pub fn load(arg: &ManifestArg) -> Result<Manifest, Diagnostics> {
    let path = find_manifest(arg)?;
    let started = std::time::Instant::now();
    let m = manifest::load(&path, &batuta_rules::CATALOG)?;
    tracing::debug!(path = %path.display(), elapsed = ?started.elapsed(), "loaded manifest");
    Ok(m)
}

/// Find and load the manifest and expand every stage of it; a problem is reported for
/// people and is exit 2 (nothing ran).
pub fn load_graph(
    ui: &crate::output::Ui,
    arg: &ManifestArg,
) -> Result<(Manifest, batuta_engine::graph::ActionGraph), Exit> {
    load(arg)
        .and_then(|m| batuta_engine::graph::expand_all(&m).map(|g| (m, g)))
        .map_err(|d| {
            ui.report(&d);
            Exit::Usage
        })
}

/// Take the workspace's writer lock, waiting for another batuta that holds it unless
/// `no_wait`. `cancel` (Ctrl-C) ends the wait.
pub fn lock(root: &Path, no_wait: bool, cancel: &AtomicBool) -> Result<WorkspaceLock, Exit> {
    let mut waiting = |holder: Option<u32>| {
        let who = holder.map_or_else(String::new, |pid| format!(" (pid {pid})"));
        eprintln!("waiting for another batuta{who} to finish in this workspace...");
    };
    let wait = if no_wait {
        Wait::No
    } else {
        Wait::Until {
            cancel,
            waiting: &mut waiting,
        }
    };
    WorkspaceLock::acquire(root, wait).map_err(|e| {
        eprintln!("error: {e}");
        if let LockError::Busy { .. } = e {
            eprintln!("  help: wait for it to finish, or run without --no-wait to wait for it");
        }
        Exit::Failed
    })
}

/// For commands without a Ctrl-C handler of their own: Ctrl-C ends the process.
pub static NEVER: AtomicBool = AtomicBool::new(false);
