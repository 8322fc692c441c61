//! Reading arrays from files: raw little-endian f32/f64 (memory-mapped, no copy on a
//! little-endian host), NumPy `.npy` (format 1.0, 2.0 and 3.0; `<f4`, `<f8`, `>f4`, `>f8`;
//! C order), and one column of a CSV file.

use std::fmt;
use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

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

enum Data<T> {
    /// The file mapped, and where its elements are.
    Mapped {
        map: Mmap,
        offset: usize,
        len: usize,
    },
    Owned(Vec<T>),
}

/// An array read from a file, with its shape (one dimension for raw files and CSV columns).
pub struct Array<T> {
    data: Data<T>,
    pub shape: Vec<usize>,
}

impl<T: Element> Array<T> {
    pub fn from_vec(v: Vec<T>) -> Array<T> {
        let shape = vec![v.len()];
        Array {
            data: Data::Owned(v),
            shape,
        }
    }

    pub fn as_slice(&self) -> &[T] {
        match &self.data {
            Data::Mapped { map, offset, len } => {
                bytemuck::cast_slice(&map[*offset..*offset + len * size_of::<T>()])
            }
            Data::Owned(v) => v,
        }
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Elements of `bytes` stored little- or big-endian: a view into the mapping when the
    /// host's order and the alignment allow, a converted copy otherwise.
    fn from_bytes(map: Mmap, offset: usize, little: bool, shape: Vec<usize>) -> Array<T> {
        let bytes = &map[offset..];
        let len = bytes.len() / size_of::<T>();
        let bytes = &bytes[..len * size_of::<T>()];
        let native = little == cfg!(target_endian = "little");
        if native && bytemuck::try_cast_slice::<u8, T>(bytes).is_ok() {
            return Array {
                data: Data::Mapped { map, offset, len },
                shape,
            };
        }
        let v = bytes
            .chunks_exact(size_of::<T>())
            .map(|c| if little { T::from_le(c) } else { T::from_be(c) })
            .collect();
        Array {
            data: Data::Owned(v),
            shape,
        }
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
            if S::DTYPE == T::DTYPE {
                let shape = a.shape.clone();
                // Same type: only the static type differs.
                let data = match a.data {
                    Data::Mapped { map, offset, len } => Data::Mapped { map, offset, len },
                    Data::Owned(v) => Data::Owned(bytemuck::cast_vec(v)),
                };
                return Array { data, shape };
            }
            let v = a
                .as_slice()
                .iter()
                .map(|x| T::from_f64(x.to_f64()))
                .collect();
            Array {
                data: Data::Owned(v),
                shape: a.shape,
            }
        }
        match self {
            AnyArray::F32(a) => convert(a),
            AnyArray::F64(a) => convert(a),
        }
    }
}

fn map(path: &Path) -> Result<Mmap, LoadError> {
    let file = File::open(path).or_else(|e| err(path, e))?;
    // SAFETY: the mapping is read-only and lives as long as the array. batuta does not write
    // an action's inputs while it runs; another process truncating the file meanwhile would
    // fault, as it would for any reader of a mapped file.
    unsafe { Mmap::map(&file) }.or_else(|e| err(path, e))
}

/// A raw file of little-endian elements of `dtype`.
pub fn raw(path: &Path, dtype: Dtype) -> Result<AnyArray, LoadError> {
    let m = map(path)?;
    if m.len() % dtype.size() != 0 {
        return err(
            path,
            format!(
                "{} bytes is not a whole number of {dtype} elements ({} bytes each)",
                m.len(),
                dtype.size()
            ),
        );
    }
    let n = m.len() / dtype.size();
    Ok(match dtype {
        Dtype::F32 => AnyArray::F32(Array::from_bytes(m, 0, true, vec![n])),
        Dtype::F64 => AnyArray::F64(Array::from_bytes(m, 0, true, vec![n])),
    })
}

/// The header of a `.npy` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    pub dtype: Dtype,
    pub little_endian: bool,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
    /// Where the data starts.
    pub data_offset: usize,
}

