//! `batuta build --affected BASE`: the files that changed since a git revision, by content.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

/// Workspace-relative paths whose content differs from revision `base`: tracked files git
/// finds changed (it compares content, so a touched file with the same bytes is not), and
/// files git does not track yet.
pub fn changed_since(root: &Path, base: &str) -> Result<HashSet<String>, String> {
    if base.starts_with('-') {
        return Err(format!("'{base}' is not a git revision"));
    }
    let mut changed = HashSet::new();
    let diff = git(
        root,
        &[
            "diff",
            "--name-only",
            "--relative",
            "--no-renames",
            "-z",
            base,
            "--",
        ],
    )?;
    let untracked = git(root, &["ls-files", "--others", "--exclude-standard", "-z"])?;
    for list in [diff, untracked] {
        changed.extend(
            list.split('\0')
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
        );
    }
    Ok(changed)
}

fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| format!("--affected needs git, which cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args[0],
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| "git printed a path that is not UTF-8".to_owned())
}
