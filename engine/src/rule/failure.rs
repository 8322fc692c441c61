//! Why an action failed, as a type: the book's code (or the engine's own), a message for
//! people, and a [`Kind`] for programs. The CLI, the report and the JUnit writer act on the
//! kind and never read the message to find out what happened.

use serde::{Deserialize, Serialize};

use crate::codes::ErrorCode;

/// What kind of failure it is, with what whoever acts on it needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// A program the action runs cannot be found or started. `tool` is the manifest's name
    /// for it when the action runs a declared tool.
    ToolMissing {
        tool: Option<String>,
        program: String,
        install: Option<String>,
    },
    /// A declared input is missing, or cannot be read (BATUTA-E-001).
    MissingInput { path: String },
    /// The action broke its declaration (BATUTA-E-002): declared outputs it did not write,
    /// files it wrote that it does not declare, or an output batuta could not put in place.
    Contract {
        not_written: Vec<String>,
        undeclared: Vec<String>,
    },
    /// The action ran past its timeout and was killed (BATUTA-E-003).
    TimedOut { seconds: u64 },
    /// A command exited with a non-zero code (`exit_code`) or was killed by a signal
    /// (`None`). Its whole output is in `log`, relative to the workspace, when it could be
    /// kept. BATUTA-E-004 unless a phase rule recognised why.
    Command {
        program: String,
        exit_code: Option<i32>,
        log: Option<String>,
    },
    /// The migrated program's system calls differ from the original's: how many
    /// operations only the original did (`missing`) and only the migrated one did.
    Divergence { missing: usize, extra: usize },
    /// Tests failed: their names, and the JUnit report of the run (relative to the
    /// workspace).
    Tests {
        failing: Vec<String>,
        junit: Option<String>,
    },
    /// Anything else a rule found wrong; its code and message say what.
    Rule,
}

/// Why an action failed, with the book's code and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: ErrorCode,
    /// Boxed: a failure travels in every `Result` of a run, and most are small.
    pub kind: Box<Kind>,
    pub message: String,
    /// The tool's own words (stderr), when it printed any.
    pub detail: String,
    pub hints: Vec<String>,
}

impl Failure {
    /// A failure a rule found, of [`Kind::Rule`]; [`Failure::of_kind`] says more.
    pub fn new(code: ErrorCode, message: String) -> Failure {
        Failure::of_kind(code, Kind::Rule, message)
    }

    pub fn of_kind(code: ErrorCode, kind: Kind, message: String) -> Failure {
        Failure {
            code,
            kind: Box::new(kind),
            message,
            detail: String::new(),
            hints: Vec::new(),
        }
    }

    pub fn detail(mut self, d: String) -> Failure {
        self.detail = d;
        self
    }

    pub fn hint(mut self, h: impl Into<String>) -> Failure {
        self.hints.push(h.into());
        self
    }

    /// The same failure under a more precise code (a phase rule recognised it).
    pub fn recode(mut self, code: ErrorCode) -> Failure {
        self.code = code;
        self
    }
}

/// What the state file keeps of a failure: enough for the report to say what failed and
/// why without the run that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub action: String,
    pub code: String,
    pub message: String,
    #[serde(flatten)]
    pub kind: Kind,
}

impl Recorded {
    pub fn of(action: &str, f: &Failure) -> Recorded {
        Recorded {
            action: action.to_owned(),
            code: f.code.code.to_owned(),
            message: f.message.clone(),
            kind: (*f.kind).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    #[test]
    fn a_recorded_failure_keeps_its_kind_through_json() {
        let f = Failure::of_kind(
            codes::V003,
            Kind::Divergence {
                missing: 2,
                extra: 1,
            },
            "diverge".into(),
        );
        let r = Recorded::of("validate/trace", &f);
        let text = serde_json::to_string(&r).unwrap();
        assert!(
            text.contains(r#""kind":"divergence","missing":2,"extra":1"#),
            "{text}"
        );
        let back: Recorded = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }
}
