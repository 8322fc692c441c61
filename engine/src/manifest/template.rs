//! `{placeholder}` templates in `run` and `out`, parsed once at load time so an unknown
//! placeholder is a load error, not a surprise in the middle of a build.

use std::fmt;

/// The placeholders MANIFEST.md defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// The input file.
    In,
    /// The output file.
    Out,
    /// The input's path relative to `project.source`.
    Path,
    /// The input's folder relative to `project.source`.
    Dir,
    /// The input's name without extension.
    Stem,
    /// The input's extension.
    Ext,
    /// The resolved tool command.
    Tool,
}

impl Placeholder {
    pub const ALL: [Placeholder; 7] = [
        Placeholder::In,
        Placeholder::Out,
        Placeholder::Path,
        Placeholder::Dir,
        Placeholder::Stem,
        Placeholder::Ext,
        Placeholder::Tool,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Placeholder::In => "in",
            Placeholder::Out => "out",
            Placeholder::Path => "path",
            Placeholder::Dir => "dir",
            Placeholder::Stem => "stem",
            Placeholder::Ext => "ext",
            Placeholder::Tool => "tool",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Placeholders that describe the input file of an `each` task.
    pub const fn needs_each(self) -> bool {
        matches!(
            self,
            Placeholder::In
                | Placeholder::Path
                | Placeholder::Dir
                | Placeholder::Stem
                | Placeholder::Ext
        )
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(Placeholder),
}

/// A part of a template: literal text, or a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Var(Placeholder),
}

/// A parsed template. `{{` and `}}` stand for literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// Why a template did not parse: the byte range within the template text, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub len: usize,
    pub kind: TemplateErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateErrorKind {
    Unknown(String),
    Unclosed,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(i) = rest.find(['{', '}']) {
            literal.push_str(&rest[..i]);
            let brace = rest.as_bytes()[i];
            let after = &rest[i + 1..];
            if after.as_bytes().first() == Some(&brace) {
                literal.push(brace as char);
                rest = &after[1..];
                offset += i + 2;
                continue;
            }
            if brace == b'}' {
                // A lone `}` is plain text; only `{` opens a placeholder.
                literal.push('}');
                rest = after;
                offset += i + 1;
                continue;
            }
            let Some(close) = after.find('}') else {
                return Err(TemplateError {
                    offset: offset + i,
                    len: rest.len() - i,
                    kind: TemplateErrorKind::Unclosed,
                });
            };
            let name = &after[..close];
            let Some(var) = Placeholder::from_name(name) else {
                return Err(TemplateError {
                    offset: offset + i,
                    len: close + 2,
                    kind: TemplateErrorKind::Unknown(name.to_owned()),
                });
            };
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Var(var));
            rest = &after[close + 1..];
            offset += i + close + 2;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces })
    }

    /// The placeholders this template uses, in order, with repeats.
    pub fn placeholders(&self) -> impl Iterator<Item = Placeholder> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Var(v) => Some(*v),
            Piece::Text(_) => None,
        })
    }

    /// The template's parts in order: literal text (braces unescaped) and placeholders.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'_>> + '_ {
        self.pieces.iter().map(|p| match p {
            Piece::Text(t) => Segment::Text(t),
            Piece::Var(v) => Segment::Var(*v),
        })
    }

    /// Fill in the placeholders. `value` must answer every placeholder the template uses;
    /// validation guarantees that for templates that came from a loaded manifest.
    pub fn expand(&self, mut value: impl FnMut(Placeholder) -> String) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(v) => out.push_str(&value(*v)),
            }
        }
        out
    }
}

impl fmt::Display for Template {
    /// The template as it would be written, braces escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => f.write_str(&t.replace('{', "{{"))?,
                Piece::Var(v) => v.fmt(f)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(t: &str) -> String {
        Template::parse(t)
            .unwrap()
            .expand(|p| p.name().to_uppercase())
    }

    #[test]
    fn expands_placeholders() {
        assert_eq!(expand("src/{dir}/{stem}.rs"), "src/DIR/STEM.rs");
        assert_eq!(expand("{tool}"), "TOOL");
        assert_eq!(expand("plain"), "plain");
        assert_eq!(expand(""), "");
    }

    #[test]
    fn doubled_braces_are_literal() {
        assert_eq!(expand("{{in}}"), "{in}");
        assert_eq!(expand("awk '{{print}}'"), "awk '{print}'");
        assert_eq!(expand("a}b"), "a}b");
        assert!(
            Template::parse("awk '{print}'").is_err(),
            "unknown placeholders are errors"
        );
        assert_eq!(expand("{{{in}}}"), "{IN}");
    }

    #[test]
    fn unknown_and_unclosed_are_errors_with_positions() {
        let e = Template::parse("src/{name}.rs").unwrap_err();
        assert_eq!(e.kind, TemplateErrorKind::Unknown("name".into()));
        assert_eq!((e.offset, e.len), (4, 6));
        let e = Template::parse("a {{b}} {in").unwrap_err();
        assert_eq!(e.kind, TemplateErrorKind::Unclosed);
        assert_eq!(e.offset, 8);
    }

    #[test]
    fn display_round_trips() {
        for t in ["x/{dir}/{stem}.rs", "{{literal}}", "a}b"] {
            let parsed = Template::parse(t).unwrap();
            assert_eq!(Template::parse(&parsed.to_string()).unwrap(), parsed);
        }
    }
}
