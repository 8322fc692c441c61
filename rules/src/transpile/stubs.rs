//! Stubs in generated Rust: code a transpiler wrote in place of a translation, which
//! compiles and runs and computes nothing of the original. "Transpiled" hides them; only
//! a behavioural check would catch them. Found on real output:
//!
//! - decy writes a stand-in for each C library function a file calls (`atoi` returning
//!   0, `exit` and `fclose` doing nothing), and a zeroed array for a table it could not
//!   translate (`crctable`, 256 CRC constants, became `[0u32; 256]`);
//! - depyler writes `LazyLock::new(|| Vec::new())` for module-level tables
//!   (python-slugify's `_CYRILLIC`, `_GERMAN`, …);
//! - and `todo!()` / `unimplemented!()` where either gives up.
//!
//! The source, when given, tells a stand-in from a translation (a function the source
//! defines is its translation; one it only calls is the tool's stand-in), gives each stub
//! the source line it stands for, and says whether an empty table had elements there.
//! The tools' own helpers (depyler's `DepylerValue` methods, which the source neither
//! defines nor calls) are not stubs.

use std::collections::HashSet;
use std::fmt;

use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::Visit;

/// The language of the source a Rust file was generated from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    C,
    Other,
}

impl Language {
    /// By the source file's extension.
    pub fn of_path(path: &str) -> Language {
        match path.rsplit_once('.').map(|(_, e)| e) {
            Some("py" | "pyw") => Language::Python,
            Some("c" | "h") => Language::C,
            _ => Language::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StubKind {
    /// A function of the source whose Rust ignores every parameter and returns a constant.
    Constant,
    /// A function the source only calls (a library function), written by the tool as a
    /// constant: the call now does nothing.
    StandIn,
    /// `todo!()` or `unimplemented!()`.
    Unfinished,
    /// An empty collection (or a zeroed array) where the source has a literal table.
    EmptyTable,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stub {
    pub kind: StubKind,
    /// The function or static it is.
    pub name: String,
    /// Its line in the Rust file (1-based).
    pub rust_line: usize,
    /// The line of the source it stands for: the definition, or for a stand-in the first
    /// call; `None` when unknown.
    pub source_line: Option<usize>,
}

impl fmt::Display for Stub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match self.kind {
            StubKind::Constant => {
                write!(f, "{name}() ignores its parameters and returns a constant")
            }
            StubKind::StandIn => write!(f, "{name}() is a stand-in that does nothing"),
            StubKind::Unfinished => write!(f, "{name} is left unfinished (todo!/unimplemented!)"),
            StubKind::EmptyTable => write!(f, "{name} is empty where the source has a table"),
        }
    }
}

/// What [`find`] found: the stubs, and the items it could not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Found {
    pub stubs: Vec<Stub>,
    /// First lines of top-level items that do not parse as Rust (a tool's output often
    /// does not compile; the rest of the file is still read).
    pub unread: Vec<usize>,
}

/// The stubs in the generated Rust file `rust`, transpiled from `source` (both relative
/// to the workspace `root`): what `batuta status --files` and the report show. A source
/// that cannot be read only costs the source lines.
pub fn in_files(root: &std::path::Path, source: &str, rust: &str) -> std::io::Result<Found> {
    let generated = std::fs::read_to_string(root.join(rust))?;
    let text = std::fs::read_to_string(root.join(source)).ok();
    Ok(find(
        &generated,
        text.as_deref().map(|t| (t, Language::of_path(source))),
    ))
}

/// The stubs in `rust`, given the source it was generated from (its text and language)
/// when known. Without the source, only `todo!()`/`unimplemented!()` and constant
/// functions with parameters are found, with no source line.
pub fn find(rust: &str, source: Option<(&str, Language)>) -> Found {
    let src = source.map(|(text, lang)| Source { text, lang });
    let mut found = Found::default();
    match syn::parse_file(rust) {
        Ok(file) => {
            for item in &file.items {
                item_stubs(item, src.as_ref(), 0, &mut found.stubs);
            }
        }
        // Item by item: one that does not parse costs only itself.
        Err(_) => {
            for (first, text) in top_level_items(rust) {
                match syn::parse_str::<syn::Item>(&text) {
                    Ok(item) => item_stubs(&item, src.as_ref(), first - 1, &mut found.stubs),
                    Err(_) => found.unread.push(first),
                }
            }
        }
    }
    found.stubs.sort_by_key(|s| s.rust_line);
    found
}

/// The file cut into top-level items (first line, text), by the braces and semicolons
/// that end them at depth 0. Braces in string literals count too; a cut in the wrong
/// place only makes an item unreadable.
fn top_level_items(rust: &str) -> Vec<(usize, String)> {
    let mut items = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut depth: i64 = 0;
    for (i, line) in rust.lines().enumerate() {
        let t = line.trim();
        if current.is_none() && (t.is_empty() || t.starts_with("//")) {
            continue;
        }
        let (_, text) = current.get_or_insert_with(|| (i + 1, String::new()));
        text.push_str(line);
        text.push('\n');
        depth += line.matches('{').count() as i64 - line.matches('}').count() as i64;
        if depth <= 0 && (t.ends_with('}') || t.ends_with(';')) {
            items.extend(current.take());
            depth = 0;
        }
    }
    items.extend(current);
    items
}

/// `offset`: lines before the text the item was parsed from.
fn item_stubs(item: &syn::Item, src: Option<&Source<'_>>, offset: usize, out: &mut Vec<Stub>) {
    let start = out.len();
    match item {
        syn::Item::Fn(f) => fn_stub(&f.sig, &f.block, false, src, out),
        syn::Item::Impl(i) => {
            for it in &i.items {
                if let syn::ImplItem::Fn(f) = it {
                    fn_stub(&f.sig, &f.block, true, src, out);
                }
            }
        }
        syn::Item::Mod(m) => {
            for it in m.content.iter().flat_map(|(_, items)| items) {
                item_stubs(it, src, 0, out);
            }
        }
        syn::Item::Static(s) => table_stub(&s.ident, &s.expr, src, out),
        syn::Item::Const(c) => table_stub(&c.ident, &c.expr, src, out),
        _ => {}
    }
    for s in &mut out[start..] {
        s.rust_line += offset;
    }
}

fn fn_stub(
    sig: &syn::Signature,
    block: &syn::Block,
    method: bool,
    src: Option<&Source<'_>>,
    out: &mut Vec<Stub>,
) {
    let name = sig.ident.to_string();
    let rust_line = sig.fn_token.span.start().line;
    let defined = src.and_then(|s| s.definition(&name));
    // The tool's own helpers are neither defined nor called by the source; methods stand
    // only for methods the source defines.
    if method && src.is_some() && defined.is_none() {
        return;
    }
    if let Some(line) = unfinished(block) {
        out.push(Stub {
            kind: StubKind::Unfinished,
            name,
            rust_line: line,
            source_line: defined,
        });
        return;
    }
    if !returns_constant(block) {
        return;
    }
    let params = parameters(sig);
    if !params.is_empty() && uses_any(block, &params) {
        return;
    }
    let (kind, source_line) = match (src, defined) {
        (None, _) if params.is_empty() => return,
        (None, _) => (StubKind::Constant, None),
        // A constant getter of the source translates to a constant function.
        (Some(_), Some(_)) if params.is_empty() => return,
        (Some(_), Some(line)) => (StubKind::Constant, Some(line)),
        (Some(s), None) => match s.first_call(&name) {
            Some(line) => (StubKind::StandIn, Some(line)),
            None => return,
        },
    };
    out.push(Stub {
        kind,
        name,
        rust_line,
        source_line,
    });
}

fn table_stub(ident: &syn::Ident, expr: &syn::Expr, src: Option<&Source<'_>>, out: &mut Vec<Stub>) {
    let Some(src) = src else { return };
    if !is_empty_collection(expr) {
        return;
    }
    let name = ident.to_string();
    if let Some(line) = src.table(&name) {
        out.push(Stub {
            kind: StubKind::EmptyTable,
            name,
            rust_line: ident.span().start().line,
            source_line: Some(line),
        });
    }
}

/// The line of the first `todo!`/`unimplemented!` in the block.
fn unfinished(block: &syn::Block) -> Option<usize> {
    struct Find(Option<usize>);
    impl<'a> Visit<'a> for Find {
        fn visit_macro(&mut self, m: &'a syn::Macro) {
            let last = m.path.segments.last().map(|s| s.ident.to_string());
            if self.0.is_none() && matches!(last.as_deref(), Some("todo" | "unimplemented")) {
                self.0 = Some(m.path.span().start().line);
            }
        }
    }
    let mut f = Find(None);
    f.visit_block(block);
    f.0
}

/// The names a function's parameters bind.
fn parameters(sig: &syn::Signature) -> Vec<String> {
    struct Names(Vec<String>);
    impl<'a> Visit<'a> for Names {
        fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
            self.0.push(p.ident.to_string());
            syn::visit::visit_pat_ident(self, p);
        }
    }
    let mut n = Names(Vec::new());
    for arg in &sig.inputs {
        if let syn::FnArg::Typed(t) = arg {
            n.visit_pat(&t.pat);
        }
    }
    n.0.retain(|p| p != "_" && !p.starts_with('_'));
    n.0
}

