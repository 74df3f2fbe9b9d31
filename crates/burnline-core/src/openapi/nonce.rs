//! The per-request nonce (`SignatureNonce`, `x-acs-signature-nonce`): 32
//! lower-case hex digits from the operating system's generator, the shape
//! the SDKs send (an md5 hex).

/// A fresh nonce.
pub fn fresh() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn shape_and_freshness() {
        let a = super::fresh().expect("random");
        let b = super::fresh().expect("random");
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }
}
