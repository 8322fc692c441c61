//! ML frameworks in Python: imports and calls of NumPy, scikit-learn, PyTorch, pandas and
//! SciPy, each call mapped to its Sovereign-stack target (`targets.rs`, items of pinned
//! trueno, aprender and realizar versions) or left unmapped and listed.
//!
//! [`scan`] finds them on tree-sitter's tree; `python/calls.rs` finds the same ones from
//! tokens (the fast path analyze takes), and both resolve names through [`Aliases`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Tree};

use super::syntax::{Grammar, text, walk_named};

/// The frameworks batuta recognises, by top-level module.
pub const FRAMEWORKS: &[(&str, &str)] = &[
    ("numpy", "NumPy"),
    ("sklearn", "scikit-learn"),
    ("torch", "PyTorch"),
    ("pandas", "pandas"),
    ("scipy", "SciPy"),
];

/// One call of a framework operation in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MlCall {
    /// Top-level module: `numpy`, `sklearn`, `torch`, `pandas`, `scipy`.
    pub framework: String,
    /// The operation, resolved through imports: `numpy.dot`, `sklearn.cluster.KMeans`,
    /// `torch.load`, or `numpy.matmul` for `a @ b`, `torch.nn.Module.forward` for `m.forward(x)`.
    pub operation: String,
    pub line: usize,
    /// The Rust call it becomes, when the mapping table has one.
    pub target: Option<String>,
    pub backend: Option<String>,
    /// How the code writes it: a function (the default), a method on a value known or taken
    /// to be an array or a model, or an operator (`@`).
    #[serde(default, skip_serializing_if = "Via::is_function")]
    pub via: Via,
    /// Its operands (the receiver first for a method), as the code writes them and with the
    /// shapes it states; the shape tracer measures them at the call instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operands: Vec<Operand>,
    /// `axis=` was given: a reduction along an axis, not over everything.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub axis: bool,
    /// Where the call's `(` (or the `@`) stands: its line and 0-based byte column, as
    /// Python's `ast` counts them. It tells apart calls on one line (`np.dot(a, b).dot(c)`),
    /// and the shape tracer finds the call in the parsed program by it. `None` from the
    /// tree-sitter fallback, whose calls are not traced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<[usize; 2]>,
}

/// How a call is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    #[default]
    Function,
    /// `a.dot(b)`; `known` says whether `a` is known to be an array (assigned from a NumPy
    /// result in the function) or only taken to be one by the method's name.
    Method {
        known: bool,
    },
    Operator,
}

impl Via {
    fn is_function(&self) -> bool {
        *self == Via::Function
    }
}

/// One operand of a call as the code writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operand {
    /// A plain name or attribute chain (`a`, `self.F`, `x.T`), which tells what the analysis
    /// knows of it (an array, a sparse matrix). `None` for anything else (a call, an
    /// expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The shape the code states: `[]` for a number literal, `[3, 3]` for a name assigned
    /// `np.zeros((3, 3))` earlier in the function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<u64>>,
}

/// Frameworks imported (top-level modules, sorted) and every framework call, in order.
pub fn scan(tree: &Tree, src: &str) -> (Vec<String>, Vec<MlCall>) {
    if !may_import_framework(src) {
        return (Vec::new(), Vec::new());
    }
    let mut aliases = Aliases::default();
    let root = tree.root_node();
    imports(root, src, &mut aliases);
    let imported = aliases.imported();
    let mut calls = Vec::new();
    if !imported.is_empty() {
        let ctx = Ctx {
            aliases: &aliases,
            numpy: imported.iter().any(|m| m == "numpy"),
            torch: imported.iter().any(|m| m == "torch"),
        };
        walk_named(root, (), 1000, |n, _| {
            call(n, src, &ctx, &mut calls);
            Some(())
        });
    }
    (imported, calls)
}

/// An import spells the module's name: without one in the text there is nothing to find.
pub fn may_import_framework(src: &str) -> bool {
    FRAMEWORKS.iter().any(|(m, _)| src.contains(m))
}

fn is_framework(module: &str) -> bool {
    let top = module.split('.').next().unwrap_or("");
    FRAMEWORKS.iter().any(|(f, _)| *f == top)
}

/// The names a file's imports bind to framework modules: `np` → `numpy`, `KM` →
/// `sklearn.cluster.KMeans`; later imports of a name replace earlier ones, as in Python.
#[derive(Debug, Default)]
pub struct Aliases(HashMap<String, String>);

