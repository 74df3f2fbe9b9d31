//! The two request signatures the OpenAPI takes, recomputed by the server
//! from what it received: V3 (`ACS3-HMAC-SHA256`, the Tea SDKs' default)
//! and V1 (`HMAC-SHA1`, the old SDKs and Tea with `signature_algorithm =
//! "v2"`), as the fact sheet's section 2 gives them, checked against its
//! test vectors.

use crate::registration::form::encode;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// V3's algorithm name, the first word of `Authorization`.
pub const V3: &str = "ACS3-HMAC-SHA256";

/// V3's StringToSign: the canonical request over `signed` headers
/// (lower-case names, as `SignedHeaders` lists them), hashed.
pub fn v3_string_to_sign(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    signed: &[&str],
    body: &[u8],
) -> String {
    let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    q.sort();
    let query = q
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical_headers = String::new();
    for name in signed {
        let mut values: Vec<&str> = headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect();
        values.sort_unstable();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let request = format!(
        "{method}\n{path}\n{query}\n{canonical_headers}\n{}\n{}",
        signed.join(";"),
        hex::encode(Sha256::digest(body))
    );
    format!("{V3}\n{}", hex::encode(Sha256::digest(request.as_bytes())))
}

/// V3's signature of `string_to_sign`: hex HMAC-SHA256 keyed with the
/// AccessKey secret.
pub fn v3_sign(secret: &str, string_to_sign: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// V1's StringToSign over every parameter but `Signature`.
pub fn v1_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut p: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    p.sort();
    let canonical = p
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!("{method}&{}&{}", encode("/"), encode(&canonical))
}

/// V1's signature of `string_to_sign`: base64 HMAC-SHA1 keyed with the
/// AccessKey secret and `&`.
pub fn v1_sign(secret: &str, string_to_sign: &str) -> String {
    use ct_codecs::Encoder;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC takes any key length");
    mac.update(string_to_sign.as_bytes());
    ct_codecs::Base64::encode_to_string(mac.finalize().into_bytes()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn v1_doc_vectors() {
        let mut p = pairs(&[
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]);
        let sts = v1_string_to_sign("GET", &p);
        assert_eq!(sts, "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26");
        assert_eq!(v1_sign("testsecret", &sts), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        // Vector 2, and `Signature` itself is never signed.
        p.retain(|(k, _)| {
            !matches!(
                k.as_str(),
                "Action" | "Format" | "Timestamp" | "SignatureNonce"
            )
        });
        p.extend(pairs(&[
            ("Action", "DescribeDedicatedHosts"),
            ("Format", "JSON"),
            ("RegionId", "cn-beijing"),
            ("Timestamp", "2023-03-13T08:34:30Z"),
            ("SignatureNonce", "edb2b34af0af9a6d14deaf7c1a5315eb"),
            ("Signature", "anything"),
        ]));
        assert_eq!(
            v1_sign("testsecret", &v1_string_to_sign("GET", &p)),
            "9NaGiOspFP5UPcwX8Iwt2YJXXuk="
        );
    }

    #[test]
    fn v3_doc_vector_and_iot_vector() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let headers = pairs(&[
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-version", "2014-05-26"),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-content-sha256", empty),
        ]);
        let query = pairs(&[
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            ),
            ("RegionId", "cn-shanghai"),
        ]);
        let signed = [
            "host",
            "x-acs-action",
            "x-acs-content-sha256",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-version",
        ];
        let sts = v3_string_to_sign("POST", "/", &query, &headers, &signed, b"");
        assert_eq!(
            v3_sign("YourAccessKeySecret", &sts),
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
        let headers = pairs(&[
            ("accept", "application/json"),
            ("host", "127.0.0.1:8080"),
            (
                "user-agent",
                "AlibabaCloud (Linux; x86_64) Python/3.11.2 Core/0.4.3 TeaDSL/2",
            ),
            ("x-acs-action", "QueryDeviceDetail"),
            // Sent and signed by the SDK, though the fact sheet's list
            // leaves it out.
            ("x-acs-content-sha256", empty),
            ("x-acs-credentials-provider", "static_ak"),
            ("x-acs-date", "2026-01-02T03:04:05Z"),
            ("x-acs-signature-nonce", "0123456789abcdef0123456789abcdef"),
            ("x-acs-version", "2018-01-20"),
        ]);
        let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        let query = pairs(&[("ProductKey", "a1BwAGVabcd"), ("DeviceName", "light 1*~")]);
        let sts = v3_string_to_sign("POST", "/", &query, &headers, &signed, b"");
        assert_eq!(
            v3_sign("testsecret", &sts),
            "d90d4a5a5ce2f8c88e8464b60324082ef5b4540c36e52c8431931c032e45c078"
        );
    }
}
