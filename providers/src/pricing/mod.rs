//! The Scaleway price catalog: dated price tables and monthly cost of resources.
