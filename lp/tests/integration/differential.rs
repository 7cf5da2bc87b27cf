//! Differential test against `influxdb-line-protocol`, InfluxData's Rust parser (from IOx).
//!
//! Over a corpus of valid lines both parsers must agree on measurement, tags, fields (types
//! and values) and timestamp. Where the two intentionally differ, the inputs stay out of the
//! agreement corpus, and `documented_differences` pins each difference so this list stays true:
//!
//! - Floats `1.`, `.5`, `-.5`: we accept them, as InfluxDB's Go parser (strconv.ParseFloat)
//!   does; IOx requires digits on both sides of the point. `1e400`: IOx yields infinity, we
//!   reject it as out of range.
//! - Timestamps: IOx accepts any i64 and knows no precision; we scale by the precision and
//!   enforce InfluxDB's range of ±9223372036854775806 ns.
//! - Whitespace: we strip the `\r` of CRLF and accept trailing spaces and tabs after the last
//!   element; IOx rejects a line ending in `\r`, in a tab, or in a space when there is no
//!   timestamp.
//! - Tabs: IOx ends names at a tab (and then fails); we keep tabs in names, since only a space
//!   separates the parts of a line.
//! - Backslash pairs: we unescape `\=` in measurements too (the v1 Python client sends it);
//!   IOx keeps it as two characters there. IOx rejects names ending in a backslash after
//!   unescaping (`t=C:\\`), we keep the backslash.
//! - Unescaped commas in tag keys and field keys: IOx takes them literally, we reject them
//!   (the reference says they must be escaped, and a comma there usually means a lost `=`).
//! - Repeated tag or field keys: IOx accepts them, we reject the line.
//! - NUL in a measurement: IOx rejects it, we keep it.
//!
//! Boolean spellings are the same ten in both. Error messages and error recovery differ
//! entirely and are not compared.

use std::borrow::Cow;

use cxp_lp::{FieldValue, ParseOptions, lines};
use influxdb_line_protocol as iox;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::util::{Style, write_line};

/// A parsed point in a form both parsers can be compared in.
#[derive(Debug, PartialEq)]
struct Point {
    measurement: String,
    tags: Vec<(String, String)>,
    fields: Vec<(String, Value)>,
    timestamp: Option<i64>,
}

#[derive(Debug, PartialEq)]
enum Value {
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Str(String),
}

fn ours(input: &str) -> Vec<Result<Point, String>> {
    lines(input.as_bytes(), ParseOptions::default())
        .map(|p| {
            p.result.map_err(|e| e.to_string()).map(|l| Point {
                measurement: l.measurement.into_owned(),
                tags: l.tags.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
                fields: l
                    .fields
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            FieldValue::I64(x) => Value::I64(x),
                            FieldValue::U64(x) => Value::U64(x),
                            FieldValue::F64(x) => Value::F64(x),
                            FieldValue::Bool(x) => Value::Bool(x),
                            FieldValue::Str(s) => Value::Str(s.into_owned()),
                        };
                        (k.into_owned(), v)
                    })
                    .collect(),
                timestamp: l.timestamp,
            })
        })
        .collect()
}

fn theirs(input: &str) -> Vec<Result<Point, String>> {
    iox::parse_lines(input)
        .map(|r| {
            r.map_err(|e| e.to_string()).map(|l| Point {
                measurement: l.series.measurement.to_string(),
                tags: l
                    .series
                    .tag_set
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                fields: l
                    .field_set
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            iox::FieldValue::I64(x) => Value::I64(x),
                            iox::FieldValue::U64(x) => Value::U64(x),
                            iox::FieldValue::F64(x) => Value::F64(x),
                            iox::FieldValue::Boolean(x) => Value::Bool(x),
                            iox::FieldValue::String(s) => Value::Str(s.to_string()),
                        };
                        (k.to_string(), v)
                    })
                    .collect(),
                timestamp: l.timestamp,
            })
        })
        .collect()
}

fn assert_agree(input: &str) {
    let a = ours(input);
    assert!(a.iter().all(Result::is_ok), "we reject valid input {input:?}: {a:?}");
    assert_eq!(a, theirs(input), "input: {input:?}");
}

