//! `kapstan adopt`: takes over infrastructure the original Terraform project created.
//!
//! Reads a `terraform.tfstate` (format version 4), maps its `scaleway_*` resources (and the
//! database password) to the addresses of `coder-<env>-infra` by type and name, prints the
//! mapping for confirmation, then imports each one through the drivers (which read the live
//! object; nothing in the cloud is changed). Resources kapstan does not manage (security
//! groups, LB backends and frontends, certificates, `time_sleep`, …) are listed, never dropped
//! silently. The next `kapstan plan` shows only real differences.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kapstan_engine::{Action, ApplyOptions, EventSink, PlanMode, PlanOptions, StackSpec};
use kapstan_stacks::coder::{Environment, Phase};
use kapstan_state::{ResourceState, ResourceStatus, StateDelta};
use serde_json::Value;

use crate::environment::{build_stack, stack_name};
use crate::error::PlatformError;
use crate::events::{Confirmation, Observer, PlatformEvent};
use crate::project::Project;

/// One resource instance of a Terraform state.
#[derive(Debug, Clone, PartialEq)]
pub struct TfResource {
    /// Its Terraform address (`module.networking.scaleway_vpc.main`,
    /// `module.cluster.scaleway_k8s_pool.pools["default"]`).
    pub address: String,
    /// `managed` or `data`.
    pub mode: String,
    /// Resource type (`scaleway_vpc`).
    pub rtype: String,
    /// Resource name (`main`).
    pub name: String,
    /// `for_each` key or `count` index, when any.
    pub index_key: Option<Value>,
    /// The recorded attributes.
    pub attributes: Value,
}

/// A Terraform resource kapstan takes over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The Terraform address.
    pub terraform: String,
    /// The kind (Terraform type name).
    pub kind: String,
    /// The address in the kapstan stack.
    pub address: String,
    /// The id to import (as kapstan records it).
    pub id: String,
}

/// A Terraform resource kapstan leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmanaged {
    /// The Terraform address.
    pub terraform: String,
    /// Why kapstan does not take it over.
    pub reason: String,
}

/// The mapping of a Terraform state onto a stack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdoptPlan {
    /// Resources to import.
    pub mapped: Vec<Mapping>,
    /// Resources left alone.
    pub unmanaged: Vec<Unmanaged>,
    /// Declared addresses no Terraform resource maps to (kapstan will create them).
    pub unmatched: Vec<String>,
}

fn usage(path: &Path, message: impl std::fmt::Display) -> PlatformError {
    PlatformError::usage(
        format!("{}: {message}", path.display()),
        "pass the terraform.tfstate of the original project (`terraform state pull > terraform.tfstate`)",
    )
}

/// Reads a Terraform state file of format version 4.
pub fn read_tfstate(path: &Path) -> Result<Vec<TfResource>, PlatformError> {
    let bytes = std::fs::read(path).map_err(|source| PlatformError::Io {
        action: "reading",
        path: path.display().to_string(),
        source,
    })?;
    let doc: Value =
        serde_json::from_slice(&bytes).map_err(|e| usage(path, format!("not JSON: {e}")))?;
    match doc["version"].as_u64() {
        Some(4) => {}
        Some(v) => {
            return Err(usage(
                path,
                format!("state format version {v}; kapstan reads version 4 (Terraform ≥ 0.12)"),
            ));
        }
        None => return Err(usage(path, "no `version`: not a Terraform state file")),
    }
    let resources = doc["resources"]
        .as_array()
        .ok_or_else(|| usage(path, "no `resources` list"))?;
    let mut out = vec![];
    for r in resources {
        let mode = r["mode"].as_str().unwrap_or("managed").to_string();
        let rtype = r["type"].as_str().unwrap_or_default().to_string();
        let name = r["name"].as_str().unwrap_or_default().to_string();
        if rtype.is_empty() || name.is_empty() {
            return Err(usage(path, "a resource without `type` or `name`"));
        }
        let module = r["module"].as_str().map(str::to_string);
        let prefix = match (&module, mode.as_str()) {
            (Some(m), "data") => format!("{m}.data."),
            (Some(m), _) => format!("{m}."),
            (None, "data") => "data.".into(),
            (None, _) => String::new(),
        };
        for inst in r["instances"].as_array().into_iter().flatten() {
            let index_key = inst.get("index_key").cloned().filter(|v| !v.is_null());
            let index = match &index_key {
                Some(Value::String(s)) => format!("[\"{s}\"]"),
                Some(v) => format!("[{v}]"),
                None => String::new(),
            };
            out.push(TfResource {
                address: format!("{prefix}{rtype}.{name}{index}"),
                mode: mode.clone(),
                rtype: rtype.clone(),
                name: name.clone(),
                index_key,
                attributes: inst["attributes"].clone(),
            });
        }
    }
    Ok(out)
}

