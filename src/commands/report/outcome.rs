//! How each action ended the last time its phase ran, from what builds keep: the state
//! file lists the failures of a failed phase (each with its action, code, message and
//! kind), and the journal holds each action's last successful run.

use std::collections::HashMap;

use batuta_engine::graph::Action;
use batuta_engine::journal::Journal;
use batuta_engine::manifest::Phase;
use batuta_engine::rule::failure::{Kind, Recorded};
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
    /// What kind of failure it was, for the sections that say more about one kind.
    #[serde(skip)]
    pub kind: Option<Kind>,
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
    /// The failures of the failed phases, by action id.
    failures: HashMap<String, Recorded>,
}

impl<'a> Outcomes<'a> {
    pub fn new(state: &State, journal: &'a Journal) -> Self {
        let failures = Phase::ALL
            .into_iter()
            .flat_map(|p| state.phase(p).failures)
            .map(|f| (f.action.clone(), f))
            .collect();
        Outcomes { journal, failures }
    }

    pub fn of(&self, a: &Action) -> Outcome {
        let record = self.journal.actions.get(&a.id);
        let run_ms = record.and_then(|r| r.run_ms);
        if let Some(f) = self.failures.get(&a.id) {
            return Outcome {
                status: Status::Failed,
                code: Some(f.code.clone()),
                message: Some(f.message.clone()),
                kind: Some(f.kind.clone()),
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
            kind: None,
            run_ms,
        }
    }
}
