//! Cyclomatic and cognitive complexity per function, from a tree-sitter tree.
//!
//! Cyclomatic (McCabe): 1 + one per decision: `if`/`elif`/`else if`, loops, `except`/`catch`,
//! each `case` of a switch or match, conditional expressions, each `and`/`or`/`&&`/`||`,
//! comprehension clauses.
//!
//! Cognitive (after SonarSource's definition): +1 for each `if`, `else if`, `else`, loop,
//! `catch`, switch/match, conditional expression and `goto`, plus the nesting depth for the
//! ones that nest (`if`, loops, `catch`, switch, conditional expressions); +1 for each run
//! of like boolean operators (`a and b and c` is one, `a and b or c` two). Nested functions
//! are measured on their own; lambdas add nesting to what they hold.
//!
//! Most Python files are measured to this same definition from their tokens instead
//! ([`super::python`]), which is much faster than a parse; this is the definition both meet.

use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Tree};

use std::rc::Rc;
use std::sync::OnceLock;

use super::syntax::{Grammar, text, walk_named};

/// Deeper trees than this (generated code) are measured down to this depth only.
const MAX_DEPTH: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    /// Qualified by enclosing classes and functions: `Parser.parse`, `geo::Point::norm`.
    pub name: String,
    pub line: usize,
    pub lines: usize,
    pub cyclomatic: u32,
    pub cognitive: u32,
    /// A docstring (Python) or a comment right above the definition.
    pub documented: bool,
    /// Lines the docstring spans (0 without one): documentation, not length, for the TDG.
    #[serde(default)]
    pub docstring: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cat {
    Func,
    Scope,
    Branch,
    ElseIf,
    Else,
    Switch,
    Case,
    Clause,
    Bool,
    Jump,
    Nest,
    /// Parentheses: a new run of boolean operators starts inside.
    Paren,
    /// C and C++ nodes whose meaning depends on their neighbours.
    CIf,
    CElse,
    CCase,
    Other,
}

/// The category of a named node kind, by name (looked up once per grammar, see [`table`]).
fn by_name(g: Grammar, k: &str) -> Cat {
    if k == "parenthesized_expression" {
        return Cat::Paren;
    }
    match g {
        Grammar::Python => match k {
            "function_definition" => Cat::Func,
            "class_definition" => Cat::Scope,
            "if_statement"
            | "for_statement"
            | "while_statement"
            | "except_clause"
            | "except_group_clause"
            | "conditional_expression" => Cat::Branch,
            "elif_clause" => Cat::ElseIf,
            "else_clause" => Cat::Else,
            "match_statement" => Cat::Switch,
            "case_clause" => Cat::Case,
            "for_in_clause" | "if_clause" => Cat::Clause,
            "boolean_operator" => Cat::Bool,
            "lambda" => Cat::Nest,
            _ => Cat::Other,
        },
        Grammar::C | Grammar::Cpp => match k {
            "function_definition" => Cat::Func,
            "class_specifier" | "struct_specifier" | "namespace_definition" => Cat::Scope,
            "if_statement" => Cat::CIf,
            "else_clause" => Cat::CElse,
            "case_statement" => Cat::CCase,
            "for_statement"
            | "for_range_loop"
            | "while_statement"
            | "do_statement"
            | "catch_clause"
            | "conditional_expression" => Cat::Branch,
            "switch_statement" => Cat::Switch,
            "binary_expression" => Cat::Bool,
            "goto_statement" => Cat::Jump,
            "lambda_expression" => Cat::Nest,
            _ => Cat::Other,
        },
        Grammar::Bash => match k {
            "function_definition" => Cat::Func,
            "if_statement"
            | "for_statement"
            | "c_style_for_statement"
            | "while_statement"
            | "ternary_expression" => Cat::Branch,
            "elif_clause" => Cat::ElseIf,
            "else_clause" => Cat::Else,
            "case_statement" => Cat::Switch,
            "case_item" => Cat::Case,
            "list" | "binary_expression" => Cat::Bool,
            _ => Cat::Other,
        },
    }
}

/// Categories by node kind id, built once per grammar: comparing ids, not kind names,
/// keeps the walk cheap.
fn table(g: Grammar) -> &'static [Cat] {
    static TABLES: [OnceLock<Vec<Cat>>; 4] = [const { OnceLock::new() }; 4];
    TABLES[g.index()].get_or_init(|| {
        let lang = g.language();
        (0..lang.node_kind_count())
            .map(|id| {
                let id = id as u16;
                match lang.node_kind_for_id(id) {
                    Some(name) if lang.node_kind_is_named(id) => by_name(g, name),
                    _ => Cat::Other,
                }
            })
            .collect()
    })
}

