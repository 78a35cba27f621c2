//! The generic Scaleway driver core: read, recover (after a crash between intent and record),
//! import, adopt-on-create and delete-and-wait written once. A kind declares its config
//! struct, wire type and fields once with [`kind!`] (each field with its doc, schema flags and
//! live value), then its locality, lookups and calls as a [`Kind`]; [`KindDriver`] turns that
//! into an engine [`Driver`].

use std::future::Future;
use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Schema, Update,
    async_trait,
};
use serde_json::{Value, json};

use super::client::{Client, Error as ApiErr, Region, Zone, hook_fn, wire};
use super::provider::{
    Pace, Pacing, Poll, ScalewayProvider, adopt_one, api, check, config_from, conform, is_owned,
    marker_id, owned_tags, split_locality, string, strings, wait_for,
};

/// Where a kind's objects live: a [`Zone`] or a [`Region`].
pub(crate) trait Place: Clone + Send + Sync + 'static {
    /// The attribute (and config field) naming the place, if the kind has one.
    const KEY: Option<&'static str>;
    /// The place a config asks for (its field, else the configured default).
    fn of_config(p: &ScalewayProvider, config: &Value) -> Result<Self, DriverError>;
    /// Parses the locality prefix of an import id.
    fn parse(s: &str) -> Result<Self, DriverError>;
    /// The configured default.
    fn default_of(client: &Client) -> Self;
}

impl Place for Zone {
    const KEY: Option<&'static str> = Some("zone");
    fn of_config(p: &ScalewayProvider, config: &Value) -> Result<Self, DriverError> {
        p.zone_of(config)
    }
    fn parse(s: &str) -> Result<Self, DriverError> {
        Zone::parse(s).map_err(|e| DriverError::failed(e.to_string()))
    }
    fn default_of(client: &Client) -> Self {
        client.zone().clone()
    }
}

impl Place for Region {
    const KEY: Option<&'static str> = Some("region");
    fn of_config(p: &ScalewayProvider, config: &Value) -> Result<Self, DriverError> {
        p.region_of(config)
    }
    /// A zone stands for its region (`fr-par-1/<id>` imports from `fr-par`).
    fn parse(s: &str) -> Result<Self, DriverError> {
        Region::parse(s)
            .or_else(|_| Zone::parse(s).map(|z| z.region()))
            .map_err(|e| DriverError::failed(e.to_string()))
    }
    fn default_of(client: &Client) -> Self {
        client.region().clone()
    }
}

/// How a delete ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Deletion {
    /// The API deletes synchronously.
    Once,
    /// The delete is accepted, then the object lingers until it is gone (polled with `get`).
    WaitGone(Pace),
    /// The API refuses (409/412) while dependents are still being deleted: send it again.
    RetryWhileInUse(Pace),
}

/// What a live object's status says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// Usable.
    Ready,
    /// Still changing, in this status.
    Pending(String),
    /// Stuck in this status (`error`, `locked`): waiting longer will not help.
    Failed(String),
    /// Stuck, as this message says (with what to do about it).
    Broken(String),
}

impl Readiness {
    /// The readiness a status says: pending while `transient`, failed when one of `failed`,
    /// otherwise ready.
    pub(crate) fn of(status: &str, transient: bool, failed: &[&str]) -> Self {
        if transient {
            Readiness::Pending(status.to_string())
        } else if failed.contains(&status) {
            Readiness::Failed(status.to_string())
        } else {
            Readiness::Ready
        }
    }
}

/// A client whose 409 `transient_state` answers wait for a parent object (`wait`) to settle:
/// sub-resources of a busy gateway or database instance.
pub(crate) fn client_waiting_on<F, Fut>(
    p: &ScalewayProvider,
    parent: String,
    wait: F,
) -> Result<Client, DriverError>
where
    F: Fn(Client) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), DriverError>> + Send + 'static,
{
    let client = p.client()?;
    let bare = client.without_transient_hook();
    let scale = p.poll_scale();
    let wait = Arc::new(wait);
    Ok(client.with_transient_hook(hook_fn(move |_| {
        let (bare, parent, wait) = (bare.clone(), parent.clone(), wait.clone());
        async move {
            // A short pause first: untyped 409s (concurrent updates) clear by themselves.
            tokio::time::sleep(std::time::Duration::from_secs_f64(0.5 * scale)).await;
            wait(bare).await.map_err(|e| ApiErr::Wait {
                resource: parent,
                message: e.to_string(),
            })
        }
    })))
}

/// [`Kind::get`], with a 404 as `None`.
pub(crate) async fn fetch<K: Kind>(
    c: &Client,
    at: &K::Place,
    id: &str,
) -> Result<Option<K::Wire>, DriverError> {
    match K::get(c, at, id).await {
        Ok(w) => Ok(w),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(api(e)),
    }
}

/// Polls [`Kind::get`] until [`Kind::readiness`] says usable; a failed status is an error.
pub(crate) async fn wait_ready<K: Kind>(
    ctx: &DriverContext,
    pacing: Pacing,
    c: &Client,
    at: &K::Place,
    id: &str,
) -> Result<K::Wire, DriverError> {
    wait_for(ctx, pacing, K::WHAT, move || async move {
        let Some(w) = K::get(c, at, id).await.map_err(api)? else {
            return Err(DriverError::failed(format!("{} {id} is gone", K::WHAT)));
        };
        match K::readiness(&w) {
            Readiness::Ready => Ok(Poll::Done(w)),
            Readiness::Pending(status) => Ok(Poll::Pending(status)),
            Readiness::Failed(status) => Err(DriverError::failed(format!(
                "{} {id} is `{status}`",
                K::WHAT
            ))),
            Readiness::Broken(message) => Err(DriverError::failed(message)),
        }
    })
    .await
}

/// The place of a recorded resource: its recorded attribute, else its config.
pub(crate) fn recorded_place<P: Place>(
    p: &ScalewayProvider,
    rec: &ResourceState,
) -> Result<P, DriverError> {
    match P::KEY
        .and_then(|k| rec.attributes.get(k))
        .and_then(Value::as_str)
    {
        Some(s) => P::parse(s),
        None => P::of_config(p, &rec.config),
    }
}

