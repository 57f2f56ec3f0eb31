//! The part of Python's pickle format that numpy arrays travel in.
//!
//! geoelements/gns stores each trajectory in its NPZ as a numpy *object* array, which `np.save`
//! writes as a pickle, and DeepMind's rollouts are pickled dicts of numpy arrays. No crate on
//! crates.io reads numpy arrays out of a pickle (serde-pickle refuses the `numpy` globals they
//! are rebuilt from), so this module has a small pickle machine of its own. It **never calls
//! anything**: globals stay names, `REDUCE` and `BUILD` stay records of what Python would have
//! done, and only the exact shapes numpy produces are turned into arrays. Every length is
//! checked against the bytes that remain, and nested values are walked with a depth limit, so
//! a hostile pickle gets an error, not a crash or a huge allocation.
//!
//! The writer emits protocol 3 with numpy 1.x's global names (`numpy.core.multiarray`), which
//! numpy 1.x and 2.x both load.

use std::collections::HashMap;

mod parser;
mod writer;

use parser::Parser;
pub use writer::{ArrayValues, PickleWriter, PyValue};

/// A pickled value, as nodes of an arena so that `BUILD` and `APPEND` through the memo act on the
/// one object they name.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<usize>),
    List(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    /// A global named by module and attribute; never imported.
    Global(String, String),
    /// `callable(*args)`, not called.
    Reduce(usize, usize),
    /// `object.__setstate__(state)`, not applied.
    Build(usize, usize),
}

/// A parsed pickle: the arena and the root node.
#[derive(Debug)]
pub struct Pickle {
    nodes: Vec<Node>,
    root: usize,
}

/// Deepest nesting [`Pickle`] walks; numpy's pickles nest four levels.
const MAX_DEPTH: usize = 64;

#[derive(Clone, Copy)]
enum Slot {
    Mark,
    Value(usize),
}

