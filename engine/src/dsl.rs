//! The typed stack DSL: `Stack`, resource handles, `Output<T>` / `Input<T>` references,
//! lifecycle options, stack outputs and reads of other stacks' outputs.

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use crate::value::{REF, SENSITIVE, STACK_OUTPUT};

/// A typed resource configuration: a struct the DSL turns into a declared resource.
pub trait Resource: Serialize {
    /// The kind, e.g. `scaleway_k8s_cluster`.
    const KIND: &'static str;
    /// Typed accessors for the resource's attributes (see [`ResourceRef`]).
    type Attributes: From<ResourceRef>;
}

/// The address of a declared resource, from which typed attribute references are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    address: Arc<str>,
}

impl ResourceRef {
    /// The resource's address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// A reference to the attribute at dotted `path`.
    pub fn output<T>(&self, path: &str) -> Output<T> {
        Output {
            resource: self.address.clone(),
            attr: path.into(),
            sensitive: false,
            _type: PhantomData,
        }
    }

    /// A reference to a sensitive attribute.
    pub fn sensitive_output<T>(&self, path: &str) -> Output<T> {
        Output {
            sensitive: true,
            ..self.output(path)
        }
    }

    /// The provider id of the resource.
    pub fn id(&self) -> Output<String> {
        self.output("id")
    }
}

/// A value known after apply: an attribute of a declared resource.
pub struct Output<T> {
    resource: Arc<str>,
    attr: Arc<str>,
    sensitive: bool,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Output<T> {
    fn clone(&self) -> Self {
        Self {
            resource: self.resource.clone(),
            attr: self.attr.clone(),
            sensitive: self.sensitive,
            _type: PhantomData,
        }
    }
}

impl<T> PartialEq for Output<T> {
    fn eq(&self, other: &Self) -> bool {
        self.resource == other.resource
            && self.attr == other.attr
            && self.sensitive == other.sensitive
    }
}

impl<T> std::fmt::Debug for Output<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Output({}.{})", self.resource, self.attr)
    }
}

impl<T> Output<T> {
    /// The referenced resource's address.
    pub fn resource(&self) -> &str {
        &self.resource
    }
    /// The referenced attribute path.
    pub fn attr(&self) -> &str {
        &self.attr
    }
    /// The same reference seen as another type (e.g. a `String` attribute used where a JSON
    /// value is expected).
    pub fn cast<U>(self) -> Output<U> {
        Output {
            resource: self.resource,
            attr: self.attr,
            sensitive: self.sensitive,
            _type: PhantomData,
        }
    }
    /// Marks the referenced value sensitive wherever it is used.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// The JSON marker this reference serializes to.
    pub fn to_marker(&self) -> Value {
        let mut r = json!({"resource": &*self.resource, "attr": &*self.attr});
        if self.sensitive {
            r["sensitive"] = Value::Bool(true);
        }
        json!({ REF: r })
    }
}

impl<T> Serialize for Output<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_marker().serialize(s)
    }
}

/// A config field: a literal, a sensitive literal, or a reference.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<T> {
    /// A literal value.
    Value(T),
    /// A literal value that must never be shown.
    Sensitive(T),
    /// An attribute of another resource of this stack.
    Ref(Output<T>),
    /// An output of another stack, read from the same state store.
    StackOutput {
        /// The other stack.
        stack: String,
        /// The output name.
        output: String,
    },
    /// An expression built from other inputs (see [`Input::format`]).
    Expr(Value),
}

impl<T> Input<T> {
    /// A sensitive literal.
    pub fn sensitive(v: T) -> Self {
        Self::Sensitive(v)
    }
    /// The literal value, if this input is one.
    pub fn literal(&self) -> Option<&T> {
        match self {
            Self::Value(v) | Self::Sensitive(v) => Some(v),
            _ => None,
        }
    }
}

impl Input<String> {
    /// A string from a template and inputs: each `{}` of `template` takes the next argument
    /// when the value is known (at apply time for references). Sensitive if any argument is.
    pub fn format<I, A>(template: &str, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Serialize,
    {
        let args: Vec<Value> = args
            .into_iter()
            .map(|a| serde_json::to_value(a).unwrap_or(Value::Null))
            .collect();
        Self::Expr(json!({ crate::value::FORMAT: {"template": template, "args": args} }))
    }

    /// This input percent-encoded, to stand inside a URL.
    pub fn percent_encoded(self) -> Self {
        let inner = serde_json::to_value(&self).unwrap_or(Value::Null);
        Self::Expr(json!({ crate::value::PERCENT_ENCODE: inner }))
    }
}

impl<T: Default> Default for Input<T> {
    fn default() -> Self {
        Self::Value(T::default())
    }
}

impl<T> From<T> for Input<T> {
    fn from(v: T) -> Self {
        Self::Value(v)
    }
}

impl From<&str> for Input<String> {
    fn from(v: &str) -> Self {
        Self::Value(v.to_string())
    }
}

impl<T> From<Output<T>> for Input<T> {
    fn from(o: Output<T>) -> Self {
        Self::Ref(o)
    }
}

impl<T> From<&Output<T>> for Input<T> {
    fn from(o: &Output<T>) -> Self {
        Self::Ref(o.clone())
    }
}

impl<T: Serialize> Serialize for Input<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Value(v) => v.serialize(s),
            Self::Sensitive(v) => {
                let inner = serde_json::to_value(v).map_err(serde::ser::Error::custom)?;
                json!({ SENSITIVE: inner }).serialize(s)
            }
            Self::Ref(o) => o.serialize(s),
            Self::StackOutput { stack, output } => {
                json!({ STACK_OUTPUT: {"stack": stack, "output": output} }).serialize(s)
            }
            Self::Expr(v) => v.serialize(s),
        }
    }
}