/// One Scaleway resource kind: its [`kind!`] declaration and its behaviour; the core derives
/// its [`Driver`].
#[async_trait]
pub(crate) trait Kind: Declared + Send + Sync + Sized + 'static {
    /// How a delete ends.
    const DELETION: Deletion = Deletion::Once;
    /// Where the objects live.
    type Place: Place;
    /// What a create sends.
    type Request: Send + Sync + 'static;

    /// Attributes the API shows once, in the create's answer: reads keep them as recorded.
    // Added for Cockpit tokens: their secret key is only known at create.
    const KEPT: &'static [&'static str] = &[];

    /// What the progress line shows while a delete lingers.
    fn status(_w: &Self::Wire) -> String {
        "deleting".into()
    }
    /// What waits call the object in progress lines and errors.
    const WHAT: &'static str = Self::NAME;
    /// Whether a live object is usable yet (default: always).
    fn readiness(_w: &Self::Wire) -> Readiness {
        Readiness::Ready
    }
    /// Checks beyond credentials and locality (which every kind gets).
    fn validate(_config: &Value, _errors: &mut Vec<FieldError>) {}
    /// Whether [`Kind::check_live`] has anything to check.
    const CHECKS_LIVE: bool = false;
    /// Checks against live offers at plan time (`changed`: the fields a plan changes, `None`
    /// for a create).
    async fn check_live(
        _d: &KindDriver<Self>,
        _config: &Value,
        _changed: Option<&[String]>,
    ) -> Result<Vec<FieldError>, DriverError> {
        Ok(vec![])
    }
    /// The mutex serializing this object's mutations with its siblings' (pools of one
    /// cluster), held through a whole create, recovery, update or delete (default: none).
    fn lock(_d: &KindDriver<Self>, _config: &Value) -> Option<Arc<tokio::sync::Mutex<()>>> {
        None
    }
    /// Whether a failed create means "an object of that natural key exists already": the
    /// core then looks it up ([`Kind::lookup`]) and adopts it.
    fn exists_already(_e: &ApiErr) -> bool {
        false
    }
    /// Shapes live attributes like the recorded config (default: [`conform`]).
    fn shape(attributes: &mut Value, config: &Value) {
        conform(attributes, config);
    }
    /// The config an import records.
    fn imported_config(schema: &Schema, attributes: &Value) -> Value {
        config_from(schema, attributes)
    }

    // Added for scaleway_domain_zone: whether kapstan created a zone is known only to its record.
    /// What the checkpoint after a create records (default: the id); read back by
    /// [`Kind::recall`] on a recovery.
    fn checkpoint(w: &Self::Wire) -> Value {
        json!({ "id": Self::id(w) })
    }

    // Added for scaleway_domain_zone: whether kapstan created a zone is known only to its record.
    /// Completes a live object with what only kapstan's record knows (`known`: the recorded
    /// attributes on a read, the checkpoint on a recovery); default: nothing.
    fn recall(w: Self::Wire, _known: &Value) -> Self::Wire {
        w
    }

    /// The client mutations use (default: 409 `transient_state` answers waited out).
    fn client(d: &KindDriver<Self>, _config: &Value) -> Result<Client, DriverError> {
        d.p.client_with_backoff()
    }

    /// Reads one object by id (the id without its locality prefix); `None` (like a 404) when
    /// it does not exist.
    async fn get(c: &Client, at: &Self::Place, id: &str) -> Result<Option<Self::Wire>, ApiErr>;

    /// Completes a live object with what its attributes need beyond `get` (default: nothing),
    /// before any attributes are made of it; called again on a completed object.
    async fn complete(
        _c: &Client,
        _at: &Self::Place,
        w: Self::Wire,
    ) -> Result<Self::Wire, DriverError> {
        Ok(w)
    }

    /// Lists the objects carrying `tags` (default: the kind has no tag lookup).
    async fn list_tagged(
        _c: &Client,
        _at: &Self::Place,
        _tags: &[String],
    ) -> Result<Vec<Self::Wire>, ApiErr> {
        Ok(vec![])
    }

    /// Finds the object a config describes after a lost answer or a crash (default: by its
    /// ownership tags, failing when several carry them).
    async fn lookup(op: &Op<'_, Self>) -> Result<Option<Self::Wire>, DriverError> {
        op.d.by_tags(op.ctx, op.c, op.at).await
    }

    /// Whether an object found after a lost answer or a crash can be taken over: `None` once
    /// the kind has deleted it instead (a token whose secret key was only in the lost
    /// answer), for the create to make a new one (default: taken over).
    // Added for Cockpit tokens, which cannot be adopted.
    async fn found(_op: &Op<'_, Self>, w: Self::Wire) -> Result<Option<Self::Wire>, DriverError> {
        Ok(Some(w))
    }

    /// Builds the create request (may wait for a parent first).
    async fn request(op: &Op<'_, Self>) -> Result<Self::Request, DriverError>;

    /// Sends the create.
    async fn post(c: &Client, at: &Self::Place, req: &Self::Request) -> Result<Self::Wire, ApiErr>;

    /// Brings an object found instead of created (adopted after a lost answer or an "exists
    /// already" refusal, or recovered after a crash) to the declaration (default: as found).
    async fn adopted(_op: &Op<'_, Self>, w: Self::Wire) -> Result<Self::Wire, DriverError> {
        Ok(w)
    }

    /// Waits until a created (or recovered) object is usable (default: it is at once).
    async fn settle(_op: &Op<'_, Self>, w: Self::Wire) -> Result<Self::Wire, DriverError> {
        Ok(w)
    }

    /// Updates in place and returns the object as it is afterwards (the id is
    /// `bare_id(update.recorded)`, the config also `op.config`).
    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<Self::Wire, DriverError>;

    /// Refuses a delete that would break what kapstan does not own (default: none does).
    async fn before_delete(_op: &Op<'_, Self>, _rec: &ResourceState) -> Result<(), DriverError> {
        Ok(())
    }

    /// Runs after the object is gone (default: nothing), e.g. waiting for its parent.
    async fn after_delete(_op: &Op<'_, Self>, _rec: &ResourceState) -> Result<(), DriverError> {
        Ok(())
    }

    /// Deletes the object (default: [`delete_declared`]: [`Kind::before_delete`],
    /// [`Kind::remove`], the wait [`Kind::DELETION`] says, [`Kind::after_delete`]).
    async fn delete(op: &Op<'_, Self>, rec: &ResourceState) -> Result<(), DriverError> {
        delete_declared(op, rec).await
    }

    /// Sends the delete.
    async fn remove(
        c: &Client,
        at: &Self::Place,
        id: &str,
        rec: &ResourceState,
    ) -> Result<(), ApiErr>;
}

/// What every hook of a [`Kind`] works with: the driver, the call's context and config, the
/// client and the place of the object.
pub(crate) struct Op<'a, K: Kind> {
    /// The driver (its provider: pacing, projects, localities).
    pub(crate) d: &'a KindDriver<K>,
    /// The engine's context of this call.
    pub(crate) ctx: &'a DriverContext,
    /// The client of this call.
    pub(crate) c: &'a Client,
    /// Where the object lives.
    pub(crate) at: &'a K::Place,
    /// The config of this call: the declared one of a create, recovery or update, the
    /// recorded one of a delete.
    pub(crate) config: &'a Value,
}

