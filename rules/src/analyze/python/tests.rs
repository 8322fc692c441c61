use super::*;
use crate::analyze::complexity;
use crate::analyze::ml::MlCall;
use crate::analyze::syntax::{Grammar, first_error, parse};

/// tree-sitter's measure of `src`, or `None` if it cannot parse it.
fn by_tree(src: &str) -> Option<Vec<Function>> {
    let tree = parse(Grammar::Python, src).ok()?;
    if first_error(&tree).is_some() {
        return None;
    }
    Some(complexity::functions(Grammar::Python, &tree, src).0)
}

/// The token reader measures `src` and agrees with tree-sitter on every number.
fn agrees(src: &str) -> Vec<Function> {
    let fast = functions(src).unwrap_or_else(|_| panic!("unsupported:\n{src}"));
    let tree = by_tree(src).expect("tree-sitter parses it");
    assert_eq!(fast, tree, "\n{src}");
    fast
}

fn numbers(fs: &[Function]) -> Vec<(&str, usize, u32, u32, bool)> {
    fs.iter()
        .map(|f| {
            (
                f.name.as_str(),
                f.lines,
                f.cyclomatic,
                f.cognitive,
                f.documented,
            )
        })
        .collect()
}

#[test]
fn statements_nest_as_tree_sitter_nests_them() {
    let src = r#"
def simple():
    """Docs."""
    return 1

class A:
    def m(self, x):
        if x > 0 and x < 10:
            for i in range(x):
                if i % 2:
                    pass
        elif x < 0 or x > 100 or x == 5:
            pass
        else:
            pass
        return [y for y in range(3) if y]

    def n(self):
        def inner():
            return 1 if True else 2
        return inner
"#;
    assert_eq!(
        numbers(&agrees(src)),
        [
            ("simple", 3, 1, 0, true),
            ("A.m", 10, 10, 12, false),
            ("A.n", 4, 1, 0, false),
            ("A.n.inner", 2, 2, 1, false),
        ]
    );
}

#[test]
fn clauses_loops_and_handlers() {
    agrees(
        "def f(a):\n    while a:\n        try:\n            a -= 1\n        except (ValueError, \
         KeyError) as e:\n            if e: raise\n        except* OSError:\n            pass\n        \
         else:\n            continue\n        finally:\n            pass\n    else:\n        return \
         2\n    for x in a:\n        with open(x) as f, g(x if a else 1):\n            break\n    \
         else:\n        pass\n",
    );
    agrees("async def f(a):\n    async for x in a:\n        async with x:\n            await x\n");
}

#[test]
fn expressions_boolean_runs_lambdas_and_comprehensions() {
    agrees(
        "def f(a, b=lambda x: x or y, *c, d: int = 1 if z else 2, **e) -> T:\n    x = a and b or \
         c and d\n    y = a or b and c and d or e\n    z = not a and (b or c) and not (d and e)\n    \
         w = [i for i in a if i if not i for j in b]\n    v = {k: (lambda: k if k else -k) for k, _ \
         in a.items()}\n    u = (a if b else c if d else e) if f else g\n    t = sorted(a, \
         key=lambda p: p[0] and p[1])\n    s = f\"{a if b else c!r:>{w or 2}} {{x}}\"\n    return \
         [x async for x in a], (y := a or b), a[1:2 if b else 3]\n",
    );
}

#[test]
fn match_statements_and_soft_keywords() {
    agrees(
        "def f(cmd):\n    match cmd.split():\n        case [\"go\", d] if d and cmd:\n            \
         return d\n        case {\"x\": 1} | None:\n            pass\n        case _:\n            \
         match = 3\n    match(cmd)\n    match.x = 1\n",
    );
}

#[test]
fn where_functions_end_and_what_documents_them() {
    let fs = agrees(
        "def f():\n    x = 1\n    # trailing, in f\n\n# module\ndef g(): \"doc\"; return 1\ndef \
         h():  # c\n    # c\n    '''doc\n    more'''\n    if a:\n        pass\n      # odd, in h\n    \
         # in h\n  # not\nx = 2\ndef i():\n    (\"not\" \"doc\")\n    f\"{x}\"\n    # last\n",
    );
    assert_eq!(
        numbers(&fs),
        [
            ("f", 3, 1, 0, false),
            ("g", 1, 1, 0, true),
            ("h", 8, 2, 1, true),
            ("i", 4, 1, 0, false)
        ]
    );
}

