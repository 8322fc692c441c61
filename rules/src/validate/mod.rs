//! The validate phase: proof that the migrated program behaves like the original, or the
//! exact place where it does not.
//!
//! Four built-in rules share one way of running the two programs ([`side`]): each in its
//! own temporary working copy of the task's inputs, without a shell, with only the
//! declared environment, bounded by a timeout.

mod bench;
// Only Linux has strace; the parsers stay compiled (and tested) everywhere.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod behaviour;
mod cargo_test;
pub mod cases;
mod compare_outputs;
mod diff;
pub(crate) mod error;
pub mod junit;
pub mod libtest;
mod normalize;
mod numbers;
mod report;
pub(crate) mod run;
mod side;
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod strace;
mod syscalls;
pub(crate) mod with;
pub(crate) mod workcopy;

pub use bench::Bench;
pub use cargo_test::CargoTest;
pub use compare_outputs::CompareOutputs;
pub use syscalls::Syscalls;

/// The built-in validation rules by the name a manifest uses.
pub fn builtin(name: &str) -> Option<&'static dyn batuta_engine::rule::Rule> {
    match name {
        compare_outputs::NAME => Some(&CompareOutputs),
        syscalls::NAME => Some(&Syscalls),
        cargo_test::NAME => Some(&CargoTest),
        bench::NAME => Some(&Bench),
        _ => None,
    }
}
