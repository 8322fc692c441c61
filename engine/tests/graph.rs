//! Action graph expansion on real folders: `each` and placeholders, the source walk
//! (globs, excludes, .gitignore, folders never walked), action ids, file edges, stage
//! barriers, target selection, and the problems only the file system reveals (clashing
//! outputs, cycles through files, symlinks pointing out, a missing source folder).

use std::collections::HashMap;
use std::path::Path;

use batuta_engine::graph::{self, Action, ActionGraph, ActionKind, Node};
use batuta_engine::manifest::{
    BuiltinFiles, BuiltinTemplate, BuiltinTool, Catalog, Code, Companion, Diagnostic, FanOut,
    Manifest, Phase, load,
};
use petgraph::algo::toposort;

/// The engine cannot depend on batuta-rules; these names stand in for its catalog.
const CATALOG: Catalog = Catalog {
    builtins: &[
        "analyze",
        "optimize",
        "compare-outputs",
        "cargo-test",
        "cargo-build",
    ],
    kernels: &["allclose", "max_abs_diff"],
    fan_out: &[],
    templates: &[BuiltinTemplate {
        name: "lint-copy",
        tool: BuiltinTool {
            name: "copier",
            command: "cp",
            version: &["--version"],
            install: "apt-get install coreutils",
            sidecars: &[],
        },
        run: &["{tool}", "{in}", "{out}"],
        gate: &["test", "-s", "{in}"],
        prelude: None,
    }],
    files: &[BuiltinFiles {
        builtin: "cargo-build",
        inputs: &["{output}/Cargo.toml", "{output}/src/**/*.rs"],
        outputs: &["dist/{name}", "dist/manifest.json"],
        records: &[],
    }],
    ..Catalog::EMPTY
};

/// The same names, with `optimize` bringing its `calibrate` companion as the rules crate does.
const COMPANION_CATALOG: Catalog = Catalog {
    companions: &[Companion {
        builtin: "optimize",
        adds: "calibrate",
        outputs: &[".batuta/calibration.json"],
    }],
    ..CATALOG
};

/// The same names, with `analyze` working file by file as the rules crate declares it.
const FAN_CATALOG: Catalog = Catalog {
    fan_out: &[FanOut {
        builtin: "analyze",
        per_file: "analyze-file",
        dir: ".batuta/analysis",
        outputs: &["analysis.json", "report.txt"],
    }],
    ..CATALOG
};

/// A workspace in a temporary folder: `batuta.yaml` and the files around it.
struct Ws {
    dir: tempfile::TempDir,
}

impl Ws {
    fn new(manifest: &str, files: &[&str]) -> Ws {
        let ws = Ws {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        ws.write("batuta.yaml", manifest);
        for f in files {
            ws.write(f, "");
        }
        ws
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.root().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn load(&self) -> Manifest {
        load(&self.root().join("batuta.yaml"), &CATALOG).unwrap_or_else(|d| {
            panic!("manifest should load: {:#?}", d.items);
        })
    }

    fn expand_fanned(&self) -> ActionGraph {
        self.expand_with(&FAN_CATALOG)
    }

    fn expand_with(&self, catalog: &Catalog) -> ActionGraph {
        let m = load(&self.root().join("batuta.yaml"), catalog).expect("manifest loads");
        graph::expand(&m, None).unwrap_or_else(|d| panic!("graph should expand: {:#?}", d.items))
    }

    fn expand(&self, target: Option<&str>) -> ActionGraph {
        graph::expand(&self.load(), target).unwrap_or_else(|d| {
            panic!("graph should expand: {:#?}", d.items);
        })
    }

    fn expand_err(&self, target: Option<&str>) -> Vec<Diagnostic> {
        match graph::expand(&self.load(), target) {
            Ok(g) => panic!("expected diagnostics, got actions {:?}", ids(&g)),
            Err(d) => d.items,
        }
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn ids(g: &ActionGraph) -> Vec<&str> {
    g.actions.iter().map(|a| a.id.as_str()).collect()
}

fn action<'g>(g: &'g ActionGraph, id: &str) -> &'g Action {
    g.actions
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("no action '{id}' in {:?}", ids(g)))
}

fn index(g: &ActionGraph, id: &str) -> usize {
    g.actions
        .iter()
        .position(|a| a.id == id)
        .unwrap_or_else(|| panic!("no action '{id}' in {:?}", ids(g)))
}

fn argv(a: &Action) -> &[String] {
    match &a.kind {
        ActionKind::Command { argv, .. } => argv,
        other => panic!("'{}' is not a command: {other:?}", a.id),
    }
}

/// The ids of the actions whose outputs `id` reads, with the files, sorted.
fn deps<'g>(g: &'g ActionGraph, id: &str) -> Vec<(&'g str, &'g str)> {
    let mut d: Vec<(&str, &str)> = g
        .file_deps(index(g, id))
        .map(|(j, f)| (g.actions[j].id.as_str(), f))
        .collect();
    d.sort_unstable();
    d
}

fn only(diags: &[Diagnostic], code: Code) -> &Diagnostic {
    let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.code == code).collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {code}, got {diags:#?}"
    );
    found[0]
}

fn stage_names(g: &ActionGraph) -> Vec<&'static str> {
    g.stages.iter().map(|(p, _)| p.stage_name()).collect()
}

const PY_MANIFEST: &str = r#"
version: 1
project:
  name: demo
  source: legacy
  output: rust
tools:
  depyler: { command: depyler-bin, version: ["--version"] }
rules:
  py-to-rust:
    tool: depyler
    run: ["{tool}", "transpile", "{in}", "-o", "{out}", "path={path}", "dir={dir}", "stem={stem}", "ext={ext}"]
stages:
  analyze:
    builtin: analyze
  transpile:
    needs: [analyze]
    tasks:
      python: { rule: py-to-rust, each: "**/*.py", out: "src/{dir}/{stem}.rs" }
"#;

