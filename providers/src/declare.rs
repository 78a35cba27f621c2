//! The declarations every non-Scaleway kind repeats, written once: the config struct a stack
//! declares with its schema ([`kind!`]), the typed attributes a stack reads from a resource
//! (and the `Resource` impl tying them to the config type and the kind name), and a driver that
//! holds its schema.

/// The schema a [`kind!`] declaration generates for its config type, for the drivers built on
/// it. (Public in a private module, as a bound of public drivers.)
pub trait DeclaredSchema {
    /// The kind's schema: its fields in declaration order.
    fn schema() -> kapstan_engine::Schema;
}

/// Declares a non-Scaleway kind once: the config struct stacks declare, its schema
/// ([`DeclaredSchema`]), its typed attributes and its `Resource` impl.
///
/// ```text
/// kind! {
///     /// A Kubernetes namespace.                    <- the config struct's doc and derives
///     #[derive(Default)]
///     pub struct KubernetesNamespace = "kubernetes_namespace";
///     /// Name; changing it replaces the namespace.  <- the field's doc
///     name: Input<String>, required force_new => "namespace name";
///     computed "uid" => "the namespace's uid";       <- an attribute only
///     /// Attributes of a `kubernetes_namespace`.
///     attributes KubernetesNamespaceAttributes { /* as in kind_attributes! */ }
/// }
/// ```
///
/// A field is `name [as "key"]: Type, role modifiers => "schema description";` after its doc
/// and optional `#[serde(..)]` attributes (`role` is a `Field` constructor, the modifiers its
/// builder methods); an `Option` field is left out of the serialized config when `None`.
/// `computed "key" modifiers => "description";` adds a schema field the driver reports.
/// Fields keep their order in the struct and the schema.
macro_rules! kind {
    // An attribute only: a schema field, no config field.
    (@munch [$head:tt $sf:tt {$($fields:tt)*}]
        computed $key:literal $($modifier:ident)* => $describe:literal; $($rest:tt)*) => {
        $crate::declare::kind! { @munch [$head $sf
            {$($fields)* kapstan_engine::Field::computed($key)$(.$modifier())*.describe($describe),}
        ] $($rest)* }
    };
    // An optional config field: absent, it is not serialized.
    (@munch $acc:tt $(#[doc = $doc:literal])+ $(#[serde($($serde:tt)*)])*
        $name:ident $(as $key:literal)? : Option<$inner:ty>, $($rest:tt)*) => {
        $crate::declare::kind! { @munch $acc $(#[doc = $doc])+
            #[serde(default, skip_serializing_if = "Option::is_none")] $(#[serde($($serde)*)])*
            @ $name $(as $key)? : Option<$inner>, $($rest)* }
    };
    // A config field and its schema field.
    (@munch [$head:tt {$($sf:tt)*} {$($fields:tt)*}]
        $(#[doc = $doc:literal])+ $(#[serde($($serde:tt)*)])*
        $(@)? $name:ident $(as $key:literal)? : $ty:ty, $role:ident $($modifier:ident)* => $describe:literal;
        $($rest:tt)*) => {
        $crate::declare::kind! { @munch [$head
            {$($sf)* $(#[doc = $doc])+ $(#[serde(rename = $key)])? $(#[serde($($serde)*)])* pub $name: $ty,}
            {$($fields)* kapstan_engine::Field::$role($crate::declare::kind!(@key $name $($key)?))
                $(.$modifier())*.describe($describe),}
        ] $($rest)* }
    };
    // Every field is read: the items.
    (@munch [{$(#[$meta:meta])* $config:ident $kind:literal} {$($sf:tt)*} {$($fields:tt)*}]
        $(#[$am:meta])* attributes $attrs:ident { $($attributes:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, ::serde::Serialize, ::serde::Deserialize)]
        pub struct $config {
            $($sf)*
        }

        impl $crate::declare::DeclaredSchema for $config {
            fn schema() -> kapstan_engine::Schema {
                kapstan_engine::Schema::new($kind, vec![$($fields)*])
            }
        }

        $crate::declare::kind_attributes! {
            $(#[$am])* $attrs for $config = $kind { $($attributes)* }
        }
    };
    (@key $name:ident) => { stringify!($name) };
    (@key $name:ident $key:literal) => { $key };
    // The entry point.
    ($(#[$meta:meta])* pub struct $config:ident = $kind:literal; $($rest:tt)*) => {
        $crate::declare::kind! { @munch [{$(#[$meta])* $config $kind} {} {}] $($rest)* }
    };
}
pub(crate) use kind;

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

/// Declares `$driver`, the driver of the [`kind!`] `$config`: its schema and, in braces, any
/// further state, which starts as its `Default`; `new()` builds it and `Default` calls `new()`.
macro_rules! schema_driver {
    ($(#[$dm:meta])* $driver:ident for $config:ty $({ $($(#[$fm:meta])* $f:ident : $ft:ty),* $(,)? })?) => {
        $(#[$dm])*
        #[derive(Debug)]
        pub struct $driver {
            schema: kapstan_engine::Schema,
            $($($(#[$fm])* $f: $ft,)*)?
        }

        impl $driver {
            /// The driver.
            pub fn new() -> Self {
                Self {
                    schema: <$config as $crate::declare::DeclaredSchema>::schema(),
                    $($($f: Default::default(),)*)?
                }
            }
        }

        impl Default for $driver {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}
pub(crate) use schema_driver;

/// The error for a number field of `config` outside `range`, if it is; `fix` says what to use.
pub(crate) fn out_of_range(
    config: &serde_json::Value,
    field: &str,
    range: std::ops::RangeInclusive<u64>,
    fix: &str,
) -> Option<kapstan_engine::FieldError> {
    let n = config.get(field).and_then(serde_json::Value::as_u64)?;
    (!range.contains(&n))
        .then(|| kapstan_engine::FieldError::new(field, &n.to_string(), "is out of range", fix))
}
