//! `bench`: times the original and the migrated program (warm-up, then interleaved runs),
//! reports median and spread and the speedup; `min_speedup` makes it a gate
//! (BATUTA-Q-001, the book's "quality score below threshold").

use std::path::PathBuf;
use std::time::Duration;

use batuta_engine::codes;
use batuta_engine::rule::Failure;
use batuta_engine::rule::{Call, Note, Rule};
use serde::Deserialize;
use serde_json::json;

use super::error::WithError;
use super::run::{Output, exit_text};
use super::side::{self, Side};
use super::{report, with};

pub const NAME: &str = "bench";
const KEYS: &str = "original, migrated (argument lists), runs (default 5), warmup (default 1), min_speedup, stdin, timeout (seconds per run)";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_RUNS: u32 = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct With {
    original: Vec<String>,
    migrated: Vec<String>,
    runs: Option<u32>,
    warmup: Option<u32>,
    min_speedup: Option<f64>,
    stdin: Option<String>,
    timeout: Option<f64>,
}

struct Plan {
    with: With,
    runs: u32,
    warmup: u32,
    timeout: Duration,
    report: Option<PathBuf>,
}

fn plan(call: &Call<'_>) -> Result<Plan, WithError> {
    let w: With = with::parse(NAME, call.with)?;
    with::argv(NAME, "original", &w.original)?;
    with::argv(NAME, "migrated", &w.migrated)?;
    if let Some(s) = &w.stdin {
        with::inside(NAME, "stdin", s)?;
    }
    let runs = w.runs.unwrap_or(5);
    if !(1..=MAX_RUNS).contains(&runs) {
        return Err(WithError::new(
            NAME,
            format!("`runs: {runs}` must be between 1 and {MAX_RUNS}"),
        ));
    }
    let warmup = w.warmup.unwrap_or(1);
    if warmup > MAX_RUNS {
        return Err(WithError::new(
            NAME,
            format!("`warmup: {warmup}` must be at most {MAX_RUNS}"),
        ));
    }
    if let Some(s) = w.min_speedup
        && !(s.is_finite() && s > 0.0)
    {
        return Err(WithError::new(
            NAME,
            format!("`min_speedup: {s}` must be a positive number"),
        ));
    }
    Ok(Plan {
        runs,
        warmup,
        timeout: with::timeout(NAME, w.timeout, DEFAULT_TIMEOUT)?,
        report: report::output(NAME, call)?,
        with: w,
    })
}

/// Run times of one program, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Median absolute deviation: a spread one slow outlier does not inflate.
    pub mad: f64,
}

pub fn stats(samples: &[f64]) -> Option<Stats> {
    let median = median_of(samples.to_vec())?;
    let deviations: Vec<f64> = samples.iter().map(|s| (s - median).abs()).collect();
    Some(Stats {
        median,
        min: samples.iter().copied().fold(f64::INFINITY, f64::min),
        max: samples.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        mad: median_of(deviations)?,
    })
}

fn median_of(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

pub struct Bench;

impl Rule for Bench {
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn check(&self, w: &serde_json::Value) -> Result<(), batuta_engine::manifest::WithProblem> {
        with::check::<With>(NAME, w)
    }

    fn run(&self, call: &Call<'_>) -> Result<Note, Failure> {
        let p = plan(call).map_err(|e| e.failure(codes::Q001, KEYS))?;
        let fail = |e: super::error::RunError| e.failure(codes::Q001);
        let copies = [
            side::copy(call, Side::Original).map_err(fail)?,
            side::copy(call, Side::Migrated).map_err(fail)?,
        ];
        let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        // Interleaved, so a change in the machine's load (2 shared cores) hits both alike.
        for round in 0..p.warmup + p.runs {
            for (i, s) in Side::BOTH.into_iter().enumerate() {
                let argv = s.pick(&p.with.original, &p.with.migrated);
                let done = side::run(
                    call,
                    s,
                    &copies[i],
                    argv,
                    p.with.stdin.as_deref(),
                    Output::Discard,
                    p.timeout,
                )
                .map_err(fail)?;
                if !done.status.success() {
                    return Err(Failure::new(codes::V001, format!("the {} program ended with {} during the benchmark", s.name(), exit_text(&done.status)))
                        .hint("a benchmark needs both programs to succeed; compare-outputs shows how they differ"));
                }
                if round >= p.warmup {
                    times[i].push(done.elapsed.as_secs_f64());
                }
            }
        }
        for c in copies {
            let _ = c.close();
        }
        let (Some(o), Some(m)) = (stats(&times[0]), stats(&times[1])) else {
            return Err(Failure::new(codes::Q001, "no timed runs".into()));
        };
        // A program faster than the clock's resolution would divide by zero.
        let speedup = o.median / m.median.max(1e-9);
        let ms = |s: f64| s * 1000.0;
        let side_json = |argv: &[String], st: &Stats, t: &[f64]| {
            json!({
                "argv": argv,
                "median_ms": ms(st.median), "min_ms": ms(st.min), "max_ms": ms(st.max), "mad_ms": ms(st.mad),
                "runs_ms": t.iter().map(|s| ms(*s)).collect::<Vec<_>>(),
            })
        };
        let summary = format!(
            "migrated {speedup:.2}× the speed of the original (median {:.2} ms ± {:.2} vs {:.2} ms ± {:.2}, {} runs)",
            ms(m.median),
            ms(m.mad),
            ms(o.median),
            ms(o.mad),
            p.runs
        );
        if let Some(min) = p.with.min_speedup
            && speedup < min
        {
            return Err(Failure::new(
                codes::Q001,
                format!("too slow: the gate asks for {min}× and the {summary}"),
            )
            .hint(
                "profile the migrated program, build it in release mode, or lower `min_speedup`",
            ));
        }
        let doc = json!({
            "rule": NAME,
            "runs": p.runs,
            "warmup": p.warmup,
            "speedup": speedup,
            "min_speedup": p.with.min_speedup,
            "original": side_json(&p.with.original, &o, &times[0]),
            "migrated": side_json(&p.with.migrated, &m, &times[1]),
        });
        report::write_json(p.report.as_ref(), &doc).map_err(fail)?;
        Ok(Note::new(summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        let s = stats(&[3.0, 1.0, 2.0, 100.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert_eq!((s.min, s.max), (1.0, 100.0));
        // Deviations 0.5, 1.5, 0.5, 97.5: the outlier does not dominate.
        assert_eq!(s.mad, 1.0);
        assert_eq!(stats(&[5.0]).unwrap().mad, 0.0);
        assert_eq!(stats(&[]), None);
    }
}
