//! What a numeric plan needs beyond the import-resolved calls: method calls on arrays and
//! models (`a.dot(b)`, `x.T.dot(w)`, `np.dot(a, b).dot(c)`, `model.fit(X)`), each call's
//! operands as written, `axis=`, the shapes the code states (`np.zeros((3, 3))`, a number
//! literal), and its anchor, by which the shape tracer finds it.
//!
//! What is an array is followed through assignments, line by line: a name (or `self.x`)
//! assigned a NumPy result, another array, or an array method's result is an array until it
//! is assigned something else; plain names are forgotten at each `def`. Methods only arrays
//! have (`dot`, `reshape`, `ravel`…) count on any receiver in a file that imports NumPy,
//! marked as not known to be an array; ambiguous ones (`sum`, `max`, `copy`…) only on a
//! known array. The tree-sitter fallback (files whose tokens do not add up) finds none of
//! this, only the import-resolved calls.

use std::collections::HashMap;

use super::calls::{Located, Scan};
use super::tokens::Kind;
use crate::analyze::ml::{Aliases, MlCall, Operand, Via};

/// Methods only NumPy arrays (among everyday Python values) have.
const ARRAY_METHODS: &[&str] = &[
    "dot",
    "reshape",
    "ravel",
    "flatten",
    "transpose",
    "astype",
    "cumsum",
    "cumprod",
    "argmax",
    "argmin",
    "diagonal",
];

/// Array methods whose names other values share: counted on a known array only.
const SHARED_METHODS: &[&str] = &["sum", "mean", "std", "var", "max", "min", "prod", "clip"];

/// A fitted model's methods that compute (its constructor only configures).
const MODEL_METHODS: &[&str] = &[
    "fit",
    "predict",
    "transform",
    "fit_transform",
    "fit_predict",
    "predict_proba",
    "score",
];

/// What a name holds, as far as assignments tell.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    /// A NumPy array, with the shape the code states when it does.
    Array(Option<Vec<u64>>),
    /// A `scipy.sparse` matrix.
    Sparse,
    /// A model, by the class that made it (`sklearn.cluster.KMeans`).
    Model(String),
}

struct Walk<'a, 's> {
    scan: &'a Scan<'s>,
    aliases: &'a Aliases,
    numpy: bool,
    known: HashMap<String, Value>,
    /// What each found call returns, by its `(` token: for chained calls.
    returns: HashMap<usize, Value>,
}

/// The import-resolved calls, with operands and `axis=`, plus the method calls, in order.
pub(super) fn enrich(
    scan: &Scan<'_>,
    aliases: &Aliases,
    imported: &[String],
    located: Vec<Located>,
) -> Vec<MlCall> {
    if located.is_empty() && imported.is_empty() {
        return Vec::new();
    }
    let mut w = Walk {
        scan,
        aliases,
        numpy: imported.iter().any(|m| m == "numpy"),
        known: HashMap::new(),
        returns: HashMap::new(),
    };
    let mut by_at: HashMap<usize, Located> = located.into_iter().map(|l| (l.at, l)).collect();
    let mut out: Vec<(usize, usize, MlCall)> = Vec::new();
    for line in &scan.lexed.lines {
        if scan.is(line.start, Kind::Name, "def")
            || scan.is(line.start, Kind::Name, "async")
                && scan.is(line.start + 1, Kind::Name, "def")
        {
            w.known.retain(|k, _| k.starts_with("self."));
        }
        // Left to right, so a chained call sees what its receiver returned.
        for i in line.start..line.end {
            if let Some(l) = by_at.remove(&i) {
                let call = w.annotate(l.call, l.at);
                out.push((l.start, l.end, call));
            } else if scan.kind(i) == Some(Kind::Open)
                && scan.text(i) == "("
                && let Some((start, call)) = w.method(i)
            {
                out.push((start, scan.lexed.tokens[i].pair as usize, call));
            }
        }
        w.assignment(line.start, line.end);
    }
    out.sort_by_key(|(s, e, _)| (*s, std::cmp::Reverse(*e)));
    out.into_iter().map(|(_, _, c)| c).collect()
}

