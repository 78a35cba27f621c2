//! Resource schemas: which fields force replacement, update in place, are computed or are
//! sensitive, and the errors reported when a value is invalid.

use serde_json::Value;

/// How a field behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Set by the user, must be present.
    Required,
    /// Set by the user, may be absent.
    Optional,
    /// Set by the provider only.
    Computed,
    /// Set by the user or, when absent, by the provider.
    OptionalComputed,
}

/// One top-level field of a kind.
#[derive(Debug, Clone)]
pub struct Field {
    /// Field name (top-level key of the config / attributes).
    pub name: &'static str,
    /// Who sets it.
    pub role: Role,
    /// Whether changing it replaces the resource.
    pub force_new: bool,
    /// Whether its value is secret.
    pub sensitive: bool,
    /// One line for users (the README's reference section is generated from these).
    pub description: &'static str,
}

impl Field {
    fn new(name: &'static str, role: Role) -> Self {
        Self {
            name,
            role,
            force_new: false,
            sensitive: false,
            description: "",
        }
    }
    /// A required argument.
    pub fn required(name: &'static str) -> Self {
        Self::new(name, Role::Required)
    }
    /// An optional argument.
    pub fn optional(name: &'static str) -> Self {
        Self::new(name, Role::Optional)
    }
    /// An attribute set by the provider.
    pub fn computed(name: &'static str) -> Self {
        Self::new(name, Role::Computed)
    }
    /// An optional argument the provider fills when absent.
    pub fn optional_computed(name: &'static str) -> Self {
        Self::new(name, Role::OptionalComputed)
    }
    /// Changing it replaces the resource.
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    /// Its value is secret.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Describes it.
    pub fn describe(mut self, text: &'static str) -> Self {
        self.description = text;
        self
    }
    /// Whether users may set it.
    pub fn is_argument(&self) -> bool {
        self.role != Role::Computed
    }
}

/// The schema of one kind.
#[derive(Debug, Clone)]
pub struct Schema {
    /// The kind.
    pub kind: &'static str,
    /// Top-level fields.
    pub fields: Vec<Field>,
}

impl Schema {
    /// A schema; `id` is always an implicit computed attribute.
    pub fn new(kind: &'static str, fields: Vec<Field>) -> Self {
        Self { kind, fields }
    }

    /// The field a dotted path or JSON pointer starts with.
    pub fn field(&self, path: &str) -> Option<&Field> {
        let first = path
            .trim_start_matches('/')
            .split(['.', '/'])
            .next()
            .unwrap_or_default();
        self.fields.iter().find(|f| f.name == first)
    }

    /// Whether a reference to `attr` can resolve.
    pub fn has_attribute(&self, attr: &str) -> bool {
        attr == "id" || self.field(attr).is_some()
    }

    /// Whether changing the field at `path` replaces the resource.
    pub fn forces_replacement(&self, path: &str) -> bool {
        self.field(path).is_some_and(|f| f.force_new)
    }

    /// Whether the field at `path` is sensitive.
    pub fn is_sensitive(&self, path: &str) -> bool {
        self.field(path).is_some_and(|f| f.sensitive)
    }

    /// Checks presence of required fields and absence of unknown ones.
    pub fn check(&self, config: &Value) -> Vec<FieldError> {
        let mut errors = vec![];
        let Some(map) = config.as_object() else {
            return vec![FieldError::new(
                "",
                "config",
                "must be an object",
                "declare the resource with a struct or JSON object",
            )];
        };
        for f in &self.fields {
            if f.role == Role::Required && map.get(f.name).is_none_or(Value::is_null) {
                errors.push(FieldError::new(
                    f.name,
                    "(absent)",
                    "is required",
                    &format!("set `{}`", f.name),
                ));
            }
        }
        for (k, v) in map {
            match self.fields.iter().find(|f| f.name == k) {
                None => errors.push(FieldError::new(
                    k,
                    &short(v),
                    &format!("is not a field of {}", self.kind),
                    &format!(
                        "use one of: {}",
                        self.fields
                            .iter()
                            .filter(|f| f.is_argument())
                            .map(|f| f.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
                Some(f) if f.role == Role::Computed && !v.is_null() => {
                    errors.push(FieldError::new(
                        k,
                        &short(v),
                        "is computed by the provider and cannot be set",
                        &format!("remove `{k}`"),
                    ))
                }
                _ => {}
            }
        }
        errors
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("{}…", &s[..60])
    } else {
        s
    }
}

/// An invalid value, reported before any API call.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldError {
    /// Dotted field path.
    pub field: String,
    /// The value given (or `(sensitive value)`).
    pub value: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: &str, value: &str, problem: &str, fix: &str) -> Self {
        Self {
            field: field.to_string(),
            value: value.to_string(),
            problem: problem.to_string(),
            fix: fix.to_string(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` = {} {}; {}",
            self.field, self.value, self.problem, self.fix
        )
    }
}
