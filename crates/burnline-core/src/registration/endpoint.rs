//! Where registration goes: a base URL given by the user, or the region's
//! `https://iot-auth.<region>.aliyuncs.com`. The platform's answer carries a
//! DeviceSecret in clear, so `http://` is accepted only for a loopback host
//! (127.0.0.0/8, ::1, `localhost`), such as a local emulator; everything
//! else must be `https://`. All of this is decided from the text of the URL,
//! before any connection is attempted.

use std::net::IpAddr;

/// The region used when none is given.
pub const DEFAULT_REGION: &str = "cn-shanghai";

/// The path of dynamic registration, appended to the base URL.
pub const REGISTER_PATH: &str = "/auth/register/device";

/// The path of the device's HTTP authentication, appended to the base URL.
pub const AUTH_PATH: &str = "/auth";

/// A checked base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: String,
    https: bool,
    loopback: bool,
}

/// Why a URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not a URL this tool can use.
    #[error("endpoint `{url}` is not a usable URL: {why}")]
    Malformed {
        /// The URL as given.
        url: String,
        /// What is wrong.
        why: String,
    },
    /// Plain HTTP to a host that is not loopback.
    #[error(
        "endpoint `{url}`: plain http:// is allowed only for a loopback host (127.0.0.0/8, ::1, localhost), \
         because the answer carries the DeviceSecret in clear; use https://"
    )]
    PlainHttp {
        /// The URL as given.
        url: String,
    },
    /// A region name that cannot be part of a host name.
    #[error("{}", region_rule_broken(.0))]
    BadRegion(String),
}

/// The longest region name: it becomes one label of a host name, and a DNS
/// label has at most 63 characters.
pub const REGION_MAX: usize = 63;

/// The region rule, the same on the host (recipes) and on the device (the
/// record): 1 to [`REGION_MAX`] ASCII letters, digits and `-`.
pub fn region_ok(region: &str) -> bool {
    (1..=REGION_MAX).contains(&region.len())
        && region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn region_rule_broken(region: &str) -> String {
    let rule = format!("1 to {REGION_MAX} letters, digits and `-`");
    if region.len() > REGION_MAX {
        format!(
            "a region of {} characters is not a region name ({rule})",
            region.chars().count()
        )
    } else {
        format!("region `{region}` is not a region name ({rule})")
    }
}

fn malformed(url: &str, why: &str) -> EndpointError {
    EndpointError::Malformed {
        url: url.to_owned(),
        why: why.to_owned(),
    }
}

/// Whether `host` (without brackets) is a loopback host.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

impl std::str::FromStr for Endpoint {
    type Err = EndpointError;

    /// [`Endpoint::parse`], for the command line.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Endpoint::parse(s)
    }
}

