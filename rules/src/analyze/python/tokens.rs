//! Python's tokens, as far as complexity needs them: names (keywords are names), strings
//! (with the expressions of f-string interpolations), numbers, operators and brackets,
//! grouped into logical lines with their indentation.
//!
//! Anything the tokenizer does not expect (an unterminated string, an unbalanced bracket, a
//! character Python has no token for) is [`Unsupported`]: the caller then parses the file
//! with tree-sitter, which says where it went wrong.

use super::Unsupported;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Name,
    Number,
    /// A whole string literal; an f-string's interpolations follow it as `Interp` groups.
    Str,
    Op,
    /// `(`, `[` or `{`; `pair` is the index of its `Close`.
    Open,
    /// The `{` of an f-string interpolation; `pair` is the index of its `Close`.
    Interp,
    Close,
}

#[derive(Debug, Clone, Copy)]
pub struct Token {
    pub kind: Kind,
    pub start: u32,
    pub end: u32,
    /// 1-based lines of its first and last byte.
    pub line: u32,
    pub end_line: u32,
    /// For `Open` and `Interp`: the index of the matching `Close`.
    pub pair: u32,
}

/// A logical line: tokens `start..end`, indented by `indent` columns (a tab counts 8, as
/// tree-sitter-python counts it).
#[derive(Debug, Clone, Copy)]
pub struct Line {
    pub start: usize,
    pub end: usize,
    pub indent: u32,
}

/// A line holding only a comment, outside brackets: where a block ends depends on them.
#[derive(Debug, Clone, Copy)]
pub struct Comment {
    pub line: u32,
    pub indent: u32,
}

#[derive(Debug, Default)]
pub struct Lexed {
    pub tokens: Vec<Token>,
    pub lines: Vec<Line>,
    pub comments: Vec<Comment>,
}

pub fn lex(src: &str) -> Result<Lexed, Unsupported> {
    let mut l = Lexer {
        b: src.as_bytes(),
        pos: 0,
        line: 1,
        open: Vec::new(),
        out: Lexed::default(),
    };
    l.run()?;
    Ok(l.out)
}

struct Lexer<'s> {
    b: &'s [u8],
    pos: usize,
    line: u32,
    /// Indices of the brackets not yet closed.
    open: Vec<usize>,
    out: Lexed,
}

