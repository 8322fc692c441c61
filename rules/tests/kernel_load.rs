//! The loaders: raw little-endian files, `.npy` files written byte by byte here (formats
//! 1.0, 2.0 and 3.0, both byte orders, the header as other writers spell it), CSV columns
//! by name and by index, quoted cells included.

use std::path::PathBuf;

use batuta_rules::kernels::Dtype;
use batuta_rules::kernels::load::{self, AnyArray, Column, Format};

fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A `.npy` file as NumPy writes it: magic, version, header length, the header dictionary
/// padded with spaces to a multiple of 64 bytes and ended by a newline, then the data.
fn npy(version: u8, descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let fortran = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    let prefix = if version == 1 { 10 } else { 12 };
    while (prefix + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.push(version);
    out.push(0);
    if version == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f32s(a: &AnyArray) -> Vec<f32> {
    match a {
        AnyArray::F32(x) => x.as_slice().to_vec(),
        AnyArray::F64(_) => panic!("f64, expected f32"),
    }
}

fn f64s(a: &AnyArray) -> Vec<f64> {
    match a {
        AnyArray::F64(x) => x.as_slice().to_vec(),
        AnyArray::F32(_) => panic!("f32, expected f64"),
    }
}

#[test]
fn raw_little_endian_files() {
    let dir = tempfile::tempdir().unwrap();
    let v = [1.5f32, -2.0, f32::NAN, f32::INFINITY];
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let p = file(&dir, "a.f32", &bytes);
    let a = load::raw(&p, Dtype::F32).unwrap();
    let got = f32s(&a);
    assert_eq!(got[..2], [1.5, -2.0]);
    assert!(got[2].is_nan() && got[3] == f32::INFINITY);
    assert_eq!(a.shape(), [4]);
    // The same 16 bytes are two f64.
    assert_eq!(f64s(&load::raw(&p, Dtype::F64).unwrap()).len(), 2);
    // 15 bytes are no whole number of f32.
    let p = file(&dir, "bad.f32", &bytes[..15]);
    let e = load::raw(&p, Dtype::F32).err().unwrap().to_string();
    assert!(e.contains("whole number"), "{e}");
    // Empty is fine.
    let p = file(&dir, "empty.f32", &[]);
    assert!(f32s(&load::raw(&p, Dtype::F32).unwrap()).is_empty());
}

#[test]
fn npy_version_1_and_2_both_byte_orders() {
    let dir = tempfile::tempdir().unwrap();
    let v = [1.0f64, 2.5, -3.25, 1e300, 5e-324, -0.0];
    let le: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let be: Vec<u8> = v.iter().flat_map(|x| x.to_be_bytes()).collect();
    for (version, descr, data) in [(1, "<f8", &le), (2, "<f8", &le), (1, ">f8", &be)] {
        let p = file(&dir, "x.npy", &npy(version, descr, false, "(2, 3)", data));
        let a = load::npy(&p).unwrap();
        assert_eq!(a.dtype(), Dtype::F64);
        assert_eq!(a.shape(), [2, 3]);
        assert_eq!(f64s(&a), v, "version {version} {descr}");
    }
    let v32 = [0.5f32, 1e-40, -7.0];
    let data: Vec<u8> = v32.iter().flat_map(|x| x.to_le_bytes()).collect();
    let p = file(&dir, "y.npy", &npy(1, "<f4", false, "(3,)", &data));
    let a = load::npy(&p).unwrap();
    assert_eq!((a.dtype(), a.shape()), (Dtype::F32, &[3][..]));
    assert_eq!(f32s(&a), v32);
    // A scalar array: shape ().
    let p = file(&dir, "s.npy", &npy(1, "<f4", false, "()", &data[..4]));
    assert_eq!(f32s(&load::npy(&p).unwrap()), [0.5]);
    // Fortran order is fine for a vector, an error for a matrix.
    let p = file(&dir, "fv.npy", &npy(1, "<f4", true, "(3,)", &data));
    assert_eq!(f32s(&load::npy(&p).unwrap()), v32);
    let p = file(&dir, "fm.npy", &npy(1, "<f8", true, "(2, 3)", &le));
    let e = load::npy(&p).err().unwrap().to_string();
    assert!(e.contains("Fortran"), "{e}");
}

#[test]
fn npy_errors_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "i.npy", &npy(1, "<i4", false, "(1,)", &[0; 4]));
    let e = load::npy(&p).err().unwrap().to_string();
    assert!(e.contains("'<i4'") && e.contains("not supported"), "{e}");
    let p = file(&dir, "short.npy", &npy(1, "<f4", false, "(10,)", &[0; 8]));
    let e = load::npy(&p).err().unwrap().to_string();
    assert!(e.contains("10 elements") && e.contains("holds 2"), "{e}");
    let p = file(&dir, "junk.npy", b"not numpy at all");
    let e = load::npy(&p).err().unwrap().to_string();
    assert!(e.contains("not a .npy file") && e.contains("magic"), "{e}");
}

