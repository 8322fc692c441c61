//! `.batuta-state.json`: where the migration stands, phase by phase (REFERENCE.md).
//!
//! NotStarted → InProgress → Completed, or InProgress → Failed; Failed → InProgress on retry.
//! Written atomically after every change, so `batuta status` never reads half a file.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil;
use crate::manifest::Phase;

pub const FILE_NAME: &str = ".batuta-state.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Status {
    #[default]
    NotStarted,
    InProgress,
    Completed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PhaseState {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub completed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration: Option<String>,
    /// Why the phase failed: the failing actions and their error codes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct State {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub current_phase: Option<String>,
    /// Keyed by phase title (Analysis, Transpilation, …).
    pub phases: BTreeMap<String, PhaseState>,
    /// A workspace's projects (`projects:`), each with its own board; the phases above are
    /// the whole workspace's.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub projects: BTreeMap<String, State>,
}

pub fn path(root: &Path) -> PathBuf {
    root.join(FILE_NAME)
}

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is not a valid batuta state file ({reason}); `batuta reset --yes` starts over")]
    Invalid { path: PathBuf, reason: String },
}

impl State {
    /// Load the state; a missing file is a migration not started.
    pub fn load(path: &Path) -> Result<State, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => {
                return Err(StateError::Io {
                    path: path.to_owned(),
                    source: e,
                });
            }
        };
        let state: State = serde_json::from_str(&text).map_err(|e| StateError::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        state.check().map_err(|reason| StateError::Invalid {
            path: path.to_owned(),
            reason,
        })?;
        Ok(state)
    }

    /// Known phases and RFC 3339 times, here and in every project's board.
    fn check(&self) -> Result<(), String> {
        let invalid = |reason: String| reason;
        for (name, phase) in &self.phases {
            if !Phase::ALL.iter().any(|p| p.title() == name.as_str()) {
                return Err(invalid(format!("unknown phase '{name}'")));
            }
            let times = [
                ("started_at", &phase.started_at),
                ("completed_at", &phase.completed_at),
            ];
            for (field, time) in times {
                if let Some(t) = time
                    && let Err(e) = t.parse::<jiff::Timestamp>()
                {
                    return Err(invalid(format!(
                        "{name}.{field} '{t}' is not an RFC 3339 time: {e}"
                    )));
                }
            }
        }
        for (name, project) in &self.projects {
            project
                .check()
                .map_err(|reason| format!("project '{name}': {reason}"))?;
        }
        Ok(())
    }

    pub fn save(&self, path: &Path) -> io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        text.push('\n');
        fsutil::write_atomic(path, text.as_bytes())
    }

    pub fn phase(&self, p: Phase) -> PhaseState {
        self.phases.get(p.title()).cloned().unwrap_or_default()
    }

    pub fn start(&mut self, p: Phase, now: &str) {
        let ps = self.phases.entry(p.title().to_owned()).or_default();
        ps.status = Status::InProgress;
        ps.started_at = Some(now.to_owned());
        ps.completed_at = None;
        ps.duration = None;
        ps.error = None;
        self.current_phase = Some(p.title().to_owned());
    }

    pub fn finish(&mut self, p: Phase, now: &str, seconds: f64, error: Option<String>) {
        let ps = self.phases.entry(p.title().to_owned()).or_default();
        ps.status = if error.is_some() {
            Status::Failed
        } else {
            Status::Completed
        };
        ps.completed_at = Some(now.to_owned());
        ps.duration = Some(format!("{seconds:.2}s"));
        ps.error = error;
    }

    /// Percent complete: 20 points for every phase completed or under way (the book's
    /// board counts the phase in progress: two done and one running is 60 %).
    pub fn progress(&self) -> u32 {
        Phase::ALL
            .iter()
            .filter(|p| {
                matches!(
                    self.phase(**p).status,
                    Status::Completed | Status::InProgress
                )
            })
            .count() as u32
            * 20
    }
}

/// Now, as an RFC 3339 UTC timestamp to the second (`2025-11-19T14:21:32Z`).
pub fn now_rfc3339() -> String {
    rfc3339(jiff::Timestamp::now())
}

fn rfc3339(t: jiff::Timestamp) -> String {
    // Whole seconds, as the book's state file shows them; a time a second can hold is
    // always within jiff's range.
    jiff::Timestamp::from_second(t.as_second())
        .unwrap_or(t)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64, nanosecond: i32) -> jiff::Timestamp {
        jiff::Timestamp::new(second, nanosecond).unwrap()
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(at(1_763_562_092, 999_999_999)),
            "2025-11-19T14:21:32Z"
        );
        assert_eq!(rfc3339(at(951_782_400, 0)), "2000-02-29T00:00:00Z");
        let now = now_rfc3339();
        assert!(now.parse::<jiff::Timestamp>().is_ok(), "{now}");
    }

    #[test]
    fn lifecycle_and_progress() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path());
        let mut s = State::load(&p).unwrap();
        assert_eq!(s.progress(), 0);
        let (t0, t1, t2) = (
            "2025-11-19T14:21:32Z",
            "2025-11-19T14:21:33Z",
            "2025-11-19T14:22:15Z",
        );
        s.start(Phase::Analyze, t0);
        s.finish(Phase::Analyze, t1, 0.13, None);
        s.start(Phase::Transpile, t1);
        s.finish(Phase::Transpile, t2, 1.0, Some("boom".into()));
        s.save(&p).unwrap();
        let s = State::load(&p).unwrap();
        assert_eq!(s.phase(Phase::Analyze).status, Status::Completed);
        assert_eq!(s.phase(Phase::Analyze).duration.as_deref(), Some("0.13s"));
        assert_eq!(s.phase(Phase::Transpile).status, Status::Failed);
        assert_eq!(s.progress(), 20);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.contains("\"current_phase\": \"Transpilation\""),
            "{text}"
        );
    }

    #[test]
    fn damaged_state_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path());
        std::fs::write(&p, "{ not json").unwrap();
        assert!(matches!(State::load(&p), Err(StateError::Invalid { .. })));
        std::fs::write(&p, r#"{"phases":{"Nope":{"status":"Completed"}}}"#).unwrap();
        assert!(matches!(State::load(&p), Err(StateError::Invalid { .. })));
        for time in ["yesterday", "2025-13-01T00:00:00Z", "2025-11-19 14:21:32"] {
            let text = format!(
                r#"{{"phases":{{"Analysis":{{"status":"Completed","started_at":"{time}"}}}}}}"#
            );
            std::fs::write(&p, text).unwrap();
            let e = State::load(&p).expect_err(time).to_string();
            assert!(
                e.contains(&format!(
                    "Analysis.started_at '{time}' is not an RFC 3339 time"
                )),
                "{e}"
            );
        }
    }
}
