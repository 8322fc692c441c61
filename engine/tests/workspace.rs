//! A workspace's graph (`projects:`): ids and scopes per project, a project's own stage in
//! place of the shared one, builtins' default files in a folder of each project's own, a
//! companion added once, and `needs` as edges that a failure stops (`Edge::Needs`).

use batuta_engine::graph::{self, ActionGraph, Edge, Node};
use batuta_engine::manifest::{BuiltinFiles, Catalog, Companion, FanOut, Phase, load};
use petgraph::Direction::Incoming;
use petgraph::visit::EdgeRef;

const CATALOG: Catalog = Catalog {
    builtins: &["analyze", "optimize", "cargo-build"],
    fan_out: &[FanOut {
        builtin: "analyze",
        per_file: "analyze-file",
        dir: ".batuta/analysis",
        outputs: &["analysis.json", "report.txt"],
    }],
    companions: &[Companion {
        builtin: "optimize",
        adds: "calibrate",
        outputs: &[".batuta/calibration.json"],
    }],
    files: &[BuiltinFiles {
        builtin: "cargo-build",
        inputs: &["{output}/Cargo.toml", "{output}/src/**/*.rs"],
        outputs: &["dist/{name}", "dist/manifest.json"],
        records: &[],
    }],
    ..Catalog::EMPTY
};

const MANIFEST: &str = r#"
version: 1
projects:
  service: { source: legacy/service, output: rust/service, needs: [codec] }
  codec:
    source: legacy/codec
    output: rust/codec
    stages:
      transpile:
        needs: [analyze]
        tasks:
          c: { run: [cp, "{in}", "{out}"], each: "*.c", out: "src/{stem}.rs" }
stages:
  analyze: { builtin: analyze }
  transpile:
    needs: [analyze]
    tasks:
      py: { run: [cp, "{in}", "{out}"], each: "*.py", out: "src/{stem}.rs" }
  optimize: { needs: [transpile], builtin: optimize }
  build: { needs: [optimize], builtin: cargo-build }
"#;