/// Whether the block mentions any of `names` (in code or inside a macro's tokens).
fn uses_any(block: &syn::Block, names: &[String]) -> bool {
    struct Idents(HashSet<String>);
    impl<'a> Visit<'a> for Idents {
        fn visit_ident(&mut self, i: &'a proc_macro2::Ident) {
            self.0.insert(i.to_string());
        }
        fn visit_macro(&mut self, m: &'a syn::Macro) {
            tokens(&m.tokens, &mut self.0);
        }
    }
    fn tokens(ts: &TokenStream, into: &mut HashSet<String>) {
        for t in ts.clone() {
            match t {
                TokenTree::Ident(i) => {
                    into.insert(i.to_string());
                }
                TokenTree::Group(g) => tokens(&g.stream(), into),
                _ => {}
            }
        }
    }
    let mut v = Idents(HashSet::new());
    v.visit_block(block);
    names.iter().any(|n| v.0.contains(n))
}

/// A body that is empty, or only returns a constant.
fn returns_constant(block: &syn::Block) -> bool {
    match block.stmts.as_slice() {
        [] => true,
        [syn::Stmt::Expr(e, _)] => match e {
            syn::Expr::Return(r) => r.expr.as_deref().is_none_or(is_constant),
            e => is_constant(e),
        },
        _ => false,
    }
}

