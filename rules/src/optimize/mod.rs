//! The optimize phase: which backend each numeric operation of the migrated code should use
//! (scalar, SIMD, GPU — the cost model's 5× rule with numbers measured on this machine), and
//! the cargo profile of the generated crate.
//!
//! - `calibrate.rs`: the machine's numbers, one cached action per machine fingerprint;
//! - `plan.rs`: the choice per operation; `table.rs`: the plan for people;
//! - `profile.rs`: `fast | balanced | aggressive` as `{output}/.cargo/config.toml`;
//! - `rule.rs`: the `optimize` builtin that puts them together.
//!
//! The cost model itself is `crate::kernels::CostModel`, shared with the kernels.

pub mod calibrate;
pub mod plan;
pub mod profile;
pub mod rule;
pub mod table;
pub mod trace;

#[cfg(test)]
mod tests;

use batuta_engine::manifest::{BuiltinFiles, Companion};

/// Where the calibration table lives, relative to the workspace.
pub const CALIBRATION: &str = ".batuta/calibration.json";

/// What `builtin: optimize` reads and writes when its task names nothing: every per-file
/// analysis report the graph writes (none without an analyze stage), the traced shapes
/// (when a trace-shapes task writes them), and the plan and profile in the output crate.
pub const FILES: BuiltinFiles = BuiltinFiles {
    builtin: "optimize",
    inputs: &[".batuta/analysis/files/**/*.json", ".batuta/trace/*.json"],
    outputs: &[
        "{output}/batuta-plan.json",
        "{output}/batuta-plan.txt",
        "{output}/.cargo/config.toml",
    ],
    records: &[],
};

/// `optimize` reads the calibration, which one `calibrate` action writes.
pub const COMPANIONS: &[Companion] = &[Companion {
    builtin: "optimize",
    adds: "calibrate",
    outputs: &[CALIBRATION],
}];
