//! The contract's own rules, checked without a server or a client.

use serde_json::json;

use super::*;

fn parse(status: u16, body: &str) -> std::result::Result<Segment, Failure> {
    parse_allocate_answer(status, body.as_bytes())
}

fn refused(status: u16, body: &str) -> (ErrorCode, String) {
    match parse(status, body) {
        Err(Failure::Refused { code, msg }) => (code, msg),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_request_is_written_with_the_field_names() {
    let key = SegmentKey::new("Shop", "orders", "t_order", "id").unwrap();
    let request = serde_json::to_value(AllocateRequest::new(&key, 42)).unwrap();
    let mut names: Vec<&str> = request
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    let mut expected = [
        field::SYSTEM_CODE,
        field::DB_NAME,
        field::TABLE_NAME,
        field::FIELD_NAME,
        field::SEGMENT_COUNT,
    ];
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert_eq!(request[field::SYSTEM_CODE], "shop", "keys are lower-cased");
    assert_eq!(request[field::SEGMENT_COUNT], 42);
}

#[test]
fn the_request_names_its_key_and_defaults_its_count() {
    let request: AllocateRequest = serde_json::from_value(json!({
        "system_code": "s", "db_name": "d", "table_name": "t", "field_name": "f"
    }))
    .unwrap();
    assert_eq!(request.segment_count, DEFAULT_SEGMENT_COUNT);
    assert_eq!(request.key().unwrap().as_str(), "s:d:t:f");
    let long = AllocateRequest {
        table_name: "x".repeat(MAX_PART_CHARS + 1),
        ..request
    };
    assert!(long.table_name.chars().count() < MAX_FIELD_CHARS);
    assert!(matches!(long.key(), Err(crate::Error::InvalidKey { .. })));
}

#[test]
fn codes_are_numbers_both_ways() {
    for (number, code) in [
        (0, ErrorCode::Ok),
        (400, ErrorCode::BadRequest),
        (401, ErrorCode::Unauthorized),
        (404, ErrorCode::NotFound),
        (409, ErrorCode::Conflict),
        (500, ErrorCode::Internal),
        (503, ErrorCode::Unavailable),
        (408, ErrorCode::Other(408)),
    ] {
        assert_eq!(ErrorCode::from_code(number), code);
        assert_eq!(code.code(), number);
        assert_eq!(serde_json::to_value(code).unwrap(), json!(number));
        assert_eq!(code.to_string(), number.to_string());
    }
    assert_eq!(ErrorCode::from(404u16), ErrorCode::NotFound);
    assert!(ErrorCode::Internal.is_server_error() && !ErrorCode::Other(408).is_server_error());
}

#[test]
fn envelopes_are_written_as_the_old_service_wrote_them() {
    let ok = serde_json::to_string(&Envelope::ok("done", json!({"start": 1}))).unwrap();
    assert_eq!(
        ok,
        r#"{"code":0,"msg":"done","data":{"start":1},"traceId":null}"#
    );
    let fail = serde_json::to_string(&Envelope::<Value>::fail(ErrorCode::NotFound, "no")).unwrap();
    assert_eq!(
        fail,
        r#"{"code":404,"msg":"no","data":null,"traceId":null}"#
    );
    let bare = serde_json::to_string(&Envelope::<Value>::bare(ErrorCode::Internal, "x")).unwrap();
    assert_eq!(bare, r#"{"code":500,"msg":"x","data":null}"#);
}

#[test]
fn only_integers_past_2_53_become_strings() {
    let mut v = json!({"a": 9007199254740991i64, "b": 9007199254740992i64, "c": [-9007199254740992i64, 1, 1.5],
                       "d": {"end": i64::MAX}, "e": u64::MAX});
    stringify_big_integers(&mut v);
    assert_eq!(
        v,
        json!({"a": 9007199254740991i64, "b": "9007199254740992", "c": ["-9007199254740992", 1, 1.5],
               "d": {"end": "9223372036854775807"}, "e": "18446744073709551615"})
    );
}

#[test]
fn integers_are_read_from_numbers_and_strings() {
    let mut v = json!([1, -MAX_SAFE_INTEGER - 1, i64::MAX, i64::MIN]);
    stringify_big_integers(&mut v);
    let read: Vec<_> = v.as_array().unwrap().iter().map(read_integer).collect();
    assert_eq!(
        read,
        [
            Some(1),
            Some(-MAX_SAFE_INTEGER - 1),
            Some(i64::MAX),
            Some(i64::MIN)
        ]
    );
    for bad in [
        json!(1.5),
        json!("x"),
        json!("9223372036854775808"),
        json!(u64::MAX),
        json!(null),
    ] {
        assert_eq!(read_integer(&bad), None, "{bad}");
    }
}

#[test]
fn success_with_numbers() {
    let body = r#"{"code":0,"msg":"Allocated segment: 1 to 10000","data":{"start":1,"end":10000},"traceId":null}"#;
    assert_eq!(
        parse(200, body).unwrap(),
        Segment {
            start: 1,
            end: 10000
        }
    );
}

#[test]
fn success_with_big_integers_as_strings() {
    let body = r#"{"code":0,"msg":"Allocated segment: 9007199254740992 to 9007199254741000","data":{"start":"9007199254740992","end":"9007199254741000"},"traceId":null}"#;
    assert_eq!(
        parse(200, body).unwrap(),
        Segment {
            start: 9_007_199_254_740_992,
            end: 9_007_199_254_741_000
        }
    );
    // Mixed: a start inside ±2^53 stays a number, an end beyond it is a string.
    let body = r#"{"code":0,"msg":"","data":{"start":9007199254740990,"end":"9223372036854775807"},"traceId":null}"#;
    assert_eq!(parse(200, body).unwrap().end, i64::MAX);
}

#[test]
fn values_beyond_i64_and_fractions_are_refused() {
    for body in [
        r#"{"code":0,"msg":"","data":{"start":1,"end":"9223372036854775808"},"traceId":null}"#,
        r#"{"code":0,"msg":"","data":{"start":1,"end":18446744073709551615},"traceId":null}"#,
        r#"{"code":0,"msg":"","data":{"start":1.5,"end":10},"traceId":null}"#,
        r#"{"code":0,"msg":"","data":{"start":"x","end":10},"traceId":null}"#,
        r#"{"code":0,"msg":"","data":{"start":10,"end":9},"traceId":null}"#,
        r#"{"code":0,"msg":"","data":null,"traceId":null}"#,
        r#"{"code":0,"msg":"","data":{"start":1},"traceId":null}"#,
    ] {
        assert!(
            matches!(parse(200, body), Err(Failure::Invalid { .. })),
            "{body} was accepted"
        );
    }
}

#[test]
fn handled_failures_keep_their_code_and_message() {
    let (code, msg) = refused(
        200,
        r#"{"code":404,"msg":"Database configuration not found for system_code: shop, db_name: orders. Please add database configuration first.","data":null,"traceId":null}"#,
    );
    assert_eq!(code, ErrorCode::NotFound);
    assert!(msg.starts_with("Database configuration not found"), "{msg}");

    let (code, _) = refused(
        200,
        r#"{"code":503,"msg":"Failed to initialize segment cache for key: shop:orders:t_order:id. System is busy, please retry later.","data":null,"traceId":null}"#,
    );
    assert_eq!(code, ErrorCode::Unavailable);

    let (code, _) = refused(
        200,
        r#"{"code":400,"msg":"allocating 10 IDs for key s:d:t:f would overflow","data":null,"traceId":null}"#,
    );
    assert_eq!(code, ErrorCode::BadRequest);

    let (code, msg) = refused(
        200,
        r#"{"code":500,"msg":"Failed to allocate segment: boom","data":null,"traceId":null}"#,
    );
    assert_eq!(
        (code, msg.as_str()),
        (ErrorCode::Internal, "Failed to allocate segment: boom")
    );

    let (code, _) = refused(
        200,
        r#"{"code":409,"msg":"Configuration already exists","data":null,"traceId":null}"#,
    );
    assert_eq!(code, ErrorCode::Conflict);

    let (code, msg) = refused(200, r#"{"code":418,"msg":null}"#);
    assert_eq!((code, msg.as_str()), (ErrorCode::Other(418), ""));
}

#[test]
fn unprocessable_body_keeps_the_detail() {
    let body = r#"{"detail":[{"type":"missing","loc":["body","table_name"],"msg":"Field required","input":{}}]}"#;
    match parse(422, body).unwrap_err() {
        Failure::Unprocessable { detail } => assert!(detail.contains("table_name"), "{detail}"),
        other => panic!("{other:?}"),
    }
    match parse(422, "plain text").unwrap_err() {
        Failure::Unprocessable { detail } => assert_eq!(detail, "plain text"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn http_500_with_envelope_is_an_internal_failure() {
    let (code, msg) = refused(
        500,
        r#"{"code":500,"msg":"Internal Server Error","data":null}"#,
    );
    assert_eq!(
        (code, msg.as_str()),
        (ErrorCode::Internal, "Internal Server Error")
    );
    assert!(matches!(
        parse(500, "<html>oops</html>"),
        Err(Failure::HttpStatus { status: 500, .. })
    ));
}

#[test]
fn other_statuses_and_non_json_bodies() {
    let err = parse(404, r#"{"detail":"Not Found"}"#).unwrap_err();
    assert!(
        matches!(err, Failure::HttpStatus { status: 404, .. }),
        "{err:?}"
    );
    let err = parse(502, "<html>Bad Gateway</html>").unwrap_err();
    assert!(matches!(err, Failure::HttpStatus { status: 502, .. }));
    let err = parse(200, "<html>captive portal</html>").unwrap_err();
    assert!(matches!(err, Failure::Invalid { .. }));
    let err = parse(200, r#"{"status":"ok"}"#).unwrap_err();
    assert!(matches!(err, Failure::Invalid { .. }));
    let err = parse(200, r#"{"code":1.5}"#).unwrap_err();
    assert!(matches!(err, Failure::Invalid { .. }));
}

#[test]
fn long_bodies_are_cut_in_messages() {
    let body = "x".repeat(10_000);
    match parse(502, &body).unwrap_err() {
        Failure::HttpStatus { body, .. } => assert!(body.chars().count() <= QUOTE_CHARS + 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn code_as_string_is_read() {
    let body = r#"{"code":"0","msg":"","data":{"start":"5","end":"6"},"traceId":null}"#;
    assert_eq!(parse(200, body).unwrap(), Segment { start: 5, end: 6 });
}
