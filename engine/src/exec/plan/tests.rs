//! The plan driven by a fake runner: no process, no file. Each test builds a small graph
//! by hand, runs it to the end, and looks at what ran, in which order, and how much at
//! once.

use std::collections::{BTreeMap, HashSet};

use petgraph::graph::DiGraph;

use super::*;
use crate::graph::{Action, ActionKind};
use crate::manifest::Span;

/// A graph builder: actions by name, in stages, with file edges between them.
struct G {
    actions: Vec<Action>,
    reads: Vec<(usize, usize)>,
    stages: Vec<(Phase, Vec<Phase>)>,
}

impl G {
    fn new(stages: &[(Phase, &[Phase])]) -> G {
        G {
            actions: Vec::new(),
            reads: Vec::new(),
            stages: stages.iter().map(|(p, n)| (*p, n.to_vec())).collect(),
        }
    }

    fn action(&mut self, name: &str, phase: Phase, gpu: u32) -> usize {
        self.actions.push(Action {
            id: name.to_owned(),
            phase,
            task: name.to_owned(),
            kind: ActionKind::Command {
                argv: vec!["true".into()],
                tool: None,
            },
            inputs: Vec::new(),
            matched: Vec::new(),
            outputs: vec![format!("out/{name}")],
            env: Vec::new(),
            cache: true,
            local: false,
            gpu,
            timeout: None,
            sidecars: Vec::new(),
            span: Span::default(),
            scope: None,
        });
        self.actions.len() - 1
    }

    /// `reader` reads what `writer` writes.
    fn reads(&mut self, reader: usize, writer: usize) {
        let out = self.actions[writer].outputs[0].clone();
        self.actions[reader].inputs.push(out);
        self.reads.push((reader, writer));
    }

    /// Edges as expansion makes them: file edges, each action to its stage's barrier,
    /// each barrier to the actions of the stages that need it.
    fn build(self) -> ActionGraph {
        let mut graph = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..self.actions.len())
            .map(|i| graph.add_node(Node::Action(i)))
            .collect();
        let barriers: BTreeMap<Phase, NodeIndex> = self
            .stages
            .iter()
            .map(|(p, _)| (*p, graph.add_node(Node::StageDone(*p))))
            .collect();
        for (reader, writer) in &self.reads {
            let f = self.actions[*writer].outputs[0].clone();
            graph.add_edge(nodes[*writer], nodes[*reader], Edge::File(f));
        }
        for (i, a) in self.actions.iter().enumerate() {
            graph.add_edge(nodes[i], barriers[&a.phase], Edge::Stage);
            for (p, needs) in &self.stages {
                if *p == a.phase {
                    for n in needs {
                        graph.add_edge(barriers[n], nodes[i], Edge::Stage);
                    }
                }
            }
        }
        for (p, needs) in &self.stages {
            for n in needs {
                graph.add_edge(barriers[n], barriers[p], Edge::Stage);
            }
        }
        ActionGraph {
            target: "default".into(),
            keep_going: false,
            stages: self.stages,
            actions: self.actions,
            graph,
            action_nodes: nodes,
            hand_ported: Vec::new(),
            plan: Vec::new(),
            warnings: Vec::new(),
            projects: Vec::new(),
        }
    }
}

/// What a fake run did.
#[derive(Debug, Default)]
struct Trace {
    /// Every step, in the order the plan gave them: action ids and `done:STAGE`.
    steps: Vec<String>,
    /// The most actions running at once, and the most GPU actions.
    most: usize,
    most_gpu: usize,
    /// Whether each action was told its inputs were rewritten.
    rewritten: BTreeMap<String, bool>,
    /// Actions a failure blocked (keep-going), in the order the plan said so.
    blocked: Vec<String>,
    not_run: usize,
}