/// The last segment of a Scaleway id (`fr-par/<uuid>` → `<uuid>`).
fn bare(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

fn attr<'a>(r: &'a TfResource, key: &str) -> Option<&'a str> {
    r.attributes[key].as_str().filter(|s| !s.is_empty())
}

/// The region of a regional sub-resource: its `region`, else the locality of its instance id.
fn region_of(r: &TfResource, default_region: &str) -> String {
    if let Some(reg) = attr(r, "region") {
        return reg.to_string();
    }
    for key in ["instance_id", "id"] {
        if let Some((loc, _)) = attr(r, key).and_then(|i| i.split_once('/'))
            && loc.contains('-')
        {
            return loc.to_string();
        }
    }
    default_region.to_string()
}

/// Where a Terraform resource goes in the infra stack, and the id kapstan records for it.
fn target(r: &TfResource, default_region: &str) -> Result<(String, String), String> {
    let id = attr(r, "id").ok_or("it records no id")?;
    let simple = |addr: &str| Ok((addr.to_string(), bare(id).to_string()));
    let instance = || -> Result<String, String> {
        attr(r, "instance_id")
            .map(|i| bare(i).to_string())
            .ok_or_else(|| "it records no instance_id".to_string())
    };
    match r.rtype.as_str() {
        "scaleway_vpc" => simple("vpc"),
        "scaleway_vpc_private_network" => simple("network"),
        "scaleway_vpc_public_gateway_ip" => simple("gateway-ip"),
        "scaleway_vpc_public_gateway" => simple("gateway"),
        "scaleway_vpc_gateway_network" => simple("gateway-network"),
        "scaleway_k8s_cluster" => simple("cluster"),
        "scaleway_k8s_pool" => {
            let key = match &r.index_key {
                Some(Value::String(k)) => k.clone(),
                _ => attr(r, "name").unwrap_or(&r.name).to_string(),
            };
            simple(&format!("pool-{key}"))
        }
        "scaleway_rdb_instance" => simple("database"),
        "scaleway_rdb_database" => {
            let name = attr(r, "name").ok_or("it records no name")?;
            Ok((
                "database-coder".into(),
                format!("{}/{}/{name}", region_of(r, default_region), instance()?),
            ))
        }
        "scaleway_rdb_user" => {
            let name = attr(r, "name").ok_or("it records no name")?;
            Ok((
                "database-user".into(),
                format!("{}/{}/{name}", region_of(r, default_region), instance()?),
            ))
        }
        "scaleway_rdb_privilege" => {
            let db = attr(r, "database_name").ok_or("it records no database_name")?;
            let user = attr(r, "user_name").ok_or("it records no user_name")?;
            Ok((
                "database-privilege".into(),
                format!("{}/{}/{db}/{user}", region_of(r, default_region), instance()?),
            ))
        }
        "scaleway_rdb_acl" => Ok((
            "database-acl".into(),
            format!("{}/{}", region_of(r, default_region), instance()?),
        )),
        "scaleway_lb_ip" => simple("lb-ip"),
        "scaleway_lb" => simple("lb"),
        "random_password" if r.name == "db_password" => Ok(("db-password".into(), "none".into())),
        "random_password" => Err(format!(
            "random_password `{}` has no counterpart: kapstan generates only the database password",
            r.name
        )),
        "scaleway_instance_security_group" => Err(
            "security groups are not managed: Kapsule manages its nodes' security group (the original's was never attached)".into(),
        ),
        "scaleway_lb_backend" | "scaleway_lb_frontend" => Err(
            "LB backends and frontends are created by the Kubernetes cloud controller for the coder Service".into(),
        ),
        "scaleway_lb_certificate" => Err("certificates are not managed by the infra phase".into()),
        "time_sleep" => Err("time_sleep is a Terraform workaround; kapstan waits for readiness itself".into()),
        "local_file" | "null_resource" | "terraform_data" => {
            Err("local Terraform helper with no cloud object".into())
        }
        t if t.starts_with("kubernetes_") || t.starts_with("helm_") => Err(
            "Kubernetes objects belong to the app phase, which kapstan deploys with Helm itself".into(),
        ),
        "scaleway_object_bucket" | "scaleway_object_bucket_policy" => {
            Err("the Terraform state bucket is not part of the environment".into())
        }
        _ => Err(format!("kapstan has no counterpart for `{}`", r.rtype)),
    }
}