const PY_FILES: &[&str] = &[
    "legacy/main.py",
    "legacy/pkg/util.py",
    "legacy/pkg/sub/deep.py",
    "legacy/pkg/sub/archive.tar.py",
    "legacy/README.md",
];

// ---------------------------------------------------------------------------------------
// `each` and placeholders

#[test]
fn each_becomes_one_action_per_matching_file() {
    let ws = Ws::new(PY_MANIFEST, PY_FILES);
    let g = ws.expand(None);
    assert_eq!(g.target, "default");
    assert_eq!(
        ids(&g),
        [
            "analyze/analyze",
            "transpile/python:main.py",
            "transpile/python:pkg/sub/archive.tar.py",
            "transpile/python:pkg/sub/deep.py",
            "transpile/python:pkg/util.py",
        ]
    );
    let a = action(&g, "transpile/python:pkg/util.py");
    assert_eq!(a.phase, Phase::Transpile);
    assert_eq!(a.task, "python");
    assert_eq!(a.inputs, ["legacy/pkg/util.py"]);
    assert_eq!(a.outputs, ["rust/src/pkg/util.rs"]);
    assert!(a.cache);
    assert_eq!(a.gpu, 0);
    match &a.kind {
        ActionKind::Command { tool, .. } => assert_eq!(tool.as_deref(), Some("depyler")),
        other => panic!("expected a command, got {other:?}"),
    }
}

#[test]
fn every_placeholder_expands() {
    let ws = Ws::new(PY_MANIFEST, PY_FILES);
    let g = ws.expand(None);
    assert_eq!(
        argv(action(&g, "transpile/python:pkg/sub/deep.py")),
        [
            "depyler-bin", // {tool} is the tool's command, not its name
            "transpile",
            "legacy/pkg/sub/deep.py", // {in}: relative to the workspace
            "-o",
            "rust/src/pkg/sub/deep.rs", // {out}: under project.output
            "path=pkg/sub/deep.py",     // {path}: relative to project.source
            "dir=pkg/sub",
            "stem=deep",
            "ext=py",
        ]
    );
    // A name with two dots: the stem keeps everything up to the last one.
    let a = action(&g, "transpile/python:pkg/sub/archive.tar.py");
    assert_eq!(a.outputs, ["rust/src/pkg/sub/archive.tar.rs"]);
    assert!(argv(a).contains(&"stem=archive.tar".to_owned()));
}

#[test]
fn dir_is_empty_for_top_level_files_and_out_is_normalised() {
    let ws = Ws::new(PY_MANIFEST, PY_FILES);
    let g = ws.expand(None);
    let a = action(&g, "transpile/python:main.py");
    // `src/{dir}/{stem}.rs` with an empty {dir} is `src//main.rs`, normalised.
    assert_eq!(a.outputs, ["rust/src/main.rs"]);
    assert_eq!(
        argv(a),
        [
            "depyler-bin",
            "transpile",
            "legacy/main.py",
            "-o",
            "rust/src/main.rs",
            "path=main.py",
            "dir=",
            "stem=main",
            "ext=py",
        ]
    );
}

#[test]
fn run_task_with_each_and_tool_and_files_without_extension() {
    let ws = Ws::new(
        r#"
version: 1
project: { name: demo, source: legacy }
tools:
  bashrs: { command: /opt/bin/bashrs }
stages:
  transpile:
    tasks:
      shell:
        run: ["{tool}", "purify", "{in}", "-o", "{out}", "{ext}"]
        tool: bashrs
        each: "scripts/*"
        out: "scripts/{path}"
"#,
        &["legacy/scripts/deploy.sh", "legacy/scripts/Makefile"],
    );
    let g = ws.expand(None);
    assert_eq!(
        ids(&g),
        [
            "transpile/shell:scripts/Makefile",
            "transpile/shell:scripts/deploy.sh"
        ]
    );
    assert_eq!(
        argv(action(&g, "transpile/shell:scripts/deploy.sh")),
        [
            "/opt/bin/bashrs",
            "purify",
            "legacy/scripts/deploy.sh",
            "-o",
            "rust/scripts/scripts/deploy.sh",
            "sh"
        ]
    );
    // No extension: {ext} is empty and {stem} is the whole name.
    assert_eq!(argv(action(&g, "transpile/shell:scripts/Makefile"))[5], "");
}

#[test]
fn source_dot_gives_workspace_relative_inputs() {
    let ws = Ws::new(
        r#"
version: 1
project: { name: demo }
stages:
  transpile:
    tasks:
      py: { run: ["t", "{in}", "{out}"], each: "**/*.py", out: "{dir}/{stem}.rs" }
"#,
        &["main.py", "pkg/a.py"],
    );
    let g = ws.expand(None);
    assert_eq!(ids(&g), ["transpile/py:main.py", "transpile/py:pkg/a.py"]);
    assert_eq!(
        argv(action(&g, "transpile/py:main.py")),
        ["t", "main.py", "rust/main.rs"]
    );
    assert_eq!(
        action(&g, "transpile/py:pkg/a.py").outputs,
        ["rust/pkg/a.rs"]
    );
}

// ---------------------------------------------------------------------------------------
// The source walk

fn glob_manifest(each: &str) -> String {
    format!(
        r#"
version: 1
project: {{ name: demo, source: legacy }}
stages:
  transpile:
    tasks:
      py: {{ run: ["t", "{{in}}"], each: "{each}", out: "{{path}}.rs" }}
"#
    )
}

#[test]
fn star_stays_in_one_folder_and_double_star_crosses_folders() {
    let files = &[
        "legacy/a.py",
        "legacy/pkg/b.py",
        "legacy/pkg/deep/c.py",
        "legacy/d.pyc",
    ];
    let one = Ws::new(&glob_manifest("*.py"), files);
    assert_eq!(ids(&one.expand(None)), ["transpile/py:a.py"]);

    let all = Ws::new(&glob_manifest("**/*.py"), files);
    assert_eq!(
        ids(&all.expand(None)),
        [
            "transpile/py:a.py",
            "transpile/py:pkg/b.py",
            "transpile/py:pkg/deep/c.py"
        ]
    );

    let pkg = Ws::new(&glob_manifest("pkg/*.py"), files);
    assert_eq!(ids(&pkg.expand(None)), ["transpile/py:pkg/b.py"]);
}

