//! What a transpiler's failure says, read from its own output: the first *error* (not a
//! warning, not a place inside the tool's own code or headers), with the source file, line
//! and column it names, and only that error's lines of the output.
//!
//! Each tool has its own format (`depyler`, `decy`, `bashrs`, `ruchy`, read from their
//! real output); `output` holds the shapes they share. Whether the source is really at
//! fault is asked of the language's own interpreter or compiler (`checks`), and where the
//! tool names no line, `locate` finds the construct its message names, saying so.

mod bashrs;
pub mod cflags;
pub mod checks;
mod decy;
mod depyler;
pub mod locate;
pub mod output;
mod ruchy;

use std::fmt;

/// The built-in transpilers whose output batuta can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Depyler,
    Decy,
    Bashrs,
    Ruchy,
}

impl Tool {
    /// The tool a manifest tool name or a program path stands for.
    pub fn of(name: &str) -> Option<Tool> {
        let base = name.rsplit('/').next().unwrap_or(name);
        match base {
            "depyler" => Some(Tool::Depyler),
            "decy" => Some(Tool::Decy),
            "bashrs" => Some(Tool::Bashrs),
            "ruchy" => Some(Tool::Ruchy),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Tool::Depyler => "depyler",
            Tool::Decy => "decy",
            Tool::Bashrs => "bashrs",
            Tool::Ruchy => "ruchy",
        }
    }
}

/// What the tool itself says went wrong, by its own category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Its parser rejected the source (its claim: `checks` asks the language's own).
    Syntax,
    /// A construct it says it does not support.
    Unsupported,
    /// It could not infer a type.
    TypeInference,
    /// The C compiler under decy found a name or type it does not know (clang's semantic
    /// and type errors).
    Semantic,
    /// It accepted the source and failed generating Rust (code generation, an internal
    /// error).
    Internal,
    /// It crashed: a Rust panic.
    Crash,
    /// It could not read a file it needed (decy: a quoted `#include`).
    Io,
    /// Lint errors (`bashrs lint`), with the first rule's code (`SEC010`).
    Lint(String),
}

/// How batuta knows where the error is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The tool printed this place.
    Tool,
    /// decy printed a line of the text it parsed (the file with its headers pasted in);
    /// the snippet it showed was matched back to the file. `line` is decy's.
    Mapped { tool_file: String, tool_line: u32 },
    /// The tool printed a byte range of the file (depyler's `range: 4102..4130`).
    Offset { start: usize },
    /// The tool named no line; batuta found the construct its message names, described
    /// here ("the first sum() call with 2 arguments").
    Batuta(String),
    /// The tool named no line; the language's own checker, run by batuta, did
    /// (`ruchy check`, python3).
    Checker(String),
}

/// Where an error is, in the workspace's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub found: Found,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        Ok(())
    }
}

/// The first error of a tool's failed run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    pub kind: Kind,
    /// One line: the tool's message.
    pub message: String,
    pub place: Option<Place>,
    /// The error's own lines of the output, without colour.
    pub excerpt: Vec<String>,
}

/// What a reader knows about the file the action transpiled.
pub struct Input<'a> {
    /// Its path relative to the workspace, as the action names it.
    pub path: &'a str,
    /// Its text, when it could be read.
    pub text: Option<&'a str>,
    /// Local headers it includes (decy pastes them into the text it parses), as
    /// (workspace path, text).
    pub headers: &'a [(String, String)],
}

/// The first error in `output` (without colour), or `None` when the output holds no error
/// this tool is known to print. `gate`: the output is `bashrs lint`'s, not `purify`'s.
pub fn first_error(tool: Tool, output: &str, input: &Input<'_>, gate: bool) -> Option<ToolError> {
    match tool {
        Tool::Depyler => depyler::first_error(output, input),
        Tool::Decy => decy::first_error(output, input),
        Tool::Bashrs if gate => bashrs::first_lint_error(output),
        Tool::Bashrs => bashrs::first_error(output, input),
        Tool::Ruchy => ruchy::first_error(output, input),
    }
}

/// The tool's place for a file it printed, in the workspace's terms: tools print the path
/// they were given, relative or absolute.
fn place_of(loc: &output::Location, input: &Input<'_>) -> Option<Place> {
    let same = loc.file == input.path
        || loc.file.ends_with(&format!("/{}", input.path))
        || input.path.ends_with(&format!("/{}", loc.file));
    same.then(|| Place {
        file: input.path.to_owned(),
        line: loc.line,
        column: loc.column,
        found: Found::Tool,
    })
}

/// A panic's report as a tool error (the tool crashed; its `at` names its own source).
fn crash(p: output::Panic) -> ToolError {
    ToolError {
        kind: Kind::Crash,
        message: format!("panicked: {}", p.message.lines().next().unwrap_or_default()),
        place: None,
        excerpt: p.lines,
    }
}