/// Drivers read resolved configs: a resolved input is always a literal.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Input<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Input::Value)
    }
}

/// Lifecycle options of a resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// Refuse any plan that deletes or replaces this resource.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prevent_destroy: bool,
    /// On replacement, create the new object before deleting the old one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_before_destroy: bool,
    /// Config paths (dotted) whose changes are ignored after creation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_changes: Vec<String>,
}

/// A resource as declared: what the planner reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeclaredResource {
    /// Unique address in the stack.
    pub address: String,
    /// The kind.
    pub kind: String,
    /// Config template (JSON with markers).
    pub config: Value,
    /// Explicit dependencies (`depends_on`), beside those implied by references.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Lifecycle options.
    #[serde(default)]
    pub lifecycle: Lifecycle,
}

/// A stack output as declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeclaredOutput {
    /// The output's name.
    pub name: String,
    /// Value template.
    pub value: Value,
    /// Whether it is sensitive.
    pub sensitive: bool,
    /// A description for users.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

#[derive(Debug, Default)]
struct StackInner {
    resources: Vec<DeclaredResource>,
    /// Position in `resources` of each address (the first one declared), so declaring N
    /// resources costs O(N), not O(N²).
    index: HashMap<String, usize>,
    outputs: Vec<DeclaredOutput>,
    problems: Vec<String>,
}

impl StackInner {
    /// Appends a resource, recording a problem when its address is already taken.
    fn push(&mut self, resource: DeclaredResource) -> usize {
        let position = self.resources.len();
        if self.index.contains_key(&resource.address) {
            self.problems.push(format!(
                "duplicate address `{}`: two resources are declared with it; give each resource a unique address",
                resource.address
            ));
        } else {
            self.index.insert(resource.address.clone(), position);
        }
        self.resources.push(resource);
        position
    }
}

/// A stack under construction.
#[derive(Debug, Clone)]
pub struct Stack {
    name: String,
    inner: Arc<Mutex<StackInner>>,
}

/// A declared resource: typed attribute accessors (through `Deref`) and lifecycle setters.
pub struct Handle<R: Resource> {
    reference: ResourceRef,
    attributes: R::Attributes,
    index: usize,
    inner: Arc<Mutex<StackInner>>,
}

impl<R: Resource> Clone for Handle<R>
where
    R::Attributes: Clone,
{
    fn clone(&self) -> Self {
        Self {
            reference: self.reference.clone(),
            attributes: self.attributes.clone(),
            index: self.index,
            inner: self.inner.clone(),
        }
    }
}

impl<R: Resource> Deref for Handle<R> {
    type Target = R::Attributes;
    fn deref(&self) -> &R::Attributes {
        &self.attributes
    }
}

/// Anything that names a declared resource (for `depends_on`).
pub trait Addressed {
    /// The resource address.
    fn address(&self) -> &str;
}

impl<R: Resource> Addressed for Handle<R> {
    fn address(&self) -> &str {
        self.reference.address()
    }
}

impl<R: Resource> Handle<R> {
    /// The resource's address.
    pub fn address(&self) -> &str {
        self.reference.address()
    }

    /// The untyped reference, for attributes without a typed accessor.
    pub fn reference(&self) -> &ResourceRef {
        &self.reference
    }

    fn edit(&self, f: impl FnOnce(&mut DeclaredResource)) -> &Self {
        let mut inner = self.inner.lock().expect("stack mutex");
        f(&mut inner.resources[self.index]);
        self
    }

    /// Adds an explicit dependency.
    pub fn depends_on(&self, other: &dyn Addressed) -> &Self {
        let addr = other.address().to_string();
        self.edit(|r| {
            if !r.depends_on.contains(&addr) {
                r.depends_on.push(addr)
            }
        })
    }

    /// Refuses any plan that would delete or replace this resource.
    pub fn prevent_destroy(&self) -> &Self {
        self.edit(|r| r.lifecycle.prevent_destroy = true)
    }

    /// On replacement, creates the new object before deleting the old one.
    pub fn create_before_destroy(&self) -> &Self {
        self.edit(|r| r.lifecycle.create_before_destroy = true)
    }

