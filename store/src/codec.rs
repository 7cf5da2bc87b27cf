//! Column chunk codecs.
//!
//! Fresh parts are written on the ingest path, so they use codecs that cost almost nothing:
//! raw little-endian numbers and lz4 for strings. Merged parts are written off the ingest path
//! and read many times, so they use `pco` for numbers and a dictionary (lz4) with pco-coded
//! codes for strings. Every chunk starts with a small header naming its codec, so a reader
//! never has to know how a part was made.
//!
//! Chunk layout: `codec u8 | flags u8 | rows u32 LE | validity bits (if flags & 1) | payload`.

use std::collections::HashMap;

use crate::bitmap::BitVec;
use crate::column::{ColumnData, NullableColumn, StrColumn};
use crate::types::ColumnType;

/// How hard to work when encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    /// Ingest path: cheapest codecs.
    Fresh,
    /// Merge path: best compression.
    Merged,
}

/// The codec of a chunk, as stored in its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Codec {
    /// Raw little-endian numbers.
    Plain = 0,
    /// Pco-compressed numbers.
    Pco = 2,
    /// Booleans as packed bits.
    BitPack = 3,
    /// Strings: lengths and bytes, lz4-compressed.
    StrLz4 = 4,
    /// Strings: an lz4-compressed dictionary and pco-coded codes.
    StrDict = 5,
    /// Floats that are exact decimals: a scale byte, then the scaled integers, pco-coded.
    Decimal = 6,
    /// Sequence numbers as residuals from a line through (ts, seq) anchors (`seqcodec.rs`).
    SeqByTs = 7,
}

impl Codec {
    /// The codec stored as `b`.
    pub fn from_byte(b: u8) -> Result<Codec, CodecError> {
        Ok(match b {
            0 => Codec::Plain,
            2 => Codec::Pco,
            3 => Codec::BitPack,
            4 => Codec::StrLz4,
            5 => Codec::StrDict,
            6 => Codec::Decimal,
            7 => Codec::SeqByTs,
            other => return Err(CodecError::UnknownCodec(other)),
        })
    }

    /// Short name for reports (`cxp stats`, FORMAT.md).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Plain => "plain",
            Codec::Pco => "pco",
            Codec::BitPack => "bitpack",
            Codec::StrLz4 => "lz4",
            Codec::StrDict => "dict",
            Codec::Decimal => "decimal",
            Codec::SeqByTs => "seq-by-ts",
        }
    }
}

/// A chunk that cannot be decoded: the file is damaged or was written by a newer version.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The codec byte is not one this version knows.
    #[error("unknown codec {0}")]
    UnknownCodec(u8),
    /// The chunk ends before its header or payload does.
    #[error("chunk truncated")]
    Truncated,
    /// The chunk's codec does not fit the column's type.
    #[error("codec {codec:?} cannot hold a {ty} column")]
    Mismatch {
        /// The codec found.
        codec: Codec,
        /// The column type expected.
        ty: ColumnType,
    },
    /// The payload did not decompress.
    #[error("corrupt payload: {0}")]
    Corrupt(String),
}

const HEADER: usize = 6;

/// Encodes rows `range` of `col`.
pub fn encode_column(col: &NullableColumn, range: std::ops::Range<usize>, effort: Effort) -> Vec<u8> {
    let rows = range.len();
    let valid = col.valid.as_ref().map(|v| range.clone().map(|i| v.get(i)).collect::<BitVec>());
    let valid = valid.filter(|v| !v.all());
    let (codec, payload) = match &col.data {
        ColumnData::I64(v) => encode_nums(&v[range], effort),
        ColumnData::U64(v) => encode_nums(&v[range], effort),
        ColumnData::F64(v) => match effort {
            Effort::Merged => encode_decimal(&v[range.clone()]).unwrap_or_else(|| encode_nums(&v[range], effort)),
            Effort::Fresh => encode_nums(&v[range], effort),
        },
        ColumnData::Bool(v) => (Codec::BitPack, range.map(|i| v.get(i)).collect::<BitVec>().to_bytes()),
        ColumnData::Str(v) => encode_strs(v, range, effort),
    };
    frame(codec, rows, valid.as_ref(), &payload)
}

/// Encodes a non-null numeric system column (ts, ck, seq).
pub fn encode_system<T: Num>(values: &[T], effort: Effort) -> Vec<u8> {
    let (codec, payload) = encode_nums(values, effort);
    frame(codec, values.len(), None, &payload)
}

