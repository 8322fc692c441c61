//! `batuta status`: the five-phase board (REFERENCE.md), read from `.batuta-state.json`.

use std::fmt::Write as _;

use batuta_engine::graph;
use batuta_engine::journal::{self, Journal};
use batuta_engine::manifest::Phase;
use batuta_engine::state::{self, State, Status};

use crate::Exit;
use crate::cli::{ManifestArg, TextOrJson};
use crate::output::Ui;

pub fn run(ui: &Ui, manifest: &ManifestArg, format: TextOrJson, files: bool, next: bool) -> Exit {
    if files || next {
        return run_files(ui, manifest, format, next);
    }
    let path = match super::find_manifest(manifest) {
        Ok(p) => state::path(&batuta_engine::manifest::workspace_of(&p)),
        Err(d) => {
            ui.report(&d);
            return Exit::Usage;
        }
    };
    let state = match State::load(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let q = quarantine(manifest);
    let whole = q.get(&None).copied();
    match format {
        TextOrJson::Text => print!("{}", board(&state, &q)),
        TextOrJson::Json => {
            let mut v = serde_json::to_value(&state).expect("state is plain data");
            v["overall_percent"] = serde_json::json!(overall(&state, &q));
            if let Some(q) = whole {
                v["quarantined"] = serde_json::json!({ "modules": q.modules, "of": q.of });
            }
            for (name, ps) in &state.projects {
                let pq = q.get(&Some(name.clone())).copied();
                v["projects"][name]["overall_percent"] = serde_json::json!(progress(ps, pq));
                if let Some(pq) = pq {
                    v["projects"][name]["quarantined"] =
                        serde_json::json!({ "modules": pq.modules, "of": pq.of });
                }
            }
            println!("{v}");
        }
    }
    Exit::Success
}

/// The quarantine of each project of a workspace (by name), and of the whole (`None`).
pub type Quarantines = std::collections::BTreeMap<Option<String>, Quarantine>;

/// The whole's share: in a workspace, the mean of its projects' shares (a project done is
/// its part done, whatever the others); else the one board's.
pub fn overall(s: &State, q: &Quarantines) -> u32 {
    if s.projects.is_empty() {
        return progress(s, q.get(&None).copied());
    }
    let shares: Vec<u32> = s
        .projects
        .iter()
        .map(|(name, ps)| progress(ps, q.get(&Some(name.clone())).copied()))
        .collect();
    shares.iter().sum::<u32>() / shares.len() as u32
}

/// How many of the crate's modules assemble quarantined at its last run, of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarantine {
    pub modules: usize,
    pub of: usize,
}

/// The quarantine of the manifest's crates, of the whole and of each project, where it
/// has any (a manifest that does not load has none to show: the board is read from the
/// state alone).
fn quarantine(manifest: &ManifestArg) -> Quarantines {
    use batuta_rules::transpile::assemble::{self, record};
    let mut all = Quarantines::new();
    let Some(m) = super::load(manifest).ok() else {
        return all;
    };
    let Ok(g) = graph::expand_all(&m) else {
        return all;
    };
    for a in g.actions.iter().filter(|a| {
        matches!(&a.kind, batuta_engine::graph::ActionKind::Builtin { name, .. } if name == assemble::NAME)
    }) {
        let Some(rec) = a
            .outputs
            .iter()
            .find(|o| record::is_record(o))
            .and_then(|o| record::read(&m.root, o))
        else {
            continue;
        };
        let project = a.scope.as_ref().map(|s| s.name.clone());
        for key in [None, project].into_iter().collect::<std::collections::BTreeSet<_>>() {
            let q = all.entry(key).or_insert(Quarantine { modules: 0, of: 0 });
            q.of += rec.modules.len();
            q.modules += rec.quarantined().count();
        }
    }
    all.retain(|_, q| q.modules > 0);
    all
}

