//! `schemas/batuta.schema.json` agrees with the loader, which is the source of truth for what
//! a manifest may contain.
//!
//! - the schema is a valid draft 2020-12 schema, and every property has a description;
//! - `batuta.yaml.example` and every `examples/*/batuta.yaml` pass the schema, load and expand;
//! - the schema declares exactly the keys of `manifest::keys` and the builtin and kernel
//!   names of `batuta_rules`;
//! - every manifest of `tests/manifests/good` passes both, and every manifest of
//!   `tests/manifests/bad` is rejected by the loader with the code its first line expects,
//!   and by the schema when the problem is structural.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use batuta_engine::manifest::{self, Code, Diagnostics, Manifest, Phase, keys};
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema() -> Value {
    let path = repo().join("schemas/batuta.schema.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema()).expect("the schema compiles")
}

/// The manifest as JSON, through the parser the loader uses.
fn to_json(text: &str) -> Result<Value, manifest::Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    manifest::parse_yaml(text).map(|node| node.to_json())
}

/// One schema error, kept with what the corpus test needs to classify it.
struct SchemaError {
    kind: &'static str,
    instance_path: String,
    text: String,
}

impl SchemaError {
    /// A constraint the schema adds on purpose although the loader reports it as a semantic
    /// problem: an unknown stage name, builtin or kernel (M-006), a task with two of run,
    /// rule, builtin and kernel, or a stage with both `tasks` and task keys (M-010).
    fn semantic_code(&self) -> Option<Code> {
        let last = self.instance_path.rsplit('/').next().unwrap_or("");
        match self.kind {
            "unknown stage" if self.instance_path == "/stages" => Some(Code::UnknownName),
            "enum" if last == "builtin" || last == "kernel" => Some(Code::UnknownName),
            "two kinds" | "tasks and task keys" => Some(Code::Conflict),
            _ => None,
        }
    }
}

fn schema_errors(v: &jsonschema::Validator, instance: &Value) -> Vec<SchemaError> {
    v.iter_errors(instance)
        .map(|e| {
            let kind = match e.kind() {
                ValidationErrorKind::AdditionalProperties { .. } => {
                    if e.instance_path().as_str() == "/stages" {
                        "unknown stage"
                    } else {
                        "additionalProperties"
                    }
                }
                ValidationErrorKind::Enum { .. } => "enum",
                ValidationErrorKind::OneOfMultipleValid { .. } => "two kinds",
                ValidationErrorKind::Not { .. } => "tasks and task keys",
                _ => "other",
            };
            SchemaError {
                kind,
                instance_path: e.instance_path().as_str().to_owned(),
                text: format!(
                    "{}: {e} (schema {})",
                    display_path(e.instance_path().as_str()),
                    e.schema_path()
                ),
            }
        })
        .collect()
}

fn display_path(p: &str) -> &str {
    if p.is_empty() { "(top)" } else { p }
}

fn describe(errors: &[SchemaError]) -> String {
    errors.iter().map(|e| format!("\n    {}", e.text)).collect()
}

fn codes(d: &Diagnostics) -> Vec<&'static str> {
    d.items.iter().map(|i| i.code.as_str()).collect()
}

fn rendered(d: &Diagnostics) -> String {
    d.items
        .iter()
        .map(|i| format!("\n    {}: {}", i.code, i.message))
        .collect()
}

/// The `*.yaml` files of a folder, sorted; none when the folder does not exist.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable folder entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// Why the schema refuses a manifest that should pass, if it does.
fn schema_rejects(v: &jsonschema::Validator, path: &Path, text: &str) -> Option<String> {
    match to_json(text) {
        Ok(json) => {
            let errors = schema_errors(v, &json);
            (!errors.is_empty())
                .then(|| format!("{}: the schema rejects it:{}", rel(path), describe(&errors)))
        }
        Err(d) => Some(format!("{}: not YAML: {}", rel(path), d.message)),
    }
}

fn rel(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn object<'v>(v: &'v Value, pointer: &str) -> &'v serde_json::Map<String, Value> {
    v.pointer(pointer)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("the schema has no object at {pointer}"))
}

