//! Expressions: what a lambda, a conditional expression, a comprehension and a run of
//! boolean operators add to a function's complexity, each measured where tree-sitter's tree
//! would have it.

use super::tokens::Kind;
use super::{MAX_DEPTH, Measure, Unsupported};

impl Measure<'_> {
    /// Expressions separated by `,`, `;`, `=`, `:` and the like (each is measured on its
    /// own: none of them is a node that carries nesting or boolean runs across).
    pub(super) fn expr_list(
        &mut self,
        s: usize,
        e: usize,
        n: u32,
        f: Option<usize>,
    ) -> Result<(), Unsupported> {
        if f.is_none() {
            return Ok(());
        }
        let mut lambdas = 0;
        let (mut from, mut i) = (s, s);
        while i < e {
            if self.kw(i, "lambda") {
                lambdas += 1;
            } else if lambdas > 0 {
                if self.op(i, ":") {
                    lambdas -= 1;
                }
            } else if self.splits(i) {
                self.expr(from, i, n, f)?;
                from = i + 1;
            }
            i = self.skip(i);
        }
        self.expr(from, e, n, f)
    }

    fn splits(&self, i: usize) -> bool {
        let t = self.text(i);
        match self.toks[i].kind {
            Kind::Op => {
                matches!(t, "," | ";" | ":" | "=" | ":=" | "->")
                    || (t.len() > 1 && t.ends_with('=') && !matches!(t, "==" | "!=" | "<=" | ">="))
            }
            Kind::Name => matches!(t, "as" | "from" | "import"),
            _ => false,
        }
    }

    /// One expression: a lambda, a conditional expression, or a run of boolean operators.
    pub(super) fn expr(
        &mut self,
        mut s: usize,
        e: usize,
        n: u32,
        f: Option<usize>,
    ) -> Result<(), Unsupported> {
        // Words that only introduce what follows (`return x`, `yield from y`, `*args`).
        while s < e
            && (matches!(self.toks[s].kind, Kind::Name)
                && matches!(
                    self.text(s),
                    "return"
                        | "yield"
                        | "await"
                        | "del"
                        | "assert"
                        | "raise"
                        | "global"
                        | "nonlocal"
                        | "pass"
                        | "break"
                        | "continue"
                        | "print"
                        | "exec"
                        | "type"
                )
                || self.op(s, "*")
                || self.op(s, "**"))
        {
            s += 1;
        }
        if s >= e {
            return Ok(());
        }
        self.deeper(|m| m.expr_inner(s, e, n, f))
    }

    /// Run `measure` one level deeper; past [`MAX_DEPTH`] the file is left to tree-sitter.
    fn deeper(
        &mut self,
        measure: impl FnOnce(&mut Self) -> Result<(), Unsupported>,
    ) -> Result<(), Unsupported> {
        if self.depth >= MAX_DEPTH {
            return Err(Unsupported);
        }
        self.depth += 1;
        let r = measure(self);
        self.depth -= 1;
        r
    }

    fn expr_inner(
        &mut self,
        s: usize,
        e: usize,
        n: u32,
        f: Option<usize>,
    ) -> Result<(), Unsupported> {
        if self.kw(s, "lambda") {
            // A lambda nests what it holds, its parameters' defaults included.
            let mut pending = 0;
            let mut i = s;
            let colon = loop {
                if i >= e {
                    return Err(Unsupported);
                }
                if self.kw(i, "lambda") {
                    pending += 1;
                } else if self.op(i, ":") {
                    pending -= 1;
                    if pending == 0 {
                        break i;
                    }
                }
                i = self.skip(i);
            };
            self.expr_list(s + 1, colon, n + 1, f)?;
            return self.expr(colon + 1, e, n + 1, f);
        }
        let Some(cond) = self.find(s, e, |i| self.kw(i, "if")) else {
            return self.boolean_run(s, e, n, f);
        };
        // `a if c else b`: its three parts are nested in it.
        let Some(other) = self.find(cond + 1, e, |i| self.kw(i, "else")) else {
            return Err(Unsupported);
        };
        self.add(f, 1, 1 + n);
        self.boolean_run(s, cond, n + 1, f)?;
        self.boolean_run(cond + 1, other, n + 1, f)?;
        self.expr(other + 1, e, n + 1, f)
    }

    /// Operands joined by `and` and `or`. Each operator is a decision; a run of like ones
    /// counts once, and as tree-sitter nests them (`or` binds looser, so each group of
    /// `and`s is a run of its own under the `or`s), that is one for the `or`s and one per
    /// group of `and`s.
    fn boolean_run(
        &mut self,
        s: usize,
        e: usize,
        n: u32,
        f: Option<usize>,
    ) -> Result<(), Unsupported> {
        let (mut ors, mut ands, mut groups, mut in_group) = (0, 0, 0, false);
        let mut i = s;
        while i < e {
            let t = self.toks[i];
            match t.kind {
                Kind::Name => match self.text(i) {
                    "or" => {
                        ors += 1;
                        groups += u32::from(in_group);
                        in_group = false;
                    }
                    "and" => {
                        ands += 1;
                        in_group = true;
                    }
                    "lambda" | "if" | "else" | "for" => return Err(Unsupported),
                    _ => {}
                },
                Kind::Open | Kind::Interp => self.group(i, n, f)?,
                _ => {}
            }
            i = self.skip(i);
        }
        groups += u32::from(in_group);
        self.add(f, ors + ands, u32::from(ors > 0) + groups);
        Ok(())
    }

    /// The inside of brackets: a comprehension, or a list of expressions.
    fn group(&mut self, open: usize, n: u32, f: Option<usize>) -> Result<(), Unsupported> {
        let (s, e) = (open + 1, self.toks[open].pair as usize);
        self.deeper(|m| match m.find(s, e, |i| m.kw(i, "for")) {
            Some(first) => m.comprehension(s, first, e, n, f),
            None => m.expr_list(s, e, n, f),
        })
    }

    /// `element for target in iterable if condition …`: each `for` and `if` clause is a
    /// decision that does not nest.
    fn comprehension(
        &mut self,
        s: usize,
        first_for: usize,
        e: usize,
        n: u32,
        f: Option<usize>,
    ) -> Result<(), Unsupported> {
        let clause_start = |m: &Self, i: usize| m.kw(i, "for") || m.kw(i, "if") || m.kw(i, "async");
        let element_end = if first_for > s && self.kw(first_for - 1, "async") {
            first_for - 1
        } else {
            first_for
        };
        self.expr_list(s, element_end, n, f)?;
        let mut i = first_for;
        while i < e {
            if self.kw(i, "async") {
                i += 1;
                continue;
            }
            let is_for = self.kw(i, "for");
            if !is_for && !self.kw(i, "if") {
                return Err(Unsupported);
            }
            self.add(f, 1, 1);
            let part = i + 1;
            if is_for {
                let Some(within) = self.find(part, e, |j| self.kw(j, "in")) else {
                    return Err(Unsupported);
                };
                self.expr_list(part, within, n, f)?;
                let end = self
                    .find(within + 1, e, |j| clause_start(self, j))
                    .unwrap_or(e);
                self.boolean_run(within + 1, end, n, f)?;
                i = end;
            } else {
                let end = self.find(part, e, |j| clause_start(self, j)).unwrap_or(e);
                self.boolean_run(part, end, n, f)?;
                i = end;
            }
        }
        Ok(())
    }
}
