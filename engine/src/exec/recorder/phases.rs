//! Keeps `.batuta-state.json` in step with the build: a phase is InProgress from its first
//! action that has work to do, Completed when its stage is done, Failed when one of its
//! actions fails (with the failures, as text and as data) or, with keep-going, will not run
//! because an action it reads from failed. A stage passed with failures in it (keep-going)
//! is still failed. A workspace's projects each get a board of their own too (`boards`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::boards::Boards;
use crate::exec::plan::Blocked;
use crate::exec::{Event, Progress};
use crate::graph::{Action, ActionGraph};
use crate::manifest::Phase;
use crate::rule::Failure;
use crate::rule::failure::Recorded;
use crate::state::{self, State, Status};

pub(crate) struct PhaseTracker<'a> {
    path: PathBuf,
    state: State,
    started: HashMap<Phase, Instant>,
    /// Phases in which an action had work to do (was not found up to date).
    worked: HashSet<Phase>,
    failed: HashMap<Phase, Vec<Recorded>>,
    /// Per phase, the actions that will not run because an action they read from failed
    /// (keep-going), said as text: they did not fail, so they are no failure data.
    blocked: HashMap<Phase, Vec<String>>,
    done: Vec<Phase>,
    progress: &'a dyn Progress,
    /// Phases the graph holds, so empty stages still complete.
    phases: Vec<Phase>,
    /// Since when a phase's InProgress waits to be written (see [`PhaseTracker::tick`]).
    unsaved_since: Option<Instant>,
    /// A workspace's projects' boards.
    projects: Boards,
    /// A project's board changed since the state file was written: the next write of the
    /// whole's (at its stage's end, or at the build's) takes it along, so a workspace costs
    /// no write of its own.
    boards_unsaved: bool,
}

/// How long a phase may be InProgress before the state file says so: a phase that ends
/// sooner (most of an incremental build's) is written once, Completed, not twice.
const SAVE_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

impl<'a> PhaseTracker<'a> {
    pub fn new(root: &Path, g: &ActionGraph, progress: &'a dyn Progress) -> Self {
        let path = state::path(root);
        let state = State::load(&path).unwrap_or_else(|e| {
            let w = format!("{e}; starting a new state file");
            progress.event(Event::Warning(&w));
            State::default()
        });
        Self {
            path,
            state,
            started: HashMap::new(),
            worked: HashSet::new(),
            failed: HashMap::new(),
            blocked: HashMap::new(),
            done: Vec::new(),
            progress,
            phases: g.stages.iter().map(|(p, _)| *p).collect(),
            unsaved_since: None,
            projects: Boards::new(g),
            boards_unsaved: false,
        }
    }

    fn save(&mut self) {
        self.unsaved_since = None;
        self.boards_unsaved = false;
        if let Err(e) = self.state.save(&self.path) {
            let w = format!("could not save {}: {e}", self.path.display());
            self.progress.event(Event::Warning(&w));
        }
    }

    /// Action `a` is being dealt with; `work` is false when it was found up to date, which
    /// changes nothing worth writing down.
    pub fn action_started(&mut self, a: &Action, work: bool) {
        let p = a.phase;
        self.projects.action_started(&mut self.state, a, work);
        self.phase_started(p);
        if work && self.worked.insert(p) {
            self.state.start(p, &state::now_rfc3339());
            self.unsaved_since.get_or_insert_with(Instant::now);
        }
    }

    /// Write a phase's InProgress once it has lasted [`SAVE_AFTER`], so `batuta status`
    /// shows a long build under way. The builder calls this as it waits.
    pub fn tick(&mut self) {
        if self
            .unsaved_since
            .is_some_and(|t| t.elapsed() >= SAVE_AFTER)
        {
            self.save();
        }
    }

    fn phase_started(&mut self, p: Phase) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.started.entry(p) {
            e.insert(Instant::now());
            self.progress.event(Event::PhaseStarted(p));
        }
    }

    /// Stage `p` of project `k` of a workspace is done: its board says how it went.
    pub fn project_stage_done(&mut self, k: u32, p: Phase) {
        if self.projects.stage_done(&mut self.state, k, p) {
            self.boards_unsaved = true;
        }
    }

    pub fn stage_done(&mut self, p: Phase) {
        self.phase_started(p);
        self.done.push(p);
        // With keep-going a stage is passed with failures in it: it is still failed.
        if self.failed.contains_key(&p) || self.blocked.contains_key(&p) {
            self.finish_failed(p, false);
            self.save();
            return;
        }
        // A phase that was complete and had nothing to do stays as it was recorded: a no-op
        // build writes nothing.
        let unchanged =
            !self.worked.contains(&p) && self.state.phase(p).status == Status::Completed;
        if !unchanged {
            if !self.worked.contains(&p) {
                self.state.start(p, &state::now_rfc3339());
            }
            let secs = self.started[&p].elapsed().as_secs_f64();
            self.state.finish(p, &state::now_rfc3339(), secs, None);
            self.save();
        } else if self.boards_unsaved {
            self.save();
        }
        self.progress
            .event(Event::PhaseFinished { phase: p, ok: true });
    }

    pub fn action_failed(&mut self, a: &Action, f: &Failure) {
        let recorded = Recorded::of(&a.id, f);
        let why = format!("{}: {} [{}]", a.id, f.message, f.code);
        self.projects.note(a, &why);
        self.failed.entry(a.phase).or_default().push(recorded);
    }

    /// `a` will not run because `cause` failed (keep-going).
    pub fn action_blocked(&mut self, a: &Action, cause: &Action, why: Blocked) {
        let why = match (why, &cause.scope) {
            (Blocked::Needs, Some(project)) => format!(
                "{}: not run, it needs project '{}', where {} failed",
                a.id, project.name, cause.id
            ),
            _ => format!(
                "{}: not run, it reads what {} did not write",
                a.id, cause.id
            ),
        };
        self.projects.note(a, &why);
        self.blocked.entry(a.phase).or_default().push(why);
    }

    /// Write phase `p` down as failed: its failures (as text and as data) and what did not
    /// run because of them, or why it stopped when neither.
    fn finish_failed(&mut self, p: Phase, cancelled: bool) {
        let failures = self.failed.remove(&p).unwrap_or_default();
        let blocked = self.blocked.remove(&p).unwrap_or_default();
        let mut why: Vec<String> = failures
            .iter()
            .map(|f| format!("{}: {} [{}]", f.action, f.message, f.code))
            .collect();
        why.extend(blocked);
        let why = if !why.is_empty() {
            why.join("; ")
        } else if cancelled {
            "cancelled".to_owned()
        } else {
            "stopped: an action in another phase failed".to_owned()
        };
        if !self.worked.contains(&p) {
            self.state.start(p, &state::now_rfc3339());
        }
        let secs = self.started[&p].elapsed().as_secs_f64();
        self.state.finish(p, &state::now_rfc3339(), secs, Some(why));
        self.state.set_failures(p, failures);
        self.progress.event(Event::PhaseFinished {
            phase: p,
            ok: false,
        });
    }

    /// At the end: phases that started but did not complete have failed.
    pub fn close(&mut self, cancelled: bool) {
        let open: Vec<Phase> = self
            .phases
            .iter()
            .copied()
            .filter(|p| self.started.contains_key(p) && !self.done.contains(p))
            .collect();
        for &p in &open {
            self.finish_failed(p, cancelled);
        }
        let boards = self.projects.close(&mut self.state, cancelled);
        if !open.is_empty() || boards || self.boards_unsaved {
            self.save();
        }
    }
}
