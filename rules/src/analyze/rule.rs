//! The analyze phase's built-in rules, run in-process: `analyze-file` (one source file → its
//! JSON report) and `analyze` (every report → `analysis.json`, the text report, and the
//! quality gate).

use batuta_engine::codes;
use batuta_engine::codes::phase_code;
use batuta_engine::manifest::WithProblem;
use batuta_engine::rule::Failure;
use batuta_engine::rule::{Call, Note, Rule};

use crate::analyze::report::{Sections, aggregate, render_text};
use crate::analyze::tdg::grade_rank;
use crate::analyze::{FileReport, analyze_path, recommend};

/// Folded into every cache key: a new batuta re-analyses.
const VERSION: &str = concat!("analyze-", env!("CARGO_PKG_VERSION"), "-2");

fn fail(call: &Call<'_>, message: String) -> Failure {
    Failure::new(phase_code(call.phase), message)
}

fn write(call: &Call<'_>, rel: &str, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(call.path(rel), bytes)
        .map_err(|e| fail(call, format!("cannot write '{rel}': {e}")))
}

/// `input` relative to `project.source`, as reports name files.
fn source_rel<'a>(call: &Call<'_>, input: &'a str) -> &'a str {
    if call.source.is_empty() {
        input
    } else {
        input
            .strip_prefix(call.source)
            .and_then(|r| r.strip_prefix('/'))
            .unwrap_or(input)
    }
}

fn problem(key: Option<&str>, unknown: bool, message: String) -> WithProblem {
    WithProblem {
        key: key.map(str::to_owned),
        unknown,
        message,
        known: vec!["min_grade".to_owned()],
    }
}

pub struct AnalyzeFile;

impl Rule for AnalyzeFile {
    fn version(&self) -> &str {
        VERSION
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let (Some(input), Some(output)) = (call.inputs.first(), call.outputs.first()) else {
            return Err(fail(
                call,
                "analyze-file needs one input and one output".to_owned(),
            ));
        };
        let report = analyze_path(&call.path(input), source_rel(call, input));
        let json = serde_json::to_vec(&report)
            .map_err(|e| fail(call, format!("cannot encode the report: {e}")))?;
        write(call, output, &json)?;
        Ok(Note::default())
    }
}

pub struct Analyze;

impl Rule for Analyze {
    fn version(&self) -> &str {
        VERSION
    }

    /// `min_grade` is its only option (`skipped` is the engine's, added after loading).
    fn check(&self, with: &serde_json::Value) -> Result<(), WithProblem> {
        let Some(map) = with.as_object() else {
            return match with {
                serde_json::Value::Null => Ok(()),
                _ => Err(problem(None, false, "'with' must be a mapping".to_owned())),
            };
        };
        if let Some(key) = map.keys().find(|k| *k != "min_grade") {
            return Err(problem(Some(key), true, format!("unknown option '{key}'")));
        }
        match map.get("min_grade") {
            Some(g) if g.as_str().and_then(grade_rank).is_none() => Err(problem(
                Some("min_grade"),
                false,
                format!("min_grade {g} is not a grade: write one of A, B, C, D, F"),
            )),
            _ => Ok(()),
        }
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let [json_out, text_out, ..] = call.outputs else {
            return Err(fail(
                call,
                "analyze writes analysis.json and report.txt".to_owned(),
            ));
        };
        let inputs: Vec<&String> = call
            .inputs
            .iter()
            .filter(|i| crate::is_file_report(i))
            .collect();
        let read = |i: &String| -> Result<FileReport, Failure> {
            let bytes = std::fs::read(call.path(i))
                .map_err(|e| fail(call, format!("cannot read '{i}': {e}")))?;
            serde_json::from_slice(&bytes).map_err(|e| {
                fail(call, format!("'{i}' is not a file report: {e}"))
                    .hint("run `batuta clean` and build again")
            })
        };
        // Plain threads, not rayon: an engine worker that ran `analyze-file` is a one-thread
        // rayon pool of its own (see `analyze::count`), where a parallel iterator is serial.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = inputs.len().div_ceil(threads).max(1);
        let reports: Vec<Result<FileReport, Failure>> = std::thread::scope(|s| {
            let handles: Vec<_> = inputs
                .chunks(chunk)
                .map(|part| s.spawn(move || part.iter().map(|i| read(i)).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join().unwrap_or_else(|_| {
                        vec![Err(fail(
                            call,
                            "reading the file reports panicked".to_owned(),
                        ))]
                    })
                })
                .collect()
        });
        let reports = reports.into_iter().collect::<Result<Vec<_>, _>>()?;
        if call.cancelled() {
            return Err(fail(call, "cancelled".to_owned()));
        }
        let never_read: Vec<(String, String)> = call
            .with
            .get("skipped")
            .and_then(|s| s.as_array())
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some((
                    s.get("path")?.as_str()?.to_owned(),
                    s.get("reason")?.as_str()?.to_owned(),
                ))
            })
            .collect();
        let mut analysis = aggregate(reports, &never_read);
        let path = call
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_os_str());
        analysis.recommendations = recommend::recommend(&analysis.language_files(), path, &[]);
        let json = serde_json::to_vec_pretty(&analysis)
            .map_err(|e| fail(call, format!("cannot encode the analysis: {e}")))?;
        write(call, json_out, &json)?;
        let text = render_text(&analysis, Sections::default());
        write(call, text_out, text.as_bytes())?;
        gate(call, &analysis)?;
        let t = &analysis.tdg;
        Ok(Note::new(format!(
            "{} files, {} code lines, TDG {:.1} ({})",
            analysis.files, analysis.code, t.score, t.grade
        )))
    }
}

/// `with: { min_grade: B }`: fail with BATUTA-Q-001 below it, naming the weakest sub-score.
fn gate(call: &Call<'_>, a: &crate::analyze::Analysis) -> Result<(), Failure> {
    let Some(min) = call.with.get("min_grade") else {
        return Ok(());
    };
    let Some(min_rank) = min.as_str().and_then(grade_rank) else {
        return Err(
            Failure::new(codes::Q001, format!("min_grade {min} is not a grade"))
                .hint("write one of A, B, C, D, F in `with: { min_grade: … }`"),
        );
    };
    let t = &a.tdg;
    if grade_rank(&t.grade).is_some_and(|r| r >= min_rank) {
        return Ok(());
    }
    let min = min.as_str().unwrap_or_default().to_ascii_uppercase();
    let mut f = Failure::new(
        codes::Q001,
        format!(
            "TDG {:.1}/100 is grade {}, below the minimum grade {min}",
            t.score, t.grade
        ),
    );
    let mut detail = String::new();
    for s in &t.subscores {
        detail.push_str(&format!(
            "{:<16} {:>5.1} × {:>2.0}%  {}\n",
            s.name,
            s.score,
            s.weight * 100.0,
            s.detail
        ));
    }
    f = f.detail(detail);
    if let Some(w) = t.weakest() {
        f = f.hint(format!(
            "{} pulled it down most ({:.1}/100, {:.0}% of the grade): {}",
            w.name,
            w.score,
            w.weight * 100.0,
            w.definition
        ));
    }
    Err(f)
}
