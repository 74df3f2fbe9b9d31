//! The platform's request signature: HMAC over the parameters sorted by name,
//! each name followed by its value with no separators. Dynamic registration
//! signs with the ProductSecret, the MQTT connect and `/auth` with the
//! DeviceSecret. The signature is hex; the platform compares it without
//! regard to case, and so does [`verify`].

use hmac::{Hmac, Mac};
use std::fmt;
use std::str::FromStr;

/// The HMAC the signature is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignMethod {
    /// `hmacsha256`, the SDKs' default.
    #[default]
    HmacSha256,
    /// `hmacsha1`.
    HmacSha1,
    /// `hmacmd5`.
    HmacMd5,
}

impl SignMethod {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SignMethod::HmacSha256 => "hmacsha256",
            SignMethod::HmacSha1 => "hmacsha1",
            SignMethod::HmacMd5 => "hmacmd5",
        }
    }
}

impl fmt::Display for SignMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sign method name that is not one of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sign method `{0}` (expected hmacsha256, hmacsha1 or hmacmd5)")]
pub struct UnknownSignMethod(pub String);

impl FromStr for SignMethod {
    type Err = UnknownSignMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "hmacsha256" => Ok(SignMethod::HmacSha256),
            "hmacsha1" => Ok(SignMethod::HmacSha1),
            "hmacmd5" => Ok(SignMethod::HmacMd5),
            _ => Err(UnknownSignMethod(s.to_owned())),
        }
    }
}

/// The string that is signed: `params` sorted by name, each name followed by
/// its value.
pub fn canonical(params: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    sorted.iter().fold(String::new(), |mut s, (k, v)| {
        s.push_str(k);
        s.push_str(v);
        s
    })
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
    match <M as hmac::digest::KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// HMAC of `data` under `key`, as raw bytes.
pub fn hmac_raw(method: SignMethod, key: &[u8], data: &[u8]) -> Vec<u8> {
    match method {
        SignMethod::HmacSha256 => mac::<Hmac<sha2::Sha256>>(key, data),
        SignMethod::HmacSha1 => mac::<Hmac<sha1::Sha1>>(key, data),
        SignMethod::HmacMd5 => mac::<Hmac<md5::Md5>>(key, data),
    }
}

/// The signature of `params` under `key`, as lower-case hex.
pub fn sign(method: SignMethod, key: &[u8], params: &[(&str, &str)]) -> String {
    hex::encode(hmac_raw(method, key, canonical(params).as_bytes()))
}

/// Whether `given` (hex, either case) is the signature of `params`. The
/// comparison takes the same time wherever the first difference is.
pub fn verify(method: SignMethod, key: &[u8], params: &[(&str, &str)], given: &str) -> bool {
    let Ok(given) = hex::decode(given.to_ascii_lowercase()) else {
        return false;
    };
    let want = hmac_raw(method, key, canonical(params).as_bytes());
    want.len() == given.len()
        && want
            .iter()
            .zip(&given)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const PK: &str = "a1X2bEnP82z";
    const PS: &str = "7jluWm1zql7bt8qK";
    const DN: &str = "example1";
    const DS: &str = "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe";
    const RANDOM: &str = "8Ygb7ULYh53B6OA";

    fn registration_params() -> [(&'static str, &'static str); 3] {
        // Deliberately out of order: canonical() sorts.
        [("random", RANDOM), ("productKey", PK), ("deviceName", DN)]
    }

    #[test]
    fn canonical_string_sorts_by_name() {
        assert_eq!(
            canonical(&registration_params()),
            "deviceNameexample1productKeya1X2bEnP82zrandom8Ygb7ULYh53B6OA"
        );
    }

    #[test]
    fn official_doc_vector_sha1() {
        let params = [
            ("timestamp", "789"),
            ("productKey", "pk"),
            ("deviceName", "device"),
            ("clientId", "12345"),
        ];
        assert_eq!(
            canonical(&params),
            "clientId12345deviceNamedeviceproductKeypktimestamp789"
        );
        let got = sign(SignMethod::HmacSha1, b"secret", &params);
        assert_eq!(
            got.to_uppercase(),
            "FAFD82A3D602B37FB0FA8B7892F24A477F851A14"
        );
    }

    #[test]
    fn v1_registration_sha256() {
        assert_eq!(
            sign(
                SignMethod::HmacSha256,
                PS.as_bytes(),
                &registration_params()
            ),
            "37c9d9c4dcab7fc75d65d25547a4e11080e59dd82f3255aafc90d83498480e88"
        );
    }

    #[test]
    fn v1_registration_sha1() {
        assert_eq!(
            sign(SignMethod::HmacSha1, PS.as_bytes(), &registration_params()),
            "3fa1991d5318b431194521321b33de0d926dbd2b"
        );
    }

    #[test]
    fn v1_registration_md5() {
        assert_eq!(
            sign(SignMethod::HmacMd5, PS.as_bytes(), &registration_params()),
            "85f7f00ec3fde741cf933b133bee3835"
        );
    }

    #[test]
    fn v2_mqtt_c_sdk_sha256() {
        let client_id = format!("{PK}.{DN}");
        let params = [
            ("clientId", client_id.as_str()),
            ("deviceName", DN),
            ("productKey", PK),
            ("timestamp", "2524608000000"),
        ];
        assert_eq!(
            sign(SignMethod::HmacSha256, DS.as_bytes(), &params).to_uppercase(),
            "B8CE8F1D706DD3C61D13BFD9855DEF7E321B785084CA9C93F0169A2B46785DD2"
        );
    }

    #[test]
    fn verify_accepts_either_case_and_rejects_others() {
        let p = registration_params();
        let lower = "37c9d9c4dcab7fc75d65d25547a4e11080e59dd82f3255aafc90d83498480e88";
        assert!(verify(SignMethod::HmacSha256, PS.as_bytes(), &p, lower));
        assert!(verify(
            SignMethod::HmacSha256,
            PS.as_bytes(),
            &p,
            &lower.to_uppercase()
        ));
        assert!(!verify(SignMethod::HmacSha256, b"wrong", &p, lower));
        assert!(!verify(SignMethod::HmacSha1, PS.as_bytes(), &p, lower));
        assert!(!verify(SignMethod::HmacSha256, PS.as_bytes(), &p, "zz"));
        assert!(!verify(
            SignMethod::HmacSha256,
            PS.as_bytes(),
            &p,
            &lower[..62]
        ));
    }

    #[test]
    fn method_names() {
        for m in [
            SignMethod::HmacSha256,
            SignMethod::HmacSha1,
            SignMethod::HmacMd5,
        ] {
            assert_eq!(m.as_str().parse::<SignMethod>(), Ok(m));
        }
        assert_eq!("HmacSHA1".parse::<SignMethod>(), Ok(SignMethod::HmacSha1));
        assert!("sha512".parse::<SignMethod>().is_err());
    }
}
