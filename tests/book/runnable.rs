//! The guide's shell examples marked runnable (a code block whose info string is
//! `sh,runnable`), found in its chapters in order.

use std::path::Path;

/// One chapter's runnable blocks, in order.
pub struct Chapter {
    pub path: String,
    pub blocks: Vec<String>,
}

/// Whether a fence's info string (`sh,runnable`, `sh runnable`) marks a runnable block.
fn is_runnable(info: &str) -> bool {
    let words: Vec<&str> = info
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    words
        .first()
        .is_some_and(|l| matches!(*l, "sh" | "bash" | "console"))
        && words.contains(&"runnable")
}

/// The runnable blocks of one markdown text.
pub fn blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None; // (fence, body)
    for line in text.lines() {
        let trimmed = line.trim_start();
        match &mut current {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let fence = "```".to_owned();
                    if is_runnable(info) {
                        current = Some((fence, String::new()));
                    } else {
                        current = Some((fence, "\0skip".to_owned()));
                    }
                }
            }
            Some((fence, body)) => {
                if trimmed.starts_with(fence.as_str()) && trimmed.trim_start_matches('`').is_empty()
                {
                    if !body.starts_with("\0skip") {
                        out.push(std::mem::take(body));
                    }
                    current = None;
                } else if !body.starts_with("\0skip") {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    out
}

/// Every chapter of `src` (the book's source folder) with runnable blocks.
pub fn chapters(src: &Path) -> Vec<Chapter> {
    let mut files = Vec::new();
    let mut todo = vec![src.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let blocks = blocks(&std::fs::read_to_string(&p).unwrap());
            (!blocks.is_empty()).then(|| Chapter {
                path: p.strip_prefix(src).unwrap().display().to_string(),
                blocks,
            })
        })
        .collect()
}

#[test]
fn only_blocks_marked_runnable_are_run() {
    let md = "text\n```sh,runnable\necho one\n```\n```sh\necho never\n```\n```yaml\na: 1\n```\n  ```sh runnable\n  echo two\n  ```\n";
    assert_eq!(blocks(md), ["echo one\n", "  echo two\n"]);
}