fn is_constant(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Lit(_) => true,
        syn::Expr::Unary(u) => is_constant(&u.expr),
        syn::Expr::Paren(p) => is_constant(&p.expr),
        syn::Expr::Cast(c) => is_constant(&c.expr),
        syn::Expr::Reference(r) => is_constant(&r.expr),
        syn::Expr::Tuple(t) => t.elems.is_empty(),
        syn::Expr::Path(p) => p.path.is_ident("None"),
        // `std::ptr::null_mut()`, `Default::default()`, `String::new()`.
        syn::Expr::Call(c) if c.args.is_empty() => match c.func.as_ref() {
            syn::Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
                matches!(
                    s.ident.to_string().as_str(),
                    "null" | "null_mut" | "default" | "new"
                )
            }),
            _ => false,
        },
        _ => false,
    }
}

/// `Vec::new()`, `vec![]`, `HashMap::new()`, `[]`, `[0; N]`, `""`, and any of them inside
/// `LazyLock::new(|| …)`.
fn is_empty_collection(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Call(c) => {
            let last = match c.func.as_ref() {
                syn::Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                _ => None,
            };
            match (last.as_deref(), c.args.first()) {
                (Some("new"), None) => true,
                (Some("new"), Some(syn::Expr::Closure(cl))) => is_empty_collection(&cl.body),
                _ => false,
            }
        }
        syn::Expr::Macro(m) => m.mac.path.is_ident("vec") && m.mac.tokens.is_empty(),
        syn::Expr::Array(a) => a.elems.is_empty(),
        syn::Expr::Repeat(r) => matches!(r.expr.as_ref(), syn::Expr::Lit(l) if is_zero(&l.lit)),
        syn::Expr::Paren(p) => is_empty_collection(&p.expr),
        _ => false,
    }
}

