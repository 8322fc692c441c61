//! Reading arrays from files: raw little-endian f32/f64, NumPy `.npy` (npyz: every format
//! version; `<f4`, `<f8`, `>f4`, `>f8`; C order), and one column of a CSV file (the `csv`
//! crate). Files are read, never memory-mapped.

use std::fmt;
use std::fs::File;
use std::io::{self, Seek};
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
    let size = file.metadata().or_else(|e| err(path, e))?.len();
    let mut reader = io::BufReader::new(file);
    let h = npyz::NpyHeader::from_reader(&mut reader)
        .or_else(|e| err(path, format!("not a .npy file batuta can read: {e}")))?;
    let data_start = reader.stream_position().or_else(|e| err(path, e))?;
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
    let holds = size.saturating_sub(data_start) / dtype.size() as u64;
    if holds < count {
        return err(
            path,
            format!("the header says {count} elements, the file holds {holds}"),
        );
    }
    // Anything after the array (there should be nothing) is not read.
    let npy = npyz::NpyFile::with_header(h, reader);
    let read = |e: io::Error| LoadError(format!("{}: {e}", path.display()));
    Ok(match dtype {
        Dtype::F32 => AnyArray::F32(Array {
            data: npy.into_vec().map_err(read)?,
            shape,
        }),
        Dtype::F64 => AnyArray::F64(Array {
            data: npy.into_vec().map_err(read)?,
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
