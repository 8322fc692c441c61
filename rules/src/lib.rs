//! batuta's migration knowledge: the built-in rules and kernels a manifest can name.
//!
//! The engine knows no rule; it asks this crate's [`CATALOG`] which names exist.

use batuta_engine::exec::Failure;
use batuta_engine::graph::Action;
use batuta_engine::manifest::Catalog;
use batuta_engine::rule::{Rule, Rules};

pub mod transpile;
pub mod validate;

/// Built-in rules, by the phase they usually serve (MANIFEST.md, ARCHITECTURE.md).
pub const BUILTINS: &[&str] = &[
    // analyze
    "analyze",
    // optimize
    "optimize",
    // validate
    "compare-outputs",
    "syscalls",
    "cargo-test",
    "bench",
    // transpile
    "assemble",
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

pub const CATALOG: Catalog = Catalog {
    builtins: BUILTINS,
    kernels: KERNELS,
    templates: transpile::TEMPLATES,
};

/// The rules this crate implements, found by the names a manifest uses.
pub struct Registry;

impl Rules for Registry {
    fn builtin(&self, name: &str) -> Option<&dyn Rule> {
        match name {
            "assemble" => Some(&transpile::assemble::Assemble),
            _ => validate::builtin(name),
        }
    }

    fn kernel(&self, name: &str) -> Option<&dyn Rule> {
        let _ = name;
        None
    }

    fn explain(&self, action: &Action, failure: Failure) -> Failure {
        transpile::classify::explain(action, failure)
    }
}