impl Walk<'_, '_> {
    /// Operands, `axis=` and (for `@`) what its left operand is, of an import-resolved call.
    fn annotate(&mut self, mut call: MlCall, at: usize) -> MlCall {
        let s = self.scan;
        call.anchor = Some(s.anchor(at));
        if s.text(at) == "@" {
            call.via = Via::Operator;
            let left = self.operand_before(at);
            let right = self.operand_at(at + 1, self.expression_end(at + 1));
            if self.value_of(left.name.as_deref()) == Some(Value::Sparse) {
                call = relabel(call, "scipy.sparse.matmul");
            }
            call.operands = vec![left, right];
            return call;
        }
        let (operands, axis) = self.arguments(at);
        call.operands = operands;
        call.axis = axis;
        let returns = match call.framework.as_str() {
            "numpy" => Some(Value::Array(constructed_shape(&call.operation, s, at))),
            "scipy" if call.operation.starts_with("scipy.sparse.") => Some(Value::Sparse),
            "sklearn" if is_class(&call.operation) => Some(Value::Model(call.operation.clone())),
            _ => None,
        };
        if let Some(v) = returns {
            self.returns.insert(at, v);
        }
        call
    }

    /// The method call whose `(` is at `open`, when it is one on an array or a model.
    fn method(&mut self, open: usize) -> Option<(usize, MlCall)> {
        let s = self.scan;
        let name = open.checked_sub(1)?;
        if !s.follows(open) || !s.name(name) || name < 2 || !s.is(name - 1, Kind::Op, ".") {
            return None;
        }
        let method = s.text(name);
        let receiver_end = name - 2;
        let start = s.primary_start(receiver_end);
        let receiver = self.receiver(receiver_end);
        let line = s.lexed.tokens[start].line as usize;
        let (operation, via, returns) = match receiver {
            Some(Value::Model(class)) if MODEL_METHODS.contains(&method) => (
                format!("{class}.{method}"),
                Via::Method { known: true },
                None,
            ),
            Some(Value::Sparse) if method == "dot" => (
                "scipy.sparse.matmul".to_owned(),
                Via::Method { known: true },
                Some(Value::Sparse),
            ),
            Some(Value::Array(_))
                if ARRAY_METHODS.contains(&method) || SHARED_METHODS.contains(&method) =>
            {
                (
                    format!("numpy.ndarray.{method}"),
                    Via::Method { known: true },
                    Some(Value::Array(None)),
                )
            }
            None if self.numpy
                && ARRAY_METHODS.contains(&method)
                && !self.is_module(start, receiver_end) =>
            {
                (
                    format!("numpy.ndarray.{method}"),
                    Via::Method { known: false },
                    Some(Value::Array(None)),
                )
            }
            _ => return None,
        };
        let mut call = MlCall::new(operation, line);
        call.via = via;
        let (args, axis) = self.arguments(open);
        let recv = self.operand_at(start, receiver_end);
        call.operands = std::iter::once(recv).chain(args).collect();
        call.axis = axis;
        call.anchor = Some(s.anchor(open));
        if let Some(v) = returns {
            self.returns.insert(open, v);
        }
        Some((start, call))
    }

    /// What the receiver expression ending at `end` is: a known name, `.T` of one, or the
    /// result of a call found before.
    fn receiver(&self, end: usize) -> Option<Value> {
        let s = self.scan;
        if s.kind(end) == Some(Kind::Close) {
            let open = s.lexed.tokens[end].pair as usize;
            return self.returns.get(&open).cloned();
        }
        if s.is(end, Kind::Name, "T") && end >= 2 && s.is(end - 1, Kind::Op, ".") {
            return match self.receiver(end - 2)? {
                Value::Array(shape) => Some(Value::Array(shape.map(reversed))),
                other => Some(other),
            };
        }
        let name = s.dotted(end)?;
        self.value_of(Some(&name))
    }