#[test]
fn classes_inside_functions_are_measured_apart() {
    agrees(
        "@decorator(a or b)\ndef outer(x):\n    @staticmethod\n    def deco(): pass\n    class \
         C(Base if x else object):\n        y = 1 if x else 2\n        def m(self):\n            \
         return self or x\n    return C\n",
    );
}

#[test]
fn what_it_cannot_account_for_is_left_to_tree_sitter() {
    for src in [
        "def f(:\n    pass\n",
        "def f():\nreturn 1\n",
        "def f():\n        x = 1\n    y = 2\n",
        "else:\n    pass\n",
        "x = 1\n    y = 2\n",
        "def f():\n",
        "async x\n",
        "async",
        "def",
        "def f():\n<<<<<<< HEAD\n    return 1\n=======\n    return 2\n>>>>>>> b\n",
        "if a <> b:\n    pass\n",
    ] {
        assert_eq!(functions(src), Err(Unsupported), "{src:?}");
    }
}

/// A function with most of what the token reader handles, cut anywhere by the fuzz test.
const FUZZED: &str = "@d(x)\nasync def f(a=lambda: 1 if b else 2, *c):\n    \"\"\"Doc.\"\"\"\n    y = np.dot(a, *b.c()) @ m.forward(x)[0] ** -2 @ (s\n        .t)\n    match a:\n        case [x] if x or y:\n            return f'{x!r:>{w}}' + rb'\\''\n    for i in (j for j in a if j): pass\n    else:\n        try: yield\n        except* E as e: raise\n";

#[test]
fn the_fuzzed_function_is_measured_whole() {
    assert_eq!(agrees(FUZZED).len(), 1);
    let src = format!("import numpy as np, torch\n{FUZZED}");
    assert_eq!(ml_agrees(&src).len(), 4);
}

proptest::proptest! {
    /// Whatever the bytes, an answer and never a panic: Python-ish soup, and every prefix of
    /// a real function (a file cut anywhere).
    #[test]
    fn never_panics(soup in "[a-z :()\\[\\]{}'\"#=\\\\\n\t@,.*f!-]{0,200}", cut in 0usize..600) {
        let _ = facts(&format!("import numpy as np\nimport torch\n{soup}"), true);
        let real = format!("import numpy as np, torch\nfrom sklearn import (a as b,\n c)\n{FUZZED}");
        let cut = (0..=cut.min(real.len())).rev().find(|c| real.is_char_boundary(*c)).unwrap_or(0);
        let _ = facts(&real[..cut], true);
    }
}