const OPS3: [&[u8]; 5] = [b"**=", b"//=", b">>=", b"<<=", b"..."];
const OPS2: [&[u8]; 19] = [
    b"**", b"//", b">>", b"<<", b"<=", b">=", b"==", b"!=", b"->", b"+=", b"-=", b"*=", b"/=",
    b"%=", b"&=", b"|=", b"^=", b"@=", b":=",
];
const OPS1: &[u8] = b"+-*/%@&|^~<>=.,:;";

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> u8 {
        self.b.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    fn run(&mut self) -> Result<(), Unsupported> {
        loop {
            // The start of a physical line outside brackets: indentation, blank and
            // comment lines, or the first token of a logical line.
            let mut indent = 0u32;
            loop {
                match self.peek(0) {
                    b' ' => indent += 1,
                    b'\t' => indent += 8,
                    b'\x0c' | b'\r' => indent = 0,
                    _ => break,
                }
                self.pos += 1;
            }
            if self.at_end() {
                return Ok(());
            }
            match self.peek(0) {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    continue;
                }
                b'#' => {
                    self.out.comments.push(Comment {
                        line: self.line,
                        indent,
                    });
                    self.skip_comment();
                    continue;
                }
                _ => {}
            }
            // A merge's conflict markers: tree-sitter says where the file stops being Python.
            let rest = &self.b[self.pos..];
            if [b"<<<<<<<", b"=======", b">>>>>>>"]
                .iter()
                .any(|m| rest.starts_with(*m))
            {
                return Err(Unsupported);
            }
            let start = self.out.tokens.len();
            self.logical_line()?;
            if self.out.tokens.len() > start {
                self.out.lines.push(Line {
                    start,
                    end: self.out.tokens.len(),
                    indent,
                });
            }
        }
    }

    fn skip_comment(&mut self) {
        while !self.at_end() && self.peek(0) != b'\n' {
            self.pos += 1;
        }
    }

    /// Tokens up to the end of a logical line (a newline outside brackets, or the end).
    fn logical_line(&mut self) -> Result<(), Unsupported> {
        loop {
            match self.peek(0) {
                _ if self.at_end() => {
                    return if self.open.is_empty() {
                        Ok(())
                    } else {
                        Err(Unsupported)
                    };
                }
                b' ' | b'\t' | b'\x0c' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    if self.open.is_empty() {
                        return Ok(());
                    }
                }
                b'#' => self.skip_comment(),
                b'\\' => self.continuation()?,
                _ => self.token()?,
            }
        }
    }

    /// A backslash joining this line to the next.
    fn continuation(&mut self) -> Result<(), Unsupported> {
        let skip = match (self.peek(1), self.peek(2)) {
            (b'\n', _) => 2,
            (b'\r', b'\n') => 3,
            _ => return Err(Unsupported),
        };
        self.pos += skip;
        self.line += 1;
        Ok(())
    }

    fn push(&mut self, kind: Kind, start: usize, line: u32) -> usize {
        self.out.tokens.push(Token {
            kind,
            start: start as u32,
            end: self.pos as u32,
            line,
            end_line: self.line,
            pair: 0,
        });
        self.out.tokens.len() - 1
    }

    /// One token at `pos` (not white space, a newline or a comment).
    fn token(&mut self) -> Result<(), Unsupported> {
        let (start, line) = (self.pos, self.line);
        let c = self.peek(0);
        match c {
            b'"' | b'\'' => return self.string(start, Prefix::default()),
            b'0'..=b'9' => self.number(),
            b'.' if self.peek(1).is_ascii_digit() => self.number(),
            b'(' | b'[' | b'{' => {
                self.pos += 1;
                let i = self.push(Kind::Open, start, line);
                self.open.push(i);
                return Ok(());
            }
            b')' | b']' | b'}' => {
                self.pos += 1;
                return self.close(start, line, c);
            }
            _ if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                while {
                    let c = self.peek(0);
                    c == b'_' || c.is_ascii_alphanumeric() || c >= 0x80
                } {
                    self.pos += 1;
                }
                if matches!(self.peek(0), b'"' | b'\'')
                    && let Some(p) = Prefix::of(&self.b[start..self.pos])
                {
                    return self.string(start, p);
                }
                self.push(Kind::Name, start, line);
                return Ok(());
            }
            _ => {
                let rest = &self.b[self.pos..];
                if rest.starts_with(b"<>") {
                    // Python 2's "not equal".
                    return Err(Unsupported);
                }
                let n = if OPS3.iter().any(|o| rest.starts_with(o)) {
                    3
                } else if OPS2.iter().any(|o| rest.starts_with(o)) {
                    2
                } else if OPS1.contains(&c) {
                    1
                } else {
                    return Err(Unsupported);
                };
                self.pos += n;
                self.push(Kind::Op, start, line);
                return Ok(());
            }
        }
        self.push(Kind::Number, start, line);
        Ok(())
    }

    fn close(&mut self, start: usize, line: u32, c: u8) -> Result<(), Unsupported> {
        let opener = self.open.pop().ok_or(Unsupported)?;
        let want = match c {
            b')' => b'(',
            b']' => b'[',
            _ => b'{',
        };
        let o = self.out.tokens[opener];
        if self.b[o.start as usize] != want {
            return Err(Unsupported);
        }
        let i = self.push(Kind::Close, start, line);
        self.out.tokens[opener].pair = i as u32;
        self.out.tokens[i].pair = opener as u32;
        Ok(())
    }

    /// Integers, floats, imaginary numbers in any base; what follows a number is never a
    /// name (`1if x else y` is `1 if …`).
    fn number(&mut self) {
        let radix = self.peek(0) == b'0' && matches!(self.peek(1) | 0x20, b'x' | b'o' | b'b');
        if radix {
            self.pos += 2;
            while self.peek(0).is_ascii_hexdigit() || self.peek(0) == b'_' {
                self.pos += 1;
            }
            return;
        }
        let digits = |l: &mut Self| {
            while l.peek(0).is_ascii_digit() || l.peek(0) == b'_' {
                l.pos += 1;
            }
        };
        digits(self);
        if self.peek(0) == b'.' {
            self.pos += 1;
            digits(self);
        }
        if matches!(self.peek(0), b'e' | b'E') {
            let sign = usize::from(matches!(self.peek(1), b'+' | b'-'));
            if self.peek(1 + sign).is_ascii_digit() {
                self.pos += 1 + sign;
                digits(self);
            }
        }
        if matches!(self.peek(0), b'j' | b'J') {
            self.pos += 1;
        }
    }

    /// A string literal from its prefix at `start`; `pos` is at its opening quote.
    fn string(&mut self, start: usize, p: Prefix) -> Result<(), Unsupported> {
        let line = self.line;
        let q = self.peek(0);
        let triple = self.peek(1) == q && self.peek(2) == q;
        self.pos += if triple { 3 } else { 1 };
        let me = self.push(Kind::Str, start, line);
        loop {
            if self.at_end() {
                return Err(Unsupported);
            }
            match self.peek(0) {
                b'\\' => {
                    if p.format && self.peek(1) == b'{' {
                        // `\{` in an f-string: the brace still opens an interpolation.
                        self.pos += 1;
                    } else if p.format && !p.raw && self.peek(1) == b'N' && self.peek(2) == b'{' {
                        // `\N{NAME}`: a character by name, not an interpolation.
                        while !self.at_end() && self.peek(0) != b'}' {
                            self.pos += 1;
                        }
                        self.pos += 1;
                    } else {
                        if self.peek(1) == b'\n' {
                            self.line += 1;
                        }
                        self.pos += 2;
                    }
                }
                b'\n' if !triple => return Err(Unsupported),
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                c if c == q && (!triple || (self.peek(1) == q && self.peek(2) == q)) => {
                    self.pos += if triple { 3 } else { 1 };
                    break;
                }
                b'{' if p.format && self.peek(1) == b'{' => self.pos += 2,
                b'{' if p.format => self.interpolation()?,
                _ => self.pos += 1,
            }
        }
        let t = &mut self.out.tokens[me];
        t.end = self.pos as u32;
        t.end_line = self.line;
        Ok(())
    }

    /// An f-string interpolation from its `{`: the expression's tokens as an `Interp`
    /// group; a `!r` conversion is skipped, a format spec's own interpolations nest.
    fn interpolation(&mut self) -> Result<(), Unsupported> {
        // f-strings in format specs in f-strings…: recursion, bounded.
        if self.open.len() > 100 {
            return Err(Unsupported);
        }
        let (start, line) = (self.pos, self.line);
        self.pos += 1;
        let me = self.push(Kind::Interp, start, line);
        let depth = self.open.len();
        self.open.push(me);
        loop {
            if self.at_end() {
                return Err(Unsupported);
            }
            let c = self.peek(0);
            let top = self.open.len() == depth + 1;
            match c {
                b' ' | b'\t' | b'\x0c' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                }
                b'}' if top => {
                    let (s, l) = (self.pos, self.line);
                    self.pos += 1;
                    return self.close(s, l, b'}');
                }
                b'!' if top && self.peek(1) != b'=' => {
                    self.pos += 1;
                    while self.peek(0).is_ascii_alphanumeric() {
                        self.pos += 1;
                    }
                }
                b'=' if top && matches!(self.peek(1), b'}' | b'!' | b':') => self.pos += 1,
                b':' if top => {
                    self.pos += 1;
                    return self.format_spec();
                }
                b'\\' => self.continuation()?,
                _ => self.token()?,
            }
        }
    }

    /// A format spec up to the `}` that closes its interpolation.
    fn format_spec(&mut self) -> Result<(), Unsupported> {
        loop {
            match self.peek(0) {
                _ if self.at_end() => return Err(Unsupported),
                b'{' => self.interpolation()?,
                b'}' => {
                    let (s, l) = (self.pos, self.line);
                    self.pos += 1;
                    return self.close(s, l, b'}');
                }
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b'\\' => self.pos += 2,
                _ => self.pos += 1,
            }
        }
    }
}