fn classify(g: Grammar, n: Node<'_>) -> Cat {
    match table(g)
        .get(usize::from(n.kind_id()))
        .copied()
        .unwrap_or(Cat::Other)
    {
        Cat::CIf if n.parent().is_some_and(|p| p.kind() == "else_clause") => Cat::ElseIf,
        Cat::CIf => Cat::Branch,
        // `else if`: the inner `if` counts.
        Cat::CElse if n.named_child(0).is_some_and(|c| c.kind() == "if_statement") => Cat::Other,
        Cat::CElse => Cat::Else,
        Cat::CCase if n.child(0).is_some_and(|c| c.kind() == "case") => Cat::Case,
        Cat::CCase => Cat::Other,
        other => other,
    }
}

/// What a node's children inherit in the walk of [`functions`].
#[derive(Clone)]
struct Scope<'s> {
    /// Qualified name of the enclosing classes and functions, with a trailing separator.
    prefix: Rc<str>,
    /// The function (index in the result) whose complexity the children add to; `None`
    /// outside functions and in classes nested in them (measured on their own).
    func: Option<usize>,
    nesting: u32,
    /// The boolean operator right above, for runs of like operators.
    prev_op: Option<&'s str>,
}

/// Add node `n` (of category `cat`, inside function `f`) to `f`'s complexity; returns the
/// nesting and operator its children see.
fn measure<'s>(
    n: Node<'_>,
    cat: Cat,
    src: &'s str,
    f: &mut Function,
    nesting: u32,
    prev_op: Option<&'s str>,
) -> (u32, Option<&'s str>) {
    // Parentheses start a new run of operators.
    let prev_op = if cat == Cat::Paren { None } else { prev_op };
    let mut inner = nesting;
    let mut op_here = None;
    match cat {
        Cat::Branch => {
            f.cyclomatic += 1;
            f.cognitive += 1 + nesting;
            inner = nesting + 1;
        }
        Cat::Switch => {
            f.cognitive += 1 + nesting;
            inner = nesting + 1;
        }
        Cat::ElseIf => {
            f.cyclomatic += 1;
            f.cognitive += 1;
        }
        Cat::Else => f.cognitive += 1,
        Cat::Case => f.cyclomatic += 1,
        Cat::Clause => {
            f.cyclomatic += 1;
            f.cognitive += 1;
        }
        Cat::Bool => {
            let mut prev = prev_op;
            let mut c = n.walk();
            for ch in n.children(&mut c).filter(|ch| !ch.is_named()) {
                let op = text(ch, src);
                if matches!(op, "and" | "or" | "&&" | "||") {
                    f.cyclomatic += 1;
                    if prev != Some(op) {
                        f.cognitive += 1;
                    }
                    prev = Some(op);
                    op_here = Some(op);
                }
            }
        }
        Cat::Jump => f.cognitive += 1,
        Cat::Nest => inner = nesting + 1,
        _ => {}
    }
    (inner, op_here)
}

fn name_of(g: Grammar, n: Node<'_>, src: &str) -> String {
    if let Some(name) = n.child_by_field_name("name") {
        return text(name, src).to_owned();
    }
    // C and C++: the name sits inside the declarator chain.
    let mut d = n.child_by_field_name("declarator");
    let mut hops = 0;
    while let Some(node) = d {
        match node.kind() {
            "identifier"
            | "field_identifier"
            | "qualified_identifier"
            | "destructor_name"
            | "operator_name"
            | "type_identifier" => return text(node, src).to_owned(),
            _ => {}
        }
        hops += 1;
        if hops > 16 {
            break;
        }
        d = node
            .child_by_field_name("declarator")
            .or_else(|| node.named_child(0));
    }
    let _ = g;
    "<anonymous>".to_owned()
}

/// The lines of a Python function's docstring, if it has one.
fn docstring(g: Grammar, n: Node<'_>) -> Option<usize> {
    if g != Grammar::Python {
        return None;
    }
    let s = n.child_by_field_name("body")?.named_child(0)?;
    (s.kind() == "expression_statement" && s.named_child(0).is_some_and(|e| e.kind() == "string"))
        .then(|| s.end_position().row + 1 - s.start_position().row)
}

fn documented(g: Grammar, n: Node<'_>) -> bool {
    if g == Grammar::Python {
        return docstring(g, n).is_some();
    }
    // A comment ending on the line above the definition (or above its template header).
    let mut target = n;
    if let Some(p) = n.parent()
        && p.kind() == "template_declaration"
    {
        target = p;
    }
    target.prev_named_sibling().is_some_and(|prev| {
        prev.kind() == "comment" && prev.end_position().row + 1 >= target.start_position().row
    })
}

