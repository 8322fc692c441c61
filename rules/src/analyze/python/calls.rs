//! ML framework imports and calls from tokens: the facts [`crate::analyze::ml::scan`] finds
//! on tree-sitter's tree (imports bind aliases; a call whose function is a dotted name
//! through an alias is that operation; with torch imported, `x.forward(…)` and
//! `x.generate(…)` on anything; with numpy imported, each `a @ b`), in the order its walk
//! meets them: by where the call or operator expression starts, an enclosing one first.

use super::tokens::{Kind, Lexed};
use crate::analyze::ml::{Aliases, MlCall};

/// Hard keywords: a name that is one of them does not end an expression, so a `(` after it
/// is not a call.
const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// A call found, with its tokens: the expression's first and last, and its `(` or `@`.
pub(super) struct Located {
    pub start: usize,
    pub end: usize,
    pub at: usize,
    pub call: MlCall,
    #[cfg_attr(not(test), allow(dead_code))]
    pub unpacked: bool,
}

pub(super) struct Scan<'s> {
    src: &'s str,
    pub(super) lexed: &'s Lexed,
    /// Whether each token starts a logical line (no expression reaches back over one).
    line_start: Vec<bool>,
}

impl<'s> Scan<'s> {
    pub(super) fn new(src: &'s str, lexed: &'s Lexed) -> Scan<'s> {
        let mut line_start = vec![false; lexed.tokens.len()];
        for l in &lexed.lines {
            line_start[l.start] = true;
        }
        Scan {
            src,
            lexed,
            line_start,
        }
    }

    /// Token `i` continues the expression that token `i - 1` is part of.
    pub(super) fn follows(&self, i: usize) -> bool {
        i > 0 && !self.line_start[i]
    }

    pub(super) fn text(&self, i: usize) -> &'s str {
        let t = self.lexed.tokens[i];
        &self.src[t.start as usize..t.end as usize]
    }

    /// Token `i`'s line and 0-based byte column: where Python's `ast` places it.
    pub(super) fn anchor(&self, i: usize) -> [usize; 2] {
        let t = self.lexed.tokens[i];
        let start = t.start as usize;
        let line_start = self.src[..start].rfind('\n').map_or(0, |n| n + 1);
        [t.line as usize, start - line_start]
    }

    pub(super) fn kind(&self, i: usize) -> Option<Kind> {
        self.lexed.tokens.get(i).map(|t| t.kind)
    }

    pub(super) fn is(&self, i: usize, kind: Kind, text: &str) -> bool {
        self.kind(i) == Some(kind) && self.text(i) == text
    }

    pub(super) fn name(&self, i: usize) -> bool {
        self.kind(i) == Some(Kind::Name)
    }

    /// Whether token `i` can end an expression (so a `(` or `[` after it is a trailer).
    pub(super) fn ends_primary(&self, i: usize) -> bool {
        match self.kind(i) {
            Some(Kind::Name) => !KEYWORDS.contains(&self.text(i)),
            Some(Kind::Close | Kind::Str | Kind::Number) => true,
            _ => false,
        }
    }

    /// The source text from token `a` to token `b`, both included.
    pub(super) fn slice(&self, a: usize, b: usize) -> &'s str {
        let t = &self.lexed.tokens;
        &self.src[t[a].start as usize..t[b].end as usize]
    }

    /// Frameworks imported and every framework call, as `ml::scan` gives them, then what
    /// only tokens tell: method calls on arrays and models, operands, `axis=` (see
    /// [`super::numeric`]).
    pub(super) fn scan(&self) -> (Vec<String>, Vec<MlCall>) {
        let aliases = self.aliases();
        let (imported, located) = self.located(&aliases);
        let calls = super::numeric::enrich(self, &aliases, &imported, located);
        (imported, calls)
    }

    /// [`Scan::scan`]'s import-resolved calls alone, each marked when it is unpacked
    /// (`*np.split(a)`): tree-sitter-python sometimes parses that as a call of `*np.split`
    /// or `(*np).split`, naming nothing, and misses it; Python calls `np.split`, and so does
    /// this.
    #[cfg(test)]
    pub(super) fn found(&self) -> (Vec<String>, Vec<(MlCall, bool)>) {
        let (imported, located) = self.located(&self.aliases());
        (
            imported,
            located.into_iter().map(|l| (l.call, l.unpacked)).collect(),
        )
    }

    /// Every import-resolved call and `@`, where it is, in tree-sitter's pre-order.
    fn located(&self, aliases: &Aliases) -> (Vec<String>, Vec<Located>) {
        let imported = aliases.imported();
        if imported.is_empty() {
            return (imported, Vec::new());
        }
        let numpy = imported.iter().any(|m| m == "numpy");
        let torch = imported.iter().any(|m| m == "torch");
        let mut found: Vec<Located> = Vec::new();
        let toks = &self.lexed.tokens;
        for (i, t) in toks.iter().enumerate() {
            match t.kind {
                Kind::Open
                    if self.text(i) == "(" && self.follows(i) && self.ends_primary(i - 1) =>
                {
                    if let Some(op) = self.call(i, aliases, torch) {
                        let start = self.primary_start(i - 1);
                        found.push(Located {
                            start,
                            end: t.pair as usize,
                            at: i,
                            call: MlCall::new(op, line(toks, start)),
                            unpacked: self.unpacked(start),
                        });
                    }
                }
                Kind::Op if numpy && self.text(i) == "@" && self.follows(i) => {
                    let start = self.term_start(i - 1);
                    found.push(Located {
                        start,
                        end: self.factor_end(i + 1),
                        at: i,
                        call: MlCall::new("numpy.matmul".into(), line(toks, start)),
                        unpacked: false,
                    });
                }
                _ => {}
            }
        }
        found.sort_by_key(|l| (l.start, std::cmp::Reverse(l.end)));
        (imported, found)
    }

    /// The expression starting at `start` follows a `*` or `**` that unpacks it.
    fn unpacked(&self, start: usize) -> bool {
        self.follows(start)
            && self.kind(start - 1) == Some(Kind::Op)
            && matches!(self.text(start - 1), "*" | "**")
            && !(self.follows(start - 1) && self.ends_primary(start - 2))
    }

    /// The operation a call (its `(` at `open`) is, if it is one.
    fn call(&self, open: usize, aliases: &Aliases, torch: bool) -> Option<String> {
        let last = open - 1;
        // `def f(` and `class C(` define, they do not call.
        if last > 0
            && (self.is(last - 1, Kind::Name, "def") || self.is(last - 1, Kind::Name, "class"))
        {
            return None;
        }
        if let Some(d) = self.dotted(last)
            && let Some(op) = aliases.resolve(&d)
        {
            return Some(op);
        }
        // `model.forward(x)`, `model.generate(p)` on a model object.
        if torch
            && last > 0
            && self.is(last - 1, Kind::Op, ".")
            && matches!(self.text(last), "forward" | "generate")
            && self.name(last)
        {
            return Some(format!("torch.nn.Module.{}", self.text(last)));
        }
        None
    }

    /// `a.b.c` ending at `last`, when the whole function is a chain of plain names.
    pub(super) fn dotted(&self, last: usize) -> Option<String> {
        let mut first = last;
        if !self.name(first) {
            return None;
        }
        while first >= 2 && self.is(first - 1, Kind::Op, ".") && self.name(first - 2) {
            first -= 2;
        }
        if first >= 1 && self.is(first - 1, Kind::Op, ".") {
            return None;
        }
        let names: Vec<&str> = (first..=last).step_by(2).map(|i| self.text(i)).collect();
        Some(names.join("."))
    }

    /// The first token of the primary expression (atom and trailers) ending at `i`.
    pub(super) fn primary_start(&self, mut i: usize) -> usize {
        loop {
            let start = match self.kind(i) {
                Some(Kind::Close) => {
                    let open = self.lexed.tokens[i].pair as usize;
                    if self.kind(open) == Some(Kind::Interp) {
                        // An f-string's interpolations follow its string token.
                        let mut s = open;
                        while s > 0 && self.kind(s) != Some(Kind::Str) {
                            s -= 1;
                        }
                        self.string_start(s)
                    } else if self.follows(open) && self.ends_primary(open - 1) {
                        // A call or subscript of what comes before.
                        i = open - 1;
                        continue;
                    } else {
                        open
                    }
                }
                Some(Kind::Str) => self.string_start(i),
                _ => i,
            };
            if start >= 2
                && self.follows(start)
                && self.is(start - 1, Kind::Op, ".")
                && self.ends_primary(start - 2)
            {
                i = start - 2;
                continue;
            }
            return start;
        }
    }

    /// The first of adjacent string literals (`"a" f"{b}" "c"` is one expression).
    fn string_start(&self, mut s: usize) -> usize {
        while self.follows(s) {
            let prev = s - 1;
            match self.kind(prev) {
                Some(Kind::Str) => s = prev,
                Some(Kind::Close) => {
                    let open = self.lexed.tokens[prev].pair as usize;
                    if self.kind(open) != Some(Kind::Interp) {
                        break;
                    }
                    let mut p = open;
                    while p > 0 && self.kind(p) != Some(Kind::Str) {
                        p -= 1;
                    }
                    s = p;
                }
                _ => break,
            }
        }
        s
    }

    /// The start of the left operand of a `@` (or `*`, `/`, `//`, `%`) whose left operand
    /// ends at `i`: operators of the same precedence, unary signs, powers and `await`.
    fn term_start(&self, mut i: usize) -> usize {
        loop {
            let mut s = self.primary_start(i);
            loop {
                if !self.follows(s) {
                    return s;
                }
                let p = s - 1;
                let t = self.text(p);
                let unary = matches!(t, "-" | "+" | "~")
                    && self.kind(p) == Some(Kind::Op)
                    && !(p > 0 && self.ends_primary(p - 1));
                if unary || self.is(p, Kind::Name, "await") {
                    s = p;
                } else {
                    break;
                }
            }
            let p = s - 1;
            if self.kind(p) == Some(Kind::Op)
                && matches!(self.text(p), "*" | "/" | "//" | "%" | "@" | "**")
                && self.follows(p)
            {
                i = p - 1;
                continue;
            }
            return s;
        }
    }

    /// The last token of the factor starting at `i` (a right operand of `@`).
    fn factor_end(&self, mut i: usize) -> usize {
        loop {
            while self.kind(i) == Some(Kind::Op) && matches!(self.text(i), "-" | "+" | "~")
                || self.is(i, Kind::Name, "await")
            {
                i += 1;
            }
            let mut end = match self.kind(i) {
                Some(Kind::Open) => self.lexed.tokens[i].pair as usize,
                Some(Kind::Str) => self.string_end(i),
                _ => i,
            };
            // Trailers: `.name`, calls and subscripts.
            loop {
                if self.is(end + 1, Kind::Op, ".") && self.name(end + 2) {
                    end += 2;
                } else if self.kind(end + 1) == Some(Kind::Open)
                    && matches!(self.text(end + 1), "(" | "[")
                {
                    end = self.lexed.tokens[end + 1].pair as usize;
                } else {
                    break;
                }
            }
            if self.is(end + 1, Kind::Op, "**") {
                i = end + 2;
                continue;
            }
            return end;
        }
    }

    /// The last token of adjacent string literals starting at `s`, interpolations included.
    fn string_end(&self, s: usize) -> usize {
        let mut end = s;
        loop {
            match self.kind(end + 1) {
                Some(Kind::Str) => end += 1,
                Some(Kind::Interp) => end = self.lexed.tokens[end + 1].pair as usize,
                _ => return end,
            }
        }
    }

    /// Every import statement, in order.
    pub(super) fn aliases(&self) -> Aliases {
        let mut aliases = Aliases::default();
        let n = self.lexed.tokens.len();
        for i in 0..n {
            if !self.is(i, Kind::Name, "import") {
                continue;
            }
            // `from MODULE import …`: the module is the names and dots back to `from`.
            let mut m = i;
            while self.follows(m)
                && (self.name(m - 1) && !KEYWORDS.contains(&self.text(m - 1))
                    || self.kind(m - 1) == Some(Kind::Op)
                        && matches!(self.text(m - 1), "." | "..."))
            {
                m -= 1;
            }
            let from = m < i && self.follows(m) && self.is(m - 1, Kind::Name, "from");
            let module = from.then(|| self.slice(m, i - 1));
            let mut j = i + 1;
            let end = match self.kind(j) {
                Some(Kind::Open) => {
                    let close = self.lexed.tokens[j].pair as usize;
                    j += 1;
                    close
                }
                _ => self.statement_end(j),
            };
            if let Some(module) = module
                && self.is(j, Kind::Op, "*")
            {
                aliases.import_all(module);
                continue;
            }
            while j < end {
                // A dotted name, maybe `as` a name, then a comma.
                let first = j;
                while self.is(j + 1, Kind::Op, ".") && self.name(j + 2) {
                    j += 2;
                }
                if !self.name(first) {
                    break;
                }
                let name = self.slice(first, j);
                let alias = (self.is(j + 1, Kind::Name, "as") && self.name(j + 2)).then(|| {
                    j += 2;
                    self.text(j)
                });
                match module {
                    Some(module) => aliases.import_from(module, name, alias),
                    None => aliases.import(name, alias),
                }
                j += 1;
                if self.is(j, Kind::Op, ",") {
                    j += 1;
                }
            }
        }
        aliases
    }

    /// Where the statement holding token `i` ends: its logical line's end, or a `;`.
    pub(super) fn statement_end(&self, i: usize) -> usize {
        let lines = &self.lexed.lines;
        let at = lines.partition_point(|l| l.end <= i);
        let line_end = lines
            .get(at)
            .filter(|l| l.start <= i)
            .map_or(self.lexed.tokens.len(), |l| l.end);
        (i..line_end)
            .find(|&k| self.is(k, Kind::Op, ";"))
            .unwrap_or(line_end)
    }
}

fn line(toks: &[super::tokens::Token], i: usize) -> usize {
    toks[i].line as usize
}
