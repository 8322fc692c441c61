//! batuta's migration knowledge: the built-in rules and kernels a manifest can name.
//!
//! The engine knows no rule; it asks this crate's [`CATALOG`] which names exist.

pub mod analyze;

use batuta_engine::manifest::Catalog;
use batuta_engine::rule::{Rule, Rules};

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
};

/// The rules this crate implements, found by the names a manifest uses.
pub struct Registry;

impl Rules for Registry {
    fn builtin(&self, name: &str) -> Option<&dyn Rule> {
        let _ = name;
        None
    }

    fn kernel(&self, name: &str) -> Option<&dyn Rule> {
        let _ = name;
        None
    }
}