impl<K: Kind> Op<'_, K> {
    /// The tags the config declares plus this resource's ownership tags.
    pub(crate) fn tags(&self) -> Vec<String> {
        owned_tags(self.ctx, &strings(self.config, "tags"))
    }

    /// The project of the config (its `project_id`, else the credentials' project).
    pub(crate) fn project(&self) -> Result<String, DriverError> {
        self.d.p.project_of(self.config)
    }

    /// A create request carrying this resource's [`Owned`] triple, its other fields at their
    /// defaults: `CreateVpcRequest { enable_routing: true, ..op.owned()? }`.
    pub(crate) fn owned<R: From<Owned>>(&self) -> Result<R, DriverError> {
        Ok(R::from(Owned {
            project_id: self.project()?,
            name: string(self.config, "name").unwrap_or_default(),
            tags: self.tags(),
        }))
    }

    /// Polls `get` until [`Kind::readiness`] says the object `id` is usable; a failed status
    /// is an error.
    pub(crate) async fn wait_ready(&self, pace: Pace, id: &str) -> Result<K::Wire, DriverError> {
        wait_ready::<K>(self.ctx, self.d.p.pacing(pace), self.c, self.at, id).await
    }

    /// Polls `get` until the object `id` is gone.
    pub(crate) async fn wait_gone(&self, pace: Pace, id: &str) -> Result<(), DriverError> {
        let Op { d, ctx, c, at, .. } = *self;
        let what = format!("{} deletion", K::WHAT);
        wait_for(ctx, d.p.pacing(pace), &what, move || async move {
            match fetch::<K>(c, at, id).await? {
                Some(w) => Ok(Poll::Pending(K::status(&w))),
                None => Ok(Poll::Done(())),
            }
        })
        .await
    }
}

/// What a create request of a project-scoped, named, tagged object says about who owns it:
/// the project, the declared name (empty lets the API pick one) and the user's tags plus the
/// ownership tags. Built once by [`Op::owned`]; kinds lacking one of the three (IPs have no
/// name, Cockpit objects no tags) set their own fields instead.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Owned {
    /// The project (the config's, else the credentials').
    pub(crate) project_id: String,
    /// The declared name.
    pub(crate) name: String,
    /// The declared tags plus the ownership tags.
    pub(crate) tags: Vec<String>,
}

/// The create requests that carry an [`Owned`] triple as their own `project_id`, `name` and
/// `tags` fields. The wire structs keep the three as plain fields (not a flattened struct) so
/// each request's JSON, field order included, stays what the API documents.
macro_rules! owned_requests {
    ($($request:ty),* $(,)?) => {$(
        impl From<Owned> for $request {
            fn from(o: Owned) -> Self {
                Self { project_id: o.project_id, name: o.name, tags: o.tags, ..Default::default() }
            }
        }
    )*};
}

owned_requests!(
    wire::vpc::CreateVpcRequest,
    wire::vpc::CreatePrivateNetworkRequest,
    wire::vpcgw::CreateGatewayRequest,
    wire::lb::CreateLbRequest,
    wire::k8s::CreateClusterRequest,
);

impl<K: Kind> Clone for Op<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: Kind> Copy for Op<'_, K> {}

/// The [`Driver`] of a declared [`Kind`].
#[derive(Debug)]
pub struct KindDriver<K> {
    /// The shared provider.
    pub(crate) p: Arc<ScalewayProvider>,
    schema: Schema,
    _kind: std::marker::PhantomData<fn() -> K>,
}

// Kinds are declared inside this crate; only their drivers are API.
#[allow(private_bounds)]
impl<K: Kind> KindDriver<K> {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(K::NAME, K::fields()),
            _kind: std::marker::PhantomData,
        }
    }

    /// Live attributes shaped like `config`.
    pub(crate) fn attrs(&self, w: &K::Wire, config: &Value) -> Value {
        let mut a = K::attributes(w);
        K::shape(&mut a, config);
        a
    }

    /// The one object carrying this resource's ownership tags.
    pub(crate) async fn by_tags(
        &self,
        ctx: &DriverContext,
        c: &Client,
        at: &K::Place,
    ) -> Result<Option<K::Wire>, DriverError> {
        let listed = K::list_tagged(c, at, &ctx.ownership_tags())
            .await
            .map_err(api)?;
        adopt_owned::<K>(ctx, listed)
    }

    /// Live attributes of a completed ([`Kind::complete`]) object, shaped like `config`.
    pub(crate) async fn live_attrs(
        &self,
        c: &Client,
        at: &K::Place,
        w: K::Wire,
        config: &Value,
    ) -> Result<(K::Wire, Value), DriverError> {
        let w = K::complete(c, at, w).await?;
        let a = self.attrs(&w, config);
        Ok((w, a))
    }

    /// Takes the kind's lock ([`Kind::lock`]) for a mutation of `config`'s object, at `at`,
    /// and the client mutations use ([`Kind::client`]).
    async fn mutation(&self, config: &Value, at: K::Place) -> Result<Mutation<K>, DriverError> {
        let guard = match K::lock(self, config) {
            Some(m) => Some(m.lock_owned().await),
            None => None,
        };
        Ok(Mutation {
            _guard: guard,
            client: K::client(self, config)?,
            at,
        })
    }

    async fn post_or_adopt(&self, op: &Op<'_, K>) -> Result<K::Wire, DriverError> {
        let req = K::request(op).await?;
        adopt_on_create(
            || K::post(op.c, op.at, &req),
            || async {
                match K::lookup(op).await? {
                    // `found` may discard it (Cockpit tokens).
                    Some(w) => match K::found(op, w).await? {
                        Some(w) => K::adopted(op, w).await.map(Some),
                        None => Ok(None),
                    },
                    None => Ok(None),
                }
            },
            K::exists_already,
        )
        .await
    }
}

/// Sends a create (`post`); when its outcome is unknown (lost response) or the object exists
/// already (`exists`), looks it up with `find` and adopts it; when nothing was created after a
/// lost response, sends it again (at most three attempts).
pub(crate) async fn adopt_on_create<T, P, PF, F, FF>(
    mut post: P,
    mut find: F,
    exists: fn(&ApiErr) -> bool,
) -> Result<T, DriverError>
where
    P: FnMut() -> PF,
    PF: Future<Output = Result<T, ApiErr>>,
    F: FnMut() -> FF,
    FF: Future<Output = Result<Option<T>, DriverError>>,
{
    for attempt in 1.. {
        match post().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_ambiguous() || exists(&e) => {
                if let Some(v) = find().await? {
                    return Ok(v);
                }
                if attempt >= 3 || !e.is_ambiguous() {
                    return Err(api(e));
                }
            }
            Err(e) => return Err(api(e)),
        }
    }
    unreachable!("the loop returns")
}

