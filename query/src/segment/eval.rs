//! Evaluating a plan over every customer at once, column by column.
//!
//! A tree-walking interpreter per customer costs tens of nanoseconds per node and customer; a
//! million customers then take a good part of a second. Here every node is evaluated over the
//! whole column instead (a comparison is one tight loop over an `f64` slice into bit words,
//! `and`/`or`/`not` are word operations), so a segment over computed traits of a million
//! customers is a few milliseconds.

use std::borrow::{Borrow, Cow};

use fixedbitset::FixedBitSet;

use super::ast::{ArithOp, CmpOp};
use super::leaf::{LeafData, NO_TIME};
use super::plan::{Cond, Num, NumPlan, Plan};

/// The members of `plan` among the customers in `universe` (by position), with one
/// [`LeafData`] per leaf of the plan, at query time `at`.
pub fn evaluate<D: Borrow<LeafData>>(plan: &Plan, data: &[D], universe: &FixedBitSet, at: i64) -> FixedBitSet {
    let mut out = cond(&plan.root, data, universe.len(), at);
    out.intersect_with(universe);
    out
}

/// The value of `plan` for each of `n` customers (NaN: missing).
pub fn evaluate_number<D: Borrow<LeafData>>(plan: &NumPlan, data: &[D], n: usize) -> Vec<f64> {
    match num(&plan.root, data) {
        NumVal::Const(x) => vec![x; n],
        NumVal::Col(v) => v.into_owned(),
    }
}

/// The members among `positions` only (the customers an event touched), one by one: what live
/// segments use after each commit.
pub fn evaluate_at<D: Borrow<LeafData>>(plan: &Plan, data: &[D], position: usize, at: i64) -> bool {
    one(&plan.root, data, position, at)
}

fn cond<D: Borrow<LeafData>>(c: &Cond, data: &[D], n: usize, at: i64) -> FixedBitSet {
    match c {
        Cond::All => ones(n),
        Cond::Nobody => FixedBitSet::with_capacity(n),
        Cond::And(items) => {
            let mut it = items.iter();
            let mut acc = it.next().map_or_else(|| ones(n), |c| cond(c, data, n, at));
            for c in it {
                if acc.is_clear() {
                    break;
                }
                acc.intersect_with(&cond(c, data, n, at));
            }
            acc
        }
        Cond::Or(items) => {
            let mut acc = FixedBitSet::with_capacity(n);
            for c in items {
                acc.union_with(&cond(c, data, n, at));
            }
            acc
        }
        Cond::Not(inner) => {
            let mut s = cond(inner, data, n, at);
            s.toggle_range(..);
            s
        }
        Cond::Cmp(op, l, r) => match (num(l, data), num(r, data)) {
            (NumVal::Col(a), NumVal::Const(b)) => cmp_const(n, *op, &a, b),
            (NumVal::Const(a), NumVal::Col(b)) => cmp_const(n, op.flipped(), &b, a),
            (NumVal::Col(a), NumVal::Col(b)) => bits(n, |i| cmp(*op, &a[i], &b[i])),
            (NumVal::Const(a), NumVal::Const(b)) => {
                if cmp(*op, &a, &b) {
                    ones(n)
                } else {
                    FixedBitSet::with_capacity(n)
                }
            }
        },
        Cond::Text(op, leaf, text) => match data[*leaf].borrow() {
            LeafData::Value(col) => {
                let code = col.texts.iter().position(|t| t == text).map(|c| c as u32);
                match (op, code) {
                    (CmpOp::Eq, Some(code)) => bits(n, |i| col.text[i] == code),
                    (CmpOp::Eq, None) => FixedBitSet::with_capacity(n),
                    (CmpOp::Ne, Some(code)) => bits(n, |i| col.text[i] != code),
                    (CmpOp::Ne, None) => ones(n),
                    // Ordering: decide once per distinct text, then look codes up.
                    _ => {
                        let pass: Vec<bool> = col.texts.iter().map(|t| cmp(*op, t.as_str(), text.as_str())).collect();
                        bits(n, |i| pass.get(col.text[i] as usize).copied().unwrap_or(false))
                    }
                }
            }
            _ => FixedBitSet::with_capacity(n),
        },
        Cond::In(value, leaf, nums, texts) => {
            let codes: Vec<bool> = match leaf.map(|l| data[l].borrow()) {
                Some(LeafData::Value(col)) => col.texts.iter().map(|t| texts.contains(t)).collect(),
                _ => Vec::new(),
            };
            let text = |i: usize| match leaf.map(|l| data[l].borrow()) {
                Some(LeafData::Value(col)) => codes.get(col.text[i] as usize).copied().unwrap_or(false),
                _ => false,
            };
            match num(value, data) {
                NumVal::Col(a) => bits(n, |i| nums.contains(&a[i]) || text(i)),
                NumVal::Const(a) => bits(n, |i| nums.contains(&a) || text(i)),
            }
        }
        Cond::Within(leaf, window) => match data[*leaf].borrow() {
            LeafData::Time(t) => {
                let from = at.saturating_sub(*window);
                bits_of(n, t, |x| x != NO_TIME && x >= from && x < at)
            }
            _ => FixedBitSet::with_capacity(n),
        },
        Cond::Exists(leaf) => match data[*leaf].borrow() {
            LeafData::Num(v) => bits(n, |i| !v[i].is_nan()),
            LeafData::Time(t) => bits(n, |i| t[i] != NO_TIME),
            LeafData::Value(col) => bits(n, |i| col.has(i)),
            LeafData::Set(s) => s.clone(),
        },
        Cond::Member(leaf) => match data[*leaf].borrow() {
            LeafData::Set(s) => {
                let mut s = s.clone();
                s.grow(n);
                s
            }
            _ => FixedBitSet::with_capacity(n),
        },
    }
}

