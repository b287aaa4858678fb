//! What the backup agent needs to remember: how to reach an instance's database servers
//! ([`Dsn`], [`InstanceConnection`]), each backup it attempted ([`BackupRun`]) and the daily
//! schedules ([`BackupSchedule`]).
//!
//! A run is the agent's attempt; a backup set exists only once a run succeeded. A failed run
//! stays a failed run (with its error) and never becomes a set, so it is never listed or copied.

use crate::backup::{BackupMethod, BackupSetScale, BackupType};
use crate::time::Timestamp;
use crate::DomainError;

/// Where a MySQL-family server listens and who to log in as:
/// `mysql://user[:password]@host[:port]` (user and password percent-decoded, port 3306 by default).
///
/// The password is never shown: `Debug` and `Display` print `mysql://user:***@host:port`.
#[derive(Clone, PartialEq, Eq)]
pub struct Dsn {
    pub user: String,
    pub password: Option<String>,
    pub host: String,
    pub port: u16,
}

impl Dsn {
    /// Parses `mysql://user[:password]@host[:port][/]`. Also accepts `mariadb://`.
    pub fn parse(s: &str) -> Result<Dsn, DomainError> {
        let invalid = || DomainError::InvalidValue {
            field: "DSN",
            value: Dsn::redact_raw(s),
        };
        let rest = s
            .strip_prefix("mysql://")
            .or_else(|| s.strip_prefix("mariadb://"))
            .ok_or_else(invalid)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (userinfo, hostport) = rest.rsplit_once('@').ok_or_else(invalid)?;
        if hostport.contains(['/', '?', '#', '@']) {
            return Err(invalid());
        }
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u, Some(percent_decode(p).ok_or_else(invalid)?)),
            None => (userinfo, None),
        };
        let user = percent_decode(user).ok_or_else(invalid)?;
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| invalid())?)
            }
            _ => (hostport, 3306),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if user.is_empty() || host.is_empty() || port == 0 {
            return Err(invalid());
        }
        Ok(Dsn {
            user,
            password,
            host: host.to_owned(),
            port,
        })
    }

    /// The DSN with the password replaced by `***` (what logs and listings show).
    pub fn redacted(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.password {
            Some(_) => format!("mysql://{}:***@{host}:{}", self.user, self.port),
            None => format!("mysql://{}@{host}:{}", self.user, self.port),
        }
    }

    /// The full DSN, password included, percent-encoded: for storing, never for showing.
    pub fn expose(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match &self.password {
            Some(p) => format!(
                "mysql://{}:{}@{host}:{}",
                percent_encode(&self.user),
                percent_encode(p),
                self.port
            ),
            None => format!(
                "mysql://{}@{host}:{}",
                percent_encode(&self.user),
                self.port
            ),
        }
    }

    /// Redaction of a string that did not parse: [`xbak_protocol::redact::redact`], and
    /// nothing at all of a `user:password@host` without a scheme.
    fn redact_raw(s: &str) -> String {
        if !s.contains("://") && s.contains('@') {
            return "<unparsable DSN>".to_owned();
        }
        xbak_protocol::redact::redact(s)
    }
}

impl std::fmt::Debug for Dsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Display for Dsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::str::FromStr for Dsn {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        Dsn::parse(s)
    }
}

/// Percent-decodes DSN userinfo; `None` for a `%` not followed by two hex digits or bytes that
/// are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let escapes_ok = s
        .split('%')
        .skip(1)
        .all(|rest| rest.len() >= 2 && rest.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit));
    if !escapes_ok {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(s).decode_utf8().ok()?;
    Some(decoded.into_owned())
}

/// Percent-encodes DSN userinfo (RFC 3986: unreserved kept).
fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, xbak_protocol::encode::RFC3986).to_string()
}

/// The database servers of one instance. Backups are taken from the standby when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConnection {
    pub instance_id: i64,
    /// The primary node; its node number is the instance's `instance_number`.
    pub dsn: Dsn,
    /// The standby node and its node number (`InstanceId` of the sets taken from it).
    pub standby: Option<(Dsn, i64)>,
}

/// One node to back up from: its address and node number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupNode {
    pub dsn: Dsn,
    pub instance_number: i64,
    pub is_standby: bool,
}

