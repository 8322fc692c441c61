//! YAML to a spanned node tree.
//!
//! serde stops at the first error, but a manifest must report all of its problems at once.
//! So serde-saphyr only builds this untyped tree (every node and key with its span), and
//! `lower` turns it into the typed model while collecting diagnostics.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::ErrorKind;
use serde_saphyr::{Budget, Error as YamlError, ExternalMessageSource, MessageFormatter, Spanned};

use super::diagnostic::{Code, Diagnostic, Span};

/// A YAML value with the span it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

impl Node {
    /// What kind of value this is, as a user reads it in an error message.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// The node as JSON, for consumers (`with:` options, the schema test) that want plain data.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::from(*i),
            NodeKind::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Limits that keep a hostile manifest (alias bombs, absurd nesting) from eating the machine.
/// A real manifest is a few hundred nodes; these leave room for generated ones.
const MAX_NODES: usize = 200_000;
const MAX_DEPTH: usize = 64;
const MAX_ALIAS_REPLAY: usize = 200_000;

/// Parse YAML text into a node tree, or the one syntax problem that stops the parser.
pub fn parse(text: &str) -> Result<Node, Diagnostic> {
    let mut budget = Budget::default();
    budget.max_nodes = MAX_NODES;
    budget.max_depth = MAX_DEPTH;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.strict_booleans = true;
    options.alias_limits.max_total_replayed_events = MAX_ALIAS_REPLAY;
    options.with_snippet = false;

    let index = LineIndex::new(text);
    match serde_saphyr::from_str_with_options::<Spanned<RawNode>>(text, options) {
        Ok(raw) => Ok(convert(raw, &index)),
        Err(err) => Err(syntax_diagnostic(&err, &index)),
    }
}

fn syntax_diagnostic(err: &YamlError, index: &LineIndex) -> Diagnostic {
    let mut inner = err;
    while let YamlError::AliasError { error, .. } | YamlError::WithSnippet { error, .. } = inner {
        inner = error;
    }
    let location = err.location();
    let span = location.map(|loc| index.span(loc.line() as usize, loc.column() as usize, 1));
    let limit_help = format!(
        "batuta refuses manifests that expand to more than {MAX_NODES} nodes (for example \
         through anchors and aliases that multiply) or nest deeper than {MAX_DEPTH} levels"
    );
    let diagnostic = match inner {
        YamlError::Budget { breach, .. } => {
            let what = match breach {
                BudgetBreach::Depth { .. } => format!("it nests deeper than {MAX_DEPTH} levels"),
                BudgetBreach::Nodes { .. } => format!("it has more than {MAX_NODES} nodes"),
                other => format!("{other:?}"),
            };
            Diagnostic::new(
                Code::Limit,
                format!("the YAML exceeds a safety limit: {what}"),
            )
            .label("the limit was reached here")
            .help(limit_help)
        }
        _ if scan_error_kind(inner) == Some(&ErrorKind::RecursionLimitExceeded) => Diagnostic::new(
            Code::Limit,
            "the YAML exceeds a safety limit: it nests too deep",
        )
        .label("the limit was reached here")
        .help(limit_help),
        YamlError::AliasReplayLimitExceeded { .. }
        | YamlError::AliasExpansionLimitExceeded { .. }
        | YamlError::AliasReplayStackDepthExceeded { .. } => Diagnostic::new(
            Code::Limit,
            format!(
                "the YAML's aliases expand too far: {}",
                serde_saphyr::DefaultMessageFormatter.format_message(inner)
            ),
        )
        .label("expanded here")
        .help("anchors and aliases that multiply each other are refused; write the values out"),
        YamlError::DuplicateMappingKey { .. } => Diagnostic::new(
            Code::Syntax,
            serde_saphyr::DefaultMessageFormatter
                .format_message(inner)
                .split(", set DuplicateKeyPolicy")
                .next()
                .unwrap_or_default()
                .to_owned(),
        )
        .label("repeated here")
        .help("each key may appear once in a mapping; merge the two entries"),
        // serde-saphyr's own wording names its API (`from_str_multiple`, `Options`).
        YamlError::MultipleDocuments { .. } => Diagnostic::new(
            Code::Syntax,
            "invalid YAML: a manifest is one YAML document, but this file holds more than one",
        )
        .label("another document starts here")
        .help("remove the `---` line and what follows it, or move that document to its own file"),
        YamlError::BinaryNotUtf8 { .. } => Diagnostic::new(
            Code::Syntax,
            "invalid YAML: this !!binary value is not UTF-8 text",
        )
        .label("here")
        .help("write the value as plain text, without the !!binary tag"),
        _ => {
            let message = serde_saphyr::DefaultMessageFormatter.format_message(inner);
            // The parser often notices an unclosed `[`, `{` or quote only lines later, at
            // the next key; point at where it was opened instead.
            let opened = location.and_then(|loc| {
                let at = index.span(loc.line() as usize, loc.column() as usize, 1);
                unclosed_before(index.text, at.offset)
                    .filter(|&(open, _)| index.line_of(open) < loc.line() as usize)
                    .map(|(open, c)| (open, c, loc))
            });
            if let Some((open, c, loc)) = opened {
                let (what, close) = match c {
                    '[' => ("this '['", "close it with ']'"),
                    '{' => ("this '{'", "close it with '}'"),
                    '"' => ("this quoted string", "close the quote with '\"'"),
                    _ => ("this quoted string", "close the quote with \"'\""),
                };
                return Diagnostic::new(
                    Code::Syntax,
                    format!("invalid YAML: {what} is still open at line {}", loc.line()),
                )
                .at(Span::new(open, c.len_utf8()))
                .label("opened here, never closed")
                .help(format!(
                    "{close}; the YAML parser stopped at line {}, column {}: {message}",
                    loc.line(),
                    loc.column()
                ));
            }
            let d = Diagnostic::new(Code::Syntax, format!("invalid YAML: {message}")).label("here");
            match scan_error_kind(inner) {
                Some(
                    ErrorKind::TabNotAllowed
                    | ErrorKind::TabInBlockIndentation
                    | ErrorKind::TabInIndentation,
                ) => d.help("indent with spaces; YAML does not allow tabs in indentation"),
                Some(ErrorKind::MappingValueNotAllowed | ErrorKind::InvalidIndentation) => d.help(
                    "check this line's indentation: keys of one mapping line up exactly, and a \
                     value that is itself a mapping starts on the next line, indented further",
                ),
                _ => d,
            }
        }
    };
    match span {
        Some(span) => diagnostic.at(span),
        None => diagnostic,
    }
}

/// What the YAML parser itself objected to, when the error came from it.
fn scan_error_kind(err: &YamlError) -> Option<&ErrorKind> {
    match err {
        YamlError::ExternalMessage { source, .. } => match &**source {
            ExternalMessageSource::Parser(e) => Some(e.kind()),
            _ => None,
        },
        _ => None,
    }
}

/// The innermost flow collection (`[`, `{`) or quoted string still open at byte `end`, by a
/// light scan that knows YAML's comments, quotes and where a value may start.
/// Only a hint for error messages: the parser has already decided the text is invalid.
fn unclosed_before(text: &str, end: usize) -> Option<(usize, char)> {
    let mut open: Vec<(usize, char)> = Vec::new();
    let mut quote: Option<(usize, char)> = None;
    // Whether the next non-blank character may start a value: after indentation, `: `,
    // `- `, or `[`, `{`, `,` inside a flow collection.
    let mut value_start = true;
    let mut chars = text[..end.min(text.len())].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if let Some((_, q)) = quote {
            match c {
                '\\' if q == '"' => {
                    chars.next();
                }
                '\'' if q == '\'' && chars.peek().map(|&(_, n)| n) == Some('\'') => {
                    chars.next();
                }
                _ if c == q => {
                    quote = None;
                    value_start = false;
                }
                _ => {}
            }
            continue;
        }
        match c {
            '\n' => value_start = true,
            ' ' | '\t' => {}
            '#' => {
                while chars.peek().is_some_and(|&(_, n)| n != '\n') {
                    chars.next();
                }
            }
            '"' | '\'' if value_start => quote = Some((i, c)),
            '[' | '{' if value_start => {
                open.push((i, c));
                value_start = true;
            }
            ']' | '}' if !open.is_empty() => {
                open.pop();
                value_start = false;
            }
            ',' if !open.is_empty() => value_start = true,
            ':' | '-' if chars.peek().is_none_or(|&(_, n)| n == ' ' || n == '\n') => {
                value_start = true;
            }
            _ => value_start = false,
        }
    }
    quote.or(open.last().copied())
}

