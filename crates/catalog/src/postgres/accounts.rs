//! Accounts and their AccessKeys.

use deadpool_postgres::{GenericClient, Transaction};
use xbak_domain::{AccessKey, Account};

use super::rows::{execute, get, query_opt, random_alphanumeric, wall_clock};
use crate::rules::new_access_key_id;
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
    let key = AccessKey {
        access_key_id: new_access_key_id(),
        secret: random_alphanumeric(30),
        account_id: account.id,
        enabled: true,
    };
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
    query_opt(c, "SELECT id, name FROM accounts WHERE name = $1", &[&name])
        .await?
        .map(|row| {
            Ok(Account {
                id: get(&row, 0)?,
                name: get(&row, 1)?,
            })
        })
        .transpose()
}

pub(super) async fn access_key(
    c: &impl GenericClient,
    access_key_id: &str,
) -> Result<Option<AccessKey>> {
    query_opt(
        c,
        "SELECT access_key_id, secret, account_id, enabled FROM access_keys WHERE access_key_id = $1",
        &[&access_key_id],
    )
    .await?
    .map(|row| {
        Ok(AccessKey {
            access_key_id: get(&row, 0)?,
            secret: get(&row, 1)?,
            account_id: get(&row, 2)?,
            enabled: get(&row, 3)?,
        })
    })
    .transpose()
}
