//! Where a rule keeps what its last run found, whatever the outcome: the engine discards a
//! failed action's declared outputs, yet a failure is exactly when people want the details
//! (cargo-test's JUnit report, cargo-build's diagnostics for `batuta status --files`).

use std::path::{Path, PathBuf};

/// `.batuta/<folder>/<action>.<ext>`, the action id made a file name.
pub fn path(root: &Path, folder: &str, action: &str, ext: &str) -> PathBuf {
    let file = batuta_engine::fsutil::file_name_of(action);
    root.join(".batuta")
        .join(folder)
        .join(format!("{file}.{ext}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_action_id_becomes_one_file_name() {
        let p = super::path(
            std::path::Path::new("/w"),
            "junit",
            "validate/tests:a b",
            "xml",
        );
        assert_eq!(
            p,
            std::path::Path::new("/w/.batuta/junit/validate_tests_a_b.xml")
        );
    }
}