    /// Ignores later changes of these dotted config paths.
    pub fn ignore_changes(&self, paths: &[&str]) -> &Self {
        self.edit(|r| {
            r.lifecycle
                .ignore_changes
                .extend(paths.iter().map(|p| p.to_string()))
        })
    }
}

/// A builder returned by [`Stack::output`].
pub struct OutputBuilder {
    index: usize,
    inner: Arc<Mutex<StackInner>>,
}

impl OutputBuilder {
    /// Marks the output sensitive: shown only on explicit request.
    pub fn sensitive(self) -> Self {
        self.inner.lock().expect("stack mutex").outputs[self.index].sensitive = true;
        self
    }
    /// Describes the output.
    pub fn description(self, text: &str) -> Self {
        self.inner.lock().expect("stack mutex").outputs[self.index].description = text.into();
        self
    }
}

/// A typed read of another stack's outputs from the same state store.
#[derive(Debug, Clone)]
pub struct StackRef {
    stack: String,
}

impl StackRef {
    /// The other stack's output `name`.
    pub fn output<T>(&self, name: &str) -> Input<T> {
        Input::StackOutput {
            stack: self.stack.clone(),
            output: name.to_string(),
        }
    }
    /// The other stack's name.
    pub fn stack(&self) -> &str {
        &self.stack
    }
}

/// A stack, finished: what the planner works on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackSpec {
    /// The stack's name.
    pub name: String,
    /// Declared resources in declaration order.
    pub resources: Vec<DeclaredResource>,
    /// Declared outputs.
    pub outputs: Vec<DeclaredOutput>,
    /// Problems found while declaring (duplicate addresses, unserializable configs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl Stack {
    /// A new, empty stack.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            inner: Arc::default(),
        }
    }

    /// The stack's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Declares a resource at `address`.
    pub fn add<R: Resource>(&mut self, address: &str, resource: R) -> Handle<R> {
        let config = serde_json::to_value(&resource);
        let mut inner = self.inner.lock().expect("stack mutex");
        let config = config.unwrap_or_else(|e| {
            inner.problems.push(format!(
                "resource `{address}`: config does not serialize: {e}"
            ));
            Value::Null
        });
        let index = inner.push(DeclaredResource {
            address: address.to_string(),
            kind: R::KIND.to_string(),
            config,
            depends_on: vec![],
            lifecycle: Lifecycle::default(),
        });
        drop(inner);
        let reference = ResourceRef {
            address: address.into(),
        };
        Handle {
            attributes: R::Attributes::from(reference.clone()),
            reference,
            index,
            inner: self.inner.clone(),
        }
    }

    /// Declares a resource from an untyped config (for generated stacks and tests).
    pub fn add_raw(&mut self, address: &str, kind: &str, config: Value) -> ResourceRef {
        let mut inner = self.inner.lock().expect("stack mutex");
        inner.push(DeclaredResource {
            address: address.to_string(),
            kind: kind.to_string(),
            config,
            depends_on: vec![],
            lifecycle: Lifecycle::default(),
        });
        ResourceRef {
            address: address.into(),
        }
    }

    /// Sets the explicit dependencies and lifecycle of a resource declared with `add_raw`.
    pub fn configure_raw(&mut self, address: &str, depends_on: Vec<String>, lifecycle: Lifecycle) {
        let mut inner = self.inner.lock().expect("stack mutex");
        if let Some(&i) = inner.index.get(address) {
            let r = &mut inner.resources[i];
            r.depends_on = depends_on;
            r.lifecycle = lifecycle;
        }
    }

    /// Declares a stack output.
    /// `value` is a literal, an [`Output`] or an [`Input`].
    pub fn output(&mut self, name: &str, value: impl Serialize) -> OutputBuilder {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        let mut inner = self.inner.lock().expect("stack mutex");
        if inner.outputs.iter().any(|o| o.name == name) {
            inner.problems.push(format!(
                "duplicate output `{name}`: output names must be unique"
            ));
        }
        inner.outputs.push(DeclaredOutput {
            name: name.to_string(),
            value,
            sensitive: false,
            description: String::new(),
        });
        OutputBuilder {
            index: inner.outputs.len() - 1,
            inner: self.inner.clone(),
        }
    }

    /// A typed read of another stack's outputs.
    pub fn stack_ref(&self, stack: &str) -> StackRef {
        StackRef {
            stack: stack.to_string(),
        }
    }

    /// Finishes the stack.
    pub fn build(&self) -> StackSpec {
        let inner = self.inner.lock().expect("stack mutex");
        StackSpec {
            name: self.name.clone(),
            resources: inner.resources.clone(),
            outputs: inner.outputs.clone(),
            problems: inner.problems.clone(),
        }
    }
}

impl StackSpec {
    /// Resources by address.
    pub fn by_address(&self) -> BTreeMap<&str, &DeclaredResource> {
        self.resources
            .iter()
            .map(|r| (r.address.as_str(), r))
            .collect()
    }
}
