//! The fuzzer: random and mutated manifests never make the loader, the graph expansion of
//! what loads, or the drawing of their diagnostics (text as `check` shows them, line and
//! column as JSON gives them) panic or hang; nor do random `with:` options make a rule's
//! check of them panic. Seeded with the examples and every manifest of tests/manifests,
//! good and bad, plus the bad ones check_bad.rs builds at test time (too long a line, too
//! deep, an alias bomb, UTF-16).
//!
//! 3,000 cases per property, which CI runs in well under a minute in a debug build;
//! `PROPTEST_CASES=100000 cargo test --release --test fuzz_manifest -- --nocapture` hunts
//! longer. Each property prints its figures: cases run, the slowest case and what it was
//! (`FUZZ_SLOWEST=DIR` keeps that input in DIR).
//! A case that runs over [`HANG`] is a hang: the watchdog names it and fails the run.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use batuta_engine::graph;
use batuta_engine::manifest::{self, Diagnostics, Manifest};
use miette::{GraphicalReportHandler, GraphicalTheme};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{FileFailurePersistence, TestRunner};
use serde_json::Value;
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
    seeds.extend(generated_seeds());
    seeds
}

/// The bad manifests check_bad.rs builds at test time, the UTF-8 ones (the others reach
/// the loader through byte mutations of these).
fn generated_seeds() -> Vec<String> {
    let head = "version: 1\nproject:\n  name: demo\n  source: legacy\n";
    let mut bomb = format!(
        "{head}  exclude: &a [\"lol\",\"lol\",\"lol\",\"lol\"]\nstages:\n  analyze:\n    builtin: analyze\n    with:\n"
    );
    let mut previous = 'a';
    for anchor in 'b'..='i' {
        let aliases = vec![format!("*{previous}"); 4].join(", ");
        bomb.push_str(&format!("      {anchor}: &{anchor} [{aliases}]\n"));
        previous = anchor;
    }
    let mut deep_block = String::from("version: 1\nproject:\n");
    for level in 1..=200 {
        deep_block.push_str(&"  ".repeat(level));
        deep_block.push_str("name:\n");
    }
    vec![
        format!(
            "version: 1\nproject: {{ name: \"{}\", nope: 1 }}\nstages:\n  analyze:\n    builtin: analyze\n",
            "a".repeat(65_600)
        ),
        format!("version: 1\nproject: {}\n", "[".repeat(10_000)),
        deep_block,
        bomb,
        format!(
            "{head}stages:\n  build:\n    run: [\"\", \"a\\0b\"]\n    outputs: [.batuta/lock, batuta.yaml]\n"
        ),
        format!(
            "{head}stages:\n  transpile:\n    run: [cp, \"{{in}}\", \"{{out}}\"]\n    each: \"../../x/*.py\"\n    out: \"{{stem}}.rs\"\n"
        ),
    ]
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

/// Draw every diagnostic as `check` does in text mode (miette, the CLI's theme and width),
/// and locate each as JSON does: the drawing must not panic (it did past column 65,535).
fn show(diags: &Diagnostics) {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false);
    let mut text = String::new();
    for report in diags.reports() {
        // A snippet miette cannot draw is an error in the text, as in the CLI, not a panic.
        let _ = handler.render_report(&mut text, &report);
    }
    for d in &diags.items {
        if let Some(span) = d.span {
            let (line, column) = diags.source.line_col(span.offset);
            assert!(line >= 1 && column >= 1);
        }
    }
}

/// Expand everything a loaded manifest can be asked for; errors are fine (and are drawn),
/// panics are not.
fn expand_all(m: &Manifest) {
    let shown = |r: Result<graph::ActionGraph, Diagnostics>| {
        if let Err(d) = r {
            show(&d);
        }
    };
    shown(graph::expand(m, None));
    shown(graph::expand_all(m));
    for t in &m.targets {
        shown(graph::expand(m, Some(&t.name.value)));
    }
    shown(graph::expand(m, Some("no-such-target")));
}

/// Load text as `batuta.yaml` in `ws`, and expand it when it loads.
fn load_and_expand(ws: &Path, text: &str) {
    let path = ws.join("batuta.yaml");
    match manifest::load_str(text, &path, &batuta_rules::CATALOG) {
        Ok(m) => expand_all(&m),
        Err(d) => show(&d),
    }
}

/// Write bytes to a file and load it from disk (the only way to feed non-UTF-8).
fn load_bytes(ws: &Path, bytes: &[u8]) {
    let path = ws.join("batuta.yaml");
    fs::write(&path, bytes).expect("write manifest");
    match manifest::load(&path, &batuta_rules::CATALOG) {
        Ok(m) => expand_all(&m),
        Err(d) => show(&d),
    }
}

