//! The plan: which action may start next, and what its end releases. Pure bookkeeping over
//! the graph, as ninja's `Plan`: no process, no file, no clock. The builder asks it for the
//! next step, runs what it is given however it likes, and tells it how each one ended.
//!
//! An action is ready when every action whose output it reads has ended well and every
//! stage its stage needs is done (the graph's `StageDone` barriers). A failure stops the
//! line (Jidoka): without keep-going nothing new starts at all. With keep-going only what
//! depends on the failure stops: an action that reads one of its outputs never becomes
//! ready, nor what reads theirs; everything else goes on, in every later stage (the failed
//! action and those it blocks count as ended for their stage's barrier), and an action that
//! reads the failed output only through an input glob runs without it (see
//! `Action::matched`). Cancelling starts nothing new either.

use std::collections::VecDeque;

use petgraph::Direction::Outgoing;
use petgraph::graph::NodeIndex;

use crate::graph::{ActionGraph, Edge, Node};
use crate::manifest::Phase;

/// What the plan hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Action `index` may run. `inputs_rewritten`: an action of this build wrote one of the
    /// files it reads, so whatever the builder knew of it before the build is stale.
    Action {
        index: usize,
        inputs_rewritten: bool,
    },
    /// Every action of this stage has ended well: the stages that need it may start.
    StageDone(Phase),
    /// A stage of one project of a workspace (an index into `ActionGraph::projects`) is
    /// done.
    ProjectStageDone(u32, Phase),
}

/// Why an action will not run after another failed (keep-going).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// It reads what the failed action (or one it waited for) did not write.
    Reads,
    /// Its project needs the failed action's project.
    Needs,
}

/// How an action the plan handed out ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Its outputs were written in this build (run, or restored from a cache).
    Wrote,
    /// Its outputs were already in place.
    Unchanged,
    Failed,
    /// Stopped by cancellation: counts as not run.
    Cancelled,
    /// Never started: the builder found the build halted before it could start it.
    NotStarted,
}

/// Limits on what runs at once besides the number of workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// GPU slots; an action asking for more than there are takes them all.
    pub gpu: u32,
}

impl Default for Resources {
    /// One GPU: built-in kernels may claim it, and no two GPU actions run at once.
    fn default() -> Self {
        Resources { gpu: 1 }
    }
}

/// `Plan::waiting` of a node that will never run: an action blocked by a failure.
const BLOCKED: usize = usize::MAX;

pub struct Plan<'g> {
    g: &'g ActionGraph,
    /// Per graph node, how many of its predecessors have not completed ([`BLOCKED`]: it
    /// never will).
    waiting: Vec<usize>,
    ready: VecDeque<NodeIndex>,
    /// Ready actions waiting for a resource slot.
    deferred: Vec<NodeIndex>,
    /// Per action, whether this build considers it at all (`--modules`, `--affected`).
    wanted: Vec<bool>,
    /// Per action, whether this build wrote its outputs.
    wrote: Vec<bool>,
    gpu_free: u32,
    gpu_total: u32,
    keep_going: bool,
    /// Nothing new starts: a failure without keep-going, or cancellation.
    halted: bool,
    cancelled: bool,
    running: usize,
    /// Wanted actions that ended (well or not); the rest were not run.
    ended: usize,
}

