//! The whole tree's analysis, aggregated from per-file reports, and its renderings for
//! people (text, Markdown). JSON is the struct itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::FileReport;
use super::complexity::band;
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
    }
}

impl Analysis {
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
    let skipped_files = a.skipped.iter().filter(|k| !k.partial).count();
    let _ = writeln!(
        o,
        "Files: {} ({} in a recognised language, {} skipped)",
        thousands(a.files as u64),
        thousands(a.recognised as u64),
        thousands(skipped_files as u64)
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
        let _ = writeln!(o, "\nML frameworks:");
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
    if !a.skipped.is_empty() {
        let _ = writeln!(o, "\nSkipped ({}):", a.skipped.len());
        for k in &a.skipped {
            let _ = writeln!(o, "  • {}: {}", k.path, k.reason);
        }
    }
    o
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
        let _ = writeln!(
            o,
            "## ML frameworks\n\n| operation | calls | files | Rust target | backend |\n|---|---:|---:|---|---|"
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
    if !a.skipped.is_empty() {
        let _ = writeln!(o, "## Skipped\n");
        for k in &a.skipped {
            let _ = writeln!(o, "- `{}`: {}", k.path, k.reason);
        }
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
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