#[test]
fn each_that_matches_nothing_gives_no_actions() {
    let ws = Ws::new(&glob_manifest("**/*.cobol"), &["legacy/a.py"]);
    let g = ws.expand(None);
    assert!(g.actions.is_empty(), "{:?}", ids(&g));
    assert_eq!(stage_names(&g), ["transpile"]);
}

#[test]
fn exclude_and_gitignore_are_honoured() {
    let ws = Ws::new(
        r#"
version: 1
project:
  name: demo
  source: legacy
  exclude: ["**/__pycache__/**", "venv/**", "**/test_*.py"]
stages:
  transpile:
    tasks:
      py: { run: ["t", "{in}"], each: "**/*.py", out: "{path}.rs" }
"#,
        &[
            "legacy/keep.py",
            "legacy/pkg/keep.py",
            "legacy/pkg/__pycache__/cached.py",
            "legacy/venv/lib/site.py",
            "legacy/pkg/test_util.py",
            "legacy/gen/generated.py",
            "legacy/pkg/local.py",
            "legacy/from_root.py",
        ],
    );
    // In the source folder, in a subfolder, and at the workspace root (a parent of it).
    ws.write("legacy/.gitignore", "gen/\n");
    ws.write("legacy/pkg/.gitignore", "local.py\n");
    ws.write(".gitignore", "legacy/from_root.py\n");
    let g = ws.expand(None);
    assert_eq!(
        ids(&g),
        ["transpile/py:keep.py", "transpile/py:pkg/keep.py"]
    );
}

const WALK_ALL: &str = r#"
version: 1
project: { name: demo, output: out/rust }
stages:
  transpile:
    tasks:
      copy: { run: ["cp", "{in}", "{out}"], each: "**/*", out: "{path}" }
"#;

#[test]
fn output_batuta_and_git_folders_are_never_walked() {
    let ws = Ws::new(
        WALK_ALL,
        &[
            "main.py",
            "out/rust/src/main.rs",
            "out/rust/generated.py",
            "out/other.py",
            ".batuta/cache/ab/cd",
            ".git/HEAD",
            ".git/objects/ab/cd",
        ],
    );
    let g = ws.expand(None);
    // The manifest is batuta's, not legacy code; only project.output is skipped, not its
    // parent folder.
    assert_eq!(
        ids(&g),
        ["transpile/copy:main.py", "transpile/copy:out/other.py"]
    );
}

/// The CLI names a manifest found in the current folder `batuta.yaml`, so the workspace
/// root is the empty path: the folders never walked must still be recognised.
#[test]
fn output_folder_is_skipped_when_the_manifest_path_is_relative() {
    let ws = Ws::new(
        WALK_ALL,
        &["main.py", "out/rust/src/main.rs", "out/rust/generated.py"],
    );
    // Only this test changes the current folder; every other test uses absolute paths.
    let before = std::env::current_dir().unwrap();
    std::env::set_current_dir(ws.root()).unwrap();
    let result = load(Path::new("batuta.yaml"), &CATALOG)
        .map_err(|d| d.items)
        .and_then(|m| graph::expand(&m, None).map_err(|d| d.items));
    std::env::set_current_dir(before).unwrap();
    let g = result.expect("expands");
    assert_eq!(ids(&g), ["transpile/copy:main.py"], "nor the manifest");
    assert_eq!(
        action(&g, "transpile/copy:main.py").outputs,
        ["out/rust/main.py"]
    );
}

// ---------------------------------------------------------------------------------------
// Single actions: run without each, builtin, kernel

