//! 完善个人信息 and the personal centre (PROF-1..4).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn put_profile(api: &Api, body: Value) -> reqwest::Response {
    api.client.put(api.url("/api/v1/me/profile")).json(&body).send().await.unwrap()
}

async fn me(api: &Api) -> Value {
    let res = api.get("/api/v1/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_resident_id_adds_only_the_ethnicity() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    app.login(&who.doc, PASSWORD, "certification").await;
    let before = me(&app).await;
    assert_eq!(before["profile_complete"], false);
    assert_eq!(before["profile_fields"], json!(["ethnicity"]));
    // Derived from the number, shown before anything is entered.
    assert_eq!(before["birth_date"], "1985-03-15");
    let expected_sex = if (who.doc.as_bytes()[16] - b'0') % 2 == 1 { "male" } else { "female" };
    assert_eq!(before["sex"], expected_sex);
    assert_eq!(before["email_masked"], "1*****@qq.com");
    assert_eq!(before["phone_masked"], format!("{}*****{}", &who.phone[..3], &who.phone[9..]));
    assert_eq!(before["doc_number_masked"], format!("{}*****{}", &who.doc[..2], &who.doc[16..]));
    assert_eq!(before["realname"]["status"], "none");
    assert_eq!(before["realname"]["remaining_today"], 3);

    let (status, error) = error_code(put_profile(&app, json!({ "ethnicity": "99" })).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_ethnicity")));
    // A code sent as a number, or an object where text belongs, is refused, not guessed at.
    for body in [json!({ "ethnicity": 11 }), json!({ "ethnicity": "01", "permit_number": {} })] {
        let (status, error) = error_code(put_profile(&app, body.clone()).await).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request")), "{body}");
    }
    assert_eq!(me(&app).await["profile_complete"], false, "nothing was saved");
    // The number and type cannot be changed through the profile.
    let res =
        put_profile(&app, json!({ "ethnicity": "03", "doc_number": "110105199001010011", "doc_type": "tw_permit", "sex": "female" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let after: Value = res.json().await.unwrap();
    assert_eq!(after["profile_complete"], true);
    assert_eq!(after["ethnicity"], "03");
    assert_eq!(after["ethnicity_name"], "回族");
    assert_eq!(after["sex"], expected_sex, "derived, not typed");
    assert_eq!(after["doc_type"], "resident_id");
    assert_eq!(after["doc_number_masked"], before["doc_number_masked"]);
}

#[tokio::test]
async fn permits_add_sex_birth_ethnicity_and_the_local_number() {
    let app = spawn_app().await;
    for (doc_type, local) in [("hk_mo_permit", "A123456(7)"), ("tw_permit", "A123456789")] {
        let api = app.another_client();
        let who = api.register_as(doc_type).await;
        api.login(&who.doc, PASSWORD, "renewal").await;
        assert_eq!(me(&api).await["profile_fields"], json!(["sex", "birth_date", "ethnicity", "local_id_number"]));
        let (_, error) = error_code(put_profile(&api, json!({ "ethnicity": "01" })).await).await;
        assert_eq!(error["code"], "invalid_sex", "{doc_type}");
        let (_, error) =
            error_code(put_profile(&api, json!({ "ethnicity": "01", "sex": "female", "birth_date": "2999-01-01" })).await).await;
        assert_eq!(error["code"], "invalid_birth_date");
        let (_, error) = error_code(
            put_profile(&api, json!({ "ethnicity": "01", "sex": "female", "birth_date": "1990-02-03", "local_id_number": "!" })).await,
        )
        .await;
        assert_eq!(error["code"], "invalid_local_id_number");
        let res =
            put_profile(&api, json!({ "ethnicity": "01", "sex": "female", "birth_date": "1990-02-03", "local_id_number": local })).await;
        assert_eq!(res.status(), StatusCode::OK, "{doc_type}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["profile_complete"], true);
        assert_eq!((body["sex"].as_str(), body["birth_date"].as_str()), (Some("female"), Some("1990-02-03")));
        assert!(body["local_id_number_masked"].as_str().unwrap().contains("*****"));
        let login: Value = api.another_client().login(&who.doc, PASSWORD, "renewal").await.json().await.unwrap();
        assert_eq!(login["next"], "realname");
    }
}

#[tokio::test]
async fn residence_permits_also_add_the_permit_number_and_show_the_region() {
    let app = spawn_app().await;
    let who = app.register_as("hmt_residence").await;
    app.login(&who.doc, PASSWORD, "certification").await;
    let before = me(&app).await;
    assert_eq!(before["region"], "香港");
    assert_eq!(before["profile_fields"], json!(["ethnicity", "local_id_number", "permit_number"]));
    assert_eq!(before["birth_date"], "1985-03-15");
    let (_, error) = error_code(put_profile(&app, json!({ "ethnicity": "01", "local_id_number": "A1234567" })).await).await;
    assert_eq!(error["code"], "invalid_permit_number");
    // A Hong Kong resident's permit is an H/M number, not a Taiwan one.
    let (_, error) =
        error_code(put_profile(&app, json!({ "ethnicity": "01", "local_id_number": "A1234567", "permit_number": "12345678" })).await).await;
    assert_eq!(error["code"], "invalid_permit_number");
    let res = put_profile(&app, json!({ "ethnicity": "01", "local_id_number": "A1234567", "permit_number": "h12345678" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["profile_complete"], true);
    assert_eq!(body["permit_number_masked"], "H1*****78");
}

#[tokio::test]
async fn the_phone_changes_with_a_code_sent_to_the_new_number() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    app.login(&who.doc, PASSWORD, "certification").await;
    let new_phone = phone();
    // A register code is not a change_phone code.
    let register_code = app.sms_code(&new_phone).await;
    let (_, error) =
        error_code(app.post("/api/v1/me/phone", &json!({ "phone": new_phone, "verification_code": register_code })).await).await;
    assert_eq!(error["code"], "invalid_verification_code");
    let res = app.request_sms(&new_phone, "change_phone").await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let code = app.last_code(&new_phone).await;
    let (_, error) = error_code(app.post("/api/v1/me/phone", &json!({ "phone": "123", "verification_code": code })).await).await;
    assert_eq!(error["code"], "invalid_phone");
    let res = app.post("/api/v1/me/phone", &json!({ "phone": new_phone, "verification_code": code })).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app).await["phone_masked"], format!("{}*****{}", &new_phone[..3], &new_phone[9..]));
    // Pages second pass, item 11: the old phone and the email hear of it.
    let masked = format!("{}*****{}", &new_phone[..3], &new_phone[9..]);
    let old = app.outbox(&who.phone).await;
    assert!(old.iter().any(|m| m["body"].as_str().unwrap_or("").contains(&format!("将绑定的手机号码修改为{masked}"))), "{old:?}");
    let mail = app.outbox("123456@qq.com").await;
    assert!(mail.iter().any(|m| m["body"].as_str().unwrap_or("").contains("如非本人操作，请立即使用“忘记密码”重置密码")), "{mail:?}");
}

#[tokio::test]
async fn the_email_changes_with_a_code_sent_to_the_new_address() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    app.login(&who.doc, PASSWORD, "certification").await;
    let token = app.captcha_token("email").await;
    let res = app
        .post(
            "/api/v1/verification-codes",
            &json!({ "channel": "email", "email": "55555@qq.com", "purpose": "change_email", "captcha_token": token }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let code = app.last_code("55555@qq.com").await;
    let res = app.post("/api/v1/me/email", &json!({ "email": "55555@qq.com", "verification_code": code })).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app).await["email_masked"], "5*****@qq.com");
    // The old address (and the phone) hear of it; the new one got only its code.
    let old = app.outbox("123456@qq.com").await;
    assert!(old.iter().any(|m| m["body"].as_str().unwrap_or("").contains("将绑定的邮箱修改为5*****@qq.com")), "{old:?}");
    assert!(app.outbox(&who.phone).await.iter().any(|m| m["body"].as_str().unwrap_or("").contains("将绑定的邮箱修改为")));
    // Spent.
    let (_, error) = error_code(app.post("/api/v1/me/email", &json!({ "email": "55555@qq.com", "verification_code": code })).await).await;
    assert_eq!(error["code"], "invalid_verification_code");
}

#[tokio::test]
async fn personal_centre_pages_need_a_session() {
    let app = spawn_app().await;
    let res = app.get("/me/profile").await;
    assert!(res.url().path().starts_with("/login/"));
    let who = app.register_as("resident_id").await;
    app.login(&who.doc, PASSWORD, "certification").await;
    let html = app.get("/me/profile").await.text().await.unwrap();
    for text in ["完善个人信息", "修改个人信息", "实名认证", "修改密码", "修改手机号码", "民族", "汉族"] {
        assert!(html.contains(text), "{text}");
    }
    for (path, title) in [("/login/certification", "认定登录入口"), ("/login/renewal", "定期注册登录入口")] {
        let html = app.get(path).await.text().await.unwrap();
        for text in [title, "返回主页", "忘记密码", "注册", "教育部账号登录", "向右拖动滑块填充拼图"] {
            assert!(html.contains(text) || text == "向右拖动滑块填充拼图", "{path}: {text}");
        }
        assert!(html.contains("toggle-password"));
    }
}
