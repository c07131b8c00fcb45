//! Single sign-on with the national algorithms (GM-4): SM2-signed ID and logout tokens for the
//! clients that ask for them.

use super::*;

/// Check an SM2 JWS (API.md "商用密码") against the JWKS; its header and claims.
async fn verify_sm2_token(api: &Api, token: &str) -> (Value, Value) {
    use sm2::dsa::signature::Verifier as _;
    let jwks: Value = api.get("/oidc/jwks").await.json().await.unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&B64URL.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "SM2");
    let key = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header["kid"]).expect("kid in the JWKS");
    assert_eq!(key["crv"], "SM2");
    let mut point = vec![4u8];
    point.extend(B64URL.decode(key["x"].as_str().unwrap()).unwrap());
    point.extend(B64URL.decode(key["y"].as_str().unwrap()).unwrap());
    let verifying = sm2::dsa::VerifyingKey::from_sec1_bytes("1234567812345678", &point).unwrap();
    let signature = B64URL.decode(parts[2]).unwrap();
    assert_eq!(signature.len(), 64, "r ‖ s, 32 bytes each");
    let signature = sm2::dsa::Signature::from_slice(&signature).unwrap();
    let input = format!("{}.{}", parts[0], parts[1]);
    verifying.verify(input.as_bytes(), &signature).expect("a valid SM2 signature");
    let mut forged = input.clone().into_bytes();
    forged.push(b'x');
    assert!(verifying.verify(&forged, &signature).is_err());
    (header, serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap())
}

/// GM-4: a client configured with `id_token_signed_response_alg = "SM2"` gets SM2 ID and
/// logout tokens; its ID token works as `id_token_hint`; the other client keeps RS256.
#[tokio::test]
async fn a_client_that_asks_for_sm2_gets_sm2_id_and_logout_tokens() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.clients = clients();
    if let Some(renewal) = config.clients.renewal.as_mut() {
        renewal.id_token_signed_response_alg = jszg::config::SigningAlg::Sm2;
    }
    config.public_url = Some(ISS.into());
    let app = spawn_with(config, dir).await;
    let secrets = [
        jszg::flows::enrollment::rotate_secret(&app.app, Entry::Certification).await.unwrap(),
        jszg::flows::enrollment::rotate_secret(&app.app, Entry::Renewal).await.unwrap(),
    ];
    let (b, who) = verified(&app).await;
    let p = pkce();
    let code = code_for(&b, "certification", CB, &p).await;
    let tokens: Value = redeem(&app, "certification", &secrets[0], &code, CB, &p.verifier).await.json().await.unwrap();
    verify_id_token(&app, tokens["id_token"].as_str().unwrap(), "certification").await;

    let code = code_for(&b, "renewal", CB2, &p).await;
    let tokens: Value = redeem(&app, "renewal", &secrets[1], &code, CB2, &p.verifier).await.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let (header, claims) = verify_sm2_token(&app, &id_token).await;
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["iss"], ISS);
    assert_eq!(claims["aud"], "renewal");
    assert_eq!(claims["doc_number"], who.doc);

    let q = serde_urlencoded::to_string([("id_token_hint", id_token.as_str()), ("post_logout_redirect_uri", "https://zc.example.cn/")])
        .unwrap();
    let res = b.get(&format!("/oidc/logout?{q}")).await;
    assert_eq!(res.status(), StatusCode::FOUND, "the SM2 hint is accepted");
    assert_eq!(b.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    let messages = app.outbox("https://zc.example.cn/oidc/backchannel").await;
    assert_eq!(messages.len(), 1);
    let (header, logout) = verify_sm2_token(&app, messages[0]["body"].as_str().unwrap()).await;
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(logout["sid"], claims["sid"]);
    let rsa = app.outbox("https://rd.example.cn/oidc/backchannel").await;
    verify_id_token(&app, rsa[0]["body"].as_str().unwrap(), "certification").await;

    // A hint whose SM2 signature was tampered with is not ours: nobody is logged out silently.
    let (input, signature) = id_token.rsplit_once('.').unwrap();
    let mut signature = B64URL.decode(signature).unwrap();
    signature[10] ^= 1;
    let forged = format!("{input}.{}", B64URL.encode(signature));
    let b2 = browser(&app);
    b2.applicant().await;
    let q = serde_urlencoded::to_string([("id_token_hint", forged.as_str()), ("post_logout_redirect_uri", "https://zc.example.cn/")]).unwrap();
    b2.get(&format!("/oidc/logout?{q}")).await;
    assert_eq!(b2.get("/api/v1/me").await.status(), StatusCode::OK, "a forged hint ends nothing");
}
