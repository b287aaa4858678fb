//! Bandwidth rates as people write them on a command line: the one grammar of every
//! `--bwlimit` and `--limit-rate` flag.
//!
//! A rate is a whole number of bytes per second with an optional binary multiple: `1500`,
//! `512K`, `50M`, `1G`, `2T` (K = 1024, as rclone's `--bwlimit` and curl's `--limit-rate`). The
//! unit letter may be lower case and may be followed by `B` or `iB` and by `/s` (`50MiB/s`).
//! `0` means unlimited.

/// Parses a rate in bytes per second (see the module docs); `Ok(0)` means unlimited.
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix("/s").unwrap_or(t);
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (digits, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mult: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown unit in {s:?} (use K, M, G or T)")),
            };
            (&t[..i], mult)
        }
        _ => (t, 1),
    };
    let n: u64 = digits.trim().parse().map_err(|_| {
        format!("{s:?} is not a rate in bytes per second such as 500K, 20M or 0 (unlimited)")
    })?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    /// Each text parses to its number of bytes per second.
    fn parses(cases: &[(&str, u64)]) {
        for &(text, bytes) in cases {
            assert_eq!(parse_rate(text), Ok(bytes), "{text:?}");
        }
    }

    #[test]
    fn plain_numbers_and_binary_multiples() {
        parses(&[
            ("1500", 1500),
            ("1000", 1000),
            ("512K", 512 << 10),
            ("500k", 500 << 10),
        ]);
        parses(&[("20M", 20 << 20), ("1G", 1 << 30), ("2T", 2 << 40)]);
    }

    #[test]
    fn zero_is_unlimited() {
        parses(&[("0", 0), ("0M", 0)]);
    }

    #[test]
    fn byte_and_per_second_suffixes() {
        parses(&[
            ("50MiB", 50 << 20),
            ("50MB", 50 << 20),
            ("2g/s", 2 << 30),
            (" 7KiB/s ", 7 << 10),
        ]);
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in ["", "fast", "5X", "M", "-1", "1.5M", "99999999999T"] {
            assert!(parse_rate(bad).is_err(), "{bad:?} parsed");
        }
    }
}
