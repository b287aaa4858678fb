//! Who holds a lease: the process that claimed a job, so a claimer on the same machine can tell
//! a holder that died (take its job over at once) from one that is still working (wait).

use std::fmt;

/// The process holding a lease: host name, boot id (a reboot makes every pid meaningless), pid
/// and the process's start time (clock ticks since boot, `/proc/PID/stat` field 22), which tells
/// a dead holder from a new process that was given its pid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseHolder {
    pub host: String,
    /// `/proc/sys/kernel/random/boot_id`; empty where unknown (then never taken over early).
    pub boot_id: String,
    pub pid: u32,
    /// Start time of `pid` in clock ticks after boot; 0 where unknown.
    pub started: u64,
}

impl LeaseHolder {
    /// The stored form: `pid started boot_id host` (the host last, as it is the only free text).
    pub fn encode(&self) -> String {
        format!(
            "{} {} {} {}",
            self.pid,
            self.started,
            if self.boot_id.is_empty() {
                "-"
            } else {
                &self.boot_id
            },
            self.host
        )
    }

    /// Reads [`LeaseHolder::encode`]'s form; `None` for anything else.
    pub fn decode(s: &str) -> Option<LeaseHolder> {
        let mut parts = s.splitn(4, ' ');
        let pid = parts.next()?.parse().ok()?;
        let started = parts.next()?.parse().ok()?;
        let boot_id = match parts.next()? {
            "-" => String::new(),
            b => b.to_owned(),
        };
        let host = parts.next()?.to_owned();
        Some(LeaseHolder {
            host,
            boot_id,
            pid,
            started,
        })
    }

    /// Whether `other` runs on the same machine since the same boot, so its pid means the same.
    pub fn same_boot(&self, other: &LeaseHolder) -> bool {
        !self.boot_id.is_empty() && self.host == other.host && self.boot_id == other.boot_id
    }
}

impl fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} pid {}", self.host, self.pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        for boot_id in ["", "0f1e-22"] {
            let h = LeaseHolder {
                host: "db host".into(),
                boot_id: boot_id.into(),
                pid: 42,
                started: 9001,
            };
            assert_eq!(LeaseHolder::decode(&h.encode()), Some(h));
        }
        assert_eq!(LeaseHolder::decode("x 1 b h"), None);
        assert_eq!(LeaseHolder::decode("1 2 b"), None);
    }

    #[test]
    fn an_unknown_boot_is_never_the_same_boot() {
        let h = LeaseHolder {
            host: "h".into(),
            boot_id: String::new(),
            pid: 1,
            started: 0,
        };
        assert!(!h.same_boot(&h));
        let known = LeaseHolder {
            boot_id: "b".into(),
            ..h
        };
        assert!(known.same_boot(&known.clone()));
        let elsewhere = LeaseHolder {
            host: "other".into(),
            ..known.clone()
        };
        assert!(!known.same_boot(&elsewhere));
    }
}