/// A header as other writers than NumPy spell it: format 3.0, double-quoted keys in another
/// order, big-endian float64. (Found by looking for `'descr'`, it was "no 'descr'".)
#[test]
fn npy_headers_are_read_as_python_literals() {
    let dict = b"{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \">f8\"}\n";
    let mut bytes = b"\x93NUMPY\x03\x00".to_vec();
    bytes.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    bytes.extend_from_slice(dict);
    for i in 0..6 {
        bytes.extend_from_slice(&(i as f64 + 0.25).to_be_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let a = load::npy(&file(&dir, "c.npy", &bytes)).unwrap();
    assert_eq!(a.shape(), [2, 3]);
    assert_eq!(f64s(&a), [0.25, 1.25, 2.25, 3.25, 4.25, 5.25]);
}

#[test]
fn npy_bytes_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let v: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
    let bytes = load::npy_bytes(&v, &[3, 4]).unwrap();
    let data_offset = bytes.len() - 12 * 4;
    assert_eq!(data_offset % 64, 0, "the data starts 64-byte aligned");
    let p = file(&dir, "r.npy", &bytes);
    let a = load::npy(&p).unwrap();
    assert_eq!(a.shape(), [3, 4]);
    assert_eq!(f32s(&a), v);
}

#[test]
fn csv_columns_by_name_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(
        &dir,
        "d.csv",
        b"time,\"value\",flag\n0,1.5,a\n1,,b\n2,nan,c\n3,-inf,d\n\n4,2e3,e\n",
    );
    let got = f64s(&load::csv(&p, &Column::Name("value".into())).unwrap());
    assert_eq!(got.len(), 5);
    assert_eq!(got[0], 1.5);
    assert!(got[1].is_nan(), "an empty cell is NaN");
    assert!(got[2].is_nan());
    assert_eq!(got[3], f64::NEG_INFINITY);
    assert_eq!(got[4], 2000.0);
    // By index the header line is skipped because it is not a number.
    assert_eq!(
        f64s(&load::csv(&p, &Column::Index(0)).unwrap()),
        [0.0, 1.0, 2.0, 3.0, 4.0]
    );
    let e = load::csv(&p, &Column::Name("volts".into()))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("no column 'volts'") && e.contains("time, value, flag"),
        "{e}"
    );
    let e = load::csv(&p, &Column::Index(2)).err().unwrap().to_string();
    assert!(
        e.contains("line 2") && e.contains("'a' is not a number"),
        "{e}"
    );
    let e = load::csv(&p, &Column::Index(7)).err().unwrap().to_string();
    assert!(e.contains("no column 7"), "{e}");
}

/// Cells quoted as CSV quotes them: commas, quotes and line breaks inside, CRLF line ends.
/// (Split on commas, every column after `"a, b"` was the wrong one.)
#[test]
fn csv_cells_may_quote_commas_quotes_and_line_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(
        &dir,
        "t.csv",
        b"\"sensor, id\",\"value\"\r\n\"a, b\",1.5\r\n\r\n\"say \"\"hi\"\"\",  2 \r\n\"two\nlines\",\r\n",
    );
    let v = f64s(&load::csv(&p, &Column::Name("value".into())).unwrap());
    assert_eq!(v[..2], [1.5, 2.0]);
    assert!(v[2].is_nan(), "an empty cell");
    assert_eq!(v.len(), 3);
    assert_eq!(f64s(&load::csv(&p, &Column::Index(1)).unwrap()).len(), 3);
    let e = load::csv(&p, &Column::Name("sensor".into()))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.ends_with("no column 'sensor'; the header has: sensor, id, value"),
        "{e}"
    );
    let e = load::csv(&p, &Column::Index(0)).err().unwrap().to_string();
    assert!(e.ends_with("line 2: 'a, b' is not a number"), "{e}");
    let p = file(&dir, "u.csv", b"v\n1\n\n2\nx\n");
    let e = load::csv(&p, &Column::Index(0)).err().unwrap().to_string();
    assert!(e.ends_with("line 5: 'x' is not a number"), "{e}");
}

#[test]
fn formats_follow_the_extension() {
    assert_eq!(Format::of("a/b.npy".as_ref()), Format::Npy);
    assert_eq!(Format::of("a/b.CSV".as_ref()), Format::Csv);
    assert_eq!(Format::of("a/b.f32".as_ref()), Format::Raw);
    assert_eq!(Format::of("a/b".as_ref()), Format::Raw);
}

#[test]
fn any_array_converts_between_types() {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = [0.1f64, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    let p = file(&dir, "a.f64", &bytes);
    let a = load::raw(&p, Dtype::F64).unwrap().into_type::<f32>();
    assert_eq!(a.as_slice(), [0.1f32, 2.0]);
}
