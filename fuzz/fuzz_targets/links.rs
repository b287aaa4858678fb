//! Download-link verification ([`LinkSigner::verify`]) against signing ([`LinkSigner::sign`]).
//!
//! Input: `key id \n secret \n now (unix) \n link` (the corpus holds OSS's documented example
//! and links from the seed contract). The link is taken apart as the download route does (path
//! segments percent-decoded, query through the RPC decoder) and verified: it verifies exactly
//! when its signature is the signer's for that region, key and expiry and it has not expired.
//! Then the link is re-signed, and the signer's own link gives back the region, key and key id
//! and verifies; changing its region, key, expiry, key id or one signature character, or
//! checking it with another secret, is refused as forged, never as merely expired.

#![no_main]

use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;
use xbak_fuzz::{lines, replace_char, BASE64};
use xbak_protocol::RawParams;
use xbak_storage::links::{LinkError, LinkSigner};

fuzz_target!(|data: &[u8]| {
    let Some(([key_id, secret, now], url)) = lines(data) else {
        return;
    };
    let Ok(now) = now.parse::<i64>() else {
        return;
    };
    let Some((public_url, link)) = Link::parse(url) else {
        return;
    };
    let signer = LinkSigner::new(key_id.into(), secret.into(), public_url.into());
    let verify = |s: &LinkSigner, l: &Link| {
        s.verify(&l.region, &l.key, &l.key_id, &l.expires, &l.signature, now)
    };

    let canonical_expiry = link
        .expires
        .parse::<i64>()
        .ok()
        .filter(|e| *e >= 0 && e.to_string() == link.expires);
    let genuine = canonical_expiry.is_some_and(|e| {
        link.key_id == key_id && {
            let (_, ours) = Link::parse(&signer.sign(&link.region, &link.key, e)).unwrap();
            ours.signature == link.signature
        }
    });
    // A non-canonical expiry (`0123`) is signed as written, which `sign` cannot reproduce.
    let expiry = link.expires.parse::<i64>().ok();
    match verify(&signer, &link) {
        Ok(()) => {
            assert!(
                link.key_id == key_id && expiry.is_some_and(|e| now <= e),
                "{link:?}"
            );
            assert!(canonical_expiry.is_none() || genuine, "{link:?} verified");
        }
        Err(LinkError::Expired) => {
            assert!(expiry.is_some_and(|e| now > e), "{link:?}");
            assert!(canonical_expiry.is_none() || genuine, "{link:?} verified");
        }
        Err(_) => assert!(!genuine, "{link:?} refused"),
    }

    let expires = canonical_expiry.unwrap_or(0);
    let ours_url = signer.sign(&link.region, &link.key, expires);
    let (_, ours) = Link::parse(&ours_url).expect("the signer's link parses");
    assert_eq!(
        (
            ours.region.as_str(),
            ours.key.as_str(),
            ours.key_id.as_str()
        ),
        (link.region.as_str(), link.key.as_str(), key_id),
        "{ours_url}"
    );
    let expected = if now > expires {
        Err(LinkError::Expired)
    } else {
        Ok(())
    };
    assert_eq!(verify(&signer, &ours), expected, "{ours_url}");

    let forged = |s: &LinkSigner, l: &Link, what: &str| match verify(s, l) {
        Err(LinkError::SignatureMismatch | LinkError::Malformed) => {}
        other => panic!("{what}: a tampered link gave {other:?}"),
    };
    let mut m = ours.clone();
    m.region.push('x');
    forged(&signer, &m, "region");
    let mut m = ours.clone();
    m.key.push('x');
    forged(&signer, &m, "key");
    let mut m = ours.clone();
    m.expires.insert(0, '0');
    forged(&signer, &m, "expiry with a leading zero");
    if expires < i64::MAX {
        let mut m = ours.clone();
        m.expires = (expires + 1).to_string();
        forged(&signer, &m, "later expiry");
    }
    let mut m = ours.clone();
    m.key_id.push('x');
    forged(&signer, &m, "key id");
    let sig_len = ours.signature.len();
    if let Some(sig) = replace_char(&ours.signature, data.len() % (sig_len - 1), BASE64) {
        let mut m = ours.clone();
        m.signature = sig;
        forged(&signer, &m, "signature");
    }
    let other = LinkSigner::new(key_id.into(), format!("{secret}x"), public_url.into());
    forged(&other, &ours, "secret");
});

/// A link as the download route sees it.
#[derive(Clone, Debug)]
struct Link {
    region: String,
    key: String,
    key_id: String,
    expires: String,
    signature: String,
}

impl Link {
    /// Splits `{public_url}/download/{region}/{key}?{query}`; `None` for anything else.
    fn parse(url: &str) -> Option<(&str, Link)> {
        let (public_url, rest) = url.split_once("/download/")?;
        let (path, query) = rest.split_once('?')?;
        let (region, key) = path.split_once('/')?;
        let decode = |s: &str| Some(percent_decode_str(s).decode_utf8().ok()?.into_owned());
        let q = RawParams::parse_urlencoded(query.as_bytes());
        let get = |k: &str| q.get(k).map(str::to_owned);
        Some((
            public_url,
            Link {
                region: decode(region)?,
                key: decode(key)?,
                key_id: get("OSSAccessKeyId")?,
                expires: get("Expires")?,
                signature: get("Signature")?,
            },
        ))
    }
}
