//! `jszg import-accounts` (REC-4): legacy accounts from the old system,
//! keeping their registration time. Row by row: a bad row is reported and
//! skipped, never aborting the rest; a row already imported is skipped, so
//! running the import twice changes nothing.

use std::io::Read;

use jszg_domain::{DocNumber, DocType, Email, PersonName, Phone};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::adapters::passwords;
use crate::app::App;
use crate::error::AppResult;
use crate::store::{accounts, audit, unless_taken};
use crate::vault::Field;

/// Rows written per transaction.
const BATCH: usize = 500;

#[derive(Debug, Default)]
pub struct Report {
    pub imported: usize,
    pub already: usize,
    /// (line number, reason) for every refused row.
    pub refused: Vec<(usize, String)>,
    /// (line number, note) for rows imported with a field left out.
    pub notes: Vec<(usize, String)>,
}

struct Row {
    line: usize,
    doc: DocNumber,
    name: PersonName,
    hash: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    registered_at: i64,
}

fn parse_row(record: &csv::StringRecord, line: usize, today: time::Date, notes: &mut Vec<(usize, String)>) -> Result<Row, String> {
    if record.len() < 7 {
        return Err(format!("expected 7 columns, found {}", record.len()));
    }
    let f = |i: usize| record.get(i).unwrap_or("").trim();
    let doc_type: DocType = f(0).parse().map_err(|_| format!("bad doc_type {:?}", f(0)))?;
    let doc = DocNumber::parse(doc_type, f(1), today).map_err(|e| format!("bad number: {e}"))?;
    let name = PersonName::parse(doc_type, f(2)).map_err(|e| format!("bad name: {e}"))?;
    let hash = match f(3) {
        "" => None,
        h if passwords::recognised(h) => Some(h.to_owned()),
        _ => return Err("bad password hash: not a PHC argon2/pbkdf2 or bcrypt hash".into()),
    };
    let email = match f(4) {
        "" => None,
        raw => match Email::parse(raw) {
            Ok(e) => Some(e.as_str().to_owned()),
            Err(_) => {
                notes.push((line, "email left out: not a valid address".into()));
                None
            }
        },
    };
    let phone = match f(5) {
        "" => None,
        raw => match Phone::parse(raw) {
            Ok(p) => Some(p.as_str().to_owned()),
            Err(_) => {
                notes.push((line, "phone left out: not a valid mainland number".into()));
                None
            }
        },
    };
    let registered_at =
        OffsetDateTime::parse(f(6), &Rfc3339).map_err(|_| format!("bad date {:?}: registered_at must be RFC 3339", f(6)))?;
    if registered_at.date() > today {
        return Err("bad date: registered_at is in the future".into());
    }
    Ok(Row { line, doc, name, hash, email, phone, registered_at: registered_at.unix_timestamp() })
}

pub async fn import(app: &App, input: impl Read) -> AppResult<Report> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(input);
    let today = app.clock.today();
    let mut report = Report::default();
    let mut batch: Vec<Row> = Vec::with_capacity(BATCH);
    for (index, record) in reader.records().enumerate() {
        let line = index + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.refused.push((line, format!("unreadable row: {e}")));
                continue;
            }
        };
        if line == 1 && record.get(0).map(str::trim) == Some("doc_type") {
            continue; // header
        }
        match parse_row(&record, line, today, &mut report.notes) {
            Ok(row) => batch.push(row),
            Err(reason) => report.refused.push((line, reason)),
        }
        if batch.len() >= BATCH {
            write_batch(app, std::mem::take(&mut batch), &mut report).await?;
        }
    }
    write_batch(app, batch, &mut report).await?;
    report.refused.sort();
    Ok(report)
}

async fn write_batch(app: &App, rows: Vec<Row>, report: &mut Report) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let v = &app.vault;
    let mut tx = app.db.begin().await?;
    for row in rows {
        let doc_hash = v.lookup(Field::DocNumber, row.doc.as_str());
        // SAVEPOINT-free duplicate handling: look first, then insert; the
        // batch transaction holds the write lock, so nobody slips between.
        if let Some(existing) = accounts::registered_at_tx(&mut tx, &doc_hash).await? {
            if existing == row.registered_at {
                report.already += 1;
            } else {
                report.refused.push((row.line, "duplicate: this number already has an account".into()));
            }
            continue;
        }
        let email_enc = row.email.as_deref().map(|e| v.seal_str(Field::Email, e));
        let email_hash = row.email.as_deref().map(|e| v.lookup(Field::Email, e));
        let phone_enc = row.phone.as_deref().map(|p| v.seal_str(Field::Phone, p));
        let phone_hash = row.phone.as_deref().map(|p| v.lookup(Field::Phone, p));
        let inserted = accounts::insert(
            &mut tx,
            accounts::NewAccount {
                doc_type: row.doc.doc_type().as_str(),
                doc_hash: &doc_hash,
                doc_number_enc: &v.seal_str(Field::DocNumber, row.doc.as_str()),
                name: row.name.as_str(),
                validity_period: None,
                validity_start: None,
                validity_end: None,
                password_hash: row.hash.as_deref(),
                email_enc: email_enc.as_deref(),
                email_hash: email_hash.as_deref(),
                phone_enc: phone_enc.as_deref(),
                phone_hash: phone_hash.as_deref(),
                registered_at: row.registered_at,
            },
        )
        .await;
        match unless_taken(inserted)? {
            Some(_) => report.imported += 1,
            None => report.refused.push((row.line, "duplicate: this number already has an account".into())),
        }
    }
    audit::append(
        &mut tx,
        audit::Entry {
            at: app.clock.unix(),
            actor_kind: "operator",
            actor_id: None,
            account_id: None,
            action: "accounts_imported",
            detail: &format!("{} so far", report.imported),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
