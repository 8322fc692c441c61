//! The edges: an action depends on those that write the files it reads (input globs
//! included) and on the stages its stage needs; a cycle is an error that names it.

use super::*;

impl<'m> Expander<'m> {
    /// An input glob (`rust/src/**/*.rs`) means every file it matches that an action of
    /// this graph writes, and every such file already on disk (hand-written ones), except
    /// the action's own outputs. Matches are sorted, so the action's key is stable.
    pub(super) fn resolve_input_globs(&mut self) {
        for (i, pattern, span) in std::mem::take(&mut self.input_globs) {
            let glob = match glob_set([pattern.as_str()]) {
                Ok(g) => g,
                Err(e) => {
                    self.diags.push(
                        Diagnostic::new(
                            Code::Syntax,
                            format!("invalid glob '{pattern}' in inputs: {}", e.kind()),
                        )
                        .at(span),
                    );
                    continue;
                }
            };
            // The literal folders before the first wildcard: the only part of the disk to walk.
            let base: Vec<&str> = pattern
                .split('/')
                .take_while(|part| !is_glob(part))
                .collect();
            let base = base.join("/");
            let Some(base) = normalize("", &base) else {
                self.diags.push(escapes(&Sp::new(pattern, span), "inputs"));
                continue;
            };
            let own: HashSet<String> = self.actions[i].outputs.iter().cloned().collect();
            let mut found: BTreeSet<String> = self
                .actions
                .iter()
                .flat_map(|a| &a.outputs)
                .filter(|o| !own.contains(*o) && glob.is_match(o.as_str()))
                .cloned()
                .collect();
            let dir = self.abs(&base);
            if dir.is_dir() && self.inside(&base) {
                let none = glob_set(std::iter::empty::<&str>()).expect("empty glob set");
                let skip = [self.abs(".batuta"), self.abs(".git")];
                for f in walk::walk(&dir, &none, &skip) {
                    let rel = join(&base, &f.rel);
                    if !own.contains(&rel)
                        && glob.is_match(&rel)
                        && (!f.symlink || self.file_inside(&rel))
                    {
                        found.insert(rel);
                    }
                }
            }
            let action = &mut self.actions[i];
            for f in found {
                if !action.inputs.contains(&f) {
                    action.inputs.push(f.clone());
                    action.matched.push(f);
                }
            }
            action.matched.sort_unstable();
        }
    }

    /// Wire file edges and stage barriers; report clashing outputs and cycles.
    pub(super) fn link(
        &mut self,
        stages: &[(Phase, Vec<Phase>)],
    ) -> (DiGraph<Node, Edge>, Vec<NodeIndex>) {
        let mut g =
            DiGraph::with_capacity(self.actions.len() + stages.len(), self.actions.len() * 2);
        let nodes: Vec<NodeIndex> = (0..self.actions.len())
            .map(|i| g.add_node(Node::Action(i)))
            .collect();
        let barriers = self.stage_barriers(&mut g, &nodes, stages);
        self.file_edges(&mut g, &nodes);
        for (phase, needs) in stages {
            for need in needs {
                if let Some(&b) = barriers.get(need) {
                    for (i, a) in self.actions.iter().enumerate() {
                        if a.phase == *phase {
                            g.add_edge(b, nodes[i], Edge::Stage);
                        }
                    }
                    // An empty stage still orders the stages around it.
                    g.add_edge(b, barriers[phase], Edge::Stage);
                }
            }
        }
        if toposort(&g, None).is_err() {
            self.report_cycles(&g);
        }
        (g, nodes)
    }

    /// One `StageDone` per stage, after every action of its phase.
    fn stage_barriers(
        &self,
        g: &mut DiGraph<Node, Edge>,
        nodes: &[NodeIndex],
        stages: &[(Phase, Vec<Phase>)],
    ) -> HashMap<Phase, NodeIndex> {
        let barriers: HashMap<Phase, NodeIndex> = stages
            .iter()
            .map(|(p, _)| (*p, g.add_node(Node::StageDone(*p))))
            .collect();
        for (i, a) in self.actions.iter().enumerate() {
            g.add_edge(nodes[i], barriers[&a.phase], Edge::Stage);
        }
        barriers
    }