#[test]
fn single_actions_have_their_declared_files_normalised() {
    let ws = Ws::new(
        r#"
version: 1
project: { name: demo }
tools:
  cargo: { command: cargo }
stages:
  analyze:
    builtin: analyze
    with: { depth: 3 }
  validate:
    tasks:
      close:
        kernel: allclose
        inputs: [./golden/../golden/expected.f32, out//actual.f32]
        with: { rtol: 1.0e-5 }
      test:
        run: ["{tool}", "test"]
        tool: cargo
        inputs: ["./a/../b"]
        outputs: ["./reports/./test.xml"]
        env: [RUST_LOG]
        cache: false
        resources: { gpu: 1 }
"#,
        &[],
    );
    let g = ws.expand(None);
    assert_eq!(
        ids(&g),
        ["analyze/analyze", "validate/close", "validate/test"]
    );

    let analyze = action(&g, "analyze/analyze");
    assert_eq!(
        analyze.kind,
        ActionKind::Builtin {
            name: "analyze".into(),
            with: Some(serde_json::json!({ "depth": 3 })),
        }
    );
    assert!(analyze.inputs.is_empty() && analyze.outputs.is_empty());

    let close = action(&g, "validate/close");
    assert!(
        matches!(&close.kind, ActionKind::Kernel { name, with: Some(_) } if name == "allclose")
    );
    assert_eq!(close.inputs, ["golden/expected.f32", "out/actual.f32"]);

    let test = action(&g, "validate/test");
    assert_eq!(
        test.kind,
        ActionKind::Command {
            argv: vec!["cargo".into(), "test".into()],
            tool: Some("cargo".into()),
        }
    );
    assert_eq!(test.inputs, ["b"]);
    assert_eq!(test.outputs, ["reports/test.xml"]);
    assert_eq!(test.env, ["RUST_LOG"]);
    assert!(!test.cache);
    assert_eq!(test.gpu, 1);
}

// ---------------------------------------------------------------------------------------
// Edges

const PIPELINE: &str = r#"
version: 1
project: { name: demo, source: legacy, output: rust }
stages:
  analyze:
    builtin: analyze
  transpile:
    needs: [analyze]
    tasks:
      python: { run: ["t", "{in}", "{out}"], each: "**/*.py", out: "src/{dir}/{stem}.rs" }
  optimize:
    needs: [transpile]
    tasks:
      none: { run: ["t", "{in}"], each: "**/*.nothing" }
  validate:
    needs: [optimize]
    tasks:
      numerics:
        kernel: allclose
        inputs: [golden/expected.f32, rust/src/main.rs, ./rust/src/pkg/../pkg/util.rs]
      same:
        builtin: compare-outputs
  build:
    needs: [validate]
    builtin: cargo-build
targets:
  default: [transpile]
  ci: [validate]
  release: { stages: [build], keep_going: true }
"#;

const PIPELINE_FILES: &[&str] = &[
    "legacy/main.py",
    "legacy/pkg/util.py",
    "legacy/pkg/other.py",
    "golden/expected.f32",
];

#[test]
fn a_task_reading_an_output_depends_on_its_writer() {
    let ws = Ws::new(PIPELINE, PIPELINE_FILES);
    let g = ws.expand(Some("ci"));
    assert_eq!(
        deps(&g, "validate/numerics"),
        [
            ("transpile/python:main.py", "rust/src/main.rs"),
            ("transpile/python:pkg/util.py", "rust/src/pkg/util.rs"),
        ]
    );
    // Files nobody writes (sources, golden data) make no edge.
    assert!(deps(&g, "transpile/python:main.py").is_empty());
    assert!(deps(&g, "validate/same").is_empty());
}

#[test]
fn stage_barriers_order_every_action_of_a_stage_after_the_stages_it_needs() {
    let ws = Ws::new(PIPELINE, PIPELINE_FILES);
    let g = ws.expand(Some("release"));
    let order = toposort(&g.graph, None).expect("the graph is acyclic");
    let mut position: HashMap<usize, usize> = HashMap::new();
    for (at, n) in order.iter().enumerate() {
        if let Node::Action(i) = g.graph[*n] {
            position.insert(i, at);
        }
    }
    assert_eq!(position.len(), g.actions.len());
    let of = |phase: Phase| -> Vec<usize> {
        g.actions
            .iter()
            .enumerate()
            .filter(|(_, a)| a.phase == phase)
            .map(|(i, _)| position[&i])
            .collect()
    };
    let (analyze, transpile, validate, build) = (
        of(Phase::Analyze),
        of(Phase::Transpile),
        of(Phase::Validate),
        of(Phase::Build),
    );
    assert_eq!((analyze.len(), transpile.len()), (1, 3));
    assert!(of(Phase::Optimize).is_empty());
    let before = |a: &[usize], b: &[usize]| a.iter().all(|x| b.iter().all(|y| x < y));
    assert!(before(&analyze, &transpile));
    assert!(before(&transpile, &validate));
    // Optimize has no action; its barrier still carries the order through.
    assert!(before(&transpile, &build) && before(&validate, &build));
    // One barrier node per stage, and nothing else besides the actions.
    let barriers = g
        .graph
        .node_weights()
        .filter(|n| matches!(n, Node::StageDone(_)))
        .count();
    assert_eq!(barriers, 5);
    assert_eq!(g.graph.node_count(), g.actions.len() + 5);
    for (i, n) in g.action_nodes.iter().enumerate() {
        assert_eq!(g.graph[*n], Node::Action(i));
    }
}

// ---------------------------------------------------------------------------------------
// Targets

#[test]
fn a_named_target_pulls_in_the_stages_it_needs() {
    let ws = Ws::new(PIPELINE, PIPELINE_FILES);
    let g = ws.expand(Some("ci"));
    assert_eq!(g.target, "ci");
    assert!(!g.keep_going);
    assert_eq!(
        stage_names(&g),
        ["analyze", "transpile", "optimize", "validate"]
    );
    assert!(g.actions.iter().all(|a| a.phase != Phase::Build));
    assert_eq!(
        g.stages[1],
        (Phase::Transpile, vec![Phase::Analyze]),
        "each stage keeps what it needs"
    );

    let release = ws.expand(Some("release"));
    assert_eq!(release.target, "release");
    assert!(release.keep_going);
    assert_eq!(stage_names(&release).len(), 5);
    assert!(ids(&release).contains(&"build/build"));
}

#[test]
fn the_default_target_runs_when_none_is_named() {
    let ws = Ws::new(PIPELINE, PIPELINE_FILES);
    let g = ws.expand(None);
    assert_eq!(g.target, "default");
    assert_eq!(stage_names(&g), ["analyze", "transpile"]);
    assert_eq!(
        ids(&g),
        [
            "analyze/analyze",
            "transpile/python:main.py",
            "transpile/python:pkg/other.py",
            "transpile/python:pkg/util.py",
        ]
    );
    // Naming it gives the same graph.
    assert_eq!(ids(&ws.expand(Some("default"))), ids(&g));
}

#[test]
fn without_targets_every_stage_runs() {
    let ws = Ws::new(PIPELINE.split("targets:").next().unwrap(), PIPELINE_FILES);
    let g = ws.expand(None);
    assert_eq!(g.target, "default");
    assert_eq!(
        stage_names(&g),
        ["analyze", "transpile", "optimize", "validate", "build"]
    );
    assert_eq!(g.actions.len(), 1 + 3 + 2 + 1);
}

#[test]
fn an_unknown_target_is_reported_with_a_suggestion() {
    let ws = Ws::new(PIPELINE, PIPELINE_FILES);
    let diags = ws.expand_err(Some("relase"));
    let d = only(&diags, Code::UnknownName);
    assert_eq!(d.code.as_str(), "BATUTA-M-006");
    assert!(d.message.contains("'relase'"), "{d:?}");
    assert_eq!(d.help.as_deref(), Some("did you mean 'release'?"));

    let diags = ws.expand_err(Some("zzzzzzzz"));
    let d = only(&diags, Code::UnknownName);
    let help = d.help.as_deref().unwrap_or_default();
    assert!(help.contains("ci") && help.contains("release"), "{d:?}");

    let none = Ws::new(PIPELINE.split("targets:").next().unwrap(), PIPELINE_FILES);
    let d = only(&none.expand_err(Some("ci")), Code::UnknownName).clone();
    assert!(d.help.unwrap_or_default().contains("no `targets:`"));
}

// ---------------------------------------------------------------------------------------
// Problems

#[test]
fn two_tasks_writing_one_file_is_a_conflict_naming_both() {
    let ws = Ws::new(
        r#"
version: 1
project: { name: demo }
stages:
  build:
    tasks:
      one: { run: ["a"], outputs: [dist/app] }
      two: { run: ["b"], outputs: [./dist/x/../app] }
"#,
        &[],
    );
    let diags = ws.expand_err(None);
    let d = only(&diags, Code::Conflict);
    assert_eq!(d.code.as_str(), "BATUTA-M-010");
    assert!(d.message.contains("'dist/app'"), "{d:?}");
    assert!(
        d.message.contains("'build/one'") && d.message.contains("'build/two'"),
        "{d:?}"
    );
    assert!(d.span.is_some());
}

#[test]
fn two_files_of_one_each_writing_one_output_is_a_conflict() {
    let ws = Ws::new(
        r#"
version: 1
project: { name: demo, source: legacy }
stages:
  transpile:
    tasks:
      flat: { run: ["t", "{in}", "{out}"], each: "**/*.py", out: "{stem}.rs" }
"#,
        &["legacy/a.py", "legacy/pkg/a.py", "legacy/b.py"],
    );
    let diags = ws.expand_err(None);
    let d = only(&diags, Code::Conflict);
    assert!(
        d.message.contains("'transpile/flat:a.py'")
            && d.message.contains("'transpile/flat:pkg/a.py'")
            && d.message.contains("'rust/a.rs'"),
        "{d:?}"
    );
}

#[test]
fn a_stage_reading_what_a_later_stage_writes_is_a_cycle() {
    let ws = Ws::new(
        r#"
version: 1
project: { name: demo, source: legacy }
stages:
  transpile:
    tasks:
      python: { run: ["t", "{in}", "{out}"], each: "**/*.py", out: "{stem}.rs" }
      uses-report: { run: ["u"], inputs: [reports/report.txt] }
  optimize:
    needs: [transpile]
    tasks:
      tune: { run: ["o", "{in}"], each: "**/*.py" }
  validate:
    needs: [optimize]
    tasks:
      report: { run: ["r"], outputs: [reports/report.txt] }
"#,
        &["legacy/a.py", "legacy/b.py", "legacy/c.py"],
    );
    let diags = ws.expand_err(None);
    let d = only(&diags, Code::Cycle);
    assert_eq!(d.code.as_str(), "BATUTA-M-008");
    assert!(
        d.message.contains("transpile/uses-report") && d.message.contains("validate/report"),
        "{d:?}"
    );
    // The cycle named is one path through the file, not every action of the stages between.
    assert_eq!(
        d.message,
        "actions wait for each other: transpile/uses-report -> stage transpile -> \
         stage optimize -> validate/report -> transpile/uses-report"
    );
    assert!(d.span.is_some());
}

#[test]
fn two_tasks_of_one_stage_reading_each_others_outputs_is_a_cycle() {
    let ws = Ws::new(
        r#"
version: 1
project: { name: demo }
stages:
  validate:
    tasks:
      ping: { run: ["p"], inputs: [pong.txt], outputs: [ping.txt] }
      pong: { run: ["q"], inputs: [ping.txt], outputs: [pong.txt] }
      alone: { run: ["a"], inputs: [ping.txt] }
"#,
        &[],
    );
    let diags = ws.expand_err(None);
    let d = only(&diags, Code::Cycle);
    assert!(
        d.message.contains("validate/ping") && d.message.contains("validate/pong"),
        "{d:?}"
    );
    assert!(!d.message.contains("validate/alone"), "{d:?}");
    // Named as a path that closes on itself.
    let names: Vec<&str> = d
        .message
        .split(": ")
        .nth(1)
        .unwrap()
        .split(" -> ")
        .collect();
    assert_eq!(names.len(), 3, "{d:?}");
    assert_eq!(names.first(), names.last(), "{d:?}");
    assert_ne!(names[0], names[1], "{d:?}");
}

#[test]
fn an_action_reading_its_own_output_is_a_cycle() {
    let ws = Ws::new(
        r#"
version: 1
project: { name: demo }
stages:
  build:
    tasks:
      loop: { run: ["l"], inputs: [state.json], outputs: [./state.json] }
"#,
        &[],
    );
    let d = only(&ws.expand_err(None), Code::Cycle).clone();
    assert_eq!(
        d.message,
        "actions wait for each other: build/loop -> build/loop"
    );
}

#[test]
fn a_missing_source_folder_is_reported_when_a_task_needs_it() {
    let manifest = r#"
version: 1
project: { name: demo, source: legacy }
stages:
  analyze:
    builtin: analyze
  transpile:
    tasks:
      python: { run: ["t", "{in}"], each: "**/*.py" }
targets:
  analyze-only: [analyze]
"#;
    let ws = Ws::new(manifest, &[]);
    let d = only(&ws.expand_err(None), Code::Missing).clone();
    assert_eq!(d.code.as_str(), "BATUTA-M-013");
    assert!(d.message.contains("legacy"), "{d:?}");
    assert!(d.span.is_some());
    // A target without `each` tasks does not walk the source at all.
    assert_eq!(ids(&ws.expand(Some("analyze-only"))), ["analyze/analyze"]);
}

#[cfg(unix)]
#[test]
fn an_each_match_that_is_a_symlink_pointing_out_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.py"), "").unwrap();
    let ws = Ws::new(&glob_manifest("**/*.py"), &["legacy/ok.py"]);
    symlink(
        &outside.path().join("secret.py"),
        &ws.root().join("legacy/pkg/leak.py"),
    );
    // A symlink that stays inside is an ordinary input.
    symlink(
        &ws.root().join("legacy/ok.py"),
        &ws.root().join("legacy/alias.py"),
    );
    let diags = ws.expand_err(None);
    let d = only(&diags, Code::PathEscapes);
    assert_eq!(d.code.as_str(), "BATUTA-M-009");
    assert!(d.message.contains("legacy/pkg/leak.py"), "{d:?}");
    assert!(d.span.is_some());
    assert_eq!(diags.len(), 1, "{diags:#?}");

    // Excluding it is the fix the diagnostic suggests.
    let fixed = glob_manifest("**/*.py").replace(
        "source: legacy",
        "source: legacy, exclude: [\"pkg/leak.py\"]",
    );
    ws.write("batuta.yaml", &fixed);
    assert_eq!(
        ids(&ws.expand(None)),
        ["transpile/py:alias.py", "transpile/py:ok.py"]
    );
}

