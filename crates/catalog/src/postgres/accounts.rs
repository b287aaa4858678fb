//! Accounts and their AccessKeys.

use deadpool_postgres::{GenericClient, Transaction};
use xbak_domain::{AccessKey, Account};

use super::rows::{access_key_at, account_at, execute, get, optional_row, query_opt, wall_clock};
use crate::rules::new_access_key;
use crate::{CatalogError, Result};

pub(super) async fn create_account(
    tx: &Transaction<'_>,
    name: &str,
) -> Result<(Account, AccessKey)> {
    let now = wall_clock();
    // An existing name inserts nothing: a conflict, reported without a unique violation.
    let row = query_opt(
        tx,
        "INSERT INTO accounts (name, created_at) VALUES ($1, $2)
         ON CONFLICT (name) DO NOTHING RETURNING id",
        &[&name, &now],
    )
    .await?
    .ok_or_else(|| CatalogError::Conflict(format!("account {name:?}")))?;
    let account = Account {
        id: get(&row, 0)?,
        name: name.to_string(),
    };
    let key = new_access_key(account.id);
    execute(
        tx,
        "INSERT INTO access_keys (access_key_id, account_id, secret, enabled, created_at)
         VALUES ($1, $2, $3, TRUE, $4)",
        &[&key.access_key_id, &key.account_id, &key.secret, &now],
        || "access key".to_string(),
    )
    .await?;
    Ok((account, key))
}

pub(super) async fn account_by_name(c: &impl GenericClient, name: &str) -> Result<Option<Account>> {
    optional_row(
        c,
        "SELECT id, name FROM accounts WHERE name = $1",
        &[&name],
        account_at,
    )
    .await
}

pub(super) async fn access_key(
    c: &impl GenericClient,
    access_key_id: &str,
) -> Result<Option<AccessKey>> {
    optional_row(
        c,
        "SELECT access_key_id, secret, account_id, enabled FROM access_keys WHERE access_key_id = $1",
        &[&access_key_id], access_key_at).await
}
