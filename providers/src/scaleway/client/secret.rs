//! Secret values (the API secret key, passwords, kubeconfigs) that never show in logs or errors.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `Debug` as `Name(<redacted>)` and `Display` as `<redacted>` for a secret wrapper, so the
/// value never reaches a log line or an error message.
macro_rules! redacted {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("<redacted>")
            }
        }
    };
}

/// The Scaleway API secret key, sent as `X-Auth-Token`.
///
/// `Debug` and `Display` print `SecretKey(<redacted>)`: the value is only reachable through
/// [`SecretKey::expose`], which the client calls once per request to build the header. It is
/// deliberately not `Serialize`, so it cannot end up in plan JSON or state by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Wraps a secret key.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret in clear; only for building the authentication header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the key has the UUID shape Scaleway issues secret keys in.
    pub fn is_well_formed(&self) -> bool {
        is_uuid(&self.0)
    }
}

redacted!(SecretKey);

/// A sensitive string carried in a request or response body (database passwords,
/// kubeconfig contents, certificates).
///
/// Unlike [`SecretKey`] it serializes transparently, because the API needs the clear value in
/// the JSON body; only `Debug` and `Display` redact it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a sensitive string.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the value in clear.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Consumes the wrapper and returns the value in clear.
    pub fn into_inner(self) -> String {
        self.0
    }
}

redacted!(SecretString);

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Some APIs send `null` for an empty secret; treat it as the empty string.
        Ok(Self(
            Option::<String>::deserialize(deserializer)?.unwrap_or_default(),
        ))
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

/// Whether `s` has the 8-4-4-4-12 hexadecimal shape of a UUID.
pub(crate) fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    groups.len() == lengths.len()
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}
