//! What the API listings of the CLI (`xbak backups list`, `xbak backups logs`) share: the time
//! window they ask for and how they print.

use std::io::Write;

use chrono::{Duration, Utc};
use xbak_protocol::time::format_utc;

use super::api_client::CliError;

/// The time window of a listing: `--since`, or `--start` and `--end`.
#[derive(clap::Args)]
pub struct WindowArgs {
    /// Within this long before now: 90m, 12h, 7d, 2w (default 7d).
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["start", "end"])]
    since: Option<String>,
    /// Window start (yyyy-MM-ddTHH:mm:ssZ or yyyy-MM-ddTHH:mmZ); needs --end.
    #[arg(long, value_name = "TIME", requires = "end")]
    start: Option<String>,
    /// Window end; needs --start.
    #[arg(long, value_name = "TIME", requires = "start")]
    end: Option<String>,
}

impl WindowArgs {
    /// `StartTime` and `EndTime`.
    pub fn resolve(&self) -> Result<(String, String), CliError> {
        Ok(match (&self.start, &self.end, &self.since) {
            (Some(s), Some(e), _) => (s.clone(), e.clone()),
            (_, _, since) => {
                let back =
                    parse_duration(since.as_deref().unwrap_or("7d")).map_err(CliError::Usage)?;
                let now = Utc::now();
                (format_utc(now - back), format_utc(now))
            }
        })
    }
}

/// How a listing is printed.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
    Csv,
}

/// `header` and `rows` in columns two spaces apart: the columns of `right` right-aligned
/// (numbers), the others left-aligned; no trailing spaces.
pub fn write_aligned(
    out: &mut impl Write,
    header: &[&str],
    rows: &[Vec<String>],
    right: &[usize],
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: &[&str]| -> std::io::Result<()> {
        let mut s = String::new();
        for (i, (c, &w)) in cells.iter().zip(&widths).enumerate() {
            let cell = if right.contains(&i) {
                format!("{c:>w$}")
            } else if i + 1 == cells.len() {
                c.to_string()
            } else {
                format!("{c:<w$}")
            };
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(&cell);
        }
        writeln!(out, "{s}")
    };
    line(out, header)?;
    for r in rows {
        line(out, &r.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    Ok(())
}

/// `c` as one CSV cell (quoted when it must be).
pub fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_owned()
    }
}

/// `1536` → `1.5 KiB` (1024-based, one decimal above bytes).
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// `90m`, `12h`, `7d`, `2w` (also `30s`).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("--since {s:?}: write a number and s, m, h, d or w (e.g. 7d)");
    let (num, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = num.parse().map_err(|_| bad())?;
    if n < 0 {
        return Err(bad());
    }
    Ok(match unit {
        "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        "w" => Duration::weeks(n),
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_cells() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(512 * 1024 * 1024), "512.0 MiB");
        assert_eq!(human_size(3 << 40), "3.0 TiB");
        assert_eq!(parse_duration("7d").unwrap(), Duration::days(7));
        assert_eq!(parse_duration("90m").unwrap(), Duration::minutes(90));
        assert!(parse_duration("7").is_err() && parse_duration("xd").is_err());
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("x\"y"), "\"x\"\"y\"");
    }
}
