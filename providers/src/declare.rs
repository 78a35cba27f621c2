//! The declarations every non-Scaleway kind repeats, written once: the typed attributes a stack
//! reads from a resource (and the `Resource` impl tying them to the config type and the kind
//! name), and a driver that holds only its schema.

/// Declares `$attrs`, the typed attribute accessors of the kind `$kind` configured by
/// `$config`: `id()` and one accessor per listed attribute, each read with `output` or, for a
/// secret, `sensitive_output`.
macro_rules! kind_attributes {
    (
        $(#[$sm:meta])* $attrs:ident for $config:ident = $kind:literal {
            $(#[$idm:meta])* id;
            $( $(#[$m:meta])* $f:ident : $t:ty = $how:ident($path:literal) ),* $(,)?
        }
    ) => {
        $(#[$sm])*
        #[derive(Debug, Clone)]
        pub struct $attrs(kapstan_engine::ResourceRef);

        impl From<kapstan_engine::ResourceRef> for $attrs {
            fn from(r: kapstan_engine::ResourceRef) -> Self {
                Self(r)
            }
        }

        impl $attrs {
            $(
                $(#[$m])*
                pub fn $f(&self) -> kapstan_engine::Output<$t> {
                    self.0.$how($path)
                }
            )*
            $(#[$idm])*
            pub fn id(&self) -> kapstan_engine::Output<String> {
                self.0.id()
            }
        }

        impl kapstan_engine::Resource for $config {
            const KIND: &'static str = $kind;
            type Attributes = $attrs;
        }
    };
}
pub(crate) use kind_attributes;

/// Declares `$driver`, a driver whose only state is its schema, with a `Default` that builds it
/// through the driver's `new()`.
macro_rules! schema_driver {
    ($(#[$dm:meta])* $driver:ident) => {
        $(#[$dm])*
        #[derive(Debug)]
        pub struct $driver {
            schema: kapstan_engine::Schema,
        }

        impl Default for $driver {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}
pub(crate) use schema_driver;
