//! Scaleway regions and zones: format validation, zone-in-region checks and known localities.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Regions the Scaleway SDKs advertise; well-formed unknown regions are still accepted.
pub const KNOWN_REGIONS: &[&str] = &["fr-par", "nl-ams", "pl-waw", "it-mil"];

/// Zones the Scaleway SDKs advertise; well-formed unknown zones are still accepted.
pub const KNOWN_ZONES: &[&str] = &[
    "fr-par-1", "fr-par-2", "fr-par-3", "nl-ams-1", "nl-ams-2", "nl-ams-3", "pl-waw-1", "pl-waw-2",
    "pl-waw-3", "it-mil-1",
];

/// A malformed or inconsistent region or zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalityError {
    /// The region does not match `^[a-z]{2}-[a-z]{3,7}$`.
    #[error("invalid region {0:?}: expected the form `fr-par` (two letters, dash, 3 to 7 letters)")]
    InvalidRegion(String),
    /// The zone does not match `^[a-z]{2}-[a-z]{3,7}-[0-9]{1,2}$`.
    #[error("invalid zone {0:?}: expected the form `fr-par-1` (a region, dash, 1 or 2 digits)")]
    InvalidZone(String),
    /// The zone lies in another region than the one configured.
    #[error("zone {zone} is not in region {region} (it belongs to {zone_region})")]
    ZoneNotInRegion {
        /// The zone.
        zone: String,
        /// The region it was expected in.
        region: String,
        /// The region the zone actually belongs to.
        zone_region: String,
    },
}

/// A validated region slug such as `fr-par`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

/// A validated zone slug such as `fr-par-1`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Zone(String);

fn is_lower_letters(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.chars().all(|c| c.is_ascii_lowercase())
}

impl Region {
    /// Parses a region, rewriting the deprecated aliases `par1` and `ams1` as the Scaleway
    /// SDK does.
    pub fn parse(s: &str) -> Result<Self, LocalityError> {
        let s = match s {
            "par1" => "fr-par",
            "ams1" => "nl-ams",
            other => other,
        };
        let mut parts = s.split('-');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(country), Some(city), None)
                if is_lower_letters(country, 2, 2) && is_lower_letters(city, 3, 7) =>
            {
                Ok(Self(s.to_owned()))
            }
            _ => Err(LocalityError::InvalidRegion(s.to_owned())),
        }
    }

    /// The slug, e.g. `fr-par`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the Scaleway SDKs list this region.
    pub fn is_known(&self) -> bool {
        KNOWN_REGIONS.contains(&self.as_str())
    }

    /// The first zone of the region (`fr-par` → `fr-par-1`), the default zone when only a
    /// region is configured.
    pub fn first_zone(&self) -> Zone {
        Zone(format!("{}-1", self.0))
    }

    /// Checks that `zone` lies in this region.
    pub fn check_zone(&self, zone: &Zone) -> Result<(), LocalityError> {
        let zone_region = zone.region();
        if &zone_region == self {
            Ok(())
        } else {
            Err(LocalityError::ZoneNotInRegion {
                zone: zone.0.clone(),
                region: self.0.clone(),
                zone_region: zone_region.0,
            })
        }
    }
}

impl Zone {
    /// Parses a zone.
    pub fn parse(s: &str) -> Result<Self, LocalityError> {
        let mut parts = s.split('-');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(country), Some(city), Some(number), None)
                if is_lower_letters(country, 2, 2)
                    && is_lower_letters(city, 3, 7)
                    && (1..=2).contains(&number.len())
                    && number.chars().all(|c| c.is_ascii_digit()) =>
            {
                Ok(Self(s.to_owned()))
            }
            _ => Err(LocalityError::InvalidZone(s.to_owned())),
        }
    }

    /// The slug, e.g. `fr-par-1`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region of the zone: its first two dash-separated parts.
    pub fn region(&self) -> Region {
        let cut = self.0.rfind('-').unwrap_or(self.0.len());
        Region(self.0[..cut].to_owned())
    }

    /// Whether the Scaleway SDKs list this zone.
    pub fn is_known(&self) -> bool {
        KNOWN_ZONES.contains(&self.as_str())
    }
}

macro_rules! slug_traits {
    ($ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($ty), self.0)
            }
        }

        impl FromStr for $ty {
            type Err = LocalityError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

slug_traits!(Region);
slug_traits!(Zone);

/// Where an API call is routed: `/regions/{region}`, `/zones/{zone}` or nowhere (global).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Locality {
    /// A regional API path.
    Region(Region),
    /// A zonal API path.
    Zone(Zone),
    /// A global API (Domains and DNS): no locality in the path.
    Global,
}

impl Locality {
    /// The path segment pair, e.g. `regions/fr-par`.
    pub fn path_segment(&self) -> String {
        match self {
            Locality::Region(r) => format!("regions/{r}"),
            Locality::Zone(z) => format!("zones/{z}"),
            Locality::Global => String::new(),
        }
    }
}

/// `From<T>` and `From<&T>` for each locality type, into its variant of the same name.
macro_rules! locality_from {
    ($($ty:ident),*) => {$(
        impl From<$ty> for Locality {
            fn from(value: $ty) -> Self {
                Locality::$ty(value)
            }
        }

        impl From<&$ty> for Locality {
            fn from(value: &$ty) -> Self {
                Locality::$ty(value.clone())
            }
        }
    )*};
}

locality_from!(Region, Zone);

impl fmt::Display for Locality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Locality::Region(r) => r.fmt(f),
            Locality::Zone(z) => z.fmt(f),
            Locality::Global => f.write_str("global"),
        }
    }
}
