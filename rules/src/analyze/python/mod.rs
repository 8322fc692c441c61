//! Python's syntactic facts from tokens, without a syntax tree: each function's complexity,
//! and the ML frameworks a file imports and calls.
//!
//! tree-sitter's parse was most of a cold analysis (about 60 % of its CPU on CPython's
//! standard library, 8 MB/s), and these facts need much less than a tree: where functions
//! start and end, how blocks nest, a few keywords and operators, import statements and call
//! sites. This reads them from Python's tokens and logical lines at tokenizer speed and
//! gives exactly what [`super::complexity::functions`] and [`super::ml::scan`] give on
//! tree-sitter's tree; tests hold the two to the same results on every file of the
//! installed standard library (with imports that bind its everyday names to frameworks,
//! for the calls).
//!
//! It is a fast path, not a second parser: a file it does not fully understand (a token
//! Python has none for, an unbalanced bracket, an indentation Python would reject, a clause
//! without its statement) is [`Unsupported`], and the caller parses it with tree-sitter.

mod calls;
mod expr;
mod numeric;
mod tokens;

use std::rc::Rc;

use super::complexity::Function;
use super::ml::MlCall;
use tokens::{Comment, Kind, Lexed, Line, Token};

/// What analyze learns from a Python file's syntax.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub functions: Vec<Function>,
    /// ML frameworks imported (top-level modules, sorted).
    pub ml_imports: Vec<String>,
    pub ml_calls: Vec<MlCall>,
}

/// A Python file's functions, and, when `ml` (the text names a framework), its framework
/// imports and calls, as tree-sitter's tree gives them (see [`super::ml::scan`]).
pub fn facts(src: &str, ml: bool) -> Result<Facts, Unsupported> {
    let lexed = tokens::lex(src)?;
    let functions = measure(src, &lexed)?;
    let (ml_imports, ml_calls) = if ml {
        calls::Scan::new(src, &lexed).scan()
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Facts {
        functions,
        ml_imports,
        ml_calls,
    })
}

/// The file has something the token reader does not handle; parse it with tree-sitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported;

/// Deeper nesting of brackets, lambdas and conditional expressions than this is left to
/// tree-sitter (generated code).
const MAX_DEPTH: u32 = 100;

/// Every function in `src`, in source order, measured as [`super::complexity`] documents.
pub fn functions(src: &str) -> Result<Vec<Function>, Unsupported> {
    measure(src, &tokens::lex(src)?)
}

fn measure(src: &str, lexed: &Lexed) -> Result<Vec<Function>, Unsupported> {
    let mut m = Measure {
        src,
        toks: &lexed.tokens,
        out: Vec::new(),
        depth: 0,
    };
    m.lines(lexed)?;
    Ok(m.out)
}

/// What a block's statements are measured in.
#[derive(Debug, Clone)]
struct Ctx {
    /// The function (index in the result) they count for; `None` at module level and in
    /// class bodies.
    func: Option<usize>,
    /// Qualified name of the enclosing classes and functions, with a trailing `.`.
    prefix: Rc<str>,
    nesting: u32,
    /// The block is a `match` statement's: its lines are `case` clauses.
    cases: bool,
}

/// The statement a following clause (`elif`, `else`, `except`, `finally`) continues, with
/// the nesting the statement itself is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chain {
    None,
    If(u32),
    Loop(u32),
    Try(u32),
}

#[derive(Debug)]
struct Block {
    header_indent: u32,
    /// Known from the body's first line.
    body_indent: Option<u32>,
    ctx: Ctx,
    /// What the statement lets follow it at its own indentation.
    chain: Chain,
    /// The function this block is the body of, whose length is known when it closes.
    def: Option<usize>,
}

struct Measure<'s> {
    src: &'s str,
    toks: &'s [Token],
    out: Vec<Function>,
    depth: u32,
}

