//! Graph expansion of a 10,000-file workspace: `manifest::load` + `graph::expand`
//! together, `graph::expand` alone, and the walk of project.source that `expand` starts with.
//!
//! The workspace is generated once in a temporary folder: 10,000 `.py` files in 100
//! folders (10 packages of 10 subpackages), 100 `.csv` files the glob must skip, and a
//! manifest whose `transpile` task has `each: "**/*.py"` and `out: "src/{dir}/{stem}.rs"`,
//! with a validate stage reading some of those outputs. `benches/graph_10k.sh` builds the
//! same workspace and times the release binary end to end.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use batuta_engine::{graph, manifest};
use criterion::{Criterion, criterion_group, criterion_main};

const PACKAGES: usize = 10;
const SUBPACKAGES: usize = 10;
const FILES_PER_FOLDER: usize = 100;
const FILES: usize = PACKAGES * SUBPACKAGES * FILES_PER_FOLDER;

const MANIFEST: &str = r#"version: 1
project:
  name: bench-10k
  source: legacy
  output: rust
  exclude: ["**/__pycache__/**"]
tools:
  depyler: { command: depyler, version: ["--version"] }
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
  validate:
    needs: [transpile]
    tasks:
      numerics:
        kernel: allclose
        inputs: [golden/expected.f32, rust/src/pkg00/sub00/mod000.rs, rust/src/pkg05/sub05/mod050.rs, rust/src/pkg09/sub09/mod099.rs]
      same-output:
        builtin: compare-outputs
        inputs: [rust/src/pkg00/sub00/mod001.rs, rust/src/pkg01/sub02/mod003.rs]
        with: { original: [python3, legacy/pkg00/sub00/mod001.py], migrated: [rust/target/release/bench-10k] }
  build:
    needs: [validate]
    builtin: cargo-build
"#;

/// Write the workspace under `root` (the same layout as benches/graph_10k.sh).
fn generate(root: &Path) {
    std::fs::write(root.join("batuta.yaml"), MANIFEST).unwrap();
    std::fs::create_dir_all(root.join("golden")).unwrap();
    std::fs::write(root.join("golden/expected.f32"), "").unwrap();
    for p in 0..PACKAGES {
        for s in 0..SUBPACKAGES {
            let dir = root.join(format!("legacy/pkg{p:02}/sub{s:02}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("data.csv"), "").unwrap();
            for f in 0..FILES_PER_FOLDER {
                std::fs::write(dir.join(format!("mod{f:03}.py")), "print(1)\n").unwrap();
            }
        }
    }
}

/// Built-in names, as the CLI uses them.
const CATALOG: manifest::Catalog = batuta_rules::CATALOG;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    generate(dir.path());
    let path = dir.path().join("batuta.yaml");

    // The workload is what it claims to be.
    let m = manifest::load(&path, &CATALOG).expect("manifest loads");
    let g = graph::expand(&m, None).expect("graph expands");
    // One transpile action per .py file, one analyze-file action per file (.csv too), the
    // analyze aggregate, numerics, same-output and cargo-build.
    assert_eq!(g.actions.len(), FILES + (FILES + 100) + 4);
    let numerics = g
        .actions
        .iter()
        .position(|a| a.id == "validate/numerics")
        .unwrap();
    assert_eq!(g.file_deps(numerics).count(), 3);

    let mut group = c.benchmark_group("graph_expand_10k");
    group
        .sample_size(15)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("load_and_expand", |b| {
        b.iter(|| {
            let m = manifest::load(black_box(&path), &CATALOG).unwrap();
            graph::expand(&m, None).unwrap()
        })
    });
    group.bench_function("expand", |b| {
        b.iter(|| graph::expand(black_box(&m), None).unwrap())
    });
    // The share of `expand` spent walking project.source.
    let source = dir.path().join("legacy");
    let exclude = graph::walk::glob_set(["**/__pycache__/**"]).unwrap();
    let skip = [
        dir.path().join("rust"),
        dir.path().join(".batuta"),
        dir.path().join(".git"),
    ];
    assert_eq!(
        graph::walk::walk(&source, &exclude, &skip).len(),
        FILES + 100
    );
    group.bench_function("walk", |b| {
        b.iter(|| graph::walk::walk(black_box(&source), &exclude, &skip))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