#[test]
fn deep_nesting_is_left_to_tree_sitter() {
    let deep = format!(
        "def f():\n    return {}1{}\n",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    assert_eq!(functions(&deep), Err(Unsupported));
    let deep = format!(
        "def f():\n    return {}\n",
        "a if b else ".repeat(5000) + "c"
    );
    assert_eq!(functions(&deep), Err(Unsupported));
    let fstr = format!("x = f'{}'\n", "{a:".repeat(500) + &"}".repeat(500));
    let _ = functions(&fstr);
}

/// tree-sitter's ML facts of `src` (imports, calls), or `None` if it cannot parse it.
fn ml_by_tree(src: &str) -> Option<(Vec<String>, Vec<MlCall>)> {
    let tree = parse(Grammar::Python, src).ok()?;
    first_error(&tree)
        .is_none()
        .then(|| crate::analyze::ml::scan(&tree, src))
}

/// The import-resolved calls from tokens, checked against tree-sitter's (what only tokens
/// add, method calls and operands, is `numeric.rs`'s and tested there).
fn ml_agrees(src: &str) -> Vec<(String, usize)> {
    let lexed = tokens::lex(src).unwrap_or_else(|_| panic!("unsupported:\n{src}"));
    let (imports, found) = calls::Scan::new(src, &lexed).found();
    let fast: Vec<MlCall> = found.into_iter().map(|(c, _)| c).collect();
    let tree = ml_by_tree(src).expect("tree-sitter parses it");
    assert_eq!((imports, fast.clone()), tree, "\n{src}");
    fast.into_iter().map(|c| (c.operation, c.line)).collect()
}

#[test]
fn ml_imports_calls_and_their_order() {
    let calls = ml_agrees(
        "import numpy as np, os\nfrom sklearn.cluster import (KMeans as KM,\n    DBSCAN)\nimport \
         torch.nn\nfrom scipy import *\n@np.vectorize(otypes=[float])\ndef f(a, b):\n    x = \
         np.dot(np.sum(a), b) @ -b.T ** 2 @ c\n    y = (model\n         .forward(a)).generate(b)\n    \
         z = KM(3).fit(a); w = DBSCAN()\n    v = f\"{np.mean(a)}\" \"s\".forward()\n    u = \
         self.layers[0](a).forward(b)\n    a @= b\n    return torch.nn.functional.relu(a) if a \
         else np.linalg.norm(a - b @ c)\n",
    );
    assert_eq!(
        calls,
        [
            ("numpy.vectorize".into(), 6),
            ("numpy.matmul".into(), 8),
            ("numpy.matmul".into(), 8),
            ("numpy.dot".into(), 8),
            ("numpy.sum".into(), 8),
            ("torch.nn.Module.generate".into(), 9),
            ("torch.nn.Module.forward".into(), 9),
            ("sklearn.cluster.KMeans".into(), 11),
            ("sklearn.cluster.DBSCAN".into(), 11),
            ("torch.nn.Module.forward".into(), 12),
            ("numpy.mean".into(), 12),
            ("torch.nn.Module.forward".into(), 13),
            ("torch.nn.functional.relu".into(), 15),
            ("numpy.linalg.norm".into(), 15),
            ("numpy.matmul".into(), 15),
        ]
    );
    assert!(ml_agrees("import os\nx = a @ b\nos.path.join('a')\n").is_empty());
    // Each import statement on its own, whatever comes before it.
    let calls = ml_agrees(
        "from sklearn.cluster import KMeans\nimport torch; from . import np\nx = \
         torch.load(p); y = KMeans(); np.dot(a)\n",
    );
    assert_eq!(
        calls,
        [
            ("torch.load".into(), 3),
            ("sklearn.cluster.KMeans".into(), 3)
        ]
    );
}

/// Every `.py` file of the standard library with imports that bind its everyday names to
/// frameworks (`os`, `re`, `sys` → numpy, `self` → sklearn, torch and numpy imported):
/// thousands of calls, attribute chains, `@` operators and decorators, each found where
/// tree-sitter finds it.
#[test]
fn ml_calls_agree_with_tree_sitter_on_the_standard_library() {
    // A from-import before plain ones: each import statement is read on its own.
    let header = "from sklearn import self\nimport numpy as os, numpy as re, numpy as sys\nimport \
                  torch\nfrom scipy.linalg import *\n";
    let (mut compared, mut calls, mut differ) = (0, 0, Vec::new());
    for p in stdlib_files() {
        let Ok(src) = std::fs::read_to_string(&p) else {
            continue;
        };
        let src = format!("{header}{src}");
        let (Some(mut tree), Ok(lexed)) = (ml_by_tree(&src), tokens::lex(&src)) else {
            continue;
        };
        if measure(&src, &lexed).is_err() {
            continue;
        }
        let (imports, marked) = calls::Scan::new(&src, &lexed).found();
        // Unpacked calls (`*a.b()`), which tree-sitter-python parses one way or another
        // (see `Scan::found`), are left out of the comparison on both sides.
        let mut ml_calls = Vec::new();
        for (call, unpacked) in marked {
            if unpacked {
                if let Some(i) = tree.1.iter().position(|c| *c == call) {
                    tree.1.remove(i);
                }
            } else {
                ml_calls.push(call);
            }
        }
        let fast = Facts {
            functions: Vec::new(),
            ml_imports: imports,
            ml_calls,
        };
        compared += 1;
        calls += tree.1.len();
        if (fast.ml_imports.clone(), fast.ml_calls.clone()) != tree {
            let at = fast.ml_calls.iter().zip(&tree.1).position(|(a, b)| a != b);
            differ.push(format!(
                "{}: {} vs {} calls, first difference: {:?} vs {:?}",
                p.display(),
                fast.ml_calls.len(),
                tree.1.len(),
                at.and_then(|i| fast.ml_calls.get(i)),
                at.and_then(|i| tree.1.get(i))
            ));
        }
    }
    eprintln!("{compared} files, {calls} calls compared");
    assert!(calls > 10_000, "{calls} calls: the header binds too little");
    assert!(
        differ.is_empty(),
        "{} files differ:\n{}",
        differ.len(),
        differ[..differ.len().min(15)].join("\n")
    );
}

/// The installed python3's standard library: every `.py` file.
fn stdlib_files() -> Vec<std::path::PathBuf> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .expect("python3 on PATH (README: the prerequisites)");
    let root = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            let name = entry.file_name();
            if p.is_dir() && name != "site-packages" && name != "__pycache__" {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "py") {
                files.push(p);
            }
        }
    }
    assert!(
        files.len() > 1000,
        "{} .py files under {root:?}",
        files.len()
    );
    files
}

