//! A workspace's boards, one per project (`projects:`), kept in the state file's `projects`
//! as the whole workspace's board is: a project's phase is InProgress from its first action
//! with work to do, Completed when that project's stage is done, Failed with what failed in
//! it or did not run because of a failure.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use crate::graph::{Action, ActionGraph};
use crate::manifest::Phase;
use crate::state::{self, State, Status};

/// One project's board.
#[derive(Default)]
struct Board {
    name: String,
    phases: Vec<Phase>,
    started: HashMap<Phase, Instant>,
    worked: HashSet<Phase>,
    failed: HashMap<Phase, Vec<String>>,
    done: HashSet<Phase>,
}

/// The boards, in the order of `ActionGraph::projects` (empty for a one-project manifest).
pub(super) struct Boards(Vec<Board>);

impl Boards {
    pub fn new(g: &ActionGraph) -> Boards {
        Boards(
            g.projects
                .iter()
                .map(|p| Board {
                    name: p.scope.name.clone(),
                    phases: p.stages.iter().map(|(p, _)| *p).collect(),
                    ..Board::default()
                })
                .collect(),
        )
    }

    /// The board of the action's project, when it belongs to one.
    fn board_of(&mut self, a: &Action) -> Option<&mut Board> {
        let scope = a.scope.as_ref()?;
        self.0.iter_mut().find(|b| b.name == scope.name)
    }

    /// An action is being dealt with; `work` is false when it was found up to date.
    pub fn action_started(&mut self, state: &mut State, a: &Action, work: bool) {
        let p = a.phase;
        if let Some(board) = self.board_of(a) {
            board.started.entry(p).or_insert_with(Instant::now);
            if work && board.worked.insert(p) {
                project_state(state, &board.name).start(p, &state::now_rfc3339());
            }
        }
    }

    /// The action failed, or will not run because of a failure: `why`, as the board says.
    pub fn note(&mut self, a: &Action, why: &str) {
        if let Some(board) = self.board_of(a) {
            board
                .failed
                .entry(a.phase)
                .or_default()
                .push(why.to_owned());
        }
    }

    /// Stage `p` of project `k` is done. Returns whether the state changed.
    pub fn stage_done(&mut self, state: &mut State, k: u32, p: Phase) -> bool {
        let Some(board) = self.0.get_mut(k as usize) else {
            return false;
        };
        board.done.insert(p);
        // None of its actions was part of this build (another target, --affected): the
        // board keeps what the last build that ran them said.
        if !board.started.contains_key(&p) && !board.failed.contains_key(&p) {
            return false;
        }
        let state = project_state(state, &board.name);
        let started = *board.started.entry(p).or_insert_with(Instant::now);
        let error = board.failed.get(&p).map(|e| e.join("; "));
        // As for the whole: a stage complete before with nothing to do is left as it was.
        if error.is_none()
            && !board.worked.contains(&p)
            && state.phase(p).status == Status::Completed
        {
            return false;
        }
        if !board.worked.contains(&p) {
            state.start(p, &state::now_rfc3339());
        }
        let secs = started.elapsed().as_secs_f64();
        state.finish(p, &state::now_rfc3339(), secs, error);
        true
    }

    /// At the end: each project's stages that started and were not done have failed.
    /// Returns whether the state changed.
    pub fn close(&mut self, state: &mut State, cancelled: bool) -> bool {
        let mut changed = false;
        for board in &self.0 {
            let state = project_state(state, &board.name);
            for &p in &board.phases {
                if !board.started.contains_key(&p) || board.done.contains(&p) {
                    continue;
                }
                let why = match board.failed.get(&p) {
                    Some(errors) => errors.join("; "),
                    None if cancelled => "cancelled".to_owned(),
                    None => "stopped: an action in another phase or project failed".to_owned(),
                };
                if !board.worked.contains(&p) {
                    state.start(p, &state::now_rfc3339());
                }
                let secs = board.started[&p].elapsed().as_secs_f64();
                state.finish(p, &state::now_rfc3339(), secs, Some(why));
                changed = true;
            }
        }
        changed
    }
}

fn project_state<'s>(state: &'s mut State, name: &str) -> &'s mut State {
    state.projects.entry(name.to_owned()).or_default()
}
