//! The one file a validation rule writes: its report, at the task's single declared
//! output. Declaring none is allowed (the task is then only a gate); more is a mistake.

use std::path::PathBuf;

use batuta_engine::rule::Call;

use super::error::{RunError, WithError};

/// Where the report goes, checked before anything runs.
pub fn output(rule: &'static str, call: &Call<'_>) -> Result<Option<PathBuf>, WithError> {
    match call.outputs {
        [] => Ok(None),
        [one] => Ok(Some(call.path(one))),
        many => Err(WithError::new(
            rule,
            format!(
                "the task declares {} outputs ({}); {rule} writes one report",
                many.len(),
                many.join(", ")
            ),
        )),
    }
}

pub fn write(path: Option<&PathBuf>, bytes: &[u8]) -> Result<(), RunError> {
    match path {
        Some(p) => std::fs::write(p, bytes)
            .map_err(|e| RunError::io(format!("cannot write the report {}", p.display()), e)),
        None => Ok(()),
    }
}

pub fn write_json(path: Option<&PathBuf>, value: &serde_json::Value) -> Result<(), RunError> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.push('\n');
    write(path, text.as_bytes())
}