// Added (the body of `KindDriver::validate`) so hand-written Scaleway drivers validate alike.
/// Credentials, locality and tags (when the schema has them), then the kind's own `checks`.
pub(crate) fn validate_with(
    p: &ScalewayProvider,
    schema: &Schema,
    config: &Value,
    checks: impl FnOnce(&Value, &mut Vec<FieldError>),
) -> Vec<FieldError> {
    let mut e = p.credential_errors();
    check::locality(config, &mut e);
    if schema.field("tags").is_some() {
        check::tags(config, &mut e);
    }
    checks(config, &mut e);
    e
}

/// The id of a recorded resource without its locality prefix.
pub(crate) fn bare_id(rec: &ResourceState) -> &str {
    split_locality(rec.id.as_deref().unwrap_or_default()).1
}

/// The one object among `listed` carrying this resource's ownership tags, none, or an
/// ambiguity error.
pub(crate) fn adopt_owned<K: Kind>(
    ctx: &DriverContext,
    listed: Vec<K::Wire>,
) -> Result<Option<K::Wire>, DriverError> {
    let candidates = listed
        .into_iter()
        .filter(|w| is_owned(ctx, K::tags(w)))
        .map(|w| (K::id(&w), w))
        .collect();
    Ok(adopt_one(ctx, K::NAME, candidates)?.map(|(_, w)| w))
}

/// What a create, recovery, update or delete holds while it runs: the kind's lock, the client
/// and the place of the object.
struct Mutation<K: Kind> {
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    client: Client,
    at: K::Place,
}

impl<K: Kind> Mutation<K> {
    /// The hooks' view of this mutation of `config`'s object.
    fn op<'a>(
        &'a self,
        d: &'a KindDriver<K>,
        ctx: &'a DriverContext,
        config: &'a Value,
    ) -> Op<'a, K> {
        Op {
            d,
            ctx,
            c: &self.client,
            at: &self.at,
            config,
        }
    }
}

/// Live attributes with the [`Kind::KEPT`] ones as `rec` recorded them.
// Added for Cockpit tokens: their secret key is only known at create.
fn kept<K: Kind>(rec: &ResourceState, mut attributes: Value) -> Value {
    for key in K::KEPT {
        if let Some(v) = rec.attributes.get(*key).filter(|v| !v.is_null()) {
            attributes[*key] = v.clone();
        }
    }
    attributes
}

/// The declared delete: [`Kind::before_delete`], [`Kind::remove`], the wait
/// [`Kind::DELETION`] says, then [`Kind::after_delete`].
pub(crate) async fn delete_declared<K: Kind>(
    op: &Op<'_, K>,
    rec: &ResourceState,
) -> Result<(), DriverError> {
    let Op { d, ctx, c, at, .. } = *op;
    let id = bare_id(rec);
    K::before_delete(op, rec).await?;
    let deleted = match K::DELETION {
        Deletion::Once => match K::remove(c, at, id, rec).await {
            Err(e) if !e.is_not_found() => Err(api(e)),
            _ => Ok(()),
        },
        Deletion::WaitGone(pace) => match K::remove(c, at, id, rec).await {
            Ok(()) => op.wait_gone(pace, id).await,
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(api(e)),
        },
        Deletion::RetryWhileInUse(pace) => {
            let what = format!("{} deletion", K::WHAT);
            wait_for(ctx, d.p.pacing(pace), &what, move || async move {
                match K::remove(c, at, id, rec).await {
                    Ok(()) => Ok(Poll::Done(())),
                    Err(e) if e.is_not_found() => Ok(Poll::Done(())),
                    Err(e) if matches!(e.status(), Some(409 | 412)) => {
                        Ok(Poll::Pending("still in use".into()))
                    }
                    Err(e) => Err(api(e)),
                }
            })
            .await
        }
    };
    deleted?;
    K::after_delete(op, rec).await
}

#[async_trait]
#[allow(private_bounds)]
impl<K: Kind> Driver for KindDriver<K> {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, errors: &mut Vec<FieldError>) {
        errors.extend(validate_with(&self.p, &self.schema, config, K::validate));
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let client = self.p.client()?;
        let at = recorded_place::<K::Place>(&self.p, rec)?;
        match fetch::<K>(&client, &at, bare_id(rec)).await? {
            // K::recall added for scaleway_domain_zone (what only the record knows).
            Some(w) => {
                let w = K::recall(w, &rec.attributes);
                let (_, attributes) = self.live_attrs(&client, &at, w, &rec.config).await?;
                Ok(Some(kept::<K>(rec, attributes)))
            }
            None => Ok(None),
        }
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let m = self
            .mutation(config, K::Place::of_config(&self.p, config)?)
            .await?;
        let op = &m.op(self, ctx, config);
        let w = self.post_or_adopt(op).await?;
        let id = K::id(&w);
        // K::checkpoint added for scaleway_domain_zone (default: the id, as before).
        ctx.checkpoint(K::checkpoint(&w)).await?;
        let w = K::settle(op, w).await?;
        let (_, attributes) = self.live_attrs(op.c, op.at, w, config).await?;
        Ok(Created { id, attributes })
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let m = self
            .mutation(config, K::Place::of_config(&self.p, config)?)
            .await?;
        let op = &m.op(self, ctx, config);
        let w = match marker_id(marker) {
            Some(id) => fetch::<K>(op.c, op.at, split_locality(id).1).await?,
            None => K::lookup(op).await?,
        };
        let Some(w) = w else { return Ok(None) };
        // K::recall added for scaleway_domain_zone (what only the checkpoint knows).
        let w = K::recall(w, marker);
        // `found` may discard it (Cockpit tokens).
        let Some(w) = K::found(op, w).await? else {
            return Ok(None);
        };
        let w = K::adopted(op, w).await?;
        let w = K::settle(op, w).await?;
        let (w, attributes) = self.live_attrs(op.c, op.at, w, config).await?;
        Ok(Some(Created {
            id: K::id(&w),
            attributes,
        }))
    }

    async fn update(&self, ctx: &DriverContext, update: &Update<'_>) -> Result<Value, DriverError> {
        let Update {
            recorded, config, ..
        } = *update;
        let m = self
            .mutation(config, recorded_place(&self.p, recorded)?)
            .await?;
        let op = &m.op(self, ctx, config);
        let w = K::update(op, update).await?;
        let (_, attributes) = self.live_attrs(op.c, op.at, w, config).await?;
        Ok(kept::<K>(recorded, attributes))
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let m = self
            .mutation(&rec.config, recorded_place(&self.p, rec)?)
            .await?;
        K::delete(&m.op(self, ctx, &rec.config), rec).await
    }

    fn checks_live(&self) -> bool {
        K::CHECKS_LIVE
    }

    async fn check_live(
        &self,
        _ctx: &DriverContext,
        config: &Value,
        changed: Option<&[String]>,
    ) -> Result<Vec<FieldError>, DriverError> {
        K::check_live(self, config, changed).await
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        let client = self.p.client()?;
        let (loc, id) = split_locality(id);
        let at = match loc {
            Some(l) => K::Place::parse(l)?,
            None => K::Place::default_of(&client),
        };
        let Some(w) = fetch::<K>(&client, &at, id).await? else {
            return Ok(None);
        };
        let (_, attributes) = self.live_attrs(&client, &at, w, &Value::Null).await?;
        Ok(Some(Imported {
            config: K::imported_config(&self.schema, &attributes),
            attributes,
        }))
    }
}

