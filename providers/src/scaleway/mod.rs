//! The Scaleway API client and one driver per Scaleway resource kind.
