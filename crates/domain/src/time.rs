//! Time in the domain: every instant is UTC with whole-second precision. Formatting and parsing
//! the wire's `yyyy-MM-ddTHH:mm:ssZ` live in `xbak_protocol::time`.

use chrono::{DateTime, Utc};

/// Timestamps everywhere in xbak are UTC with whole-second precision.
pub type Timestamp = DateTime<Utc>;
