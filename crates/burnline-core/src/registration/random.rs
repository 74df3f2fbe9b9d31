//! Random alphanumeric strings from the operating system's generator: the
//! `random` nonce of a registration request, and the DeviceSecrets the
//! emulator issues.

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `len` characters of `A-Za-z0-9`, uniformly drawn (bytes of 248 or more
/// are rejected so that each character is equally likely).
pub fn alphanumeric(len: usize) -> Result<String, getrandom::Error> {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf)?;
        for b in buf {
            if out.len() == len {
                break;
            }
            if b < 248 {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape() {
        let a = alphanumeric(32).expect("random");
        let b = alphanumeric(32).expect("random");
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        assert_eq!(alphanumeric(0).expect("random"), "");
    }
}