impl InstanceConnection {
    /// The node backups are taken from: the standby if configured, else the primary (whose
    /// node number is `primary_instance_number`).
    pub fn backup_node(&self, primary_instance_number: i64) -> BackupNode {
        match &self.standby {
            Some((dsn, n)) => BackupNode {
                dsn: dsn.clone(),
                instance_number: *n,
                is_standby: true,
            },
            None => BackupNode {
                dsn: self.dsn.clone(),
                instance_number: primary_instance_number,
                is_standby: false,
            },
        }
    }
}

/// Life cycle of a backup run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupRunStatus {
    /// Being taken (or its process died; see `started_at`).
    Running,
    /// Stored, verified, published and recorded as a backup set.
    Completed,
    /// Gave up; `error` says why. No backup set exists for it.
    Failed,
}

crate::words::wire_words!(BackupRunStatus {
    Running => "running",
    Completed => "completed",
    Failed => "failed",
});

/// What the agent records when it starts a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBackupRun {
    pub instance_id: i64,
    pub method: BackupMethod,
    pub backup_type: BackupType,
    pub scale: BackupSetScale,
    /// The database of a single-database set.
    pub database: Option<String>,
    /// Node the backup is taken from.
    pub instance_number: i64,
    pub started_at: Timestamp,
    /// `manual` or `scheduled`.
    pub trigger: String,
}

/// What a successful run adds to its backup set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackupSetDetails {
    /// Object key of the set's manifest (`<set key>.manifest.json`) in the set's region.
    pub manifest_key: String,
    /// The set an incremental set applies on top of.
    pub base_set_id: Option<i64>,
    /// InnoDB LSNs of a physical set (`xtrabackup_checkpoints`).
    pub from_lsn: Option<u64>,
    pub to_lsn: Option<u64>,
}

/// One attempt of the agent, successful or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRun {
    pub id: i64,
    pub instance_id: i64,
    pub method: BackupMethod,
    pub backup_type: BackupType,
    pub scale: BackupSetScale,
    pub database: Option<String>,
    pub instance_number: i64,
    pub trigger: String,
    pub status: BackupRunStatus,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub error: Option<String>,
    /// The set recorded when the run completed.
    pub backup_set_id: Option<i64>,
    /// Filled when completed.
    pub details: Option<BackupSetDetails>,
}

/// A daily backup window of one instance (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSchedule {
    pub instance_id: i64,
    /// Start of the window, in minutes after midnight UTC (0..1440).
    pub at_minute: u32,
    /// Length of the window: a backup missed for longer than this waits for the next day.
    pub window_minutes: u32,
    pub method: BackupMethod,
    pub backup_type: BackupType,
    pub database: Option<String>,
    pub enabled: bool,
    /// UTC day (`yyyy-mm-dd`) of the last scheduled run started.
    pub last_run_day: Option<String>,
}

impl BackupSchedule {
    /// An enabled daily window of `window_minutes` from `at_minute` (UTC) that has not run yet.
    pub fn daily(
        instance_id: i64,
        at_minute: u32,
        window_minutes: u32,
        method: BackupMethod,
        backup_type: BackupType,
        database: Option<String>,
    ) -> Self {
        BackupSchedule {
            instance_id,
            at_minute,
            window_minutes,
            method,
            backup_type,
            database,
            enabled: true,
            last_run_day: None,
        }
    }

    /// Whether the window is open at `now` and no run was started for today's window yet.
    pub fn is_due(&self, now: Timestamp) -> bool {
        use chrono::Timelike;
        if !self.enabled {
            return false;
        }
        let minute = now.hour() * 60 + now.minute();
        let into = (minute + 1440 - self.at_minute) % 1440;
        if into >= self.window_minutes.max(1) {
            return false;
        }
        self.last_run_day.as_deref() != Some(window_day(now, self.at_minute).as_str())
    }

    /// The day a run started at `now` is counted for (the day its window opened).
    pub fn window_day(&self, now: Timestamp) -> String {
        window_day(now, self.at_minute)
    }
}

fn window_day(now: Timestamp, at_minute: u32) -> String {
    use chrono::Timelike;
    let minute = now.hour() * 60 + now.minute();
    let day = if minute >= at_minute {
        now.date_naive()
    } else {
        now.date_naive() - chrono::Days::new(1)
    };
    day.format("%Y-%m-%d").to_string()
}

