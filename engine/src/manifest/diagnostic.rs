//! Problems found in a manifest, each pointing at the bytes it is about.
//!
//! Loading collects every problem instead of stopping at the first, so a user fixes a
//! manifest in one round trip. Rendering is miette's: the CLI picks the theme.

use std::fmt;
use std::sync::{Arc, OnceLock};

use miette::{LabeledSpan, SourceCode};

use super::excerpt::{Excerpt, Lines};

/// A byte range in the manifest source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
}

impl Span {
    pub const fn new(offset: usize, len: usize) -> Self {
        Self { offset, len }
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.offset, s.len).into()
    }
}

/// The kinds of manifest problem, each with a stable code users can search for.
///
/// The book's codes (A, T, O, V, B, Q) cover what goes wrong while migrating; a manifest
/// that cannot be read is a problem before any phase starts, hence its own family, M.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The file is not valid YAML.
    Syntax,
    /// A key the manifest format does not have.
    UnknownKey,
    /// A value of the wrong type (a list where a string belongs, …).
    WrongType,
    /// A required key is absent.
    MissingKey,
    /// `version` is not one this batuta reads.
    Version,
    /// A name (rule, tool, stage, builtin, kernel) that is not defined.
    UnknownName,
    /// A `{placeholder}` that does not exist or has no value where it is used.
    Placeholder,
    /// Stages that need each other, or actions that read each other's outputs.
    Cycle,
    /// A path that leaves the workspace.
    PathEscapes,
    /// Keys that contradict each other, or two tasks writing one file.
    Conflict,
    /// The file cannot be read as a manifest at all (missing, not UTF-8, empty, too big).
    Unreadable,
    /// The YAML exceeds a safety limit (alias expansion, nesting depth, node count).
    Limit,
    /// A folder or file the manifest names does not exist.
    Missing,
}

impl Code {
    /// Every code, in order.
    pub const ALL: [Code; 13] = [
        Code::Syntax,
        Code::UnknownKey,
        Code::WrongType,
        Code::MissingKey,
        Code::Version,
        Code::UnknownName,
        Code::Placeholder,
        Code::Cycle,
        Code::PathEscapes,
        Code::Conflict,
        Code::Unreadable,
        Code::Limit,
        Code::Missing,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "BATUTA-M-001",
            Code::UnknownKey => "BATUTA-M-002",
            Code::WrongType => "BATUTA-M-003",
            Code::MissingKey => "BATUTA-M-004",
            Code::Version => "BATUTA-M-005",
            Code::UnknownName => "BATUTA-M-006",
            Code::Placeholder => "BATUTA-M-007",
            Code::Cycle => "BATUTA-M-008",
            Code::PathEscapes => "BATUTA-M-009",
            Code::Conflict => "BATUTA-M-010",
            Code::Unreadable => "BATUTA-M-011",
            Code::Limit => "BATUTA-M-012",
            Code::Missing => "BATUTA-M-013",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a problem stops the manifest from loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    #[default]
    Error,
    /// Worth a look, but the manifest loads and builds; `check` and `build` show it.
    Warning,
    /// A better way to say something that works as it is; only `check` shows it.
    Advice,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Advice => "advice",
        }
    }
}

/// One problem: what is wrong, where, and how to fix it when we can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub span: Option<Span>,
    pub label: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: None,
            label: None,
            help: None,
        }
    }

    /// Make this a warning: reported, but it stops nothing.
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Make this advice: `check` shows it, a build does not.
    pub fn advice(mut self) -> Self {
        self.severity = Severity::Advice;
        self
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The source text a set of diagnostics points into, with its file name.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: Arc<str>,
    /// Built at the first question about lines, shared by clones.
    lines: Arc<OnceLock<Lines>>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
            lines: Arc::default(),
        }
    }

    fn lines(&self) -> &Lines {
        self.lines.get_or_init(|| Lines::of(&self.text))
    }

    /// 1-based line and column (in characters) of a byte offset, clamped to the text.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        self.lines().line_col(&self.text, offset)
    }
}

/// Every problem found while loading one manifest.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub source: Source,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Each problem as a miette diagnostic that carries its excerpt of the source, ready
    /// to render.
    pub fn reports(&self) -> impl Iterator<Item = Located<'_>> {
        self.items.iter().map(move |d| {
            let excerpt = d.span.map(|span| {
                Excerpt::around(
                    &self.source.name,
                    &self.source.text,
                    self.source.lines(),
                    span,
                )
            });
            Located {
                diagnostic: d,
                excerpt,
            }
        })
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.items.len();
        write!(
            f,
            "{} has {} problem{}",
            self.source.name,
            n,
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for Diagnostics {}

/// A diagnostic joined to the excerpt of its source miette draws the snippet from, and its
/// span in that excerpt.
#[derive(Debug)]
pub struct Located<'a> {
    pub diagnostic: &'a Diagnostic,
    excerpt: Option<(Excerpt, Span)>,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Located<'_> {}

impl miette::Diagnostic for Located<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Advice => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.excerpt
            .as_ref()
            .map(|(excerpt, _)| excerpt as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (_, span) = self.excerpt.as_ref()?;
        let label = LabeledSpan::new_with_span(self.diagnostic.label.clone(), *span);
        Some(Box::new(std::iter::once(label)))
    }
}

/// The closest of `candidates` to `word`, if any is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["version", "project", "tools", "rules", "stages", "targets"];
        assert_eq!(did_you_mean("stage", keys), Some("stages"));
        assert_eq!(did_you_mean("verison", keys), Some("version"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }

    #[test]
    fn line_col_counts_characters() {
        let s = Source::new("x", "ab\nçd: 1\n");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(5), (2, 2));
        assert_eq!(s.line_col(999), (3, 1));
        let s = Source::new("x", "a\r\nb\rç\nd");
        assert_eq!(
            s.line_col(5),
            (3, 1),
            "a lone CR ends a line, as miette counts"
        );
        assert_eq!(s.line_col(8), (4, 1));
    }

    #[test]
    fn line_col_is_right_past_many_strides_of_multibyte_text() {
        let text = format!("{}\n{}x", "é".repeat(5000), "ü".repeat(9000));
        let s = Source::new("x", text.as_str());
        assert_eq!(s.line_col(text.len() - 1), (2, 9001));
        assert_eq!(s.line_col(2 * 4000), (1, 4001));
    }
}
