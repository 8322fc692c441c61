//! The two programs a validation compares, each run the same way: in its own working copy
//! of the task's inputs, found without a shell, with only the declared environment.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use batuta_engine::rule::Call;

use super::error::RunError;
use super::run::{self, Finished, Output};
use super::workcopy::WorkCopy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Original,
    Migrated,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Original, Side::Migrated];

    /// This side's value of a pair of options (`original:`/`migrated:`).
    pub fn pick<'a, T: ?Sized>(self, original: &'a T, migrated: &'a T) -> &'a T {
        match self {
            Side::Original => original,
            Side::Migrated => migrated,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Side::Original => "original",
            Side::Migrated => "migrated",
        }
    }
}

/// A fresh working copy of the task's inputs for one side.
pub fn copy(call: &Call<'_>, side: Side) -> Result<WorkCopy, RunError> {
    WorkCopy::new(call.root, call.inputs, side.name())
}

/// The command for `argv` inside `copy`: the program resolved, its `argv[0]` kept as
/// written (a usage message prints it).
pub fn command(
    call: &Call<'_>,
    side: Side,
    copy: &WorkCopy,
    argv: &[String],
) -> Result<Command, RunError> {
    let program = run::resolve(side.name(), &argv[0], copy.path(), &call.env)?;
    #[allow(unused_mut)]
    let mut c = run::command(&program, &argv[1..], copy.path(), &call.env);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::arg0(&mut c, &argv[0]);
    Ok(c)
}

/// Runs `argv` in `copy` to its end.
pub fn run(
    call: &Call<'_>,
    side: Side,
    copy: &WorkCopy,
    argv: &[String],
    stdin: Option<&str>,
    output: Output,
    timeout: Duration,
) -> Result<Finished, RunError> {
    let cmd = command(call, side, copy, argv)?;
    let stdin = stdin.map(|s| copy.path().join(s));
    run::run(
        cmd,
        side.name(),
        &argv[0],
        stdin.as_deref().map(Path::new),
        output,
        timeout,
        call.cancel,
    )
}
