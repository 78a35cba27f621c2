//! The open-enum pattern: known wire values as variants, anything else kept in `Unknown`.
//!
//! Scaleway adds enum values without notice (`cilium_native` broke closed-enum clients), so
//! every enum in the wire types deserializes any string and re-serializes it unchanged. The
//! API's own sentinels (`unknown`, `unknown_cni`, …) also land in `Unknown`, which is what they
//! mean.

/// Declares an open enum: `open_enum! { /// doc
/// Name { Creating, NotReady, LSsd, NoSchedule = "NoSchedule", … } }`.
///
/// A variant's wire value is its name in snake_case (`NotReady` is `not_ready`, `LSsd` is
/// `l_ssd`), computed at compile time; `= "wire"` gives it where the API spells it otherwise.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident $(= $wire:literal)?),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                #[doc = $crate::scaleway::client::open_enum::open_enum!(@doc $variant $(= $wire)?)]
                $variant,
            )+
            /// A value this client does not know (or an `unknown*` sentinel), kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Every wire value this client knows.
            pub const KNOWN: &'static [&'static str] =
                &[$($crate::scaleway::client::open_enum::open_enum!(@wire $variant $(= $wire)?)),+];

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $crate::scaleway::client::open_enum::open_enum!(@wire $variant $(= $wire)?),)+
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// Whether the value is one this client knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::Unknown(String::new())
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $(
                    if s == $crate::scaleway::client::open_enum::open_enum!(@wire $variant $(= $wire)?) {
                        return $name::$variant;
                    }
                )+
                $name::Unknown(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match $name::from(s.as_str()) {
                    $name::Unknown(_) => $name::Unknown(s),
                    known => known,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::from(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // `null` happens on optional enum fields of older objects.
                let s = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
                Ok($name::from(s))
            }
        }
    };
    // A variant's wire value: the one given, or its name in snake_case.
    (@wire $variant:ident = $wire:literal) => { $wire };
    (@wire $variant:ident) => {{
        const BYTES: [u8; $crate::scaleway::client::open_enum::snake_len(stringify!($variant))] =
            $crate::scaleway::client::open_enum::snake_case(stringify!($variant));
        const WIRE: &str = match ::core::str::from_utf8(&BYTES) {
            Ok(wire) => wire,
            Err(_) => panic!("variant names are ASCII"),
        };
        WIRE
    }};
    // A variant's doc: its wire value where given, else what it is derived from.
    (@doc $variant:ident = $wire:literal) => { concat!("`", $wire, "`") };
    (@doc $variant:ident) => { concat!("`", stringify!($variant), "` in snake_case") };
}

pub(crate) use open_enum;

/// Length of `name` in snake_case: one `_` more before each capital but the first.
pub(crate) const fn snake_len(name: &str) -> usize {
    let bytes = name.as_bytes();
    let mut len = bytes.len();
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i].is_ascii_uppercase() {
            len += 1;
        }
        i += 1;
    }
    len
}

/// `name` (an ASCII `CamelCase` identifier) in snake_case, `N` being [`snake_len`] of it.
pub(crate) const fn snake_case<const N: usize>(name: &str) -> [u8; N] {
    let bytes = name.as_bytes();
    let mut out = [0u8; N];
    let (mut i, mut o) = (0, 0);
    while i < bytes.len() {
        if bytes[i].is_ascii_uppercase() && i > 0 {
            out[o] = b'_';
            o += 1;
        }
        out[o] = bytes[i].to_ascii_lowercase();
        (i, o) = (i + 1, o + 1);
    }
    out
}