fn strings<'v>(v: &'v Value, pointer: &str) -> Vec<&'v str> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("the schema has no array at {pointer}"))
        .iter()
        .map(|s| s.as_str().expect("a string"))
        .collect()
}

fn sorted<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = items.into_iter().collect();
    v.sort_unstable();
    v
}

// ---------------------------------------------------------------------------------------------
// a. The schema itself.

#[test]
fn schema_is_valid_draft_2020_12() {
    let s = schema();
    assert_eq!(
        s["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "the schema declares draft 2020-12"
    );
    let meta = jsonschema::draft202012::meta::validator();
    let errors: Vec<String> = meta
        .iter_errors(&s)
        .map(|e| format!("\n    {}: {e}", display_path(e.instance_path().as_str())))
        .collect();
    assert!(
        errors.is_empty(),
        "the schema violates the 2020-12 meta-schema:{}",
        errors.concat()
    );
    // Every `$ref` resolves: compiling resolves them all.
    validator();
}

/// What users see on hover: every property has a description, its own or its `$ref`'s.
#[test]
fn every_property_has_a_description() {
    fn walk(root: &Value, v: &Value, at: &str, missing: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Object(props)) = map.get("properties") {
                    for (name, p) in props {
                        let own = p.get("description").is_some();
                        let by_ref = p
                            .get("$ref")
                            .and_then(Value::as_str)
                            .and_then(|r| r.strip_prefix('#'))
                            .and_then(|r| root.pointer(r))
                            .is_some_and(|t| t.get("description").is_some());
                        if !own && !by_ref {
                            missing.push(format!("{at}/properties/{name}"));
                        }
                    }
                }
                for (k, child) in map {
                    walk(root, child, &format!("{at}/{k}"), missing);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(root, child, &format!("{at}/{i}"), missing);
                }
            }
            _ => {}
        }
    }
    let s = schema();
    let mut missing = Vec::new();
    walk(&s, &s, "", &mut missing);
    assert!(
        missing.is_empty(),
        "properties without a description: {missing:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// b. The shipped manifests.

fn load_and_expand(path: &Path) -> Result<Manifest, String> {
    let m = manifest::load(path, &batuta_rules::CATALOG)
        .map_err(|d| format!("does not load:{}", rendered(&d)))?;
    batuta_engine::graph::expand(&m, None)
        .map_err(|d| format!("does not expand:{}", rendered(&d)))?;
    Ok(m)
}

#[test]
fn shipped_manifests_pass_schema_loader_and_expansion() {
    let v = validator();
    let mut manifests = vec![repo().join("batuta.yaml.example")];
    let mut examples: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/ exists")
        .map(|e| e.expect("readable folder entry").path().join("batuta.yaml"))
        .filter(|p| p.is_file())
        .collect();
    examples.sort();
    assert!(!examples.is_empty(), "no examples/*/batuta.yaml found");
    manifests.extend(examples);

    let mut failures = Vec::new();
    for path in &manifests {
        let text = std::fs::read_to_string(path).expect("readable manifest");
        failures.extend(schema_rejects(&v, path, &text));
        if let Err(why) = load_and_expand(path) {
            failures.push(format!("{}: {why}", rel(path)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The example shows every key of the manifest.
#[test]
fn the_example_shows_every_key() {
    fn collect(v: &Value, keys: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    keys.insert(k.clone());
                    collect(child, keys);
                }
            }
            Value::Array(items) => items.iter().for_each(|c| collect(c, keys)),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(repo().join("batuta.yaml.example")).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema=schemas/batuta.schema.json\n"),
        "batuta.yaml.example names the schema on its first line"
    );
    let mut used = BTreeSet::new();
    collect(&to_json(&text).expect("YAML"), &mut used);
    // `projects:` cannot stand beside `project:`: the workspace example shows it.
    let workspace = std::fs::read_to_string(repo().join("examples/workspace/batuta.yaml")).unwrap();
    collect(&to_json(&workspace).expect("YAML"), &mut used);
    let all = [
        keys::TOP,
        keys::PROJECT,
        keys::WORKSPACE_PROJECT,
        keys::TOOL,
        keys::RULE,
        keys::TASK,
        keys::STAGE_OWN,
        keys::RESOURCES,
        keys::TARGET,
        keys::REMOTE,
        keys::REMOTE_TLS,
    ];
    let missing: Vec<&str> = all
        .iter()
        .flat_map(|set| set.iter().copied())
        .chain(Phase::ALL.map(Phase::stage_name))
        .filter(|k| !used.contains(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "batuta.yaml.example does not show {missing:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// c. The schema and the loader declare the same keys and names.

#[test]
fn schema_keys_match_the_loader() {
    let s = schema();
    let props = |pointer: &str| -> Vec<&str> {
        let o = object(&s, pointer);
        let p = o
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("no properties at {pointer}"));
        assert_eq!(
            o.get("additionalProperties"),
            Some(&Value::Bool(false)),
            "{pointer} must forbid other keys, as the loader does"
        );
        sorted(p.keys().map(String::as_str))
    };
    let stage: Vec<&str> = keys::STAGE_OWN.iter().chain(keys::TASK).copied().collect();
    let cases: [(&str, &str, &[&str]); 11] = [
        ("top level", "", keys::TOP),
        ("project", "/properties/project", keys::PROJECT),
        (
            "workspace project",
            "/$defs/workspace_project",
            keys::WORKSPACE_PROJECT,
        ),
        ("tool", "/$defs/tool", keys::TOOL),
        ("rule", "/$defs/rule", keys::RULE),
        ("task", "/$defs/task", keys::TASK),
        ("stage", "/$defs/stage", &stage),
        ("target", "/$defs/target", keys::TARGET),
        ("remote", "/properties/remote", keys::REMOTE),
        (
            "remote.tls",
            "/properties/remote/properties/tls",
            keys::REMOTE_TLS,
        ),
        (
            "resources",
            "/$defs/task/properties/resources",
            keys::RESOURCES,
        ),
    ];
    for (what, pointer, expected) in cases {
        assert_eq!(
            props(pointer),
            sorted(expected.iter().copied()),
            "the schema's {what} keys ({pointer}/properties) differ from the loader's"
        );
    }
    assert_eq!(
        props("/properties/stages"),
        sorted(Phase::ALL.map(Phase::stage_name)),
        "the schema's stage names differ from the five phases"
    );
    assert_eq!(
        strings(&s, "/required"),
        ["version", "stages"],
        "required top-level keys"
    );
    assert_eq!(
        s.pointer("/oneOf"),
        Some(&serde_json::json!([{ "required": ["project"] }, { "required": ["projects"] }])),
        "`project` or `projects`, not both"
    );
    assert_eq!(strings(&s, "/properties/project/required"), ["name"]);
    assert_eq!(strings(&s, "/$defs/rule/required"), ["run"]);
    assert_eq!(strings(&s, "/$defs/target/required"), ["stages"]);
    assert_eq!(
        s.pointer("/properties/version/const"),
        Some(&Value::from(1))
    );

    // A stage's task keys are the task's own definitions.
    for key in keys::TASK {
        assert_eq!(
            s.pointer(&format!("/$defs/stage/properties/{key}/$ref")),
            Some(&Value::from(format!("#/$defs/task/properties/{key}"))),
            "the stage's '{key}' refers to the task's"
        );
    }
    // Exactly one kind per task; any task key makes a stage a task.
    let required_in = |pointer: &str, combinator: &str| -> Vec<&str> {
        s.pointer(&format!("{pointer}/{combinator}"))
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("no {combinator} at {pointer}"))
            .iter()
            .map(|alt| {
                let r = alt["required"].as_array().expect("required");
                assert_eq!(r.len(), 1);
                r[0].as_str().unwrap()
            })
            .collect()
    };
    assert_eq!(required_in("/$defs/oneKind/then", "oneOf"), keys::TASK_KIND);
    assert_eq!(required_in("/$defs/hasTaskKey", "anyOf"), keys::TASK);
}

#[test]
fn schema_names_match_the_catalog() {
    let s = schema();
    assert_eq!(
        sorted(strings(&s, "/$defs/task/properties/builtin/enum")),
        sorted(batuta_rules::BUILTINS.iter().copied()),
        "builtin names"
    );
    assert_eq!(
        sorted(strings(&s, "/$defs/task/properties/kernel/enum")),
        sorted(batuta_rules::KERNELS.iter().copied()),
        "kernel names"
    );
}

// ---------------------------------------------------------------------------------------------
// d. The corpus of good and bad manifests.

#[test]
fn good_manifests_pass_schema_and_loader() {
    let v = validator();
    let files = yaml_files(&repo().join("tests/manifests/good"));
    assert!(
        files.len() >= 8,
        "tests/manifests/good holds {} manifests",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("UTF-8 manifest");
        failures.extend(schema_rejects(&v, path, &text));
        if let Err(d) = manifest::load_str(&text, path, &batuta_rules::CATALOG) {
            failures.push(format!(
                "{}: the loader rejects it:{}",
                rel(path),
                rendered(&d)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const STRUCTURAL: [Code; 4] = [
    Code::UnknownKey,
    Code::WrongType,
    Code::MissingKey,
    Code::Version,
];
const SEMANTIC: [Code; 6] = [
    Code::UnknownName,
    Code::Placeholder,
    Code::Cycle,
    Code::PathEscapes,
    Code::Conflict,
    Code::Missing,
];

#[test]
fn bad_manifests_are_rejected_for_the_expected_reason() {
    let v = validator();
    let files = yaml_files(&repo().join("tests/manifests/bad"));
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for path in &files {
        let name = rel(path);
        let bytes = std::fs::read(path).expect("readable manifest");
        let first = String::from_utf8_lossy(&bytes)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        let Some(expected) = first.strip_prefix("# expect: ").map(str::trim) else {
            failures.push(format!(
                "{name}: the first line must be `# expect: BATUTA-M-0NN`"
            ));
            continue;
        };

        // The loader (reading, parsing, lowering, validation; no graph expansion).
        let diagnostics = match manifest::load(path, &batuta_rules::CATALOG) {
            Ok(_) => {
                // Its problem needs the file system: graph expansion finds it.
                skipped.push(format!("{name} (loads; expansion finds {expected})"));
                continue;
            }
            Err(d) => d,
        };
        let found = codes(&diagnostics);
        if !found.contains(&expected) {
            failures.push(format!(
                "{name}: expected {expected}, the loader reports:{}",
                rendered(&diagnostics)
            ));
            continue;
        }

        // The schema, where it has something to say.
        let structural = STRUCTURAL.iter().any(|c| c.as_str() == expected);
        let semantic = SEMANTIC.iter().any(|c| c.as_str() == expected);
        if !structural && !semantic {
            continue; // M-001, M-011, M-012: not a question for a schema
        }
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let Ok(json) = to_json(text) else {
            continue;
        };
        let errors = schema_errors(&v, &json);
        let loader_structural = found
            .iter()
            .any(|f| STRUCTURAL.iter().any(|c| c.as_str() == *f));
        if structural || loader_structural {
            // The schema rejects it, and not only through the constraints it adds on purpose.
            if !errors.iter().any(|e| e.semantic_code().is_none()) {
                failures.push(format!(
                    "{name}: structurally wrong ({}), but the schema {}",
                    found.join(", "),
                    if errors.is_empty() {
                        "accepts it".to_owned()
                    } else {
                        format!("only says:{}", describe(&errors))
                    }
                ));
            }
        } else {
            // Structurally fine: the schema accepts it, apart from the semantic constraints it
            // adds on purpose, each of which the loader reports too.
            let unexplained: Vec<&SchemaError> = errors
                .iter()
                .filter(|e| {
                    e.semantic_code()
                        .is_none_or(|c| !found.contains(&c.as_str()))
                })
                .collect();
            if !unexplained.is_empty() {
                let text: String = unexplained
                    .iter()
                    .map(|e| format!("\n    {}", e.text))
                    .collect();
                failures.push(format!(
                    "{name}: structurally fine ({}), but the schema rejects it:{text}",
                    found.join(", ")
                ));
            }
        }
    }
    if files.is_empty() {
        eprintln!("tests/manifests/bad holds no manifests yet");
    }
    for s in &skipped {
        eprintln!("skipped {s}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
