//! The MariaDB GTID state after the last complete transaction the streamer stored: one GTID
//! per replication domain, printed as `@@gtid_binlog_pos` prints it (`0-1-42,1-1-7`).

use std::collections::BTreeMap;

use super::event::{Gtid, RawEvent};

/// The state, and the GTID of the transaction under way (counted once its commit is seen).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidState {
    by_domain: BTreeMap<u32, (u32, u64)>,
    pending: Option<Gtid>,
}

impl GtidState {
    /// Parses a stored state; parts that are not `domain-server-seq` are dropped.
    pub fn parse(s: &str) -> GtidState {
        let mut state = GtidState::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut it = part.splitn(3, '-').map(str::parse::<u64>);
            if let (Some(Ok(d)), Some(Ok(srv)), Some(Ok(seq))) = (it.next(), it.next(), it.next()) {
                if let (Ok(domain), Ok(server)) = (u32::try_from(d), u32::try_from(srv)) {
                    state.set(Gtid {
                        domain,
                        server,
                        seq,
                    });
                }
            }
        }
        state
    }

    fn set(&mut self, g: Gtid) {
        self.by_domain.insert(g.domain, (g.server, g.seq));
    }

    /// Whether no transaction is under way (the state describes everything followed).
    pub fn is_idle(&self) -> bool {
        self.pending.is_none()
    }

    /// Follows one stored event: a GTID list (the state at a file's start) is taken as it is; a
    /// GTID opens a transaction, counted at its commit (or at once for a standalone one's
    /// statement, the next event).
    pub fn follow(&mut self, event: &RawEvent) {
        if let Some(list) = event.gtid_list() {
            for g in list {
                self.set(g);
            }
        } else if let Some((gtid, standalone)) = event.gtid() {
            self.pending = Some(gtid);
            if standalone {
                self.pending = None;
                self.set(gtid);
            }
        } else if event.is_commit() {
            if let Some(g) = self.pending.take() {
                self.set(g);
            }
        }
    }
}

impl std::fmt::Display for GtidState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (domain, (server, seq)) in &self.by_domain {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{domain}-{server}-{seq}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::kind;
    use super::super::event::tests::{event, gtid_body, query};
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        let s = GtidState::parse("1-1-7, 0-1-42,bogus");
        assert_eq!(s.to_string(), "0-1-42,1-1-7");
        assert_eq!(GtidState::parse("").to_string(), "");
    }

    #[test]
    fn a_transaction_counts_at_its_commit() {
        let mut s = GtidState::parse("0-7-1");
        s.follow(&event(kind::MARIADB_GTID, 0, 10, &gtid_body(0, 2, 0)));
        s.follow(&event(kind::QUERY, 0, 20, &query("BEGIN")));
        assert_eq!(s.to_string(), "0-7-1", "not committed yet");
        s.follow(&event(kind::XID, 0, 30, &[0; 8]));
        assert_eq!(s.to_string(), "0-7-2");
        s.follow(&event(kind::MARIADB_GTID, 0, 40, &gtid_body(1, 5, 1)));
        assert_eq!(s.to_string(), "0-7-2,1-7-5", "standalone (DDL)");
    }
}
