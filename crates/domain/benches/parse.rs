//! Parsing cost of the values every registration and login request carries.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use jszg_domain::{DocNumber, DocType, Email, Password, PersonName, Phone, WorkingCalendar};
use time::macros::date;

fn parse(c: &mut Criterion) {
    let today = date!(2026 - 03 - 15);

    c.bench_function("doc_number/resident_id", |b| {
        b.iter(|| DocNumber::parse(DocType::ResidentId, black_box("11010519491231002x"), today))
    });
    c.bench_function("doc_number/resident_id_full_width", |b| {
        b.iter(|| DocNumber::parse(DocType::ResidentId, black_box("１１０１０５１９４９１２３１００２Ｘ"), today))
    });
    c.bench_function("doc_number/hk_mo_permit", |b| b.iter(|| DocNumber::parse(DocType::HkMoPermit, black_box("H12345678"), today)));

    c.bench_function("name/ouyang_dot_nana", |b| b.iter(|| PersonName::parse(DocType::ResidentId, black_box("欧阳·娜娜"))));
    c.bench_function("name/ext_b_wang", |b| b.iter(|| PersonName::parse(DocType::ResidentId, black_box("王𠀾𪚥"))));
    let a = PersonName::parse(DocType::ResidentId, "王\u{F900}明").ok();
    let b2 = PersonName::parse(DocType::ResidentId, "王\u{8C48}明").ok();
    c.bench_function("name/compare_nfc", |b| b.iter(|| black_box(&a) == black_box(&b2)));

    let doc = DocNumber::from_storage(DocType::ResidentId, "11010519491231002X".to_owned());
    c.bench_function("password/accept", |b| b.iter(|| Password::parse(black_box("Jx7#kq2mPz"), &doc)));
    c.bench_function("password/common", |b| b.iter(|| Password::parse(black_box("P@ssw0rd"), &doc)));

    c.bench_function("email", |b| b.iter(|| Email::parse(black_box("Zhang.San@Example.EDU.cn"))));
    c.bench_function("email/qq_full_width", |b| b.iter(|| Email::parse(black_box("１２３４５６７８＠ｑｑ．ｃｏｍ"))));
    c.bench_function("phone", |b| b.iter(|| Phone::parse(black_box("+86 158-1234-5611"))));

    let cal = WorkingCalendar::builtin();
    c.bench_function("calendar/add_7_working_days", |b| b.iter(|| cal.add_working_days(black_box(date!(2026 - 02 - 13)), 7)));
}

criterion_group!(benches, parse);
criterion_main!(benches);