impl Aliases {
    /// `import full` (`alias` `None`) or `import full as alias`.
    pub fn import(&mut self, full: &str, alias: Option<&str>) {
        if !is_framework(full) {
            return;
        }
        match alias {
            Some(a) => self.0.insert(a.to_owned(), full.to_owned()),
            None => {
                let top = full.split('.').next().unwrap_or(full);
                self.0.insert(top.to_owned(), top.to_owned())
            }
        };
    }

    /// `from module import name [as alias]`.
    pub fn import_from(&mut self, module: &str, name: &str, alias: Option<&str>) {
        if is_framework(module) {
            self.0
                .insert(alias.unwrap_or(name).to_owned(), format!("{module}.{name}"));
        }
    }

    /// `from module import *`: the framework is imported, no name is known.
    pub fn import_all(&mut self, module: &str) {
        if is_framework(module) {
            self.0.insert(format!("*{module}"), module.to_owned());
        }
    }

    /// The frameworks imported: top-level modules, sorted.
    pub fn imported(&self) -> Vec<String> {
        let mut imported: Vec<String> = self
            .0
            .values()
            .filter_map(|q| q.split('.').next())
            .filter(|m| is_framework(m))
            .map(str::to_owned)
            .collect();
        imported.sort();
        imported.dedup();
        imported
    }

    /// `np.linalg.norm` → `numpy.linalg.norm` when `np` names a framework module.
    pub fn resolve(&self, dotted: &str) -> Option<String> {
        let (head, rest) = match dotted.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (dotted, None),
        };
        let base = self.0.get(head)?;
        Some(match rest {
            Some(r) => format!("{base}.{r}"),
            None => base.clone(),
        })
    }
}

/// `import numpy as np`, `import torch.nn`, `from sklearn.cluster import KMeans as KM`.
fn imports(root: Node<'_>, src: &str, aliases: &mut Aliases) {
    walk_named(root, (), 1000, |n, _| {
        import(n, src, aliases);
        // Imports are statements: below any other node there is only more to search.
        let id = n.kind_id();
        (id != kinds().import && id != kinds().import_from).then_some(())
    });
}

fn import(n: Node<'_>, src: &str, aliases: &mut Aliases) {
    let aliased = |name: Node<'_>| {
        let m = name.child_by_field_name("name")?;
        let a = name.child_by_field_name("alias")?;
        Some((text(m, src), text(a, src)))
    };
    match n.kind() {
        "import_statement" => {
            let mut c = n.walk();
            for name in n.children_by_field_name("name", &mut c) {
                match name.kind() {
                    "dotted_name" => aliases.import(text(name, src), None),
                    "aliased_import" => {
                        if let Some((m, a)) = aliased(name) {
                            aliases.import(m, Some(a));
                        }
                    }
                    _ => {}
                }
            }
        }
        "import_from_statement" => {
            let Some(module) = n.child_by_field_name("module_name") else {
                return;
            };
            let module = text(module, src);
            let mut c = n.walk();
            for name in n.children_by_field_name("name", &mut c) {
                match name.kind() {
                    "dotted_name" => aliases.import_from(module, text(name, src), None),
                    "aliased_import" => {
                        if let Some((m, a)) = aliased(name) {
                            aliases.import_from(module, m, Some(a));
                        }
                    }
                    _ => {}
                }
            }
            // `from numpy import *` still imports the framework.
            let mut c = n.walk();
            if n.children(&mut c).any(|ch| ch.kind() == "wildcard_import") {
                aliases.import_all(module);
            }
        }
        _ => {}
    }
}

/// Python node kind ids compared on every node.
struct Kinds {
    call: u16,
    binary: u16,
    import: u16,
    import_from: u16,
}

fn kinds() -> &'static Kinds {
    static K: std::sync::OnceLock<Kinds> = std::sync::OnceLock::new();
    K.get_or_init(|| {
        let l = Grammar::Python.language();
        Kinds {
            call: l.id_for_node_kind("call", true),
            binary: l.id_for_node_kind("binary_operator", true),
            import: l.id_for_node_kind("import_statement", true),
            import_from: l.id_for_node_kind("import_from_statement", true),
        }
    })
}

struct Ctx<'a> {
    aliases: &'a Aliases,
    numpy: bool,
    torch: bool,
}

/// An attribute chain of plain names (`a.b.c`), or `None` for calls on call results etc.
fn dotted(n: Node<'_>, src: &str) -> Option<String> {
    match n.kind() {
        "identifier" => Some(text(n, src).to_owned()),
        "attribute" => {
            let obj = dotted(n.child_by_field_name("object")?, src)?;
            let attr = text(n.child_by_field_name("attribute")?, src);
            Some(format!("{obj}.{attr}"))
        }
        _ => None,
    }
}

