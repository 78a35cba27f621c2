//! Errors of the price catalog: loading tables and pricing resources.

use std::path::PathBuf;

/// Everything that can go wrong while loading a price table or pricing resources.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// `PriceTable::named` was given a name that is not built in.
    #[error("no built-in price table named `{name}` (available: {available})")]
    UnknownTable {
        /// The requested name.
        name: String,
        /// Comma-separated built-in names.
        available: String,
    },

    /// A user-supplied table file could not be read.
    #[error("cannot read price table {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A table's text is not valid TOML/JSON or does not follow the table schema.
    #[error("price table {origin} is malformed: {message}")]
    Malformed {
        /// File path or built-in table name.
        origin: String,
        /// Parser message, with the location when the parser gives one.
        message: String,
    },

    /// A table entry is structurally valid but meaningless (no price, two prices…).
    #[error("price table {table}: entry `{entry}`: {message}")]
    InvalidEntry {
        /// Table name.
        table: String,
        /// Dotted path of the entry, e.g. `k8s_pool.node_types.GP1-XS`.
        entry: String,
        /// What is wrong.
        message: String,
    },

    /// A resource names a type (node type, LB type…) that the table does not price.
    #[error("{address}: {field} = \"{value}\" is not in price table {table} ({kind})")]
    UnknownType {
        /// Resource address.
        address: String,
        /// Resource kind, e.g. `scaleway_k8s_pool`.
        kind: String,
        /// Attribute name, e.g. `node_type`.
        field: String,
        /// The value that was looked up.
        value: String,
        /// Table name.
        table: String,
    },

    /// A resource attribute has a value of the wrong shape (e.g. `size = "three"`).
    #[error("{address}: {field} must be {expected}, got {got}")]
    InvalidField {
        /// Resource address.
        address: String,
        /// Attribute name.
        field: String,
        /// What was expected.
        expected: &'static str,
        /// The JSON value found, rendered.
        got: String,
    },
}
