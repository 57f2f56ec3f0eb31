//! The pickle writer: protocol 3 of dicts, lists, numbers, strings, tuples and numpy arrays, with
//! numpy 1.x's global names (which numpy 1.x and 2.x both load).

/// Writes pickles (protocol 3) of dicts, lists, numbers, strings and numpy arrays.
#[derive(Debug, Default)]
pub struct PickleWriter {
    out: Vec<u8>,
}

/// A value to pickle.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<PyValue>),
    Dict(Vec<(String, PyValue)>),
    /// A numpy array: shape, C-order values and their dtype.
    Array(Vec<usize>, ArrayValues),
    /// A 1-D numpy object array.
    ObjectArray(Vec<PyValue>),
    /// A Python tuple.
    Tuple(Vec<PyValue>),
}

/// Values of a numpy array to write.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayValues {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
}

impl PickleWriter {
    /// Pickles `value` (protocol 3).
    pub fn to_bytes(value: &PyValue) -> Vec<u8> {
        let mut w = Self::default();
        w.out.extend_from_slice(&[0x80, 3]);
        w.value(value);
        w.out.push(b'.');
        w.out
    }

    fn op(&mut self, op: u8) {
        self.out.push(op);
    }

    fn str(&mut self, s: &str) {
        self.op(b'X');
        self.out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.out.extend_from_slice(s.as_bytes());
    }

    fn int(&mut self, v: i64) {
        if let Ok(v) = i32::try_from(v) {
            self.op(b'J');
            self.out.extend_from_slice(&v.to_le_bytes());
        } else {
            self.op(0x8a);
            self.out.push(8);
            self.out.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn global(&mut self, module: &str, name: &str) {
        self.op(b'c');
        self.out.extend_from_slice(module.as_bytes());
        self.op(b'\n');
        self.out.extend_from_slice(name.as_bytes());
        self.op(b'\n');
    }

    fn value(&mut self, v: &PyValue) {
        match v {
            PyValue::None => self.op(b'N'),
            PyValue::Bool(b) => self.op(if *b { 0x88 } else { 0x89 }),
            PyValue::Int(i) => self.int(*i),
            PyValue::Float(f) => {
                self.op(b'G');
                self.out.extend_from_slice(&f.to_be_bytes());
            }
            PyValue::Str(s) => self.str(s),
            PyValue::List(items) => {
                self.op(b']');
                if !items.is_empty() {
                    self.op(b'(');
                    items.iter().for_each(|i| self.value(i));
                    self.op(b'e');
                }
            }
            PyValue::Tuple(items) => {
                self.op(b'(');
                items.iter().for_each(|i| self.value(i));
                self.op(b't');
            }
            PyValue::Dict(items) => {
                self.op(b'}');
                if !items.is_empty() {
                    self.op(b'(');
                    for (k, v) in items {
                        self.str(k);
                        self.value(v);
                    }
                    self.op(b'u');
                }
            }
            PyValue::Array(shape, values) => {
                let (code, raw): (&str, Vec<u8>) = match values {
                    ArrayValues::F32(v) => ("f4", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                    ArrayValues::F64(v) => ("f8", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                    ArrayValues::I64(v) => ("i8", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                };
                self.array_header(shape);
                self.dtype(code, "<", 0);
                self.op(0x89);
                self.op(b'B');
                self.out
                    .extend_from_slice(&(raw.len() as u32).to_le_bytes());
                self.out.extend_from_slice(&raw);
                self.op(b't');
                self.op(b'b');
            }
            PyValue::ObjectArray(items) => {
                self.array_header(&[items.len()]);
                // numpy's object dtype carries flags 63 (NPY_OBJECT_DTYPE_FLAGS).
                self.dtype("O8", "|", 63);
                self.op(0x89);
                self.value(&PyValue::List(items.clone()));
                self.op(b't');
                self.op(b'b');
            }
        }
    }

    /// `_reconstruct(ndarray, (0,), b'b')`, then the state tuple's mark, version and shape.
    fn array_header(&mut self, shape: &[usize]) {
        self.global("numpy.core.multiarray", "_reconstruct");
        self.global("numpy", "ndarray");
        self.int(0);
        self.op(0x85);
        self.op(b'C');
        self.out.extend_from_slice(&[1, b'b']);
        self.op(0x87);
        self.op(b'R');
        self.op(b'(');
        self.int(1);
        self.op(b'(');
        for &d in shape {
            self.int(d as i64);
        }
        self.op(b't');
    }

    fn dtype(&mut self, code: &str, endian: &str, flags: i64) {
        self.global("numpy", "dtype");
        self.str(code);
        self.op(0x89);
        self.op(0x88);
        self.op(0x87);
        self.op(b'R');
        self.op(b'(');
        self.int(3);
        self.str(endian);
        for _ in 0..3 {
            self.op(b'N');
        }
        self.int(-1);
        self.int(-1);
        self.int(flags);
        self.op(b't');
        self.op(b'b');
    }
}