/// Encodes a chunk's sequence numbers; merged parts predict them from the rows' times.
pub fn encode_seq(ts: &[i64], seq: &[u64], effort: Effort) -> Vec<u8> {
    match effort {
        Effort::Fresh => encode_system(seq, effort),
        Effort::Merged => frame(Codec::SeqByTs, seq.len(), None, &crate::seqcodec::encode(ts, seq)),
    }
}

/// Decodes a chunk's sequence numbers, given the same rows' times.
pub fn decode_seq(bytes: &[u8], ts: &[i64]) -> Result<Vec<u64>, CodecError> {
    let (codec, rows, _, payload) = unframe(bytes)?;
    match codec {
        Codec::SeqByTs if rows == ts.len() => crate::seqcodec::decode(payload, ts),
        Codec::SeqByTs => Err(CodecError::Corrupt(format!("{rows} seq rows for {} times", ts.len()))),
        _ => decode_nums(codec, payload, rows),
    }
}

/// Decodes a chunk of a column of type `ty`.
pub fn decode_column(bytes: &[u8], ty: ColumnType) -> Result<NullableColumn, CodecError> {
    let (codec, rows, valid, payload) = unframe(bytes)?;
    let mismatch = || CodecError::Mismatch { codec, ty };
    let data = match (ty, codec) {
        (ColumnType::I64, Codec::Plain | Codec::Pco) => ColumnData::I64(decode_nums(codec, payload, rows)?),
        (ColumnType::U64, Codec::Plain | Codec::Pco) => ColumnData::U64(decode_nums(codec, payload, rows)?),
        (ColumnType::F64, Codec::Plain | Codec::Pco) => ColumnData::F64(decode_nums(codec, payload, rows)?),
        (ColumnType::F64, Codec::Decimal) => ColumnData::F64(decode_decimal(payload, rows)?),
        (ColumnType::Bool, Codec::BitPack) => {
            ColumnData::Bool(BitVec::from_bytes(payload, rows).ok_or(CodecError::Truncated)?)
        }
        (ColumnType::Str, Codec::StrLz4 | Codec::StrDict) => ColumnData::Str(decode_strs(codec, payload, rows)?),
        _ => return Err(mismatch()),
    };
    Ok(NullableColumn { data, valid })
}

/// Decodes a numeric system column chunk.
pub fn decode_system<T: Num>(bytes: &[u8]) -> Result<Vec<T>, CodecError> {
    let (codec, rows, _, payload) = unframe(bytes)?;
    decode_nums(codec, payload, rows)
}

/// The codec byte of an encoded chunk.
#[cfg(test)]
pub fn codec_of(bytes: &[u8]) -> Result<Codec, CodecError> {
    Codec::from_byte(*bytes.first().ok_or(CodecError::Truncated)?)
}

fn frame(codec: Codec, rows: usize, valid: Option<&BitVec>, payload: &[u8]) -> Vec<u8> {
    let rows32 = u32::try_from(rows).expect("chunks hold far fewer than 2^32 rows");
    let mut out = Vec::with_capacity(HEADER + payload.len() + valid.map_or(0, |_| rows.div_ceil(8)));
    out.push(codec as u8);
    out.push(u8::from(valid.is_some()));
    out.extend_from_slice(&rows32.to_le_bytes());
    if let Some(v) = valid {
        out.extend_from_slice(&v.to_bytes());
    }
    out.extend_from_slice(payload);
    out
}

type Unframed<'a> = (Codec, usize, Option<BitVec>, &'a [u8]);

fn unframe(bytes: &[u8]) -> Result<Unframed<'_>, CodecError> {
    if bytes.len() < HEADER {
        return Err(CodecError::Truncated);
    }
    let codec = Codec::from_byte(bytes[0])?;
    let rows = u32::from_le_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]) as usize;
    let mut rest = &bytes[HEADER..];
    let valid = if bytes[1] & 1 == 1 {
        let n = rows.div_ceil(8);
        let v = BitVec::from_bytes(rest, rows).ok_or(CodecError::Truncated)?;
        rest = &rest[n..];
        Some(v)
    } else {
        None
    };
    Ok((codec, rows, valid, rest))
}

