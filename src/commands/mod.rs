//! One module per subcommand; this one holds what they share: finding and loading the
//! manifest.

pub mod analyze;
pub mod build;
pub mod check;
pub mod clean;
pub mod graph;
pub mod init;
pub mod status;

use std::path::{Path, PathBuf};

use batuta_engine::manifest::{self, Code, Diagnostic, Diagnostics, Manifest, Source};

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
            .help("name the manifest with -f FILE, or start from batuta.yaml.example"),
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