/// The overall share: the state's, less the transpile phase's share of the modules that
/// are quarantined (a phase done with quarantined files is not done).
pub fn progress(s: &State, q: Option<Quarantine>) -> u32 {
    let base = s.progress();
    match q {
        Some(q) if q.of > 0 && s.phase(Phase::Transpile).status == Status::Completed => {
            base - (20 * q.modules).div_ceil(q.of) as u32
        }
        _ => base,
    }
}

/// `batuta status --files`: the per-file table, from the graph, the journal, the state and
/// the build's diagnostics (see [`super::files`]); with `next`, only its first row, and why.
fn run_files(ui: &Ui, manifest: &ManifestArg, format: TextOrJson, next: bool) -> Exit {
    let rows = match file_rows(ui, manifest) {
        Ok(rows) => rows,
        Err(exit) => return exit,
    };
    if next {
        let state = super::find_manifest(manifest)
            .ok()
            .map(|p| state::path(&batuta_engine::manifest::workspace_of(&p)))
            .and_then(|p| State::load(&p).ok())
            .unwrap_or_default();
        let failed = super::next::failures(&state);
        let n = super::next::next(&rows, &failed);
        match format {
            TextOrJson::Text => print!("{}", super::next::text(n.as_ref(), &failed)),
            TextOrJson::Json => println!("{}", serde_json::json!({ "next": n })),
        }
        return Exit::Success;
    }
    match format {
        TextOrJson::Text => print!("{}", super::files::text(&rows)),
        TextOrJson::Json => println!(
            "{}",
            serde_json::json!({ "files": rows, "native": super::files::share(&rows) })
        ),
    }
    Exit::Success
}

/// Every source file's row, as of the last build; a manifest that does not load is
/// reported (exit 2).
pub fn file_rows(ui: &Ui, manifest: &ManifestArg) -> Result<Vec<super::files::FileStatus>, Exit> {
    let (m, g) = super::load_graph(ui, manifest)?;
    // A missing or damaged journal reads as "nothing built yet", which is what it means.
    let (journal, _) = Journal::load(&journal::path(&m.root));
    let state = match State::load(&state::path(&m.root)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(Exit::Usage);
        }
    };
    Ok(super::files::table(
        &g,
        &journal,
        &state,
        &m.root,
        &m.project.source.value,
    ))
}

/// How the board shows a phase's status: its symbol and its name.
pub fn mark(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Completed => ("✓", "Completed"),
        Status::InProgress => ("⏳", "In Progress"),
        Status::NotStarted => ("○", "Not Started"),
        Status::Failed => ("✗", "Failed"),
    }
}

pub fn board(s: &State, qs: &Quarantines) -> String {
    let mut out = String::new();
    let q = qs.get(&None).copied();
    let started = Phase::ALL
        .iter()
        .any(|p| s.phase(*p).status != Status::NotStarted);
    if !started {
        out.push_str("No workflow started yet.\n");
        out.push_str("💡 Run `batuta build` to start with the Analysis phase.\n");
        return out;
    }
    // A workspace: a board per project, then the whole.
    for (name, ps) in &s.projects {
        let pq = qs.get(&Some(name.clone())).copied();
        let _ = writeln!(out, "📦 Project {name}: {}% complete", progress(ps, pq));
        phase_lines(&mut out, ps, pq, "  ");
        out.push('\n');
    }
    if s.projects.is_empty() {
        out.push_str("📊 Workflow Progress\n");
    } else {
        let _ = writeln!(
            out,
            "📊 Workflow Progress, all {} projects",
            s.projects.len()
        );
    }
    out.push_str(&"─".repeat(46));
    out.push('\n');
    phase_lines(&mut out, s, q, "");
    if s.projects.is_empty() {
        let _ = writeln!(out, "\nOverall: {}% complete", progress(s, q));
    } else {
        let _ = writeln!(
            out,
            "\nOverall: {}% complete (the mean of the projects' shares)",
            overall(s, qs)
        );
    }
    if let Some(q) = q {
        let _ = writeln!(
            out,
            "💡 {} module{} do{} not compile: `batuta status --files` lists {} and what to port next.",
            q.modules,
            if q.modules == 1 { "" } else { "s" },
            if q.modules == 1 { "es" } else { "" },
            if q.modules == 1 { "it" } else { "them" },
        );
    }
    details(&mut out, s);
    out
}

