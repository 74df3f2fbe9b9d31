//! Where the OpenAPI is: `https://iot.<region>.aliyuncs.com`, by the SDKs'
//! `regional` rule, except the special regions their endpoint map sends to
//! `iot.aliyuncs.com`; `--endpoint` always wins, as the SDKs' explicit
//! endpoint does. An endpoint is HTTPS; plain `http://` is taken only for
//! a loopback host (a local emulator in tests), never across a network,
//! since every request carries the AccessKey's signature and the answers
//! carry DeviceSecrets.

use super::error::PlatformError;

/// The variable naming the region when `--region` is not given.
pub const REGION_ENV: &str = "ALIBABA_CLOUD_REGION_ID";

/// The regions the SDKs' endpoint map (named in the fact sheet) sends to
/// the central endpoint.
const CENTRAL: [&str; 9] = [
    "cn-hongkong",
    "cn-beijing-finance-1",
    "eu-west-1",
    "me-east-1",
    "ap-south-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-5",
    "cn-huhehaote",
];

/// A resolved endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https` or `http` (loopback only).
    pub scheme: &'static str,
    /// `host[:port]`, as sent in the `host` header (and signed).
    pub authority: String,
}

impl Endpoint {
    /// The URL requests are posted to (path `/`), before the query.
    pub fn base(&self) -> String {
        format!("{}://{}/", self.scheme, self.authority)
    }

    /// The host without the port.
    fn host(&self) -> &str {
        let a = self.authority.as_str();
        if let Some(rest) = a.strip_prefix('[') {
            return rest.split(']').next().unwrap_or("");
        }
        a.rsplit_once(':').map_or(a, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                a
            }
        })
    }

    /// Whether the host is this machine (no proxy is used for it).
    pub fn is_loopback(&self) -> bool {
        let h = self.host();
        h == "localhost"
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The endpoint of `region` by the SDKs' rules.
    pub fn of_region(region: &str) -> Result<Endpoint, PlatformError> {
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(PlatformError::Input(format!(
                "--region {region}: not a region ID (such as cn-shanghai)"
            )));
        }
        let authority = if CENTRAL.contains(&region) {
            "iot.aliyuncs.com".to_owned()
        } else {
            format!("iot.{region}.aliyuncs.com")
        };
        Ok(Endpoint {
            scheme: "https",
            authority,
        })
    }

    /// `--endpoint` if given, else the endpoint of `--region`, of
    /// [`REGION_ENV`], or of the credential profile's region.
    pub fn resolve(
        endpoint: Option<&Endpoint>,
        region: Option<&str>,
        profile_region: Option<&str>,
    ) -> Result<Endpoint, PlatformError> {
        if let Some(e) = endpoint {
            return Ok(e.clone());
        }
        let env = std::env::var(REGION_ENV).ok().filter(|r| !r.is_empty());
        match region.or(env.as_deref()).or(profile_region) {
            Some(r) => Endpoint::of_region(r),
            None => Err(PlatformError::Input(format!(
                "no region: give --region (such as cn-shanghai), set {REGION_ENV}, or --endpoint"
            ))),
        }
    }
}

impl std::str::FromStr for Endpoint {
    type Err = String;

    /// The endpoint named by `--endpoint`: `https://HOST[:PORT]`, a bare
    /// `HOST[:PORT]` (HTTPS), or `http://` with a loopback host; the error
    /// is the rule broken.
    fn from_str(text: &str) -> Result<Endpoint, String> {
        let (scheme, rest) = match text.split_once("://") {
            Some(("https", rest)) => ("https", rest),
            Some(("http", rest)) => ("http", rest),
            Some(_) => return Err("the scheme must be https (or http for 127.0.0.1)".into()),
            None => ("https", text),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty()
            || !authority
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        {
            return Err("give a host and optional port only, no path or query".into());
        }
        let e = Endpoint {
            scheme,
            authority: authority.to_owned(),
        };
        if scheme == "http" && !e.is_loopback() {
            return Err(
                "plain http is taken only for a loopback host (a local emulator); the platform is https"
                    .into(),
            );
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Endpoint, String> {
        text.parse()
    }

    #[test]
    fn regional_rule_and_map() {
        assert_eq!(
            Endpoint::of_region("cn-shanghai").expect("ok").base(),
            "https://iot.cn-shanghai.aliyuncs.com/"
        );
        assert_eq!(
            Endpoint::of_region("cn-hongkong").expect("ok").authority,
            "iot.aliyuncs.com"
        );
        assert!(Endpoint::of_region("cn-shanghai/x").is_err());
        assert!(Endpoint::of_region("").is_err());
    }

    #[test]
    fn explicit_endpoint_wins_and_http_is_loopback_only() {
        let given: Endpoint = "http://127.0.0.1:8080".parse().expect("ok");
        let e = Endpoint::resolve(Some(&given), Some("cn-shanghai"), None).expect("ok");
        assert_eq!(e.base(), "http://127.0.0.1:8080/");
        assert_eq!(e.authority, "127.0.0.1:8080");
        assert!(parse("http://[::1]:9/").expect("ok").is_loopback());
        assert!(parse("http://localhost:9").is_ok());
        let e = parse("http://iot.cn-shanghai.aliyuncs.com").unwrap_err();
        assert!(e.to_string().contains("loopback"), "{e}");
        assert!(parse("http://10.0.0.1:80").is_err());
        assert!(parse("ftp://127.0.0.1").is_err());
        assert!(parse("https://h/x?y").is_err());
        assert_eq!(
            parse("iot.example.com:8443").expect("ok").base(),
            "https://iot.example.com:8443/"
        );
        assert!(!parse("iot.example.com:8443").expect("ok").is_loopback());
    }
}
