//! batuta's migration knowledge: the built-in rules and kernels a manifest can name.
//!
//! The engine knows no rule; it asks this crate's [`CATALOG`] which names exist.

pub mod analyze;
pub mod build;
pub mod kernels;
pub mod last_run;
pub mod optimize;

use batuta_engine::graph::Action;
use batuta_engine::manifest::{BuiltinFiles, Catalog, FanOut};
use batuta_engine::rule::Failure;
use batuta_engine::rule::{Rule, Rules};

pub mod transpile;
pub mod validate;

/// Built-in rules, by the phase they usually serve (MANIFEST.md, ARCHITECTURE.md).
pub const BUILTINS: &[&str] = &[
    // analyze
    "analyze",
    "analyze-file",
    // optimize
    "optimize",
    "trace-shapes",
    // validate
    "compare-outputs",
    "syscalls",
    "cargo-test",
    "bench",
    // transpile
    "assemble",
    "python-extension",
    // build
    "cargo-build",
];

/// In-process numeric kernels that run as leaf actions.
pub const KERNELS: &[&str] = &[
    "allclose",
    "max_abs_diff",
    "ulp_distance",
    "dot",
    "sum",
    "mean",
    "matmul",
];

/// Where the analysis lives, relative to the workspace: `files/{path}.json` per source
/// file, `analysis.json` and `report.txt` for the tree.
pub const ANALYSIS_DIR: &str = ".batuta/analysis";

/// Whether `path` is a per-file analysis report: `ANALYSIS_DIR/files/PATH.json`, or
/// `ANALYSIS_DIR/PROJECT/files/PATH.json` for a project of a workspace.
pub fn is_file_report(path: &str) -> bool {
    let Some(rest) = path
        .strip_prefix(ANALYSIS_DIR)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return false;
    };
    let rest = match rest.split_once('/') {
        Some((project, after)) if project != "files" => after,
        _ => rest,
    };
    rest.starts_with("files/") && rest.ends_with(".json")
}

/// `builtin: analyze` runs file by file (one cached `analyze-file` action per source file)
/// and aggregates, so editing one file re-analyses that file only.
pub const FAN_OUT: &[FanOut] = &[FanOut {
    builtin: "analyze",
    per_file: "analyze-file",
    dir: ANALYSIS_DIR,
    outputs: &["analysis.json", "report.txt"],
}];

pub const CATALOG: Catalog = Catalog {
    builtins: BUILTINS,
    kernels: KERNELS,
    fan_out: FAN_OUT,
    templates: transpile::TEMPLATES,
    files: FILES,
    check_with: Some(check_with),
    companions: optimize::COMPANIONS,
    crate_name: Some(transpile::assemble::crate_name),
    migration_map: &[transpile::assemble::NAME, transpile::pyext::NAME],
    migration_sources: &[transpile::pyext::NAME],
};

/// The files builtins read and write when their tasks name none.
pub const FILES: &[BuiltinFiles] = &[
    build::FILES,
    optimize::FILES,
    optimize::trace::FILES,
    transpile::assemble::FILES,
    transpile::pyext::FILES,
];

/// The catalog's load-time check of `with:`: the rule of that name judges it.
fn check_with(
    kind: &str,
    name: &str,
    with: &serde_json::Value,
) -> Result<(), batuta_engine::manifest::WithProblem> {
    let rule = match kind {
        "kernel" => Registry.kernel(name),
        _ => Registry.builtin(name),
    };
    rule.map_or(Ok(()), |r| r.check(with))
}

/// The rules this crate implements, found by the names a manifest uses.
pub struct Registry;

impl Rules for Registry {
    fn builtin(&self, name: &str) -> Option<&dyn Rule> {
        match name {
            "analyze" => Some(&analyze::rule::Analyze),
            "analyze-file" => Some(&analyze::rule::AnalyzeFile),
            transpile::assemble::NAME => Some(&transpile::assemble::Assemble),
            transpile::pyext::NAME => Some(&transpile::pyext::PythonExtension),
            build::NAME => Some(&build::CargoBuild),
            "optimize" => Some(&optimize::rule::Optimize),
            "calibrate" => Some(&optimize::calibrate::Calibrate),
            transpile::prelude::NAME => Some(&transpile::prelude::Prelude),
            optimize::trace::NAME => Some(&optimize::trace::TraceShapes),
            _ => validate::builtin(name),
        }
    }

    fn kernel(&self, name: &str) -> Option<&dyn Rule> {
        kernels::rule::find(name).map(|r| r as &dyn Rule)
    }

    fn explain(&self, root: &std::path::Path, action: &Action, failure: Failure) -> Failure {
        transpile::classify::explain(root, action, failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_name_is_a_rule() {
        for name in KERNELS {
            assert!(Registry.kernel(name).is_some(), "{name}");
        }
        assert!(Registry.kernel("fft").is_none());
    }
}