/// A string prefix: `r`, `b`, `u`, `f` (and `t`) in either case, up to two of them.
#[derive(Debug, Clone, Copy, Default)]
struct Prefix {
    raw: bool,
    format: bool,
}

impl Prefix {
    fn of(name: &[u8]) -> Option<Prefix> {
        if name.is_empty() || name.len() > 2 {
            return None;
        }
        let mut p = Prefix::default();
        for c in name {
            match c | 0x20 {
                b'r' => p.raw = true,
                b'f' | b't' => p.format = true,
                b'b' | b'u' => {}
                _ => return None,
            }
        }
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<Vec<&str>> {
        let l = lex(src).unwrap();
        l.lines
            .iter()
            .map(|ln| {
                l.tokens[ln.start..ln.end]
                    .iter()
                    .map(|t| &src[t.start as usize..t.end as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn logical_lines_join_brackets_and_backslashes() {
        let src = "x = (1,\n     2)  # c\nif a and \\\n   b:\n\tpass\n";
        assert_eq!(
            texts(src),
            [
                vec!["x", "=", "(", "1", ",", "2", ")"],
                vec!["if", "a", "and", "b", ":"],
                vec!["pass"]
            ]
        );
        let l = lex(src).unwrap();
        assert_eq!(l.lines[2].indent, 8);
        assert_eq!(l.tokens[l.lines[0].start + 2].pair, 6);
    }

    #[test]
    fn strings_and_f_string_interpolations() {
        let src = "s = rb'\\'' + \"\"\"a\n'b'\"\"\" + f\"{x if y else z!r:>{w}} {{}}\"\n";
        assert_eq!(
            texts(src),
            [vec![
                "s",
                "=",
                "rb'\\''",
                "+",
                "\"\"\"a\n'b'\"\"\"",
                "+",
                "f\"{x if y else z!r:>{w}} {{}}\"",
                "{",
                "x",
                "if",
                "y",
                "else",
                "z",
                "{",
                "w",
                "}",
                "}"
            ]]
        );
        assert_eq!(lex("1if x else 2").unwrap().tokens.len(), 5);
    }

    #[test]
    fn what_python_would_reject_is_unsupported() {
        for bad in [
            "x = (1,\n",
            "x = 'abc\n",
            "x = )",
            "a $ b",
            "'''open",
            "x = [1)",
        ] {
            assert!(lex(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn comment_lines_keep_their_indentation() {
        let l = lex("def f():\n    x = 1\n    # end\n# top\n").unwrap();
        let c: Vec<(u32, u32)> = l.comments.iter().map(|c| (c.line, c.indent)).collect();
        assert_eq!(c, [(3, 4), (4, 0)]);
    }
}