#[cfg(unix)]
#[test]
fn an_output_folder_that_is_a_symlink_pointing_out_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let ws = Ws::new(
        r#"
version: 1
project: { name: demo, source: legacy, output: rust }
stages:
  transpile:
    tasks:
      python: { run: ["t", "{in}", "{out}"], each: "**/*.py", out: "src/{dir}/{stem}.rs" }
"#,
        &["legacy/main.py", "legacy/pkg/util.py"],
    );
    symlink(outside.path(), &ws.root().join("rust"));
    let diags = ws.expand_err(None);
    assert!(!diags.is_empty());
    assert!(
        diags.iter().all(|d| d.code == Code::PathEscapes),
        "{diags:#?}"
    );
    assert!(
        diags.iter().any(|d| d.message.contains("rust/src/main.rs")),
        "{diags:#?}"
    );
    // Nothing was written through the link.
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn a_source_folder_that_is_a_symlink_pointing_out_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("a.py"), "").unwrap();
    let ws = Ws::new(&glob_manifest("**/*.py"), &[]);
    symlink(outside.path(), &ws.root().join("legacy"));
    let d = only(&ws.expand_err(None), Code::PathEscapes).clone();
    assert!(d.message.contains("project.source"), "{d:?}");
}

#[cfg(unix)]
#[test]
fn a_declared_output_through_a_symlinked_folder_pointing_out_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let ws = Ws::new(
        r#"
version: 1
project: { name: demo }
stages:
  build:
    tasks:
      pack: { run: ["p"], inputs: [data/in.csv], outputs: [dist/deep/app.tar] }
"#,
        &[],
    );
    symlink(outside.path(), &ws.root().join("dist"));
    symlink(outside.path(), &ws.root().join("data"));
    std::fs::write(outside.path().join("in.csv"), "").unwrap();
    let diags = ws.expand_err(None);
    assert_eq!(diags.len(), 2, "{diags:#?}");
    assert!(diags.iter().all(|d| d.code == Code::PathEscapes));
    assert!(
        diags
            .iter()
            .any(|d| d.message.contains("dist/deep/app.tar"))
    );
    assert!(diags.iter().any(|d| d.message.contains("data/in.csv")));
}