/// Numbers the codecs handle: fixed-width little-endian and pco-compressible.
pub trait Num: pco::data_types::Number + Copy + Default {
    /// Byte width.
    const WIDTH: usize;
    /// Appends the little-endian bytes.
    fn put(self, out: &mut Vec<u8>);
    /// Reads from exactly `WIDTH` bytes.
    fn take(bytes: &[u8]) -> Self;
}

macro_rules! impl_num {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn take(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("caller slices WIDTH bytes"))
            }
        }
    )*};
}
impl_num!(i64, u64, f64, u32);

fn encode_nums<T: Num>(values: &[T], effort: Effort) -> (Codec, Vec<u8>) {
    if effort == Effort::Merged && !values.is_empty() {
        let config = pco::ChunkConfig::default();
        if let Ok(bytes) = pco::standalone::simple_compress(values, &config) {
            return (Codec::Pco, bytes);
        }
    }
    let mut out = Vec::with_capacity(values.len() * T::WIDTH);
    values.iter().for_each(|v| v.put(&mut out));
    (Codec::Plain, out)
}

fn decode_nums<T: Num>(codec: Codec, payload: &[u8], rows: usize) -> Result<Vec<T>, CodecError> {
    let values = match codec {
        Codec::Plain => {
            if payload.len() != rows * T::WIDTH {
                return Err(CodecError::Truncated);
            }
            payload.chunks_exact(T::WIDTH).map(T::take).collect()
        }
        Codec::Pco if rows == 0 => Vec::new(),
        Codec::Pco => {
            pco::standalone::simple_decompress::<T>(payload).map_err(|e| CodecError::Corrupt(e.to_string()))?
        }
        other => return Err(CodecError::Corrupt(format!("{} is not a numeric codec", other.name()))),
    };
    if values.len() != rows {
        return Err(CodecError::Corrupt(format!("expected {rows} values, found {}", values.len())));
    }
    Ok(values)
}

// Prices and amounts are decimals. pco's float modes decode at ~200M values/s here, its
// integer modes at ~700M/s, so a float column whose every value is exactly `n / 10^k` (checked
// bit for bit, -0.0 and huge values excluded) is stored as the integers `n` with the scale `k`.
const POW10: [f64; 5] = [1.0, 10.0, 100.0, 1000.0, 10000.0];

fn encode_decimal(values: &[f64]) -> Option<(Codec, Vec<u8>)> {
    if values.is_empty() {
        return None;
    }
    let scale = (0..POW10.len()).find(|&k| {
        values.iter().all(|v| {
            let scaled = (v * POW10[k]).round();
            scaled.abs() < 9.0e15 && ((scaled as i64) as f64 / POW10[k]).to_bits() == v.to_bits()
        })
    })?;
    let ints: Vec<i64> = values.iter().map(|v| (v * POW10[scale]).round() as i64).collect();
    let (Codec::Pco, bytes) = encode_nums(&ints, Effort::Merged) else { return None };
    let mut out = Vec::with_capacity(1 + bytes.len());
    out.push(scale as u8);
    out.extend_from_slice(&bytes);
    Some((Codec::Decimal, out))
}

fn decode_decimal(payload: &[u8], rows: usize) -> Result<Vec<f64>, CodecError> {
    let (&scale, rest) = payload.split_first().ok_or(CodecError::Truncated)?;
    let div = *POW10.get(scale as usize).ok_or_else(|| CodecError::Corrupt(format!("decimal scale {scale}")))?;
    let ints: Vec<i64> = decode_nums(Codec::Pco, rest, rows)?;
    Ok(ints.into_iter().map(|n| n as f64 / div).collect())
}