/// Converts serde-saphyr's (line, column in characters) into byte spans.
struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, line_starts }
    }

    /// The 1-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// The byte span starting at 1-based (line, column) and running `chars` characters,
    /// clamped to the end of its line.
    fn span(&self, line: usize, column: usize, chars: usize) -> Span {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return Span::new(self.text.len(), 0);
        };
        let rest = &self.text[start..];
        let line_text = rest.split('\n').next().unwrap_or("");
        let mut it = line_text.char_indices().skip(column.saturating_sub(1));
        let Some((begin, _)) = it.next() else {
            return Span::new(start + line_text.len(), 0);
        };
        let end = line_text[begin..]
            .char_indices()
            .nth(chars)
            .map_or(line_text.len(), |(i, _)| begin + i);
        Span::new(start + begin, end - begin)
    }
}

fn convert(raw: Spanned<RawNode>, index: &LineIndex) -> Node {
    let loc = raw.referenced;
    let chars = loc.span().len() as usize;
    let span = index.span(loc.line() as usize, loc.column() as usize, chars);
    let kind = match raw.value {
        RawNode::Null => NodeKind::Null,
        RawNode::Bool(b) => NodeKind::Bool(b),
        RawNode::Int(i) => NodeKind::Int(i),
        RawNode::Float(f) => NodeKind::Float(f),
        RawNode::Str(s) => NodeKind::Str(s),
        RawNode::Seq(items) => {
            NodeKind::Seq(items.into_iter().map(|n| convert(n, index)).collect())
        }
        RawNode::Map(entries) => NodeKind::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let kl = k.referenced;
                    let key = Key {
                        span: index.span(
                            kl.line() as usize,
                            kl.column() as usize,
                            kl.span().len() as usize,
                        ),
                        name: k.value,
                    };
                    (key, convert(v, index))
                })
                .collect(),
        ),
    };
    Node { kind, span }
}