    /// The receiver `start..=end` names a module (`np.linalg`), not a value.
    fn is_module(&self, start: usize, end: usize) -> bool {
        self.scan
            .dotted(end)
            .is_some_and(|d| self.aliases.resolve(&d).is_some())
            || start == end && self.scan.is(start, Kind::Name, "self")
    }

    fn value_of(&self, name: Option<&str>) -> Option<Value> {
        let name = name?;
        if let Some(base) = name.strip_suffix(".T") {
            return match self.known.get(base)? {
                Value::Array(shape) => Some(Value::Array(shape.clone().map(reversed))),
                other => Some(other.clone()),
            };
        }
        self.known.get(name).cloned()
    }

    /// The positional arguments of the call whose `(` is at `open`, and whether `axis=` is
    /// among its keywords.
    fn arguments(&self, open: usize) -> (Vec<Operand>, bool) {
        let s = self.scan;
        let close = s.lexed.tokens[open].pair as usize;
        let mut operands = Vec::new();
        let mut axis = false;
        let mut i = open + 1;
        while i < close {
            let mut end = i;
            while end < close && !s.is(end, Kind::Op, ",") {
                if s.kind(end) == Some(Kind::Open) {
                    end = s.lexed.tokens[end].pair as usize;
                }
                end += 1;
            }
            if end > i {
                if s.name(i) && s.is(i + 1, Kind::Op, "=") {
                    axis |= s.text(i) == "axis";
                } else if !s.is(i, Kind::Op, "*") && !s.is(i, Kind::Op, "**") {
                    operands.push(self.operand_at(i, end - 1));
                }
            }
            i = end + 1;
        }
        (operands, axis)
    }

    /// The operand spanning tokens `a..=b`.
    fn operand_at(&self, a: usize, b: usize) -> Operand {
        let s = self.scan;
        let number = s.kind(b) == Some(Kind::Number)
            && (a == b
                || a + 1 == b && s.kind(a) == Some(Kind::Op) && matches!(s.text(a), "-" | "+"));
        if number {
            return Operand {
                name: None,
                shape: Some(Vec::new()),
            };
        }
        let name = (s.name(b)
            && s.dotted(b)
                .is_some_and(|d| d.split('.').count() == (b - a) / 2 + 1))
        .then(|| s.slice(a, b).to_owned());
        let shape = match self.value_of(name.as_deref()) {
            Some(Value::Array(shape)) => shape,
            _ => None,
        };
        Operand { name, shape }
    }

    /// The left operand of the `@` at `at`: the term that ends before it.
    fn operand_before(&self, at: usize) -> Operand {
        let end = at - 1;
        self.operand_at(self.scan.primary_start(end), end)
    }

    /// The last token of the primary expression (with trailers) starting at `i`.
    fn expression_end(&self, i: usize) -> usize {
        let s = self.scan;
        let mut end = match s.kind(i) {
            Some(Kind::Open) => s.lexed.tokens[i].pair as usize,
            _ => i,
        };
        loop {
            if s.is(end + 1, Kind::Op, ".") && s.name(end + 2) {
                end += 2;
            } else if s.kind(end + 1) == Some(Kind::Open) && matches!(s.text(end + 1), "(" | "[") {
                end = s.lexed.tokens[end + 1].pair as usize;
            } else {
                return end;
            }
        }
    }

    /// `NAME = …` or `self.NAME = …` on the logical line `start..end`: the target holds
    /// what the right-hand side's head is, or nothing known.
    fn assignment(&mut self, start: usize, end: usize) {
        let s = self.scan;
        let mut eq = start;
        while eq + 2 < end && s.is(eq + 1, Kind::Op, ".") && s.name(eq + 2) {
            eq += 2;
        }
        eq += 1;
        if !s.name(start) || !s.is(eq, Kind::Op, "=") || eq + 1 >= end {
            return;
        }
        let target = s.slice(start, eq - 1).to_owned();
        match self.head(eq + 1, end) {
            Some(v) => self.known.insert(target, v),
            None => self.known.remove(&target),
        };
    }

