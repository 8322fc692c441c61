//! The optimization plan: for each numeric operation the analysis found, the backend the
//! cost model chose and the times it estimated, as `builtin: optimize` wrote them in
//! `batuta-plan.json`.

use std::path::Path;

use batuta_engine::graph::{ActionGraph, ActionKind};
use serde::Serialize;
use serde_json::Value;

use super::format::{self, Row, esc};

#[derive(Debug, Serialize)]
pub struct Section {
    /// The optimize action that wrote it.
    pub action: String,
    pub plan: String,
    /// The cargo profile and the `gpu`/`simd` modes the plan was made with.
    pub settings: String,
    /// The machine it was calibrated on.
    pub machine: String,
    pub operations: Vec<Operation>,
}

#[derive(Debug, Serialize)]
pub struct Operation {
    pub operation: String,
    pub location: String,
    /// Elements, marked `*` when estimated rather than declared.
    pub size: String,
    pub backend: String,
    /// Estimated seconds on each backend.
    pub scalar_s: Option<f64>,
    pub simd_s: Option<f64>,
    pub gpu_s: Option<f64>,
    pub call: Option<String>,
    pub reason: String,
}

/// Every plan an optimize action of the graph wrote; one that does not read as a plan
/// (older format, hand-edited) is a note, not a failure.
pub fn collect(root: &Path, g: &ActionGraph, notes: &mut Vec<String>) -> Vec<Section> {
    let mut sections = Vec::new();
    for a in &g.actions {
        if !matches!(&a.kind, ActionKind::Builtin { name, .. } if name == "optimize") {
            continue;
        }
        for out in a.outputs.iter().filter(|o| o.ends_with("batuta-plan.json")) {
            let Ok(text) = std::fs::read_to_string(root.join(out)) else {
                continue;
            };
            match serde_json::from_str::<Value>(&text) {
                Ok(plan) => sections.push(section(&a.id, out, &plan)),
                Err(e) => notes.push(format!("{out} is not a plan ({e}); build again")),
            }
        }
    }
    sections
}

fn section(action: &str, out: &str, plan: &Value) -> Section {
    let word = |k: &str| plan[k].as_str().unwrap_or("?").to_owned();
    let operations = plan["operations"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|op| {
            let est = &op["estimate"];
            let mut size = op["elements"].as_u64().map_or("?".into(), count);
            if op["size"] == "estimated" {
                size.push('*');
            }
            Operation {
                operation: op["operation"].as_str().unwrap_or("?").to_owned(),
                location: format!(
                    "{}:{}",
                    op["file"].as_str().unwrap_or("?"),
                    op["line"].as_u64().unwrap_or(0)
                ),
                size,
                backend: op["backend"].as_str().unwrap_or("?").to_owned(),
                scalar_s: est["scalar_s"].as_f64(),
                simd_s: est["simd_s"].as_f64(),
                gpu_s: est["gpu_s"].as_f64(),
                call: op["call"].as_str().map(str::to_owned),
                reason: op["reason"].as_str().unwrap_or_default().to_owned(),
            }
        })
        .collect();
    Section {
        action: action.to_owned(),
        plan: out.to_owned(),
        settings: format!(
            "profile {}, gpu {}, simd {}",
            word("profile"),
            word("gpu"),
            word("simd")
        ),
        machine: plan["machine"]["fingerprint"]
            .as_str()
            .unwrap_or("?")
            .to_owned(),
        operations,
    }
}

/// `1.0 M`, `262 K`, `512`.
fn count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.0} K", n as f64 / 1e3),
        _ => format!("{:.1} M", n as f64 / 1e6),
    }
}

fn ms(s: Option<f64>) -> String {
    s.map_or("–".to_owned(), |s| format!("{:.2} ms", s * 1e3))
}

/// The columns of `batuta-plan.txt`, and why.
fn head() -> Vec<&'static str> {
    batuta_rules::optimize::table::COLUMNS
        .into_iter()
        .chain(["why"])
        .collect()
}

fn cells(o: &Operation) -> Vec<String> {
    vec![
        o.operation.clone(),
        o.location.clone(),
        o.size.clone(),
        o.backend.clone(),
        ms(o.scalar_s),
        ms(o.simd_s),
        ms(o.gpu_s),
        o.call.clone().unwrap_or_else(|| "–".to_owned()),
        o.reason.clone(),
    ]
}

const NONE: &str = "No optimization plan yet: a `builtin: optimize` stage writes one.";

pub fn markdown(s: &mut String, plans: &[Section]) {
    s.push_str("\n## Optimization plan\n\n");
    if plans.is_empty() {
        s.push_str(NONE);
        s.push('\n');
        return;
    }
    for p in plans {
        s.push_str(&format!(
            "`{}` ({}), {}; calibrated on: {}.\n\n",
            p.plan, p.action, p.settings, p.machine
        ));
        if p.operations.is_empty() {
            s.push_str("No numeric operations found.\n");
            continue;
        }
        format::md_table(s, &head(), p.operations.iter().map(cells));
        s.push_str("\n`*`: estimated size; declare it in `with: { sizes: … }`.\n");
    }
}

pub fn html(s: &mut String, plans: &[Section]) {
    s.push_str("<h2>Optimization plan</h2>\n");
    if plans.is_empty() {
        s.push_str(&format!("<p class=\"note\">{NONE}</p>\n"));
        return;
    }
    for p in plans {
        s.push_str(&format!(
            "<p><code>{}</code> ({}), {}; calibrated on: {}.</p>\n",
            esc(&p.plan),
            esc(&p.action),
            esc(&p.settings),
            esc(&p.machine)
        ));
        if p.operations.is_empty() {
            s.push_str("<p class=\"note\">No numeric operations found.</p>\n");
            continue;
        }
        let rows = p
            .operations
            .iter()
            .map(|o| Row::plain(cells(o).iter().map(|c| esc(c)).collect()));
        format::html_table(s, "plan", &head(), rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_reads_as_rows_with_estimated_sizes_marked() {
        let plan = serde_json::json!({
            "profile": "balanced", "gpu": "auto", "simd": "auto",
            "machine": { "fingerprint": "cpu X" },
            "operations": [{
                "operation": "numpy.dot", "file": "m.py", "line": 4, "elements": 1_000_000,
                "size": "estimated", "backend": "simd", "call": "trueno::dot",
                "estimate": { "scalar_s": 0.0131, "simd_s": 0.0047, "gpu_s": 0.0172 },
                "reason": "the GPU call is slower"
            }]
        });
        let s = section("optimize/optimize", "rust/batuta-plan.json", &plan);
        assert_eq!(s.settings, "profile balanced, gpu auto, simd auto");
        let o = &s.operations[0];
        assert_eq!((o.location.as_str(), o.size.as_str()), ("m.py:4", "1.0 M*"));
        assert_eq!(
            cells(o),
            [
                "numpy.dot",
                "m.py:4",
                "1.0 M*",
                "simd",
                "13.10 ms",
                "4.70 ms",
                "17.20 ms",
                "trueno::dot",
                "the GPU call is slower"
            ]
        );
    }
}