    /// An edge from the writer of each file to each action that reads it; a file with
    /// two writers is an error.
    fn file_edges(&mut self, g: &mut DiGraph<Node, Edge>, nodes: &[NodeIndex]) {
        let mut producer: HashMap<&str, usize> = HashMap::with_capacity(self.actions.len());
        for (i, a) in self.actions.iter().enumerate() {
            for out in &a.outputs {
                if let Some(&j) = producer.get(out.as_str()) {
                    let first = &self.actions[j];
                    let d = Diagnostic::new(
                        Code::Conflict,
                        format!("'{out}' is written by both '{}' and '{}'", first.id, a.id),
                    )
                    .at(a.span);
                    // Two files of one `each` task: its `out` drops what tells them apart.
                    let same_task = first.phase == a.phase && first.task == a.task;
                    let d = if same_task && first.scope == a.scope {
                        d.label("two of this task's files have one output")
                            .help("every file has one writer; keep {dir} or {path} in `out` so each input gets its own output")
                    } else if same_task {
                        d.label("every project runs this shared task").help(
                            "every file has one writer; write under each project's output (`each` with `out`, or a builtin's default files), or give one project a stage of its own",
                        )
                    } else {
                        d.label("this task writes it again").help(
                            "every file has one writer; give one of the tasks a different output",
                        )
                    };
                    self.diags.push(d);
                } else {
                    producer.insert(out, i);
                }
            }
        }
        for (i, a) in self.actions.iter().enumerate() {
            for input in &a.inputs {
                if let Some(&j) = producer.get(input.as_str()) {
                    g.add_edge(nodes[j], nodes[i], Edge::File(input.clone()));
                }
            }
        }
    }

    /// A workspace's edges: files as in one project; each project's stages ordered by its
    /// own `needs` (`StageOf`); each stage of a project after the same and earlier stages of
    /// the projects it needs (`Needed`, whose failure stops it); and the phase board's
    /// `StageDone`s over every project.
    pub(super) fn link_workspace(
        &mut self,
        stages: &[(Phase, Vec<Phase>)],
        projects: &[super::super::ProjectStages],
    ) -> (DiGraph<Node, Edge>, Vec<NodeIndex>) {
        let mut g = DiGraph::with_capacity(
            self.actions.len() + stages.len() * (1 + 2 * projects.len()),
            self.actions.len() * 4,
        );
        let nodes: Vec<NodeIndex> = (0..self.actions.len())
            .map(|i| g.add_node(Node::Action(i)))
            .collect();
        let board = self.stage_barriers(&mut g, &nodes, stages);
        for (phase, needs) in stages {
            for need in needs {
                if let Some(&b) = board.get(need) {
                    g.add_edge(b, board[phase], Edge::Stage);
                }
            }
        }
        self.file_edges(&mut g, &nodes);
        let index: HashMap<&str, u32> = projects
            .iter()
            .enumerate()
            .map(|(k, p)| (p.scope.name.as_str(), k as u32))
            .collect();
        let needed_by_any: HashSet<u32> = projects.iter().flat_map(|p| &p.needs).copied().collect();
        let mut own: HashMap<(u32, Phase), NodeIndex> = HashMap::new();
        let mut needed: HashMap<(u32, Phase), NodeIndex> = HashMap::new();
        for (k, p) in projects.iter().enumerate() {
            let k = k as u32;
            for (phase, _) in &p.stages {
                own.insert((k, *phase), g.add_node(Node::StageOf(k, *phase)));
                if needed_by_any.contains(&k) {
                    needed.insert((k, *phase), g.add_node(Node::Needed(k, *phase)));
                }
            }
        }
        // Each action by project and phase.
        let mut by: HashMap<(u32, Phase), Vec<usize>> = HashMap::new();
        for (i, a) in self.actions.iter().enumerate() {
            let k = a.scope.as_ref().and_then(|s| index.get(s.name.as_str()));
            if let Some(&k) = k {
                by.entry((k, a.phase)).or_default().push(i);
                g.add_edge(nodes[i], own[&(k, a.phase)], Edge::Stage);
                if let Some(&n) = needed.get(&(k, a.phase)) {
                    g.add_edge(nodes[i], n, Edge::Needs);
                }
            }
        }
        for (k, p) in projects.iter().enumerate() {
            let k = k as u32;
            for (phase, needs) in &p.stages {
                let members = by.get(&(k, *phase)).map_or(&[][..], Vec::as_slice);
                for need in needs {
                    if let Some(&b) = own.get(&(k, *need)) {
                        for &i in members {
                            g.add_edge(b, nodes[i], Edge::Stage);
                        }
                        g.add_edge(b, own[&(k, *phase)], Edge::Stage);
                    }
                }
                // The same and earlier stages of every project it needs.
                for &q in &p.needs {
                    for (qphase, _) in &projects[q as usize].stages {
                        if qphase > phase {
                            continue;
                        }
                        let n = needed[&(q, *qphase)];
                        for &i in members {
                            g.add_edge(n, nodes[i], Edge::Needs);
                        }
                        g.add_edge(n, own[&(k, *phase)], Edge::Stage);
                        if let Some(&mine) = needed.get(&(k, *phase)) {
                            g.add_edge(n, mine, Edge::Needs);
                        }
                    }
                }
            }
        }
        if toposort(&g, None).is_err() {
            self.report_cycles(&g);
        }
        (g, nodes)
    }

