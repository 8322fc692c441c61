//! Which actions a set of changed files affects (`batuta build --affected BASE`): those that
//! read or write a changed file, what reads their outputs, transitively, and what they read
//! from other actions, so the selection builds on its own.

use std::collections::HashSet;

use super::ActionGraph;

/// Per action, whether it is in the selection.
pub fn affected(g: &ActionGraph, changed: &HashSet<String>) -> Vec<bool> {
    let n = g.actions.len();
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        for (j, _) in g.file_deps(i) {
            readers[j].push(i);
        }
    }
    // What a change reaches: the actions touching a changed file, then their readers.
    let mut reached = vec![false; n];
    let mut stack: Vec<usize> = g
        .actions
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            a.inputs
                .iter()
                .chain(&a.outputs)
                .any(|p| changed.contains(p))
        })
        .map(|(i, _)| i)
        .collect();
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut reached[i], true) {
            stack.extend(&readers[i]);
        }
    }
    // What those need: the actions writing their inputs, transitively.
    let mut selected = reached.clone();
    let mut stack: Vec<usize> = (0..n).filter(|&i| reached[i]).collect();
    while let Some(i) = stack.pop() {
        for (j, _) in g.file_deps(i) {
            if !std::mem::replace(&mut selected[j], true) {
                stack.push(j);
            }
        }
    }
    selected
}
