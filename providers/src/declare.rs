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
///     /// Name; changing it replaces the namespace.  <- the field's doc (and its accessor's)
///     name: Input<String>, required force_new => "namespace name", attribute;
///     computed "phase" => "the namespace's phase";   <- a schema field the driver reports
///     /// The namespace's uid.                       <- ... that stacks read, with its type
///     computed uid: String => "the namespace's uid";
///     /// Attributes of a `kubernetes_namespace`.
///     attributes KubernetesNamespaceAttributes;
/// }
/// ```
///
/// A field is `name [as "key"]: Type, role modifiers => "schema description";` after its doc
/// and optional `#[serde(..)]` attributes (`role` is a `Field` constructor, the modifiers its
/// builder methods); an `Option` field is left out of the serialized config when `None`.
/// `computed "key" modifiers => "description";` adds a schema field the driver reports.
/// Fields keep their order in the struct and the schema. The attributes stacks read are the
/// fields marked `, attribute` and the computed fields declared with a name and a type
/// (`computed key: Type[, modifiers] => "description";`): each gets an accessor with its doc,
/// read as a secret when the field is `sensitive`, besides `id()`.
macro_rules! kind {
    // A schema field the driver reports, no config field.
    (@munch [$head:tt $sf:tt {$($fields:tt)*} $acc:tt]
        computed $key:literal $($modifier:ident)* => $describe:literal; $($rest:tt)*) => {
        $crate::declare::kind! { @munch [$head $sf
            {$($fields)* kapstan_engine::Field::computed($key)$(.$modifier())*.describe($describe),}
            $acc
        ] $($rest)* }
    };
    // ... and an attribute stacks read.
    (@munch [$head:tt $sf:tt {$($fields:tt)*} {$($acc:tt)*}]
        $(#[doc = $doc:literal])+
        computed $name:ident : $t:ty $(, $modifier:ident)* => $describe:literal; $($rest:tt)*) => {
        $crate::declare::kind! { @munch [$head $sf
            {$($fields)* kapstan_engine::Field::computed(stringify!($name))$(.$modifier())*.describe($describe),}
            {$($acc)* $crate::declare::kind!(@accessor [$($doc)+] $name stringify!($name), $t [$($modifier)*]);}
        ] $($rest)* }
    };
    // An optional config field: absent, it is not serialized.
    (@munch $acc:tt $(#[doc = $doc:literal])+ $(#[serde($($serde:tt)*)])*
        $name:ident $(as $key:literal)? : Option<$inner:ty>, $($rest:tt)*) => {
        $crate::declare::kind! { @munch $acc $(#[doc = $doc])+
            #[serde(default, skip_serializing_if = "Option::is_none")] $(#[serde($($serde)*)])*
            @ $name $(as $key)? : Option<$inner>, $($rest)* }
    };
    // A config field that is also an attribute: its accessor, then the field.
    (@munch [$head:tt $sf:tt $fields:tt {$($acc:tt)*}]
        $(#[doc = $doc:literal])+ $(#[serde($($serde:tt)*)])*
        $(@)? $name:ident $(as $key:literal)? : $ty:ty, $role:ident $($modifier:ident)* => $describe:literal, attribute;
        $($rest:tt)*) => {
        $crate::declare::kind! { @munch [$head $sf $fields
            {$($acc)* $crate::declare::kind!(@accessor [$($doc)+] $name $crate::declare::kind!(@key $name $($key)?),
                <$ty as $crate::scaleway::kind::Attribute>::Value [$($modifier)*]);}
        ] $(#[doc = $doc])+ $(#[serde($($serde)*)])* @ $name $(as $key)? : $ty, $role $($modifier)* => $describe; $($rest)* }
    };
    // A config field and its schema field.
    (@munch [$head:tt {$($sf:tt)*} {$($fields:tt)*} $acc:tt]
        $(#[doc = $doc:literal])+ $(#[serde($($serde:tt)*)])*
        $(@)? $name:ident $(as $key:literal)? : $ty:ty, $role:ident $($modifier:ident)* => $describe:literal;
        $($rest:tt)*) => {
        $crate::declare::kind! { @munch [$head
            {$($sf)* $(#[doc = $doc])+ $(#[serde(rename = $key)])? $(#[serde($($serde)*)])* pub $name: $ty,}
            {$($fields)* kapstan_engine::Field::$role($crate::declare::kind!(@key $name $($key)?))
                $(.$modifier())*.describe($describe),}
            $acc
        ] $($rest)* }
    };
    // Every field is read: the items.
    (@munch [{$(#[$meta:meta])* $config:ident $kind:literal} {$($sf:tt)*} {$($fields:tt)*} {$($acc:tt)*}]
        $(#[$am:meta])* attributes $attrs:ident;) => {
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

        $crate::scaleway::provider::attributes! { $(#[$am])* $attrs {} }

        impl $attrs {
            $($acc)*
        }

        impl kapstan_engine::Resource for $config {
            const KIND: &'static str = $kind;
            type Attributes = $attrs;
        }
    };
    // The accessor of an attribute, read as a secret when it is sensitive.
    (@accessor [$($doc:literal)+] $name:ident $key:expr, $t:ty [$($modifier:ident)*]) => {
        $(#[doc = $doc])+
        pub fn $name(&self) -> kapstan_engine::Output<$t> {
            $crate::scaleway::kind::output(&self.0, $key, &[$(stringify!($modifier)),*])
        }
    };
    (@key $name:ident) => { stringify!($name) };
    (@key $name:ident $key:literal) => { $key };
    // The entry point.
    ($(#[$meta:meta])* pub struct $config:ident = $kind:literal; $($rest:tt)*) => {
        $crate::declare::kind! { @munch [{$(#[$meta])* $config $kind} {} {} {}] $($rest)* }
    };
}
pub(crate) use kind;

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
