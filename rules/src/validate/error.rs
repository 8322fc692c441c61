//! The ways a validation rule can fail before it has anything to compare, as types; each
//! becomes the engine's [`Failure`] with the code of the rule that met it.

use std::path::PathBuf;
use std::time::Duration;

use batuta_engine::codes::ErrorCode;
use batuta_engine::rule::Failure;

/// The task's `with:` does not say what the rule needs. Found at run time, because the
/// engine hands `with` through unread.
#[derive(Debug, thiserror::Error)]
#[error("{rule}: bad `with`: {message}")]
pub struct WithError {
    pub rule: &'static str,
    pub message: String,
}

impl WithError {
    pub fn new(rule: &'static str, message: impl Into<String>) -> WithError {
        WithError {
            rule,
            message: message.into(),
        }
    }

    pub fn failure(self, code: ErrorCode, keys: &str) -> Failure {
        Failure::new(code, self.to_string()).hint(format!(
            "`with:` of {} takes: {keys} (batuta.yaml.example shows each)",
            self.rule
        ))
    }
}

/// Preparing or running one of the compared programs went wrong.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{side}: program '{program}' is not in the working copy ({path})")]
    NotInWorkingCopy {
        side: &'static str,
        program: String,
        path: PathBuf,
    },
    #[error("{side}: program '{program}' not found on PATH")]
    NotOnPath { side: &'static str, program: String },
    #[error("{side}: cannot start '{program}': {source}")]
    Spawn {
        side: &'static str,
        program: String,
        source: std::io::Error,
    },
    #[error("{side}: '{program}' did not finish within {}s and was killed", .limit.as_secs_f64())]
    Timeout {
        side: &'static str,
        program: String,
        limit: Duration,
    },
    #[error("cancelled")]
    Cancelled,
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl RunError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> RunError {
        RunError::Io {
            what: what.into(),
            source,
        }
    }

    pub fn failure(self, code: ErrorCode) -> Failure {
        let hint = match &self {
            RunError::NotInWorkingCopy { .. } => Some(
                "a program named by a path runs from the working copy: list it (and what it \
                 reads) in the task's `inputs`",
            ),
            RunError::NotOnPath { .. } => Some(
                "install it, or name it by a path listed in `inputs`; only PATH, HOME and the \
                 task's `env` reach the programs",
            ),
            RunError::Timeout { .. } => Some("raise `timeout` (seconds) in the task's `with`"),
            _ => None,
        };
        let f = Failure::new(code, self.to_string());
        match hint {
            Some(h) => f.hint(h),
            None => f,
        }
    }
}
