//! The plan as a text table, for `batuta-plan.txt` and the action's report.

use std::fmt::Write;

use super::calibrate::Calibration;
use super::plan::{Entry, Mode, Options, Plan, count, seconds};
use super::profile::Profile;
use crate::kernels::Choice;

/// The plan table's columns, as `batuta-plan.txt` and the migration report show them.
pub const COLUMNS: [&str; 8] = [
    "operation",
    "location",
    "size",
    "backend",
    "scalar",
    "SIMD",
    "GPU",
    "call",
];

fn mode(m: Mode) -> &'static str {
    match m {
        Mode::Auto => "auto",
        Mode::Off => "off",
        Mode::Force => "force",
    }
}

fn backend(c: Choice) -> &'static str {
    match c {
        Choice::Scalar => "scalar",
        Choice::Simd => "SIMD",
        Choice::Gpu => "GPU",
    }
}

fn size(e: &Entry) -> String {
    let n = match e.shape {
        Some([m, k, n]) if m == k && k == n => format!("{m}×{m}"),
        Some([m, k, n]) => format!("{m}×{k}·{k}×{n}"),
        None => count(e.elements),
    };
    match (e.size, e.spread) {
        ("guess", _) => "?*".to_owned(),
        (_, Some(s)) if s.min != s.max => format!("{n} (med; {}–{})", count(s.min), count(s.max)),
        _ => n,
    }
}

pub fn render(plan: &Plan, c: &Calibration, profile: Profile, opts: &Options) -> String {
    let mut out = String::new();
    let gpu = c
        .gpu
        .as_ref()
        .map_or("none".to_owned(), |g| g.adapter.clone());
    let _ = writeln!(
        out,
        "Optimization plan: profile {profile}, gpu {} (adapter: {gpu}), simd {} ({})",
        mode(opts.gpu),
        mode(opts.simd),
        c.simd
    );
    let m = &c.model;
    let _ = writeln!(
        out,
        "Calibrated: matmul {:.1} / {:.1} / {} GFLOP/s (scalar / SIMD / GPU), transfer {}",
        m.matmul.scalar / 1e9,
        m.matmul.simd / 1e9,
        c.gpu
            .as_ref()
            .map_or("—".to_owned(), |_| format!("{:.1}", m.matmul.gpu / 1e9)),
        c.gpu.as_ref().map_or("—".to_owned(), |_| format!(
            "{:.1} GB/s",
            m.transfer_bytes_per_s / 1e9
        )),
    );
    out.push('\n');
    if plan.operations.is_empty() {
        out.push_str("No numeric operations found");
        out.push_str(" (the plan reads the analyze stage's per-file reports).\n");
    } else {
        let header = COLUMNS;
        let rows: Vec<[String; 8]> = plan
            .operations
            .iter()
            .map(|e| {
                [
                    e.operation.clone(),
                    format!("{}:{}", e.file, e.line),
                    size(e),
                    backend(e.backend).to_owned(),
                    seconds(e.estimate.scalar_s),
                    seconds(e.estimate.simd_s),
                    e.estimate.gpu_s.map_or("—".to_owned(), seconds),
                    e.call
                        .clone()
                        .unwrap_or_else(|| "— (no mapping)".to_owned()),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for r in &rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[&str]| {
            let mut l = String::new();
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i + 1 == cells.len() {
                    l.push_str(cell);
                } else {
                    let pad = w - cell.chars().count();
                    l.push_str(cell);
                    l.push_str(&" ".repeat(pad + 2));
                }
            }
            l.trim_end().to_owned() + "\n"
        };
        out.push_str(&line(&header));
        for r in &rows {
            out.push_str(&line(&r.each_ref().map(String::as_str)));
        }
        out.push('\n');
        for e in &plan.operations {
            let _ = writeln!(
                out,
                "{}:{} {}: {} ({})",
                e.file,
                e.line,
                e.operation,
                backend(e.backend),
                e.reason
            );
        }
        if plan.operations.iter().any(|e| e.size == "guess") {
            let _ = writeln!(
                out,
                "\n?* size unknown, planned scalar: trace the program (builtin: trace-shapes) or declare the size in `with: {{ sizes: {{ np.dot: N, \"file.py:12\": N }} }}`"
            );
        }
    }
    for u in &plan.unplanned {
        let _ = writeln!(
            out,
            "not planned: {} at {}:{} ({})",
            u.operation, u.file, u.line, u.reason
        );
    }
    for k in &plan.unused_sizes {
        let _ = writeln!(
            out,
            "warning: sizes.{k} matches no operation the analysis found"
        );
    }
    out
}
