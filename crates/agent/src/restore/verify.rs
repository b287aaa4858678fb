//! Verification: every table of a manifest, on the restored server, has the recorded row count
//! and `CHECKSUM TABLE` value.

use super::RestoreError;
use crate::db::{Endpoint, Session, TableRef, TableState};

/// One table's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCheck {
    pub expected: TableState,
    pub actual: TableState,
}

impl TableCheck {
    pub fn ok(&self) -> bool {
        self.expected.rows == self.actual.rows && self.expected.checksum == self.actual.checksum
    }

    /// `schema.table`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.expected.schema, self.expected.name)
    }
}

/// The checks of every table of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    pub tables: Vec<TableCheck>,
}

impl Verification {
    /// True when every table matched.
    pub fn ok(&self) -> bool {
        self.tables.iter().all(TableCheck::ok)
    }

    pub fn mismatches(&self) -> impl Iterator<Item = &TableCheck> {
        self.tables.iter().filter(|t| !t.ok())
    }
}

/// Reads every `expected` table's row count and checksum on `endpoint` and compares.
pub async fn verify(
    endpoint: &Endpoint,
    expected: &[TableState],
) -> Result<Verification, RestoreError> {
    let mut session = Session::connect(endpoint).await?;
    let refs: Vec<TableRef> = expected
        .iter()
        .map(|t| TableRef {
            schema: t.schema.clone(),
            name: t.name.clone(),
            engine: t.engine.clone(),
            size_bytes: t.size_bytes,
        })
        .collect();
    let actual = session.table_states(&refs).await?;
    session.close().await;
    Ok(Verification {
        tables: expected
            .iter()
            .cloned()
            .zip(actual)
            .map(|(expected, actual)| TableCheck { expected, actual })
            .collect(),
    })
}