/// The five phases of one board, a line each.
fn phase_lines(out: &mut String, s: &State, q: Option<Quarantine>, indent: &str) {
    for p in Phase::ALL {
        out.push_str(indent);
        let ps = s.phase(p);
        let (symbol, label) = mark(ps.status);
        match q {
            Some(q) if p == Phase::Transpile && ps.status == Status::Completed => {
                let _ = write!(
                    out,
                    "⚠️ {:<17} [{label}, {} of {} modules quarantined]",
                    p.title(),
                    q.modules,
                    q.of
                );
            }
            _ => {
                let _ = write!(out, "{symbol} {:<17} [{label}]", p.title());
            }
        }
        if ps.status == Status::Failed {
            out.push_str(" ← Fix this!");
        }
        out.push('\n');
    }
}

/// When each phase ran, and what failed in it.
fn details(out: &mut String, s: &State) {
    let details: Vec<Phase> = Phase::ALL
        .into_iter()
        .filter(|p| s.phase(*p).status != Status::NotStarted)
        .collect();
    out.push_str("\nPhase details:\n");
    for p in details {
        let ps = s.phase(p);
        let _ = write!(out, "  {:<15}", p.title());
        if let Some(t) = &ps.started_at {
            let _ = write!(out, " started {t}");
        }
        if let Some(t) = &ps.completed_at {
            let _ = write!(out, ", ended {t}");
        }
        if let Some(d) = &ps.duration {
            let _ = write!(out, " ({d})");
        }
        out.push('\n');
        if let Some(e) = &ps.error {
            for line in e.split("; ") {
                let _ = writeln!(out, "    ✗ {line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_state_says_nothing_started() {
        assert!(
            board(&State::default(), &Quarantines::new()).starts_with("No workflow started yet.")
        );
    }

    #[test]
    fn the_books_example_is_sixty_percent() {
        let mut s = State::default();
        s.start(Phase::Analyze, "2025-11-19T14:21:32Z");
        s.finish(Phase::Analyze, "2025-11-19T14:21:33Z", 0.13, None);
        s.start(Phase::Transpile, "2025-11-19T14:22:15Z");
        s.finish(Phase::Transpile, "2025-11-19T14:22:20Z", 5.0, None);
        s.start(Phase::Optimize, "2025-11-19T14:22:21Z");
        let b = board(&s, &Quarantines::new());
        assert!(b.contains("✓ Analysis          [Completed]"), "{b}");
        assert!(b.contains("⏳ Optimization      [In Progress]"), "{b}");
        assert!(b.contains("○ Deployment        [Not Started]"), "{b}");
        assert!(b.contains("Overall: 60% complete"), "{b}");
    }

    #[test]
    fn a_transpilation_done_with_quarantined_modules_is_not_whole() {
        let mut s = State::default();
        for p in [Phase::Analyze, Phase::Transpile] {
            s.start(p, "2025-11-19T14:21:32Z");
            s.finish(p, "2025-11-19T14:21:33Z", 0.1, None);
        }
        let q = Quarantines::from([(None, Quarantine { modules: 3, of: 6 })]);
        let b = board(&s, &q);
        assert!(
            b.contains("⚠️ Transpilation     [Completed, 3 of 6 modules quarantined]"),
            "{b}"
        );
        assert!(b.contains("Overall: 30% complete"), "{b}");
        assert!(b.contains("3 modules do not compile"), "{b}");
    }
}