impl<'g> Plan<'g> {
    /// A plan for the actions of `g` that `wanted` keeps (all when `None`).
    pub fn new(
        g: &'g ActionGraph,
        wanted: Option<Vec<bool>>,
        keep_going: bool,
        resources: Resources,
    ) -> Plan<'g> {
        let graph = &g.graph;
        let waiting: Vec<usize> = graph
            .node_indices()
            .map(|n| {
                graph
                    .neighbors_directed(n, petgraph::Direction::Incoming)
                    .count()
            })
            .collect();
        let ready = graph
            .node_indices()
            .filter(|n| waiting[n.index()] == 0)
            .collect();
        Plan {
            g,
            waiting,
            ready,
            deferred: Vec::new(),
            wanted: wanted.unwrap_or_else(|| vec![true; g.actions.len()]),
            wrote: vec![false; g.actions.len()],
            gpu_free: resources.gpu,
            gpu_total: resources.gpu,
            keep_going,
            halted: false,
            cancelled: false,
            running: 0,
            ended: 0,
        }
    }

    /// The next step, or `None` when nothing may start now: wait for a running action to
    /// end (see [`Plan::running`]), or the build is over (see [`Plan::is_over`]).
    pub fn next_step(&mut self) -> Option<Step> {
        while !self.halted {
            let Some(n) = self.ready.pop_front() else {
                // Deferred actions wait for a slot, which only an ending action frees.
                return None;
            };
            match self.g.graph[n] {
                Node::StageDone(p) => {
                    self.complete(n);
                    return Some(Step::StageDone(p));
                }
                Node::StageOf(k, p) => {
                    self.complete(n);
                    return Some(Step::ProjectStageDone(k, p));
                }
                Node::Needed(..) => self.complete(n),
                Node::Action(i) => {
                    if !self.wanted[i] {
                        // Not part of this build: what waits for it goes on as if it ran.
                        self.complete(n);
                        continue;
                    }
                    let gpu = self.gpu_of(i);
                    if gpu > self.gpu_free {
                        self.deferred.push(n);
                        continue;
                    }
                    self.gpu_free -= gpu;
                    self.running += 1;
                    let inputs_rewritten = self.g.file_deps(i).any(|(j, _)| self.wrote[j]);
                    return Some(Step::Action {
                        index: i,
                        inputs_rewritten,
                    });
                }
            }
        }
        None
    }

    /// Action `i`, handed out by [`Plan::next_step`], ended. Returns the actions that will
    /// not run because it failed (keep-going), each once, with why.
    pub fn finish(&mut self, i: usize, done: Done) -> Vec<(usize, Blocked)> {
        self.running -= 1;
        self.gpu_free += self.gpu_of(i);
        // A slot may be free now: deferred actions try again.
        self.ready.extend(self.deferred.drain(..));
        match done {
            Done::Wrote | Done::Unchanged => {
                self.ended += 1;
                self.wrote[i] = done == Done::Wrote;
                self.complete(self.g.action_nodes[i]);
            }
            Done::Failed => {
                self.ended += 1;
                if self.keep_going {
                    return self.fail_downstream(self.g.action_nodes[i]);
                }
                self.halted = true;
            }
            Done::Cancelled | Done::NotStarted => {}
        }
        Vec::new()
    }

    /// After `failed` failed, with keep-going: what reads one of its outputs never runs,
    /// nor what reads theirs, nor what waits through `needs` for its project's stage; the
    /// rest of what waits for it (its stage's barrier, readers through a glob) is released
    /// as if it had ended. Returns the actions blocked, with why.
    fn fail_downstream(&mut self, failed: NodeIndex) -> Vec<(usize, Blocked)> {
        use petgraph::visit::EdgeRef;
        let graph = &self.g.graph;
        let mut blocked = Vec::new();
        let mut stack = vec![(failed, Blocked::Reads)];
        while let Some((n, why)) = stack.pop() {
            for e in graph.edges_directed(n, Outgoing) {
                let next = e.target();
                if self.waiting[next.index()] == BLOCKED {
                    continue;
                }
                let blocks = match (e.weight(), graph[next]) {
                    (Edge::File(f), Node::Action(j)) => {
                        (!self.g.actions[j].is_matched(f)).then_some(why)
                    }
                    // What a failed project's dependents wait for never comes.
                    (Edge::Needs, _) => Some(Blocked::Needs),
                    _ => None,
                };
                let Some(why) = blocks else {
                    self.release(next);
                    continue;
                };
                self.waiting[next.index()] = BLOCKED;
                if let Node::Action(j) = graph[next]
                    && self.wanted[j]
                {
                    blocked.push((j, why));
                }
                stack.push((next, why));
            }
        }
        blocked
    }

    /// Start nothing new; what runs is the builder's to stop.
    pub fn cancel(&mut self) {
        self.halted = true;
        self.cancelled = true;
    }

    pub fn cancelled(&self) -> bool {
        self.cancelled
    }

    /// Actions handed out that have not ended.
    pub fn running(&self) -> usize {
        self.running
    }

    /// Whether the build is over: nothing runs and nothing more will start.
    pub fn is_over(&self) -> bool {
        self.running == 0 && (self.halted || (self.ready.is_empty() && self.deferred.is_empty()))
    }

    /// Wanted actions that did not run (after a failure or cancellation), once it is over.
    pub fn not_run(&self) -> usize {
        self.wanted.iter().filter(|w| **w).count() - self.ended
    }

    fn gpu_of(&self, i: usize) -> u32 {
        self.g.actions[i].gpu.min(self.gpu_total)
    }

    /// Mark a node done and make ready what waited only for it.
    fn complete(&mut self, n: NodeIndex) {
        for next in self.g.graph.neighbors_directed(n, Outgoing) {
            self.release(next);
        }
    }

    /// One of what `n` waits for ended; it is ready when that was the last (a blocked node
    /// never is).
    fn release(&mut self, n: NodeIndex) {
        let waiting = &mut self.waiting[n.index()];
        if *waiting == BLOCKED {
            return;
        }
        *waiting -= 1;
        if *waiting == 0 {
            self.ready.push_back(n);
        }
    }
}

#[cfg(test)]
mod tests;
