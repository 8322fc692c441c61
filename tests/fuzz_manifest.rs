//! Random and mutated manifests never make the loader, or graph expansion of what loads,
//! panic. A few hundred cases per property, so this runs in seconds in a debug build.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use batuta_engine::graph;
use batuta_engine::manifest::{self, Manifest};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::FileFailurePersistence;
use tempfile::TempDir;

/// Used when there is no manifest on disk to start from.
const EMBEDDED: &str = r#"version: 1
project:
  name: sensor-pipeline
  source: legacy
  output: rust
  exclude: ["**/__pycache__/**"]
tools:
  depyler: { command: depyler, version: ["--version"], install: "cargo install depyler" }
rules:
  py-to-rust:
    tool: depyler
    run: ["{tool}", "transpile", "{in}", "-o", "{out}"]
stages:
  analyze:
    builtin: analyze
  transpile:
    needs: [analyze]
    tasks:
      python: { rule: py-to-rust, each: "**/*.py", out: "src/{dir}/{stem}.rs" }
      shell: { run: ["bashrs", "purify", "{in}", "-o", "{out}"], each: "**/*.sh", out: "scripts/{path}" }
  validate:
    needs: [transpile]
    tasks:
      numerics: { kernel: allclose, inputs: [golden/expected.f32], with: { rtol: 1.0e-5 } }
      smoke: { run: [sh, -c, "echo ok"], outputs: [out/smoke.txt], env: [RUST_LOG], cache: false, resources: { gpu: 1 } }
  build:
    needs: [validate]
    builtin: cargo-build
targets:
  default: [build]
  ci: { stages: [analyze, transpile], keep_going: true }
"#;

/// Fragments that YAML and the manifest format both care about.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    ": ",
    "- ",
    "\t",
    "{in}",
    "{out}",
    "{tool}",
    "{stem}",
    "{nope}",
    "{",
    "..",
    "../",
    "/",
    "\"",
    "'",
    "#",
    "---\n",
    "...\n",
    "<<: *a\n",
    "? ",
    "|\n",
    ">-\n",
    "!!binary ",
    "!!str ",
    "!custom ",
    "~",
    "\u{feff}",
    "\0",
    "\r\n",
    "\u{85}",
    "é",
    "  ",
    "\n",
    "- - - ",
    "{a: [b, {c: d}]}",
    "*.py",
    "**/",
    "needs: [",
    "each: ",
    "out: ",
];

/// Values to put where a scalar was.
const SCALARS: &[&str] = &[
    "",
    "~",
    "null",
    "[]",
    "{}",
    "\"\"",
    "yes",
    "true",
    "-1",
    "0",
    "4294967296",
    "1.5",
    "1e400",
    ".nan",
    "0x1F",
    "[a, b]",
    "{ x: 1 }",
    "\"../../etc\"",
    "/abs/path",
    "\"{in}\"",
    "\"{out}\"",
    "analyze",
    "transpile",
    "optimize",
    "validate",
    "build",
    "&x 1",
    "*x",
    "*undefined",
    "[build]",
    "[analyze, build]",
    "\"**/*\"",
    "\"[\"",
    "py-to-rust",
    "depyler",
    "allclose",
    "cargo-build",
];

/// The manifests mutations start from: the examples, the good corpus, the bad corpus.
fn seeds() -> &'static [String] {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(read_seeds)
}

/// The seeds that load: mutations of these often still load, and so reach expansion.
fn good_seeds() -> &'static [String] {
    static GOOD: OnceLock<Vec<String>> = OnceLock::new();
    GOOD.get_or_init(|| {
        let ws = workspace();
        let path = ws.path().join("batuta.yaml");
        seeds()
            .iter()
            .filter(|s| manifest::load_str(s, &path, &batuta_rules::CATALOG).is_ok())
            .cloned()
            .collect()
    })
}

