//! The whole tree's analysis, aggregated from per-file reports, and its renderings for
//! people (text, Markdown). JSON is the struct itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::FileReport;
use super::complexity::band;
use super::left_out::{LISTED, LeftOut};
use super::ml::FRAMEWORKS;
use super::recommend::Recommendation;
use super::tdg::{self, Tdg};

/// Bumped when the shape of `analysis.json` changes.
pub const FORMAT: u32 = 1;
const HOTSPOTS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageStat {
    pub name: String,
    pub files: usize,
    pub code: u64,
    pub comments: u64,
    pub blanks: u64,
    /// Share of all code lines.
    pub percent: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyEntry {
    pub name: String,
    pub constraint: String,
    pub manager: String,
    pub scope: String,
    pub file: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Framework {
    pub module: String,
    pub name: String,
    pub files: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub framework: String,
    pub operation: String,
    pub count: usize,
    pub files: usize,
    /// `None`: unmapped, no Sovereign-stack target known.
    pub target: Option<String>,
    pub backend: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ml {
    pub frameworks: Vec<Framework>,
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hotspot {
    pub file: String,
    pub function: String,
    pub line: usize,
    pub cyclomatic: u32,
    pub cognitive: u32,
    pub band: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Complexity {
    pub functions: usize,
    pub mean_cyclomatic: f64,
    pub max_cyclomatic: u32,
    /// simple, moderate, complex, refactor → functions.
    pub bands: BTreeMap<String, usize>,
    pub cognitive_15_or_more: usize,
    pub hotspots: Vec<Hotspot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    pub path: String,
    pub reason: String,
    /// Whether the file still counts (lines counted, something left out) or not at all.
    pub partial: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub format: u32,
    pub files: usize,
    /// Files in a recognised language.
    pub recognised: usize,
    pub code: u64,
    pub comments: u64,
    pub blanks: u64,
    pub primary_language: Option<String>,
    pub languages: Vec<LanguageStat>,
    pub dependencies: Vec<DependencyEntry>,
    pub ml: Ml,
    pub complexity: Complexity,
    pub tdg: Tdg,
    /// Filled in at analysis time; `batuta analyze` refreshes it before printing.
    pub recommendations: Vec<Recommendation>,
    pub skipped: Vec<Skip>,
    /// Test files: counted as test lines, never parsed, so no ML call of theirs is listed.
    #[serde(default)]
    pub test_files: usize,
    /// The folders the walk did not enter, and why; `batuta analyze` fills it in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOut>,
}

/// Headers are C until the tree shows C++ sources and no C ones.
fn settle_headers(files: &mut [FileReport]) {
    let cpp = files.iter().any(|f| f.tokei.as_deref() == Some("C++"));
    let c = files.iter().any(|f| f.tokei.as_deref() == Some("C"));
    if cpp && !c {
        for f in files.iter_mut() {
            if f.tokei.as_deref() == Some("C Header") {
                f.language = Some("C++".to_owned());
            }
        }
    }
}

/// Aggregate per-file reports (any order) and the files that were never analysed.
pub fn aggregate(mut files: Vec<FileReport>, never_read: &[(String, String)]) -> Analysis {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    settle_headers(&mut files);
    let mut langs: BTreeMap<&str, LanguageStat> = BTreeMap::new();
    for f in files.iter().filter(|f| f.skipped.is_none()) {
        if let Some(l) = &f.language {
            let s = langs.entry(l).or_insert_with(|| LanguageStat {
                name: l.clone(),
                files: 0,
                code: 0,
                comments: 0,
                blanks: 0,
                percent: 0.0,
            });
            s.files += 1;
            s.code += f.code;
            s.comments += f.comments;
            s.blanks += f.blanks;
        }
    }
    let code: u64 = langs.values().map(|l| l.code).sum();
    let mut languages: Vec<LanguageStat> = langs.into_values().collect();
    for l in &mut languages {
        l.percent = if code == 0 {
            0.0
        } else {
            (1000.0 * l.code as f64 / code as f64).round() / 10.0
        };
    }
    languages.sort_by(|a, b| {
        b.code
            .cmp(&a.code)
            .then(b.files.cmp(&a.files))
            .then(a.name.cmp(&b.name))
    });
    let primary_language = languages
        .iter()
        .find(|l| tdg::SOURCE_FAMILIES.contains(&l.name.as_str()))
        .or(languages.first())
        .map(|l| l.name.clone());

    let mut dependencies: Vec<DependencyEntry> = files
        .iter()
        .flat_map(|f| {
            f.dependencies.iter().map(|d| DependencyEntry {
                name: d.name.clone(),
                constraint: d.constraint.clone(),
                manager: d.manager.clone(),
                scope: d.scope.clone(),
                file: f.path.clone(),
            })
        })
        .collect();
    dependencies
        .sort_by(|a, b| (&a.file, &a.name, &a.manager).cmp(&(&b.file, &b.name, &b.manager)));

    let mut fw_files: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ops: BTreeMap<&str, (Operation, BTreeSet<&str>)> = BTreeMap::new();
    for f in &files {
        for m in &f.ml_imports {
            *fw_files.entry(m).or_default() += 1;
        }
        for c in &f.ml_calls {
            let e = ops.entry(&c.operation).or_insert_with(|| {
                (
                    Operation {
                        framework: c.framework.clone(),
                        operation: c.operation.clone(),
                        count: 0,
                        files: 0,
                        target: c.target.clone(),
                        backend: c.backend.clone(),
                    },
                    BTreeSet::new(),
                )
            });
            e.0.count += 1;
            e.1.insert(&f.path);
        }
    }
    let frameworks = fw_files
        .into_iter()
        .map(|(m, n)| Framework {
            module: m.to_owned(),
            name: FRAMEWORKS
                .iter()
                .find(|(k, _)| *k == m)
                .map_or(m, |(_, d)| d)
                .to_owned(),
            files: n,
        })
        .collect();
    let mut operations: Vec<Operation> = ops
        .into_values()
        .map(|(mut o, fs)| {
            o.files = fs.len();
            o
        })
        .collect();
    operations.sort_by(|a, b| b.count.cmp(&a.count).then(a.operation.cmp(&b.operation)));

    let mut all_fns: Vec<(&str, &super::Function)> = files
        .iter()
        .filter(|f| !f.test)
        .flat_map(|f| f.functions.iter().map(move |x| (f.path.as_str(), x)))
        .collect();
    let mut bands: BTreeMap<String, usize> = ["simple", "moderate", "complex", "refactor"]
        .iter()
        .map(|b| ((*b).to_owned(), 0))
        .collect();
    for (_, f) in &all_fns {
        *bands.entry(band(f.cyclomatic).to_owned()).or_default() += 1;
    }
    let n = all_fns.len();
    let mean = if n == 0 {
        0.0
    } else {
        let s: u64 = all_fns.iter().map(|(_, f)| u64::from(f.cyclomatic)).sum();
        (10.0 * s as f64 / n as f64).round() / 10.0
    };
    all_fns.sort_by(|a, b| {
        (b.1.cyclomatic, b.1.cognitive)
            .cmp(&(a.1.cyclomatic, a.1.cognitive))
            .then(a.0.cmp(b.0))
            .then(a.1.line.cmp(&b.1.line))
    });
    let complexity = Complexity {
        functions: n,
        mean_cyclomatic: mean,
        max_cyclomatic: all_fns.first().map_or(0, |(_, f)| f.cyclomatic),
        bands,
        cognitive_15_or_more: all_fns.iter().filter(|(_, f)| f.cognitive >= 15).count(),
        hotspots: all_fns
            .iter()
            .filter(|(_, f)| f.cyclomatic > 10 || f.cognitive >= 15)
            .take(HOTSPOTS)
            .map(|(p, f)| Hotspot {
                file: (*p).to_owned(),
                function: f.name.clone(),
                line: f.line,
                cyclomatic: f.cyclomatic,
                cognitive: f.cognitive,
                band: band(f.cyclomatic).to_owned(),
            })
            .collect(),
    };

    let mut skipped: Vec<Skip> = Vec::new();
    for f in &files {
        if let Some(r) = &f.skipped {
            skipped.push(Skip {
                path: f.path.clone(),
                reason: r.clone(),
                partial: false,
            });
        }
        for p in &f.problems {
            skipped.push(Skip {
                path: f.path.clone(),
                reason: p.clone(),
                partial: true,
            });
        }
    }
    for (p, r) in never_read {
        skipped.push(Skip {
            path: p.clone(),
            reason: r.clone(),
            partial: false,
        });
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));

    let tdg = tdg::compute(&files);
    Analysis {
        format: FORMAT,
        files: files.len() + never_read.len(),
        recognised: files
            .iter()
            .filter(|f| f.language.is_some() && f.skipped.is_none())
            .count(),
        code,
        comments: languages.iter().map(|l| l.comments).sum(),
        blanks: languages.iter().map(|l| l.blanks).sum(),
        primary_language,
        languages,
        dependencies,
        ml: Ml {
            frameworks,
            operations,
        },
        complexity,
        tdg,
        recommendations: Vec::new(),
        skipped,
        test_files: files.iter().filter(|f| f.test).count(),
        left_out: Vec::new(),
    }
}

impl Analysis {
    /// The files skipped whole, and those analysed with something left out (a syntax error
    /// past which complexity was not measured…): the header counts each list it shows.
    pub fn skips(&self) -> (Vec<&Skip>, Vec<&Skip>) {
        self.skipped.iter().partition(|k| !k.partial)
    }

    /// (family, files) for each language, for recommendations.
    pub fn language_files(&self) -> Vec<(String, usize)> {
        self.languages
            .iter()
            .map(|l| (l.name.clone(), l.files))
            .collect()
    }
}

/// Which parts a rendering shows; all of them when none is asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sections {
    pub languages: bool,
    pub dependencies: bool,
    pub tdg: bool,
}

impl Sections {
    fn all(self) -> bool {
        !(self.languages || self.dependencies || self.tdg)
    }
    fn langs(self) -> bool {
        self.languages || self.all()
    }
    fn deps(self) -> bool {
        self.dependencies || self.all()
    }
    fn quality(self) -> bool {
        self.tdg || self.all()
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        thousands(n as u64),
        if n == 1 { one } else { many }
    )
}

pub fn render_text(a: &Analysis, s: Sections) -> String {
    let mut o = String::new();
    let rule = "─".repeat(50);
    let _ = writeln!(o, "📊 Analysis Results\n{rule}");
    let (skipped, partly) = a.skips();
    let partly_note = if partly.is_empty() {
        String::new()
    } else {
        format!(", {} partly analysed", thousands(partly.len() as u64))
    };
    let _ = writeln!(
        o,
        "Files: {} ({} in a recognised language, {} skipped{partly_note})",
        thousands(a.files as u64),
        thousands(a.recognised as u64),
        thousands(skipped.len() as u64)
    );
    let _ = writeln!(
        o,
        "Lines: {} code, {} comments, {} blank",
        thousands(a.code),
        thousands(a.comments),
        thousands(a.blanks)
    );
    if let Some(p) = &a.primary_language {
        let _ = writeln!(o, "Primary language: {p}");
    }
    if s.langs() {
        let _ = writeln!(o, "\nLanguages:");
        if a.languages.is_empty() {
            let _ = writeln!(o, "  (none recognised)");
        }
        for l in &a.languages {
            let _ = writeln!(
                o,
                "  • {:<18} {:>12}  {:>14}  {:>5.1}%",
                l.name,
                plural(l.files, "file", "files"),
                format!("{} lines", thousands(l.code)),
                l.percent
            );
        }
    }
    if s.deps() {
        let _ = writeln!(o, "\nDependencies ({}):", a.dependencies.len());
        if a.dependencies.is_empty() {
            let _ = writeln!(o, "  (no dependency manifest found)");
        }
        for d in &a.dependencies {
            let c = if d.constraint.is_empty() {
                String::new()
            } else {
                format!(" {}", d.constraint)
            };
            let scope = if d.scope == "runtime" {
                String::new()
            } else {
                format!(", {}", d.scope)
            };
            let _ = writeln!(o, "  • {}{c} ({}{scope}, {})", d.name, d.manager, d.file);
        }
    }
    if s.all() {
        let _ = writeln!(o, "\nML frameworks:{}", tests_left_out(a));
        if a.ml.frameworks.is_empty() {
            let _ = writeln!(o, "  (none imported)");
        }
        for f in &a.ml.frameworks {
            let _ = writeln!(o, "  • {} ({})", f.name, plural(f.files, "file", "files"));
        }
        for op in &a.ml.operations {
            let to = match (&op.target, &op.backend) {
                (Some(t), Some(b)) => format!("{t} [{b}]"),
                (Some(t), None) => t.clone(),
                _ => "unmapped".to_owned(),
            };
            let _ = writeln!(o, "    {} ×{} → {to}", op.operation, op.count);
        }
        let c = &a.complexity;
        let _ = writeln!(
            o,
            "\nComplexity: {}, mean cyclomatic {:.1}, max {}",
            plural(c.functions, "function", "functions"),
            c.mean_cyclomatic,
            c.max_cyclomatic
        );
        let _ = writeln!(
            o,
            "  simple {}, moderate {}, complex {}, refactor {}; cognitive ≥ 15: {}",
            c.bands.get("simple").unwrap_or(&0),
            c.bands.get("moderate").unwrap_or(&0),
            c.bands.get("complex").unwrap_or(&0),
            c.bands.get("refactor").unwrap_or(&0),
            c.cognitive_15_or_more
        );
        for h in &c.hotspots {
            let _ = writeln!(
                o,
                "    {}:{} {} (cyclomatic {}, cognitive {})",
                h.file, h.line, h.function, h.cyclomatic, h.cognitive
            );
        }
    }
    if s.quality() {
        let t = &a.tdg;
        let _ = writeln!(o, "\nQuality: TDG {:.1}/100 ({})", t.score, t.grade);
        for sub in &t.subscores {
            let _ = writeln!(
                o,
                "  {:<16} {:>5.1}  × {:>2.0}%  {}",
                sub.name,
                sub.score,
                sub.weight * 100.0,
                sub.detail
            );
        }
        if let Some(w) = t.weakest().filter(|w| w.score < 100.0) {
            let _ = writeln!(o, "  Weakest: {} ({})", w.name, w.definition);
        }
    }
    if s.all() {
        let _ = writeln!(o, "\nRecommendations:");
        if a.recommendations.is_empty() {
            let _ = writeln!(o, "  (no language with a transpiler found)");
        }
        for r in &a.recommendations {
            if let Some(why) = &r.why {
                let _ = writeln!(
                    o,
                    "  • {} ({}): no transpiler — {why}",
                    r.language,
                    plural(r.files, "file", "files")
                );
                continue;
            }
            let state = match (r.installed, &r.version) {
                (true, Some(v)) => format!("installed ({v})"),
                (true, None) => "installed".to_owned(),
                (false, _) => format!("not installed: {}", r.install),
            };
            let _ = writeln!(
                o,
                "  • {} ({}): {} — {state}",
                r.language,
                plural(r.files, "file", "files"),
                r.transpiler
            );
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(o, "\nSkipped ({}):", skipped.len());
        for k in &skipped {
            let _ = writeln!(o, "  • {}: {}", k.path, k.reason);
        }
    }
    if !partly.is_empty() {
        let _ = writeln!(o, "\nPartly analysed ({}):", partly.len());
        for k in &partly {
            let _ = writeln!(o, "  • {}: {}", k.path, k.reason);
        }
    }
    if !a.left_out.is_empty() {
        let _ = writeln!(o, "\nLeft out, not walked ({}):", a.left_out.len());
        for l in a.left_out.iter().take(LISTED) {
            let _ = writeln!(o, "  • {} ({})", l.path, l.why);
        }
        if a.left_out.len() > LISTED {
            let _ = writeln!(o, "  • … and {} more", a.left_out.len() - LISTED);
        }
        let _ = writeln!(o, "  and hidden files, and whatever .gitignore ignores");
    }
    o
}

/// `" (12 test files left out)"` when there are test files: their calls are not read.
fn tests_left_out(a: &Analysis) -> String {
    if a.test_files == 0 {
        String::new()
    } else {
        format!(
            " ({} left out: test code is counted, not read for calls)",
            plural(a.test_files, "test file", "test files")
        )
    }
}

pub fn render_markdown(a: &Analysis, s: Sections) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Analysis\n");
    let _ = writeln!(
        o,
        "{} files, {} code lines, {} comment lines, {} blank lines. Primary language: {}.\n",
        thousands(a.files as u64),
        thousands(a.code),
        thousands(a.comments),
        thousands(a.blanks),
        a.primary_language.as_deref().unwrap_or("none")
    );
    if s.langs() {
        let _ = writeln!(
            o,
            "## Languages\n\n| language | files | code | comments | blanks | share |\n|---|---:|---:|---:|---:|---:|"
        );
        for l in &a.languages {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {:.1} % |",
                l.name, l.files, l.code, l.comments, l.blanks, l.percent
            );
        }
        o.push('\n');
    }
    if s.deps() {
        let _ = writeln!(
            o,
            "## Dependencies\n\n| name | constraint | manager | scope | file |\n|---|---|---|---|---|"
        );
        for d in &a.dependencies {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                d.name, d.constraint, d.manager, d.scope, d.file
            );
        }
        o.push('\n');
    }
    if s.all() {
        let note = tests_left_out(a);
        let _ = writeln!(
            o,
            "## ML frameworks\n\n{}| operation | calls | files | Rust target | backend |\n|---|---:|---:|---|---|",
            if note.is_empty() {
                String::new()
            } else {
                format!("Calls found outside tests{note}.\n\n")
            }
        );
        for op in &a.ml.operations {
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} | {} |",
                op.operation,
                op.count,
                op.files,
                op.target
                    .as_deref()
                    .map_or("unmapped".to_owned(), |t| format!("`{t}`")),
                op.backend.as_deref().unwrap_or("")
            );
        }
        let c = &a.complexity;
        let _ = writeln!(
            o,
            "\n## Complexity\n\n{} functions, mean cyclomatic {:.1}, max {}.\n\n| file | function | line | cyclomatic | cognitive |\n|---|---|---:|---:|---:|",
            c.functions, c.mean_cyclomatic, c.max_cyclomatic
        );
        for h in &c.hotspots {
            let _ = writeln!(
                o,
                "| {} | `{}` | {} | {} | {} |",
                h.file, h.function, h.line, h.cyclomatic, h.cognitive
            );
        }
        o.push('\n');
    }
    if s.quality() {
        let t = &a.tdg;
        let _ = writeln!(
            o,
            "## Quality: TDG {:.1}/100, grade {}\n\n| sub-score | weight | score | detail | definition |\n|---|---:|---:|---|---|",
            t.score, t.grade
        );
        for sub in &t.subscores {
            let _ = writeln!(
                o,
                "| {} | {:.0} % | {:.1} | {} | {} |",
                sub.name,
                sub.weight * 100.0,
                sub.score,
                sub.detail,
                sub.definition
            );
        }
        o.push('\n');
    }
    if s.all() {
        let _ = writeln!(
            o,
            "## Recommendations\n\n| language | files | transpiler | installed | install |\n|---|---:|---|---|---|"
        );
        for r in &a.recommendations {
            if let Some(why) = &r.why {
                let _ = writeln!(o, "| {} | {} | none: {why} | | |", r.language, r.files);
                continue;
            }
            let inst = if r.installed {
                r.version.clone().unwrap_or_else(|| "yes".into())
            } else {
                "no".into()
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | `{}` |",
                r.language, r.files, r.transpiler, inst, r.install
            );
        }
        o.push('\n');
    }
    let (skipped, partly) = a.skips();
    for (title, list) in [("Skipped", &skipped), ("Partly analysed", &partly)] {
        if !list.is_empty() {
            let _ = writeln!(o, "## {title} ({})\n", list.len());
            for k in list {
                let _ = writeln!(o, "- `{}`: {}", k.path, k.reason);
            }
            o.push('\n');
        }
    }
    if !a.left_out.is_empty() {
        let _ = writeln!(o, "## Left out, not walked ({})\n", a.left_out.len());
        for l in a.left_out.iter().take(LISTED) {
            let _ = writeln!(o, "- `{}`: {}", l.path, l.why);
        }
        if a.left_out.len() > LISTED {
            let _ = writeln!(o, "- … and {} more", a.left_out.len() - LISTED);
        }
        let _ = writeln!(o, "\nand hidden files, and whatever .gitignore ignores.");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyze_bytes;

    #[test]
    fn headers_follow_the_tree() {
        let a = aggregate(
            vec![
                analyze_bytes("a.cpp", b"int main() { return 0; }\n"),
                analyze_bytes("a.h", b"int f(void);\n"),
            ],
            &[],
        );
        assert_eq!(a.languages.len(), 1);
        assert_eq!(a.languages[0].name, "C++");
        let a = aggregate(
            vec![
                analyze_bytes("a.c", b"int main() { return 0; }\n"),
                analyze_bytes("a.h", b"int f(void);\n"),
            ],
            &[],
        );
        assert_eq!(a.languages[0].name, "C");
    }

    #[test]
    fn the_header_counts_what_the_lists_show() {
        let mut a = aggregate(
            vec![
                analyze_bytes("blob.py", b"\0\0binary"),
                analyze_bytes("broken.c", b"int f( {\n"),
                analyze_bytes("m.py", b"import numpy as np\nx = np.dot(a, b)\n"),
                analyze_bytes("tests/test_m.py", b"import numpy as np\nnp.dot(a, b)\n"),
            ],
            &[],
        );
        a.recommendations = vec![Recommendation {
            language: "C++".into(),
            files: 2,
            transpiler: "none".into(),
            why: Some("decy reads C only".into()),
            installed: false,
            version: None,
            install: String::new(),
            path: None,
            stamp: None,
        }];
        a.left_out = vec![LeftOut {
            path: "venv/".into(),
            why: "excluded by venv/**".into(),
        }];
        let text = render_text(&a, Sections::default());
        assert!(
            text.contains("Files: 4 (3 in a recognised language, 1 skipped, 1 partly analysed)"),
            "{text}"
        );
        assert!(
            text.contains("\nSkipped (1):\n  • blob.py: binary"),
            "{text}"
        );
        assert!(
            text.contains("\nPartly analysed (1):\n  • broken.c: "),
            "{text}"
        );
        assert!(
            text.contains("ML frameworks: (1 test file left out"),
            "{text}"
        );
        assert!(
            text.contains("numpy.dot ×1 "),
            "the test's call is not counted: {text}"
        );
        assert!(
            text.contains("• C++ (2 files): no transpiler — decy reads C only"),
            "{text}"
        );
        assert!(
            text.contains("  • venv/ (excluded by venv/**)\n  and hidden files, and whatever .gitignore ignores"),
            "{text}"
        );
        let md = render_markdown(&a, Sections::default());
        assert!(
            md.contains("## Skipped (1)") && md.contains("## Partly analysed (1)"),
            "{md}"
        );
        assert!(md.contains("- `venv/`: excluded by venv/**"), "{md}");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
