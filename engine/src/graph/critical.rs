//! The critical path: the chain of actions, each waiting for the one before, whose run
//! times add up the most. No number of workers finishes the build sooner than it takes.

use petgraph::Direction::Incoming;
use petgraph::algo::toposort;

use super::{ActionGraph, Node};

/// The actions of the critical path, first to last, and its total, given each action's
/// run time. Stage barriers take no time but keep their ordering.
pub fn critical_path(g: &ActionGraph, time: impl Fn(usize) -> u64) -> (u64, Vec<usize>) {
    let graph = &g.graph;
    // Expansion rejects cycles, so the order exists.
    let Ok(order) = toposort(graph, None) else {
        return (0, Vec::new());
    };
    let n = graph.node_count();
    let mut finish = vec![0u64; n];
    let mut before: Vec<Option<usize>> = vec![None; n];
    for node in order {
        let own = match graph[node] {
            Node::Action(i) => time(i),
            Node::StageDone(_) | Node::StageOf(..) | Node::Needed(..) => 0,
        };
        let wait = graph
            .neighbors_directed(node, Incoming)
            .max_by_key(|p| finish[p.index()]);
        finish[node.index()] = own + wait.map_or(0, |p| finish[p.index()]);
        before[node.index()] = wait.map(|p| p.index());
    }
    let Some(end) = (0..n).max_by_key(|&i| finish[i]) else {
        return (0, Vec::new());
    };
    let mut path = Vec::new();
    let mut at = Some(end);
    while let Some(i) = at {
        if let Node::Action(a) = graph[petgraph::graph::NodeIndex::new(i)] {
            path.push(a);
        }
        at = before[i];
    }
    path.reverse();
    (finish[end], path)
}
