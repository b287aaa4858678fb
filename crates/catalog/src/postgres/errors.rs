//! The one place PostgreSQL errors become [`CatalogError`]s, by SQLSTATE.
//!
//! Retry-safety follows the error class: a lost connection, a server shutting down, a
//! serialization failure or a deadlock (the transaction was rolled back as a whole) is
//! `Unavailable`, so the caller may run the same call again; a broken rule is `Conflict` or
//! `NotFound`; anything else is `Internal`. The client-facing text is a short reason; the full
//! server message (which may quote schema or SQL, never bound values) is logged here.

use crate::CatalogError;

/// What a SQLSTATE means to a caller of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    Conflict,
    MissingReference,
    Retryable,
    Internal,
}

/// Classifies a five-character SQLSTATE.
pub(crate) fn meaning(sqlstate: &str) -> Meaning {
    match sqlstate {
        // unique_violation, exclusion_violation
        "23505" | "23P01" => Meaning::Conflict,
        // foreign_key_violation: callers check references first to name them; this is the backstop.
        "23503" => Meaning::MissingReference,
        // serialization_failure, deadlock_detected, lock_not_available, statement/lock timeout
        // (query_canceled), admin/crash shutdown, cannot_connect_now, idle session timeout,
        // database_dropped is not retryable (57P04 falls through).
        "40001" | "40P01" | "55P03" | "57014" | "57P01" | "57P02" | "57P03" | "57P05" => {
            Meaning::Retryable
        }
        // transaction_rollback (class 40), connection exceptions (08), insufficient resources
        // (53: too many connections, out of memory, disk full).
        s if s.starts_with("40") || s.starts_with("08") || s.starts_with("53") => {
            Meaning::Retryable
        }
        _ => Meaning::Internal,
    }
}

/// Translates a tokio-postgres error. `subject` names the row being written (`account "ops"`)
/// and is used for `Conflict` and `NotFound` messages.
pub(crate) fn translate(err: tokio_postgres::Error, subject: Option<String>) -> CatalogError {
    let subject = || subject.clone().unwrap_or_else(|| "row".to_string());
    if let Some(code) = err.code() {
        return match meaning(code.code()) {
            Meaning::Conflict => CatalogError::Conflict(subject()),
            Meaning::MissingReference => {
                CatalogError::NotFound(format!("a row referenced by {}", subject()))
            }
            Meaning::Retryable => {
                tracing::warn!(error = %err, sqlstate = code.code(), "catalog unavailable");
                CatalogError::Unavailable(format!("postgres {}", code.code()))
            }
            Meaning::Internal => internal(&err, &format!("postgres {}", code.code())),
        };
    }
    // No SQLSTATE: the connection broke (closed, I/O, timeout) or a value did not convert.
    if err.is_closed() || source_is_io(&err) {
        tracing::warn!(error = %err, "catalog connection lost");
        return CatalogError::Unavailable("connection to postgres lost".into());
    }
    internal(&err, "postgres call failed")
}

fn source_is_io(err: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        if e.is::<std::io::Error>() {
            return true;
        }
        source = e.source();
    }
    false
}

fn internal(err: &tokio_postgres::Error, reason: &str) -> CatalogError {
    tracing::error!(error = %err, "catalog query failed");
    CatalogError::Internal(reason.to_string())
}

/// Translates a pool error: no connection could be had, so the call may succeed later.
pub(crate) fn translate_pool(err: deadpool_postgres::PoolError) -> CatalogError {
    match err {
        deadpool_postgres::PoolError::Backend(e) => translate(e, None),
        other => {
            tracing::warn!(error = %other, "no catalog connection");
            CatalogError::Unavailable("no connection to postgres".into())
        }
    }
}

/// `.db()` and `.db_as(|| subject)` on tokio-postgres results.
pub(crate) trait PgResultExt<T> {
    fn db(self) -> Result<T, CatalogError>;
    fn db_as(self, subject: impl FnOnce() -> String) -> Result<T, CatalogError>;
}

impl<T> PgResultExt<T> for Result<T, tokio_postgres::Error> {
    fn db(self) -> Result<T, CatalogError> {
        self.map_err(|e| translate(e, None))
    }

    fn db_as(self, subject: impl FnOnce() -> String) -> Result<T, CatalogError> {
        self.map_err(|e| translate(e, Some(subject())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::error::SqlState;

    #[test]
    fn constraint_codes_are_translated() {
        assert_eq!(
            meaning(SqlState::UNIQUE_VIOLATION.code()),
            Meaning::Conflict
        );
        assert_eq!(
            meaning(SqlState::FOREIGN_KEY_VIOLATION.code()),
            Meaning::MissingReference
        );
        for code in [
            SqlState::CHECK_VIOLATION,
            SqlState::NOT_NULL_VIOLATION,
            SqlState::SYNTAX_ERROR,
            SqlState::UNDEFINED_TABLE,
            SqlState::INVALID_TEXT_REPRESENTATION,
            SqlState::DATABASE_DROPPED,
        ] {
            assert_eq!(meaning(code.code()), Meaning::Internal, "{code:?}");
        }
    }

    #[test]
    fn transient_codes_are_retryable() {
        for code in [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::CONNECTION_FAILURE,
            SqlState::CONNECTION_EXCEPTION,
            SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::QUERY_CANCELED,
        ] {
            assert_eq!(meaning(code.code()), Meaning::Retryable, "{code:?}");
        }
    }
}
