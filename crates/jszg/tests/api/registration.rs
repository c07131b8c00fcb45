//! 注册 (REG-1..6) and every error code of API.md "Accounts".

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn registered(app: &TestApp) -> (String, String, Value) {
    let doc = resident_id(date("1985-03-15"));
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let res = app.register(&form(&doc, &phone, &code)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    (doc, phone, body)
}

#[tokio::test]
async fn registers_with_an_sms_code() {
    let app = spawn_app().await;
    let (doc, _, body) = registered(&app).await;
    let account = &body["account"];
    assert_eq!(account["doc_type"], "resident_id");
    assert_eq!(account["doc_number_masked"], format!("{}*****{}", &doc[..2], &doc[16..]));
    assert_eq!(account["name"], "张三");
    assert_eq!(account["validity"], json!({ "period": "20y", "start": "2020-05-01", "end": "2040-05-01" }));
}

/// Each invalid field gets its own code, in the order of the form.
#[tokio::test]
async fn every_field_error_has_its_code() {
    let app = spawn_app().await;
    let doc = resident_id(date("1985-03-15"));
    let phone = phone();
    let base = form(&doc, &phone, "123456");
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("doc_type", json!("passport"), "invalid_doc_number", "doc_type"),
        ("doc_number", json!(bad_check(&doc)), "invalid_doc_number", "doc_number"),
        ("doc_number", json!("11010519850315"), "invalid_doc_number", "doc_number"),
        ("name", json!("张三3"), "invalid_name", "name"),
        ("name", json!(""), "invalid_name", "name"),
        ("validity", json!({ "period": "30y", "start": "2020-05-01" }), "invalid_validity", "validity.period"),
        ("validity", json!({ "period": "20y", "start": "2020-05" }), "invalid_validity", "validity.start"),
        ("validity", json!({ "period": "5y", "start": "2010-01-01" }), "document_expired", "validity.start"),
        ("password", json!("abcdefgh"), "weak_password", "password"),
        ("password", json!("P@ssw0rd"), "weak_password", "password"),
        ("password_confirm", json!("Abc#2024y"), "password_mismatch", "password_confirm"),
        ("email", json!("abc@qq.com"), "invalid_email", "email"),
        ("email", json!("not-an-email"), "invalid_email", "email"),
        ("phone", json!("12345"), "invalid_phone", "phone"),
        ("verification_code", json!("12a"), "invalid_verification_code", "verification_code"),
        ("agree_terms", json!(false), "terms_not_accepted", "agree_terms"),
    ];
    for (field, value, code, reported) in cases {
        let mut body = base.clone();
        body[field] = value.clone();
        let (status, error) = error_code(app.register(&body).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
        assert_eq!(error["code"], code, "{field}={value}: {error}");
        assert_eq!(error["field"], reported, "{field}={value}");
        let message = error["message"].as_str().unwrap();
        assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "Chinese message: {message}");
    }
}

#[tokio::test]
async fn a_wrong_code_is_refused_and_loses_nothing() {
    let app = spawn_app().await;
    let doc = resident_id(date("1985-03-15"));
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, error) = error_code(app.register(&form(&doc, &phone, wrong)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_verification_code")));
    // The code sent to another phone does not work for this one.
    let other = crate::helpers::phone();
    let (_, error) = error_code(app.register(&form(&doc, &other, &code)).await).await;
    assert_eq!(error["code"], "invalid_verification_code");
    // The right code still works after the wrong tries.
    assert_eq!(app.register(&form(&doc, &phone, &code)).await.status(), StatusCode::CREATED);
    // And only once.
    let (_, error) = error_code(app.register(&form(&resident_id(date("1985-03-15")), &phone, &code)).await).await;
    assert_eq!(error["code"], "invalid_verification_code");
}

#[tokio::test]
async fn five_wrong_codes_kill_the_code() {
    let app = spawn_app().await;
    let doc = resident_id(date("1985-03-15"));
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    // Each wrong entry says what is true: wrong, tries left, still valid.
    for left in [4, 3, 2, 1] {
        let (status, error) = error_code(app.register(&form(&doc, &phone, wrong)).await).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_verification_code")));
        assert_eq!(error["field"], "verification_code");
        assert_eq!(error["attempts_left"], left);
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("验证码不正确") && message.contains(&format!("还可输入{left}次")) && message.contains("5分钟内有效"),
            "{message}"
        );
        assert!(!message.contains("请重新获取"), "the code still works: {message}");
        let expires_in = error["expires_in"].as_i64().unwrap();
        assert!(expires_in > 0 && expires_in <= 300);
    }
    let (_, error) = error_code(app.register(&form(&doc, &phone, wrong)).await).await;
    assert_eq!(error["attempts_left"], 0);
    assert!(error["message"].as_str().unwrap().contains("错误次数过多"), "{}", error["message"]);
    let (_, error) = error_code(app.register(&form(&doc, &phone, &code)).await).await;
    assert_eq!(error["code"], "invalid_verification_code");
    assert!(error["message"].as_str().unwrap().contains("请重新获取验证码"));
}