impl Pickle {
    /// Parses `bytes` (protocols 0–5 for the opcodes numpy and plain containers use).
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let mut p = Parser {
            bytes,
            pos: 0,
            nodes: Vec::new(),
            stack: Vec::new(),
            memo: HashMap::new(),
        };
        let root = p.run()?;
        Ok(Self {
            nodes: p.nodes,
            root,
        })
    }

    /// The root node's id.
    pub fn root(&self) -> usize {
        self.root
    }

    /// Node `id`.
    pub fn node(&self, id: usize) -> &Node {
        &self.nodes[id]
    }

    /// The items of a dict node, keys as strings.
    pub fn dict_items(&self, id: usize) -> Result<Vec<(String, usize)>, String> {
        let Node::Dict(items) = self.node(id) else {
            return Err("expected a dict".into());
        };
        items
            .iter()
            .map(|&(k, v)| match self.node(k) {
                Node::Str(s) => Ok((s.clone(), v)),
                other => Err(format!("dict key is not a string: {other:?}")),
            })
            .collect()
    }

    /// Decodes a numpy array node (`_reconstruct` + `BUILD`), or a list/tuple of numbers as a
    /// 1-D array, or a number as a 0-D array.
    pub fn array(&self, id: usize) -> Result<NdArray, String> {
        self.array_at(id, 0)
    }

    fn array_at(&self, id: usize, depth: usize) -> Result<NdArray, String> {
        if depth > MAX_DEPTH {
            return Err("pickle nests too deeply".into());
        }
        match self.node(id) {
            Node::Int(v) => Ok(NdArray::new(vec![], ArrayData::Int(vec![*v]))),
            Node::Float(v) => Ok(NdArray::new(vec![], ArrayData::Float(vec![*v]))),
            Node::Build(object, state) => self.reconstructed_array(*object, *state, depth),
            // A tuple (geoelements' `(positions, particle_type, material_property)` items) reads
            // as a 1-D object array of its items.
            Node::Tuple(items) => Ok(NdArray::new(
                vec![items.len()],
                ArrayData::Object(
                    items
                        .iter()
                        .map(|&i| self.array_at(i, depth + 1))
                        .collect::<Result<_, _>>()?,
                ),
            )),
            Node::Reduce(callable, args) => match self.node(*callable) {
                Node::Global(m, n) if n == "_frombuffer" && is_numeric(m) => {
                    self.buffer_array(*args)
                }
                Node::Global(m, n) if m == "jax._src.array" && n == "_reconstruct_array" => {
                    self.jax_array(*args, depth)
                }
                _ => self.numpy_scalar(*callable, *args),
            },
            other => Err(format!("expected a numpy array, found {}", describe(other))),
        }
    }

    fn reconstructed_array(
        &self,
        object: usize,
        state: usize,
        depth: usize,
    ) -> Result<NdArray, String> {
        let Node::Reduce(callable, _) = self.node(object) else {
            return Err("expected numpy's _reconstruct(...)".into());
        };
        self.array_from_state(*callable, state, depth)
    }

    /// A JAX array: `jax._src.array._reconstruct_array(fun, args, arr_state, aval_state)`,
    /// where `(fun, args, arr_state)` is the numpy array's own `__reduce__()` (what
    /// LagrangeBench's pickled rollouts hold when they pickle `jnp` arrays).
    fn jax_array(&self, args: usize, depth: usize) -> Result<NdArray, String> {
        let Node::Tuple(args) = self.node(args) else {
            return Err("jax _reconstruct_array arguments are not a tuple".into());
        };
        let [fun, _, arr_state, _] = args[..] else {
            return Err(format!(
                "jax _reconstruct_array has {} arguments, expected 4",
                args.len()
            ));
        };
        self.array_from_state(fun, arr_state, depth)
    }

    /// numpy's protocol-5 form, `_frombuffer(buffer, dtype, shape, order)`.
    fn buffer_array(&self, args: usize) -> Result<NdArray, String> {
        let Node::Tuple(args) = self.node(args) else {
            return Err("numpy _frombuffer arguments are not a tuple".into());
        };
        let [buffer, dtype, shape, order] = args[..] else {
            return Err(format!(
                "numpy _frombuffer has {} arguments, expected 4",
                args.len()
            ));
        };
        let shape = self.shape(shape)?;
        if matches!(self.node(order), Node::Str(o) if o == "F") && shape.len() > 1 {
            return Err("Fortran-ordered arrays are not supported".into());
        }
        let dtype = self.dtype(dtype)?;
        let Node::Bytes(raw) = self.node(buffer) else {
            return Err("numpy _frombuffer data is not a buffer".into());
        };
        let data = dtype.decode(raw, checked_product(&shape)?)?;
        Ok(NdArray { shape, data })
    }

    fn shape(&self, id: usize) -> Result<Vec<usize>, String> {
        let Node::Tuple(dims) = self.node(id) else {
            return Err("ndarray shape is not a tuple".into());
        };
        dims.iter()
            .map(|&d| match self.node(d) {
                Node::Int(v) if *v >= 0 => Ok(*v as usize),
                other => Err(format!("bad dimension {}", describe(other))),
            })
            .collect()
    }

    /// `callable` must be numpy's `_reconstruct`; `state` is what `__setstate__` receives.
    fn array_from_state(
        &self,
        callable: usize,
        state: usize,
        depth: usize,
    ) -> Result<NdArray, String> {
        self.expect_multiarray(callable, "_reconstruct")?;
        let Node::Tuple(state) = self.node(state) else {
            return Err("ndarray state is not a tuple".into());
        };
        let [_, shape, dtype, fortran, data] = state[..] else {
            return Err(format!(
                "ndarray state has {} entries, expected 5",
                state.len()
            ));
        };
        let shape = self.shape(shape)?;
        let count = checked_product(&shape)?;
        if matches!(self.node(fortran), Node::Bool(true)) && shape.len() > 1 {
            return Err("Fortran-ordered arrays are not supported".into());
        }
        let dtype = self.dtype(dtype)?;
        let data = match (dtype, self.node(data)) {
            (Dtype::Object, Node::List(items)) => {
                if items.len() != count {
                    return Err(format!(
                        "object array of shape {shape:?} holds {} items",
                        items.len()
                    ));
                }
                let items = items
                    .iter()
                    .enumerate()
                    .map(|(k, &i)| {
                        self.array_at(i, depth + 1)
                            .map_err(|e| format!("object item {k}: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
                ArrayData::Object(items)
            }
            (Dtype::Object, other) => {
                return Err(format!(
                    "object array data is {}, expected a list",
                    describe(other)
                ));
            }
            (dtype, Node::Bytes(raw)) => dtype.decode(raw, count)?,
            (_, other) => {
                return Err(format!("array data is {}, expected bytes", describe(other)));
            }
        };
        Ok(NdArray { shape, data })
    }

    /// Checks that node `id` is numpy's `multiarray.name` (numpy 1.x's `numpy.core` or 2.x's
    /// `numpy._core`).
    fn expect_multiarray(&self, id: usize, name: &str) -> Result<(), String> {
        match self.node(id) {
            Node::Global(m, n)
                if (m == "numpy.core.multiarray" || m == "numpy._core.multiarray") && n == name =>
            {
                Ok(())
            }
            other => Err(format!(
                "expected numpy's multiarray.{name}, found {}",
                describe(other)
            )),
        }
    }

    /// A numpy scalar (`numpy.float64(0.7)` pickles as `scalar(dtype, raw bytes)`) as a 0-D
    /// array.
    fn numpy_scalar(&self, callable: usize, args: usize) -> Result<NdArray, String> {
        self.expect_multiarray(callable, "scalar")?;
        let Node::Tuple(args) = self.node(args) else {
            return Err("numpy scalar arguments are not a tuple".into());
        };
        let [dtype, raw] = args[..] else {
            return Err(format!(
                "numpy scalar has {} arguments, expected 2",
                args.len()
            ));
        };
        let dtype = self.dtype(dtype)?;
        let Node::Bytes(raw) = self.node(raw) else {
            return Err("numpy scalar value is not bytes".into());
        };
        Ok(NdArray::new(vec![], dtype.decode(raw, 1)?))
    }

    fn dtype(&self, id: usize) -> Result<Dtype, String> {
        let (reduce, state) = match self.node(id) {
            Node::Build(object, state) => (*object, Some(*state)),
            _ => (id, None),
        };
        let Node::Reduce(callable, args) = self.node(reduce) else {
            return Err("expected numpy.dtype(...)".into());
        };
        if !matches!(self.node(*callable), Node::Global(m, n) if m == "numpy" && n == "dtype") {
            return Err("expected numpy.dtype".into());
        }
        let Node::Tuple(args) = self.node(*args) else {
            return Err("numpy.dtype arguments are not a tuple".into());
        };
        let code = match args.first().map(|&a| self.node(a)) {
            Some(Node::Str(s)) => s.clone(),
            _ => return Err("numpy.dtype has no type code".into()),
        };
        let big_endian = state.is_some_and(|s| match self.node(s) {
            Node::Tuple(items) => {
                matches!(items.get(1).map(|&i| self.node(i)), Some(Node::Str(e)) if e == ">")
            }
            _ => false,
        });
        Dtype::from_code(&code, big_endian)
    }
}

/// numpy's `numeric` module, under numpy 1.x's and 2.x's names.
fn is_numeric(module: &str) -> bool {
    module == "numpy.core.numeric" || module == "numpy._core.numeric"
}

/// A numpy array's shape and values.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    /// Shape, C order.
    pub shape: Vec<usize>,
    /// Values.
    pub data: ArrayData,
}

/// Values of an [`NdArray`], widened losslessly (f32 → f64, any integer → i64).
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayData {
    Float(Vec<f64>),
    Int(Vec<i64>),
    Object(Vec<NdArray>),
}

impl NdArray {
    /// An array of `shape` holding `data`.
    pub fn new(shape: Vec<usize>, data: ArrayData) -> Self {
        Self { shape, data }
    }

    /// The values as f32 (floats only).
    pub fn to_f32(&self) -> Result<Vec<f32>, String> {
        match &self.data {
            ArrayData::Float(v) => Ok(v.iter().map(|&x| x as f32).collect()),
            ArrayData::Int(_) => Err("expected a float array, found integers".into()),
            ArrayData::Object(_) => Err("expected a float array, found objects".into()),
        }
    }

    /// The values as i64 (integers only).
    pub fn to_i64(&self) -> Result<Vec<i64>, String> {
        match &self.data {
            ArrayData::Int(v) => Ok(v.clone()),
            ArrayData::Float(_) => Err("expected an integer array, found floats".into()),
            ArrayData::Object(_) => Err("expected an integer array, found objects".into()),
        }
    }
}

/// The numpy element types we decode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dtype {
    F32 {
        big_endian: bool,
    },
    F64 {
        big_endian: bool,
    },
    Int {
        size: usize,
        signed: bool,
        big_endian: bool,
    },
    Bool,
    Object,
}

impl Dtype {
    /// From numpy's short code (`f4`, `<f8`, `i8`, `u1`, `b1`, `O8`, `|O` …).
    pub fn from_code(code: &str, big_endian: bool) -> Result<Self, String> {
        let (big_endian, body) = match code.as_bytes().first() {
            Some(b'<' | b'|' | b'=') => (false, &code[1..]),
            Some(b'>') => (true, &code[1..]),
            _ => (big_endian, code),
        };
        Ok(match body {
            "f4" => Self::F32 { big_endian },
            "f8" => Self::F64 { big_endian },
            "b1" | "?" => Self::Bool,
            "O" | "O8" => Self::Object,
            _ => {
                let (kind, size) = body.split_at(1);
                let size: usize = size
                    .parse()
                    .map_err(|_| format!("unsupported dtype `{code}`"))?;
                let signed = match kind {
                    "i" => true,
                    "u" => false,
                    _ => return Err(format!("unsupported dtype `{code}`")),
                };
                if !matches!(size, 1 | 2 | 4 | 8) {
                    return Err(format!("unsupported dtype `{code}`"));
                }
                Self::Int {
                    size,
                    signed,
                    big_endian,
                }
            }
        })
    }

    /// Bytes per element (8 for object pointers, which are never decoded from bytes).
    pub fn size(self) -> usize {
        match self {
            Self::F32 { .. } => 4,
            Self::F64 { .. } | Self::Object => 8,
            Self::Int { size, .. } => size,
            Self::Bool => 1,
        }
    }

    /// Decodes `count` elements from `raw`, which must hold exactly that many.
    pub fn decode(self, raw: &[u8], count: usize) -> Result<ArrayData, String> {
        let expected = count
            .checked_mul(self.size())
            .ok_or("array size overflows")?;
        if raw.len() != expected {
            return Err(format!(
                "array data has {} bytes, shape and dtype need {expected}",
                raw.len()
            ));
        }
        let word = |chunk: &[u8], big: bool| {
            let mut b = [0u8; 8];
            if big {
                for (d, s) in b.iter_mut().zip(chunk.iter().rev()) {
                    *d = *s;
                }
            } else {
                b[..chunk.len()].copy_from_slice(chunk);
            }
            u64::from_le_bytes(b)
        };
        Ok(match self {
            Self::F32 { big_endian } => ArrayData::Float(
                raw.chunks_exact(4)
                    .map(|c| f32::from_bits(word(c, big_endian) as u32) as f64)
                    .collect(),
            ),
            Self::F64 { big_endian } => ArrayData::Float(
                raw.chunks_exact(8)
                    .map(|c| f64::from_bits(word(c, big_endian)))
                    .collect(),
            ),
            Self::Int {
                size,
                signed,
                big_endian,
            } => ArrayData::Int(
                raw.chunks_exact(size)
                    .map(|c| {
                        let u = word(c, big_endian);
                        let shift = 64 - 8 * size as u32;
                        if signed {
                            ((u << shift) as i64) >> shift
                        } else {
                            u as i64
                        }
                    })
                    .collect(),
            ),
            Self::Bool => ArrayData::Int(raw.iter().map(|&b| i64::from(b != 0)).collect()),
            Self::Object => return Err("object arrays are pickled, not raw bytes".into()),
        })
    }
}

fn checked_product(shape: &[usize]) -> Result<usize, String> {
    shape.iter().try_fold(1usize, |acc, &d| {
        acc.checked_mul(d)
            .ok_or_else(|| format!("shape {shape:?} overflows"))
    })
}

fn describe(node: &Node) -> String {
    match node {
        Node::Global(m, n) => format!("global {m}.{n}"),
        Node::Bytes(b) => format!("{} bytes", b.len()),
        Node::Str(s) => format!("string {s:?}"),
        Node::Tuple(t) => format!("a tuple of {}", t.len()),
        Node::List(t) => format!("a list of {}", t.len()),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_round_trip_through_our_writer_and_reader() {
        let positions = PyValue::Array(
            vec![2, 3, 2],
            ArrayValues::F32((0..12).map(|i| i as f32 / 3.0).collect()),
        );
        let types = PyValue::Array(vec![3], ArrayValues::I64(vec![5, 3, -1]));
        let bytes = PickleWriter::to_bytes(&PyValue::ObjectArray(vec![positions, types]));
        let pickle = Pickle::parse(&bytes).unwrap();
        let array = pickle.array(pickle.root()).unwrap();
        let ArrayData::Object(items) = array.data else {
            panic!("not an object array")
        };
        assert_eq!(items[0].shape, [2, 3, 2]);
        assert_eq!(
            items[0].to_f32().unwrap(),
            (0..12).map(|i| i as f32 / 3.0).collect::<Vec<_>>()
        );
        assert_eq!(items[1].to_i64().unwrap(), [5, 3, -1]);
    }

    #[test]
    fn hostile_lengths_are_errors_not_allocations() {
        // BINBYTES8 claiming 2^62 bytes.
        let mut bytes = vec![0x80, 4, 0x8e];
        bytes.extend_from_slice(&(1u64 << 62).to_le_bytes());
        let err = Pickle::parse(&bytes).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
        // A list appended into itself through the memo is walked with a depth limit.
        let cyclic = [0x80, 3, b']', b'q', 0, b'h', 0, b'a', b'.'];
        let p = Pickle::parse(&cyclic).unwrap();
        assert!(p.array(p.root()).is_err());
    }
}
