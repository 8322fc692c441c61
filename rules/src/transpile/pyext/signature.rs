//! Which functions of a Rust module Python can call through a generated `#[pyfunction]`,
//! read from the module's text with `syn`: a function whose parameters and result are
//! values PyO3 converts (int, float, str, bool, bytes, and lists, tuples, dicts, sets and
//! `Option`s of those) is wrapped; any other is listed with the reason it is not.
//!
//! Arguments are converted by value: a `&str` or `&[T]` parameter gets an owned copy that
//! the wrapper lends to the function, and a `&mut` one cannot be wrapped at all, since
//! what the function changed would never reach the Python object.

use quote::ToTokens;

/// A top-level function of a module, as the extension sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RustFn {
    /// Its name as Python calls it (`r#type` → `type`).
    pub name: String,
    /// Its identifier as Rust spells it.
    pub ident: String,
    pub line: usize,
    /// How to call it from a wrapper, or why there is none.
    pub wrap: Result<Signature, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub params: Vec<Param>,
    pub ret: Ret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The wrapper's name for it (the function's own when it is a plain identifier).
    pub name: String,
    /// The owned type the wrapper takes from Python.
    pub ty: String,
    /// The function takes a reference: the wrapper lends its copy (`&name`).
    pub lend: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ret {
    Unit,
    Value(String),
    /// `Result<T, E>`: an `Err` raises `exception` (a PyO3 exception type) with the error's
    /// text.
    Result {
        ok: String,
        exception: String,
    },
}

/// Python's built-in exceptions a Rust error type of the same name stands for; any other
/// error raises RuntimeError.
const EXCEPTIONS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "FileNotFoundError",
    "IndexError",
    "KeyError",
    "LookupError",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "RuntimeError",
    "TypeError",
    "UnicodeError",
    "ValueError",
    "ZeroDivisionError",
];

const INTS: &[&str] = &[
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
];

/// What a type that does not convert is told.
const CONVERTS: &str =
    "int, float, str, bool, bytes, or a list, tuple, dict, set or Option of those";

/// Every top-level function of `text` (a module's source), in source order; functions of
/// `#[cfg(test)]` are not the module's. A file `syn` cannot parse is an error with its
/// message.
pub fn functions(text: &str) -> Result<Vec<RustFn>, String> {
    let file = syn::parse_file(text).map_err(|e| {
        let at = e.span().start();
        format!("line {}: {e}", at.line)
    })?;
    let mut out = Vec::new();
    for item in &file.items {
        let syn::Item::Fn(f) = item else { continue };
        if is_test_only(&f.attrs) {
            continue;
        }
        let ident = f.sig.ident.to_string();
        let name = ident.strip_prefix("r#").unwrap_or(&ident).to_owned();
        out.push(RustFn {
            name,
            ident,
            line: f.sig.ident.span().start().line,
            wrap: signature(&f.vis, &f.sig),
        });
    }
    Ok(out)
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.meta.to_token_stream().to_string().contains("test"))
}

fn text(t: &impl ToTokens) -> String {
    t.to_token_stream()
        .to_string()
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace("< ", "<")
        .replace(" ,", ",")
        .replace("& ", "&")
}

fn signature(vis: &syn::Visibility, sig: &syn::Signature) -> Result<Signature, String> {
    match vis {
        syn::Visibility::Public(_) => {}
        syn::Visibility::Restricted(r) if r.path.is_ident("crate") => {}
        _ => {
            return Err("not `pub`: the extension calls only the module's public functions".into());
        }
    }
    if sig.asyncness.is_some() {
        return Err("`async`: Python would get a future, not the value".into());
    }
    if sig.unsafety.is_some() {
        return Err("`unsafe`: what it requires of its caller is for a person to check".into());
    }
    if sig
        .generics
        .params
        .iter()
        .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)))
    {
        return Err("generic: a wrapper needs one concrete signature".into());
    }
    if sig.variadic.is_some() {
        return Err("variadic".into());
    }
    let mut params = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        let syn::FnArg::Typed(pt) = input else {
            return Err("a method (takes `self`)".into());
        };
        let name = match &*pt.pat {
            syn::Pat::Ident(p) if p.subpat.is_none() => p.ident.to_string(),
            _ => format!("arg{i}"),
        };
        let (ty, lend) = param(&pt.ty).map_err(|why| {
            format!(
                "parameter `{}: {}`: {why}",
                text(&*pt.pat).replace("mut ", ""),
                text(&*pt.ty)
            )
        })?;
        params.push(Param { name, ty, lend });
    }
    let ret = match &sig.output {
        syn::ReturnType::Default => Ret::Unit,
        syn::ReturnType::Type(_, ty) => {
            result(ty).map_err(|why| format!("returns `{}`: {why}", text(&**ty)))?
        }
    };
    Ok(Signature { params, ret })
}