    pub(super) fn report_cycles(&mut self, g: &DiGraph<Node, Edge>) {
        for scc in tarjan_scc(g) {
            let cyclic = scc.len() > 1 || g.contains_edge(scc[0], scc[0]);
            if !cyclic {
                continue;
            }
            // Name one real cycle, not the whole component: through stage barriers a
            // component can hold every action of the stages between reader and writer.
            let cycle = shortest_cycle(g, &scc);
            let names: Vec<String> = cycle
                .iter()
                .map(|&n| match g[n] {
                    Node::Action(i) => self.actions[i].id.clone(),
                    Node::StageDone(p) => format!("stage {p}"),
                    Node::StageOf(_, p) | Node::Needed(_, p) => format!("a project's stage {p}"),
                })
                .collect();
            let first = cycle.iter().find_map(|&n| match g[n] {
                Node::Action(i) => Some(&self.actions[i]),
                _ => None,
            });
            let mut d = Diagnostic::new(
                Code::Cycle,
                format!("actions wait for each other: {}", names.join(" -> ")),
            )
            .label("this task is part of the cycle")
            .help("an action cannot read what it, or an action after it, writes; a stage cannot read what a stage that needs it writes");
            if let Some(a) = first {
                d = d.at(a.span);
            }
            self.diags.push(d);
        }
    }
}

/// The shortest cycle inside the strongly connected component `scc`, as a path that ends
/// where it starts. It starts at an action that reads a file written inside the component:
/// stage edges alone never close a cycle (validation rules out cyclic `needs`), so that read
/// is the edge the user can change.
fn shortest_cycle(g: &DiGraph<Node, Edge>, scc: &[NodeIndex]) -> Vec<NodeIndex> {
    use petgraph::Direction::Incoming;
    use petgraph::visit::EdgeRef;
    let members: HashSet<NodeIndex> = scc.iter().copied().collect();
    let start = scc
        .iter()
        .copied()
        .find(|&n| {
            g.edges_directed(n, Incoming)
                .any(|e| matches!(e.weight(), Edge::File(_)) && members.contains(&e.source()))
        })
        .unwrap_or(scc[0]);
    let mut prev: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for next in g.neighbors(n) {
            if next == start {
                // Back from `n` to `start` along the search, then reversed.
                let mut path = vec![start, n];
                let mut at = n;
                while at != start {
                    at = prev[&at];
                    path.push(at);
                }
                path.reverse(); // a self-loop gives `start -> start`
                return path;
            }
            if members.contains(&next) && !prev.contains_key(&next) {
                prev.insert(next, n);
                queue.push_back(next);
            }
        }
    }
    let mut all = scc.to_vec();
    all.push(scc[0]);
    all
}
