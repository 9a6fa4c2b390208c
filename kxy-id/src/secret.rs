//! [`SecretBox`]: encryption at rest for database passwords (AES-256-GCM).

use aes_gcm::aead::{Aead, KeyInit, OsRng, rand_core::RngCore};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::error::{Error, Result};

/// The marker of an encrypted value: `enc:v1:` + base64(nonce ‖ ciphertext ‖ tag).
const PREFIX: &str = "enc:v1:";

/// Encrypts and decrypts secrets stored in the metadata store.
///
/// Values written by the old service are plain text; [`open`](Self::open) passes them through
/// unchanged, so existing configurations keep working and are encrypted on their next write.
#[derive(Clone)]
pub struct SecretBox {
    /// The AES-256-GCM cipher with the configured key.
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// A box with a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        SecretBox {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// A box whose key is the base64 (or 64 hex digits) `text`, e.g. from `KXY_SECRET_KEY`.
    pub fn from_text(text: &str) -> Result<Self> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex digits"))
                .collect()
        } else {
            B64.decode(text).map_err(|_| {
                Error::InvalidConfig(
                    "the secret key must be 32 bytes in base64 or 64 hex digits".into(),
                )
            })?
        };
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::InvalidConfig(
                "the secret key must be exactly 32 bytes (base64 or 64 hex digits)".into(),
            )
        })?;
        Ok(Self::new(&key))
    }

    /// A new random key, as base64 text (for writing into a key file).
    pub fn generate_key_text() -> String {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        B64.encode(key)
    }

    /// Encrypts `plain` (an empty string stays empty: there is nothing to hide).
    pub fn seal(&self, plain: &str) -> String {
        if plain.is_empty() {
            return String::new();
        }
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), plain.as_bytes())
            .expect("AES-GCM encryption of a short string cannot fail");
        let mut out = Vec::with_capacity(12 + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// Decrypts a value written by [`seal`](Self::seal); plain text (the old service's) passes through.
    pub fn open(&self, stored: &str) -> Result<String> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let bad = || {
            Error::InvalidConfig(
                "a stored secret cannot be decrypted: was the secret key changed?".into(),
            )
        };
        let raw = B64.decode(encoded).map_err(|_| bad())?;
        if raw.len() < 12 + 16 {
            return Err(bad());
        }
        let (nonce, sealed) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| bad())?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), sealed)
            .map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }

    /// `true` when `stored` is an encrypted value.
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_with_random_nonces() {
        let b = SecretBox::from_text(&SecretBox::generate_key_text()).unwrap();
        let s1 = b.seal("p@ss wörd");
        let s2 = b.seal("p@ss wörd");
        assert_ne!(s1, s2);
        assert!(SecretBox::is_sealed(&s1) && !s1.contains("p@ss"));
        assert_eq!(b.open(&s1).unwrap(), "p@ss wörd");
        assert_eq!(b.open("legacy-plain").unwrap(), "legacy-plain");
        assert_eq!(b.seal(""), "");
    }

    #[test]
    fn a_wrong_key_or_tampering_is_an_error() {
        let a = SecretBox::new(&[1; 32]);
        let b = SecretBox::new(&[2; 32]);
        let sealed = a.seal("secret");
        assert!(b.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(a.open(&tampered).is_err());
        assert!(SecretBox::from_text("short").is_err());
        assert!(SecretBox::from_text(&"ab".repeat(32)).is_ok());
    }
}
