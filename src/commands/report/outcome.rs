//! How each action ended the last time its phase ran, from what builds keep: the state
//! file names the failing actions of a failed phase (`id: message [BATUTA-X-NNN]`, joined
//! by `; `), and the journal holds each action's last successful run.

use std::collections::HashMap;

use batuta_engine::graph::Action;
use batuta_engine::journal::Journal;
use batuta_engine::manifest::Phase;
use batuta_engine::state::State;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Its last run succeeded (its outputs are in the journal).
    Ok,
    /// The last run of its phase failed on it.
    Failed,
    /// It has never succeeded and did not fail either: skipped, cancelled or not reached.
    NotRun,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::NotRun => "not run",
        }
    }

    /// The HTML row's class.
    pub fn class(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::NotRun => "not-run",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub status: Status,
    /// The error code of a failure, `BATUTA-X-NNN`.
    pub code: Option<String>,
    pub message: Option<String>,
    /// How long its last successful run took here; `None` when never run here or only
    /// restored from the cache since.
    pub run_ms: Option<u32>,
}

impl Outcome {
    /// `ok`, or `failed: why` (the code has a column of its own).
    pub fn text(&self) -> String {
        match &self.message {
            Some(m) => format!("{}: {m}", self.status.label()),
            None => self.status.label().to_owned(),
        }
    }
}

/// The outcomes of a workspace's actions.
pub struct Outcomes<'a> {
    journal: &'a Journal,
    /// Each failed phase's error.
    errors: HashMap<Phase, String>,
}

impl<'a> Outcomes<'a> {
    pub fn new(state: &State, journal: &'a Journal) -> Self {
        let errors = Phase::ALL
            .into_iter()
            .filter_map(|p| state.phase(p).error.map(|e| (p, e)))
            .collect();
        Outcomes { journal, errors }
    }

    pub fn of(&self, a: &Action) -> Outcome {
        let record = self.journal.actions.get(&a.id);
        let run_ms = record.and_then(|r| r.run_ms);
        if let Some((message, code)) = self
            .errors
            .get(&a.phase)
            .and_then(|error| failure_of(error, &a.id))
        {
            return Outcome {
                status: Status::Failed,
                code: Some(code),
                message: Some(message),
                run_ms,
            };
        }
        Outcome {
            status: if record.is_some() {
                Status::Ok
            } else {
                Status::NotRun
            },
            code: None,
            message: None,
            run_ms,
        }
    }
}

/// The message and code a phase's error gives for one action, if it names it.
fn failure_of(error: &str, id: &str) -> Option<(String, String)> {
    let needle = format!("{id}: ");
    let (at, _) = error
        .match_indices(&needle)
        .find(|(i, _)| *i == 0 || error[..*i].ends_with("; "))?;
    let rest = &error[at + needle.len()..];
    let open = rest.find(" [BATUTA-")?;
    let close = open + rest[open..].find(']')?;
    Some((rest[..open].to_owned(), rest[open + 2..close].to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_found_by_exact_action_id() {
        let error = "transpile/py:a.py.bak: boom [BATUTA-T-002]; transpile/py:a.py: no such \
                     file; really [BATUTA-T-004]";
        assert_eq!(
            failure_of(error, "transpile/py:a.py"),
            Some(("no such file; really".into(), "BATUTA-T-004".into()))
        );
        assert_eq!(
            failure_of(error, "transpile/py:a.py.bak"),
            Some(("boom".into(), "BATUTA-T-002".into()))
        );
        assert_eq!(failure_of(error, "transpile/py:b.py"), None);
        assert_eq!(failure_of("cancelled", "transpile/py:b.py"), None);
        // Named inside another action's message: not a failure of its own.
        assert_eq!(
            failure_of("x: reads y: z [BATUTA-V-001]", "y"),
            None,
            "only at the start of an entry"
        );
    }
}