    /// What the expression starting at `i` (to `end`, its line's end) evaluates to, judged by
    /// its head: a call found (a NumPy result, a model), or a known array with what follows.
    fn head(&self, i: usize, end: usize) -> Option<Value> {
        let s = self.scan;
        let last = self.expression_end(i).min(end - 1);
        if s.kind(last) == Some(Kind::Close) {
            let open = s.lexed.tokens[last].pair as usize;
            if let Some(v) = self.returns.get(&open) {
                return Some(v.clone());
            }
        }
        if s.kind(last) == Some(Kind::Name) {
            let name = s.slice(i, last);
            if let Some(Value::Array(shape)) = self.value_of(Some(name)) {
                // `b = a` keeps its shape; `b = a + 1` stays an array of unknown shape.
                return Some(Value::Array(if last + 1 == end { shape } else { None }));
            }
        }
        None
    }
}

fn relabel(call: MlCall, operation: &str) -> MlCall {
    MlCall {
        operands: call.operands,
        axis: call.axis,
        via: call.via,
        anchor: call.anchor,
        ..MlCall::new(operation.to_owned(), call.line)
    }
}

/// `sklearn.cluster.KMeans`: a class, by Python's naming convention.
fn is_class(operation: &str) -> bool {
    operation
        .rsplit('.')
        .next()
        .and_then(|l| l.chars().next())
        .is_some_and(char::is_uppercase)
}

fn reversed(mut v: Vec<u64>) -> Vec<u64> {
    v.reverse();
    v
}

