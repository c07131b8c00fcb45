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
use crate::error::{ErrorCode, AppError, AppResult};
use crate::store::{accounts, audit};
use crate::vault::{Field, Holder};

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
    // GM-1: duplicates are found by the current lookup hash, which rows not yet rehashed after a
    // change of suite do not carry.
    if app.vault.rehashing() {
        let numbers = crate::store::sealed::SEALED.iter().find(|c| c.column == "doc_number_enc");
        if let Some(column) = numbers {
            if crate::store::sealed::count_stale(&app.db, column, app.vault.current_id()).await? > 0 {
                return Err(AppError::new(ErrorCode::RehashPending, "a change of suite is under way: run `jszg keys rotate` to the end first"));
            }
        }
    }
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
    struct Sealed {
        doc_hash: Vec<u8>,
        doc_enc: Vec<u8>,
        email_enc: Option<Vec<u8>>,
        email_hash: Option<Vec<u8>>,
        phone_enc: Option<Vec<u8>>,
        phone_hash: Option<Vec<u8>>,
    }
    let sealed: Vec<Sealed> = rows
        .iter()
        .map(|row| Sealed {
            doc_hash: v.lookup(Field::DocNumber, row.doc.as_str()),
            doc_enc: v.seal_str(Field::DocNumber, row.doc.as_str()),
            email_enc: row.email.as_deref().map(|e| v.seal_str(Field::Email, e)),
            email_hash: row.email.as_deref().map(|e| v.lookup(Field::Email, e)),
            phone_enc: row.phone.as_deref().map(|p| v.seal_str(Field::Phone, p)),
            phone_hash: row.phone.as_deref().map(|p| v.lookup(Field::Phone, p)),
        })
        .collect();
    let new: Vec<accounts::NewAccount> = rows
        .iter()
        .zip(&sealed)
        .map(|(row, s)| accounts::NewAccount {
            doc_type: row.doc.doc_type().as_str(),
            doc_hash: &s.doc_hash,
            doc_number_enc: &s.doc_enc,
            name: row.name.as_str(),
            validity_period: None,
            validity_start: None,
            validity_end: None,
            password_hash: row.hash.as_deref(),
            email_enc: s.email_enc.as_deref(),
            email_hash: s.email_hash.as_deref(),
            phone_enc: s.phone_enc.as_deref(),
            phone_hash: s.phone_hash.as_deref(),
            registered_at: row.registered_at,
        })
        .collect();
    let mut tx = app.db.begin().await?;
    // One multi-row statement per batch: rows whose number is taken are
    // skipped by the database, then told apart below (already imported, or a
    // different account holding the number).
    let inserted: std::collections::HashSet<Vec<u8>> = accounts::insert_many(&mut tx, &new).await?.into_iter().collect();
    // GM-2: the imported hashes get their tags now that their ids exist.
    let fresh: Vec<Vec<u8>> = inserted.iter().cloned().collect();
    for (id, hash) in accounts::untagged_among(&mut tx, &fresh).await? {
        accounts::set_password_tag(&mut tx, id, &hash, &v.password_tag(Holder::Account, id, &hash)).await?;
    }
    let skipped: Vec<&[u8]> = sealed.iter().map(|s| s.doc_hash.as_slice()).filter(|h| !inserted.contains(*h)).collect();
    let existing: std::collections::HashMap<Vec<u8>, i64> =
        accounts::live_registered_at_many(&mut tx, &skipped).await?.into_iter().collect();
    let mut seen = std::collections::HashSet::new();
    for (row, s) in rows.iter().zip(&sealed) {
        let first_in_batch = seen.insert(s.doc_hash.as_slice());
        if inserted.contains(&s.doc_hash) && first_in_batch {
            report.imported += 1;
        } else if existing.get(&s.doc_hash) == Some(&row.registered_at) && !inserted.contains(&s.doc_hash) {
            report.already += 1;
        } else {
            report.refused.push((row.line, "duplicate: this number already has an account".into()));
        }
    }
    audit::append(&mut tx, &app.vault, audit::Entry {
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