const CORPUS: &[&str] = &[
    "order,customer=c-1042,channel=web,city=Shanghai amount=5899.5,items=3i,sku=\"A-17\" 1732406400000000000",
    "page_view,anon=d-77,channel=app path=\"/p/A-17\",dur=12i 1732406400000000000",
    // influxdb 5.3.2 (v1 client), client-captures/influx_v1/002.
    "orders,path=C:\\\\dir,region=eu\\ west,shop\\,id=s\\=1 amount=19.99,big=1099511627776i,items=3i,\
     note=\"say \\\"hi\\\"\\\\ok\\nline2\",paid=True 1704164645123456000\n\
     orders,region=us amount=5.0 1704164645123456789\n\
     cpu\\ load neg=-1.5e-07,value=0.5 1704164645678901000\n\
     no_time v=1i\n",
    // influxdb-client 1.50.0 (v2 client), with a raw newline in a string, client-captures/influx_v2/002.
    "orders,path=C:\\dir\\ ,region=eu\\ west,shop\\,id=s\\=1 amount=19.99,items=3i,\
     note=\"say \\\"hi\\\"\\\\ok\nline2\",paid=true,whole=5 1704164645678901000",
    // The influx CLI: a leading space, blank lines.
    " orders,region=eu\\ west amount=19.99,items=3i,note=\"hi\" 1704164645\n",
    "orders,region=us amount=5 1704164645\n\norders,region=eu amount=6 1704164646\n",
    // collectd.
    "cpu,host=cdp-test-host,instance=0,type=cpu,type_instance=user value=23246i 1795513863447\n\
     memory,host=cdp-test-host,type=memory,type_instance=used value=974385152.000000 1795513862448\n",
    "d,a=b cnt=108913123234u,x=1 1704164645",
    "# a comment\n  # another\nm f=1\n",
    "温度,城市=上海,emoji=🦀 值=21.5,标签=\"✓ ok\",ключ=7i 1",
    "m b1=t,b2=T,b3=true,b4=True,b5=TRUE,b6=f,b7=F,b8=false,b9=False,b10=FALSE",
    "m i=-9223372036854775808i,j=9223372036854775807i,u=0u,v=18446744073709551615u",
    "m f1=1,f2=-1,f3=1.0,f4=1e10,f5=1E+10,f6=-1.5e-07,f7=-0.5,f8=1.234456e+78,f9=123456789012345678901234567890",
    "m s=\"\",t=\"a,b c=d\",u=\"\\\\\",v=\"x\\\\\\\"y\",w=\"C:\\dir\"",
    "m=x,\"q\"='v' f=1 -1704164645",
    "m,k=a=b f=1i 0",
    "m    f=1    5",
    "m f=1 5  ",
];

#[test]
fn the_corpus_agrees() {
    for input in CORPUS {
        assert_agree(input);
    }
}

/// Name characters both parsers read the same way: no delimiters, escapes or tabs.
fn plain_name() -> impl Strategy<Value = String> {
    let c = select(vec!['a', 'z', 'Q', '0', '9', '_', '-', '.', '/', ':', '"', '\'', 'é', '上', '🦀']);
    vec(c, 1..8).prop_map(String::from_iter)
}

fn value() -> impl Strategy<Value = FieldValue<'static>> {
    let string_char = select(vec!['a', ' ', ',', '=', '"', '\\', '\n', 'é', '🦀', '#']);
    prop_oneof![
        any::<i64>().prop_map(FieldValue::I64),
        any::<u64>().prop_map(FieldValue::U64),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(FieldValue::F64),
        (any::<i32>(), 0..7i32).prop_map(|(m, e)| FieldValue::F64(f64::from(m) / 10f64.powi(e))),
        any::<bool>().prop_map(FieldValue::Bool),
        vec(string_char, 0..10).prop_map(|s| FieldValue::Str(Cow::Owned(String::from_iter(s)))),
    ]
}

fn plain_line() -> impl Strategy<Value = String> {
    (
        plain_name().prop_filter("not a comment", |m| !m.starts_with('#')),
        proptest::collection::btree_map(plain_name(), plain_name(), 0..5),
        proptest::collection::btree_map(plain_name(), value(), 1..5),
        proptest::option::of(-cxp_lp::MAX_TIMESTAMP_NANOS..=cxp_lp::MAX_TIMESTAMP_NANOS),
        0..5usize,
    )
        .prop_map(|(m, tags, fields, timestamp, bool_spelling)| {
            let line = cxp_lp::Line {
                measurement: Cow::Owned(m),
                tags: tags.into_iter().map(|(k, v)| (Cow::Owned(k), Cow::Owned(v))).collect(),
                fields: fields.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect(),
                timestamp,
            };
            let mut out = String::new();
            write_line(&line, Style { bool_spelling, ..Style::default() }, &mut out);
            out
        })
}

proptest! {
    #[test]
    fn generated_bodies_agree(body in vec(plain_line(), 1..6)) {
        let text = body.join("\n");
        let a = ours(&text);
        prop_assert!(a.iter().all(Result::is_ok), "we reject {:?}: {:?}", text, a);
        prop_assert_eq!(a, theirs(&text), "input: {:?}", text);
    }
}

#[test]
fn documented_differences() {
    fn ok(r: &[Result<Point, String>]) -> bool {
        r.len() == 1 && r[0].is_ok()
    }
    // Accepted by us only.
    for input in
        ["m f=1.", "m f=.5", "m f=-.5", "m f=1\r\n", "m f=1 ", "m f=1 1\t", "m,t=a\\\\ f=1", "m,t=a\tb f=1", "m\0 f=1"]
    {
        assert!(ok(&ours(input)), "we accept {input:?}");
        assert!(!ok(&theirs(input)), "IOx rejects {input:?}");
    }
    // Accepted by IOx only.
    for input in ["m f=1e400", "m f=1 9223372036854775807", "m,a,b=1 f=1", "m a,b=1", "m f=1,f=2", "m,t=1,t=2 f=1"] {
        assert!(!ok(&ours(input)), "we reject {input:?}");
        assert!(ok(&theirs(input)), "IOx accepts {input:?}");
    }
    // Accepted by both, read differently.
    let a = ours("m\\=x f=1");
    let b = theirs("m\\=x f=1");
    assert_eq!(a[0].as_ref().map(|p| p.measurement.as_str()), Ok("m=x"));
    assert_eq!(b[0].as_ref().map(|p| p.measurement.as_str()), Ok("m\\=x"));
}
