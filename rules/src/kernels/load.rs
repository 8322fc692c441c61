//! Reading arrays from files: raw little-endian f32/f64, NumPy `.npy` (npyz: every format
//! version; `<f4`, `<f8`, `>f4`, `>f8`; C order), and one column of a CSV file (the `csv`
//! crate). Files are read, never memory-mapped.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;

use super::element::{Dtype, Element};

/// The layout of a file of numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Raw,
    Npy,
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "raw" | "bin" => Some(Format::Raw),
            "npy" => Some(Format::Npy),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// From the file's extension: `.npy`, `.csv`, anything else raw.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("npy") => Format::Npy,
            Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::Raw,
        }
    }
}

/// A CSV column, by header name or zero-based index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Name(String),
    Index(usize),
}

#[derive(Debug)]
pub struct LoadError(pub String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

fn err<T>(path: &Path, msg: impl fmt::Display) -> Result<T, LoadError> {
    Err(LoadError(format!("{}: {msg}", path.display())))
}

/// An array read from a file, with its shape (one dimension for raw files and CSV columns).
pub struct Array<T> {
    data: Vec<T>,
    pub shape: Vec<usize>,
}

impl<T: Element> Array<T> {
    pub fn from_vec(v: Vec<T>) -> Array<T> {
        let shape = vec![v.len()];
        Array { data: v, shape }
    }

    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// An array of either element type, as a file holds it.
pub enum AnyArray {
    F32(Array<f32>),
    F64(Array<f64>),
}

impl AnyArray {
    pub fn dtype(&self) -> Dtype {
        match self {
            AnyArray::F32(_) => Dtype::F32,
            AnyArray::F64(_) => Dtype::F64,
        }
    }

    pub fn shape(&self) -> &[usize] {
        match self {
            AnyArray::F32(a) => &a.shape,
            AnyArray::F64(a) => &a.shape,
        }
    }

    /// The array as `T`, converting (a copy) when the file holds the other type.
    pub fn into_type<T: Element>(self) -> Array<T> {
        fn convert<S: Element, T: Element>(a: Array<S>) -> Array<T> {
            let data = if S::DTYPE == T::DTYPE {
                // Same type: only the static type differs.
                bytemuck::cast_vec(a.data)
            } else {
                a.data.iter().map(|x| T::from_f64(x.to_f64())).collect()
            };
            Array {
                data,
                shape: a.shape,
            }
        }
        match self {
            AnyArray::F32(a) => convert(a),
            AnyArray::F64(a) => convert(a),
        }
    }
}

/// A raw file of little-endian elements of `dtype`. Read, not memory-mapped: another
/// process truncating a mapped file kills the reader with SIGBUS.
pub fn raw(path: &Path, dtype: Dtype) -> Result<AnyArray, LoadError> {
    let bytes = std::fs::read(path).or_else(|e| err(path, e))?;
    if bytes.len() % dtype.size() != 0 {
        return err(
            path,
            format!(
                "{} bytes is not a whole number of {dtype} elements ({} bytes each)",
                bytes.len(),
                dtype.size()
            ),
        );
    }
    fn little<T: Element>(bytes: &[u8]) -> Array<T> {
        Array::from_vec(bytes.chunks_exact(size_of::<T>()).map(T::from_le).collect())
    }
    Ok(match dtype {
        Dtype::F32 => AnyArray::F32(little(&bytes)),
        Dtype::F64 => AnyArray::F64(little(&bytes)),
    })
}

/// A NumPy `.npy` file of float32 or float64 (either byte order), in C order, read by npyz
/// (every format version; the header is a Python literal).
pub fn npy(path: &Path) -> Result<AnyArray, LoadError> {
    use npyz::{DType, Order, TypeChar};
    let file = File::open(path).or_else(|e| err(path, e))?;
    let npy = npyz::NpyFile::new(io::BufReader::new(file))
        .or_else(|e| err(path, format!("not a .npy file batuta can read: {e}")))?;
    let h = npy.header();
    let dtype = match h.dtype() {
        DType::Plain(t) if t.type_char() == TypeChar::Float && t.size_field() == 4 => Dtype::F32,
        DType::Plain(t) if t.type_char() == TypeChar::Float && t.size_field() == 8 => Dtype::F64,
        other => {
            return err(
                path,
                format!(
                    "dtype {} is not supported (the kernels read float32 '<f4' and float64 '<f8')",
                    other.descr()
                ),
            );
        }
    };
    let nontrivial = h.shape().iter().filter(|&&d| d > 1).count();
    if h.order() == Order::Fortran && nontrivial > 1 {
        return err(
            path,
            "the array is in Fortran order; save it in C order (np.ascontiguousarray)",
        );
    }
    let shape = h
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<_>, _>>()
        .or_else(|_| err(path, "the array's shape does not fit in memory"))?;
    let count = h.len();
    let short = |e: io::Error| {
        LoadError(format!(
            "{}: the header says {count} elements, and reading them failed: {e}",
            path.display()
        ))
    };
    Ok(match dtype {
        Dtype::F32 => AnyArray::F32(Array {
            data: npy.into_vec().map_err(short)?,
            shape,
        }),
        Dtype::F64 => AnyArray::F64(Array {
            data: npy.into_vec().map_err(short)?,
            shape,
        }),
    })
}

/// One column of a CSV file (the `csv` crate reads it: quoted cells may hold commas,
/// quotes and line breaks), as f64 (the caller converts). With a column name the first
/// row is the header; with an index the first row is skipped when the column does not
/// parse as a number there. Empty cells are NaN; `nan`, `inf`, `-inf` are read as such.
/// Blank lines are skipped.
pub fn csv(path: &Path, column: &Column) -> Result<AnyArray, LoadError> {
    let text = std::fs::read(path).or_else(|e| err(path, e))?;
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_slice())
        .into_records()
        .filter(|r| !r.as_ref().is_ok_and(|r| r.iter().all(str::is_empty)));
    let mut lines = LineCounter::default();
    let mut next = || -> Result<Option<(u64, csv::StringRecord)>, LoadError> {
        match rows.next() {
            None => Ok(None),
            Some(Ok(r)) => {
                let byte = r.position().map_or(0, csv::Position::byte);
                Ok(Some((lines.line_at(&text, byte), r)))
            }
            Some(Err(e)) => err(path, e),
        }
    };
    let index = match column {
        Column::Name(name) => {
            let Some((_, header)) = next()? else {
                return err(path, "the file is empty; it has no header naming columns");
            };
            match header.iter().position(|n| n == name) {
                Some(i) => i,
                None => {
                    let names: Vec<&str> = header.iter().collect();
                    return err(
                        path,
                        format!("no column '{name}'; the header has: {}", names.join(", ")),
                    );
                }
            }
        }
        Column::Index(i) => *i,
    };
    let parse = |c: &str| -> Option<f64> {
        if c.is_empty() {
            Some(f64::NAN)
        } else {
            c.parse::<f64>().ok()
        }
    };
    let mut values = Vec::new();
    let mut first = true;
    while let Some((line, row)) = next()? {
        let Some(cell) = row.get(index) else {
            return err(
                path,
                format!(
                    "line {line}: no column {index} (the line has {})",
                    row.len()
                ),
            );
        };
        match parse(cell) {
            Some(v) => values.push(v),
            None if first && matches!(column, Column::Index(_)) => {}
            None => return err(path, format!("line {line}: '{cell}' is not a number")),
        }
        first = false;
    }
    Ok(AnyArray::F64(Array::from_vec(values)))
}

/// The line a CSV row starts on, counted from the bytes: the reader's own count is one
/// short after a `\r\n` (it starts the next row at the `\n`). Rows come in order, so the
/// counting goes on from the last row.
#[derive(Default)]
struct LineCounter {
    byte: usize,
    newlines: u64,
}

impl LineCounter {
    fn line_at(&mut self, text: &[u8], byte: u64) -> u64 {
        let mut byte = (byte as usize).min(text.len());
        if text.get(byte) == Some(&b'\n') {
            byte += 1;
        }
        let from = self.byte.min(byte);
        self.newlines += text[from..byte].iter().filter(|&&b| b == b'\n').count() as u64;
        self.byte = byte;
        self.newlines + 1
    }
}

/// The bytes of a `.npy` file (C order, this host's byte order) holding `data` with
/// `shape`, written by npyz.
pub fn npy_bytes<T: Element>(data: &[T], shape: &[usize]) -> io::Result<Vec<u8>> {
    use npyz::WriterBuilder;
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut out = Vec::new();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(&mut out)
        .begin_nd()?;
    w.extend(data.iter().copied())?;
    w.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn values(a: AnyArray) -> Vec<f64> {
        a.into_type::<f64>().as_slice().to_vec()
    }

    #[test]
    fn csv_cells_may_quote_commas_quotes_and_line_breaks() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(
            &dir,
            "t.csv",
            b"\"sensor, id\",\"value\"\r\n\"a, b\",1.5\r\n\r\n\"say \"\"hi\"\"\",  2 \r\n\"two\nlines\",\r\n",
        );
        let v = values(csv(&p, &Column::Name("value".into())).unwrap());
        assert_eq!(v[..2], [1.5, 2.0]);
        assert!(v[2].is_nan(), "an empty cell");
        assert_eq!(v.len(), 3);
        let v = values(csv(&p, &Column::Index(1)).unwrap());
        assert_eq!(v.len(), 3, "the header row, not a number, is skipped");
        let e = csv(&p, &Column::Name("sensor".into()))
            .err()
            .expect("refused")
            .to_string();
        assert!(
            e.ends_with("no column 'sensor'; the header has: sensor, id, value"),
            "{e}"
        );
        let e = csv(&p, &Column::Index(0))
            .err()
            .expect("refused")
            .to_string();
        assert!(e.ends_with("line 2: 'a, b' is not a number"), "{e}");
        let p = file(&dir, "u.csv", b"v\n1\n\n2\nx\n");
        let e = csv(&p, &Column::Index(0))
            .err()
            .expect("refused")
            .to_string();
        assert!(e.ends_with("line 5: 'x' is not a number"), "{e}");
    }

    #[test]
    fn npy_files_round_trip_in_both_types() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<f32> = (0..6).map(|i| i as f32 * 0.5).collect();
        let p = file(&dir, "a.npy", &npy_bytes(&data, &[2, 3]).unwrap());
        let a = npy(&p).unwrap();
        assert_eq!((a.dtype(), a.shape()), (Dtype::F32, &[2, 3][..]));
        assert_eq!(a.into_type::<f32>().as_slice(), &data[..]);
        let data: Vec<f64> = vec![1.0, -2.5, f64::INFINITY];
        let p = file(&dir, "b.npy", &npy_bytes(&data, &[3]).unwrap());
        assert_eq!(values(npy(&p).unwrap())[..], data[..]);
    }

    /// A `.npy` header as other writers spell it: format 3.0, double-quoted keys in another
    /// order, big-endian float64.
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
        let a = npy(&file(&dir, "c.npy", &bytes)).unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(values(a), [0.25, 1.25, 2.25, 3.25, 4.25, 5.25]);
    }

    #[test]
    fn npy_files_the_kernels_cannot_use_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let npy_with = |dict: &str, data: &[u8]| {
            let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
            bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
            bytes.extend_from_slice(dict.as_bytes());
            bytes.extend_from_slice(data);
            file(&dir, "x.npy", &bytes)
        };
        let why = |p: &Path| npy(p).err().expect("refused").to_string();
        let p = npy_with(
            "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }\n",
            &[0; 4],
        );
        assert!(
            why(&p).contains("dtype '<i4' is not supported"),
            "{}",
            why(&p)
        );
        let p = npy_with(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n",
            &[0; 16],
        );
        assert!(why(&p).contains("Fortran order"), "{}", why(&p));
        let p = npy_with(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n",
            &[0; 8],
        );
        assert!(
            why(&p).contains("the header says 6 elements"),
            "{}",
            why(&p)
        );
        let p = file(&dir, "y.npy", b"not numpy at all");
        assert!(why(&p).contains("not a .npy file"), "{}", why(&p));
    }

    #[test]
    fn raw_files_are_whole_elements() {
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let p = file(&dir, "r.f32", &bytes);
        assert_eq!(values(raw(&p, Dtype::F32).unwrap()), [1.5, -2.0]);
        let p = file(&dir, "s.f32", &bytes[..7]);
        let e = raw(&p, Dtype::F32).err().expect("refused").to_string();
        assert!(e.contains("7 bytes is not a whole number of"), "{e}");
    }
}
