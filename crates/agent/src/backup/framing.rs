//! Byte formats of the sets: a streamed tar (logical sets are `.tar.gz` of `dump/part-N.sql`
//! chunks and a `manifest.json`) and one file appended to an xbstream (physical sets carry
//! `xbak-manifest.json`).
//!
//! A tar entry needs its size before its bytes, and a dump's size is known only at its end; so
//! the dump is cut into parts of at most [`TAR_PART`] bytes, each its own entry. Concatenating
//! the parts in order gives the dump: `tar -xzOf SET.tar.gz --wildcards 'dump/*' | mariadb`.

/// Largest tar entry of dump data (held in memory once while framed).
pub const TAR_PART: usize = 8 * 1024 * 1024;

/// Directory of the dump parts in the tar.
pub const DUMP_DIR: &str = "dump";

/// Name of the `n`th (1-based) dump part.
pub fn part_name(n: u64) -> String {
    format!("{DUMP_DIR}/part-{n:06}.sql")
}

/// A ustar header for a regular file of `size` bytes.
pub fn tar_header(name: &str, size: u64, mtime: i64) -> [u8; 512] {
    let mut h = [0u8; 512];
    let name = name.as_bytes();
    h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime.max(0) as u64);
    h[148..156].copy_from_slice(b"        ");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    octal(&mut h[148..155], u64::from(sum));
    h[155] = b' ';
    h
}

/// Zero-padded octal digits filling `field` but its last byte (a NUL).
fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let s = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    field[digits] = 0;
}

/// Padding after `size` bytes of entry data.
pub fn tar_padding(size: u64) -> usize {
    ((512 - size % 512) % 512) as usize
}

/// The two zero blocks that end a tar.
pub const TAR_END: [u8; 1024] = [0u8; 1024];

/// A parsed tar header: entry name, size, whether it is a regular file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    pub name: String,
    pub size: u64,
    pub regular: bool,
}

/// Parses a header block; `None` for an end-of-archive (all-zero) block.
pub fn parse_tar_header(h: &[u8; 512]) -> Result<Option<TarEntry>, String> {
    if h.iter().all(|b| *b == 0) {
        return Ok(None);
    }
    let stored: u64 = parse_octal(&h[148..156]).ok_or("bad tar header checksum field")?;
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    if sum != stored {
        return Err("tar header checksum mismatch: not a tar, or corrupt".into());
    }
    let end = h[..100].iter().position(|b| *b == 0).unwrap_or(100);
    let mut name = String::from_utf8_lossy(&h[..end]).into_owned();
    if &h[257..262] == b"ustar" && h[345] != 0 {
        let pend = h[345..500].iter().position(|b| *b == 0).unwrap_or(155);
        name = format!("{}/{name}", String::from_utf8_lossy(&h[345..345 + pend]));
    }
    let size = parse_octal(&h[124..136]).ok_or("bad tar entry size")?;
    Ok(Some(TarEntry {
        name,
        size,
        regular: h[156] == b'0' || h[156] == 0,
    }))
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(field).ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

/// One xbstream file of `data` at `path`: a payload chunk and the file's end chunk, as
/// `mbstream -x` reads them (magic, flags, type, path, then length, offset, CRC-32, bytes).
pub fn xbstream_file(path: &str, data: &[u8]) -> Vec<u8> {
    const MAGIC: &[u8; 8] = b"XBSTCK01";
    let mut out = Vec::with_capacity(data.len() + 2 * (8 + 2 + 4 + path.len()) + 20);
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(MAGIC);
    out.push(0); // flags
    out.push(b'P'); // payload
    out.extend_from_slice(&(path.len() as u32).to_le_bytes());
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes()); // offset
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(MAGIC);
    out.push(0);
    out.push(b'E'); // end of this file
    out.extend_from_slice(&(path.len() as u32).to_le_bytes());
    out.extend_from_slice(path.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_headers_round_trip() {
        let h = tar_header(&part_name(3), 12345, 1_700_000_000);
        let e = parse_tar_header(&h).unwrap().unwrap();
        assert_eq!(e.name, "dump/part-000003.sql");
        assert_eq!(e.size, 12345);
        assert!(e.regular);
        assert_eq!(parse_tar_header(&[0u8; 512]).unwrap(), None);
        let mut bad = h;
        bad[0] ^= 1;
        assert!(parse_tar_header(&bad).is_err());
        assert_eq!(tar_padding(512), 0);
        assert_eq!(tar_padding(1), 511);
    }

    #[test]
    fn xbstream_chunks_have_the_documented_shape() {
        let b = xbstream_file("x.json", b"{}");
        assert_eq!(&b[..10], b"XBSTCK01\0P");
        assert_eq!(u32::from_le_bytes(b[10..14].try_into().unwrap()), 6);
        assert_eq!(&b[14..20], b"x.json");
        assert_eq!(u64::from_le_bytes(b[20..28].try_into().unwrap()), 2);
        assert_eq!(u64::from_le_bytes(b[28..36].try_into().unwrap()), 0);
        assert_eq!(
            u32::from_le_bytes(b[36..40].try_into().unwrap()),
            CRC_OF_BRACES
        );
        assert_eq!(&b[40..42], b"{}");
        assert_eq!(&b[42..], b"XBSTCK01\0E\x06\0\0\0x.json");
    }

    /// `zlib.crc32(b"{}")`.
    const CRC_OF_BRACES: u32 = 0xa3a6_bf43;
}
