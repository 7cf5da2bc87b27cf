//! What valid line protocol means: every accepted form, with exact expected values.

use std::borrow::Cow;

use cxp_lp::{FieldValue, Line, ParseOptions, Precision, lines, parse_line};

use crate::util::{one, outcomes, parse_all};

fn tags<'a>(line: &'a Line<'_>) -> Vec<(&'a str, &'a str)> {
    line.tags.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect()
}

fn fields<'a>(line: &'a Line<'_>) -> Vec<(&'a str, FieldValue<'a>)> {
    line.fields.iter().map(|(k, v)| (k.as_ref(), v.clone())).collect()
}

fn s(v: &str) -> FieldValue<'_> {
    FieldValue::Str(Cow::Borrowed(v))
}

#[test]
fn typical_event_lines_are_zero_copy() {
    let order = one("order,customer=c-1042,channel=web,city=Shanghai \
         amount=5899.5,items=3i,sku=\"A-17\" 1732406400000000000");
    assert_eq!(order.measurement, "order");
    assert_eq!(tags(&order), [("customer", "c-1042"), ("channel", "web"), ("city", "Shanghai")]);
    assert_eq!(
        fields(&order),
        [("amount", FieldValue::F64(5899.5)), ("items", FieldValue::I64(3)), ("sku", s("A-17"))]
    );
    assert_eq!(order.timestamp, Some(1_732_406_400_000_000_000));

    let view = one("page_view,anon=d-77,channel=app path=\"/p/A-17\",dur=12i 1732406400000000000");
    assert_eq!(view.measurement, "page_view");
    assert_eq!(tags(&view), [("anon", "d-77"), ("channel", "app")]);
    assert_eq!(fields(&view), [("path", s("/p/A-17")), ("dur", FieldValue::I64(12))]);

    for line in [&order, &view] {
        assert!(matches!(line.measurement, Cow::Borrowed(_)));
        for (k, v) in &line.tags {
            assert!(matches!((k, v), (Cow::Borrowed(_), Cow::Borrowed(_))));
        }
        for (k, v) in &line.fields {
            assert!(matches!(k, Cow::Borrowed(_)));
            if let FieldValue::Str(s) = v {
                assert!(matches!(s, Cow::Borrowed(_)));
            }
        }
        assert!(!line.tags.spilled() && !line.fields.spilled());
    }
}

#[test]
fn tags_and_timestamp_are_optional() {
    let line = one("m f=1");
    assert_eq!(line.measurement, "m");
    assert!(line.tags.is_empty());
    assert_eq!(fields(&line), [("f", FieldValue::F64(1.0))]);
    assert_eq!(line.timestamp, None);

    assert_eq!(one("m,t=1 f=1i").timestamp, None);
    assert_eq!(one("m f=1i -1").timestamp, Some(-1));
    assert_eq!(one("m f=1i 0").timestamp, Some(0));
    assert_eq!(one("m f=1i -9223372036854775806").timestamp, Some(-9_223_372_036_854_775_806));
    assert_eq!(one("m f=1i 9223372036854775806").timestamp, Some(9_223_372_036_854_775_806));
}