fn read_seeds() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = Vec::new();
    if let Ok(examples) = fs::read_dir(root.join("examples")) {
        files.extend(examples.flatten().map(|e| e.path().join("batuta.yaml")));
    }
    for dir in ["tests/manifests/good", "tests/manifests/bad"] {
        if let Ok(entries) = fs::read_dir(root.join(dir)) {
            files.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "yaml")),
            );
        }
    }
    files.sort();
    let mut seeds: Vec<String> = files
        .iter()
        .filter_map(|f| fs::read_to_string(f).ok())
        .collect();
    seeds.push(EMBEDDED.to_owned());
    seeds
}

/// A workspace with a few source files, so `each` globs match and expansion has work to do.
fn workspace() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("batuta-fuzz-")
        .tempdir()
        .expect("temp dir");
    for (path, text) in [
        ("legacy/main.py", "import stats\n"),
        (
            "legacy/stats.py",
            "def mean(xs): return sum(xs) / len(xs)\n",
        ),
        ("legacy/scripts/fetch.sh", "#!/bin/sh\necho fetch\n"),
        ("legacy/sub/main.py", "print('again')\n"),
        ("data/in.csv", "t,v\n0,1\n"),
        ("golden/expected.f32", "\0\0\0\0"),
    ] {
        let p = dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    dir
}

/// Expand everything a loaded manifest can be asked for; errors are fine, panics are not.
fn expand_all(m: &Manifest) {
    let _ = graph::expand(m, None);
    let _ = graph::expand_all(m);
    for t in &m.targets {
        let _ = graph::expand(m, Some(&t.name.value));
    }
    let _ = graph::expand(m, Some("no-such-target"));
}

/// Load text as `batuta.yaml` in `ws`, and expand it when it loads.
fn load_and_expand(ws: &Path, text: &str) {
    let path = ws.join("batuta.yaml");
    if let Ok(m) = manifest::load_str(text, &path, &batuta_rules::CATALOG) {
        expand_all(&m);
    }
}

