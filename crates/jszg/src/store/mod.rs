//! Persistence. One module per table group; every query is written once and
//! runs on SQLite and PostgreSQL alike (`$n` placeholders, Unix-second
//! instants, `YYYY-MM-DD` dates). Dialects differ only in the migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

pub use crate::config::DatabaseUrl;

pub mod accounts;
pub mod audit;
pub mod captchas;
pub mod ownership_claims;
pub mod codes;
pub mod enrollments;
pub mod identities;
pub mod logins;
pub mod oidc;
pub mod outbox;
pub mod password_tags;
pub mod personal;
pub mod realname;
pub mod rehash;
pub mod recoveries;
pub mod retention;
pub mod reviews;
pub mod sealed;
pub mod sessions;
pub mod settings;
pub mod staff;
pub mod throttles;
pub mod upgrade;
pub mod upstream;
pub mod wechat;

/// Run one body against whichever pool backs `$db`. The body is compiled
/// once per backend, so a query that does not type-check on both fails the build.
#[macro_export]
macro_rules! db_run {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Same as [`db_run!`] for an open transaction.
#[macro_export]
macro_rules! tx_run {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

#[derive(Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

impl Db {
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<Db, sqlx::Error> {
        if url.is_postgres() {
            let options = PgConnectOptions::from_str(url.expose())?.application_name("jszg");
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                // A connection whose rollback failed (the server went away mid-transaction) still
                // counts a transaction: close it rather than hand it to the next request, which
                // would fail with "begin_with at non-zero transaction depth".
                .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            let options = SqliteConnectOptions::from_str(url.expose())?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                // SQLite opens a file the OS write-protects read-only, silently and for the
                // connection's life: a connection opened during such an outage would refuse
                // writes after it. Prove each new connection can write (the header's
                // user_version, rewritten unchanged) and refuse it otherwise; the pool opens a
                // writable one once the file is writable again. The write is rolled back: a
                // committed one would invalidate the snapshot of a concurrent deferred
                // transaction on another connection (SQLITE_BUSY_SNAPSHOT).
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        let version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut *conn).await?;
                        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                        sqlx::query(&format!("PRAGMA user_version = {version}")).execute(&mut *tx).await?;
                        tx.rollback().await?;
                        Ok(())
                    })
                })
                // The same for SQLite, where a dropped transaction's ROLLBACK is queued to the
                // connection's worker: the ping waits for it, then a depth left over means the
                // ROLLBACK failed (an I/O error, a file made read-only) and the connection is closed.
                .after_release(|conn, _| {
                    Box::pin(async move {
                        conn.ping().await?;
                        Ok(!conn.is_in_transaction())
                    })
                })
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool))
        }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// A write transaction. SQLite takes the write lock up front: a deferred
    /// transaction that reads before writing fails with a busy snapshot under
    /// concurrency, whatever the busy timeout.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        db_run!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    /// Readiness: one small write, so an instance whose database answers reads but refuses
    /// writes (a full disk, a file made read-only, a replica) is not sent traffic. The value
    /// always differs: SQLite writes nothing for an update that changes nothing.
    pub async fn probe_write(&self, now: i64) -> Result<(), sqlx::Error> {
        const SQL: &str = "INSERT INTO settings (key, value) VALUES ('readiness_probe', $1)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        let value = format!("{now} {:016x}", rand::random::<u64>());
        db_run!(self, pool => sqlx::query(SQL).bind(&value).execute(pool).await.map(|_| ()))
    }

    pub async fn close(&self) {
        db_run!(self, pool => pool.close().await)
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }

    /// Roll back now rather than on drop, so the SQLite write lock is
    /// released before the caller's next write.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.rollback().await,
            Tx::Postgres(t) => t.rollback().await,
        }
    }
}

/// Whether an error is a unique-constraint violation, whatever the backend
/// (SQLite does not report constraint names, so we never match on them).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The outcome of an insert guarded by a unique index: `None` when the
/// index refused it (the thing exists already), other errors passed on.
pub fn unless_taken<T>(result: Result<T, sqlx::Error>) -> Result<Option<T>, sqlx::Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if is_unique_violation(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hardening round 2, item 10: a connection whose ROLLBACK failed goes back to the pool
    /// still counting a transaction; the next request on it failed with "attempted to call
    /// begin_with at non-zero transaction depth". The pool now closes such a connection.
    #[tokio::test]
    async fn a_connection_left_in_a_transaction_is_not_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let url = DatabaseUrl::new(format!("sqlite://{}", dir.path().join("t.db").display()));
        // One connection, so the next request gets the same one unless it was closed.
        let db = Db::connect(&url, 1).await.expect("connect");
        let mut tx = db.begin().await.expect("begin");
        // End the transaction behind sqlx's back: its own ROLLBACK on drop then fails, as an
        // I/O error would make it fail.
        crate::tx_run!(&mut tx, conn => sqlx::query("ROLLBACK").execute(conn).await.map(|_| ()).expect("rollback"));
        drop(tx);
        for _ in 0..3 {
            let tx = db.begin().await.expect("a fresh connection, not the poisoned one");
            tx.commit().await.expect("commit");
        }
    }
}
