//! 账号被占用 (REG-7): ownership claims, their staff decisions, and what an
//! approval does to the account that held the number.

use reqwest::StatusCode;
use serde_json::{json, Value};

use jszg::flows::applicant::Entry;
use jszg::flows::staff::Role;

use crate::helpers::*;

const CLAIM_PASSWORD: &str = "Own#2025pw";
const CLAIMANT_EMAIL: &str = "987654@qq.com";

/// A complete claim for `doc`, with three good photos.
fn claim_form(doc: &str, phone: &str, code: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("doc_type", "resident_id")
        .text("doc_number", doc.to_owned())
        .text("name", "李四")
        .text("validity_period", "20y")
        .text("validity_start", "2020-05-01")
        .text("password", CLAIM_PASSWORD)
        .text("password_confirm", CLAIM_PASSWORD)
        .text("email", CLAIMANT_EMAIL)
        .text("phone", phone.to_owned())
        .text("verification_code", code.to_owned())
        .text("agree_terms", "true")
        .text("reason", "该身份证号码是本人的，我从未注册过，可能是他人误填")
        .part("front", part(jpeg(320, 200, false), "front.jpg"))
        .part("back", part(jpeg(320, 200, false), "back.jpg"))
        .part("handheld", part(jpeg(300, 400, false), "handheld.jpg"))
}

async fn submit(api: &Api, form: reqwest::multipart::Form) -> reqwest::Response {
    api.client.post(api.url("/api/v1/ownership-claims")).multipart(form).send().await.expect("request")
}

