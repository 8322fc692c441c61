//! The mapping table: which item of the Sovereign stack a Python operation becomes, naming
//! only items that exist in the pinned versions below. `tests/rust_targets.rs` builds a crate
//! that refers to every item of [`every_item`] against these versions from crates.io, so the
//! plan never suggests a call that does not compile.
//!
//! Each target is a path a Rust file can name after `use aprender::prelude::*;` (which
//! brings the `Estimator`, `UnsupervisedEstimator` and `Transformer` traits whose methods
//! `fit`, `predict` and `transform` are). trueno's operations are methods of `Vector<f32>`
//! and `Matrix<f32>`; aprender's models are structs in their modules; realizar loads and
//! runs `.apr` transformers.
//!
//! What has no target is listed by [`UNMAPPED`] with the reason.

/// The versions the table is written against (`tests/rust_targets/Cargo.toml` pins them).
pub const TRUENO: &str = "0.18.0";
pub const APRENDER: &str = "0.72.3";
pub const REALIZAR: &str = "0.8.6";

/// NumPy's name (function or array method) → trueno's `Vector<f32>` method: element-wise,
/// reductions over all elements.
const VECTOR: &[(&str, &str)] = &[
    ("add", "add"),
    ("subtract", "sub"),
    ("multiply", "mul"),
    ("divide", "div"),
    ("true_divide", "div"),
    ("maximum", "maximum"),
    ("minimum", "minimum"),
    ("dot", "dot"),
    ("vdot", "dot"),
    ("inner", "dot"),
    ("sum", "sum"),
    ("mean", "mean"),
    ("max", "max"),
    ("amax", "max"),
    ("min", "min"),
    ("amin", "min"),
    ("argmax", "argmax"),
    ("argmin", "argmin"),
    ("var", "variance"),
    ("std", "stddev"),
    ("exp", "exp"),
    ("log", "ln"),
    ("log2", "log2"),
    ("log10", "log10"),
    ("sqrt", "sqrt"),
    ("abs", "abs"),
    ("absolute", "abs"),
    ("sin", "sin"),
    ("cos", "cos"),
    ("tan", "tan"),
    ("tanh", "tanh"),
    ("floor", "floor"),
    ("ceil", "ceil"),
    ("clip", "clip"),
    ("norm", "norm_l2"),
];

/// NumPy's name → trueno's `Matrix<f32>` method: products and transposes of 2-D arrays.
const MATRIX: &[(&str, &str)] = &[("matmul", "matmul"), ("transpose", "transpose")];

/// scikit-learn's class → aprender's struct, by the module that holds it.
const MODELS: &[(&str, &str)] = &[
    ("LinearRegression", "linear_model::LinearRegression"),
    ("Ridge", "linear_model::Ridge"),
    ("Lasso", "linear_model::Lasso"),
    ("ElasticNet", "linear_model::ElasticNet"),
    ("LogisticRegression", "classification::LogisticRegression"),
    ("GaussianNB", "classification::GaussianNB"),
    ("KNeighborsClassifier", "classification::KNearestNeighbors"),
    ("LinearSVC", "classification::LinearSVM"),
    (
        "LinearDiscriminantAnalysis",
        "classification::LinearDiscriminantAnalysis",
    ),
    ("KMeans", "cluster::KMeans"),
    ("DBSCAN", "cluster::DBSCAN"),
    ("GaussianMixture", "cluster::GaussianMixture"),
    (
        "AgglomerativeClustering",
        "cluster::AgglomerativeClustering",
    ),
    ("SpectralClustering", "cluster::SpectralClustering"),
    ("IsolationForest", "cluster::IsolationForest"),
    ("LocalOutlierFactor", "cluster::LocalOutlierFactor"),
    ("DecisionTreeClassifier", "tree::DecisionTreeClassifier"),
    ("DecisionTreeRegressor", "tree::DecisionTreeRegressor"),
    ("RandomForestClassifier", "tree::RandomForestClassifier"),
    ("RandomForestRegressor", "tree::RandomForestRegressor"),
    (
        "GradientBoostingClassifier",
        "tree::GradientBoostingClassifier",
    ),
    ("StandardScaler", "preprocessing::StandardScaler"),
    ("MinMaxScaler", "preprocessing::MinMaxScaler"),
    ("PCA", "preprocessing::PCA"),
    ("TSNE", "preprocessing::TSNE"),
    ("FastICA", "decomposition::ICA"),
];

/// The methods of a model the plan takes in, and aprender's names for them (the same).
const MODEL_METHODS: &[&str] = &["fit", "predict", "transform"];

/// PyTorch's operation → realizar's item.
const REALIZAR_ITEMS: &[(&str, &str)] = &[
    (
        "torch.load",
        "realizar::apr_transformer::AprTransformer::from_apr_file::<&str>",
    ),
    (
        "torch.nn.Module.forward",
        "realizar::apr_transformer::AprTransformer::forward",
    ),
    (
        "torch.nn.Module.generate",
        "realizar::apr_transformer::AprTransformer::generate",
    ),
];

