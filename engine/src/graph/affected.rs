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

/// A workspace's projects the selection touches: those with a selected action, and those
/// that need one of them (their stages wait for it), in the order of the graph. Their
/// actions join the selection, so each affected project is built whole.
pub fn affected_projects(g: &ActionGraph, selected: &mut [bool]) -> Vec<String> {
    let k = g.projects.len();
    let index = |a: &super::Action| {
        let scope = a.scope.as_ref()?;
        g.projects.iter().position(|p| p.scope.name == scope.name)
    };
    let mut hit = vec![false; k];
    for (i, a) in g.actions.iter().enumerate() {
        if selected[i]
            && let Some(p) = index(a)
        {
            hit[p] = true;
        }
    }
    // What needs an affected project is affected, transitively.
    let mut changed = true;
    while changed {
        changed = false;
        for p in 0..k {
            if !hit[p] && g.projects[p].needs.iter().any(|&q| hit[q as usize]) {
                hit[p] = true;
                changed = true;
            }
        }
    }
    for (i, a) in g.actions.iter().enumerate() {
        if index(a).is_some_and(|p| hit[p]) {
            selected[i] = true;
        }
    }
    // Whole projects may read what others write: what they read joins too.
    let mut stack: Vec<usize> = (0..selected.len()).filter(|&i| selected[i]).collect();
    while let Some(i) = stack.pop() {
        for (j, _) in g.file_deps(i) {
            if !std::mem::replace(&mut selected[j], true) {
                stack.push(j);
            }
        }
    }
    (0..k)
        .filter(|&p| hit[p])
        .map(|p| g.projects[p].scope.name.clone())
        .collect()
}