/// Maps Terraform resources onto the declared addresses of `spec`.
pub fn map_resources(
    resources: &[TfResource],
    spec: &StackSpec,
    default_region: &str,
) -> AdoptPlan {
    let declared: BTreeMap<&str, &str> = spec
        .resources
        .iter()
        .map(|r| (r.address.as_str(), r.kind.as_str()))
        .collect();
    let mut plan = AdoptPlan::default();
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    for r in resources {
        if r.mode == "data" {
            plan.unmanaged.push(Unmanaged {
                terraform: r.address.clone(),
                reason: "data source: read-only, nothing to adopt".into(),
            });
            continue;
        }
        match target(r, default_region) {
            Err(reason) => plan.unmanaged.push(Unmanaged {
                terraform: r.address.clone(),
                reason,
            }),
            Ok((address, id)) => match declared.get(address.as_str()) {
                None => plan.unmanaged.push(Unmanaged {
                    terraform: r.address.clone(),
                    reason: format!("`{address}` is not declared in {}", spec.name),
                }),
                Some(kind) if *kind != r.rtype => plan.unmanaged.push(Unmanaged {
                    terraform: r.address.clone(),
                    reason: format!(
                        "`{address}` is a {kind} in {}, not a {}",
                        spec.name, r.rtype
                    ),
                }),
                Some(_) if taken.contains_key(&address) => plan.unmanaged.push(Unmanaged {
                    terraform: r.address.clone(),
                    reason: format!("`{address}` is already taken by {}", taken[&address]),
                }),
                Some(kind) => {
                    taken.insert(address.clone(), r.address.clone());
                    plan.mapped.push(Mapping {
                        terraform: r.address.clone(),
                        kind: kind.to_string(),
                        address,
                        id,
                    });
                }
            },
        }
    }
    plan.unmatched = declared
        .keys()
        .filter(|a| !taken.contains_key(**a))
        .map(|a| a.to_string())
        .collect();
    plan
}

/// The mapping as the user sees it before confirming.
pub fn render_plan(plan: &AdoptPlan, stack: &str) -> String {
    let mut out = format!(
        "Terraform resources adopted into `{stack}` ({}):\n",
        plan.mapped.len()
    );
    let w = plan
        .mapped
        .iter()
        .map(|m| m.terraform.len())
        .max()
        .unwrap_or(0);
    let w2 = plan
        .mapped
        .iter()
        .map(|m| m.address.len())
        .max()
        .unwrap_or(0);
    for m in &plan.mapped {
        out.push_str(&format!(
            "  {:<w$}  →  {:<w2$}  id {}\n",
            m.terraform, m.address, m.id
        ));
    }
    if !plan.unmanaged.is_empty() {
        out.push_str(&format!(
            "\nNot managed by kapstan, left as they are ({}):\n",
            plan.unmanaged.len()
        ));
        for u in &plan.unmanaged {
            out.push_str(&format!("  {}: {}\n", u.terraform, u.reason));
        }
    }
    if !plan.unmatched.is_empty() {
        out.push_str(&format!(
            "\nDeclared but not found in the Terraform state (the next apply creates them): {}\n",
            plan.unmatched.join(", ")
        ));
    }
    out
}