/// What has no target in these versions, and why: the honest list for the report.
pub const UNMAPPED: &[(&str, &str)] = &[
    (
        "numpy reductions with axis=",
        "trueno's reductions are over a whole Vector; a Matrix has no per-axis sum or mean",
    ),
    (
        "numpy.linalg.inv, solve, cholesky, eig",
        "trueno 0.18 has no inverse or factorisation (its eigen module is symmetric only)",
    ),
    (
        "numpy.reshape, ravel, flatten, astype",
        "layout and type changes: plain Rust (Vec, slices), no kernel",
    ),
    (
        "scipy.sparse products",
        "no sparse matrix type in trueno or aprender",
    ),
    (
        "sklearn Pipeline, KFold, GridSearchCV, Bunch",
        "containers and splitters: they compute nothing themselves",
    ),
];

/// The Rust target and backend of `operation` (as the analysis resolves it: `numpy.dot`,
/// `numpy.ndarray.sum`, `sklearn.cluster.KMeans.fit`, `torch.load`), if there is one.
pub fn mapping(operation: &str) -> Option<(String, &'static str)> {
    let fw = operation.split('.').next().unwrap_or("");
    let last = operation.rsplit('.').next().unwrap_or(operation);
    match fw {
        "numpy" => {
            if let Some((_, m)) = MATRIX.iter().find(|(p, _)| *p == last) {
                return Some((format!("trueno::Matrix::<f32>::{m}"), "SIMD/GPU"));
            }
            VECTOR
                .iter()
                .find(|(p, _)| *p == last)
                .map(|(_, m)| (format!("trueno::Vector::<f32>::{m}"), "SIMD"))
        }
        "sklearn" => {
            let mut parts = operation.rsplit('.');
            let (class, method) = match (parts.next(), parts.next()) {
                (Some(m), Some(c)) if MODEL_METHODS.contains(&m) => (c, Some(m)),
                (Some(c), _) => (c, None),
                _ => return None,
            };
            let (_, path) = MODELS.iter().find(|(p, _)| *p == class)?;
            let item = method.unwrap_or("new");
            if !model_has(path, item) {
                return None;
            }
            Some((format!("aprender::{path}::{item}"), "CPU"))
        }
        "torch" => REALIZAR_ITEMS
            .iter()
            .find(|(p, _)| *p == operation)
            .map(|(_, r)| ((*r).to_owned(), "CPU/GPU")),
        _ => None,
    }
}

/// The matrix product's target: what `dot` of 2-D operands and `@` become.
pub fn matmul() -> String {
    format!("trueno::Matrix::<f32>::{}", MATRIX[0].1)
}

/// Every item the table can name, for the test that compiles them.
pub fn every_item() -> Vec<String> {
    let mut items: Vec<String> = VECTOR
        .iter()
        .map(|(_, m)| format!("trueno::Vector::<f32>::{m}"))
        .chain(
            MATRIX
                .iter()
                .map(|(_, m)| format!("trueno::Matrix::<f32>::{m}")),
        )
        .chain(MODELS.iter().flat_map(|(_, path)| {
            std::iter::once("new")
                .chain(MODEL_METHODS.iter().copied())
                .filter(move |m| model_has(path, m))
                .map(move |m| format!("aprender::{path}::{m}"))
        }))
        .chain(REALIZAR_ITEMS.iter().map(|(_, r)| (*r).to_owned()))
        .collect();
    items.sort();
    items.dedup();
    items
}

/// Whether aprender's model has `method`: regressors and classifiers fit and predict,
/// clusterers fit and predict, scalers and projections fit and transform.
fn model_has(path: &str, method: &str) -> bool {
    let transformer = path.starts_with("preprocessing::") || path.starts_with("decomposition::");
    match method {
        "new" | "fit" => true,
        "predict" => !transformer,
        "transform" => transformer,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_map_to_items_of_the_pinned_crates() {
        let m = |op: &str| mapping(op).map(|(t, _)| t);
        assert_eq!(
            m("numpy.dot").as_deref(),
            Some("trueno::Vector::<f32>::dot")
        );
        assert_eq!(
            m("numpy.ndarray.sum").as_deref(),
            Some("trueno::Vector::<f32>::sum")
        );
        assert_eq!(
            m("numpy.matmul").as_deref(),
            Some("trueno::Matrix::<f32>::matmul")
        );
        assert_eq!(
            m("sklearn.cluster.KMeans").as_deref(),
            Some("aprender::cluster::KMeans::new")
        );
        assert_eq!(
            m("sklearn.linear_model.Ridge.fit").as_deref(),
            Some("aprender::linear_model::Ridge::fit")
        );
        assert_eq!(m("sklearn.pipeline.Pipeline"), None);
        assert_eq!(m("numpy.linalg.inv"), None);
        assert_eq!(m("pandas.read_csv"), None);
        // Every mapped operation names an item the compile test checks.
        let all = every_item();
        for op in [
            "numpy.dot",
            "numpy.matmul",
            "sklearn.cluster.DBSCAN.fit",
            "sklearn.preprocessing.MinMaxScaler.transform",
            "torch.load",
        ] {
            let t = m(op).unwrap();
            assert!(all.contains(&t), "{t}");
        }
    }
}