fn expand(target: Option<&str>) -> (tempfile::TempDir, ActionGraph) {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in [
        ("batuta.yaml", MANIFEST),
        ("legacy/service/app.py", "print(1)\n"),
        ("legacy/codec/codec.c", "int f(void) { return 1; }\n"),
    ] {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let m = load(&dir.path().join("batuta.yaml"), &CATALOG).expect("loads");
    let g = graph::expand(&m, target).unwrap_or_else(|d| panic!("{:#?}", d.items));
    (dir, g)
}

fn ids(g: &ActionGraph) -> Vec<&str> {
    let mut v: Vec<&str> = g.actions.iter().map(|a| a.id.as_str()).collect();
    v.sort_unstable();
    v
}

#[test]
fn each_project_is_its_own_migration_with_its_own_files() {
    let (_dir, g) = expand(None);
    assert_eq!(
        ids(&g),
        [
            "codec/analyze/analyze",
            "codec/analyze/analyze:codec.c",
            "codec/build/build",
            "codec/optimize/optimize",
            "codec/transpile/c:codec.c",
            "optimize/optimize#calibrate",
            "service/analyze/analyze",
            "service/analyze/analyze:app.py",
            "service/build/build",
            "service/optimize/optimize",
            "service/transpile/py:app.py",
        ]
    );
    let action = |id: &str| g.actions.iter().find(|a| a.id == id).unwrap();
    for a in &g.actions {
        match &a.scope {
            Some(scope) => assert!(a.id.starts_with(&format!("{}/", scope.name)), "{}", a.id),
            // The companion is the workspace's.
            None => assert_eq!(a.id, "optimize/optimize#calibrate"),
        }
    }
    // Builtins' default files are the project's own.
    assert_eq!(
        action("codec/build/build").outputs,
        ["dist/codec/codec", "dist/codec/manifest.json"]
    );
    assert_eq!(
        action("service/analyze/analyze:app.py").outputs,
        [".batuta/analysis/service/files/app.py.json"]
    );
    assert_eq!(
        action("codec/analyze/analyze").outputs[..2],
        [
            ".batuta/analysis/codec/analysis.json",
            ".batuta/analysis/codec/report.txt"
        ]
    );
    assert_eq!(
        action("codec/transpile/c:codec.c").outputs,
        ["rust/codec/src/codec.rs"]
    );
    // The one calibration serves both projects' optimize.
    for id in ["codec/optimize/optimize", "service/optimize/optimize"] {
        assert!(
            action(id)
                .inputs
                .contains(&".batuta/calibration.json".to_owned()),
            "{id}"
        );
    }
    assert_eq!(g.projects.len(), 2);
    assert_eq!(g.projects[0].needs, [1], "service needs codec");
}

#[test]
fn a_project_waits_for_the_stages_of_what_it_needs_through_edges_a_failure_stops() {
    let (_dir, g) = expand(None);
    let at = |id: &str| {
        let i = g.actions.iter().position(|a| a.id == id).unwrap();
        g.action_nodes[i]
    };
    let needed: Vec<Phase> = g
        .graph
        .edges_directed(at("service/transpile/py:app.py"), Incoming)
        .filter(|e| *e.weight() == Edge::Needs)
        .map(|e| match g.graph[e.source()] {
            Node::Needed(1, p) => p,
            other => panic!("{other:?}"),
        })
        .collect();
    // codec's analyze and transpile: the same and earlier stages.
    assert_eq!(needed.len(), 2, "{needed:?}");
    assert!(needed.contains(&Phase::Analyze) && needed.contains(&Phase::Transpile));
    // codec needs nothing: no Needs edge reaches its actions.
    assert!(
        g.graph
            .edges_directed(at("codec/transpile/c:codec.c"), Incoming)
            .all(|e| *e.weight() != Edge::Needs)
    );
}

#[test]
fn a_project_stage_brings_what_it_needs_in_its_project_and_in_those_it_needs() {
    let (_dir, g) = expand(Some("service:transpile"));
    assert_eq!(
        ids(&g),
        [
            "codec/analyze/analyze",
            "codec/analyze/analyze:codec.c",
            "codec/transpile/c:codec.c",
            "service/analyze/analyze",
            "service/analyze/analyze:app.py",
            "service/transpile/py:app.py",
        ]
    );
    let (_dir, g) = expand(Some("codec"));
    // All of codec, and the workspace's calibration its optimize reads.
    assert!(
        ids(&g)
            .iter()
            .all(|id| id.starts_with("codec/") || *id == "optimize/optimize#calibrate"),
        "{:?}",
        ids(&g)
    );
    let (_dir, g) = expand(Some("*:analyze"));
    assert_eq!(g.actions.len(), 4, "{:?}", ids(&g));
}

/// A shared task's `hand_ported` names a file of one project: the others do not have it,
/// and that is no error; a file no project has is.
#[test]
fn a_shared_tasks_hand_port_belongs_to_the_project_that_has_the_file() {
    let manifest = |listed: &str| {
        format!(
            r#"
version: 1
projects:
  service: {{ source: legacy/service, output: rust/service }}
  tools: {{ source: legacy/tools, output: rust/tools }}
stages:
  transpile:
    tasks:
      py: {{ run: [cp, "{{in}}", "{{out}}"], each: "*.py", out: "src/{{stem}}.rs", hand_ported: [{listed}] }}
"#
        )
    };
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in [
        ("legacy/service/app.py", "print(1)\n"),
        ("legacy/tools/other.py", "print(2)\n"),
        ("rust/service/src/app.rs", "fn main() {}\n"),
    ] {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let path = dir.path().join("batuta.yaml");
    std::fs::write(&path, manifest("app.py")).unwrap();
    let m = load(&path, &CATALOG).expect("loads");
    let g = graph::expand(&m, None).unwrap_or_else(|d| panic!("{:#?}", d.items));
    assert_eq!(ids(&g), ["tools/transpile/py:other.py"]);
    assert_eq!(g.hand_ported[0].task, "service/transpile/py");
    std::fs::write(&path, manifest("gone.py")).unwrap();
    let m = load(&path, &CATALOG).expect("loads");
    let d = graph::expand(&m, None).unwrap_err();
    assert_eq!(d.items.len(), 1, "{:#?}", d.items);
    assert!(
        d.items[0].message.contains("hand_ported names 'gone.py'"),
        "{:#?}",
        d.items
    );
}
