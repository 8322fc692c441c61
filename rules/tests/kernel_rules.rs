//! The kernels as rules, called the way the engine calls them: inputs from files, options
//! from `with`, a JSON result in each output, BATUTA-V-001 when a check fails.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use batuta_engine::manifest::Phase;
use batuta_engine::rule::{Call, Rules};
use batuta_rules::Registry;
use serde_json::{Value, json};

struct Ws(tempfile::TempDir);

impl Ws {
    fn new() -> Ws {
        Ws(tempfile::tempdir().unwrap())
    }

    fn f32s(&self, name: &str, v: &[f32]) {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.bytes(name, &bytes);
    }

    fn bytes(&self, name: &str, b: &[u8]) {
        let p = self.0.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b).unwrap();
    }

    fn root(&self) -> &Path {
        self.0.path()
    }

    /// Runs `kernel` over `inputs` with `with`, writing `out.json`: the report text or the
    /// failure, and the JSON written (if any).
    fn run(
        &self,
        kernel: &str,
        inputs: &[&str],
        with: Value,
    ) -> (Result<String, batuta_engine::exec::Failure>, Option<Value>) {
        self.run_out(kernel, inputs, with, &["out/result.json"])
    }

    fn run_out(
        &self,
        kernel: &str,
        inputs: &[&str],
        with: Value,
        outputs: &[&str],
    ) -> (Result<String, batuta_engine::exec::Failure>, Option<Value>) {
        let inputs: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
        let outputs: Vec<String> = outputs.iter().map(|s| s.to_string()).collect();
        let cancel = AtomicBool::new(false);
        let call = Call {
            action: "validate/numerics",
            phase: Phase::Validate,
            root: self.root(),
            source: "",
            output: "",
            inputs: &inputs,
            outputs: &outputs,
            with: &with,
            env: Vec::new(),
            cancel: &cancel,
        };
        let rule = Registry.kernel(kernel).expect("a kernel rule");
        let r = rule.run(&call).map(|r| r.text);
        let json = outputs
            .iter()
            .find(|o| o.ends_with(".json"))
            .and_then(|o| std::fs::read_to_string(self.root().join(o)).ok())
            .map(|s| serde_json::from_str(&s).unwrap());
        (r, json)
    }
}

#[test]
fn allclose_passes_and_says_which_backend() {
    let ws = Ws::new();
    ws.f32s("golden/expected.f32", &[1.0, 2.0, 3.0]);
    ws.f32s("out/actual.f32", &[1.0, 2.000001, 3.0]);
    let (r, json) = ws.run(
        "allclose",
        &["golden/expected.f32", "out/actual.f32"],
        json!({ "rtol": 1.0e-5, "atol": 1.0e-8 }),
    );
    let text = r.unwrap();
    assert!(text.contains("all 3 f32 pairs are close"), "{text}");
    assert!(
        text.contains("computed on simd") || text.contains("computed on scalar"),
        "{text}"
    );
    let j = json.unwrap();
    assert_eq!(j["kernel"], "allclose");
    assert_eq!(j["pass"], true);
    assert_eq!(j["value"], true);
    assert_eq!(j["n"], 3);
    assert_eq!(j["dtype"], "f32");
    assert_eq!(j["mismatches"], 0);
    assert!(
        ["simd", "scalar"].contains(&j["backend"].as_str().unwrap()),
        "{j}"
    );
}