/// Run the plan to the end with `workers` slots: the fake runner ends the oldest
/// running action first, failing those in `fails` and finding those in `fresh` up to
/// date. `cancel_after` cancels once that many actions have ended.
fn run(
    plan: &mut Plan<'_>,
    g: &ActionGraph,
    workers: usize,
    fails: &[&str],
    fresh: &[&str],
    cancel_after: Option<usize>,
) -> Trace {
    let mut t = Trace::default();
    let mut running: VecDeque<usize> = VecDeque::new();
    let mut ended = 0;
    loop {
        while running.len() < workers {
            match plan.next_step() {
                Some(Step::StageDone(p)) => t.steps.push(format!("done:{}", p.stage_name())),
                Some(Step::ProjectStageDone(k, p)) => {
                    t.steps.push(format!("done:{k}:{}", p.stage_name()))
                }
                Some(Step::Action {
                    index,
                    inputs_rewritten,
                }) => {
                    let id = g.actions[index].id.clone();
                    t.steps.push(id.clone());
                    t.rewritten.insert(id, inputs_rewritten);
                    running.push_back(index);
                }
                None => break,
            }
        }
        t.most = t.most.max(running.len());
        let gpu = running.iter().filter(|i| g.actions[**i].gpu > 0).count();
        t.most_gpu = t.most_gpu.max(gpu);
        assert_eq!(plan.running(), running.len());
        if plan.is_over() {
            break;
        }
        let Some(i) = running.pop_front() else {
            panic!("nothing runs, yet the plan is not over");
        };
        let id = g.actions[i].id.as_str();
        let done = if plan.cancelled() {
            Done::Cancelled
        } else if fails.contains(&id) {
            Done::Failed
        } else if fresh.contains(&id) {
            Done::Unchanged
        } else {
            Done::Wrote
        };
        for (j, _) in plan.finish(i, done) {
            t.blocked.push(g.actions[j].id.clone());
        }
        ended += 1;
        if cancel_after == Some(ended) {
            plan.cancel();
        }
    }
    t.not_run = plan.not_run();
    t
}

fn position(t: &Trace, step: &str) -> usize {
    t.steps
        .iter()
        .position(|s| s == step)
        .unwrap_or_else(|| panic!("{step} never ran: {:?}", t.steps))
}

use Phase::{Analyze, Build, Transpile, Validate};

/// analyze: a; transpile (needs analyze): b, c reads b, d; validate (needs transpile): e.
fn chain() -> ActionGraph {
    let mut g = G::new(&[
        (Analyze, &[]),
        (Transpile, &[Analyze]),
        (Validate, &[Transpile]),
    ]);
    g.action("a", Analyze, 0);
    let b = g.action("b", Transpile, 0);
    let c = g.action("c", Transpile, 0);
    g.action("d", Transpile, 0);
    g.action("e", Validate, 0);
    g.reads(c, b);
    g.build()
}

#[test]
fn readers_wait_for_writers_and_stages_for_the_stages_they_need() {
    let g = chain();
    let mut plan = Plan::new(&g, None, false, Resources::default());
    let t = run(&mut plan, &g, 4, &[], &[], None);
    assert_eq!(t.not_run, 0);
    assert!(position(&t, "done:analyze") < position(&t, "b"));
    assert!(position(&t, "b") < position(&t, "c"));
    assert!(position(&t, "done:transpile") > position(&t, "c"));
    assert!(position(&t, "done:transpile") < position(&t, "e"));
    assert!(t.steps.last().unwrap() == "done:validate", "{:?}", t.steps);
    assert!(t.rewritten["c"], "b wrote what c reads");
    assert!(!t.rewritten["d"]);
}

#[test]
fn workers_bound_what_runs_at_once_and_ready_actions_start_in_order() {
    let mut g = G::new(&[(Transpile, &[])]);
    for i in 0..6 {
        g.action(&format!("t{i}"), Transpile, 0);
    }
    let g = g.build();
    let mut plan = Plan::new(&g, None, false, Resources::default());
    let t = run(&mut plan, &g, 2, &[], &[], None);
    assert_eq!(t.most, 2);
    assert_eq!(
        t.steps,
        ["t0", "t1", "t2", "t3", "t4", "t5", "done:transpile"]
    );
}

#[test]
fn an_action_found_up_to_date_rewrites_nothing_for_its_readers() {
    let g = chain();
    let mut plan = Plan::new(&g, None, false, Resources::default());
    let t = run(&mut plan, &g, 1, &[], &["b"], None);
    assert!(!t.rewritten["c"]);
    assert_eq!(t.not_run, 0);
}

#[test]
fn without_keep_going_a_failure_starts_nothing_new() {
    let g = chain();
    let mut plan = Plan::new(&g, None, false, Resources::default());
    let t = run(&mut plan, &g, 1, &["b"], &[], None);
    assert_eq!(
        t.steps.last().map(String::as_str),
        Some("b"),
        "{:?}",
        t.steps
    );
    let started = t.steps.iter().filter(|s| !s.starts_with("done:")).count();
    assert!(!t.steps.iter().any(|s| s == "c" || s == "e"));
    assert_eq!(t.not_run, 5 - started);
}