/// The type a typed attribute reference to a config field resolves to: the field's type
/// without [`Input`](kapstan_engine::Input) and [`Option`] (`Option<Input<String>>` gives
/// `String`).
pub trait Attribute {
    /// The resolved type.
    type Value;
}

impl<T> Attribute for kapstan_engine::Input<T> {
    type Value = T;
}

impl<T: Attribute> Attribute for Option<T> {
    type Value = T::Value;
}

impl<T: Attribute> Attribute for Vec<T> {
    type Value = Vec<T::Value>;
}

impl<T: Attribute> Attribute for std::collections::BTreeMap<String, T> {
    type Value = std::collections::BTreeMap<String, T::Value>;
}

/// Declares a nested config block, a struct a kind's field holds (a private-network endpoint,
/// a lifecycle rule): as for the fields of [`kind!`], each `Option` field is left out
/// of the serialized config when `None` (and absent, it reads as `None`); the other fields
/// and the struct's attributes are kept as written.
///
/// ```text
/// config_block! {
///     /// The IPv4 subnet of a private network.
///     #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
///     pub struct Ipv4Subnet {
///         /// CIDR; default: allocated by the API.
///         pub subnet: Option<String>,
///     }
/// }
/// ```
macro_rules! config_block {
    ($(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $crate::scaleway::kind::config_block!(@munch [$(#[$m])* pub struct $name] [] $($body)*);
    };
    // Every field read: the struct.
    (@munch [$($head:tt)*] [$($acc:tt)*]) => { $($head)* { $($acc)* } };
    // An `Option` field, omitted when `None`.
    (@munch $head:tt [$($acc:tt)*] $(#[$fm:meta])* pub $f:ident: Option<$t:ty> $(, $($rest:tt)*)?) => {
        $crate::scaleway::kind::config_block!(@munch $head [
            $($acc)* $(#[$fm])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $f: Option<$t>,
        ] $($($rest)*)?);
    };
    // Any other field.
    (@munch $head:tt [$($acc:tt)*] $(#[$fm:meta])* pub $f:ident: $t:ty $(, $($rest:tt)*)?) => {
        $crate::scaleway::kind::config_block!(@munch $head [$($acc)* $(#[$fm])* pub $f: $t,] $($($rest)*)?);
    };
}
pub(crate) use config_block;

/// Declares that config types resolve to themselves as attributes (scalars, nested blocks).
macro_rules! attribute_as_is {
    ($($t:ty),* $(,)?) => {
        $(impl $crate::scaleway::kind::Attribute for $t {
            type Value = $t;
        })*
    };
}
pub(crate) use attribute_as_is;

attribute_as_is!(String, bool, u32, u64, i32, i64, f64, Value);

/// What the [`kind!`] declaration of a kind generates: its name, wire type, schema fields,
/// attributes and id.
pub(crate) trait Declared {
    /// The kind name (`scaleway_vpc`).
    const NAME: &'static str;
    /// The API's representation of one object.
    type Wire: Send + Sync + 'static;
    /// The schema fields.
    fn fields() -> Vec<Field>;
    /// The attributes of a live object, before [`Kind::shape`].
    fn attributes(w: &Self::Wire) -> Value;
    /// The provider id of a live object.
    fn id(w: &Self::Wire) -> String;
    /// The live object's tags, when the kind is looked up by ownership tags.
    fn tags(_w: &Self::Wire) -> &[String] {
        &[]
    }
}

/// Declares a kind once: the config struct users declare in stacks, its typed attributes, its
/// [`Resource`](kapstan_engine::Resource) impl, the kind's marker type and driver alias, and
/// its [`Declared`] impl (schema, attribute extraction, id, tags).
///
/// ```text
/// kind! {
///     /// A VPC.                                      <- doc of the config struct
///     pub struct Vpc = "scaleway_vpc" (VpcKind, VpcAttributes, VpcDriver);
///     wire WireVpc as v, id v.id;                     <- the live object, bound to `v`
///     /// name of the VPC (updated in place)          <- the field's doc and description
///     name: Input<String>, required => v.name;
///     tags => v.tags;                                 <- the standard fields: tags,
///     region => v.region;                                zone, region, project_id,
///     project_id => v.project_id;                        organization_id
///     /// whether this is the project's default VPC
///     is_default: bool, computed => v.is_default;
/// }
/// ```
///
/// An argument is `name [as "key"]: Type, role modifiers [=> live value];` after its doc and
/// optional `#[serde(..)]` attributes: it becomes a config field, a schema field (its doc is
/// the description) and an attribute accessor; an `Option` field is left out of the
/// serialized config when `None`. Without `=> value` it is write-only (sent, never
/// read back, no accessor). `computed` fields are attributes only, typed by their `Type`;
/// `sensitive` ones give sensitive references.
/// `@ name: Option<T>` keeps only the `#[serde(..)]` written: `None` is serialized too.
/// Fields keep their order in the struct, the schema and the attributes.
macro_rules! kind {
    // The standard fields: a row each with its doc and full declaration, rewritten by the
    // `@standard` arm below (the tags also mark the ownership lookup's tags).
    (@munch $acc:tt tags => $e:expr; $($rest:tt)*) => {
        $crate::scaleway::kind::kind! { @standard $acc [@tags($e)] "tags (updated in place); kapstan adds kapstan-stack and kapstan-addr"
            #[serde(default)] tags: Vec<String>, optional => $crate::scaleway::provider::user_tags(&$e); $($rest)* }
    };
    (@munch $acc:tt zone => $e:expr; $($rest:tt)*) => {
        $crate::scaleway::kind::kind! { @standard $acc [] "zone; default: the configured zone"
            zone: Option<String>, optional_computed force_new => $e; $($rest)* }
    };
    (@munch $acc:tt region => $e:expr; $($rest:tt)*) => {
        $crate::scaleway::kind::kind! { @standard $acc [] "region; default: the configured region"
            region: Option<String>, optional_computed force_new => $e; $($rest)* }
    };
    (@munch $acc:tt project_id => $e:expr; $($rest:tt)*) => {
        $crate::scaleway::kind::kind! { @standard $acc [] "project; default: the credentials' project"
            project_id: Option<String>, optional_computed force_new => $e; $($rest)* }
    };
    (@munch $acc:tt organization_id => $e:expr; $($rest:tt)*) => {
        $crate::scaleway::kind::kind! { @standard $acc [] "organization of the project"
            organization_id: String, computed => $e; $($rest)* }
    };
    (@standard $acc:tt [$($marker:tt)*] $doc:literal $($field:tt)*) => {
        $crate::scaleway::kind::kind! { @munch $acc $($marker)* #[doc = $doc] $($field)* }
    };
    // The tags of the ownership lookup.
    (@munch [$($acc:tt)*] @tags($e:expr) $($rest:tt)*) => {
        $crate::scaleway::kind::kind! { @munch [$($acc)* tags($e)] $($rest)* }
    };
    // A computed attribute.
    (@munch [$head:tt {$($sf:tt)*} {$($fields:tt)*} {$($attrs:tt)*} {$($acc:tt)*} $($tags:tt)*]
        $(#[doc = $doc:literal])+
        $name:ident $(as $key:literal)? : $ty:ty, computed $($modifier:ident)* => $value:expr;
        $($rest:tt)*) => {
        $crate::scaleway::kind::kind! { @munch [$head
            {$($sf)*}
            {$($fields)* kapstan_engine::Field::computed($crate::scaleway::kind::kind!(@key $name $($key)?))
                $(.$modifier())*.describe(concat!($($doc),+).trim_ascii()),}
            {$($attrs)* ($crate::scaleway::kind::kind!(@key $name $($key)?), $value)}
            {$($acc)*
                $(#[doc = $doc])+
                pub fn $name(&self) -> kapstan_engine::Output<$ty> {
                    $crate::scaleway::kind::output(
                        &self.0,
                        $crate::scaleway::kind::kind!(@key $name $($key)?),
                        &[$(stringify!($modifier)),*],
                    )
                }
            }
            $($tags)*] $($rest)* }
    };
    // An optional config field: absent, it is neither required nor serialized.
    (@munch $acc:tt $(#[doc = $doc:literal])+ $(#[serde($($serde:tt)*)])*
        $name:ident $(as $key:literal)? : Option<$inner:ty>, $($rest:tt)*) => {
        $crate::scaleway::kind::kind! { @munch $acc $(#[doc = $doc])+
            #[serde(default, skip_serializing_if = "Option::is_none")] $(#[serde($($serde)*)])*
            @ $name $(as $key)? : Option<$inner>, $($rest)* }
    };
    // An argument read back from the live object.
    (@munch [$head:tt {$($sf:tt)*} {$($fields:tt)*} {$($attrs:tt)*} {$($acc:tt)*} $($tags:tt)*]
        $(#[doc = $doc:literal])+ $(#[serde($($serde:tt)*)])*
        $(@)? $name:ident $(as $key:literal)? : $ty:ty, $role:ident $($modifier:ident)* => $value:expr;
        $($rest:tt)*) => {
        $crate::scaleway::kind::kind! { @munch [$head
            {$($sf)* $(#[doc = $doc])+ $(#[serde(rename = $key)])? $(#[serde($($serde)*)])* pub $name: $ty,}
            {$($fields)* kapstan_engine::Field::$role($crate::scaleway::kind::kind!(@key $name $($key)?))
                $(.$modifier())*.describe(concat!($($doc),+).trim_ascii()),}
            {$($attrs)* ($crate::scaleway::kind::kind!(@key $name $($key)?), $value)}
            {$($acc)*
                $(#[doc = $doc])+
                pub fn $name(&self) -> kapstan_engine::Output<<$ty as $crate::scaleway::kind::Attribute>::Value> {
                    $crate::scaleway::kind::output(
                        &self.0,
                        $crate::scaleway::kind::kind!(@key $name $($key)?),
                        &[$(stringify!($modifier)),*],
                    )
                }
            }
            $($tags)*] $($rest)* }
    };
    // A write-only argument: sent, never read back.
    (@munch [$head:tt {$($sf:tt)*} {$($fields:tt)*} $attrs:tt $acc:tt $($tags:tt)*]
        $(#[doc = $doc:literal])+ $(#[serde($($serde:tt)*)])*
        $(@)? $name:ident $(as $key:literal)? : $ty:ty, $role:ident $($modifier:ident)*;
        $($rest:tt)*) => {
        $crate::scaleway::kind::kind! { @munch [$head
            {$($sf)* $(#[doc = $doc])+ $(#[serde(rename = $key)])? $(#[serde($($serde)*)])* pub $name: $ty,}
            {$($fields)* kapstan_engine::Field::$role($crate::scaleway::kind::kind!(@key $name $($key)?))
                $(.$modifier())*.describe(concat!($($doc),+).trim_ascii()),}
            $attrs $acc $($tags)*] $($rest)* }
    };
    // Every field is read: the items.
    (@munch [{
        $(#[$meta:meta])* $config:ident $kind_name:literal $kind:ident $attributes:ident [$($driver:ident)?]
        $wire:ty, $v:ident, $id:expr
    } {$($sf:tt)*} {$($fields:tt)*} {$(($key:expr, $value:expr))*} {$($acc:tt)*} $(tags($tags:expr))?]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, ::serde::Serialize, ::serde::Deserialize)]
        pub struct $config {
            $($sf)*
        }

        $crate::scaleway::provider::attributes! {
            #[doc = concat!("Attributes of a `", $kind_name, "`.")]
            $attributes {}
        }

        impl $attributes {
            $($acc)*
        }

        impl kapstan_engine::Resource for $config {
            const KIND: &'static str = $kind_name;
            type Attributes = $attributes;
        }

        #[doc = concat!("The declaration of `", $kind_name, "`.")]
        #[derive(Debug)]
        pub struct $kind;

        $(#[doc = concat!("The `", $kind_name, "` driver.")]
        pub type $driver = $crate::scaleway::kind::KindDriver<$kind>;)?

        impl $crate::scaleway::kind::Declared for $kind {
            const NAME: &'static str = $kind_name;
            type Wire = $wire;
            fn fields() -> Vec<kapstan_engine::Field> {
                vec![$($fields)*]
            }
            #[allow(unused_variables)]
            fn attributes($v: &$wire) -> serde_json::Value {
                let mut attributes = serde_json::Map::new();
                $(attributes.insert($key.to_string(), serde_json::json!($value));)*
                serde_json::Value::Object(attributes)
            }
            fn id($v: &$wire) -> String {
                ToString::to_string(&$id)
            }
            $(fn tags($v: &$wire) -> &[String] {
                &$tags
            })?
        }
    };
    (@key $name:ident) => { stringify!($name) };
    (@key $name:ident $key:literal) => { $key };
    // The entry point.
    // The driver name is optional (added for kinds that do not fit the driver core, S3 buckets
    // and Secret Manager reads: the declaration alone, for their hand-written driver).
    (
        $(#[$meta:meta])*
        pub struct $config:ident = $kind_name:literal ($kind:ident, $attributes:ident $(, $driver:ident)?);
        wire $wire:ty as $v:ident, id $id:expr;
        $($rest:tt)*
    ) => {
        $crate::scaleway::kind::kind! { @munch [{
            $(#[$meta])* $config $kind_name $kind $attributes [$($driver)?] $wire, $v, $id
        } {} {} {} {}] $($rest)* }
    };
}
pub(crate) use kind;

/// Writes a [`Kind`] impl whose plain hooks are one client call each, through
/// `c.<api>(at)`: `get` (the object, a 404 an error [`fetch`] reads as `None`),
/// `list_tagged` (the tag filter), `post` (the request), `remove` (the id, then any literal
/// arguments; the answer dropped) and `update` (the request built from the named op and
/// config, sent with the id), and `status` (the live object's status field, which progress
/// lines show); the other items follow as in any impl. `=> f` after a
/// `get`, `list_tagged` or `post` call makes the kind's wire type of each object with `f`
/// (a wrapper whose extras are read later).
///
/// ```text
/// kind_impl! {
///     impl Kind for VpcKind, calls vpc {
///         get: get_vpc; list_tagged: list_vpcs; post: create_vpc; remove: delete_vpc;
///     }
///     status(v) => v.status;
///     update(op, config) => update_vpc(UpdateVpcRequest { .. });
///     type Place = Region;
///     ..
/// }
/// ```
macro_rules! kind_impl {
    // The calls: each declared one becomes its hook.
    (
        impl Kind for $kind:ident, calls $api:ident {
            $(get: $get:ident $(=> $gwrap:path)?;)?
            $(list_tagged: $list:ident $(=> $lwrap:path)?;)?
            $(post: $post:ident $(=> $pwrap:path)?;)?
            $(remove: $remove:ident $(($($arg:literal),*))?;)?
        }
        $($rest:tt)*
    ) => {
        $crate::scaleway::kind::kind_impl! { @items $kind $api [
            $(async fn get(
                c: &$crate::scaleway::client::Client,
                at: &<Self as $crate::scaleway::kind::Kind>::Place,
                id: &str,
            ) -> Result<Option<<Self as $crate::scaleway::kind::Declared>::Wire>, $crate::scaleway::client::Error> {
                c.$api(at).$get(id).await$(.map($gwrap))?.map(Some)
            })?

            $(async fn list_tagged(
                c: &$crate::scaleway::client::Client,
                at: &<Self as $crate::scaleway::kind::Kind>::Place,
                tags: &[String],
            ) -> Result<Vec<<Self as $crate::scaleway::kind::Declared>::Wire>, $crate::scaleway::client::Error> {
                c.$api(at)
                    .$list(&$crate::scaleway::client::api::ListFilter::tags(tags.to_vec()))
                    .await
                    $(.map(|l| l.into_iter().map($lwrap).collect()))?
            })?

            $(async fn post(
                c: &$crate::scaleway::client::Client,
                at: &<Self as $crate::scaleway::kind::Kind>::Place,
                req: &<Self as $crate::scaleway::kind::Kind>::Request,
            ) -> Result<<Self as $crate::scaleway::kind::Declared>::Wire, $crate::scaleway::client::Error> {
                c.$api(at).$post(req).await$(.map($pwrap))?
            })?

            $(async fn remove(
                c: &$crate::scaleway::client::Client,
                at: &<Self as $crate::scaleway::kind::Kind>::Place,
                id: &str,
                _rec: &kapstan_engine::state::ResourceState,
            ) -> Result<(), $crate::scaleway::client::Error> {
                c.$api(at).$remove(id $($(, $arg)*)?).await.map(|_| ())
            })?
        ] $($rest)* }
    };
    // The status field.
    (@items $kind:ident $api:ident [$($done:tt)*] status($w:ident) => $status:expr; $($rest:tt)*) => {
        $crate::scaleway::kind::kind_impl! { @items $kind $api [$($done)*
            fn status($w: &<Self as $crate::scaleway::kind::Declared>::Wire) -> String {
                $status.to_string()
            }
        ] $($rest)* }
    };
    // The update: its request, sent with the id.
    (@items $kind:ident $api:ident [$($done:tt)*]
        update($op:ident, $config:ident) => $update:ident($req:expr); $($rest:tt)*) => {
        $crate::scaleway::kind::kind_impl! { @items $kind $api [$($done)*
            async fn update(
                $op: &$crate::scaleway::kind::Op<'_, Self>,
                update: &kapstan_engine::Update<'_>,
            ) -> Result<<Self as $crate::scaleway::kind::Declared>::Wire, kapstan_engine::DriverError> {
                let $config = $op.config;
                let req = $req;
                $op.c
                    .$api($op.at)
                    .$update($crate::scaleway::kind::bare_id(update.recorded), &req)
                    .await
                    .map_err($crate::scaleway::provider::api)
            }
        ] $($rest)* }
    };
    // The impl: the declared hooks, then the other items as written.
    (@items $kind:ident $api:ident [$($done:tt)*] $($item:tt)*) => {
        #[kapstan_engine::async_trait]
        impl $crate::scaleway::kind::Kind for $kind {
            $($done)*
            $($item)*
        }
    };
}
pub(crate) use kind_impl;

/// A typed reference to the attribute `key`, sensitive when its schema modifiers say so.
pub fn output<T>(
    r: &kapstan_engine::ResourceRef,
    key: &str,
    modifiers: &[&str],
) -> kapstan_engine::Output<T> {
    if modifiers.contains(&"sensitive") {
        r.sensitive_output(key)
    } else {
        r.output(key)
    }
}

#[cfg(test)]
mod tests {
    use super::super::client::ApiError;
    use super::super::provider::is_not_found;
    use super::*;

    fn answered(status: u16, body: &str) -> ApiErr {
        ApiErr::from(ApiError::from_response(
            "GET",
            "/vpc/v2/regions/fr-par/vpcs/x",
            status,
            None,
            body.as_bytes(),
        ))
    }

    /// The declaration keeps the config struct, the schema and the `Resource` impl in step:
    /// what a config serializes are schema arguments, and every description is one trimmed
    /// line.
    #[test]
    fn declared_structs_serialize_only_their_schema_arguments() {
        // `Declared` (was `Kind`): also the declarations whose drivers are hand-written.
        fn check<R: kapstan_engine::Resource + Default, K: Declared>() {
            assert_eq!(R::KIND, K::NAME);
            let schema = Schema::new(K::NAME, K::fields());
            let config = serde_json::to_value(R::default()).expect("serializes");
            for key in config.as_object().expect("an object").keys() {
                let field = schema.field(key);
                assert!(
                    field.is_some_and(|f| f.is_argument()),
                    "{}: `{key}` is not an argument",
                    K::NAME
                );
            }
            for f in &schema.fields {
                assert!(!f.description.is_empty(), "{}.{}", K::NAME, f.name);
                assert_eq!(
                    f.description.trim(),
                    f.description,
                    "{}.{}",
                    K::NAME,
                    f.name
                );
            }
        }
        use super::super::*;
        check::<vpc::Vpc, vpc::VpcKind>();
        check::<vpc_private_network::PrivateNetwork, vpc_private_network::PrivateNetworkKind>();
        check::<vpc_public_gateway_ip::PublicGatewayIp, vpc_public_gateway_ip::PublicGatewayIpKind>(
        );
        check::<vpc_public_gateway::PublicGateway, vpc_public_gateway::PublicGatewayKind>();
        check::<vpc_gateway_network::GatewayNetwork, vpc_gateway_network::GatewayNetworkKind>();
        check::<lb_ip::LbIp, lb_ip::LbIpKind>();
        check::<lb::Lb, lb::LbKind>();
        check::<rdb_database::RdbDatabase, rdb_database::RdbDatabaseKind>();
        check::<rdb_user::RdbUser, rdb_user::RdbUserKind>();
        // The RDB kinds moved onto the core.
        check::<rdb_instance::RdbInstance, rdb_instance::RdbInstanceKind>();
        check::<rdb_acl::RdbAcl, rdb_acl::RdbAclKind>();
        check::<rdb_privilege::RdbPrivilege, rdb_privilege::RdbPrivilegeKind>();
        check::<k8s_cluster::Cluster, k8s_cluster::ClusterKind>();
        check::<k8s_pool::Pool, k8s_pool::PoolKind>();
        // Added with the DNS, Secret Manager and Object Storage declarations.
        check::<domain_zone::DomainZone, domain_zone::DomainZoneKind>();
        check::<domain_record::DomainRecord, domain_record::DomainRecordKind>();
        check::<secret_version::SecretVersion, secret_version::SecretVersionKind>();
        check::<object_bucket::ObjectBucket, object_bucket::ObjectBucketKind>();
        // Added with the Cockpit kinds.
        check::<cockpit_source::CockpitSource, cockpit_source::CockpitSourceKind>();
        check::<cockpit_token::CockpitToken, cockpit_token::CockpitTokenKind>();
        check::<
            cockpit_alert_manager::CockpitAlertManager,
            cockpit_alert_manager::CockpitAlertManagerKind,
        >();
    }

    /// A config block omits its `None` fields and reads absent ones as `None`, as the fields
    /// of a kind do; its other fields are serialized as ever.
    #[test]
    fn config_blocks_omit_their_none_fields() {
        use super::super::object_bucket::LifecycleRule;
        use super::super::vpc_gateway_network::IpamConfig;
        let none = serde_json::to_value(LifecycleRule::default()).expect("serializes");
        let plain = serde_json::json!({"id": "", "prefix": "", "enabled": false});
        assert_eq!(none, plain);
        let some = LifecycleRule {
            abort_incomplete_multipart_upload_days: Some(7),
            ..Default::default()
        };
        let mut json = plain;
        json["abort_incomplete_multipart_upload_days"] = 7.into();
        assert_eq!(serde_json::to_value(&some).expect("serializes"), json);
        assert_eq!(
            serde_json::from_value::<LifecycleRule>(json).expect("reads"),
            some
        );
        let ipam = serde_json::json!({"push_default_route": true});
        let read: IpamConfig = serde_json::from_value(ipam.clone()).expect("reads");
        assert_eq!(read.ipam_ip_id, None);
        assert_eq!(serde_json::to_value(&read).expect("serializes"), ipam);
    }

    #[test]
    fn driver_errors_keep_the_client_error_and_say_whether_to_retry() {
        let limited = api(answered(429, ""));
        assert!(limited.is_retryable());
        let kept = limited
            .api_source::<ApiErr>()
            .expect("the client error is the source");
        assert_eq!(kept.status(), Some(429));
        assert!(std::error::Error::source(&limited).is_some());

        assert!(api(answered(503, "")).is_retryable());
        let busy = answered(409, r#"{"type":"transient_state","resource":"vpc"}"#);
        assert!(api(busy).is_retryable());

        let refused = api(answered(
            400,
            r#"{"type":"invalid_arguments","message":"bad","details":[]}"#,
        ));
        assert!(!refused.is_retryable());
        assert!(!is_not_found(&refused));

        // A 404 stays recognisable through the driver error, whatever its message says.
        let gone = api(answered(404, r#"{"message":"lbs not Found"}"#));
        assert!(is_not_found(&gone));
        assert!(!gone.is_retryable());
        assert!(gone.to_string().contains("not Found"));
    }

    #[test]
    fn lost_creates_are_adopted_and_refusals_are_not_retried() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let lost = || ApiErr::Ambiguous {
            method: "POST".into(),
            path: "/vpcs".into(),
            reason: "connection reset".into(),
        };
        // Lost answer, then found by lookup: adopted without a second POST.
        let posts = std::cell::Cell::new(0);
        let adopted = rt.block_on(adopt_on_create(
            || {
                posts.set(posts.get() + 1);
                async { Err::<u32, _>(lost()) }
            },
            || async { Ok(Some(7)) },
            |_| false,
        ));
        assert_eq!(adopted.unwrap(), 7);
        assert_eq!(posts.get(), 1);
        // Lost every time and never found: three attempts, then the error.
        posts.set(0);
        let failed = rt.block_on(adopt_on_create(
            || {
                posts.set(posts.get() + 1);
                async { Err::<u32, _>(lost()) }
            },
            || async { Ok(None) },
            |_| false,
        ));
        assert!(failed.is_err());
        assert_eq!(posts.get(), 3);
        // "Exists already" with the object found: adopted; not found: the refusal, once.
        let exists = |e: &ApiErr| e.status() == Some(409);
        let found = rt.block_on(adopt_on_create(
            || async { Err::<u32, _>(answered(409, "")) },
            || async { Ok(Some(9)) },
            exists,
        ));
        assert_eq!(found.unwrap(), 9);
        posts.set(0);
        let refused = rt.block_on(adopt_on_create(
            || {
                posts.set(posts.get() + 1);
                async { Err::<u32, _>(answered(409, "")) }
            },
            || async { Ok(None) },
            exists,
        ));
        assert!(refused.is_err());
        assert_eq!(posts.get(), 1);
    }
}