/// UTF-8 text through `load_str`, anything else from disk.
fn load_any(ws: &Path, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => load_and_expand(ws, text),
        Err(_) => load_bytes(ws, bytes),
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
    /// A run of one character long enough to pass miette's column limit (65,535).
    InsertRun(Index, char, usize),
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
        (
            any::<Index>(),
            select(&['a', 'é', '[', ' ', '{', '"', '漢'][..]),
            60_000..70_000usize
        )
            .prop_map(|(i, c, n)| Mutation::InsertRun(i, c, n)),
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
            Mutation::InsertRun(i, c, n) => {
                let at = i.index(bytes.len() + 1);
                let run = c.to_string().repeat(*n);
                bytes.splice(at..at, run.bytes());
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

/// 3,000 cases per property by default; `PROPTEST_CASES=100000` for a long hunt.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    ProptestConfig {
        cases,
        // Beside this file: tests/fuzz_manifest.proptest-regressions.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        source_file: Some(file!()),
        ..ProptestConfig::default()
    }
}

/// A case running longer than this is a hang. The slowest real case takes well under a
/// second in a debug build (a 70,000-character line, drawn).
const HANG: Duration = Duration::from_secs(30);

/// The case each fuzzing thread is running, and since when, for the watchdog.
fn running() -> &'static Mutex<HashMap<std::thread::ThreadId, (Instant, String)>> {
    static RUNNING: OnceLock<Mutex<HashMap<std::thread::ThreadId, (Instant, String)>>> =
        OnceLock::new();
    RUNNING.get_or_init(|| {
        std::thread::spawn(|| {
            loop {
                std::thread::sleep(Duration::from_millis(200));
                let hung = running()
                    .lock()
                    .unwrap()
                    .values()
                    .find(|(since, _)| since.elapsed() > HANG)
                    .map(|(_, case)| case.clone());
                if let Some(case) = hung {
                    eprintln!("fuzz: a case has run for over {HANG:?}, a hang: {case}");
                    std::process::exit(1);
                }
            }
        });
        Mutex::new(HashMap::new())
    })
}

/// Shown in figures and hang reports: the input's size and its first characters.
fn describe(input: &[u8]) -> String {
    let head: String = String::from_utf8_lossy(&input[..input.len().min(60)])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("{} bytes: {head:?}", input.len())
}

/// The stack of the thread that runs the cases: batuta loads a manifest on its main
/// thread, which has 8 MiB. (The test harness's threads have 2 MiB, which the parser's
/// recursion to the 64 levels of nesting batuta allows outgrows in a debug build.)
const STACK: usize = 8 << 20;

/// Run `f` on a thread with the CLI's stack, and return what it returns (or its panic).
fn on_cli_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(STACK)
            .spawn_scoped(scope, f)
            .expect("a thread for the cases")
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// Run `case` on values of the strategy `make` makes, as proptest does (a panic fails the
/// property and is shrunk to a smallest input), timing each case, on a thread with the
/// CLI's stack; then print the figures.
fn fuzz<S: Strategy>(
    name: &str,
    make: impl FnOnce() -> S + Send,
    input: impl Fn(&S::Value) -> Vec<u8> + Send,
    case: impl Fn(&[u8]) + Send,
) where
    S::Value: std::fmt::Debug,
{
    on_cli_stack(|| fuzz_here(name, make(), input, case));
}

fn fuzz_here<S: Strategy>(
    name: &str,
    strategy: S,
    input: impl Fn(&S::Value) -> Vec<u8>,
    case: impl Fn(&[u8]),
) where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(config());
    let slowest = Mutex::new((Duration::ZERO, String::new(), Vec::new()));
    let cases = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&strategy, |value| {
        let bytes = input(&value);
        let me = std::thread::current().id();
        running()
            .lock()
            .unwrap()
            .insert(me, (Instant::now(), describe(&bytes)));
        let started = Instant::now();
        case(&bytes);
        let took = started.elapsed();
        running().lock().unwrap().remove(&me);
        cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut s = slowest.lock().unwrap();
        if took > s.0 {
            *s = (took, describe(&bytes), bytes);
        }
        Ok(())
    });
    let (took, what, bytes) = slowest.into_inner().unwrap();
    eprintln!(
        "fuzz {name}: {} cases, slowest {took:.1?} ({what})",
        cases.into_inner()
    );
    // FUZZ_SLOWEST=DIR keeps each property's slowest input there, to look into.
    if let Some(dir) = std::env::var_os("FUZZ_SLOWEST") {
        let _ = fs::write(Path::new(&dir).join(name.replace(' ', "-")), bytes);
    }
    if let Err(e) = result {
        panic!("fuzz {name}: {e}");
    }
}

