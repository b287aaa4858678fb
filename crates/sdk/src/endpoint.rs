//! Where requests go: a base URL (`scheme://host[:port]`) and the `host` value that v3 signs.

use crate::error::SdkError;

/// Alibaba Cloud's RDS endpoint, used when nothing else is configured.
pub const ALIBABA_RDS_ENDPOINT: &str = "rds.aliyuncs.com";

/// A parsed endpoint.
///
/// Accepted forms: `http://127.0.0.1:8080`, `https://rds.aliyuncs.com`, or a bare
/// `host[:port]`. A bare host means https (as the Tea SDKs default), except loopback hosts
/// (`127.x.x.x`, `localhost`, `[::1]`), which mean http since a local xbak serves plain http.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    scheme: &'static str,
    /// `host` or `host:port`, exactly as the `Host` header carries it (default ports omitted).
    authority: String,
}

impl Endpoint {
    /// Parses an endpoint string (see the type docs).
    pub fn parse(s: &str) -> Result<Endpoint, SdkError> {
        let s = s.trim().trim_end_matches('/');
        let (scheme, rest) = if let Some(r) = s.strip_prefix("http://") {
            ("http", r)
        } else if let Some(r) = s.strip_prefix("https://") {
            ("https", r)
        } else if s.contains("://") {
            return Err(SdkError::Config(format!(
                "endpoint {s:?}: only http:// and https:// are supported"
            )));
        } else {
            let host = split_port(s).map_or(s, |(h, _)| h);
            (if is_loopback(host) { "http" } else { "https" }, s)
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(SdkError::Config(format!(
                "endpoint {s:?} must be scheme://host[:port] with no path"
            )));
        }
        let (host, port) = split_port(rest).ok_or_else(|| {
            SdkError::Config(format!(
                "endpoint {s:?}: write host[:port] (IPv6 hosts in brackets, [::1]:8080)"
            ))
        })?;
        let authority = match port {
            Some(p) if (scheme == "http" && p == 80) || (scheme == "https" && p == 443) => {
                host.to_owned()
            }
            _ => rest.to_owned(),
        };
        Ok(Endpoint { scheme, authority })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        self.scheme
    }

    /// The `Host` header value (v3 signs it).
    pub fn host(&self) -> &str {
        &self.authority
    }

    /// `scheme://authority`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.base_url())
    }
}

/// Splits `host[:port]` / `[v6][:port]`; `None` when malformed.
fn split_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if s.starts_with('[') {
        let close = s.find(']')?;
        match &s[close + 1..] {
            "" => (&s[..=close], None),
            p => (&s[..=close], Some(p.strip_prefix(':')?)),
        }
    } else {
        match s.split_once(':') {
            None => (s, None),
            Some((h, p)) => (h, Some(p)),
        }
    };
    if host.is_empty() || host == "[]" {
        return None;
    }
    match port {
        None => Some((host, None)),
        Some(p) => Some((host, Some(p.parse::<u16>().ok()?))),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn forms() {
        for (given, base_url, host) in [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080",
                "127.0.0.1:8080",
            ),
            ("127.0.0.1:8080/", "http://127.0.0.1:8080", "127.0.0.1:8080"),
            (
                "rds.aliyuncs.com",
                "https://rds.aliyuncs.com",
                "rds.aliyuncs.com",
            ),
            (
                "https://rds.aliyuncs.com:443",
                "https://rds.aliyuncs.com",
                "rds.aliyuncs.com",
            ),
            ("http://localhost:80", "http://localhost", "localhost"),
            ("https://h:8443", "https://h:8443", "h:8443"),
            ("[::1]:9000", "http://[::1]:9000", "[::1]:9000"),
        ] {
            let e = Endpoint::parse(given).unwrap();
            assert_eq!(
                (e.base_url().as_str(), e.host()),
                (base_url, host),
                "{given}"
            );
        }
        for bad in ["", "ftp://x", "http://h/path", "http://h:x", "::1:80"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