// A number per customer, or one for all.
enum NumVal<'a> {
    Const(f64),
    Col(Cow<'a, [f64]>),
}

fn num<'a, D: Borrow<LeafData>>(n: &Num, data: &'a [D]) -> NumVal<'a> {
    match n {
        Num::Const(x) => NumVal::Const(*x),
        Num::Leaf(i) => match data[*i].borrow() {
            LeafData::Num(v) => NumVal::Col(Cow::Borrowed(v)),
            LeafData::Value(c) => NumVal::Col(Cow::Borrowed(&c.num)),
            _ => NumVal::Const(f64::NAN),
        },
        Num::Neg(x) => match num(x, data) {
            NumVal::Const(a) => NumVal::Const(-a),
            NumVal::Col(a) => NumVal::Col(Cow::Owned(a.iter().map(|v| -v).collect())),
        },
        Num::Arith(op, l, r) => {
            let (l, r) = (num(l, data), num(r, data));
            match (l, r) {
                (NumVal::Const(a), NumVal::Const(b)) => NumVal::Const(arith(*op, a, b)),
                (NumVal::Col(a), NumVal::Const(b)) => {
                    NumVal::Col(Cow::Owned(a.iter().map(|x| arith(*op, *x, b)).collect()))
                }
                (NumVal::Const(a), NumVal::Col(b)) => {
                    NumVal::Col(Cow::Owned(b.iter().map(|y| arith(*op, a, *y)).collect()))
                }
                (NumVal::Col(a), NumVal::Col(b)) => {
                    NumVal::Col(Cow::Owned(a.iter().zip(b.iter()).map(|(x, y)| arith(*op, *x, *y)).collect()))
                }
            }
        }
    }
}

fn arith(op: ArithOp, a: f64, b: f64) -> f64 {
    match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        // Division by zero has no value (rather than an infinity that compares true).
        ArithOp::Div if b == 0.0 => f64::NAN,
        ArithOp::Div => a / b,
    }
}

// Missing (NaN) compares false, except `!=`, which is the negation of `=`.
fn cmp<T: PartialOrd + ?Sized>(op: CmpOp, a: &T, b: &T) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }
}

// `col op b` over a column: the operator is matched once, so each loop is one comparison
// the compiler can vectorise (a match per value made this most of a segment's time).
fn cmp_const(n: usize, op: CmpOp, col: &[f64], b: f64) -> FixedBitSet {
    match op {
        CmpOp::Eq => bits_of(n, col, |x| x == b),
        CmpOp::Ne => bits_of(n, col, |x| x != b),
        CmpOp::Lt => bits_of(n, col, |x| x < b),
        CmpOp::Le => bits_of(n, col, |x| x <= b),
        CmpOp::Gt => bits_of(n, col, |x| x > b),
        CmpOp::Ge => bits_of(n, col, |x| x >= b),
    }
}

// The bits of `f` over the values of `a`, as a set over 0..n (values past `a` are false).
// Whole words go through a loop of a fixed 64 steps, which the compiler turns into vector
// compares; only the last, partial word is built one bit at a time.
fn bits_of<T: Copy>(n: usize, a: &[T], f: impl Fn(T) -> bool) -> FixedBitSet {
    // FixedBitSet's blocks are usize: these words fill them only where that is 64 bits.
    const _: () = assert!(usize::BITS == 64);
    let a = &a[..n.min(a.len())];
    let mut words: Vec<usize> = Vec::with_capacity(n.div_ceil(64));
    let whole = a.chunks_exact(64);
    let rest = whole.remainder();
    for chunk in whole {
        let mut x = 0u64;
        for (j, v) in chunk.iter().enumerate() {
            x |= u64::from(f(*v)) << j;
        }
        words.push(x as usize);
    }
    if !rest.is_empty() {
        let mut x = 0u64;
        for (j, v) in rest.iter().enumerate() {
            x |= u64::from(f(*v)) << j;
        }
        words.push(x as usize);
    }
    words.resize(n.div_ceil(64), 0);
    FixedBitSet::with_capacity_and_blocks(n, words)
}