async fn pending_claims(staff: &Api) -> Vec<Value> {
    let res = staff.get("/api/v1/staff/reviews?kind=ownership_claim&status=pending").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn decide(staff: &Api, id: &str, body: Value) -> reqwest::Response {
    staff.post(&format!("/api/v1/staff/reviews/{id}/decision"), &body).await
}

/// A holder registered, logged in on `app`'s own client, profile complete
/// and enrolled in certification.
async fn enrolled_holder(app: &TestApp) -> Registered {
    let holder = app.applicant().await;
    let secret = jszg::flows::enrollment::rotate_secret(&app.app, Entry::Certification).await.unwrap();
    let path = format!("/api/v1/service/enrollments/certification/{}", holder.doc);
    let res = app.another_client().client.put(app.url(&path)).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    holder
}

#[tokio::test]
async fn a_rejected_claim_then_an_approved_one_moves_the_number() {
    let app = spawn_app().await;
    let holder = enrolled_holder(&app).await;
    let claimant = app.another_client();
    let claimant_phone = phone();

    // 1. The claim: 201 pending, due in seven working days.
    let code = claimant.sms_code(&claimant_phone).await;
    let res = submit(&claimant, claim_form(&holder.doc, &claimant_phone, &code)).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    let first = body["id"].as_str().unwrap().to_owned();
    let due = jszg_domain::parse_date(body["due_date"].as_str().unwrap()).unwrap();
    assert_eq!(due, app.app.calendar.add_working_days(app.app.clock.today(), 7));
    // Nothing became an account: the claimant's password opens nothing, the holder's still works.
    let other = app.another_client();
    assert_eq!(other.login(&holder.doc, CLAIM_PASSWORD, "certification").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::OK);
    // One pending claim per number.
    let second_phone = phone();
    let second_code = app.sms_code(&second_phone).await;
    let (status, error) = error_code(submit(&app.another_client(), claim_form(&holder.doc, &second_phone, &second_code)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("claim_pending")));

    // 2. Staff see it in its own queue, with both parties and the evidence.
    let staff = app.staff("rev1", Role::Reviewer).await;
    let queue = pending_claims(&staff).await;
    assert_eq!(queue.len(), 1);
    assert_eq!((queue[0]["id"].as_str(), queue[0]["kind"].as_str()), (Some(first.as_str()), Some("ownership_claim")));
    assert_eq!(queue[0]["name"], "李四");
    let identity_queue: Vec<Value> = staff.get("/api/v1/staff/reviews?kind=identity").await.json().await.unwrap();
    assert!(identity_queue.is_empty(), "claims stay out of the identity queue");
    let detail: Value = staff.get(&format!("/api/v1/staff/reviews/{first}")).await.json().await.unwrap();
    assert_eq!(detail["submitted"]["name"], "李四");
    assert_eq!(detail["submitted"]["doc_number"], holder.doc);
    assert!(detail["submitted"].get("password_hash").is_none());
    assert_eq!(detail["profile"]["name"], "张三");
    assert_eq!(detail["claim"]["authority"]["answer"], "mismatch", "the registry does not know 李四 yet");
    assert_eq!(detail["claim"]["holder"]["enrollments"], json!(["certification"]));
    assert_eq!(detail["claim"]["holder"]["realname_status"], "none");
    assert!(!detail["claim"]["holder"]["last_logins"].as_array().unwrap().is_empty());
    assert!(detail["claim"]["holder"]["registered_at"].is_string());
    assert_eq!(detail["photos"], json!(["front", "back", "handheld"]));
    let photo = staff.get(&format!("/api/v1/staff/reviews/{first}/photos/handheld")).await;
    assert_eq!(photo.status(), StatusCode::OK);
    assert!(photo.bytes().await.unwrap().starts_with(&[0xFF, 0xD8]));

    // 3. Rejected: the reason reaches the claimant's phone, the holder keeps the account.
    assert_eq!(decide(&staff, &first, json!({ "approve": false, "reason": "照片不清晰" })).await.status(), StatusCode::OK);
    let sms = claimant.outbox(&claimant_phone).await;
    assert!(sms[0]["body"].as_str().unwrap().contains("不通过原因：照片不清晰"), "{sms:?}");
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::OK);
    assert!(pending_claims(&staff).await.is_empty());
    // The holder's export holds nothing of the claimant's.
    let export = app.get("/api/v1/me/export").await;
    assert_eq!(export.status(), StatusCode::OK);
    let export = export.text().await.unwrap();
    assert!(!export.contains("李四") && !export.contains(&claimant_phone) && !export.contains(CLAIMANT_EMAIL), "{export}");

    // 4. A new claim; the authority now knows the claimant.
    let res = app.post("/api/v1/dev/identities", &json!({ "doc_type": "resident_id", "doc_number": holder.doc, "name": "李四" })).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let code = claimant.sms_code(&claimant_phone).await;
    let res = submit(&claimant, claim_form(&holder.doc, &claimant_phone, &code)).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let second = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let detail: Value = staff.get(&format!("/api/v1/staff/reviews/{second}")).await.json().await.unwrap();
    assert_eq!(detail["claim"]["authority"]["answer"], "match");
    assert_eq!(detail["history"][0]["decision_reason"], "照片不清晰", "the earlier claim is in the history");

    // 5. Approved in one transaction.
    assert_eq!(decide(&staff, &second, json!({ "approve": true })).await.status(), StatusCode::OK);
    // The holder's session ended and the old password is dead.
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    // ...and says what happened to whoever knows it (pages second pass, item 11), while a wrong
    // password still gets the usual answer.
    let (status, error) = error_code(app.another_client().login(&holder.doc, PASSWORD, "certification").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::FORBIDDEN, Some("account_archived")));
    assert!(error["message"].as_str().unwrap().contains("经账号申诉审核，该证件号码属于他人，您注册的该账号已停用"));
    let (status, error) = error_code(app.another_client().login(&holder.doc, "Wrong#Pass2026", "certification").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    // The claimant logs in at once, with the claim's data.
    let res = claimant.login(&holder.doc, CLAIM_PASSWORD, "certification").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let me: Value = claimant.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["name"], "李四");
    assert_eq!(me["phone_masked"], format!("{}*****{}", &claimant_phone[..3], &claimant_phone[9..]));
    assert_eq!(me["email_masked"], "9*****@qq.com");
    assert_eq!(me["realname"]["status"], "none");
    // Notices: the claimant, the holder's phone and email, the business.
    assert!(claimant.outbox(&claimant_phone).await[0]["body"].as_str().unwrap().contains("审核通过"));
    let holder_sms = app.outbox(&holder.phone).await;
    let notice = holder_sms[0]["body"].as_str().unwrap();
    assert!(notice.contains("已停用") && notice.contains("教师资格认定机构"), "{notice}");
    let holder_mail = app.outbox("123456@qq.com").await;
    assert_eq!(holder_mail[0]["channel"], "email");
    assert!(holder_mail[0]["body"].as_str().unwrap().contains("已停用并归档"));
    let events = app.outbox("certification").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["channel"], "business");
    let event: Value = serde_json::from_str(events[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(event["type"], "applicant.account_archived");
    assert_eq!(event["doc_number"], holder.doc);
    assert_eq!(event["name"], "张三");
    assert!(app.outbox("renewal").await.is_empty());
    // The decided claim stays readable with its archived holder.
    let detail: Value = staff.get(&format!("/api/v1/staff/reviews/{second}")).await.json().await.unwrap();
    assert_eq!(detail["status"], "approved");
    assert!(detail["claim"]["holder"]["archived_at"].is_string());
    assert_eq!(detail["claim"]["holder"]["archived_reason"], "ownership_claim");

    // 6. Everything is in the audit log.
    let admin = app.staff("boss", Role::Admin).await;
    let log: Vec<Value> =
        admin.client.get(admin.url("/api/v1/staff/audit")).query(&[("staff", "rev1")]).send().await.unwrap().json().await.unwrap();
    let actions: Vec<&str> = log.iter().filter_map(|e| e["action"].as_str()).collect();
    for expected in ["ownership_claim_rejected", "ownership_claim_approved", "account_archived", "account_created_by_claim", "photo_viewed"]
    {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let by_number: Vec<Value> = admin
        .client
        .get(admin.url("/api/v1/staff/audit"))
        .query(&[("account", holder.doc.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(by_number.iter().any(|e| e["action"] == "account_created_by_claim"), "{by_number:?}");
}

#[tokio::test]
async fn a_free_number_needs_no_claim() {
    let app = spawn_app().await;
    let doc = resident_id(date("1990-01-01"));
    // Told only to someone who proved the phone (API.md "Order of checks").
    let mobile = phone();
    let code = app.sms_code(&mobile).await;
    let (status, error) = error_code(submit(&app, claim_form(&doc, &mobile, &code)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("no_account")));
    // Each such answer uses one of the code's five entries: one code probes at most five numbers.
    for _ in 0..4 {
        let other = resident_id(date("1990-01-01"));
        assert_eq!(error_code(submit(&app, claim_form(&other, &mobile, &code)).await).await.1["code"], "no_account");
    }
    let (status, error) = error_code(submit(&app, claim_form(&doc, &mobile, &code)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_verification_code")));
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"].get("/api/v1/ownership-claims").is_some());
}

#[tokio::test]
async fn registration_and_photo_errors_are_those_of_registration_and_review() {
    let app = spawn_app().await;
    let holder = app.register_as("resident_id").await;
    let mut truncated = jpeg(320, 200, false);
    truncated.truncate(truncated.len() / 2);
    let big = {
        let mut b = jpeg(700, 500, true);
        while b.len() < 191 * 1024 {
            b = jpeg(900, 700, true);
        }
        b
    };
    for (slot, bytes, label) in [
        ("front", png(320, 200), "a PNG"),
        ("back", truncated, "a truncated JPEG"),
        ("handheld", big, "a 191 KB JPEG"),
        ("front", Vec::new(), "none"),
    ] {
        let form = claim_form(&holder.doc, &phone(), "123456").part(slot, part(bytes, "x.jpg"));
        let (status, error) = error_code(submit(&app, form).await).await;
        assert_eq!(
            (status, error["code"].as_str(), error["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_photo"), Some(slot)),
            "{label}"
        );
    }
    let cases = [
        ("doc_number", bad_check(&holder.doc), "invalid_doc_number"),
        ("name", "Li Si".to_owned(), "invalid_name"),
        ("password_confirm", "Other#2025".to_owned(), "password_mismatch"),
        ("password", "password".to_owned(), "weak_password"),
        ("phone", "12345".to_owned(), "invalid_phone"),
        ("agree_terms", "false".to_owned(), "terms_not_accepted"),
        ("reason", " ".to_owned(), "invalid_reason"),
    ];
    for (field, value, code) in cases {
        let form = claim_form(&holder.doc, &phone(), "123456").text(field, value);
        let (status, error) = error_code(submit(&app, form).await).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{field}");
    }
    // A wrong code spends nothing and files nothing.
    let (status, error) = error_code(submit(&app, claim_form(&holder.doc, &phone(), "000000")).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_verification_code")));
    let staff = app.staff("rev1", Role::Reviewer).await;
    assert!(pending_claims(&staff).await.is_empty());
}

/// A JPEG whose headers are sound (it passes the cheap checks) but whose scan names Huffman
/// tables that were never defined, so the real decode refuses it.
fn undecodable_jpeg() -> Vec<u8> {
    let mut bytes = jpeg(320, 200, false);
    let sos = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).expect("SOS");
    // FF DA, length (2), component count (1), then (id, tables) per component.
    bytes[sos + 6] = 0x33;
    bytes
}

/// Claims are throttled per phone and per address, counting the attempts that got past the
/// code and the number (a wrong code is refused first and counts against the code instead).
#[tokio::test]
async fn claims_are_throttled_per_phone() {
    let app = spawn_app().await;
    let holder = app.register_as("resident_id").await;
    let mobile = phone();
    let code = app.sms_code(&mobile).await;
    let bad = || {
        claim_form(&holder.doc, &mobile, &code).part("front", part(undecodable_jpeg(), "front.jpg"))
    };
    for _ in 0..jszg::flows::ownership_claims::PER_PHONE {
        let (_, error) = error_code(submit(&app, bad()).await).await;
        assert_eq!((error["code"].as_str(), error["field"].as_str()), (Some("invalid_photo"), Some("front")), "{error}");
    }
    let res = submit(&app, bad()).await;
    assert!(res.headers().contains_key("retry-after"));
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts")));
    // Another phone from the same address still may, up to its own limit.
    let other = phone();
    let other_code = app.sms_code(&other).await;
    let res = submit(&app, claim_form(&holder.doc, &other, &other_code)).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_reviewers_racing_on_a_claim_one_decision_stands() {
    let app = spawn_app().await;
    let holder = app.applicant().await;
    let claimant = app.another_client();
    let mobile = phone();
    let code = claimant.sms_code(&mobile).await;
    assert_eq!(submit(&claimant, claim_form(&holder.doc, &mobile, &code)).await.status(), StatusCode::CREATED);
    let a = app.staff("rev1", Role::Reviewer).await;
    let b = app.staff("rev2", Role::Reviewer).await;
    let id = pending_claims(&a).await[0]["id"].as_str().unwrap().to_owned();
    let (ra, rb) =
        tokio::join!(decide(&a, &id, json!({ "approve": true })), decide(&b, &id, json!({ "approve": false, "reason": "照片不清晰" })));
    let mut statuses = [ra.status(), rb.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let approved = ra.status() == StatusCode::OK;
    let loser = if approved { rb } else { ra };
    assert_eq!(error_code(loser).await.1["code"], "already_decided");
    // Exactly the winner's outcome happened.
    let holder_live = app.get("/api/v1/me").await.status() == StatusCode::OK;
    assert_eq!(holder_live, !approved);
    let claimant_in = claimant.login(&holder.doc, CLAIM_PASSWORD, "certification").await.status() == StatusCode::OK;
    assert_eq!(claimant_in, approved);
}
