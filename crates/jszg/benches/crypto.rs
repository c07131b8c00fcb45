//! GM-1..4 costs (docs/crypto.md section 4): each primitive under the `gm` suite beside its
//! `intl` counterpart, SM2 beside RS256 signing, and what chaining adds to an audit write.
//!
//!     cargo bench -p jszg --bench crypto

// A benchmark that cannot set itself up has nothing to report: stopping there is right.
#![allow(clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use sm2::dsa::signature::Signer;

use jszg::config::DatabaseUrl;
use jszg::store::{audit, Db};
use jszg::vault::{Field, Holder, KeyMaterial, Vault};

const DOC: &str = "11010519900307123X";

fn vaults() -> [(&'static str, Vault); 2] {
    [
        ("gm", Vault::new(&KeyMaterial::generate()).expect("gm vault")),
        ("intl", Vault::new(&KeyMaterial::generate_intl()).expect("intl vault")),
    ]
}

fn primitives(c: &mut Criterion) {
    let mut group = c.benchmark_group("primitives");
    for (suite, vault) in vaults() {
        let sealed = vault.seal(Field::DocNumber, DOC.as_bytes());
        let photo = vec![0x5a_u8; 200 * 1024];
        let sealed_photo = vault.seal(Field::Photo, &photo);
        group.bench_function(format!("seal doc number/{suite}"), |b| b.iter(|| vault.seal(Field::DocNumber, black_box(DOC.as_bytes()))));
        group.bench_function(format!("open doc number/{suite}"), |b| b.iter(|| vault.open(Field::DocNumber, black_box(&sealed))));
        group.bench_function(format!("open 200 KB photo/{suite}"), |b| b.iter(|| vault.open(Field::Photo, black_box(&sealed_photo))));
        group.bench_function(format!("lookup hash/{suite}"), |b| b.iter(|| vault.lookup(Field::DocNumber, black_box(DOC))));
    }
    let gm = Vault::new(&KeyMaterial::generate()).expect("gm vault");
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
    group.bench_function("password tag (HMAC-SM3)", |b| b.iter(|| gm.password_tag(Holder::Account, 42, black_box(hash))));
    group.bench_function("audit link (HMAC-SM3)", |b| b.iter(|| gm.audit_mac(&[b"link", black_box(b"entry 1 applicant login_ok")])));
    group.finish();
}

fn signatures(c: &mut Criterion) {
    let mut group = c.benchmark_group("id token signature");
    let input = "eyJhbGciOiJTTTIiLCJraWQiOiJrIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL3Nzby5leGFtcGxlLmNuIiwic3ViIjoiYWJjIn0";
    let secret = sm2::SecretKey::random(&mut rand::rngs::OsRng);
    let sm2_key = sm2::dsa::SigningKey::new("1234567812345678", &secret).expect("sm2 key");
    group.bench_function("SM2 (SM3, GM/T 0009)", |b| {
        b.iter(|| {
            let s: sm2::dsa::Signature = sm2_key.sign(black_box(input.as_bytes()));
            s
        })
    });
    let rsa = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("rsa key");
    let encoding = EncodingKey::from_rsa_der(rsa.to_pkcs1_der().expect("der").as_bytes());
    let claims = serde_json::json!({ "iss": "https://sso.example.cn", "sub": "abc" });
    let header = Header::new(Algorithm::RS256);
    group.bench_function("RS256 (RSA-2048)", |b| b.iter(|| jsonwebtoken::encode(&header, black_box(&claims), &encoding)));
    group.finish();
}

/// One audit entry written in its own transaction on SQLite: chained (the head row, the entry,
/// the chain row) beside the bare insert the log was before.
fn audit_writes(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = DatabaseUrl::new(format!("sqlite://{}", dir.path().join("bench.db").display()));
    let db = runtime.block_on(async {
        let db = Db::connect(&url, 2).await.expect("connect");
        db.migrate().await.expect("migrate");
        db
    });
    let vault = Vault::new(&KeyMaterial::generate()).expect("vault");
    let entry = || audit::Entry::by_applicant(1_800_000_000, 1, "login_ok", "certification");
    let mut group = c.benchmark_group("audit write (SQLite, one transaction)");
    group.bench_function("chained (HMAC-SM3, head row)", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut tx = db.begin().await.expect("begin");
                audit::append(&mut tx, &vault, entry()).await.expect("append");
                tx.commit().await.expect("commit");
            })
        })
    });
    group.bench_function("bare insert (before the chain)", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut tx = db.begin().await.expect("begin");
                jszg::tx_run!(&mut tx, conn => sqlx::query(
                    "INSERT INTO audit_log (at, actor_kind, actor_id, account_id, action, detail) VALUES ($1, 'applicant', 1, 1, 'login_ok', 'certification')")
                    .bind(1_800_000_000_i64).execute(conn).await.expect("insert").rows_affected());
                tx.commit().await.expect("commit");
            })
        })
    });
    group.finish();
}

criterion_group!(benches, primitives, signatures, audit_writes);
criterion_main!(benches);