#[test]
fn expand_stages_selects_stages_and_what_they_need() {
    let ws = Ws::new(PIPELINE, PIPELINE_FILES);
    let g = graph::expand_stages(&ws.load(), &[Phase::Transpile]).unwrap();
    assert_eq!(g.target, "all");
    assert_eq!(stage_names(&g), ["analyze", "transpile"]);
}

const FAN_MANIFEST: &str = r#"
version: 1
project: { name: demo, source: legacy, exclude: ["vendor/**"] }
stages:
  analyze:
    builtin: analyze
    with: { min_grade: B }
  transpile:
    needs: [analyze]
    tasks:
      py: { run: ["cp", "{in}", "{out}"], each: "**/*.py", out: "{path}" }
"#;

#[test]
fn a_fan_out_builtin_becomes_one_action_per_file_and_an_aggregate() {
    let ws = Ws::new(
        FAN_MANIFEST,
        &[
            "legacy/a.py",
            "legacy/pkg/b.c",
            "legacy/vendor/x.py",
            "rust/old.rs",
        ],
    );
    let g = ws.expand_fanned();
    assert_eq!(
        ids(&g),
        [
            "analyze/analyze:a.py",
            "analyze/analyze:pkg/b.c",
            "analyze/analyze",
            "transpile/py:a.py",
        ]
    );
    let one = action(&g, "analyze/analyze:pkg/b.c");
    assert_eq!(one.inputs, ["legacy/pkg/b.c"]);
    assert_eq!(one.outputs, [".batuta/analysis/files/pkg/b.c.json"]);
    assert_eq!(
        one.kind,
        ActionKind::Builtin {
            name: "analyze-file".into(),
            with: None
        }
    );
    let agg = action(&g, "analyze/analyze");
    assert_eq!(
        agg.inputs,
        [
            ".batuta/analysis/files/a.py.json",
            ".batuta/analysis/files/pkg/b.c.json"
        ]
    );
    assert_eq!(
        agg.outputs,
        [
            ".batuta/analysis/analysis.json",
            ".batuta/analysis/report.txt"
        ]
    );
    assert_eq!(
        agg.kind,
        ActionKind::Builtin {
            name: "analyze".into(),
            with: Some(serde_json::json!({ "min_grade": "B" }))
        }
    );
    // The aggregate waits for every per-file action, through their outputs.
    assert_eq!(
        deps(&g, "analyze/analyze"),
        [
            ("analyze/analyze:a.py", ".batuta/analysis/files/a.py.json"),
            (
                "analyze/analyze:pkg/b.c",
                ".batuta/analysis/files/pkg/b.c.json"
            ),
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_fan_out_reports_files_it_cannot_read_to_the_aggregate() {
    let ws = Ws::new(
        "version: 1\nproject: { name: d, source: src }\nstages:\n  analyze: { builtin: analyze }\n",
        &["src/ok.py"],
    );
    let r = ws.root();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("outside.txt"), "").unwrap();
    symlink(Path::new("loop"), &r.join("src/loop"));
    symlink(Path::new("missing.py"), &r.join("src/dangling.py"));
    symlink(
        &elsewhere.path().join("outside.txt"),
        &r.join("src/out.txt"),
    );
    std::fs::create_dir_all(r.join("src/dir")).unwrap();
    symlink(&r.join("src/dir"), &r.join("src/dirlink"));
    {
        use std::os::unix::ffi::OsStrExt;
        let bad = std::ffi::OsStr::from_bytes(b"src/caf\xe9.py");
        std::fs::write(r.join(bad), "").unwrap();
    }
    let g = ws.expand_fanned();
    assert_eq!(ids(&g), ["analyze/analyze:ok.py", "analyze/analyze"]);
    let ActionKind::Builtin {
        with: Some(with), ..
    } = &action(&g, "analyze/analyze").kind
    else {
        panic!("aggregate has no with");
    };
    assert_eq!(
        with["skipped"],
        serde_json::json!([
            { "path": "caf\u{FFFD}.py", "reason": "its name is not valid UTF-8" },
            { "path": "dangling.py", "reason": "symbolic link to nothing (dangling)" },
            { "path": "dirlink", "reason": "symbolic link to a folder" },
            { "path": "loop", "reason": "symbolic link loop" },
            { "path": "out.txt", "reason": "symbolic link that leaves the workspace" },
        ])
    );
}

#[test]
fn a_builtin_the_catalog_does_not_fan_out_stays_one_action() {
    let ws = Ws::new(
        "version: 1\nproject: { name: d }\nstages:\n  optimize: { builtin: optimize }\n",
        &["a.py"],
    );
    assert_eq!(ids(&ws.expand_fanned()), ["optimize/optimize"]);
}

#[test]
fn a_built_in_template_brings_its_tool_and_its_gate_reads_each_output() {
    let ws = Ws::new(
        "version: 1\nproject: { name: t, source: src, output: out }\nstages:\n  transpile:\n    tasks:\n      py: { rule: lint-copy, each: '**/*.py', out: '{dir}/{stem}.txt' }\n",
        &["src/a.py", "src/pkg/b.py"],
    );
    let m = ws.load();
    let tool = m.tool("copier").expect("the template's tool is added");
    assert_eq!(tool.install.as_deref(), Some("apt-get install coreutils"));
    let g = ws.expand(None);
    assert_eq!(
        ids(&g),
        [
            "transpile/py:a.py",
            "transpile/py#gate:a.py",
            "transpile/py:pkg/b.py",
            "transpile/py#gate:pkg/b.py"
        ]
    );
    assert_eq!(
        argv(action(&g, "transpile/py:a.py")),
        ["cp", "src/a.py", "out/a.txt"]
    );
    assert_eq!(
        argv(action(&g, "transpile/py#gate:a.py")),
        ["test", "-s", "out/a.txt"]
    );
    assert_eq!(
        deps(&g, "transpile/py#gate:a.py"),
        [("transpile/py:a.py", "out/a.txt")]
    );
    assert!(action(&g, "transpile/py#gate:a.py").outputs.is_empty());
}

#[test]
fn a_manifest_tool_of_the_same_name_is_used_and_learns_the_install_command() {
    let ws = Ws::new(
        "version: 1\nproject: { name: t, source: src, output: out }\ntools:\n  copier: { command: /opt/bin/cp }\nstages:\n  transpile:\n    tasks:\n      py: { rule: lint-copy, each: '*.py', out: '{stem}.txt' }\n",
        &["src/a.py"],
    );
    let m = ws.load();
    let tool = m.tool("copier").unwrap();
    assert_eq!(tool.command.value, "/opt/bin/cp");
    assert_eq!(tool.install.as_deref(), Some("apt-get install coreutils"));
    let g = ws.expand(None);
    assert_eq!(argv(action(&g, "transpile/py:a.py"))[0], "/opt/bin/cp");
}

#[test]
fn a_manifest_rule_of_the_same_name_wins_over_the_template() {
    let ws = Ws::new(
        "version: 1\nproject: { name: t, source: src, output: out }\nrules:\n  lint-copy: { run: [ln, '{in}', '{out}'] }\nstages:\n  transpile:\n    tasks:\n      py: { rule: lint-copy, each: '*.py', out: '{stem}.txt' }\n",
        &["src/a.py"],
    );
    let g = ws.expand(None);
    assert_eq!(ids(&g), ["transpile/py:a.py"]);
    assert_eq!(argv(action(&g, "transpile/py:a.py"))[0], "ln");
    assert!(ws.load().tool("copier").is_none());
}

#[test]
fn glob_inputs_take_in_what_the_build_writes_and_what_is_on_disk() {
    let ws = Ws::new(
        "version: 1\nproject: { name: t, source: src, output: out }\nstages:\n  transpile:\n    tasks:\n      py: { run: [cp, '{in}', '{out}'], each: '**/*.py', out: 'src/{dir}/{stem}.rs' }\n      crate: { run: [cat], inputs: ['out/src/**/*.rs', 'extra.txt'], outputs: [out/src/lib.rs] }\n",
        &[
            "src/a.py",
            "src/pkg/b.py",
            "out/src/by_hand.rs",
            "out/src/notes.md",
            "extra.txt",
        ],
    );
    let g = ws.expand(None);
    let crate_ = action(&g, "transpile/crate");
    assert_eq!(
        crate_.inputs,
        [
            "extra.txt",
            "out/src/a.rs",
            "out/src/by_hand.rs",
            "out/src/pkg/b.rs"
        ],
        "its own output (lib.rs) is not an input"
    );
    assert_eq!(
        deps(&g, "transpile/crate"),
        [
            ("transpile/py:a.py", "out/src/a.rs"),
            ("transpile/py:pkg/b.py", "out/src/pkg/b.rs")
        ]
    );
}

#[test]
fn a_builtin_without_files_gets_the_catalogs_and_declared_files_win() {
    let manifest = |build: &str| {
        format!(
            "version: 1\nproject: {{ name: demo, source: legacy, output: out/rust }}\nstages:\n  build:\n{build}"
        )
    };
    let ws = Ws::new(
        &manifest("    builtin: cargo-build\n"),
        &["legacy/a.py", "out/rust/Cargo.toml", "out/rust/src/main.rs"],
    );
    let g = ws.expand(None);
    let a = action(&g, "build/build");
    assert_eq!(a.inputs, ["out/rust/Cargo.toml", "out/rust/src/main.rs"]);
    assert_eq!(a.outputs, ["dist/demo", "dist/manifest.json"]);

    let ws = Ws::new(
        &manifest("    builtin: cargo-build\n    outputs: [dist/other]\n"),
        &["legacy/a.py", "out/rust/Cargo.toml"],
    );
    let g = ws.expand(None);
    let a = action(&g, "build/build");
    assert_eq!(a.inputs, ["out/rust/Cargo.toml"]);
    assert_eq!(a.outputs, ["dist/other"]);
}

#[test]
fn a_hand_ported_file_has_no_action_and_its_module_is_read_like_a_hand_written_one() {
    let manifest = |ported: &str| {
        format!(
            "version: 1\nproject: {{ name: demo, source: legacy, output: rust }}\nstages:\n  transpile:\n    tasks:\n      py: {{ run: [cp, \"{{in}}\", \"{{out}}\"], each: \"**/*.py\", out: \"src/{{dir}}/{{stem}}.rs\", hand_ported: [{ported}] }}\n      crate: {{ run: [\"true\"], inputs: [\"rust/src/**/*.rs\"], outputs: [rust/src/lib.rs] }}\n"
        )
    };
    let ws = Ws::new(
        &manifest("stats.py"),
        &["legacy/stats.py", "legacy/util.py", "rust/src/stats.rs"],
    );
    let g = ws.expand(None);
    assert_eq!(ids(&g), ["transpile/py:util.py", "transpile/crate"]);
    assert_eq!(g.hand_ported.len(), 1);
    assert_eq!(g.hand_ported[0].task, "transpile/py");
    assert_eq!(g.hand_ported[0].source, "legacy/stats.py");
    assert_eq!(g.hand_ported[0].module, "rust/src/stats.rs");
    let crate_inputs = &action(&g, "transpile/crate").inputs;
    assert_eq!(crate_inputs, &["rust/src/stats.rs", "rust/src/util.rs"]);

    // A module that is not there, and a name `each` does not match, are errors.
    let ws = Ws::new(
        &manifest("stats.py, utils.py"),
        &["legacy/stats.py", "legacy/util.py"],
    );
    let d = ws.expand_err(None);
    let codes: Vec<Code> = d.iter().map(|d| d.code).collect();
    assert!(codes.contains(&Code::UnknownName), "{d:#?}");
    assert!(codes.contains(&Code::Missing), "{d:#?}");
}

#[test]
fn hand_ported_needs_each_and_out() {
    let ws = Ws::new(
        "version: 1\nproject: { name: demo, source: legacy, output: rust }\nstages:\n  transpile:\n    tasks:\n      py: { run: [\"true\"], hand_ported: [a.py] }\n",
        &["legacy/a.py"],
    );
    let d = load(&ws.root().join("batuta.yaml"), &CATALOG).unwrap_err();
    assert!(
        d.items.iter().any(|d| d.code == Code::Conflict
            && d.message.contains("'hand_ported' needs 'each' and 'out'")),
        "{:#?}",
        d.items
    );
}

#[test]
fn a_builtins_companion_is_added_once_and_read_by_every_task_naming_it() {
    let ws = Ws::new(
        "version: 1\nproject: { name: demo, source: legacy, output: out }\nstages:\n  optimize:\n    tasks:\n      fast: { builtin: optimize, outputs: [out/a.json] }\n      slow: { builtin: optimize, outputs: [out/b.json] }\n",
        &["legacy/a.py"],
    );
    let g = ws.expand_with(&COMPANION_CATALOG);
    let calibrate: Vec<&Action> = g
        .actions
        .iter()
        .filter(|a| matches!(&a.kind, ActionKind::Builtin { name, .. } if name == "calibrate"))
        .collect();
    assert_eq!(calibrate.len(), 1, "{:?}", ids(&g));
    assert_eq!(calibrate[0].id, "optimize/fast#calibrate");
    assert!(calibrate[0].inputs.is_empty());
    assert_eq!(calibrate[0].outputs, [".batuta/calibration.json"]);
    for task in ["optimize/fast", "optimize/slow"] {
        assert_eq!(action(&g, task).inputs, [".batuta/calibration.json"]);
        assert_eq!(
            deps(&g, task),
            [("optimize/fast#calibrate", ".batuta/calibration.json")]
        );
    }
    // A builtin without a companion gets none.
    let ws = Ws::new(
        "version: 1\nproject: { name: demo, source: legacy, output: out }\nstages:\n  build:\n    builtin: cargo-build\n",
        &["legacy/a.py", "out/Cargo.toml"],
    );
    assert_eq!(ids(&ws.expand_with(&COMPANION_CATALOG)), ["build/build"]);
}

/// With the workspace itself as the source, what a task writes there (a release in dist/)
/// is no legacy source: analysing it would make the analysis wait for the build that waits
/// for the analysis.
#[test]
fn what_a_task_writes_inside_the_source_is_not_a_source_file() {
    let ws = Ws::new(
        r#"version: 1
project: { name: t, source: ".", output: rust }
stages:
  analyze: { builtin: analyze }
  build:
    needs: [analyze]
    tasks:
      ship: { run: [cp, main.py, dist/app], inputs: [main.py], outputs: [dist/app, dist/manifest.json] }
"#,
        &[
            "main.py",
            "dist/app",
            "dist/manifest.json",
            "dist/notes.txt",
        ],
    );
    let g = ws.expand_fanned();
    let analysed: Vec<&str> = ids(&g)
        .into_iter()
        .filter_map(|id| id.strip_prefix("analyze/analyze:"))
        .collect();
    assert_eq!(
        analysed,
        ["dist/notes.txt", "main.py"],
        "nor is the manifest"
    );
}