/// `kapstan adopt --env ENV --phase infra --terraform-state FILE [--yes]`.
pub async fn adopt(
    project: &Project,
    env: Environment,
    phase: Phase,
    terraform_state: &Path,
    yes: bool,
    observer: &dyn Observer,
) -> Result<AdoptReport, PlatformError> {
    if phase != Phase::Infra {
        return Err(PlatformError::usage(
            "only the infra phase can be adopted",
            "the original's phase 2 objects are replaced by kapstan's Helm release: run `kapstan adopt --phase infra`, then `kapstan up`",
        ));
    }
    let path: PathBuf = if terraform_state.is_absolute() {
        terraform_state.to_path_buf()
    } else {
        project.dir.join(terraform_state)
    };
    let resources = read_tfstate(&path)?;
    let spec = build_stack(project, env, phase, &BTreeMap::new())?;
    let profile = kapstan_stacks::coder::Profile::load(env, &project.dir)?;
    let plan = map_resources(&resources, &spec, &profile.region);
    let name = stack_name(env, phase);
    observer.event(PlatformEvent::AdoptPlanned {
        plan: &plan,
        stack: &name,
    });
    if plan.mapped.is_empty() {
        return Err(PlatformError::usage(
            format!("{} holds no resource kapstan can adopt", path.display()),
            "check that it is the state of the original project's infra phase",
        ));
    }
    if !yes
        && !observer.confirm(Confirmation::Adopt {
            resources: plan.mapped.len(),
            stack: &name,
        })?
    {
        return Ok(AdoptReport {
            cancelled: true,
            ..AdoptReport::default()
        });
    }

    let engine = project.engine(EventSink::none())?;
    let store = project.store()?;
    let recorded: BTreeSet<String> = store
        .load(&name)
        .await?
        .map(|d| d.resources.keys().cloned().collect())
        .unwrap_or_default();
    let tf_by_address: BTreeMap<&str, &TfResource> =
        resources.iter().map(|r| (r.address.as_str(), r)).collect();
    let mut imported = 0;
    let mut skipped = vec![];
    observer.event(PlatformEvent::Importing);
    for m in &plan.mapped {
        if recorded.contains(&m.address) {
            skipped.push(m.address.clone());
            continue;
        }
        let tf = tf_by_address[m.terraform.as_str()];
        match m.kind.as_str() {
            "random_password" => adopt_password(project, &spec, m, tf).await?,
            _ => {
                engine.import(&spec, &m.address, &m.id).await?;
                reconcile_recorded(project, &spec, &m.address, tf).await?;
            }
        }
        imported += 1;
        observer.event(PlatformEvent::Imported {
            address: &m.address,
            terraform: &m.terraform,
        });
    }
    let mut outputs_pending = false;
    if imported > 0 {
        // Record the live attributes as the drivers read them against the aligned configs,
        // and the stack's outputs: reads only, nothing in the cloud changes.
        let refresh = PlanOptions {
            mode: PlanMode::RefreshOnly,
            ..PlanOptions::default()
        };
        let plan = engine.plan(&spec, &refresh).await?;
        let report = engine.apply(&plan, &ApplyOptions::default()).await?;
        if !report.failed.is_empty() {
            return Err(PlatformError::ApplyFailed {
                failed: report.failed.len(),
                skipped: report.skipped.len(),
            });
        }
        // When the adopted resources match the declaration, record the stack's outputs too
        // (so the app phase can read them): a plan of no-ops only calls no driver.
        let plan = engine.plan(&spec, &PlanOptions::default()).await?;
        if plan.changes.iter().all(|c| c.action == Action::NoOp) {
            let report = engine.apply(&plan, &ApplyOptions::default()).await?;
            if !report.failed.is_empty() {
                return Err(PlatformError::ApplyFailed {
                    failed: report.failed.len(),
                    skipped: report.skipped.len(),
                });
            }
        } else {
            outputs_pending = true;
        }
    }
    Ok(AdoptReport {
        cancelled: false,
        stack: name,
        imported,
        skipped,
        unmanaged: plan.unmanaged.len(),
        outputs_pending,
    })
}

