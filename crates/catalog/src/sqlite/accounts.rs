//! Accounts and their AccessKeys.

use rusqlite::{Connection, Transaction};
use xbak_domain::{AccessKey, Account};

use super::errors::SqlResultExt;
use super::rows::{access_key_at, account_at, optional_row, wall_clock};
use crate::rules::new_access_key;
use crate::Result;

pub(super) fn create_account(tx: &Transaction<'_>, name: &str) -> Result<(Account, AccessKey)> {
    let now = wall_clock();
    tx.prepare_cached("INSERT INTO accounts (name, created_at) VALUES (?1, ?2)")
        .db()?
        .execute((name, now))
        .db_as(|| format!("account {name:?}"))?;
    let account = Account {
        id: tx.last_insert_rowid(),
        name: name.to_string(),
    };
    let key = new_access_key(account.id);
    tx.prepare_cached(
        "INSERT INTO access_keys (access_key_id, account_id, secret, enabled, created_at) VALUES (?1, ?2, ?3, 1, ?4)",
    )
    .db()?
    .execute((&key.access_key_id, key.account_id, &key.secret, now))
    .db_as(|| "access key".to_string())?;
    Ok((account, key))
}

pub(super) fn account_by_name(conn: &Connection, name: &str) -> Result<Option<Account>> {
    optional_row(
        conn,
        "SELECT id, name FROM accounts WHERE name = ?1",
        [name],
        account_at,
    )
}

pub(super) fn access_key(conn: &Connection, access_key_id: &str) -> Result<Option<AccessKey>> {
    optional_row(conn, "SELECT access_key_id, secret, account_id, enabled FROM access_keys WHERE access_key_id = ?1", [access_key_id], access_key_at)
}