#[test]
fn arbitrary_strings_never_panic() {
    let ws = workspace();
    fuzz(
        "arbitrary strings",
        any::<String>,
        |t| t.clone().into_bytes(),
        |b| load_any(ws.path(), b),
    );
}

#[test]
fn yaml_shaped_noise_never_panics() {
    let ws = workspace();
    fuzz(
        "YAML-shaped noise",
        yamlish,
        |t| t.clone().into_bytes(),
        |b| load_any(ws.path(), b),
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let ws = workspace();
    fuzz(
        "arbitrary bytes",
        || prop::collection::vec(any::<u8>(), 0..512),
        Clone::clone,
        |b| load_bytes(ws.path(), b),
    );
}

#[test]
fn mutated_manifests_never_panic() {
    let ws = workspace();
    fuzz(
        "mutated manifests",
        || {
            (
                any::<bool>(),
                any::<Index>(),
                prop::collection::vec(mutation(), 1..6),
            )
        },
        |(good, seed, mutations)| {
            let seeds = if *good { good_seeds() } else { seeds() };
            mutate(&seeds[seed.index(seeds.len())], mutations)
        },
        |b| load_any(ws.path(), b),
    );
}

/// The option names a builtin's or kernel's check of `with:` knows, as it says when given
/// one it does not.
fn known_options(kind: &str, name: &str) -> Vec<String> {
    let check = batuta_rules::CATALOG
        .check_with
        .expect("the rules check `with`");
    let probe = serde_json::json!({ "fuzz-probe-not-an-option": 1 });
    check(kind, name, &probe).map_or_else(|p| p.known, |()| Vec::new())
}

/// Every builtin and kernel, with the options it knows.
fn rules_and_options() -> &'static [(&'static str, &'static str, Vec<String>)] {
    static RULES: OnceLock<Vec<(&str, &str, Vec<String>)>> = OnceLock::new();
    RULES.get_or_init(|| {
        let catalog = &batuta_rules::CATALOG;
        let builtins = catalog.builtins.iter().map(|n| ("builtin", *n));
        let kernels = catalog.kernels.iter().map(|n| ("kernel", *n));
        builtins
            .chain(kernels)
            .map(|(kind, name)| (kind, name, known_options(kind, name)))
            .collect()
    })
}

/// JSON as a YAML `with:` becomes: scalars of every kind, lists and mappings of them.
fn json_value(keys: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        select(SCALARS).prop_map(Value::from),
        select(
            &[
                "auto", "f32", "f64", "npy", "csv", "raw", "A", "F", "simd", "gpu", "", "-1",
                "1e400"
            ][..]
        )
        .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        let key = prop_oneof![select(keys.clone()), any::<String>()];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A rule's check of its `with:` options (the rules' parsers: serde into their option
/// types, then their own checks) never panics, whatever the options.
#[test]
fn with_options_never_panic() {
    let check = batuta_rules::CATALOG
        .check_with
        .expect("the rules check `with`");
    let rules = rules_and_options();
    // A rule, and a `with:` for it: mostly a mapping of its own option names, as a `with:`
    // is; at times any JSON at all.
    let strategy = || {
        (0..rules.len()).prop_flat_map(|i| {
            let mut keys = rules[i].2.clone();
            keys.push("unknown".to_owned());
            let with = prop_oneof![
                1 => json_value(keys.clone()),
                4 => prop::collection::vec((select(keys), json_value(vec!["x".into()])), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ];
            (Just(i), with)
        })
    };
    fuzz(
        "with options",
        strategy,
        |(i, with)| {
            let (kind, name, _) = &rules[*i];
            format!("{kind} {name} {with}").into_bytes()
        },
        |b| {
            let text = String::from_utf8_lossy(b);
            let mut parts = text.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap(), parts.next().unwrap());
            let with: Value = serde_json::from_str(parts.next().unwrap()).unwrap();
            let _ = check(kind, name, &with);
        },
    );
}

/// The unmutated seeds load or fail without panicking too, and the good ones expand.
#[test]
fn seeds_never_panic() {
    let ws = workspace();
    on_cli_stack(|| {
        for seed in seeds() {
            load_and_expand(ws.path(), seed);
        }
    });
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