#[test]
fn measurement_escapes() {
    let cases = [
        (r"cpu\ load f=1", "cpu load"),
        (r"a\,b f=1", "a,b"),
        (r"a\=b f=1", "a=b"),
        (r"a=b f=1", "a=b"),
        (r"a\\b f=1", r"a\b"),
        (r"C:\dir f=1", r"C:\dir"),
        (r#""quoted" f=1"#, r#""quoted""#),
        (r"\\\\\\ f=1", r"\\\"),
        (r"\\\\\\\ x f=1", r"\\\ x"),
    ];
    for (input, want) in cases {
        assert_eq!(one(input).measurement, want, "{input}");
    }
    assert!(matches!(one(r"a\,b f=1").measurement, Cow::Owned(_)));
}

#[test]
fn tag_escapes_as_sent_by_real_clients() {
    // influxdb 5.3.2 (v1 client): doubles backslashes and escapes space, comma and equals.
    let v1 = one(r"orders,path=C:\\dir,region=eu\ west,shop\,id=s\=1 amount=19.99 1704164645123456000");
    assert_eq!(tags(&v1), [("path", r"C:\dir"), ("region", "eu west"), ("shop,id", "s=1")]);
    // influxdb-client 1.50.0 (v2): a trailing backslash sent as `\` + space; InfluxDB stores
    // `C:\dir ` (the `\d` pair is literal, the `\ ` pair an escaped space).
    let v2 = one(r"orders,path=C:\dir\ ,region=eu\ west amount=19.99");
    assert_eq!(tags(&v2), [("path", r"C:\dir "), ("region", "eu west")]);
    // Unescaped `=` in a tag value and quotes anywhere in names are literal.
    let eq = one(r#"m,k=a=b,"q"='v' f=1"#);
    assert_eq!(tags(&eq), [("k", "a=b"), (r#""q""#, "'v'")]);
    // Backslash runs read pairwise.
    let runs = one(r"m,a=\\,b=\\\d,c=x\\\,y f=1");
    assert_eq!(tags(&runs), [("a", r"\"), ("b", r"\\d"), ("c", r"x\,y")]);
}

#[test]
fn field_key_escapes() {
    let line = one(r"m a\ b=1i,c\,d=2i,e\=f=3i,g\\h=4i,i\j=5i");
    let keys: Vec<&str> = line.fields.iter().map(|(k, _)| k.as_ref()).collect();
    assert_eq!(keys, ["a b", "c,d", "e=f", r"g\h", r"i\j"]);
}

#[test]
fn string_fields_unescape_only_quote_and_backslash() {
    let line = one(r#"m note="say \"hi\"\\ok\nline2",p="a\,b\ c\=d",e="",q="'x'",b="\\\\""#);
    assert_eq!(
        fields(&line),
        [("note", s(r#"say "hi"\ok\nline2"#)), ("p", s(r"a\,b\ c\=d")), ("e", s("")), ("q", s("'x'")), ("b", s(r"\\")),]
    );
    // Delimiters inside strings are content.
    let line = one(r#"m s="a,b c=d #e" 5"#);
    assert_eq!(fields(&line), [("s", s("a,b c=d #e"))]);
    assert_eq!(line.timestamp, Some(5));
}

#[test]
fn unicode_anywhere() {
    let line = one("温度,城市=上海,emoji=🦀 值=21.5,标签=\"✓ ok\",ключ=7i 1");
    assert_eq!(line.measurement, "温度");
    assert_eq!(tags(&line), [("城市", "上海"), ("emoji", "🦀")]);
    assert_eq!(fields(&line), [("值", FieldValue::F64(21.5)), ("标签", s("✓ ok")), ("ключ", FieldValue::I64(7))]);
}

#[test]
fn every_value_type_in_a_line() {
    let line = one("m f1=1,f2=1.0,f3=-1.5e-07,f4=1e10,f5=-0.5,i1=3i,i2=-9223372036854775808i,\
         u1=18446744073709551615u,b1=t,b2=FALSE,s1=\"x\"");
    assert_eq!(
        fields(&line),
        [
            ("f1", FieldValue::F64(1.0)),
            ("f2", FieldValue::F64(1.0)),
            ("f3", FieldValue::F64(-1.5e-07)),
            ("f4", FieldValue::F64(1e10)),
            ("f5", FieldValue::F64(-0.5)),
            ("i1", FieldValue::I64(3)),
            ("i2", FieldValue::I64(i64::MIN)),
            ("u1", FieldValue::U64(u64::MAX)),
            ("b1", FieldValue::Bool(true)),
            ("b2", FieldValue::Bool(false)),
            ("s1", s("x")),
        ]
    );
    for (spelling, want) in [
        ("t", true),
        ("T", true),
        ("true", true),
        ("True", true),
        ("TRUE", true),
        ("f", false),
        ("F", false),
        ("false", false),
        ("False", false),
        ("FALSE", false),
    ] {
        let input = format!("m b={spelling}");
        assert_eq!(one(&input).field("b"), Some(&FieldValue::Bool(want)), "{spelling}");
    }
}

#[test]
fn timestamps_are_scaled_by_the_precision() {
    let cases = [
        (Precision::Nanoseconds, "1704164645123456789", 1_704_164_645_123_456_789),
        (Precision::Microseconds, "1704164645123456", 1_704_164_645_123_456_000),
        (Precision::Milliseconds, "1795513863447", 1_795_513_863_447_000_000),
        (Precision::Seconds, "1704164645", 1_704_164_645_000_000_000),
        (Precision::Minutes, "28402744", 1_704_164_640_000_000_000),
        (Precision::Hours, "-2", -7_200_000_000_000),
    ];
    for (precision, text, want) in cases {
        let input = format!("m v=1i {text}");
        let options = ParseOptions { precision, ..ParseOptions::default() };
        let got: Vec<_> = lines(input.as_bytes(), options).map(|p| p.result.map(|l| l.timestamp)).collect();
        assert_eq!(got, [Ok(Some(want))], "{precision}");
        assert_eq!(parse_line(&input, &options).map(|l| l.timestamp), Ok(Some(want)));
    }
}

#[test]
fn whitespace_blank_lines_comments_and_terminators() {
    // The influx CLI sends a body starting with a space; `-import` sends blank lines.
    let input = " orders,region=eu\\ west amount=19.99,items=3i,note=\"hi\" 1704164645\n\
                 \n\
                 \t# a comment after a tab\n\
                 #another\r\n\
                 a f=1   \t\n\
                 b f=2 \t 7 \t \r\n\
                 c    f=3     8\r\n\
                 \r\n\
                 d f=4";
    let got: Vec<_> = parse_all(input)
        .into_iter()
        .map(|p| {
            let line = p.result.expect("valid");
            (p.line_no, line.measurement.into_owned(), line.timestamp)
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "orders".to_owned(), Some(1_704_164_645)),
            (5, "a".to_owned(), None),
            (6, "b".to_owned(), Some(7)),
            (7, "c".to_owned(), Some(8)),
            (9, "d".to_owned(), None),
        ]
    );
}

#[test]
fn raw_is_the_line_without_its_terminator() {
    let input = b"  a f=1\r\nb s=\"x\ny\" 5\r\nc f=3";
    let raws: Vec<_> = lines(input, ParseOptions::default()).map(|p| (p.line_no, p.raw)).collect();
    assert_eq!(raws, [(1, &b"  a f=1"[..]), (2, &b"b s=\"x\ny\" 5"[..]), (4, &b"c f=3"[..])]);
}

#[test]
fn a_string_may_hold_raw_newlines() {
    // Exactly what influxdb-client 1.50.0 sent (client-captures/influx_v2/002).
    let body = "orders,path=C:\\dir\\ ,region=eu\\ west,shop\\,id=s\\=1 amount=19.99,items=3i,\
                note=\"say \\\"hi\\\"\\\\ok\nline2\",paid=true,whole=5 1704164645678901000";
    let parsed = parse_all(body);
    assert_eq!(parsed.len(), 1);
    let line = parsed[0].result.as_ref().expect("valid");
    assert_eq!(line.field("note"), Some(&s("say \"hi\"\\ok\nline2")));
    assert_eq!(line.field("paid"), Some(&FieldValue::Bool(true)));
    assert_eq!(line.field("whole"), Some(&FieldValue::F64(5.0)));
    assert_eq!(line.timestamp, Some(1_704_164_645_678_901_000));

    // Several newlines, an empty physical line, CRLF kept verbatim, and numbering continues
    // after the logical line.
    let input = "m s=\"a\n\nb\r\nc\",n=1i 1\nnext f=1";
    let got = outcomes(input.as_bytes(), ParseOptions::default());
    assert_eq!(got.len(), 2);
    let (no, first) = &got[0];
    assert_eq!(*no, 1);
    let first = first.as_ref().expect("valid");
    assert_eq!(first.field("s"), Some(&s("a\n\nb\r\nc")));
    assert_eq!(first.field("n"), Some(&FieldValue::I64(1)));
    assert_eq!(got[1].0, 5);

    // A backslash before the newline is literal, like any backslash before a non-escape.
    assert_eq!(one("m s=\"a\\\nb\"").field("s"), Some(&s("a\\\nb")));
}

#[test]
fn v1_client_body_parses_exactly() {
    // client-captures/influx_v1/002_POST_write.http
    let body = "orders,path=C:\\\\dir,region=eu\\ west,shop\\,id=s\\=1 amount=19.99,big=1099511627776i,\
                items=3i,note=\"say \\\"hi\\\"\\\\ok\\nline2\",paid=True 1704164645123456000\n\
                orders,region=us amount=5.0 1704164645123456789\n\
                cpu\\ load neg=-1.5e-07,value=0.5 1704164645678901000\n\
                no_time v=1i\n";
    let parsed: Vec<Line<'_>> = parse_all(body).into_iter().map(|p| p.result.expect("valid")).collect();
    assert_eq!(parsed.len(), 4);
    assert_eq!(tags(&parsed[0]), [("path", r"C:\dir"), ("region", "eu west"), ("shop,id", "s=1")]);
    assert_eq!(
        fields(&parsed[0]),
        [
            ("amount", FieldValue::F64(19.99)),
            ("big", FieldValue::I64(1_099_511_627_776)),
            ("items", FieldValue::I64(3)),
            ("note", s(r#"say "hi"\ok\nline2"#)),
            ("paid", FieldValue::Bool(true)),
        ]
    );
    assert_eq!(parsed[1].timestamp, Some(1_704_164_645_123_456_789));
    assert_eq!(parsed[2].measurement, "cpu load");
    assert_eq!(fields(&parsed[2]), [("neg", FieldValue::F64(-1.5e-07)), ("value", FieldValue::F64(0.5))]);
    assert_eq!(parsed[3].timestamp, None);
}

#[test]
fn collectd_datagram_in_milliseconds() {
    let body = "cpu,host=cdp-test-host,instance=0,type=cpu,type_instance=user value=23246i 1795513863447\n\
                memory,host=cdp-test-host,type=memory,type_instance=used value=974385152.000000 1795513862448\n";
    let options = ParseOptions { precision: Precision::Milliseconds, ..ParseOptions::default() };
    let got: Vec<_> = lines(body.as_bytes(), options)
        .map(|p| p.result.map(|l| (l.tags.len(), l.fields[0].1.clone(), l.timestamp)))
        .collect();
    assert_eq!(
        got,
        [
            Ok((4, FieldValue::I64(23246), Some(1_795_513_863_447_000_000))),
            Ok((3, FieldValue::F64(974_385_152.0), Some(1_795_513_862_448_000_000))),
        ]
    );
}

#[test]
fn uint_fields_from_the_v2_client() {
    let line = one("d,a=b cnt=108913123234u,x=1 1704164645");
    assert_eq!(line.field("cnt"), Some(&FieldValue::U64(108_913_123_234)));
    assert_eq!(line.field("x"), Some(&FieldValue::F64(1.0)));
}

#[test]
fn parse_line_and_lines_agree() {
    let input = r#"m,t=a\ b f="x\"y",g=2u -3"#;
    let options = ParseOptions::default();
    assert_eq!(parse_line(input, &options), Ok(one(input)));
}