fn is_zero(l: &syn::Lit) -> bool {
    match l {
        syn::Lit::Int(i) => i.base10_digits() == "0",
        syn::Lit::Float(f) => {
            f.base10_digits()
                .trim_end_matches('0')
                .trim_end_matches('.')
                == "0"
        }
        syn::Lit::Bool(b) => !b.value,
        _ => false,
    }
}

/// The source, read line by line for what a stub stands for.
struct Source<'s> {
    text: &'s str,
    lang: Language,
}

impl Source<'_> {
    /// The line where the source defines a function of this name.
    fn definition(&self, name: &str) -> Option<usize> {
        let def = format!("def {name}(");
        self.lines().find_map(|(n, line)| {
            let t = line.trim_start();
            let found = match self.lang {
                Language::Python => t.starts_with(&def) || t.starts_with(&format!("async {def}")),
                // A definition: at the start of a line, only type words before the
                // name, no `;` after the parameters (`int my_mvaddstr(int y, …)`, `{`).
                Language::C => {
                    calls(line, name).is_some_and(|at| declarator(&line[..at]))
                        && !line.starts_with([' ', '\t'])
                        && !line.trim_end().ends_with(';')
                }
                Language::Other => false,
            };
            found.then_some(n)
        })
    }

    /// The first line that calls `name(` outside a comment.
    fn first_call(&self, name: &str) -> Option<usize> {
        self.lines().find_map(|(n, line)| {
            let code = match self.lang {
                Language::Python => line.split('#').next().unwrap_or(line),
                _ => line.split("//").next().unwrap_or(line),
            };
            let t = code.trim_start();
            if t.starts_with('*') || t.starts_with("/*") || t.starts_with("#include") {
                return None;
            }
            calls(code, name).map(|_| n)
        })
    }

    /// The line where the source gives `name` a literal table with elements.
    fn table(&self, name: &str) -> Option<usize> {
        self.lines().find_map(|(n, line)| {
            let t = line.trim_start();
            let rest = match self.lang {
                // `NAME = [`, `NAME: list[…] = {`
                Language::Python => t.strip_prefix(name)?,
                // `static unsigned long crctable[] = {`: a declaration, not `gn[1] = …`.
                _ => {
                    let at = find_word(t, name)?;
                    if at == 0 || !declarator(&t[..at]) {
                        return None;
                    }
                    &t[at + name.len()..]
                }
            };
            let rest = rest.trim_start();
            let value = match self.lang {
                Language::Python => {
                    // `NAME = [`, `NAME: list[…] = {`
                    let (_, v) = rest.split_once('=')?;
                    if !(rest.starts_with('=') || rest.starts_with(':')) || v.starts_with('=') {
                        return None;
                    }
                    v.trim_start()
                }
                Language::C => {
                    let rest = rest.strip_prefix('[')?;
                    let (_, after) = rest.split_once(']')?;
                    let value = after.trim_start().strip_prefix('=')?.trim_start();
                    value.starts_with('{').then_some(value)?
                }
                Language::Other => return None,
            };
            let open = value.chars().next()?;
            let close = match open {
                '[' => ']',
                '{' => '}',
                '(' => ')',
                _ => return None,
            };
            // Elements on this line or the next: not `[]`, `{}`, `{ 0 }`.
            let inner = value[1..].trim_start();
            let empty = inner.starts_with(close)
                || inner
                    .trim_end_matches([';', ' '])
                    .trim_end_matches(close)
                    .trim()
                    == "0";
            (!empty).then_some(n)
        })
    }

    fn lines(&self) -> impl Iterator<Item = (usize, &str)> {
        self.text.lines().enumerate().map(|(i, l)| (i + 1, l))
    }
}