impl Endpoint {
    /// Checks a base URL such as `https://iot-auth.cn-shanghai.aliyuncs.com`
    /// or `http://127.0.0.1:8080` (an optional path prefix is kept).
    pub fn parse(url: &str) -> Result<Self, EndpointError> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| malformed(url, "it has no scheme (https://...)"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => {
                return Err(malformed(
                    url,
                    "the scheme must be https (or http for a loopback emulator)",
                ))
            }
        };
        if rest.contains(['?', '#']) {
            return Err(malformed(url, "a base URL takes no query or fragment"));
        }
        if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(malformed(url, "it contains spaces or control characters"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(malformed(
                url,
                "user names or passwords in the URL are not supported",
            ));
        }
        let (host, port) = if let Some(after) = authority.strip_prefix('[') {
            let (h, tail) = after
                .split_once(']')
                .ok_or_else(|| malformed(url, "an IPv6 address lacks its `]`"))?;
            if h.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(malformed(url, "the address in [ ] is not IPv6"));
            }
            let port = match tail {
                "" => None,
                t => Some(
                    t.strip_prefix(':')
                        .ok_or_else(|| malformed(url, "junk after `]`"))?,
                ),
            };
            (h, port)
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(malformed(url, "it has no host"));
        }
        if !authority.starts_with('[')
            && !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(malformed(
                url,
                "the host name has characters a host name cannot have",
            ));
        }
        if let Some(p) = port {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => {}
                _ => return Err(malformed(url, "the port must be a number from 1 to 65535")),
            }
        }
        let loopback = is_loopback_host(host);
        if !https && !loopback {
            return Err(EndpointError::PlainHttp {
                url: url.to_owned(),
            });
        }
        let base = format!(
            "{}://{}{}",
            if https { "https" } else { "http" },
            authority,
            path.trim_end_matches('/')
        );
        if base.parse::<ureq::http::Uri>().is_err() {
            return Err(malformed(url, "it does not parse as a URI"));
        }
        Ok(Endpoint {
            base,
            https,
            loopback,
        })
    }

    /// The platform's endpoint for `region`.
    pub fn for_region(region: &str) -> Result<Self, EndpointError> {
        if !region_ok(region) {
            return Err(EndpointError::BadRegion(region.to_owned()));
        }
        Endpoint::parse(&format!("https://iot-auth.{region}.aliyuncs.com"))
    }

    /// The platform's HTTP device-authentication host for `region`,
    /// `https://iot-as-http.<region>.aliyuncs.com` (not the registration host).
    pub fn http_auth_for_region(region: &str) -> Result<Self, EndpointError> {
        Endpoint::for_region(region)?;
        Endpoint::parse(&format!("https://iot-as-http.{region}.aliyuncs.com"))
    }

    /// `endpoint` if given, else the endpoint of `region` (default
    /// [`DEFAULT_REGION`]).
    pub fn resolve(endpoint: Option<&str>, region: Option<&str>) -> Result<Self, EndpointError> {
        match endpoint {
            Some(url) => Endpoint::parse(url),
            None => Endpoint::for_region(region.unwrap_or(DEFAULT_REGION)),
        }
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The dynamic registration URL.
    pub fn register_url(&self) -> String {
        format!("{}{REGISTER_PATH}", self.base)
    }

    /// The device authentication URL.
    pub fn auth_url(&self) -> String {
        format!("{}{AUTH_PATH}", self.base)
    }

    /// Whether it is `https://`.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Whether the host is a loopback host.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts() {
        let e = Endpoint::parse("http://127.0.0.1:8080/").expect("loopback http");
        assert_eq!(
            e.register_url(),
            "http://127.0.0.1:8080/auth/register/device"
        );
        assert!(Endpoint::parse("http://127.3.4.5").is_ok());
        assert!(Endpoint::parse("http://[::1]:99").is_ok());
        assert!(Endpoint::parse("HTTP://LocalHost:1").is_ok());
        let e = Endpoint::parse("https://example.com/prefix").expect("https");
        assert_eq!(e.auth_url(), "https://example.com/prefix/auth");
        let r = Endpoint::resolve(None, None).expect("default");
        assert_eq!(
            r.register_url(),
            "https://iot-auth.cn-shanghai.aliyuncs.com/auth/register/device"
        );
        assert_eq!(
            Endpoint::resolve(None, Some("ap-southeast-1"))
                .expect("region")
                .base(),
            "https://iot-auth.ap-southeast-1.aliyuncs.com"
        );
    }

    #[test]
    fn refuses() {
        for url in [
            "http://10.0.0.1:8080",
            "http://192.168.1.2",
            "http://example.com",
            "http://localhost.example.com",
            "http://[::2]",
        ] {
            assert!(
                matches!(Endpoint::parse(url), Err(EndpointError::PlainHttp { .. })),
                "{url}"
            );
        }
        for url in [
            "127.0.0.1:8080",
            "ftp://x",
            "https://",
            "https://a b",
            "https://h:0",
            "https://h:99999",
            "https://h:x",
            "https://u:p@h",
            "https://h/?q",
            "https://h_h",
            "https://[::1",
        ] {
            assert!(
                matches!(Endpoint::parse(url), Err(EndpointError::Malformed { .. })),
                "{url}"
            );
        }
        assert!(matches!(
            Endpoint::for_region("cn/x"),
            Err(EndpointError::BadRegion(_))
        ));
        // One DNS label at most: a longer name could never resolve.
        assert!(Endpoint::for_region(&"r".repeat(63)).is_ok());
        let long = "r".repeat(65_000);
        let e = Endpoint::for_region(&long).expect_err("too long");
        assert_eq!(
            e.to_string(),
            "a region of 65000 characters is not a region name (1 to 63 letters, digits and `-`)"
        );
    }
}
