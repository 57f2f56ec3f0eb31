//! The pickle machine: opcodes onto a stack of [`Node`]s, calling nothing, every length checked
//! against the bytes that remain.

use super::{Node, Slot};
use std::collections::HashMap;

pub(super) struct Parser<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    pub(super) nodes: Vec<Node>,
    pub(super) stack: Vec<Slot>,
    pub(super) memo: HashMap<u64, usize>,
}

impl Parser<'_> {
    pub(super) fn run(&mut self) -> Result<usize, String> {
        loop {
            let at = self.pos;
            let op = self.take(1)?[0];
            self.step(op)
                .map_err(|e| format!("pickle opcode 0x{op:02x} at byte {at}: {e}"))?;
            if op == b'.' {
                return match self.stack.pop() {
                    Some(Slot::Value(v)) => Ok(v),
                    _ => Err("pickle ends with an empty stack".into()),
                };
            }
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "pickle truncated: need {n} bytes at byte {}, {} remain",
                    self.pos,
                    self.bytes.len() - self.pos
                )
            })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64, String> {
        let b = self.take(n)?;
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(b);
        Ok(u64::from_le_bytes(w))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.bytes[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("unterminated text line")?;
        let line = String::from_utf8(rest[..end].to_vec()).map_err(|_| "non-UTF-8 text line")?;
        self.pos += end + 1;
        Ok(line)
    }

    fn len_prefixed(&mut self, width: usize) -> Result<Vec<u8>, String> {
        let len = self.uint(width)?;
        let len = usize::try_from(len).map_err(|_| "length overflows")?;
        Ok(self.take(len)?.to_vec())
    }

    fn push(&mut self, node: Node) {
        self.nodes.push(node);
        self.stack.push(Slot::Value(self.nodes.len() - 1));
    }

    fn pop(&mut self) -> Result<usize, String> {
        match self.stack.pop() {
            Some(Slot::Value(v)) => Ok(v),
            Some(Slot::Mark) => Err("unexpected mark".into()),
            None => Err("stack underflow".into()),
        }
    }

    fn top(&self) -> Result<usize, String> {
        match self.stack.last() {
            Some(Slot::Value(v)) => Ok(*v),
            _ => Err("no value on the stack".into()),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<usize>, String> {
        let mark = self
            .stack
            .iter()
            .rposition(|s| matches!(s, Slot::Mark))
            .ok_or("no mark on the stack")?;
        let items = self.stack[mark + 1..]
            .iter()
            .map(|s| match s {
                Slot::Value(v) => *v,
                Slot::Mark => unreachable!("rposition found the last mark"),
            })
            .collect();
        self.stack.truncate(mark);
        Ok(items)
    }

    fn memo_put(&mut self, key: u64) -> Result<(), String> {
        let v = self.top()?;
        self.memo.insert(key, v);
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), String> {
        let v = *self.memo.get(&key).ok_or("memo key not defined")?;
        self.stack.push(Slot::Value(v));
        Ok(())
    }

    fn text(bytes: Vec<u8>) -> Result<Node, String> {
        String::from_utf8(bytes)
            .map(Node::Str)
            .map_err(|_| "string is not UTF-8".into())
    }

    fn extend_list(&mut self, list: usize, items: Vec<usize>) -> Result<(), String> {
        match &mut self.nodes[list] {
            Node::List(v) => {
                v.extend(items);
                Ok(())
            }
            _ => Err("APPEND to something that is not a list".into()),
        }
    }

    fn extend_dict(&mut self, dict: usize, items: Vec<usize>) -> Result<(), String> {
        if !items.len().is_multiple_of(2) {
            return Err("odd number of dict items".into());
        }
        match &mut self.nodes[dict] {
            Node::Dict(v) => {
                v.extend(items.chunks(2).map(|kv| (kv[0], kv[1])));
                Ok(())
            }
            _ => Err("SETITEM on something that is not a dict".into()),
        }
    }

    fn step(&mut self, op: u8) -> Result<(), String> {
        match op {
            0x80 => {
                let proto = self.take(1)?[0];
                if proto > 5 {
                    return Err(format!("unsupported protocol {proto}"));
                }
            }
            0x95 => {
                self.take(8)?;
            }
            b'.' => {}
            b'(' => self.stack.push(Slot::Mark),
            b'N' => self.push(Node::None),
            0x88 => self.push(Node::Bool(true)),
            0x89 => self.push(Node::Bool(false)),
            b'J' => {
                let v = self.uint(4)? as u32 as i32;
                self.push(Node::Int(v.into()));
            }
            b'K' => {
                let v = self.uint(1)?;
                self.push(Node::Int(v as i64));
            }
            b'M' => {
                let v = self.uint(2)?;
                self.push(Node::Int(v as i64));
            }
            0x8a => {
                let n = self.uint(1)? as usize;
                let b = self.take(n)?.to_vec();
                if n > 8 {
                    return Err("integer wider than 64 bits".into());
                }
                let mut w = [0u8; 8];
                w[..n].copy_from_slice(&b);
                let shift = 64 - 8 * n as u32;
                let v = if n == 0 {
                    0
                } else {
                    (i64::from_le_bytes(w) << shift) >> shift
                };
                self.push(Node::Int(v));
            }
            b'G' => {
                let b: [u8; 8] = self.take(8)?.try_into().expect("8 bytes");
                self.push(Node::Float(f64::from_be_bytes(b)));
            }
            b'X' => {
                let b = self.len_prefixed(4)?;
                self.push(Self::text(b)?);
            }
            0x8c => {
                let b = self.len_prefixed(1)?;
                self.push(Self::text(b)?);
            }
            0x8d => {
                let b = self.len_prefixed(8)?;
                self.push(Self::text(b)?);
            }
            b'B' | b'T' => {
                let b = self.len_prefixed(4)?;
                self.push(Node::Bytes(b));
            }
            b'C' | b'U' => {
                let b = self.len_prefixed(1)?;
                self.push(Node::Bytes(b));
            }
            // BYTES8, and protocol 5's BYTEARRAY8 (an in-band `PickleBuffer`: what numpy's
            // arrays travel in under protocol 5).
            0x8e | 0x96 => {
                let b = self.len_prefixed(8)?;
                self.push(Node::Bytes(b));
            }
            b')' => self.push(Node::Tuple(vec![])),
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                let mut items = (0..n).map(|_| self.pop()).collect::<Result<Vec<_>, _>>()?;
                items.reverse();
                self.push(Node::Tuple(items));
            }
            b't' => {
                let items = self.pop_mark()?;
                self.push(Node::Tuple(items));
            }
            b']' => self.push(Node::List(vec![])),
            b'l' => {
                let items = self.pop_mark()?;
                self.push(Node::List(items));
            }
            b'a' => {
                let v = self.pop()?;
                let list = self.top()?;
                self.extend_list(list, vec![v])?;
            }
            b'e' => {
                let items = self.pop_mark()?;
                let list = self.top()?;
                self.extend_list(list, items)?;
            }
            b'}' => self.push(Node::Dict(vec![])),
            b'd' => {
                let items = self.pop_mark()?;
                self.push(Node::Dict(vec![]));
                let dict = self.top()?;
                self.extend_dict(dict, items)?;
            }
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                let dict = self.top()?;
                self.extend_dict(dict, vec![k, v])?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                let dict = self.top()?;
                self.extend_dict(dict, items)?;
            }
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                self.push(Node::Global(module, name));
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                match (&self.nodes[module], &self.nodes[name]) {
                    (Node::Str(m), Node::Str(n)) => {
                        let g = Node::Global(m.clone(), n.clone());
                        self.push(g);
                    }
                    _ => return Err("STACK_GLOBAL needs two strings".into()),
                }
            }
            b'R' | 0x81 => {
                let args = self.pop()?;
                let callable = self.pop()?;
                self.push(Node::Reduce(callable, args));
            }
            b'b' => {
                let state = self.pop()?;
                let object = self.top()?;
                // Move the object to a new slot and put the BUILD where it was, so that memo
                // references to the object see it built.
                let moved = std::mem::replace(&mut self.nodes[object], Node::None);
                self.nodes.push(moved);
                let inner = self.nodes.len() - 1;
                self.nodes[object] = Node::Build(inner, state);
            }
            b'q' => {
                let k = self.uint(1)?;
                self.memo_put(k)?;
            }
            b'r' => {
                let k = self.uint(4)?;
                self.memo_put(k)?;
            }
            0x94 => {
                let k = self.memo.len() as u64;
                self.memo_put(k)?;
            }
            b'p' => {
                let k = self.line()?.parse().map_err(|_| "bad PUT key")?;
                self.memo_put(k)?;
            }
            b'h' => {
                let k = self.uint(1)?;
                self.memo_get(k)?;
            }
            b'j' => {
                let k = self.uint(4)?;
                self.memo_get(k)?;
            }
            b'g' => {
                let k = self.line()?.parse().map_err(|_| "bad GET key")?;
                self.memo_get(k)?;
            }
            b'0' => {
                self.stack.pop().ok_or("POP on an empty stack")?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let v = self.top()?;
                self.stack.push(Slot::Value(v));
            }
            other => return Err(format!("unsupported opcode 0x{other:02x}")),
        }
        Ok(())
    }
}
