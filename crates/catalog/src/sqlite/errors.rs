//! The one place SQLite errors become [`CatalogError`]s.
//!
//! The client-facing text is a short reason; the full SQLite message (which may quote schema or
//! SQL, never bound values) is logged here.

use rusqlite::ErrorCode;

use crate::CatalogError;

/// Translates a rusqlite error. `subject` names the row being written (`account "ops"`) and is
/// used for `Conflict` and `NotFound` messages.
pub(crate) fn translate(err: rusqlite::Error, subject: Option<String>) -> CatalogError {
    let subject = || subject.clone().unwrap_or_else(|| "row".to_string());
    match &err {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            ErrorCode::ConstraintViolation => match failure.extended_code {
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => CatalogError::Conflict(subject()),
                // Callers check references first to name them; this is the backstop.
                rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                    CatalogError::NotFound(format!("a row referenced by {}", subject()))
                }
                _ => internal(&err, "constraint violated"),
            },
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                // Debug, not warn: a call first tried with no busy timeout meets this whenever
                // another connection writes, and is tried again where it may wait (~45 a
                // second under 40,000 cached calls a second, bench/results.md
                // 2026-12-06T15:48:01Z); one that still fails reaches its caller, which
                // reports it.
                tracing::debug!(error = %err, "catalog busy");
                CatalogError::Unavailable("database is busy".into())
            }
            ErrorCode::CannotOpen | ErrorCode::SystemIoFailure | ErrorCode::DiskFull => {
                tracing::error!(error = %err, "catalog storage failure");
                CatalogError::Unavailable(format!("sqlite {:?}", failure.code))
            }
            code => internal(&err, &format!("sqlite {code:?}")),
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => {
            internal(&err, "unexpected value in the catalog")
        }
        rusqlite::Error::QueryReturnedNoRows => internal(&err, "row vanished"),
        _ => internal(&err, "sqlite call failed"),
    }
}

fn internal(err: &rusqlite::Error, reason: &str) -> CatalogError {
    tracing::error!(error = %err, "catalog query failed");
    CatalogError::Internal(reason.to_string())
}

/// `.db()` and `.db_as(|| subject)` on rusqlite results.
pub(crate) trait SqlResultExt<T> {
    fn db(self) -> Result<T, CatalogError>;
    fn db_as(self, subject: impl FnOnce() -> String) -> Result<T, CatalogError>;
}

impl<T> SqlResultExt<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, CatalogError> {
        self.map_err(|e| translate(e, None))
    }

    fn db_as(self, subject: impl FnOnce() -> String) -> Result<T, CatalogError> {
        self.map_err(|e| translate(e, Some(subject())))
    }
}

/// A value read back from the catalog that the domain refuses (corruption or a newer writer).
pub(crate) fn bad_value(
    idx: usize,
    err: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn failing(sql: &str) -> rusqlite::Error {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT UNIQUE);
             CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id), n INTEGER CHECK (n > 0));
             INSERT INTO p VALUES (1, 'a');",
        )
        .unwrap();
        conn.execute_batch(sql).unwrap_err()
    }

    #[test]
    fn constraint_codes_are_translated() {
        let e = translate(
            failing("INSERT INTO p VALUES (2, 'a')"),
            Some("account \"a\"".into()),
        );
        assert!(
            matches!(&e, CatalogError::Conflict(s) if s == "account \"a\""),
            "{e:?}"
        );
        let e = translate(failing("INSERT INTO p VALUES (1, 'b')"), None);
        assert!(matches!(e, CatalogError::Conflict(_)), "{e:?}");
        let e = translate(failing("INSERT INTO c VALUES (1, 9, 1)"), None);
        assert!(matches!(e, CatalogError::NotFound(_)), "{e:?}");
        let e = translate(failing("INSERT INTO c VALUES (1, 1, 0)"), None);
        assert!(matches!(e, CatalogError::Internal(_)), "{e:?}");
        assert!(!e.is_retryable());
    }

    #[test]
    fn sql_text_does_not_leak() {
        let e = translate(failing("SELEKT secret_column FROM p"), None);
        let shown = e.to_string();
        assert!(matches!(e, CatalogError::Internal(_)));
        assert!(
            !shown.contains("SELEKT") && !shown.contains("secret_column"),
            "{shown}"
        );
    }

    #[test]
    fn busy_is_retryable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let a = Connection::open(&path).unwrap();
        let b = Connection::open(&path).unwrap();
        b.busy_timeout(std::time::Duration::ZERO).unwrap();
        a.execute_batch("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
            .unwrap();
        let err = b.execute_batch("BEGIN IMMEDIATE").unwrap_err();
        let e = translate(err, None);
        assert!(matches!(e, CatalogError::Unavailable(_)), "{e:?}");
        assert!(e.is_retryable());
    }
}