#[test]
fn with_keep_going_independent_work_finishes_and_dependents_never_start() {
    let g = chain();
    let mut plan = Plan::new(&g, None, true, Resources::default());
    let t = run(&mut plan, &g, 1, &["b"], &[], None);
    let ran: HashSet<&str> = t.steps.iter().map(String::as_str).collect();
    assert!(ran.contains("d"), "independent of b: {:?}", t.steps);
    assert!(!ran.contains("c"), "reads b's output");
    assert!(
        ran.contains("done:transpile"),
        "b and c count as ended for their stage"
    );
    assert!(ran.contains("e"), "validate does not read b: {:?}", t.steps);
    assert_eq!(t.not_run, 1);
    assert_eq!(t.blocked, ["c"]);
}

#[test]
fn a_reader_through_a_glob_runs_without_the_failed_output_and_blocking_is_transitive() {
    let mut g = G::new(&[(Transpile, &[]), (Build, &[Transpile])]);
    let x = g.action("x", Transpile, 0);
    let y = g.action("y", Transpile, 0);
    let crate_ = g.action("crate", Build, 0);
    let z = g.action("z", Build, 0);
    g.reads(y, x);
    g.reads(z, y);
    g.reads(crate_, x);
    g.actions[crate_].matched = g.actions[crate_].inputs.clone();
    let g = g.build();
    let mut plan = Plan::new(&g, None, true, Resources::default());
    let t = run(&mut plan, &g, 2, &["x"], &[], None);
    assert!(t.steps.contains(&"crate".to_owned()), "{:?}", t.steps);
    assert!(!t.rewritten["crate"], "x wrote nothing");
    assert_eq!(t.blocked, ["y", "z"]);
    assert_eq!(t.not_run, 2);
    assert!(plan.is_over());
}

#[test]
fn gpu_actions_take_turns_while_others_run_beside_them() {
    let mut g = G::new(&[(Validate, &[])]);
    for i in 0..3 {
        g.action(&format!("gpu{i}"), Validate, 1);
    }
    g.action("greedy", Validate, 4);
    for i in 0..3 {
        g.action(&format!("cpu{i}"), Validate, 0);
    }
    let g = g.build();
    let mut plan = Plan::new(&g, None, false, Resources::default());
    let t = run(&mut plan, &g, 4, &[], &[], None);
    assert_eq!(t.most_gpu, 1);
    assert!(t.most > 1, "CPU actions ran beside a GPU one");
    assert_eq!(t.not_run, 0);
    assert!(
        t.steps.contains(&"greedy".to_owned()),
        "more than there is: all of it"
    );
    // The CPU actions did not wait behind the deferred GPU ones.
    assert!(position(&t, "cpu2") < position(&t, "gpu2"), "{:?}", t.steps);
}

#[test]
fn cancelling_starts_nothing_new_and_counts_the_rest_as_not_run() {
    let mut g = G::new(&[(Transpile, &[])]);
    for i in 0..10 {
        g.action(&format!("t{i}"), Transpile, 0);
    }
    let g = g.build();
    let mut plan = Plan::new(&g, None, true, Resources::default());
    let t = run(&mut plan, &g, 2, &[], &[], Some(3));
    // Three ended well, the one still running when it was cancelled ended cancelled,
    // and nothing started after.
    assert_eq!(t.steps, ["t0", "t1", "t2", "t3"]);
    assert_eq!(t.not_run, 7);
    assert!(plan.is_over());
}

#[test]
fn unwanted_actions_are_passed_over_and_release_what_waits_for_them() {
    let g = chain();
    let wanted = g.actions.iter().map(|a| a.id != "b").collect();
    let mut plan = Plan::new(&g, Some(wanted), false, Resources::default());
    let t = run(&mut plan, &g, 2, &[], &[], None);
    assert!(!t.steps.contains(&"b".to_owned()));
    assert!(t.steps.contains(&"c".to_owned()));
    assert!(!t.rewritten["c"], "b was not built here");
    assert_eq!(t.not_run, 0);
}

#[test]
fn a_failure_upstream_stops_later_stages_without_keep_going_only() {
    let mut g = G::new(&[(Transpile, &[]), (Build, &[Transpile])]);
    g.action("x", Transpile, 0);
    g.action("y", Build, 0);
    let g = g.build();
    let mut plan = Plan::new(&g, None, false, Resources::default());
    let t = run(&mut plan, &g, 2, &["x"], &[], None);
    assert_eq!(t.steps, ["x"]);
    assert_eq!(t.not_run, 1);
    assert!(plan.is_over());
    let mut plan = Plan::new(&g, None, true, Resources::default());
    let t = run(&mut plan, &g, 2, &["x"], &[], None);
    assert_eq!(t.steps, ["x", "done:transpile", "y", "done:build"]);
    assert_eq!(t.not_run, 0);
}