/// What `adopt` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdoptReport {
    /// The confirmation was refused: nothing was imported.
    pub cancelled: bool,
    /// The stack adopted into.
    pub stack: String,
    /// Resources imported.
    pub imported: usize,
    /// Addresses already in state, left as recorded.
    pub skipped: Vec<String>,
    /// Terraform resources kapstan does not manage.
    pub unmanaged: usize,
    /// The adopted resources differ from the declaration: the outputs are recorded by the
    /// next `up` of the phase.
    pub outputs_pending: bool,
}

async fn commit(
    project: &Project,
    stack: &str,
    reason: &str,
    edit: impl FnOnce(&kapstan_state::StateDocument, &mut StateDelta) -> Result<(), PlatformError>,
) -> Result<(), PlatformError> {
    let store = project.store()?;
    let lock = store.lock(stack, "adopt").await?;
    let result = async {
        let doc = store
            .load(stack)
            .await?
            .unwrap_or_else(|| kapstan_state::StateDocument::new(stack));
        let mut delta = StateDelta::on(&doc, reason);
        edit(&doc, &mut delta)?;
        store.commit(stack, delta).await?;
        Ok::<(), PlatformError>(())
    }
    .await;
    let _ = store.unlock(stack, &lock).await;
    result
}

/// Records the Terraform `random_password` as `db-password`: its `result` (sealed in state)
/// keeps the database user's password, so nothing is rotated.
async fn adopt_password(
    project: &Project,
    spec: &StackSpec,
    m: &Mapping,
    tf: &TfResource,
) -> Result<(), PlatformError> {
    let declared = spec
        .resources
        .iter()
        .find(|r| r.address == m.address)
        .expect("mapped addresses are declared");
    let result = tf.attributes["result"].as_str().ok_or_else(|| {
        PlatformError::usage(
            format!("{} records no `result`", tf.address),
            "the Terraform state is incomplete; run `terraform refresh` in the original project",
        )
    })?;
    let config = declared.config.clone();
    let mut attributes = config.clone();
    attributes["result"] = Value::String(result.to_string());
    let state = ResourceState {
        kind: m.kind.clone(),
        id: Some(m.id.clone()),
        config,
        attributes,
        dependencies: kapstan_engine::diff::dependencies_of(declared),
        status: ResourceStatus::Ready,
        sensitive: BTreeSet::from(["/attributes/result".to_string()]),
    };
    commit(
        project,
        &spec.name,
        &format!("adopt {} from Terraform {}", m.address, tf.address),
        |_, delta| {
            delta.upserts.insert(m.address.clone(), state);
            Ok(())
        },
    )
    .await
}

/// Whether a declared value is a marker (reference, sensitive literal, format, …) rather than
/// a literal.
fn is_marker(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 1 && m.keys().all(|k| k.starts_with('$')))
}

/// Whether a declared string and the live one mean the same: equal, equal ignoring case and
/// `-`/`_` (`DB-DEV-S` and `db-dev-s`, `GP1-XS` and `gp1_xs`), a version prefix (`1.32`
/// and `1.32.13`), or a Kubernetes version the running one satisfies (`latest` or `1.32`
/// and an auto-upgraded `1.33.10`).
fn equivalent(declared: &str, live: &str) -> bool {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    declared == live
        || norm(declared) == norm(live)
        || (declared.chars().all(|c| c.is_ascii_digit() || c == '.')
            && live.starts_with(&format!("{declared}.")))
        || kapstan_providers::scaleway::k8s_version::satisfied_by(declared, live)
}

