//! Sealing of sensitive values with AES-256-GCM, and where the key comes from.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

use crate::StateError;

/// Environment variable holding a base64-encoded 32-byte key.
pub const KEY_VARIABLE: &str = "KAPSTAN_STATE_KEY";
/// Environment variable holding a passphrase (stretched with Argon2id).
pub const PASSPHRASE_VARIABLE: &str = "KAPSTAN_STATE_PASSPHRASE";

// A fixed, versioned salt: every value is sealed with a random nonce, and the key must be
// derivable from the passphrase alone on any machine and for any store (migration, restore).
const PASSPHRASE_SALT: &[u8] = b"kapstan-state-passphrase-v1";

/// Where the state key comes from.
#[derive(Clone)]
pub enum KeySource {
    /// A raw 32-byte key.
    Raw([u8; 32]),
    /// A passphrase stretched with Argon2id.
    Passphrase(String),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Raw(_) => f.write_str("KeySource::Raw(<redacted>)"),
            Self::Passphrase(_) => f.write_str("KeySource::Passphrase(<redacted>)"),
        }
    }
}

impl KeySource {
    /// Reads `KAPSTAN_STATE_KEY` or `KAPSTAN_STATE_PASSPHRASE` through `lookup` (the key wins).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, StateError> {
        if let Some(raw) = lookup(KEY_VARIABLE).filter(|v| !v.trim().is_empty()) {
            return Self::parse_raw(KEY_VARIABLE, raw.trim()).map(Some);
        }
        Ok(lookup(PASSPHRASE_VARIABLE)
            .filter(|v| !v.is_empty())
            .map(Self::Passphrase))
    }

    /// Reads the key from the process environment.
    pub fn from_env() -> Result<Option<Self>, StateError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Parses a base64 key of exactly 32 bytes.
    pub fn parse_raw(variable: &str, text: &str) -> Result<Self, StateError> {
        let bytes = B64.decode(text).map_err(|e| StateError::BadKey {
            variable: variable.to_string(),
            reason: format!("not base64 ({e}); generate one with `openssl rand -base64 32`"),
        })?;
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| StateError::BadKey {
            variable: variable.to_string(),
            reason: format!(
                "decodes to {} bytes, expected 32; generate one with `openssl rand -base64 32`",
                b.len()
            ),
        })?;
        Ok(Self::Raw(key))
    }

    /// Loads the key file at `path`, creating it (mode 0600) with a random key if missing.
    pub fn load_or_create_file(path: &Path) -> Result<Self, StateError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse_raw(&path.display().to_string(), text.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::fill(&mut key);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| StateError::Io {
                        action: "creating",
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                write_private(path, format!("{}\n", B64.encode(key)).as_bytes())?;
                Ok(Self::Raw(key))
            }
            Err(source) => Err(StateError::Io {
                action: "reading",
                path: path.to_path_buf(),
                source,
            }),
        }
    }
}

/// Writes a new file readable by its owner only, synced to disk.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).map_err(|source| StateError::Io {
        action: "creating",
        path: path.to_path_buf(),
        source,
    })?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|source| StateError::Io {
            action: "writing",
            path: path.to_path_buf(),
            source,
        })
}

/// Seals and opens single values with AES-256-GCM.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
    fingerprint: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer({})", self.fingerprint)
    }
}

impl Sealer {
    /// Derives the sealing key from its source.
    pub fn new(source: &KeySource) -> Result<Self, StateError> {
        let key: [u8; 32] = match source {
            KeySource::Raw(k) => *k,
            KeySource::Passphrase(p) => {
                let mut out = [0u8; 32];
                argon2::Argon2::default()
                    .hash_password_into(p.as_bytes(), PASSPHRASE_SALT, &mut out)
                    .map_err(|e| StateError::BadKey {
                        variable: PASSPHRASE_VARIABLE.to_string(),
                        reason: e.to_string(),
                    })?;
                out
            }
        };
        let mut h = Sha256::new();
        h.update(b"kapstan-key-fingerprint");
        h.update(key);
        let fingerprint = hex::encode(&h.finalize()[..6]);
        let cipher = Aes256Gcm::new_from_slice(&key).expect("32-byte key");
        Ok(Self {
            cipher,
            fingerprint,
        })
    }

    /// A short public fingerprint of the key (not reversible).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Seals `plain`, bound to `context` (address and path) so a sealed value cannot be moved.
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<String, StateError> {
        let mut nonce = [0u8; 12];
        rand::fill(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StateError::Seal {
                action: "seal",
                address: context.to_string(),
                reason: "encryption failed".into(),
            })?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        Ok(format!("k1:{}:{}", self.fingerprint, B64.encode(blob)))
    }

    /// Opens a value sealed by [`Sealer::seal`] with the same `context`.
    pub fn open(&self, stack: &str, context: &str, sealed: &str) -> Result<Vec<u8>, StateError> {
        let bad = |reason: &str| StateError::Seal {
            action: "open",
            address: context.to_string(),
            reason: reason.to_string(),
        };
        let mut parts = sealed.splitn(3, ':');
        let (Some("k1"), Some(fp), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("unknown sealed format"));
        };
        if fp != self.fingerprint {
            return Err(StateError::WrongKey {
                stack: stack.to_string(),
                expected: fp.to_string(),
                found: self.fingerprint.clone(),
            });
        }
        let blob = B64.decode(body).map_err(|_| bad("not base64"))?;
        if blob.len() < 12 {
            return Err(bad("too short"));
        }
        let (nonce, ct) = blob.split_at(12);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| bad("authentication failed (altered value)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_binding() {
        let s = Sealer::new(&KeySource::Raw([7; 32])).unwrap();
        let sealed = s.seal("a/b", b"hunter2").unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_eq!(s.open("st", "a/b", &sealed).unwrap(), b"hunter2");
        assert!(
            s.open("st", "a/c", &sealed).is_err(),
            "moved value must not open"
        );
        let other = Sealer::new(&KeySource::Raw([8; 32])).unwrap();
        assert!(matches!(
            other.open("st", "a/b", &sealed),
            Err(StateError::WrongKey { .. })
        ));
    }

    #[test]
    fn bad_keys_are_named() {
        let err = KeySource::parse_raw("KAPSTAN_STATE_KEY", "AAAA").unwrap_err();
        assert!(err.to_string().contains("expected 32"), "{err}");
        let err = KeySource::parse_raw("KAPSTAN_STATE_KEY", "!!").unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
    }

    #[test]
    fn debug_redacts() {
        let k = KeySource::Passphrase("correct horse".into());
        assert!(!format!("{k:?}").contains("horse"));
    }
}