/// Every `.py` file of the installed python3's standard library (about 1 800 files, test
/// suites included): where tree-sitter parses a file and the token reader accounts for it,
/// both give the same functions with the same numbers; and the token reader accounts for
/// nearly all of them, or the fast path would be a slow one.
#[test]
fn agrees_with_tree_sitter_on_the_standard_library() {
    let files = stdlib_files();
    let (mut compared, mut unsupported, mut tree_errors) = (0, Vec::new(), 0);
    let mut differ = Vec::new();
    for p in &files {
        let Ok(src) = std::fs::read_to_string(p) else {
            continue;
        };
        let Some(tree) = by_tree(&src) else {
            tree_errors += 1;
            continue;
        };
        match functions(&src) {
            Ok(fast) => {
                compared += 1;
                if fast != tree {
                    let at = fast.iter().zip(&tree).position(|(a, b)| a != b);
                    let show = |v: &[Function], i: Option<usize>| {
                        format!("{:?}", i.and_then(|i| v.get(i)).or(v.last()))
                    };
                    differ.push(format!(
                        "{}: {} vs {} functions\n  tokens: {}\n  tree:   {}",
                        p.display(),
                        fast.len(),
                        tree.len(),
                        show(&fast, at),
                        show(&tree, at)
                    ));
                }
            }
            Err(Unsupported) => unsupported.push(p.display().to_string()),
        }
    }
    eprintln!(
        "{compared} compared, {} left to tree-sitter ({}), {tree_errors} tree-sitter cannot parse",
        unsupported.len(),
        unsupported[..unsupported.len().min(5)].join(", ")
    );
    assert!(
        differ.is_empty(),
        "{} files differ:\n{}",
        differ.len(),
        differ[..differ.len().min(15)].join("\n")
    );
    assert!(
        unsupported.len() * 100 < compared,
        "{} files left to tree-sitter (over 1 %):\n{}",
        unsupported.len(),
        unsupported[..unsupported.len().min(20)].join("\n")
    );
}

#[test]
fn docstring_lines_are_counted_apart_from_the_body() {
    let src = "def f(x):\n    \"\"\"Three\n    lines\n    of docs.\"\"\"\n    return x\n\ndef g(): 'one'\n\ndef h():\n    x = 1\n    'not a docstring'\n";
    let fs = agrees(src);
    let doc: Vec<(&str, usize, usize)> = fs
        .iter()
        .map(|f| (f.name.as_str(), f.lines, f.docstring))
        .collect();
    assert_eq!(doc, [("f", 5, 3), ("g", 1, 1), ("h", 3, 0)]);
}