/// Every function in the tree, in source order. The `bool` says whether some tree was
/// deeper than batuta measures (the counts below that depth are missing).
///
/// One walk finds the functions and measures them: each node counts for the innermost
/// function around it (a nested function is measured on its own).
pub fn functions(g: Grammar, tree: &Tree, src: &str) -> (Vec<Function>, bool) {
    let sep = if matches!(g, Grammar::Cpp) { "::" } else { "." };
    let mut out: Vec<Function> = Vec::new();
    let top = Scope {
        prefix: Rc::from(""),
        func: None,
        nesting: 0,
        prev_op: None,
    };
    let truncated = walk_named(tree.root_node(), top, MAX_DEPTH, |n, up| {
        let cat = classify(g, n);
        match cat {
            Cat::Func => {
                let name = format!("{}{}", up.prefix, name_of(g, n, src));
                let line = n.start_position().row + 1;
                let prefix = Rc::from(format!("{name}{sep}"));
                out.push(Function {
                    line,
                    lines: n.end_position().row + 2 - line,
                    cyclomatic: 1,
                    cognitive: 0,
                    documented: documented(g, n),
                    docstring: docstring(g, n).unwrap_or(0),
                    name,
                });
                Some(Scope {
                    prefix,
                    func: Some(out.len() - 1),
                    nesting: 0,
                    prev_op: None,
                })
            }
            Cat::Scope => Some(Scope {
                prefix: match n.child_by_field_name("name") {
                    Some(nm) => Rc::from(format!("{}{}{sep}", up.prefix, text(nm, src))),
                    None => up.prefix.clone(),
                },
                func: None,
                nesting: 0,
                prev_op: None,
            }),
            _ => {
                let Some(i) = up.func else {
                    return Some(up.clone());
                };
                let (nesting, prev_op) = measure(n, cat, src, &mut out[i], up.nesting, up.prev_op);
                Some(Scope {
                    prefix: up.prefix.clone(),
                    func: up.func,
                    nesting,
                    prev_op,
                })
            }
        }
    });
    (out, truncated)
}

/// McCabe's bands (REFERENCE.md): 1–10 simple, 11–20 moderate, 21–50 complex, above 50 refactor.
pub fn band(cyclomatic: u32) -> &'static str {
    match cyclomatic {
        0..=10 => "simple",
        11..=20 => "moderate",
        21..=50 => "complex",
        _ => "refactor",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::syntax::parse;

    fn fns(g: Grammar, src: &str) -> Vec<(String, u32, u32, bool)> {
        let t = parse(g, src).unwrap();
        functions(g, &t, src)
            .0
            .into_iter()
            .map(|f| (f.name, f.cyclomatic, f.cognitive, f.documented))
            .collect()
    }

    #[test]
    fn python() {
        let src = r#"
def simple():
    """Docs."""
    return 1

class A:
    def m(self, x):
        if x > 0 and x < 10:          # if: cyc+1 cog+1, and: cyc+1 cog+1
            for i in range(x):        # for: cyc+1 cog+2
                if i % 2:             # if: cyc+1 cog+3
                    pass
        elif x < 0 or x > 100 or x == 5:  # elif cyc+1 cog+1; or or: cyc+2 cog+1
            pass
        else:                         # cog+1
            pass
        return [y for y in range(3) if y]  # for_in, if: cyc+2 cog+2

    def n(self):
        def inner():
            return 1 if True else 2   # ternary: cyc+1 cog+1
        return inner
"#;
        assert_eq!(
            fns(Grammar::Python, src),
            [
                ("simple".into(), 1, 0, true),
                ("A.m".into(), 10, 12, false),
                ("A.n".into(), 1, 0, false),
                ("A.n.inner".into(), 2, 1, false),
            ]
        );
    }

    #[test]
    fn c_else_if_chain_and_switch() {
        let src = r#"
/* adds */
int f(int x) {
    if (x > 1 && x < 5) { return 1; }     /* cyc+2 cog+2 */
    else if (x == 7) { return 2; }         /* cyc+1 cog+1 */
    else { return 3; }                     /* cog+1 */
}
int g(int x) {
    switch (x) {          /* cog+1 */
    case 1: return 1;     /* cyc+1 */
    case 2: return 2;     /* cyc+1 */
    default: return x > 0 ? 1 : 0;  /* ternary cyc+1 cog+1+1 */
    }
}
"#;
        assert_eq!(
            fns(Grammar::C, src),
            [("f".into(), 4, 4, true), ("g".into(), 4, 3, false)]
        );
    }

    #[test]
    fn cpp_methods_are_qualified() {
        let src = "namespace geo {\nclass P {\npublic:\n  int norm() { while (true) { if (x) break; } return 0; }\n  int x;\n};\n}\nint geo::P2::len() const { return 0; }\n";
        assert_eq!(
            fns(Grammar::Cpp, src),
            [
                ("geo::P::norm".into(), 3, 3, false),
                ("geo::P2::len".into(), 1, 0, false)
            ]
        );
    }

    #[test]
    fn bash() {
        let src = "# deploy it\ndeploy() {\n  if [ -f x ]; then\n    a && b || c\n  elif true; then :\n  fi\n  for f in *; do echo $f; done\n}\n";
        // if cyc+1 cog+1; && || cyc+2 cog+2; elif cyc+1 cog+1; for cyc+1 cog+1
        assert_eq!(fns(Grammar::Bash, src), [("deploy".into(), 6, 5, true)]);
    }

    #[test]
    fn bands() {
        assert_eq!(band(1), "simple");
        assert_eq!(band(11), "moderate");
        assert_eq!(band(50), "complex");
        assert_eq!(band(51), "refactor");
    }
}