#[tokio::test]
async fn codes_expire_after_five_minutes() {
    let app = spawn_app().await;
    let doc = resident_id(date("1985-03-15"));
    let phone = phone();
    let code = app.sms_code(&phone).await;
    app.advance_clock(301).await;
    let (_, error) = error_code(app.register(&form(&doc, &phone, &code)).await).await;
    assert_eq!(error["code"], "invalid_verification_code");
    assert_eq!(error["attempts_left"], 0);
    assert!(error["message"].as_str().unwrap().contains("已失效"), "{}", error["message"]);
}

#[tokio::test]
async fn a_new_code_replaces_the_old_one() {
    let app = spawn_app().await;
    let doc = resident_id(date("1985-03-15"));
    let phone = phone();
    let first = app.sms_code(&phone).await;
    let mut second = app.sms_code(&phone).await;
    while second == first {
        second = app.sms_code(&phone).await; // one in a million
    }
    let (_, error) = error_code(app.register(&form(&doc, &phone, &first)).await).await;
    assert_eq!(error["code"], "invalid_verification_code");
    assert_eq!(app.register(&form(&doc, &phone, &second)).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_number_is_registered_once() {
    let app = spawn_app().await;
    let (doc, _, _) = registered(&app).await;
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let (status, error) = error_code(app.register(&form(&doc, &phone, &code)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("account_exists")));
    // Typed with a lower-case x or full-width digits it is the same number.
    let fullwidth: String = doc.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
    let (status, error) = error_code(app.register(&form(&fullwidth, &phone, &code)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("account_exists")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_registrations_of_one_number_make_one_account() {
    let app = spawn_app().await;
    let doc = resident_id(date("1985-03-15"));
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let body = form(&doc, &phone, &code);
    let sibling = spawn_sibling(&app).await;
    let requests = (0..8).map(|i| {
        let target = if i % 2 == 0 { &app } else { &sibling };
        target.register(&body)
    });
    let responses = futures::future::join_all(requests).await;
    let mut created = 0;
    let mut refused = 0;
    for res in responses {
        match res.status() {
            StatusCode::CREATED => created += 1,
            // The losers learn the number is taken, or, once the winner spent the code, that
            // the code is gone: never a second account.
            StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
                let (_, error) = error_code(res).await;
                assert!(["account_exists", "invalid_verification_code"].contains(&error["code"].as_str().unwrap_or("")), "{error}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", res.text().await.unwrap_or_default()),
        }
    }
    assert_eq!((created, refused), (1, 7));
}

#[tokio::test]
async fn validity_warning_must_be_confirmed() {
    let app = spawn_app().await;
    // Born 1985: 35 at the start date, so 20y is expected, not 10y.
    let doc = resident_id(date("1985-03-15"));
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let mut body = form(&doc, &phone, &code);
    body["validity"] = json!({ "period": "10y", "start": "2020-05-01" });
    let (status, error) = error_code(app.register(&body).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("validity_warning")));
    assert_eq!(error["expected_period"], "20y");
    body["confirm_validity_warning"] = json!(true);
    let res = app.register(&body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["account"]["validity"]["end"], "2030-05-01");
}

#[tokio::test]
async fn long_validity_has_no_end() {
    let app = spawn_app().await;
    let doc = resident_id(date("1960-01-02"));
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let mut body = form(&doc, &phone, &code);
    body["validity"] = json!({ "period": "long", "start": "2015-02-28" });
    let res = app.register(&body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["account"]["validity"]["end"], Value::Null);
}

#[tokio::test]
async fn permits_register_with_their_own_rules() {
    let app = spawn_app().await;
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let mut body = form("H1234567801", &phone, &code);
    body["doc_type"] = json!("hk_mo_permit");
    body["name"] = json!("陈 Tai Man");
    body["validity"] = json!({ "period": "10y", "start": "2020-05-01" });
    let res = app.register(&body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["account"]["doc_number_masked"], "H1*****78");
    assert!(created["notice"].as_str().is_some(), "the dropped renewal count is announced");
    // 20y is not a period of that permit.
    body["doc_number"] = json!("M87654321");
    body["validity"] = json!({ "period": "20y", "start": "2020-05-01" });
    let (_, error) = error_code(app.register(&body).await).await;
    assert_eq!(error["code"], "invalid_validity");
}

#[tokio::test]
async fn rare_characters_round_trip_byte_exact() {
    let app = spawn_app().await;
    // Ext B 𠀀, Ext C 𪜀, Ext D 𫝀, Ext E 𫠠, Ext F 𬺰, Ext G 𰀀, Ext H 𱍐, Ext I 𮯰, compatibility 丽 (U+2F800).
    let name = "𠀀𪜀𫝀𫠠·𬺰𰀀𱍐𮯰丽";
    let doc = resident_id(date("1985-03-15"));
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let mut body = form(&doc, &phone, &code);
    body["name"] = json!(name);
    let res = app.register(&body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["account"]["name"], name);
    let stored: String = jszg::db_run!(&app.app.db, pool => sqlx::query_scalar("SELECT name FROM accounts").fetch_one(pool).await.unwrap());
    assert_eq!(stored.as_bytes(), name.as_bytes());
}

#[tokio::test]
async fn look_alike_dots_are_stored_as_the_middle_dot() {
    let app = spawn_app().await;
    let doc = resident_id(date("1985-03-15"));
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let mut body = form(&doc, &phone, &code);
    body["name"] = json!("买买提•艾力");
    let created: Value = app.register(&body).await.json().await.unwrap();
    assert_eq!(created["account"]["name"], "买买提·艾力");
}

#[tokio::test]
async fn unreadable_bodies_get_a_json_error() {
    let app = spawn_app().await;
    let res =
        app.client.post(app.url("/api/v1/accounts")).body("not json").header("content-type", "application/json").send().await.unwrap();
    let (status, error) = error_code(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["code"], "invalid_request");
    // Wrong JSON types land on the field's own code.
    let mut body = form(&resident_id(date("1985-03-15")), &phone(), "123456");
    body["name"] = json!(42);
    let (_, error) = error_code(app.register(&body).await).await;
    assert_eq!(error["code"], "invalid_name");
}

#[tokio::test]
async fn live_checks_use_the_server_rules() {
    let app = spawn_app().await;
    let check = |body: Value| {
        let app = &app;
        async move { app.post("/api/v1/accounts/checks", &body).await.json::<Value>().await.unwrap() }
    };
    let ok = check(json!({ "field": "doc_number", "doc_type": "resident_id", "doc_number": resident_id(date("1990-01-01")) })).await;
    assert_eq!(ok["ok"], true);
    let bad =
        check(json!({ "field": "doc_number", "doc_type": "resident_id", "doc_number": bad_check(&resident_id(date("1990-01-01"))) })).await;
    assert_eq!(bad["ok"], false);
    assert!(bad["message"].as_str().unwrap().contains("校验"));
    let qq = check(json!({ "field": "email", "email": "alias@qq.com" })).await;
    assert_eq!(qq["ok"], false);
    let warn = check(json!({ "field": "validity", "doc_type": "resident_id", "doc_number": resident_id(date("1985-03-15")),
        "validity": { "period": "5y", "start": "2024-01-01" } }))
    .await;
    assert_eq!(warn["ok"], true);
    assert!(warn["notice"].as_str().unwrap().contains("20年"));
    // Pages second pass, item 7: the value as it will be stored and checked, for the page to
    // show where it asks for confirmation; item 2: the permit number without its count.
    let name = check(json!({ "field": "name", "doc_type": "resident_id", "name": "阿依古丽•买买提" })).await;
    assert_eq!(name["value"], "阿依古丽·买买提");
    let permit = check(json!({ "field": "doc_number", "doc_type": "hk_mo_permit", "doc_number": "H1234567801" })).await;
    assert_eq!((permit["ok"].clone(), permit["value"].clone()), (json!(true), json!("H12345678")));
    assert!(permit["notice"].as_str().unwrap().contains("已自动去掉"));
}