/// Parses `HH:MM` (UTC) into minutes after midnight.
pub fn parse_hh_mm(s: &str) -> Result<u32, DomainError> {
    let invalid = || DomainError::InvalidValue {
        field: "time of day",
        value: s.to_owned(),
    };
    let (h, m) = s.split_once(':').ok_or_else(invalid)?;
    let (h, m): (u32, u32) = (
        h.parse().map_err(|_| invalid())?,
        m.parse().map_err(|_| invalid())?,
    );
    if h > 23 || m > 59 || s.len() > 5 {
        return Err(invalid());
    }
    Ok(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xbak_protocol::time::parse_utc_seconds;

    #[test]
    fn dsns_parse_and_never_show_the_password() {
        let d = Dsn::parse("mysql://bak%40up:p%3Ass@w0rd@127.0.0.1:3307").unwrap();
        assert_eq!(d.user, "bak@up");
        assert_eq!(d.password.as_deref(), Some("p:ss@w0rd"));
        assert_eq!((d.host.as_str(), d.port), ("127.0.0.1", 3307));
        assert_eq!(format!("{d:?}"), "mysql://bak@up:***@127.0.0.1:3307");
        assert!(!format!("{d}").contains("w0rd"));
        assert_eq!(d.expose(), "mysql://bak%40up:p%3Ass%40w0rd@127.0.0.1:3307");
        assert_eq!(Dsn::parse(&d.expose()).unwrap(), d);

        let d = Dsn::parse("mysql://root@localhost").unwrap();
        assert_eq!((d.port, d.password.clone()), (3306, None));
        assert_eq!(d.to_string(), "mysql://root@localhost:3306");
        assert_eq!(
            Dsn::parse("mariadb://root@[::1]:3306/").unwrap().host,
            "::1"
        );
    }

    #[test]
    fn bad_dsns_are_refused_without_echoing_secrets() {
        for bad in [
            "postgres://u@h",
            "mysql://h:3306",
            "mysql://u:secret@h:port",
            "mysql://u:secret@h:0",
            "mysql://u:secret@/",
            "mysql://u:secret@h/db?x",
            "mysql://u:secret%zz@h",
            "mysql://u:secret%4@h",
            "mysql://u:secret%ff@h",
        ] {
            let err = Dsn::parse(bad).unwrap_err().to_string();
            assert!(!err.contains("secret"), "{bad}: {err}");
        }
    }

    #[test]
    fn standby_is_preferred_for_backups() {
        let c = InstanceConnection {
            instance_id: 1,
            dsn: Dsn::parse("mysql://root@p").unwrap(),
            standby: None,
        };
        assert_eq!(c.backup_node(7).instance_number, 7);
        let c = InstanceConnection {
            standby: Some((Dsn::parse("mysql://root@s").unwrap(), 8)),
            ..c
        };
        let node = c.backup_node(7);
        assert_eq!((node.instance_number, node.dsn.host.as_str()), (8, "s"));
        assert!(node.is_standby);
    }

    #[test]
    fn schedules_run_once_per_daily_window() {
        let at = parse_hh_mm("23:30").unwrap();
        let mut s =
            BackupSchedule::daily(1, at, 60, BackupMethod::Physical, BackupType::Full, None);
        let t = |s: &str| parse_utc_seconds(s).unwrap();
        assert!(!s.is_due(t("2026-01-01T23:29:00Z")));
        assert!(s.is_due(t("2026-01-01T23:30:00Z")));
        // The window crosses midnight and still counts for the day it opened.
        assert!(s.is_due(t("2026-01-02T00:10:00Z")));
        assert_eq!(s.window_day(t("2026-01-02T00:10:00Z")), "2026-01-01");
        s.last_run_day = Some("2026-01-01".into());
        assert!(!s.is_due(t("2026-01-02T00:10:00Z")));
        assert!(!s.is_due(t("2026-01-02T00:31:00Z")));
        assert!(s.is_due(t("2026-01-02T23:45:00Z")));
        s.enabled = false;
        assert!(!s.is_due(t("2026-01-02T23:45:00Z")));
        assert!(parse_hh_mm("24:00").is_err() && parse_hh_mm("3").is_err());
        assert_eq!(parse_hh_mm("03:00").unwrap(), 180);
    }
}
