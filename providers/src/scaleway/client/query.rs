//! Query strings the Scaleway way: repeated keys for arrays, absent options omitted.

use std::fmt::Display;

/// An ordered list of query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key=value`.
    pub fn push(mut self, key: &str, value: impl Display) -> Self {
        self.0.push((key.to_owned(), value.to_string()));
        self
    }

    /// Appends `key=value` when `value` is `Some`.
    pub fn opt<V: Display>(self, key: &str, value: Option<V>) -> Self {
        match value {
            Some(v) => self.push(key, v),
            None => self,
        }
    }

    /// Appends `key=v` for every element (`tags=a&tags=b`).
    pub fn each<V: Display>(mut self, key: &str, values: impl IntoIterator<Item = V>) -> Self {
        for v in values {
            self = self.push(key, v);
        }
        self
    }

    /// Replaces every `key` with a single `key=value`.
    pub fn set(mut self, key: &str, value: impl Display) -> Self {
        self.0.retain(|(k, _)| k != key);
        self.push(key, value)
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The pairs, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Percent-encodes one path segment (an ID, a database or user name).
pub fn path_segment(s: &str) -> String {
    use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
    // Everything outside the RFC 3986 unreserved set, plus `$` which RDB user names allow.
    const SEGMENT: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'/')
        .add(b'?')
        .add(b'<')
        .add(b'>')
        .add(b'`')
        .add(b'{')
        .add(b'}')
        .add(b'\\')
        .add(b'^')
        .add(b'|')
        .add(b'[')
        .add(b']')
        .add(b'&')
        .add(b'+')
        .add(b'=')
        .add(b';')
        .add(b':')
        .add(b'@')
        .add(b',')
        .add(b'\'')
        .add(b'$')
        .add(b'!')
        .add(b'*')
        .add(b'(')
        .add(b')');
    utf8_percent_encode(s, SEGMENT).to_string()
}