fn encode_strs(col: &StrColumn, range: std::ops::Range<usize>, effort: Effort) -> (Codec, Vec<u8>) {
    if effort == Effort::Merged {
        let mut codes = Vec::with_capacity(range.len());
        let mut dict: HashMap<&str, u32> = HashMap::new();
        let mut order: Vec<&str> = Vec::new();
        for i in range.clone() {
            let s = col.get(i);
            let next = order.len() as u32;
            let code = *dict.entry(s).or_insert_with(|| {
                order.push(s);
                next
            });
            codes.push(code);
        }
        // A dictionary only pays when values repeat; unique ids and free text go plain.
        if order.len() * 2 <= range.len() && !codes.is_empty() {
            let dict_bytes = lz4_flex::block::compress_prepend_size(&str_block(order.iter().copied()));
            let (codes_codec, code_bytes) = encode_nums(&codes, Effort::Merged);
            let mut out = Vec::with_capacity(4 + dict_bytes.len() + code_bytes.len());
            out.extend_from_slice(&(dict_bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(&dict_bytes);
            out.extend_from_slice(&code_bytes);
            // The decoder reads pco codes; should pco ever refuse them, store the strings plain.
            if codes_codec == Codec::Pco {
                return (Codec::StrDict, out);
            }
        }
    }
    let block = str_block(range.map(|i| col.get(i)));
    (Codec::StrLz4, lz4_flex::block::compress_prepend_size(&block))
}

// `u32 len` for each value, then all bytes: lengths compress well and bytes stay contiguous.
fn str_block<'a>(values: impl Iterator<Item = &'a str> + Clone) -> Vec<u8> {
    let mut out = Vec::new();
    for s in values.clone() {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    }
    for s in values {
        out.extend_from_slice(s.as_bytes());
    }
    out
}

fn read_str_block(block: &[u8], n: usize) -> Result<StrColumn, CodecError> {
    let lens_end = n.checked_mul(4).ok_or(CodecError::Truncated)?;
    if block.len() < lens_end {
        return Err(CodecError::Truncated);
    }
    let mut col = StrColumn::new();
    let mut at = lens_end;
    for len in block[..lens_end].chunks_exact(4) {
        let len = u32::take(len) as usize;
        let end = at.checked_add(len).filter(|e| *e <= block.len()).ok_or(CodecError::Truncated)?;
        let s = std::str::from_utf8(&block[at..end]).map_err(|e| CodecError::Corrupt(e.to_string()))?;
        col.push(s);
        at = end;
    }
    Ok(col)
}

fn decode_strs(codec: Codec, payload: &[u8], rows: usize) -> Result<StrColumn, CodecError> {
    let lz4 = |b: &[u8]| lz4_flex::block::decompress_size_prepended(b).map_err(|e| CodecError::Corrupt(e.to_string()));
    match codec {
        Codec::StrLz4 => read_str_block(&lz4(payload)?, rows),
        Codec::StrDict => {
            if payload.len() < 4 {
                return Err(CodecError::Truncated);
            }
            let dict_len = u32::take(&payload[..4]) as usize;
            let dict_end = 4usize.checked_add(dict_len).filter(|e| *e <= payload.len()).ok_or(CodecError::Truncated)?;
            let block = lz4(&payload[4..dict_end])?;
            let codes: Vec<u32> = decode_nums(Codec::Pco, &payload[dict_end..], rows)?;
            let n_dict = codes.iter().max().map_or(0, |m| *m as usize + 1);
            let dict = read_str_block(&block, n_dict)?;
            // Kept coded: the scan does not copy each row's string (see `StrColumn::codes`).
            Ok(StrColumn::from_dictionary(dict, codes))
        }
        other => Err(CodecError::Corrupt(format!("{} is not a string codec", other.name()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn column(data: ColumnData, nulls: &[usize]) -> NullableColumn {
        let len = data.len();
        let valid: BitVec = (0..len).map(|i| !nulls.contains(&i)).collect();
        NullableColumn { data, valid: (!valid.all()).then_some(valid) }
    }

    fn round_trip(col: &NullableColumn, effort: Effort) -> NullableColumn {
        let bytes = encode_column(col, 0..col.len(), effort);
        decode_column(&bytes, col.data.column_type()).expect("decodes")
    }

    #[test]
    fn every_type_round_trips_with_both_efforts() {
        let cols = [
            column(ColumnData::I64(vec![i64::MIN, -1, 0, 7, i64::MAX]), &[2]),
            column(ColumnData::U64(vec![0, 1, u64::MAX]), &[]),
            column(ColumnData::F64(vec![0.1, -0.0, 5899.0, f64::MIN_POSITIVE, 1e300]), &[4]),
            column(ColumnData::Bool([true, false, true].into_iter().collect()), &[1]),
            column(ColumnData::Str(["上海", "", "a\"b\\c", "上海", "上海"].into_iter().collect()), &[1]),
        ];
        for col in &cols {
            for effort in [Effort::Fresh, Effort::Merged] {
                let back = round_trip(col, effort);
                assert_eq!(&back, col, "{effort:?}");
            }
        }
    }

    #[test]
    fn decimals_use_scaled_integers_and_stay_bit_exact() {
        let prices = column(ColumnData::F64(vec![5899.0, 0.1, 199.99, 12.5, -3.25, 0.3]), &[]);
        let bytes = encode_column(&prices, 0..6, Effort::Merged);
        assert_eq!(codec_of(&bytes).expect("codec"), Codec::Decimal);
        assert_eq!(bytes[HEADER], 2, "two decimal places");
        assert_eq!(round_trip(&prices, Effort::Merged), prices);
        for odd in [vec![0.1 + 0.2], vec![1e300], vec![-0.0, 1.0], vec![f64::MIN_POSITIVE]] {
            let col = column(ColumnData::F64(odd), &[]);
            let bytes = encode_column(&col, 0..col.len(), Effort::Merged);
            assert_eq!(codec_of(&bytes).expect("codec"), Codec::Pco, "{col:?}");
            assert_eq!(round_trip(&col, Effort::Merged), col);
        }
    }

    #[test]
    fn negative_zero_keeps_its_sign() {
        let col = column(ColumnData::F64(vec![-0.0, 0.0]), &[]);
        let ColumnData::F64(back) = round_trip(&col, Effort::Merged).data else { panic!("type") };
        assert!(back[0].is_sign_negative() && back[1].is_sign_positive());
    }

    #[test]
    fn repeated_strings_use_the_dictionary() {
        let col = column(ColumnData::Str((0..1000).map(|i| ["web", "app", "store"][i % 3]).collect()), &[]);
        let bytes = encode_column(&col, 0..1000, Effort::Merged);
        assert_eq!(codec_of(&bytes).expect("codec"), Codec::StrDict);
        assert!(bytes.len() < 200, "dictionary chunk is {} bytes", bytes.len());
    }

    #[test]
    fn damaged_chunks_are_errors_not_panics() {
        let col = column(ColumnData::Str(["a", "bb"].into_iter().collect()), &[]);
        let bytes = encode_column(&col, 0..2, Effort::Merged);
        for cut in 0..bytes.len() {
            let _ = decode_column(&bytes[..cut], ColumnType::Str);
        }
        assert!(matches!(decode_column(&[9, 0, 0, 0, 0, 0], ColumnType::I64), Err(CodecError::UnknownCodec(9))));
        assert!(decode_column(&encode_system(&[1i64, 2], Effort::Fresh), ColumnType::Str).is_err());
    }

    proptest! {
        #[test]
        fn i64_columns_round_trip(values in proptest::collection::vec(any::<i64>(), 0..300), merged in any::<bool>()) {
            let effort = if merged { Effort::Merged } else { Effort::Fresh };
            let bytes = encode_system(&values, effort);
            prop_assert_eq!(decode_system::<i64>(&bytes).expect("decodes"), values);
        }

        #[test]
        fn f64_columns_round_trip_bit_exactly(bits in proptest::collection::vec(any::<u64>(), 0..300)) {
            let values: Vec<f64> = bits.iter().map(|b| f64::from_bits(*b)).filter(|f| f.is_finite()).collect();
            let bytes = encode_system(&values, Effort::Merged);
            let back = decode_system::<f64>(&bytes).expect("decodes");
            prop_assert_eq!(back.iter().map(|f| f.to_bits()).collect::<Vec<_>>(), values.iter().map(|f| f.to_bits()).collect::<Vec<_>>());
        }

        #[test]
        fn decimal_candidates_round_trip_bit_exactly(cents in proptest::collection::vec(-10_000_000i64..10_000_000, 1..200), scale in 0usize..6) {
            let values: Vec<f64> = cents.iter().map(|c| *c as f64 / [1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0][scale]).collect();
            let col = column(ColumnData::F64(values.clone()), &[]);
            let ColumnData::F64(back) = round_trip(&col, Effort::Merged).data else { panic!("type") };
            prop_assert_eq!(back.iter().map(|f| f.to_bits()).collect::<Vec<_>>(), values.iter().map(|f| f.to_bits()).collect::<Vec<_>>());
        }

        #[test]
        fn string_columns_round_trip(values in proptest::collection::vec("\\PC{0,12}", 0..200), nulls in proptest::collection::vec(any::<bool>(), 200), merged in any::<bool>()) {
            let data = ColumnData::Str(values.iter().map(String::as_str).collect());
            let null_rows: Vec<usize> = (0..values.len()).filter(|i| nulls[*i]).collect();
            let col = column(data, &null_rows);
            let effort = if merged { Effort::Merged } else { Effort::Fresh };
            prop_assert_eq!(round_trip(&col, effort), col);
        }
    }
}
