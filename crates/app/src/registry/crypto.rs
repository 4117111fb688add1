//! Personal data at rest: ID numbers and phones are stored encrypted (ChaCha20-Poly1305, random
//! 96-bit nonce per value) plus an HMAC-SHA256 blind index for lookups and uniqueness, so a
//! database dump alone reveals neither. The 32-byte master key comes from `TONGXIN_DATA_KEY`
//! (64 hex characters); two sub-keys are derived from it, one per purpose.

use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Environment variable holding the master key (64 hex characters = 32 bytes).
pub const DATA_KEY_ENV: &str = "TONGXIN_DATA_KEY";

/// DEVELOPMENT-ONLY default key ("tongxin-dev-only-not-for-product" in ASCII). Used when
/// `TONGXIN_DATA_KEY` is unset so that the demo and tests run; production must set its own key.
pub const DEV_DATA_KEY: &str = "746f6e6778696e2d6465762d6f6e6c792d6e6f742d666f722d70726f64756374";

/// Prefix of values written by this module (format version 1).
pub const CIPHER_PREFIX: &str = "v1:";

type HmacSha256 = Hmac<Sha256>;

/// Encrypts, decrypts and blind-indexes personal data.
#[derive(Clone)]
pub struct PersonalCrypto {
    cipher: ChaCha20Poly1305,
    mac_key: [u8; 32],
    dev: bool,
}

impl std::fmt::Debug for PersonalCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonalCrypto").field("dev_key", &self.dev).finish_non_exhaustive()
    }
}

fn derive(master: &[u8], label: &str) -> [u8; 32] {
    let mut m = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    m.update(label.as_bytes());
    m.finalize().into_bytes().into()
}

impl PersonalCrypto {
    /// From a 64-hex-character master key.
    pub fn from_hex(key_hex: &str) -> Result<PersonalCrypto, String> {
        let master = hex::decode(key_hex.trim()).map_err(|_| {
            format!("{DATA_KEY_ENV} 须为 64 位十六进制字符 / {DATA_KEY_ENV} must be 64 hexadecimal characters")
        })?;
        if master.len() != 32 {
            return Err(format!(
                "{DATA_KEY_ENV} 须为 32 字节（64 位十六进制），实际 {} 字节 / {DATA_KEY_ENV} must be 32 bytes (64 hex), got {}",
                master.len(),
                master.len()
            ));
        }
        let enc = derive(&master, "tongxin/personal-data/enc/v1");
        Ok(PersonalCrypto {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&enc)),
            mac_key: derive(&master, "tongxin/personal-data/mac/v1"),
            dev: key_hex.trim().eq_ignore_ascii_case(DEV_DATA_KEY),
        })
    }

    /// The development key (see [`DEV_DATA_KEY`]).
    pub fn dev() -> PersonalCrypto {
        PersonalCrypto::from_hex(DEV_DATA_KEY).expect("the built-in dev key is valid")
    }

    /// From `TONGXIN_DATA_KEY`, or the development key (with a warning) when it is unset.
    pub fn from_env() -> Result<PersonalCrypto, String> {
        match std::env::var(DATA_KEY_ENV) {
            Ok(k) if !k.trim().is_empty() => PersonalCrypto::from_hex(&k),
            _ => {
                tracing::warn!(
                    "未设置 {DATA_KEY_ENV}，个人数据使用开发密钥加密，仅供演示 / {DATA_KEY_ENV} is not set: \
                     personal data is encrypted with the DEVELOPMENT key, for demos only"
                );
                Ok(PersonalCrypto::dev())
            }
        }
    }

    /// Whether this is the development key.
    pub fn is_dev_key(&self) -> bool {
        self.dev
    }

    /// Encrypts `plain` as `v1:` + base64(nonce ‖ ciphertext ‖ tag).
    pub fn encrypt(&self, plain: &str) -> String {
        // Encrypted in place in one buffer and encoded into one string: the city seed encrypts
        // millions of phones.
        let mut buf = Vec::with_capacity(12 + plain.len() + 16);
        buf.extend_from_slice(&[0u8; 12]);
        rand::thread_rng().fill_bytes(&mut buf[..12]);
        buf.extend_from_slice(plain.as_bytes());
        let (nonce, body) = buf.split_at_mut(12);
        let tag =
            self.cipher.encrypt_in_place_detached(Nonce::from_slice(nonce), b"", body).expect("in-memory encryption");
        buf.extend_from_slice(&tag);
        let mut out = String::with_capacity(CIPHER_PREFIX.len() + buf.len().div_ceil(3) * 4);
        out.push_str(CIPHER_PREFIX);
        base64::engine::general_purpose::STANDARD_NO_PAD.encode_string(&buf, &mut out);
        out
    }

    /// Decrypts a value written by [`PersonalCrypto::encrypt`]; `None` when it was written under
    /// another key or altered. Values without the prefix are legacy plain text and returned as
    /// they are (they are re-encrypted by `App::encrypt_legacy_personal_data`).
    pub fn decrypt(&self, stored: &str) -> Option<String> {
        let Some(b64) = stored.strip_prefix(CIPHER_PREFIX) else {
            return Some(stored.to_string());
        };
        let buf = base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64).ok()?;
        if buf.len() < 12 + 16 {
            return None;
        }
        let plain = self.cipher.decrypt(Nonce::from_slice(&buf[..12]), &buf[12..]).ok()?;
        String::from_utf8(plain).ok()
    }

    /// Keyed hash of `value` for lookups and uniqueness; `purpose` separates ID numbers from
    /// phones so equal strings of different kinds do not collide.
    pub fn blind(&self, purpose: &str, value: &str) -> String {
        let mut m = <HmacSha256 as Mac>::new_from_slice(&self.mac_key).expect("HMAC takes any key length");
        m.update(purpose.as_bytes());
        m.update(&[0]);
        m.update(value.trim().to_ascii_uppercase().as_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    /// Blind index of an ID number.
    pub fn id_hash(&self, id_number: &str) -> String {
        self.blind("id", id_number)
    }

    /// Blind index of a phone number.
    pub fn phone_hash(&self, phone: &str) -> String {
        self.blind("phone", phone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_no_plain_text() {
        let c = PersonalCrypto::dev();
        let e = c.encrypt("11010519491231002X");
        assert!(e.starts_with(CIPHER_PREFIX));
        assert!(!e.contains("19491231"));
        assert_ne!(e, c.encrypt("11010519491231002X"), "random nonce per value");
        assert_eq!(c.decrypt(&e).as_deref(), Some("11010519491231002X"));
    }

    #[test]
    fn other_key_or_tampering_fails() {
        let a = PersonalCrypto::dev();
        let b = PersonalCrypto::from_hex(&"ab".repeat(32)).unwrap();
        let e = a.encrypt("13812341234");
        assert_eq!(b.decrypt(&e), None);
        let mut t = e.clone();
        t.pop();
        t.push(if e.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(a.decrypt(&t), None);
        assert_ne!(a.id_hash("13812341234"), b.id_hash("13812341234"));
        assert_ne!(a.id_hash("13812341234"), a.phone_hash("13812341234"));
        assert_eq!(a.id_hash("11010519491231002x"), a.id_hash(" 11010519491231002X"));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(PersonalCrypto::from_hex("zz").is_err());
        assert!(PersonalCrypto::from_hex("abcd").is_err());
        assert!(PersonalCrypto::dev().is_dev_key());
    }
}
