//! A table of features and binary labels: what a model trains on and scores.
//!
//! Rows are customers, stored row-major as `f32` (missing values are NaN), which is both what
//! the histogram builder reads a row at a time and what scoring walks the trees with.

use super::ModelError;

/// Features and labels, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Feature names, in column order.
    pub features: Vec<String>,
    /// `rows * features.len()` values; NaN is a missing value.
    pub x: Vec<f32>,
    /// One label per row: 1 (positive) or 0. Empty when the table is only scored.
    pub y: Vec<u8>,
}

impl Dataset {
    /// A table with these columns and no rows.
    pub fn new(features: Vec<String>) -> Dataset {
        Dataset { features, x: Vec::new(), y: Vec::new() }
    }

    /// Appends a row; `x` must have one value per feature.
    pub fn push(&mut self, x: &[f32], y: u8) {
        debug_assert_eq!(x.len(), self.features.len());
        self.x.extend_from_slice(x);
        self.y.push(y);
    }

    /// Number of features.
    pub fn width(&self) -> usize {
        self.features.len()
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.x.len().checked_div(self.width()).unwrap_or(0)
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        let w = self.width();
        &self.x[i * w..(i + 1) * w]
    }

    /// Positive labels.
    pub fn positives(&self) -> usize {
        self.y.iter().filter(|&&y| y == 1).count()
    }

    /// The rows at `idx`, in that order.
    pub fn take(&self, idx: &[usize]) -> Dataset {
        let w = self.width();
        let mut out = Dataset::new(self.features.clone());
        out.x.reserve(idx.len() * w);
        out.y.reserve(idx.len());
        for &i in idx {
            out.x.extend_from_slice(self.row(i));
            if let Some(&y) = self.y.get(i) {
                out.y.push(y);
            }
        }
        out
    }

    /// Checks the shape: a value per feature in every row, a 0/1 label per row, no infinite
    /// values (NaN is missing; an infinity is a bug upstream, better refused than split on).
    pub fn check(&self) -> Result<(), ModelError> {
        let w = self.width();
        if w == 0 {
            return Err(ModelError::Data("the table has no features".into()));
        }
        if !self.x.len().is_multiple_of(w) {
            return Err(ModelError::Data(format!("{} values do not make rows of {w} features", self.x.len())));
        }
        if self.y.len() != self.rows() {
            return Err(ModelError::Data(format!("{} labels for {} rows", self.y.len(), self.rows())));
        }
        if let Some(i) = self.y.iter().position(|&y| y > 1) {
            return Err(ModelError::Data(format!("row {i}: label {} is not 0 or 1", self.y[i])));
        }
        if let Some(i) = self.x.iter().position(|v| v.is_infinite()) {
            return Err(ModelError::Data(format!("row {}, feature {:?}: infinite value", i / w, self.features[i % w])));
        }
        Ok(())
    }

    /// The table as CSV: a header of `id` (when ids are given), the features and `label`;
    /// missing values as empty cells, so that pandas, R and DuckDB read them as missing.
    pub fn write_csv(&self, ids: Option<&[String]>, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let mut line = String::new();
        if ids.is_some() {
            line.push_str("id,");
        }
        line.push_str(&self.features.join(","));
        line.push_str(",label\n");
        out.write_all(line.as_bytes())?;
        for i in 0..self.rows() {
            line.clear();
            if let Some(ids) = ids {
                line.push_str(&csv_cell(&ids[i]));
                line.push(',');
            }
            for v in self.row(i) {
                if !v.is_nan() {
                    // Shortest text that reads back as the same f32.
                    line.push_str(&v.to_string());
                }
                line.push(',');
            }
            line.push_str(if self.y.get(i) == Some(&1) { "1\n" } else { "0\n" });
            out.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_checks_and_csv() {
        let mut d = Dataset::new(vec!["a".into(), "b".into()]);
        d.push(&[1.5, f32::NAN], 1);
        d.push(&[0.1, 2.0], 0);
        assert_eq!(d.rows(), 2);
        assert!(d.check().is_ok());
        let mut out = Vec::new();
        d.write_csv(Some(&["c,1".into(), "c2".into()]), &mut out).expect("in memory");
        assert_eq!(String::from_utf8(out).expect("utf-8"), "id,a,b,label\n\"c,1\",1.5,,1\nc2,0.1,2,0\n");
        d.y[1] = 2;
        assert!(d.check().expect_err("refused").to_string().contains("row 1: label 2"));
        d.y[1] = 0;
        d.x[3] = f32::INFINITY;
        assert!(d.check().expect_err("refused").to_string().contains("feature \"b\""));
        assert_eq!(d.take(&[1, 0]).row(1)[0], 1.5);
    }
}