/// Whether C text before a name is only a declaration's type (`static unsigned long `,
/// `char *`, nothing for K&R's name at the start of a line): no statement keyword, no
/// operator, no preprocessor line.
fn declarator(before: &str) -> bool {
    before
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '*' || c.is_whitespace())
        && !before.split_whitespace().any(|w| {
            matches!(
                w,
                "return" | "if" | "while" | "for" | "switch" | "case" | "else" | "do" | "sizeof"
            )
        })
}

/// Where `name(` (or `name (`) stands as a whole word in `line`.
fn calls(line: &str, name: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find_word(&line[from..], name) {
        let at = from + at;
        if line[at + name.len()..].trim_start().starts_with('(') {
            return Some(at);
        }
        from = at + name.len();
    }
    None
}

/// The first place `word` stands in `s` as a whole identifier.
fn find_word(s: &str, word: &str) -> Option<usize> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    s.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = s[..i].chars().next_back().is_none_or(|c| !ident(c));
        let after = s[i + word.len()..].chars().next().is_none_or(|c| !ident(c));
        before && after
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const C_SOURCE: &str = "#include <stdlib.h>\nstatic unsigned long crctable[] = {\n  0x00000000L, 0x77073096L,\n};\nint twice(int n)\n{\n  return atoi(\"2\") * n;\n}\nint zero(int n)\n{\n  return 0;\n}\n";

    #[test]
    fn decy_stand_ins_tables_and_constants() {
        let rust = "static mut crctable: [u32; 256] = [0u32; 256];\nfn atoi(mut nptr: &str) -> i32 {\n    return 0;\n}\nfn exit(mut status: i32) {\n}\nfn twice(mut n: i32) -> i32 {\n    return atoi(\"2\") * n;\n}\nfn zero(mut n: i32) -> i32 {\n    return 0;\n}\n";
        let stubs = find(rust, Some((C_SOURCE, Language::C))).stubs;
        let got: Vec<(StubKind, &str, usize, Option<usize>)> = stubs
            .iter()
            .map(|s| (s.kind.clone(), s.name.as_str(), s.rust_line, s.source_line))
            .collect();
        assert_eq!(
            got,
            [
                (StubKind::EmptyTable, "crctable", 1, Some(2)),
                (StubKind::StandIn, "atoi", 2, Some(7)),
                (StubKind::Constant, "zero", 10, Some(9)),
            ],
            "exit is never called by the source, so it is decy's, not a stub of it"
        );
    }

    #[test]
    fn a_parameter_used_in_a_macro_counts() {
        let rust =
            "fn show(x: i32) -> i32 { println!(\"{}\", x); 0 }\nfn f(x: i32) -> i32 { todo!() }\n";
        let stubs = find(rust, None).stubs;
        assert_eq!(stubs.len(), 1);
        assert_eq!(stubs[0].kind, StubKind::Unfinished);
        assert_eq!(stubs[0].name, "f");
    }

    #[test]
    fn depyler_empty_tables_and_its_own_helpers() {
        let py = "_GERMAN = [        # package defaults:\n    (u'ä', u'ae'),\n]\nEMPTY = []\n";
        let rust = "pub static _GERMAN: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| Vec::new());\npub static EMPTY: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| Vec::new());\nstruct V;\nimpl V { pub fn is_none(&self) -> bool { false } }\n";
        let stubs = find(rust, Some((py, Language::Python))).stubs;
        assert_eq!(stubs.len(), 1, "{stubs:?}");
        assert_eq!((stubs[0].rust_line, stubs[0].source_line), (1, Some(1)));
    }

    #[test]
    fn items_that_do_not_parse_cost_only_themselves() {
        let rust = "fn ok() {}\n\nfn broken( {\n}\nfn f(x: i32) -> i32 {\n    todo!()\n}\n";
        let found = find(rust, None);
        assert_eq!(found.unread, [3]);
        assert_eq!(found.stubs.len(), 1);
        assert_eq!(found.stubs[0].rust_line, 6);
    }
}
