//! A temporary working copy of a task's declared inputs, so each compared program runs in
//! a folder of its own: neither sees what the other wrote, and the workspace stays clean.

use std::path::{Path, PathBuf};

use super::error::RunError;

pub struct WorkCopy {
    dir: tempfile::TempDir,
    /// The canonical path of `dir`, so traced absolute paths can be made relative to it.
    path: PathBuf,
}

impl WorkCopy {
    /// Copies every input (relative to `root`) to the same relative path in a new folder.
    pub fn new(root: &Path, inputs: &[String], label: &str) -> Result<WorkCopy, RunError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("batuta-{label}-"))
            .tempdir()
            .map_err(|e| RunError::io("cannot create a temporary working copy", e))?;
        let path = dir
            .path()
            .canonicalize()
            .map_err(|e| RunError::io("cannot resolve the temporary working copy", e))?;
        for rel in inputs {
            let from = root.join(rel);
            let to = path.join(rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    RunError::io(
                        format!("cannot create the folder of '{rel}' in the working copy"),
                        e,
                    )
                })?;
            }
            // fs::copy keeps the permission bits, so a copied binary stays executable.
            std::fs::copy(&from, &to).map_err(|e| {
                RunError::io(
                    format!("cannot copy input '{rel}' into the working copy"),
                    e,
                )
            })?;
        }
        Ok(WorkCopy { dir, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the folder now, reporting a failure instead of ignoring it on drop.
    pub fn close(self) -> std::io::Result<()> {
        self.dir.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_inputs_at_their_relative_paths() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("data")).unwrap();
        std::fs::write(root.path().join("data/in.csv"), "a,1\n").unwrap();
        let wc = WorkCopy::new(root.path(), &["data/in.csv".to_owned()], "test").unwrap();
        assert_eq!(
            std::fs::read_to_string(wc.path().join("data/in.csv")).unwrap(),
            "a,1\n"
        );
        assert!(wc.path().is_absolute());
        let p = wc.path().to_path_buf();
        wc.close().unwrap();
        assert!(!p.exists());
    }

    #[test]
    fn a_missing_input_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let e = WorkCopy::new(root.path(), &["nope.txt".to_owned()], "test")
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("cannot copy input 'nope.txt'"),
            "{e}"
        );
    }
}