/// The config to record for an imported resource: the declared value wherever the live one
/// is equivalent (so representation differences are not planned as changes), the live value
/// wherever they really differ (so the plan shows it), nothing for fields the declaration
/// leaves unset, and the declared literal for fields the API cannot read back. References are
/// left as imported: the ids they resolve to are the imported ones.
pub fn reconcile(declared: &Value, imported: &Value) -> Option<Value> {
    if is_marker(declared) {
        return (!imported.is_null()).then(|| imported.clone());
    }
    match (declared, imported) {
        (Value::Object(d), Value::Object(i)) => {
            let mut out = serde_json::Map::new();
            for (k, dv) in d {
                let v = match i.get(k) {
                    Some(iv) => reconcile(dv, iv),
                    None if is_marker(dv) => None,
                    None => Some(dv.clone()),
                };
                if let Some(v) = v {
                    out.insert(k.clone(), v);
                }
            }
            Some(Value::Object(out))
        }
        (Value::Array(d), Value::Array(i)) if d.len() == i.len() => Some(Value::Array(
            d.iter()
                .zip(i)
                .map(|(dv, iv)| reconcile(dv, iv).unwrap_or(Value::Null))
                .collect(),
        )),
        (Value::String(d), Value::String(i)) if equivalent(d, i) => Some(declared.clone()),
        (Value::Null, _) => Some(Value::Null),
        (_, Value::Null) => Some(declared.clone()),
        _ => Some(imported.clone()),
    }
}