fn push(calls: &mut Vec<MlCall>, operation: String, line: usize) {
    calls.push(MlCall::new(operation, line));
}

impl MlCall {
    /// A call of `operation` (resolved through imports) at `line`, with its mapping.
    pub fn new(operation: String, line: usize) -> MlCall {
        let framework = operation.split('.').next().unwrap_or("").to_owned();
        let (target, backend) = match super::targets::mapping(&operation) {
            Some((t, b)) => (Some(t), Some(b.to_owned())),
            None => (None, None),
        };
        MlCall {
            framework,
            operation,
            line,
            target,
            backend,
            via: Via::Function,
            operands: Vec::new(),
            axis: false,
            anchor: None,
        }
    }
}

fn call(n: Node<'_>, src: &str, ctx: &Ctx<'_>, calls: &mut Vec<MlCall>) {
    let id = n.kind_id();
    let k = kinds();
    if id != k.call && id != k.binary {
        return;
    }
    let line = n.start_position().row + 1;
    match n.kind() {
        "call" => {
            if let Some(f) = n.child_by_field_name("function") {
                let name = dotted(f, src);
                match name.as_deref().and_then(|d| ctx.aliases.resolve(d)) {
                    Some(op) => push(calls, op, line),
                    None if ctx.torch && f.kind() == "attribute" => {
                        // `model.forward(x)`, `model.generate(p)` on a model object.
                        let attr = f.child_by_field_name("attribute").map(|a| text(a, src));
                        if let Some(m @ ("forward" | "generate")) = attr {
                            push(calls, format!("torch.nn.Module.{m}"), line);
                        }
                    }
                    None => {}
                }
            }
        }
        "binary_operator" if ctx.numpy => {
            if let Some(op) = n.child_by_field_name("operator")
                && text(op, src) == "@"
            {
                push(calls, "numpy.matmul".to_owned(), line);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::syntax::parse;

    fn ops(src: &str) -> (Vec<String>, Vec<(String, Option<String>)>) {
        let t = parse(Grammar::Python, src).unwrap();
        let (imp, calls) = scan(&t, src);
        (
            imp,
            calls.into_iter().map(|c| (c.operation, c.target)).collect(),
        )
    }

    #[test]
    fn numpy_sklearn_torch() {
        let src = "import numpy as np\nfrom sklearn.cluster import KMeans as KM\nfrom sklearn.linear_model import LinearRegression\nimport torch\n\
a = np.dot(x, y)\nb = x @ y\nc = np.zeros(3)\nk = KM(n_clusters=3)\nr = LinearRegression()\nm = torch.load('m.pt')\ny = m.forward(a)\nnp.linalg.norm(a)\nlen(a)\n";
        let (imp, calls) = ops(src);
        assert_eq!(imp, ["numpy", "sklearn", "torch"]);
        let t = |s: &str| Some(s.to_owned());
        assert_eq!(
            calls,
            [
                ("numpy.dot".into(), t("trueno::Vector::<f32>::dot")),
                ("numpy.matmul".into(), t("trueno::Matrix::<f32>::matmul")),
                ("numpy.zeros".into(), None),
                (
                    "sklearn.cluster.KMeans".into(),
                    t("aprender::cluster::KMeans::new")
                ),
                (
                    "sklearn.linear_model.LinearRegression".into(),
                    t("aprender::linear_model::LinearRegression::new")
                ),
                (
                    "torch.load".into(),
                    t("realizar::apr_transformer::AprTransformer::from_apr_file::<&str>")
                ),
                (
                    "torch.nn.Module.forward".into(),
                    t("realizar::apr_transformer::AprTransformer::forward")
                ),
                (
                    "numpy.linalg.norm".into(),
                    t("trueno::Vector::<f32>::norm_l2")
                ),
            ]
        );
    }

    #[test]
    fn no_framework_no_calls() {
        let (imp, calls) = ops("import os\nx = a @ b\nos.path.join('a')\n");
        assert!(imp.is_empty() && calls.is_empty());
    }

    #[test]
    fn pandas_and_scipy_are_listed_unmapped() {
        let (imp, calls) = ops(
            "import pandas as pd\nimport scipy.linalg\npd.read_csv('x')\nscipy.linalg.inv(a)\n",
        );
        assert_eq!(imp, ["pandas", "scipy"]);
        assert_eq!(
            calls,
            [
                ("pandas.read_csv".into(), None),
                ("scipy.linalg.inv".into(), None)
            ]
        );
    }
}