impl<'s> Measure<'s> {
    fn text(&self, i: usize) -> &'s str {
        let t = self.toks[i];
        &self.src[t.start as usize..t.end as usize]
    }

    fn is(&self, i: usize, kind: Kind, text: &str) -> bool {
        self.toks.get(i).is_some_and(|t| t.kind == kind) && self.text(i) == text
    }

    fn kw(&self, i: usize, text: &str) -> bool {
        self.is(i, Kind::Name, text)
    }

    fn op(&self, i: usize, text: &str) -> bool {
        self.is(i, Kind::Op, text)
    }

    /// The index after token `i`, a whole bracket group if `i` opens one.
    fn skip(&self, i: usize) -> usize {
        match self.toks[i].kind {
            Kind::Open | Kind::Interp => self.toks[i].pair as usize + 1,
            _ => i + 1,
        }
    }

    /// The first token in `s..e`, outside brackets, that `hit` accepts.
    fn find(&self, s: usize, e: usize, hit: impl Fn(usize) -> bool) -> Option<usize> {
        let mut i = s;
        while i < e {
            if hit(i) {
                return Some(i);
            }
            i = self.skip(i);
        }
        None
    }

    fn add(&mut self, f: Option<usize>, cyclomatic: u32, cognitive: u32) {
        if let Some(f) = f {
            self.out[f].cyclomatic += cyclomatic;
            self.out[f].cognitive += cognitive;
        }
    }

    /// The logical lines, block by block.
    fn lines(&mut self, lexed: &Lexed) -> Result<(), Unsupported> {
        let module = Ctx {
            func: None,
            prefix: Rc::from(""),
            nesting: 0,
            cases: false,
        };
        let mut stack: Vec<Block> = Vec::new();
        let mut chain = Chain::None;
        // The last line of the previous logical line: where closing blocks end.
        let mut last_line = 0u32;
        let mut comments = lexed.comments.iter().peekable();
        for line in &lexed.lines {
            let first = self.toks[line.start].line;
            // The comment lines between the previous logical line and this one.
            let mut between: Vec<Comment> = Vec::new();
            while let Some(c) = comments.next_if(|c| c.line < first) {
                between.push(*c);
            }
            let opens = stack.last().is_some_and(|b| b.body_indent.is_none());
            if opens {
                let top = stack.last_mut().expect("checked");
                if line.indent <= top.header_indent {
                    return Err(Unsupported);
                }
                top.body_indent = Some(line.indent);
            } else {
                let level = |s: &[Block]| s.last().map_or(0, |b| b.body_indent.unwrap_or(0));
                if line.indent > level(&stack) {
                    return Err(Unsupported);
                }
                while stack
                    .last()
                    .is_some_and(|b| b.body_indent > Some(line.indent))
                {
                    let b = stack.pop().expect("checked");
                    self.close(&b, last_line, &between);
                    chain = b.chain;
                }
                if line.indent != level(&stack) {
                    return Err(Unsupported);
                }
            }
            let ctx = stack.last().map_or(&module, |b| &b.ctx).clone();
            if opens && let Some(f) = stack.last().and_then(|b| b.def) {
                let doc = self.docstring(line.start, line.end);
                self.out[f].documented = doc.is_some();
                self.out[f].docstring = doc.unwrap_or(0);
            }
            self.depth = 0;
            let (next, block) = self.statement(line, &ctx, chain)?;
            chain = next;
            if let Some(b) = block {
                stack.push(b);
                chain = Chain::None;
            }
            last_line = self.toks[line.end - 1].end_line;
        }
        let rest: Vec<Comment> = comments.copied().collect();
        while let Some(b) = stack.pop() {
            if b.body_indent.is_none() {
                return Err(Unsupported);
            }
            self.close(&b, last_line, &rest);
        }
        Ok(())
    }

    /// A block ends at its last token, or at the last of the comment lines after it that
    /// are indented at least as deep as its body (tree-sitter-python keeps those in it).
    fn close(&mut self, b: &Block, last_line: u32, comments: &[Comment]) {
        let Some(f) = b.def else { return };
        let indent = b.body_indent.unwrap_or(0);
        let end = comments
            .iter()
            .take_while(|c| c.indent >= indent)
            .last()
            .map_or(last_line, |c| c.line);
        let start = self.out[f].line as u32;
        self.out[f].lines = (end + 1 - start) as usize;
    }

    /// One logical line in `ctx`, after a statement that lets `chain` follow. Returns what
    /// it lets follow, and the block it opens, if it has one.
    fn statement(
        &mut self,
        line: &Line,
        ctx: &Ctx,
        chain: Chain,
    ) -> Result<(Chain, Option<Block>), Unsupported> {
        let (s, e) = (line.start, line.end);
        let n = ctx.nesting;
        let f = ctx.func;
        let first = self.text(s);
        let is_async = first == "async" && self.toks[s].kind == Kind::Name;
        let head = if is_async { s + 1 } else { s };
        if head >= e {
            return Err(Unsupported);
        }
        let keyword = if self.toks[head].kind == Kind::Name {
            self.text(head)
        } else {
            ""
        };
        // (what may follow, the body's context) for compound statements.
        let (next, body) = match keyword {
            "def" => return self.def(line, head, ctx),
            "class" => {
                let name = self.name(head + 1, e)?;
                let colon = self.header_colon(head + 1, e)?;
                let body = Ctx {
                    func: None,
                    prefix: Rc::from(format!("{}{name}.", ctx.prefix)),
                    nesting: 0,
                    cases: false,
                };
                (Chain::None, (colon, body))
            }
            "if" | "for" | "while" => {
                let colon = self.header_colon(head + 1, e)?;
                self.add(f, 1, 1 + n);
                self.expr_list(head + 1, colon, n + 1, f)?;
                let next = if keyword == "if" {
                    Chain::If(n)
                } else {
                    Chain::Loop(n)
                };
                (next, (colon, ctx.nested(n + 1)))
            }
            "elif" => {
                let Chain::If(at) = chain else {
                    return Err(Unsupported);
                };
                let colon = self.header_colon(head + 1, e)?;
                self.add(f, 1, 1);
                self.expr_list(head + 1, colon, at + 1, f)?;
                (Chain::If(at), (colon, ctx.nested(at + 1)))
            }
            "else" => {
                let colon = self.header_colon(head + 1, e)?;
                self.add(f, 0, 1);
                match chain {
                    Chain::If(at) | Chain::Loop(at) => (Chain::None, (colon, ctx.nested(at + 1))),
                    Chain::Try(at) => (Chain::Try(at), (colon, ctx.nested(at))),
                    Chain::None => return Err(Unsupported),
                }
            }
            "try" => (
                Chain::Try(n),
                (self.header_colon(head + 1, e)?, ctx.clone()),
            ),
            "except" => {
                let Chain::Try(at) = chain else {
                    return Err(Unsupported);
                };
                let colon = self.header_colon(head + 1, e)?;
                self.add(f, 1, 1 + at);
                self.expr_list(head + 1, colon, at + 1, f)?;
                (Chain::Try(at), (colon, ctx.nested(at + 1)))
            }
            "finally" => {
                let Chain::Try(at) = chain else {
                    return Err(Unsupported);
                };
                (
                    Chain::None,
                    (self.header_colon(head + 1, e)?, ctx.nested(at)),
                )
            }
            "with" => {
                let colon = self.header_colon(head + 1, e)?;
                self.expr_list(head + 1, colon, n, f)?;
                (Chain::None, (colon, ctx.clone()))
            }
            "match" if !is_async && self.is_match(s, e) => {
                self.add(f, 0, 1 + n);
                self.expr_list(s + 1, e - 1, n + 1, f)?;
                let mut body = ctx.nested(n + 1);
                body.cases = true;
                (Chain::None, (e - 1, body))
            }
            "case" if !is_async && ctx.cases => {
                let colon = self.header_colon(s + 1, e)?;
                self.add(f, 1, 0);
                if let Some(guard) = self.find(s + 1, colon, |i| self.kw(i, "if")) {
                    self.add(f, 1, 1);
                    self.expr(guard + 1, colon, n, f)?;
                }
                (Chain::None, (colon, ctx.nested(n)))
            }
            _ if is_async => return Err(Unsupported),
            _ => {
                if first == "@" && self.toks[s].kind == Kind::Op {
                    self.expr_list(s + 1, e, n, f)?;
                } else {
                    self.expr_list(s, e, n, f)?;
                }
                return Ok((Chain::None, None));
            }
        };
        let (colon, body) = body;
        if colon + 1 < e {
            // The body on the header's line.
            self.expr_list(colon + 1, e, body.nesting, body.func)?;
            return Ok((next, None));
        }
        Ok((Chain::None, Some(Block::opened(line, body, next, None))))
    }

    /// `def name(params) -> annotation:` at `head` (after `async`, if any).
    fn def(
        &mut self,
        line: &Line,
        head: usize,
        ctx: &Ctx,
    ) -> Result<(Chain, Option<Block>), Unsupported> {
        let e = line.end;
        let name = self.name(head + 1, e)?;
        let colon = self.header_colon(head + 2, e)?;
        let qualified = format!("{}{name}", ctx.prefix);
        let start = self.toks[line.start].line as usize;
        self.out.push(Function {
            name: qualified.clone(),
            line: start,
            lines: 0,
            cyclomatic: 1,
            cognitive: 0,
            documented: false,
            docstring: 0,
        });
        let f = Some(self.out.len() - 1);
        self.expr_list(head + 2, colon, 0, f)?;
        let body = Ctx {
            func: f,
            prefix: Rc::from(format!("{qualified}.")),
            nesting: 0,
            cases: false,
        };
        if colon + 1 < e {
            let i = self.out.len() - 1;
            let doc = self.docstring(colon + 1, e);
            self.out[i].documented = doc.is_some();
            self.out[i].docstring = doc.unwrap_or(0);
            self.out[i].lines = self.toks[e - 1].end_line as usize + 1 - start;
            self.expr_list(colon + 1, e, 0, f)?;
            return Ok((Chain::None, None));
        }
        Ok((Chain::None, Some(Block::opened(line, body, Chain::None, f))))
    }

    /// The name at `i`, which must be before the line's end `e`.
    fn name(&self, i: usize, e: usize) -> Result<&'s str, Unsupported> {
        match self.toks.get(i) {
            Some(t) if i < e && t.kind == Kind::Name => Ok(self.text(i)),
            _ => Err(Unsupported),
        }
    }

    /// The `:` ending a compound statement's header: the first outside brackets that is not
    /// a lambda's.
    fn header_colon(&self, s: usize, e: usize) -> Result<usize, Unsupported> {
        let mut lambdas = 0;
        let mut i = s;
        while i < e {
            if self.kw(i, "lambda") {
                lambdas += 1;
            } else if self.op(i, ":") {
                if lambdas == 0 {
                    return Ok(i);
                }
                lambdas -= 1;
            }
            i = self.skip(i);
        }
        Err(Unsupported)
    }

    /// `match` as a statement (it is a soft keyword): `match subject:` with nothing after
    /// the colon, not `match = …`, `match.x` or `match(x)`.
    fn is_match(&self, s: usize, e: usize) -> bool {
        e >= s + 3
            && self.op(e - 1, ":")
            && self.header_colon(s + 1, e).ok() == Some(e - 1)
            && match self.toks[s + 1].kind {
                Kind::Name | Kind::Number | Kind::Str | Kind::Open => true,
                Kind::Op => matches!(self.text(s + 1), "-" | "*" | "~"),
                _ => false,
            }
    }

    /// A statement that is one string literal (a docstring), however it continues: the
    /// lines the statement spans.
    fn docstring(&self, s: usize, e: usize) -> Option<usize> {
        if self.toks[s].kind != Kind::Str {
            return None;
        }
        let mut i = s + 1;
        while i < e && self.toks[i].kind == Kind::Interp {
            i = self.skip(i);
        }
        (i == e || self.op(i, ";"))
            .then(|| (self.toks[i - 1].end_line + 1 - self.toks[s].line) as usize)
    }
}

impl Block {
    /// The block a header on `line` opens; its indentation is known from its first line.
    fn opened(line: &Line, ctx: Ctx, chain: Chain, def: Option<usize>) -> Block {
        Block {
            header_indent: line.indent,
            body_indent: None,
            ctx,
            chain,
            def,
        }
    }
}

impl Ctx {
    fn nested(&self, nesting: u32) -> Ctx {
        Ctx {
            nesting,
            cases: false,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests;