/// The shape a NumPy constructor with literal sizes makes: `zeros((3, 4))`, `eye(3)`,
/// `random.rand(2, 5)`.
fn constructed_shape(operation: &str, s: &Scan<'_>, open: usize) -> Option<Vec<u64>> {
    let close = s.lexed.tokens[open].pair as usize;
    let ints = |a: usize, b: usize| -> Option<Vec<u64>> {
        let mut v = Vec::new();
        for i in a..b {
            match s.kind(i) {
                Some(Kind::Number) => v.push(s.text(i).replace('_', "").parse().ok()?),
                Some(Kind::Op) if s.text(i) == "," => {}
                _ => return None,
            }
        }
        (!v.is_empty()).then_some(v)
    };
    // The first argument: a number, or a tuple or list of numbers.
    let first = |_: ()| -> Option<Vec<u64>> {
        let a = open + 1;
        if s.kind(a) == Some(Kind::Open) {
            let b = s.lexed.tokens[a].pair as usize;
            return ints(a + 1, b);
        }
        let mut b = a;
        while b < close && !s.is(b, Kind::Op, ",") {
            b += 1;
        }
        ints(a, b)
    };
    match operation.strip_prefix("numpy.")? {
        "zeros" | "ones" | "empty" | "full" => first(()),
        "eye" | "identity" => first(()).map(|n| vec![n[0], n[0]]),
        "random.rand" | "random.randn" => ints(open + 1, close),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{calls::Scan, tokens};
    use crate::analyze::ml::{MlCall, Via};

    fn calls(src: &str) -> Vec<MlCall> {
        let lexed = tokens::lex(src).unwrap();
        Scan::new(src, &lexed).scan().1
    }

    fn ops(src: &str) -> Vec<(String, usize)> {
        calls(src)
            .into_iter()
            .map(|c| (c.operation, c.line))
            .collect()
    }

    #[test]
    fn method_calls_on_arrays_chains_and_transposes() {
        let src = "import numpy as np\nfrom numpy import dot\ndef f(w, h):\n    a = np.zeros((3, 4))\n    b = a.T.dot(w)\n    c = np.dot(a, b).dot(h)\n    s = a.sum(axis=0)\n    t = h.sum()\n    u = h.reshape(2, 6)\n    return dot(a.T, a) @ b\n";
        assert_eq!(
            ops(src),
            [
                ("numpy.zeros".into(), 4),
                ("numpy.ndarray.dot".into(), 5),
                ("numpy.ndarray.dot".into(), 6),
                ("numpy.dot".into(), 6),
                ("numpy.ndarray.sum".into(), 7),
                ("numpy.ndarray.reshape".into(), 9),
                ("numpy.matmul".into(), 10),
                ("numpy.dot".into(), 10),
            ]
        );
        let c = calls(src);
        // `a.T.dot(w)`: the receiver is `a.T`, known, with a's stated shape reversed.
        assert_eq!(c[1].via, Via::Method { known: true });
        assert_eq!(c[1].operands[0].name.as_deref(), Some("a.T"));
        assert_eq!(c[1].operands[0].shape, Some(vec![4, 3]));
        assert_eq!(c[1].operands[1].name.as_deref(), Some("w"));
        // `np.dot(a, b).dot(h)`: the receiver is the first product's result.
        assert_eq!(c[2].via, Via::Method { known: true });
        assert_eq!(c[2].operands[0].name, None);
        assert!(c[4].axis, "a.sum(axis=0)");
        // `h.reshape`: reshape is an array's method, but h is a parameter.
        assert_eq!(c[5].via, Via::Method { known: false });
        assert_eq!(c[6].via, Via::Operator);
        assert_eq!(c[7].operands[0].shape, Some(vec![4, 3]));
    }

    #[test]
    fn anchors_tell_calls_on_one_line_apart() {
        // Columns are bytes, as Python's ast counts them: `é` is two.
        let src = "import numpy as np\ndef f(a, b, c):\n    é = np.dot(a, b).dot(c) + np.dot(\n        b, c) @ a\n";
        let c = calls(src);
        let at: Vec<(&str, Option<[usize; 2]>)> =
            c.iter().map(|c| (c.operation.as_str(), c.anchor)).collect();
        assert_eq!(
            at,
            [
                ("numpy.ndarray.dot", Some([3, 25])),
                ("numpy.dot", Some([3, 15])),
                ("numpy.matmul", Some([4, 14])),
                ("numpy.dot", Some([3, 37])),
            ]
        );
    }

    #[test]
    fn models_sparse_matrices_and_scalars() {
        let src = "import numpy as np\nimport scipy.sparse as sp\nfrom sklearn.cluster import KMeans\nfrom sklearn.pipeline import Pipeline\nm = KMeans(3)\nm.fit(X)\nlabels = m.predict(X)\np = Pipeline([])\np.fit(X)\nS = sp.csr_matrix(d)\ny = S @ v\nr = np.sqrt(2.0)\nself.F = np.eye(4)\nz = self.F.dot(x)\n";
        let c = calls(src);
        let names: Vec<&str> = c.iter().map(|c| c.operation.as_str()).collect();
        assert_eq!(
            names,
            [
                "sklearn.cluster.KMeans",
                "sklearn.cluster.KMeans.fit",
                "sklearn.cluster.KMeans.predict",
                "sklearn.pipeline.Pipeline",
                "sklearn.pipeline.Pipeline.fit",
                "scipy.sparse.csr_matrix",
                "scipy.sparse.matmul",
                "numpy.sqrt",
                "numpy.eye",
                "numpy.ndarray.dot",
            ]
        );
        assert_eq!(c[7].operands[0].shape, Some(vec![]), "2.0 is a scalar");
        assert_eq!(c[9].operands[0].shape, Some(vec![4, 4]));
    }

    #[test]
    fn names_are_forgotten_at_def_and_reassignment() {
        let src = "import numpy as np\ndef f():\n    a = np.ones(3)\n    a = len(x)\n    a.sum()\ndef g():\n    b = np.ones(3)\ndef h():\n    b.sum()\n    os.path.dot(x)\n    np.linalg.dot(x)\n";
        // Neither `a.sum()` (a is a number by then) nor `b.sum()` (b is g's) counts;
        // `os.path.dot(x)` is taken for an array's dot (os is not an alias), np.linalg's
        // is the import-resolved function.
        assert_eq!(
            ops(src),
            [
                ("numpy.ones".into(), 3),
                ("numpy.ones".into(), 7),
                ("numpy.ndarray.dot".into(), 10),
                ("numpy.linalg.dot".into(), 11),
            ]
        );
    }
}
