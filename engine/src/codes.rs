//! The error codes of the Batuta book (REFERENCE.md): what went wrong in a phase and what
//! to do about it, and the engine's own (E) for failures that belong to no phase. Printed
//! with every failure.

use std::fmt;

/// One code of the table: what it means and what to do.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CodeInfo {
    pub code: &'static str,
    pub meaning: &'static str,
    pub what_to_do: &'static str,
}

/// A code of the table, by reference: a failure carries one in every `Result` of a run, so
/// it is a pointer wide. Reads as the [`CodeInfo`] it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(&'static CodeInfo);

impl std::ops::Deref for ErrorCode {
    type Target = CodeInfo;

    fn deref(&self) -> &CodeInfo {
        self.0
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

macro_rules! codes {
    ($($name:ident = $code:literal, $meaning:literal, $todo:literal;)*) => {
        $(pub const $name: ErrorCode = ErrorCode(&CodeInfo { code: $code, meaning: $meaning, what_to_do: $todo });)*
        /// Every code, in the book's order.
        pub const ALL: &[ErrorCode] = &[$($name),*];
    };
}

codes! {
    A001 = "BATUTA-A-001", "language detection failed", "check file extensions";
    A002 = "BATUTA-A-002", "dependency analysis timeout", "raise the timeout or narrow the scope";
    A003 = "BATUTA-A-003", "TDG calculation error", "check for circular dependencies";
    A004 = "BATUTA-A-004", "ML framework not recognized", "update batuta";
    T001 = "BATUTA-T-001", "transpiler not found", "install it (depyler / bashrs / decy)";
    T002 = "BATUTA-T-002", "syntax error in source", "fix the source";
    T003 = "BATUTA-T-003", "type inference failed", "add type annotations";
    T004 = "BATUTA-T-004", "unsupported construct", "check the compatibility matrix";
    O001 = "BATUTA-O-001", "SIMD not available", "use the fallback backend";
    O002 = "BATUTA-O-002", "GPU memory exhausted", "reduce batch size";
    O003 = "BATUTA-O-003", "backend selection failed", "check hardware";
    V001 = "BATUTA-V-001", "output mismatch", "review semantic differences";
    V002 = "BATUTA-V-002", "test suite failed", "fix failing tests";
    V003 = "BATUTA-V-003", "syscall trace divergence", "check I/O operations";
    B001 = "BATUTA-B-001", "compilation failed", "check the compiler output";
    B002 = "BATUTA-B-002", "linking error", "verify dependencies";
    B003 = "BATUTA-B-003", "cross-compilation unsupported", "check the target";
    Q001 = "BATUTA-Q-001", "quality score below threshold", "improve code quality";
    Q002 = "BATUTA-Q-002", "coverage insufficient", "add tests";
    Q003 = "BATUTA-Q-003", "lint warnings present", "fix them";
    E001 = "BATUTA-E-001", "a declared input is missing", "make the task that writes it run first, or fix the path";
    E002 = "BATUTA-E-002", "the action broke its declaration", "declare what the tool writes, or make it stop";
    E003 = "BATUTA-E-003", "the action timed out", "raise `timeout`, or find why it hangs";
    E004 = "BATUTA-E-004", "the command failed, and no phase rule recognised why", "read its output (kept in the log the message names)";
}

/// The code a failure of an action in phase `p` carries when its rule knows no more
/// precise one.
pub fn phase_code(p: crate::manifest::Phase) -> ErrorCode {
    use crate::manifest::Phase;
    match p {
        Phase::Analyze => A001,
        Phase::Transpile => T002,
        Phase::Optimize => O003,
        Phase::Validate => V001,
        Phase::Build => B001,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn twenty_four_distinct_codes() {
        let mut names: Vec<&str> = super::ALL.iter().map(|c| c.code).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 24);
        assert_eq!(super::V001.meaning, "output mismatch");
    }
}
