//! Parsing with tree-sitter: one parser per grammar and thread, and the first place a
//! parse went wrong.

use std::cell::RefCell;

use tree_sitter::{Language, Node, Parser, Tree};

/// The grammars batuta parses for complexity (and, for Python, imports and calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grammar {
    Python,
    C,
    Cpp,
    Bash,
}

impl Grammar {
    /// The grammar for a language family, if batuta parses it.
    pub fn for_family(family: &str) -> Option<Grammar> {
        match family {
            "Python" => Some(Grammar::Python),
            "C" => Some(Grammar::C),
            "C++" => Some(Grammar::Cpp),
            "Shell" => Some(Grammar::Bash),
            _ => None,
        }
    }

    pub fn language(self) -> Language {
        match self {
            Grammar::Python => tree_sitter_python::LANGUAGE.into(),
            Grammar::C => tree_sitter_c::LANGUAGE.into(),
            Grammar::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            Grammar::Bash => tree_sitter_bash::LANGUAGE.into(),
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A C allocator's four functions, as tree-sitter's core takes them.
pub struct CAllocator {
    pub malloc: unsafe extern "C" fn(usize) -> *mut std::ffi::c_void,
    pub calloc: unsafe extern "C" fn(usize, usize) -> *mut std::ffi::c_void,
    pub realloc: unsafe extern "C" fn(*mut std::ffi::c_void, usize) -> *mut std::ffi::c_void,
    pub free: unsafe extern "C" fn(*mut std::ffi::c_void),
}

/// Have tree-sitter's C core allocate with `a` instead of the C library's malloc: parsing
/// makes and frees a node per token, and the program's own allocator (mimalloc) does that
/// faster than glibc's (perf: malloc and free were ~6 % of a cold analysis).
///
/// # Safety
///
/// Call before any parser or tree exists (first thing in `main`, before other threads):
/// memory allocated by one allocator must never be freed by the other.
pub unsafe fn use_allocator(a: &CAllocator) {
    // SAFETY: forwarded from the caller; the core keeps the pointers for the process' life.
    unsafe {
        tree_sitter::set_allocator(
            Some(a.malloc),
            Some(a.calloc),
            Some(a.realloc),
            Some(a.free),
        );
    }
}

thread_local! {
    static PARSERS: RefCell<[Option<Parser>; 4]> = const { RefCell::new([None, None, None, None]) };
}

/// Parse `text`; `Err` says why not (never a panic).
pub fn parse(g: Grammar, text: &str) -> Result<Tree, String> {
    PARSERS.with(|cell| {
        let mut parsers = cell.borrow_mut();
        let slot = &mut parsers[g.index()];
        if slot.is_none() {
            let mut p = Parser::new();
            p.set_language(&g.language())
                .map_err(|e| format!("tree-sitter grammar unusable: {e}"))?;
            *slot = Some(p);
        }
        let parser = slot.as_mut().expect("parser just set");
        parser
            .parse(text, None)
            .ok_or_else(|| "tree-sitter gave up parsing".to_owned())
    })
}

/// The 1-based line of the first syntax error in the tree, if any.
pub fn first_error(tree: &Tree) -> Option<usize> {
    let root = tree.root_node();
    if !root.has_error() {
        return None;
    }
    let mut node = root;
    'down: loop {
        if node.is_error() || node.is_missing() {
            return Some(node.start_position().row + 1);
        }
        let mut c = node.walk();
        for child in node.children(&mut c) {
            if child.has_error() {
                node = child;
                continue 'down;
            }
        }
        return Some(node.start_position().row + 1);
    }
}

/// Visit `root`'s named descendants in pre-order with one cursor (no allocation per node).
/// `visit` gets each node and the context its parent gave, and returns the context for the
/// node's children, or `None` to skip them. Returns whether some subtree was deeper than
/// `max_depth` and was not visited.
pub fn walk_named<'t, C>(
    root: Node<'t>,
    ctx: C,
    max_depth: usize,
    mut visit: impl FnMut(Node<'t>, &C) -> Option<C>,
) -> bool {
    let mut cursor = root.walk();
    let mut stack: Vec<C> = vec![ctx];
    let mut truncated = false;
    if !cursor.goto_first_child() {
        return false;
    }
    loop {
        let n = cursor.node();
        if n.is_named()
            && let Some(parent) = stack.last()
            && let Some(inner) = visit(n, parent)
        {
            if stack.len() >= max_depth {
                truncated |= n.named_child_count() > 0;
            } else if cursor.goto_first_child() {
                stack.push(inner);
                continue;
            }
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return truncated;
            }
            stack.pop();
        }
    }
}

/// The source text of a node ("" if it is not valid UTF-8 on its own).
pub fn text<'a>(node: Node<'_>, src: &'a str) -> &'a str {
    src.get(node.byte_range()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_finds_errors() {
        let t = parse(Grammar::Python, "def f():\n    return 1\n").unwrap();
        assert_eq!(first_error(&t), None);
        let t = parse(Grammar::Python, "def f(:\n    return 1\n").unwrap();
        assert_eq!(first_error(&t), Some(1));
        let t = parse(Grammar::C, "int main(void) { return 0; }").unwrap();
        assert_eq!(first_error(&t), None);
        let t = parse(Grammar::Bash, "if true; then echo; fi\n").unwrap();
        assert_eq!(first_error(&t), None);
        let t = parse(
            Grammar::Cpp,
            "namespace a { class B { public: int f(); }; }",
        )
        .unwrap();
        assert_eq!(first_error(&t), None);
    }
}
