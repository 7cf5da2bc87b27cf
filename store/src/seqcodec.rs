//! The `seq` column of merged parts, predicted from `ts`.
//!
//! Merged parts are sorted by (customer, time), so raw sequence numbers jump at every customer
//! boundary (about 18 bits a row on the generator's mix). But events arrive roughly in time
//! order, so seq is nearly a function of ts: this codec keeps one (ts, seq) anchor every
//! `STEP` rows in time order and stores each row's difference from the straight line between
//! its anchors. Integer arithmetic only, so decoding is exact on every platform; data that
//! arrived out of order just costs more bits, never correctness.

use crate::codec::{CodecError, Effort, decode_system, encode_system};

const STEP: usize = 64;

/// Anchors (ts, seq) in time order, spaced `STEP` rows apart, plus the last row.
fn anchors(ts: &[i64], seq: &[u64]) -> (Vec<i64>, Vec<u64>) {
    let mut order: Vec<usize> = (0..ts.len()).collect();
    order.sort_unstable_by_key(|&r| (ts[r], seq[r]));
    let mut picks: Vec<usize> = order.iter().copied().step_by(STEP).collect();
    if let Some(&last) = order.last()
        && picks.last() != Some(&last)
    {
        picks.push(last);
    }
    (picks.iter().map(|&r| ts[r]).collect(), picks.iter().map(|&r| seq[r]).collect())
}

fn predict(at: &[i64], aseq: &[u64], t: i64) -> i64 {
    let i = at.partition_point(|&a| a <= t).saturating_sub(1).min(at.len() - 1);
    if i + 1 >= at.len() || at[i + 1] == at[i] {
        return aseq[i] as i64;
    }
    let (t0, t1) = (i128::from(at[i]), i128::from(at[i + 1]));
    let (s0, s1) = (i128::from(aseq[i]), i128::from(aseq[i + 1]));
    // Anchors are in time order when we wrote them; a damaged chunk must not panic here.
    let t = i128::from(t).clamp(t0.min(t1), t0.max(t1));
    // Encoder and decoder share this function, so any deterministic answer is correct; a
    // product too large for i128 (only with absurd spans) just predicts the left anchor.
    (s1 - s0).checked_mul(t - t0).map_or(s0, |p| s0 + p / (t1 - t0)) as i64
}

/// Encodes `seq` given the same rows' `ts`.
pub(crate) fn encode(ts: &[i64], seq: &[u64]) -> Vec<u8> {
    if ts.is_empty() {
        return Vec::new();
    }
    let (at, aseq) = anchors(ts, seq);
    let residuals: Vec<i64> =
        ts.iter().zip(seq).map(|(&t, &s)| (s as i64).wrapping_sub(predict(&at, &aseq, t))).collect();
    let parts = [encode_system(&at, Effort::Merged), encode_system(&aseq, Effort::Merged)];
    let mut out = Vec::new();
    for p in &parts {
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(p);
    }
    out.extend_from_slice(&encode_system(&residuals, Effort::Merged));
    out
}

/// Decodes what [`encode`] wrote, given the rows' `ts`.
pub(crate) fn decode(payload: &[u8], ts: &[i64]) -> Result<Vec<u64>, CodecError> {
    if ts.is_empty() {
        return Ok(Vec::new());
    }
    let mut rest = payload;
    let mut take = || -> Result<&[u8], CodecError> {
        let len = u32::from_le_bytes(rest.get(..4).ok_or(CodecError::Truncated)?.try_into().expect("4 bytes")) as usize;
        let body = rest.get(4..4 + len).ok_or(CodecError::Truncated)?;
        rest = &rest[4 + len..];
        Ok(body)
    };
    let at: Vec<i64> = decode_system(take()?)?;
    let aseq: Vec<u64> = decode_system(take()?)?;
    if at.is_empty() || at.len() != aseq.len() {
        return Err(CodecError::Corrupt("seq anchors".into()));
    }
    let residuals: Vec<i64> = decode_system(rest)?;
    if residuals.len() != ts.len() {
        return Err(CodecError::Corrupt(format!("{} seq residuals for {} rows", residuals.len(), ts.len())));
    }
    Ok(ts.iter().zip(residuals).map(|(&t, r)| predict(&at, &aseq, t).wrapping_add(r) as u64).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn in_order_arrivals_cost_little() {
        // 100k events in time order, a customer-sorted part of every other one.
        let mut rows: Vec<(u32, i64, u64)> =
            (0..100_000u64).map(|i| (((i * 7919) % 5000) as u32, (i as i64) * 1_700_000, i * 2)).collect();
        rows.sort_unstable();
        let ts: Vec<i64> = rows.iter().map(|r| r.1).collect();
        let seq: Vec<u64> = rows.iter().map(|r| r.2).collect();
        let bytes = encode(&ts, &seq);
        assert_eq!(decode(&bytes, &ts).expect("decodes"), seq);
        let plain = encode_system(&seq, Effort::Merged);
        assert!(bytes.len() * 4 < plain.len(), "{} vs plain pco {}", bytes.len(), plain.len());
    }

    proptest! {
        #[test]
        fn any_ts_and_seq_round_trip(pairs in proptest::collection::vec((any::<i64>(), any::<u64>()), 1..300)) {
            let ts: Vec<i64> = pairs.iter().map(|p| p.0).collect();
            let seq: Vec<u64> = pairs.iter().map(|p| p.1).collect();
            prop_assert_eq!(decode(&encode(&ts, &seq), &ts).expect("decodes"), seq);
        }
    }
}