#[test]
fn allclose_failing_is_v001_with_the_worst_element() {
    let ws = Ws::new();
    ws.f32s("a.f32", &[1.0, 2.0, 3.0, 4.0]);
    ws.f32s("b.f32", &[1.0, 2.5, 3.0, 4.01]);
    let (r, _) = ws.run(
        "allclose",
        &["a.f32", "b.f32"],
        json!({ "backend": "scalar" }),
    );
    let f = r.unwrap_err();
    assert_eq!(f.code.code, "BATUTA-V-001");
    assert!(
        f.message.contains("2 of 4 f32 pairs are not close"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("index 1: a = 2, b = 2.5"),
        "{}",
        f.message
    );
    assert!(f.message.contains("computed on scalar"), "{}", f.message);
    assert!(
        f.hints
            .iter()
            .any(|h| h.contains("'a.f32'") && h.contains("'b.f32'")),
        "{:?}",
        f.hints
    );
}

#[test]
fn every_kernel_writes_its_value() {
    let ws = Ws::new();
    ws.f32s("a.f32", &[1.0, 2.0, 3.0, 4.0]);
    ws.f32s("b.f32", &[1.0, 2.0, 3.0, 4.5]);
    let value = |kernel: &str, inputs: &[&str], with: Value| -> Value {
        let (r, json) = ws.run(kernel, inputs, with);
        r.unwrap_or_else(|f| panic!("{kernel}: {}", f.message));
        json.unwrap()["value"].clone()
    };
    assert_eq!(
        value("max_abs_diff", &["a.f32", "b.f32"], Value::Null),
        json!(0.5)
    );
    assert_eq!(
        value("ulp_distance", &["a.f32", "b.f32"], Value::Null),
        json!(1 << 20)
    );
    assert_eq!(value("dot", &["a.f32", "b.f32"], Value::Null), json!(32.0));
    assert_eq!(value("sum", &["a.f32"], Value::Null), json!(10.0));
    assert_eq!(value("mean", &["b.f32"], Value::Null), json!(2.625));
    assert_eq!(
        value("matmul", &["a.f32", "b.f32"], json!({ "k": 2 })),
        json!([[7.0, 11.0], [15.0, 24.0]])
    );
}

#[test]
fn gates_on_max_abs_diff_and_ulps() {
    let ws = Ws::new();
    ws.f32s("a.f32", &[1.0, 2.0]);
    ws.f32s("b.f32", &[1.0, 2.25]);
    let (r, json) = ws.run("max_abs_diff", &["a.f32", "b.f32"], json!({ "max": 0.5 }));
    assert!(r.is_ok());
    assert_eq!(json.unwrap()["pass"], true);
    let (r, _) = ws.run("max_abs_diff", &["a.f32", "b.f32"], json!({ "max": 0.1 }));
    let f = r.unwrap_err();
    assert_eq!(f.code.code, "BATUTA-V-001");
    assert!(
        f.message.contains("more than the allowed 0.1"),
        "{}",
        f.message
    );
    let (r, _) = ws.run("ulp_distance", &["a.f32", "b.f32"], json!({ "max_ulp": 4 }));
    assert_eq!(r.unwrap_err().code.code, "BATUTA-V-001");
}

#[test]
fn npy_and_csv_inputs() {
    let ws = Ws::new();
    let m: Vec<f64> = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    ws.bytes(
        "a.npy",
        &batuta_rules::kernels::load::npy_bytes(&m, &[2, 3]).unwrap(),
    );
    ws.bytes(
        "b.npy",
        &batuta_rules::kernels::load::npy_bytes(&m, &[3, 2]).unwrap(),
    );
    let (r, json) = ws.run_out(
        "matmul",
        &["a.npy", "b.npy"],
        Value::Null,
        &["c.json", "c.npy"],
    );
    r.unwrap();
    let j = json.unwrap();
    assert_eq!(j["shape"], json!([2, 2]));
    assert_eq!(j["dtype"], "f64");
    assert_eq!(j["value_file"], "c.npy");
    let c = batuta_rules::kernels::load::npy(&ws.root().join("c.npy")).unwrap();
    assert_eq!(c.shape(), [2, 2]);
    assert_eq!(c.into_type::<f64>().as_slice(), [22.0, 28.0, 49.0, 64.0]);

    ws.bytes("py.csv", b"x,y\n1,2.625\n2,3.5\n");
    ws.bytes("rs.csv", b"2.625000\n3.500000\n");
    let (r, json) = ws.run(
        "allclose",
        &["py.csv", "rs.csv"],
        json!({ "columns": ["y", 0], "dtype": "f32" }),
    );
    r.unwrap();
    let j = json.unwrap();
    assert_eq!(
        (j["pass"].clone(), j["dtype"].clone()),
        (json!(true), json!("f32"))
    );
}

#[test]
fn bad_options_are_clear() {
    let ws = Ws::new();
    ws.f32s("a.f32", &[1.0]);
    let msg = |kernel: &str, inputs: &[&str], with: Value| {
        ws.run(kernel, inputs, with).0.unwrap_err().message
    };
    let m = msg("allclose", &["a.f32", "a.f32"], json!({ "rtoll": 1 }));
    assert!(m.contains("no option 'rtoll'") && m.contains("rtol"), "{m}");
    let m = msg("sum", &["a.f32", "a.f32"], Value::Null);
    assert!(m.contains("takes 1 input"), "{m}");
    let m = msg("sum", &["a.f32"], json!({ "backend": "tpu" }));
    assert!(m.contains("backend 'tpu'"), "{m}");
    let m = msg("sum", &["missing.f32"], Value::Null);
    assert!(m.contains("cannot read input 'missing.f32'"), "{m}");
    let m = msg("matmul", &["a.f32", "a.f32"], Value::Null);
    assert!(m.contains("needs the shapes"), "{m}");
}

#[test]
fn forcing_an_absent_simd_level_is_o001() {
    let ws = Ws::new();
    ws.f32s("a.f32", &[1.0]);
    let absent = if cfg!(target_arch = "x86_64") {
        "neon"
    } else {
        "avx2"
    };
    let f = ws
        .run("sum", &["a.f32"], json!({ "backend": absent }))
        .0
        .unwrap_err();
    assert_eq!(f.code.code, "BATUTA-O-001");
}

#[test]
fn the_gpu_backend_when_forced() {
    let ws = Ws::new();
    ws.f32s("a.f32", &[1.0, 2.0]);
    let (r, json) = ws.run("sum", &["a.f32"], json!({ "backend": "gpu" }));
    if batuta_rules::kernels::gpu_disabled() {
        let f = r.unwrap_err();
        assert_eq!(f.code.code, "BATUTA-O-003");
        assert!(f.message.contains("BATUTA_DISABLE_GPU"), "{}", f.message);
    } else {
        let text = r.unwrap_or_else(|f| panic!("{}", f.message));
        assert!(text.contains("computed on gpu"), "{text}");
        assert_eq!(json.unwrap()["backend"], "gpu");
    }
}
