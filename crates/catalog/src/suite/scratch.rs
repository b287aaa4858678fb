//! Scratch PostgreSQL databases for tests: one fresh database per test, created on the server
//! named by `XBAK_TEST_POSTGRES_URL` and dropped when the handle is dropped. A server that cannot
//! be reached fails the test with a message saying how to start one: the suite never skips.

use std::str::FromStr;
use std::time::Duration;

use crate::rules::random_alphanumeric;

/// The environment variable naming the test server (any database on it; scratch databases are
/// created beside it).
pub const SERVER_URL_VAR: &str = "XBAK_TEST_POSTGRES_URL";

/// The server tests use when [`SERVER_URL_VAR`] is unset: the machine's own, trust auth.
pub const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The test server's URL.
pub fn server_url() -> String {
    std::env::var(SERVER_URL_VAR).unwrap_or_else(|_| DEFAULT_SERVER_URL.to_string())
}

/// `url` with its database name replaced by `dbname` (query parameters kept).
pub fn with_database(url: &str, dbname: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{authority}/{dbname}?{query}"),
        None => format!("{authority}/{dbname}"),
    }
}

/// A database created for one test; dropped (with any connections still open) on drop.
pub struct ScratchDatabase {
    server_url: String,
    name: String,
    url: String,
}

async fn admin(server_url: &str) -> tokio_postgres::Client {
    let mut config = tokio_postgres::Config::from_str(server_url)
        .unwrap_or_else(|e| panic!("{SERVER_URL_VAR} is not a PostgreSQL URL: {e}"));
    config.connect_timeout(Duration::from_secs(5));
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {server_url} ({e}); the PostgreSQL catalog tests need \
             a server: start one with `eval \"$(bash .ci/postgres.sh start)\"` or set {SERVER_URL_VAR}"
        )
    });
    tokio::spawn(connection);
    client
}

impl ScratchDatabase {
    /// Creates an empty database `xbak_t_<random>` on the test server. Panics if the server
    /// cannot be reached or refuses.
    pub async fn create() -> ScratchDatabase {
        let server_url = server_url();
        let name = format!("xbak_t_{}", random_alphanumeric(12).to_ascii_lowercase());
        admin(&server_url)
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("cannot create scratch database {name}: {e}"));
        let url = with_database(&server_url, &name);
        ScratchDatabase {
            server_url,
            name,
            url,
        }
    }

    /// The scratch database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (server_url, name) = (self.server_url.clone(), self.name.clone());
        // Drop may run inside a runtime, which cannot block on another: use a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                admin(&server_url)
                    .await
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("scratch database {} was not dropped", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgresql://h:5433", "x"),
            "postgresql://h:5433/x"
        );
    }
}