/// Rewrites an imported resource's recorded config with [`reconcile`]; a database user also
/// gets the password Terraform set (the API cannot read it back), sealed.
async fn reconcile_recorded(
    project: &Project,
    spec: &StackSpec,
    address: &str,
    tf: &TfResource,
) -> Result<(), PlatformError> {
    let declared = spec
        .resources
        .iter()
        .find(|r| r.address == address)
        .expect("mapped addresses are declared");
    let password = (declared.kind == "scaleway_rdb_user")
        .then(|| tf.attributes["password"].as_str().filter(|p| !p.is_empty()))
        .flatten();
    commit(
        project,
        &spec.name,
        &format!("adopt {address}: config aligned with the declaration where equivalent"),
        |doc, delta| {
            if let Some(r) = doc.resources.get(address) {
                let mut r = r.clone();
                r.config = reconcile(&declared.config, &r.config).unwrap_or(Value::Null);
                if let Some(p) = password {
                    r.config["password"] = Value::String(p.to_string());
                    r.sensitive.insert("/config/password".into());
                }
                delta.upserts.insert(address.to_string(), r);
            }
            Ok(())
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> StackSpec {
        let profile = kapstan_stacks::coder::Profile::builtin(Environment::Dev);
        kapstan_stacks::coder::infra_stack(&profile).build()
    }

    #[test]
    fn maps_the_original_modules() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("terraform.tfstate");
        let res = |module: &str, t: &str, n: &str, key: Option<&str>, attrs: Value| {
            let mut inst = json!({"schema_version": 0, "attributes": attrs});
            if let Some(k) = key {
                inst["index_key"] = json!(k);
            }
            json!({"module": module, "mode": "managed", "type": t, "name": n, "provider": "p", "instances": [inst]})
        };
        let state = json!({"version": 4, "terraform_version": "1.13.3", "serial": 3, "lineage": "l", "outputs": {}, "resources": [
            res("module.networking", "scaleway_vpc", "main", None, json!({"id": "fr-par/11111111-1111-1111-1111-111111111111"})),
            res("module.networking", "scaleway_instance_security_group", "kubernetes", None, json!({"id": "fr-par-1/x"})),
            res("module.cluster", "scaleway_k8s_pool", "pools", Some("default"), json!({"id": "fr-par/22222222-2222-2222-2222-222222222222"})),
            res("module.postgresql", "scaleway_rdb_user", "coder_user", None, json!({"id": "fr-par/33333333-3333-3333-3333-333333333333/coder", "instance_id": "fr-par/33333333-3333-3333-3333-333333333333", "name": "coder", "region": "fr-par"})),
            res("module.postgresql", "scaleway_rdb_privilege", "p", None, json!({"id": "x", "instance_id": "fr-par/33333333-3333-3333-3333-333333333333", "database_name": "coder_dev_db", "user_name": "coder"})),
            res("module.cluster", "time_sleep", "wait_for_cluster", None, json!({"id": "t"})),
            json!({"module": "module.cluster", "mode": "data", "type": "scaleway_k8s_cluster", "name": "cluster", "instances": [{"attributes": {"id": "fr-par/c"}}]}),
        ]});
        std::fs::write(&p, state.to_string()).unwrap();
        let resources = read_tfstate(&p).unwrap();
        let plan = map_resources(&resources, &spec(), "fr-par");
        let m: BTreeMap<&str, (&str, &str)> = plan
            .mapped
            .iter()
            .map(|m| (m.terraform.as_str(), (m.address.as_str(), m.id.as_str())))
            .collect();
        assert_eq!(
            m["module.networking.scaleway_vpc.main"],
            ("vpc", "11111111-1111-1111-1111-111111111111")
        );
        assert_eq!(
            m["module.cluster.scaleway_k8s_pool.pools[\"default\"]"].0,
            "pool-default"
        );
        assert_eq!(
            m["module.postgresql.scaleway_rdb_user.coder_user"].1,
            "fr-par/33333333-3333-3333-3333-333333333333/coder"
        );
        assert_eq!(
            m["module.postgresql.scaleway_rdb_privilege.p"].1,
            "fr-par/33333333-3333-3333-3333-333333333333/coder_dev_db/coder"
        );
        let un: Vec<&str> = plan
            .unmanaged
            .iter()
            .map(|u| u.terraform.as_str())
            .collect();
        assert!(un.contains(&"module.networking.scaleway_instance_security_group.kubernetes"));
        assert!(un.contains(&"module.cluster.time_sleep.wait_for_cluster"));
        assert!(un.contains(&"module.cluster.data.scaleway_k8s_cluster.cluster"));
        assert!(plan.unmatched.contains(&"lb".to_string()));
    }

    #[test]
    fn reconcile_keeps_real_differences_only() {
        let declared = json!({
            "node_type": "DB-DEV-S", "version": "1.32", "size": 2,
            "pn": {"$ref": {"resource": "network", "attr": "id"}},
            "password": {"$ref": {"resource": "pw", "attr": "result"}},
            "ipv4_subnet": {"subnet": "172.16.0.0/22"},
            "delete_additional_resources": false,
            "lb_type": "LB-GP-M",
        });
        let imported = json!({
            "node_type": "db-dev-s", "version": "1.32.13", "size": 3, "pn": "uuid-1",
            "ipv4_subnet": {"subnet": "172.16.0.0/22", "id": "sub-1"},
            "tags": ["a"], "lb_type": "lb-s",
        });
        assert_eq!(
            reconcile(&declared, &imported).unwrap(),
            json!({
                "node_type": "DB-DEV-S", "version": "1.32", "size": 3, "pn": "uuid-1",
                "ipv4_subnet": {"subnet": "172.16.0.0/22"},
                "delete_additional_resources": false, "lb_type": "lb-s",
            })
        );
    }

    #[test]
    fn refuses_other_formats() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.tfstate");
        std::fs::write(&p, r#"{"version": 3, "modules": []}"#).unwrap();
        let e = read_tfstate(&p).unwrap_err().to_string();
        assert!(e.contains("version 3"), "{e}");
        std::fs::write(&p, "not json").unwrap();
        assert!(
            read_tfstate(&p)
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
    }
}