fn ones(n: usize) -> FixedBitSet {
    let mut s = FixedBitSet::with_capacity(n);
    s.insert_range(..);
    s
}

// The bits of `f` over 0..n, built a word at a time so that the loop stays branch-free.
fn bits(n: usize, f: impl Fn(usize) -> bool) -> FixedBitSet {
    let mut words = vec![0usize; n.div_ceil(usize::BITS as usize)];
    let w = usize::BITS as usize;
    for (k, word) in words.iter_mut().enumerate() {
        let base = k * w;
        let end = (base + w).min(n);
        let mut x = 0usize;
        for i in base..end {
            x |= usize::from(f(i)) << (i - base);
        }
        *word = x;
    }
    FixedBitSet::with_capacity_and_blocks(n, words)
}

fn one<D: Borrow<LeafData>>(c: &Cond, data: &[D], i: usize, at: i64) -> bool {
    match c {
        Cond::All => true,
        Cond::Nobody => false,
        Cond::And(items) => items.iter().all(|c| one(c, data, i, at)),
        Cond::Or(items) => items.iter().any(|c| one(c, data, i, at)),
        Cond::Not(inner) => !one(inner, data, i, at),
        Cond::Cmp(op, l, r) => cmp(*op, &num_one(l, data, i), &num_one(r, data, i)),
        Cond::Text(op, leaf, text) => match data[*leaf].borrow() {
            LeafData::Value(col) => match col.text_of(i) {
                Some(t) => cmp(*op, t, text.as_str()),
                None => *op == CmpOp::Ne,
            },
            _ => false,
        },
        Cond::In(value, leaf, nums, texts) => {
            let x = num_one(value, data, i);
            nums.contains(&x)
                || match leaf.map(|l| data[l].borrow()) {
                    Some(LeafData::Value(col)) => col.text_of(i).is_some_and(|t| texts.iter().any(|s| s == t)),
                    _ => false,
                }
        }
        Cond::Within(leaf, window) => match data[*leaf].borrow() {
            LeafData::Time(t) => t[i] != NO_TIME && t[i] >= at.saturating_sub(*window) && t[i] < at,
            _ => false,
        },
        Cond::Exists(leaf) => match data[*leaf].borrow() {
            LeafData::Num(v) => !v[i].is_nan(),
            LeafData::Time(t) => t[i] != NO_TIME,
            LeafData::Value(col) => col.has(i),
            LeafData::Set(s) => s.contains(i),
        },
        Cond::Member(leaf) => matches!(data[*leaf].borrow(), LeafData::Set(s) if s.contains(i)),
    }
}

fn num_one<D: Borrow<LeafData>>(n: &Num, data: &[D], i: usize) -> f64 {
    match n {
        Num::Const(x) => *x,
        Num::Leaf(l) => match data[*l].borrow() {
            LeafData::Num(v) => v[i],
            LeafData::Value(c) => c.num[i],
            _ => f64::NAN,
        },
        Num::Neg(x) => -num_one(x, data, i),
        Num::Arith(op, l, r) => arith(*op, num_one(l, data, i), num_one(r, data, i)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The word-at-a-time comparisons against the one-value-at-a-time `cmp`, for every
    // operator, constants on either side, NaN, and lengths around a word's edge.
    #[test]
    fn column_comparisons_agree_with_comparing_one_value_at_a_time() {
        let ops = [CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge];
        for n in [0, 1, 63, 64, 65, 130] {
            let col: Vec<f64> = (0..n).map(|i| if i % 7 == 3 { f64::NAN } else { f64::from(i % 5) }).collect();
            for op in ops {
                for b in [-1.0, 2.0, 4.0, f64::NAN] {
                    let right = cmp_const(n as usize, op, &col, b);
                    let left = cmp_const(n as usize, op.flipped(), &col, b);
                    for (i, x) in col.iter().enumerate() {
                        assert_eq!(right.contains(i), cmp(op, x, &b), "{x} {op:?} {b}");
                        assert_eq!(left.contains(i), cmp(op, &b, x), "{b} {op:?} {x}");
                    }
                    assert_eq!(right.len(), n as usize);
                }
            }
        }
        // A column shorter than the customers: the rest are not members.
        let short = cmp_const(100, CmpOp::Ge, &[1.0; 70], 0.0);
        assert_eq!((short.len(), short.count_ones(..)), (100, 70));
    }
}
