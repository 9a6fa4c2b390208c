//! The old service's admin password: DES-CBC with the key as IV, PKCS5 padding, hex. Read
//! once at login (then replaced by a bcrypt hash); written only by tests that fill a store as
//! the old service did.

/// Decrypts the old service's admin password: DES-CBC, key and IV = `des_key`, PKCS5, hex.
pub fn des_decrypt_hex(hex: &str, des_key: &str) -> Option<String> {
    use cbc::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
    let key = des_key.as_bytes();
    if key.len() != 8 || !hex.len().is_multiple_of(16) || hex.is_empty() {
        return None;
    }
    let data: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    let dec = cbc::Decryptor::<des::Des>::new_from_slices(key, key).ok()?;
    let plain = dec.decrypt_padded_vec_mut::<Pkcs7>(&data).ok()?;
    String::from_utf8(plain).ok()
}

/// Encrypts like the old service did (for tests that fill a store as it would).
pub fn des_encrypt_hex(plain: &str, des_key: &str) -> String {
    use cbc::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
    let key = des_key.as_bytes();
    let enc = cbc::Encryptor::<des::Des>::new_from_slices(key, key).expect("an 8-byte DES key");
    enc.encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