/// A parameter's owned type, and whether the function borrows it.
fn param(ty: &syn::Type) -> Result<(String, bool), String> {
    match ty {
        syn::Type::Reference(r) if r.mutability.is_some() => Err(
            "a `&mut` borrow: Python's arguments reach Rust as copies, so its changes would be lost"
                .into(),
        ),
        syn::Type::Reference(r) => match &*r.elem {
            syn::Type::Path(p) if p.qself.is_none() && p.path.is_ident("str") => {
                Ok(("::std::string::String".into(), true))
            }
            syn::Type::Slice(s) => Ok((format!("::std::vec::Vec<{}>", value(&s.elem)?), true)),
            other => Ok((value(other)?, true)),
        },
        syn::Type::Paren(p) => param(&p.elem),
        _ => Ok((value(ty)?, false)),
    }
}

/// What a function returns, as the wrapper gives it back.
fn result(ty: &syn::Type) -> Result<Ret, String> {
    if let syn::Type::Tuple(t) = ty
        && t.elems.is_empty()
    {
        return Ok(Ret::Unit);
    }
    if let Some((name, args)) = last_segment(ty)
        && name == "Result"
    {
        let [ok, err] = args.as_slice() else {
            return Err("a `Result` alias: name its value and error types".into());
        };
        let ok = match ok {
            syn::Type::Tuple(t) if t.elems.is_empty() => "()".to_owned(),
            other => returned(other)?,
        };
        let exception = last_segment(err)
            .map(|(n, _)| n)
            .filter(|n| EXCEPTIONS.contains(&n.as_str()))
            .unwrap_or_else(|| "RuntimeError".to_owned());
        return Ok(Ret::Result {
            ok,
            exception: format!("::pyo3::exceptions::Py{exception}"),
        });
    }
    Ok(Ret::Value(returned(ty)?))
}

/// A returned value: owned, or a `&'static str`.
fn returned(ty: &syn::Type) -> Result<String, String> {
    if let syn::Type::Reference(r) = ty {
        let is_str =
            matches!(&*r.elem, syn::Type::Path(p) if p.qself.is_none() && p.path.is_ident("str"));
        let is_static = r.lifetime.as_ref().is_some_and(|l| l.ident == "static");
        return if is_str && is_static && r.mutability.is_none() {
            Ok("&'static str".to_owned())
        } else {
            Err("a borrow, which cannot outlive the call".into())
        };
    }
    value(ty)
}