/// What serde-saphyr hands us: any YAML value, with spans on every child.
enum RawNode {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<RawNode>>),
    Map(Vec<(Spanned<String>, Spanned<RawNode>)>),
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawNode;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }
    fn visit_none<E>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawNode, D::Error> {
        RawNode::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawNode, E> {
        Ok(RawNode::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawNode, E> {
        Ok(RawNode::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawNode, E> {
        Ok(i64::try_from(v).map_or(RawNode::Float(v as f64), RawNode::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<RawNode, E> {
        Ok(i64::try_from(v).map_or(RawNode::Float(v as f64), RawNode::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<RawNode, E> {
        Ok(i64::try_from(v).map_or(RawNode::Float(v as f64), RawNode::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawNode, E> {
        Ok(RawNode::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawNode, E> {
        Ok(RawNode::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawNode, E> {
        Ok(RawNode::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<RawNode, E> {
        Ok(RawNode::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<RawNode, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = a.next_element()? {
            items.push(item);
        }
        Ok(RawNode::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<RawNode, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = a.next_key::<Spanned<String>>()? {
            let value = a.next_value()?;
            entries.push((key, value));
        }
        Ok(RawNode::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_at(src: &str, span: Span) -> &str {
        &src[span.offset..span.offset + span.len]
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let src = "version: 1\nproject:\n  name: café-x\n  exclude: [\"a\", b]\n";
        let node = parse(src).unwrap();
        let NodeKind::Map(top) = &node.kind else {
            panic!("not a map")
        };
        assert_eq!(text_at(src, top[0].0.span), "version");
        assert_eq!(text_at(src, top[0].1.span), "1");
        let NodeKind::Map(project) = &top[1].1.kind else {
            panic!()
        };
        assert_eq!(text_at(src, project[0].1.span), "café-x");
        let NodeKind::Seq(ex) = &project[1].1.kind else {
            panic!()
        };
        assert_eq!(text_at(src, ex[0].span), "\"a\"");
        assert_eq!(text_at(src, ex[1].span), "b");
    }

    #[test]
    fn yes_is_a_string_not_a_boolean() {
        let node = parse("a: yes\nb: true\n").unwrap();
        let NodeKind::Map(m) = node.kind else {
            panic!()
        };
        assert_eq!(m[0].1.kind, NodeKind::Str("yes".into()));
        assert_eq!(m[1].1.kind, NodeKind::Bool(true));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut src = String::from("a: &a [1,2,3,4,5,6,7,8,9]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h"])
        {
            src.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 9].join(",")
            ));
        }
        let err = parse(&src).unwrap_err();
        assert_eq!(err.code, Code::Limit);
    }

    #[test]
    fn syntax_error_has_a_span() {
        let src = "a: [1, 2\nb: c\n";
        let err = parse(src).unwrap_err();
        assert_eq!(err.code, Code::Syntax);
        assert!(err.span.is_some());
    }

    #[test]
    fn an_unclosed_bracket_or_quote_is_blamed_where_it_opens() {
        let src = "a:\n  b: [1, 2\nc: d\n";
        let err = parse(src).unwrap_err();
        assert_eq!(err.code, Code::Syntax);
        assert_eq!(err.span, Some(Span::new(8, 1)), "{}", err.message);
        assert!(err.message.contains("'['"), "{}", err.message);
        let src = "a:\n  b: \"x\nc: d\n";
        let err = parse(src).unwrap_err();
        assert_eq!(err.span, Some(Span::new(8, 1)), "{}", err.message);
    }

    #[test]
    fn brackets_in_plain_scalars_comments_and_quotes_are_not_open() {
        let src = "a: x[1\nb: '[' # {\nc: \"{\\\"\"\nd: [e, {f: g}]\n";
        assert_eq!(unclosed_before(src, src.len()), None);
        assert_eq!(unclosed_before("a: [b, {c: ", 11), Some((7, '{')));
    }

    #[test]
    fn duplicate_keys_are_an_error() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert!(err.message.contains("duplicate"), "{}", err.message);
        assert_eq!(err.span, Some(Span::new(5, 1)));
    }
}
