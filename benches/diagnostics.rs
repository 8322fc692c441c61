//! Reporting many problems at once: a manifest whose N tasks all write one file has N - 1
//! conflicts, each a diagnostic drawn with its snippet (text) and located by line and
//! column (JSON). Both were quadratic (each diagnostic scanned the manifest from its start):
//! 4,000 tasks took 6.5 s in text and 13.6 s in JSON. They should grow linearly with N.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use batuta_engine::{graph, manifest};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use miette::{GraphicalReportHandler, GraphicalTheme};

/// `tasks` tasks of one stage, every one writing `out/x`.
fn one_output_for_all(tasks: usize) -> String {
    let mut m = String::from("version: 1\nproject: { name: t }\nstages:\n  build:\n    tasks:\n");
    for i in 0..tasks {
        m.push_str(&format!(
            "      t{i}: {{ run: [touch, out/x], outputs: [out/x] }}\n"
        ));
    }
    m
}

/// Load and expand; the diagnostics of the conflicts.
fn conflicts(text: &str, path: &Path) -> manifest::Diagnostics {
    let m = manifest::load_str(text, path, &manifest::Catalog::EMPTY).expect("it loads");
    graph::expand(&m, None).expect_err("the outputs conflict")
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("batuta.yaml");
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false);
    let mut group = c.benchmark_group("conflicts");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for tasks in [1_000, 4_000] {
        let text = one_output_for_all(tasks);
        let diags = conflicts(&text, &path);
        assert_eq!(diags.items.len(), tasks - 1);
        group.bench_with_input(BenchmarkId::new("expand", tasks), &text, |b, text| {
            b.iter(|| conflicts(black_box(text), &path))
        });
        group.bench_with_input(BenchmarkId::new("text", tasks), &diags, |b, diags| {
            b.iter(|| {
                let mut out = String::new();
                for report in diags.reports() {
                    handler.render_report(&mut out, &report).expect("renders");
                }
                out
            })
        });
        group.bench_with_input(BenchmarkId::new("json", tasks), &diags, |b, diags| {
            b.iter(|| {
                diags
                    .items
                    .iter()
                    .filter_map(|d| d.span)
                    .map(|s| diags.source.line_col(s.offset))
                    .fold(0, |acc, (l, c)| acc ^ l ^ c)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