/// `Vec<String>` → `("Vec", [String])`, for a plain path type.
fn last_segment(ty: &syn::Type) -> Option<(String, Vec<syn::Type>)> {
    let syn::Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let seg = p.path.segments.last()?;
    let args = match &seg.arguments {
        syn::PathArguments::None => Vec::new(),
        syn::PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .map(|g| match g {
                syn::GenericArgument::Type(t) => Some(t.clone()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?,
        syn::PathArguments::Parenthesized(_) => return None,
    };
    Some((seg.ident.to_string(), args))
}

/// An owned value Python converts, as the wrapper spells its type (std's paths in full,
/// so no name of the module can stand in for them).
fn value(ty: &syn::Type) -> Result<String, String> {
    match ty {
        syn::Type::Paren(p) => value(&p.elem),
        syn::Type::Group(g) => value(&g.elem),
        syn::Type::Tuple(t) if t.elems.is_empty() => Err("`()` as a value".into()),
        syn::Type::Tuple(t) => {
            let parts = t.elems.iter().map(value).collect::<Result<Vec<_>, _>>()?;
            Ok(if parts.len() == 1 {
                format!("({},)", parts[0])
            } else {
                format!("({})", parts.join(", "))
            })
        }
        syn::Type::Reference(_) => {
            Err("a borrow inside a container: the wrapper converts values it owns".into())
        }
        syn::Type::ImplTrait(_) => Err("`impl Trait`: a wrapper needs a concrete type".into()),
        syn::Type::Array(_) => Err("a fixed-size array: take a Vec".into()),
        syn::Type::Path(_) => {
            let Some((name, args)) = last_segment(ty) else {
                return Err(format!("`{}` is not {CONVERTS}", text(ty)));
            };
            let one = |path: &str| -> Result<String, String> {
                match args.as_slice() {
                    [t] => Ok(format!("{path}<{}>", value(t)?)),
                    _ => Err(format!("`{}` with other than one type argument", text(ty))),
                }
            };
            let two = |path: &str| -> Result<String, String> {
                match args.as_slice() {
                    [k, v] => Ok(format!("{path}<{}, {}>", key(k)?, value(v)?)),
                    _ => Err(format!(
                        "`{}` with other than a key and a value type (a custom hasher?)",
                        text(ty)
                    )),
                }
            };
            match name.as_str() {
                n if INTS.contains(&n) && args.is_empty() => Ok(n.to_owned()),
                "f32" | "f64" | "bool" | "char" if args.is_empty() => Ok(name),
                "String" if args.is_empty() => Ok("::std::string::String".into()),
                "Vec" => one("::std::vec::Vec"),
                "Option" => one("::std::option::Option"),
                "HashSet" => match args.as_slice() {
                    [t] => Ok(format!("::std::collections::HashSet<{}>", key(t)?)),
                    _ => Err(format!("`{}` with a custom hasher", text(ty))),
                },
                "BTreeSet" => match args.as_slice() {
                    [t] => Ok(format!("::std::collections::BTreeSet<{}>", key(t)?)),
                    _ => Err(format!("`{}`", text(ty))),
                },
                "HashMap" => two("::std::collections::HashMap"),
                "BTreeMap" => two("::std::collections::BTreeMap"),
                _ => Err(format!("`{}` is not {CONVERTS}", text(ty))),
            }
        }
        _ => Err(format!("`{}` is not {CONVERTS}", text(ty))),
    }
}

/// A dict key or set element: a value that hashes (no float).
fn key(ty: &syn::Type) -> Result<String, String> {
    let v = value(ty)?;
    if v.contains("f32") || v.contains("f64") {
        return Err("a float as a dict key or set element (Rust's floats do not hash)".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Result<Signature, String> {
        functions(src).unwrap().remove(0).wrap
    }

    #[test]
    fn values_python_converts_are_wrapped() {
        let s = one(
            "pub fn f(s: &str, n: i64, x: f64, b: bool, v: &[u8], t: Vec<(String, i32)>, m: &HashMap<String, Vec<i64>>, o: Option<String>) -> String { todo!() }",
        )
        .unwrap();
        let tys: Vec<(&str, bool)> = s.params.iter().map(|p| (p.ty.as_str(), p.lend)).collect();
        assert_eq!(
            tys,
            [
                ("::std::string::String", true),
                ("i64", false),
                ("f64", false),
                ("bool", false),
                ("::std::vec::Vec<u8>", true),
                ("::std::vec::Vec<(::std::string::String, i32)>", false),
                (
                    "::std::collections::HashMap<::std::string::String, ::std::vec::Vec<i64>>",
                    true
                ),
                ("::std::option::Option<::std::string::String>", false),
            ]
        );
        assert_eq!(s.ret, Ret::Value("::std::string::String".into()));
        assert_eq!(s.params[0].name, "s");
    }

    #[test]
    fn results_raise_the_python_exception_of_the_same_name() {
        let r = one("pub fn f() -> Result<i64, ValueError> { Ok(1) }").unwrap();
        assert_eq!(
            r.ret,
            Ret::Result {
                ok: "i64".into(),
                exception: "::pyo3::exceptions::PyValueError".into()
            }
        );
        let r = one("pub fn f() -> Result<(), Box<dyn std::error::Error>> { Ok(()) }").unwrap();
        assert_eq!(
            r.ret,
            Ret::Result {
                ok: "()".into(),
                exception: "::pyo3::exceptions::PyRuntimeError".into()
            }
        );
        assert_eq!(one("pub fn f() {}").unwrap().ret, Ret::Unit);
        assert_eq!(
            one("pub fn f() -> &'static str { \"\" }").unwrap().ret,
            Ret::Value("&'static str".into())
        );
    }

    #[test]
    fn what_is_not_wrapped_says_why() {
        let why = |src: &str| one(src).unwrap_err();
        assert!(why("fn f() {}").contains("not `pub`"));
        assert!(
            why("pub fn f(v: &mut Vec<i64>) {}")
                .contains("parameter `v: &mut Vec<i64>`: a `&mut` borrow")
        );
        assert!(why("pub fn f<T: Clone>(t: T) {}").contains("generic"));
        assert!(why("pub async fn f() {}").contains("`async`"));
        assert!(why("pub unsafe fn f() {}").contains("`unsafe`"));
        assert!(why("pub fn f(p: Point) {}").contains("`Point` is not int, float"));
        assert!(why("pub fn f(v: Vec<&str>) {}").contains("a borrow inside a container"));
        assert!(why("pub fn f<'a>(s: &'a str) -> &'a str { s }").contains("returns `&'a str`"));
        assert!(why("pub fn f(m: HashMap<f64, i64>) {}").contains("float as a dict key"));
        assert!(why("pub fn f(x: impl Into<String>) {}").contains("`impl Trait`"));
    }

    #[test]
    fn names_tests_and_lines() {
        let fs = functions(
            "#[cfg(test)]\nfn helper() {}\n\npub fn r#type(x: i64) -> i64 { x }\npub fn g((a, b): (i64, i64)) -> i64 { a + b }\n",
        )
        .unwrap();
        assert_eq!(fs.len(), 2, "{fs:?}");
        assert_eq!(
            (fs[0].name.as_str(), fs[0].ident.as_str(), fs[0].line),
            ("type", "r#type", 4)
        );
        assert_eq!(fs[1].wrap.as_ref().unwrap().params[0].name, "arg0");
        assert!(functions("pub fn (").unwrap_err().starts_with("line 1:"));
    }
}