/// Write bytes to a file and load it from disk (the only way to feed non-UTF-8).
fn load_bytes(ws: &Path, bytes: &[u8]) {
    let path = ws.join("batuta.yaml");
    fs::write(&path, bytes).expect("write manifest");
    if let Ok(m) = manifest::load(&path, &batuta_rules::CATALOG) {
        expand_all(&m);
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    FlipByte(Index, u8),
    Insert(Index, &'static str),
    ReplaceScalar(Index, &'static str),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::DeleteLine),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipByte(i, b)),
        (any::<Index>(), select(FRAGMENTS)).prop_map(|(i, f)| Mutation::Insert(i, f)),
        (any::<Index>(), select(SCALARS)).prop_map(|(i, s)| Mutation::ReplaceScalar(i, s)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

/// Apply mutations to the bytes of a manifest. Lines are split on `\n` and kept as bytes,
/// since a byte flip may leave the text invalid UTF-8.
fn mutate(seed: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for m in mutations {
        let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        match m {
            Mutation::DeleteLine(i) => {
                lines.remove(i.index(lines.len()));
            }
            Mutation::DuplicateLine(i) => {
                let at = i.index(lines.len());
                lines.insert(at, lines[at].clone());
            }
            Mutation::SwapLines(a, b) => {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
            }
            Mutation::FlipByte(i, x) => {
                if !bytes.is_empty() {
                    let at = i.index(bytes.len());
                    bytes[at] ^= x | 1;
                }
                continue;
            }
            Mutation::Insert(i, fragment) => {
                let at = i.index(bytes.len() + 1);
                bytes.splice(at..at, fragment.bytes());
                continue;
            }
            Mutation::ReplaceScalar(i, value) => {
                // The value after the first `: ` of a line (or the item after `- `).
                let at = i.index(lines.len());
                let line = &mut lines[at];
                let start = find(line, b": ")
                    .map(|p| p + 2)
                    .or_else(|| find(line, b"- ").map(|p| p + 2));
                if let Some(start) = start {
                    line.truncate(start);
                    line.extend_from_slice(value.as_bytes());
                }
            }
            Mutation::Truncate(i) => {
                bytes.truncate(i.index(bytes.len() + 1));
                continue;
            }
        }
        bytes = lines.join(&b'\n');
    }
    bytes
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// YAML-shaped noise: tokens of YAML and of the manifest format, in random order.
fn yamlish() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "version",
        "project",
        "name",
        "source",
        "output",
        "exclude",
        "tools",
        "command",
        "rules",
        "tool",
        "run",
        "stages",
        "analyze",
        "transpile",
        "optimize",
        "validate",
        "build",
        "needs",
        "tasks",
        "builtin",
        "kernel",
        "each",
        "out",
        "inputs",
        "outputs",
        "env",
        "cache",
        "resources",
        "gpu",
        "with",
        "targets",
        "default",
        "keep_going",
        ": ",
        "\n",
        "\n  ",
        "\n    ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ", ",
        "1",
        "-1",
        "true",
        "\"{in}\"",
        "\"{out}\"",
        "\"{tool}\"",
        "\"**/*.py\"",
        "../",
        "&a ",
        "*a",
        "#",
        "'",
        "\"",
        "\t",
    ];
    prop::collection::vec(select(TOKENS), 0..80).prop_map(|t| t.concat())
}

/// 200 cases per property by default; `PROPTEST_CASES=100000` for a long hunt.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    ProptestConfig {
        cases,
        // Beside this file: tests/fuzz_manifest.proptest-regressions.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        let ws = workspace();
        load_and_expand(ws.path(), &text);
    }

    #[test]
    fn yaml_shaped_noise_never_panics(text in yamlish()) {
        let ws = workspace();
        load_and_expand(ws.path(), &text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let ws = workspace();
        load_bytes(ws.path(), &bytes);
    }

    #[test]
    fn mutated_manifests_never_panic(
        good in any::<bool>(),
        seed in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let seeds = if good { good_seeds() } else { seeds() };
        let seed = &seeds[seed.index(seeds.len())];
        let bytes = mutate(seed, &mutations);
        let ws = workspace();
        match std::str::from_utf8(&bytes) {
            Ok(text) => load_and_expand(ws.path(), text),
            Err(_) => load_bytes(ws.path(), &bytes),
        }
    }
}

/// The unmutated seeds load or fail without panicking too, and the good ones expand.
#[test]
fn seeds_never_panic() {
    let ws = workspace();
    for seed in seeds() {
        load_and_expand(ws.path(), seed);
    }
    assert!(good_seeds().contains(&EMBEDDED.to_owned()));
    let loaded = manifest::load_str(
        EMBEDDED,
        &ws.path().join("batuta.yaml"),
        &batuta_rules::CATALOG,
    );
    let m = loaded.unwrap_or_else(|d| panic!("the embedded seed is valid: {:?}", d.items));
    let g = graph::expand(&m, None).unwrap_or_else(|d| panic!("it expands: {:?}", d.items));
    assert!(
        g.actions.len() > 3,
        "each tasks match the workspace's files"
    );
}

/// The mutation property is not vacuous: single mutations of the seeds often still load,
/// so graph expansion gets fuzzed too.
#[test]
fn some_mutated_manifests_still_load_and_expand() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let ws = workspace();
    let path = ws.path().join("batuta.yaml");
    let mut runner = TestRunner::deterministic();
    let strategy = (any::<Index>(), mutation());
    let (mut loaded, mut expanded) = (0, 0);
    for _ in 0..200 {
        let (seed, m) = strategy.new_tree(&mut runner).expect("a case").current();
        let seeds = good_seeds();
        let bytes = mutate(&seeds[seed.index(seeds.len())], &[m]);
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if let Ok(m) = manifest::load_str(&text, &path, &batuta_rules::CATALOG) {
            loaded += 1;
            if graph::expand(&m, None).is_ok() {
                expanded += 1;
            }
        }
    }
    eprintln!("{loaded} of 200 single mutations loaded, {expanded} expanded");
    assert!(
        loaded >= 10 && expanded >= 5,
        "{loaded} loaded, {expanded} expanded"
    );
}