/// Parses the magic, version and header dictionary of a `.npy` file.
pub fn npy_header(bytes: &[u8]) -> Result<NpyHeader, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated .npy header".into());
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let end = start + len;
    let header = bytes.get(start..end).ok_or("truncated .npy header")?;
    let header = std::str::from_utf8(header).map_err(|_| "the .npy header is not text")?;
    let value = |key: &str| -> Result<&str, String> {
        let k = header
            .find(&format!("'{key}'"))
            .ok_or(format!("the .npy header has no '{key}'"))?;
        let rest = &header[k + key.len() + 2..];
        let colon = rest.find(':').ok_or("malformed .npy header")?;
        Ok(rest[colon + 1..].trim_start())
    };
    let descr = value("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or("malformed 'descr' in the .npy header")?;
    let (little_endian, dtype) = match descr {
        "<f4" => (true, Dtype::F32),
        "<f8" => (true, Dtype::F64),
        ">f4" => (false, Dtype::F32),
        ">f8" => (false, Dtype::F64),
        "=f4" => (cfg!(target_endian = "little"), Dtype::F32),
        "=f8" => (cfg!(target_endian = "little"), Dtype::F64),
        other => {
            return Err(format!(
                "dtype '{other}' is not supported (the kernels read float32 '<f4' and float64 '<f8')"
            ));
        }
    };
    let fortran_order = value("fortran_order")?.starts_with("True");
    let shape = value("shape")?;
    let shape = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("malformed 'shape' in the .npy header")?;
    let shape = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format!("malformed 'shape' ({shape}) in the .npy header"))?;
    Ok(NpyHeader {
        dtype,
        little_endian,
        fortran_order,
        shape,
        data_offset: end,
    })
}

/// A NumPy `.npy` file.
pub fn npy(path: &Path) -> Result<AnyArray, LoadError> {
    let m = map(path)?;
    let h = npy_header(&m).or_else(|e| err(path, e))?;
    if h.fortran_order && h.shape.iter().filter(|&&d| d > 1).count() > 1 {
        return err(
            path,
            "the array is in Fortran order; save it in C order (np.ascontiguousarray)",
        );
    }
    let count: usize = h.shape.iter().product();
    let have = (m.len() - h.data_offset) / h.dtype.size();
    if have < count {
        return err(
            path,
            format!("the header says {count} elements, the file holds {have}"),
        );
    }
    // Anything after the array (there should be nothing) is ignored by slicing to `count`.
    let arr = match h.dtype {
        Dtype::F32 => {
            let mut a: Array<f32> = Array::from_bytes(m, h.data_offset, h.little_endian, h.shape);
            trim(&mut a, count);
            AnyArray::F32(a)
        }
        Dtype::F64 => {
            let mut a: Array<f64> = Array::from_bytes(m, h.data_offset, h.little_endian, h.shape);
            trim(&mut a, count);
            AnyArray::F64(a)
        }
    };
    Ok(arr)
}

fn trim<T: Element>(a: &mut Array<T>, count: usize) {
    match &mut a.data {
        Data::Mapped { len, .. } => *len = count,
        Data::Owned(v) => v.truncate(count),
    }
}

/// One column of a CSV file, as f64 (the caller converts). With a column name the first
/// line is the header; with an index the first line is skipped when the column does not
/// parse as a number there. Empty cells are NaN; `nan`, `inf`, `-inf` are read as such.
pub fn csv(path: &Path, column: &Column) -> Result<AnyArray, LoadError> {
    let text = std::fs::read_to_string(path).or_else(|e| err(path, e))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let cells = |l: &str| -> Vec<String> {
        l.split(',')
            .map(|c| c.trim().trim_matches('"').to_owned())
            .collect()
    };
    let parse = |c: &str| -> Option<f64> {
        if c.is_empty() {
            Some(f64::NAN)
        } else {
            c.parse::<f64>().ok()
        }
    };
    let mut values = Vec::new();
    let index = match column {
        Column::Name(name) => {
            let Some((_, header)) = lines.next() else {
                return err(path, "the file is empty; it has no header naming columns");
            };
            let names = cells(header);
            match names.iter().position(|n| n == name) {
                Some(i) => i,
                None => {
                    return err(
                        path,
                        format!("no column '{name}'; the header has: {}", names.join(", ")),
                    );
                }
            }
        }
        Column::Index(i) => *i,
    };
    let mut first = true;
    for (no, line) in lines {
        let row = cells(line);
        let Some(cell) = row.get(index) else {
            return err(
                path,
                format!(
                    "line {}: no column {index} (the line has {})",
                    no + 1,
                    row.len()
                ),
            );
        };
        match parse(cell) {
            Some(v) => values.push(v),
            None if first && matches!(column, Column::Index(_)) => {}
            None => {
                return err(path, format!("line {}: '{cell}' is not a number", no + 1));
            }
        }
        first = false;
    }
    Ok(AnyArray::F64(Array::from_vec(values)))
}

/// The bytes of a `.npy` file (format 1.0, C order, little-endian) holding `data` with
/// `shape`.
pub fn npy_bytes<T: Element>(data: &[T], shape: &[usize]) -> Vec<u8> {
    let descr = match T::DTYPE {
        Dtype::F32 => "<f4",
        Dtype::F64 => "<f8",
    };
    let dims = match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + std::mem::size_of_val(data));
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        out.extend_from_slice(&x.to_le());
    }
    out
}
