//! The Scaleway API client and one driver per Scaleway resource kind.

pub mod client;

pub use client::{
    Api, ApiError, Client, ClientOptions, ConfigOverrides, Error, ErrorKind, Region,
    ScalewayConfig, Zone,
};
