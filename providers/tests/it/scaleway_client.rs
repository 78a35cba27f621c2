//! Tests of the Scaleway API client: configuration precedence, error parsing, retries and the
//! no-blind-POST rule against a local fake API, the token bucket, pagination, and the replay
//! of recorded real responses (`../shared/fixtures/scaleway-cassettes`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use kapstan_providers::scaleway::client::api::ListFilter;
use kapstan_providers::scaleway::client::wire::{ipam, k8s, lb, rdb, vpc, vpcgw};
use kapstan_providers::scaleway::client::{
    Api, ApiError, Client, ClientOptions, ConfigError, ConfigOverrides, ConfigSource, Error,
    ErrorKind, Precondition, Query, RateLimit, Region, RetryPolicy, ScalewayConfig, SecretKey,
    SecretString, TokenBucket, Zone, hook_fn,
};
use serde::Deserialize;

const SECRET: &str = "11111111-2222-3333-4444-555555555555";
const OTHER_SECRET: &str = "99999999-8888-7777-6666-555555555555";
const PROJECT: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const OTHER_PROJECT: &str = "ffffffff-bbbb-cccc-dddd-eeeeeeeeeeee";
const ACCESS: &str = "SCWABCDEFGHIJ0123456";

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The configuration from the environment `pairs` alone (no flags).
fn load_env(pairs: &[(&str, &str)]) -> Result<ScalewayConfig, ConfigError> {
    ScalewayConfig::load(&ConfigOverrides::default(), &env(pairs))
}

/// What must hold of an error a table-driven test expects.
type Holds<E> = fn(&E) -> bool;

/// The configuration from the credentials in the environment (`SCW_SECRET_KEY`,
/// `SCW_DEFAULT_PROJECT_ID`), an empty home directory and the variables `extra`.
fn load_with_credentials(extra: &[(&str, &str)]) -> Result<ScalewayConfig, ConfigError> {
    let home = tempfile::tempdir().unwrap();
    let home_s = home.path().to_str().unwrap().to_owned();
    let mut pairs = vec![
        ("HOME", home_s.as_str()),
        ("SCW_SECRET_KEY", SECRET),
        ("SCW_DEFAULT_PROJECT_ID", PROJECT),
    ];
    pairs.extend_from_slice(extra);
    load_env(&pairs)
}

/// A config file holding `yaml` in a fresh directory (kept alive by the returned `TempDir`).
fn config_file(yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), yaml);
    (dir, path)
}

fn write_config(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

#[test]
fn config_from_env_only_uses_defaults_for_the_rest() {
    let cfg = load_with_credentials(&[]).unwrap();
    assert_eq!(cfg.secret_key.expose(), SECRET);
    assert_eq!(cfg.project_id, PROJECT);
    assert_eq!(cfg.region.as_str(), "fr-par");
    assert_eq!(cfg.zone.as_str(), "fr-par-1");
    assert_eq!(cfg.api_url, "https://api.scaleway.com");
    assert_eq!(cfg.secret_key_source, ConfigSource::Env("SCW_SECRET_KEY"));
    assert_eq!(cfg.region_source, ConfigSource::Default);
    assert!(cfg.config_file.is_none());
}

#[test]
fn config_precedence_flags_over_env_over_file_over_defaults() {
    let (_dir, path) = config_file(&format!(
        "access_key: {ACCESS}\nsecret_key: {OTHER_SECRET}\ndefault_project_id: {OTHER_PROJECT}\n\
             default_region: pl-waw\ndefault_zone: pl-waw-2\napi_url: http://file.example\n\
             send_telemetry: false\n"
    ));
    let path_s = path.to_str().unwrap();

    // File only.
    let cfg = load_env(&[("SCW_CONFIG_PATH", path_s)]).unwrap();
    assert_eq!(cfg.secret_key.expose(), OTHER_SECRET);
    assert_eq!(cfg.project_id, OTHER_PROJECT);
    assert_eq!(cfg.access_key.as_deref(), Some(ACCESS));
    assert_eq!(cfg.region.as_str(), "pl-waw");
    assert_eq!(cfg.zone.as_str(), "pl-waw-2");
    assert_eq!(cfg.api_url, "http://file.example");
    assert_eq!(cfg.profile.as_deref(), Some("default"));
    assert_eq!(
        cfg.secret_key_source,
        ConfigSource::Profile("default".into())
    );

    // Env beats the file.
    let cfg = load_env(&[
        ("SCW_CONFIG_PATH", path_s),
        ("SCW_SECRET_KEY", SECRET),
        ("SCW_DEFAULT_REGION", "nl-ams"),
        ("SCW_DEFAULT_ZONE", "nl-ams-3"),
        ("SCW_API_URL", "http://env.example/"),
    ])
    .unwrap();
    assert_eq!(cfg.secret_key.expose(), SECRET);
    assert_eq!(cfg.project_id, OTHER_PROJECT, "unset in env: from the file");
    assert_eq!(cfg.region.as_str(), "nl-ams");
    assert_eq!(cfg.zone.as_str(), "nl-ams-3");
    assert_eq!(cfg.api_url, "http://env.example", "trailing slash trimmed");

    // Flags beat env and file.
    let overrides = ConfigOverrides {
        secret_key: Some(SecretKey::new("12121212-2222-3333-4444-555555555555")),
        project_id: Some(PROJECT.into()),
        region: Some("fr-par".into()),
        zone: Some("fr-par-2".into()),
        api_url: Some("http://127.0.0.1:9".into()),
        ..ConfigOverrides::default()
    };
    let cfg = ScalewayConfig::load(
        &overrides,
        &env(&[
            ("SCW_CONFIG_PATH", path_s),
            ("SCW_SECRET_KEY", SECRET),
            ("SCW_DEFAULT_REGION", "nl-ams"),
            ("SCW_DEFAULT_ZONE", "nl-ams-3"),
        ]),
    )
    .unwrap();
    assert_eq!(
        cfg.secret_key.expose(),
        "12121212-2222-3333-4444-555555555555"
    );
    assert_eq!(cfg.project_id, PROJECT);
    assert_eq!(cfg.region.as_str(), "fr-par");
    assert_eq!(cfg.zone.as_str(), "fr-par-2");
    assert_eq!(cfg.api_url, "http://127.0.0.1:9");
    assert_eq!(cfg.secret_key_source, ConfigSource::Flag);
}

#[test]
fn config_legacy_environment_names() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    let cfg = load_env(&[
        ("HOME", home),
        ("SCW_TOKEN", SECRET),
        ("SCALEWAY_ORGANIZATION", PROJECT),
        ("SCW_REGION", "ams1"),
    ])
    .unwrap();
    assert_eq!(cfg.secret_key.expose(), SECRET);
    assert_eq!(cfg.secret_key_source, ConfigSource::Env("SCW_TOKEN"));
    assert_eq!(cfg.organization_id.as_deref(), Some(PROJECT));
    assert_eq!(cfg.project_id, PROJECT, "default project = organization");
    assert_eq!(cfg.region.as_str(), "nl-ams", "deprecated alias rewritten");
    assert_eq!(cfg.zone.as_str(), "nl-ams-1", "zone derived from region");

    // Old Terraform setups kept the secret token in SCALEWAY_ACCESS_KEY.
    let cfg = load_env(&[
        ("HOME", home),
        ("SCALEWAY_ACCESS_KEY", SECRET),
        ("SCALEWAY_TOKEN", OTHER_SECRET),
        ("SCALEWAY_REGION", "pl-waw"),
        ("SCW_DEFAULT_ORGANIZATION_ID", OTHER_PROJECT),
        ("SCW_DEFAULT_PROJECT_ID", PROJECT),
    ])
    .unwrap();
    assert_eq!(
        cfg.secret_key.expose(),
        OTHER_SECRET,
        "SCALEWAY_TOKEN comes before the UUID-shaped SCALEWAY_ACCESS_KEY"
    );
    assert!(cfg.access_key.is_none(), "a UUID is never an access key");
    assert_eq!(cfg.region.as_str(), "pl-waw");
    assert_eq!(cfg.project_id, PROJECT);

    let cfg = load_env(&[
        ("HOME", home),
        ("SCALEWAY_ACCESS_KEY", SECRET),
        ("SCW_DEFAULT_PROJECT_ID", PROJECT),
    ])
    .unwrap();
    assert_eq!(cfg.secret_key.expose(), SECRET);
    assert_eq!(
        cfg.secret_key_source,
        ConfigSource::Env("SCALEWAY_ACCESS_KEY")
    );

    // Modern names win over legacy ones.
    let cfg = load_env(&[
        ("HOME", home),
        ("SCW_SECRET_KEY", SECRET),
        ("SCW_TOKEN", OTHER_SECRET),
        ("SCW_DEFAULT_REGION", "fr-par"),
        ("SCW_REGION", "nl-ams"),
        ("SCW_DEFAULT_PROJECT_ID", PROJECT),
        ("SCALEWAY_ACCESS_KEY", ACCESS),
    ])
    .unwrap();
    assert_eq!(cfg.secret_key.expose(), SECRET);
    assert_eq!(cfg.region.as_str(), "fr-par");
    assert_eq!(cfg.access_key.as_deref(), Some(ACCESS));
}

#[test]
fn config_profiles_active_profile_and_scw_profile() {
    let (_dir, path) = config_file(&format!(
        "secret_key: {SECRET}\ndefault_project_id: {PROJECT}\ndefault_region: fr-par\n\
             active_profile: prod\nprofiles:\n  prod:\n    default_region: nl-ams\n    \
             default_zone: nl-ams-2\n  staging:\n    secret_key: {OTHER_SECRET}\n    \
             default_project_id: {OTHER_PROJECT}\n"
    ));
    let path_s = path.to_str().unwrap();

    // active_profile, merged over the top level.
    let cfg = load_env(&[("SCW_CONFIG_PATH", path_s)]).unwrap();
    assert_eq!(cfg.profile.as_deref(), Some("prod"));
    assert_eq!(cfg.secret_key.expose(), SECRET, "inherited from top level");
    assert_eq!(cfg.region.as_str(), "nl-ams");
    assert_eq!(cfg.zone.as_str(), "nl-ams-2");

    // SCW_PROFILE beats active_profile.
    let cfg = load_env(&[("SCW_CONFIG_PATH", path_s), ("SCW_PROFILE", "staging")]).unwrap();
    assert_eq!(cfg.profile.as_deref(), Some("staging"));
    assert_eq!(cfg.secret_key.expose(), OTHER_SECRET);
    assert_eq!(cfg.project_id, OTHER_PROJECT);
    assert_eq!(cfg.region.as_str(), "fr-par");

    // A profile flag beats SCW_PROFILE; `default` names the top level.
    let cfg = ScalewayConfig::load(
        &ConfigOverrides {
            profile: Some("default".into()),
            ..ConfigOverrides::default()
        },
        &env(&[("SCW_CONFIG_PATH", path_s), ("SCW_PROFILE", "staging")]),
    )
    .unwrap();
    assert_eq!(cfg.profile.as_deref(), Some("default"));
    assert_eq!(cfg.region.as_str(), "fr-par");
    assert_eq!(cfg.secret_key.expose(), SECRET);

    // Unknown profile: an error naming what exists.
    let err = load_env(&[("SCW_CONFIG_PATH", path_s), ("SCW_PROFILE", "nope")]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ConfigError::ProfileNotFound { .. }), "{msg}");
    assert!(msg.contains("\"nope\"") && msg.contains("prod") && msg.contains("staging"));
    assert!(msg.contains("SCW_PROFILE"), "{msg}");
}

#[test]
fn config_default_file_location_and_scw_config_path() {
    let home = tempfile::tempdir().unwrap();
    let scw_dir = home.path().join(".config").join("scw");
    std::fs::create_dir_all(&scw_dir).unwrap();
    write_config(
        &scw_dir,
        &format!("secret_key: {SECRET}\ndefault_project_id: {PROJECT}\ndefault_zone: pl-waw-3\n"),
    );
    let cfg = load_env(&[("HOME", home.path().to_str().unwrap())]).unwrap();
    assert_eq!(
        cfg.config_file.as_deref(),
        Some(scw_dir.join("config.yaml").as_path())
    );
    assert_eq!(cfg.zone.as_str(), "pl-waw-3");
    assert_eq!(
        cfg.region.as_str(),
        "pl-waw",
        "region derived from the zone"
    );

    // XDG_CONFIG_HOME beats HOME.
    let xdg = tempfile::tempdir().unwrap();
    let xdg_scw = xdg.path().join("scw");
    std::fs::create_dir_all(&xdg_scw).unwrap();
    write_config(
        &xdg_scw,
        &format!("secret_key: {OTHER_SECRET}\ndefault_project_id: {PROJECT}\n"),
    );
    let cfg = load_env(&[
        ("HOME", home.path().to_str().unwrap()),
        ("XDG_CONFIG_HOME", xdg.path().to_str().unwrap()),
    ])
    .unwrap();
    assert_eq!(cfg.secret_key.expose(), OTHER_SECRET);

    // SCW_CONFIG_PATH beats both; a missing explicit file is an error.
    let other = tempfile::tempdir().unwrap();
    let explicit = write_config(
        other.path(),
        &format!("secret_key: {SECRET}\ndefault_project_id: {OTHER_PROJECT}\n"),
    );
    let cfg = load_env(&[
        ("HOME", home.path().to_str().unwrap()),
        ("SCW_CONFIG_PATH", explicit.to_str().unwrap()),
    ])
    .unwrap();
    assert_eq!(cfg.project_id, OTHER_PROJECT);
    let missing = other.path().join("absent.yaml");
    let err = load_env(&[
        ("SCW_CONFIG_PATH", missing.to_str().unwrap()),
        ("SCW_SECRET_KEY", SECRET),
        ("SCW_DEFAULT_PROJECT_ID", PROJECT),
    ])
    .unwrap_err();
    assert!(matches!(err, ConfigError::ConfigFile { .. }), "{err}");
    assert!(err.to_string().contains("absent.yaml"));
}

#[test]
fn missing_credentials_message_names_variables_profile_and_file() {
    let home = tempfile::tempdir().unwrap();
    let err = load_env(&[("HOME", home.path().to_str().unwrap())]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ConfigError::MissingCredentials(_)));
    for needle in [
        "SCW_SECRET_KEY",
        "SCW_DEFAULT_PROJECT_ID",
        "secret_key",
        "default_project_id",
        "profile \"default\"",
        ".config/scw/config.yaml",
        "SCW_PROFILE",
    ] {
        assert!(msg.contains(needle), "{needle:?} missing from: {msg}");
    }

    // Only the project missing, in a named profile of an existing file.
    let (_dir, path) = config_file(&format!("profiles:\n  ci:\n    secret_key: {SECRET}\n"));
    let err = load_env(&[
        ("SCW_CONFIG_PATH", path.to_str().unwrap()),
        ("SCW_PROFILE", "ci"),
    ])
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("SCW_DEFAULT_PROJECT_ID"), "{msg}");
    assert!(!msg.contains("SCW_SECRET_KEY"), "{msg}");
    assert!(msg.contains("profile \"ci\""), "{msg}");
    assert!(msg.contains(path.to_str().unwrap()), "{msg}");
}

#[test]
fn config_rejects_bad_localities_and_keys() {
    let err = load_with_credentials(&[
        ("SCW_DEFAULT_REGION", "fr-par"),
        ("SCW_DEFAULT_ZONE", "nl-ams-1"),
    ])
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ConfigError::Locality { .. }));
    assert!(msg.contains("nl-ams-1") && msg.contains("fr-par"), "{msg}");
    assert!(msg.contains("SCW_DEFAULT_ZONE"), "names the source: {msg}");

    let refused: [(&str, &str, Holds<ConfigError>); 4] = [
        ("SCW_DEFAULT_REGION", "paris", |e| {
            matches!(e, ConfigError::Locality { .. })
        }),
        ("SCW_DEFAULT_ZONE", "fr-par-x", |e| {
            matches!(e, ConfigError::Locality { .. })
        }),
        ("SCW_API_URL", "ftp://x", |e| {
            matches!(e, ConfigError::InvalidApiUrl { .. })
        }),
        ("SCW_ACCESS_KEY", "not-an-access-key", |e| {
            matches!(e, ConfigError::InvalidAccessKey { .. })
        }),
    ];
    for (var, value, expected) in refused {
        let err = load_with_credentials(&[(var, value)]).unwrap_err();
        assert!(expected(&err), "{var}={value}: {err:?}");
    }

    let err = load_with_credentials(&[("SCW_SECRET_KEY", "not-a-uuid-secret-value")]).unwrap_err();
    assert!(matches!(err, ConfigError::InvalidSecretKey { .. }));
    assert!(!err.to_string().contains("not-a-uuid-secret-value"));

    // Unknown but well-formed localities are accepted.
    let cfg = load_with_credentials(&[("SCW_DEFAULT_ZONE", "de-fra-1")]).unwrap();
    assert_eq!(cfg.region.as_str(), "de-fra");
    assert!(!cfg.region.is_known());
}

#[test]
fn localities_validate_and_nest() {
    let r = Region::parse("fr-par").unwrap();
    let z = Zone::parse("fr-par-2").unwrap();
    assert_eq!(z.region(), r);
    assert!(r.check_zone(&z).is_ok());
    assert!(r.check_zone(&Zone::parse("nl-ams-1").unwrap()).is_err());
    assert_eq!(r.first_zone().as_str(), "fr-par-1");
    for bad in [
        "",
        "fr",
        "FR-PAR",
        "fr-par-1",
        "fr-p",
        "fr-parisxxx",
        "f-par",
    ] {
        assert!(Region::parse(bad).is_err(), "{bad}");
    }
    for bad in ["fr-par", "fr-par-123", "fr-par-", "fr-par-a"] {
        assert!(Zone::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(Region::parse("par1").unwrap().as_str(), "fr-par");
}

// ---------------------------------------------------------------------------------------
// Secrets never show
// ---------------------------------------------------------------------------------------

#[test]
fn secret_key_is_redacted_everywhere() {
    let key = SecretKey::new(SECRET);
    assert!(!format!("{key:?}").contains(SECRET));
    assert!(!format!("{key}").contains(SECRET));
    assert!(format!("{key:?}").contains("redacted"));

    let cfg = load_with_credentials(&[]).unwrap();
    assert!(!format!("{cfg:?}").contains(SECRET));
    assert!(
        !format!(
            "{:?}",
            ConfigOverrides {
                secret_key: Some(key.clone()),
                ..ConfigOverrides::default()
            }
        )
        .contains(SECRET)
    );
    let client = Client::new(cfg).unwrap();
    assert!(!format!("{client:?}").contains(SECRET));

    let password = SecretString::new("hunter2-Password!");
    assert!(!format!("{password:?}").contains("hunter2"));
    assert!(!format!("{password}").contains("hunter2"));
    let req = rdb::CreateUserRequest {
        name: "app".into(),
        password: password.clone(),
        is_admin: false,
    };
    assert!(!format!("{req:?}").contains("hunter2"));
    assert!(
        serde_json::to_string(&req).unwrap().contains("hunter2"),
        "the wire body still carries the password"
    );
}

// ---------------------------------------------------------------------------------------
// Error parsing
// ---------------------------------------------------------------------------------------

fn parse_err(status: u16, body: &str) -> ApiError {
    ApiError::from_response(
        "GET",
        "/x/v1/regions/fr-par/things/1",
        status,
        Some("req-1".into()),
        body.as_bytes(),
    )
}

#[test]
fn errors_are_keyed_on_type() {
    let e = parse_err(
        400,
        r#"{"type":"invalid_arguments","message":"invalid argument(s)","details":[{"argument_name":"reverse","reason":"constraint","help_message":"must be a domain"}]}"#,
    );
    match &e.kind {
        ErrorKind::InvalidArguments { details } => {
            assert_eq!(details[0].argument_name, "reverse");
            assert_eq!(details[0].reason, "constraint");
        }
        k => panic!("{k:?}"),
    }
    let shown = e.to_string();
    assert!(
        shown.contains("reverse (constraint): must be a domain"),
        "{shown}"
    );
    assert!(shown.contains("req-1"), "{shown}");

    // Each typed body, with what must hold of the error it parses to.
    let typed: [(u16, &str, Holds<ApiError>); 10] = [
        (
            404,
            r#"{"message":"resource is not found","resource":"cluster","resource_id":"abc","type":"not_found"}"#,
            |e| {
                e.is_not_found()
                    && e.kind
                        == ErrorKind::NotFound {
                            resource: Some("cluster".into()),
                            resource_id: Some("abc".into()),
                        }
            },
        ),
        (
            409,
            r#"{"current_state":"configuring","message":"resource is in a transient state","resource":"gateway","resource_id":"g1","type":"transient_state"}"#,
            |e| {
                e.is_transient_state()
                    && e.kind
                        == ErrorKind::TransientState {
                            resource: Some("gateway".into()),
                            resource_id: Some("g1".into()),
                            current_state: Some("configuring".into()),
                        }
            },
        ),
        (
            412,
            r#"{"help_message":"Private Network must be empty to be deleted","message":"precondition is not respected","precondition":"resource_still_in_use","type":"precondition_failed"}"#,
            |e| e.is_still_in_use() && e.to_string().contains("must be empty"),
        ),
        (
            403,
            r#"{"details":[{"action":"read","resource":"flexible-ip"}],"message":"insufficient permissions","type":"permissions_denied"}"#,
            |e| matches!(&e.kind, ErrorKind::PermissionsDenied { details } if details[0].resource == "flexible-ip"),
        ),
        (
            403,
            r#"{"type":"quotas_exceeded","message":"quota(s) exceeded for this resource","details":[{"resource":"lbs","quota":2,"current":2}]}"#,
            |e| matches!(&e.kind, ErrorKind::QuotasExceeded { details } if details[0].quota == 2),
        ),
        (
            401,
            r#"{"type":"denied_authentication","method":"api_key","reason":"not_found","message":"authentication is denied"}"#,
            |e| {
                e.kind
                    == ErrorKind::DeniedAuthentication {
                        method: Some("api_key".into()),
                        reason: Some("not_found".into()),
                    }
            },
        ),
        (
            503,
            r#"{"type":"out_of_stock","message":"resource is out of stock","resource":"lb-s"}"#,
            |e| {
                e.kind
                    == ErrorKind::OutOfStock {
                        resource: Some("lb-s".into()),
                    }
            },
        ),
        (
            409,
            r#"{"help_message":"already enabled","message":"resource already exists","resource":"MnqSQSNamespace","resource_id":"x","type":"already_exists"}"#,
            |e| matches!(e.kind, ErrorKind::AlreadyExists { .. }) && !e.is_transient_state(),
        ),
        (
            423,
            r#"{"type":"locked","message":"locked","resource":"lb","resource_id":"l"}"#,
            |e| matches!(e.kind, ErrorKind::Locked { .. }),
        ),
        (
            410,
            r#"{"type":"expired","message":"gone","resource":"token"}"#,
            |e| matches!(e.kind, ErrorKind::Expired { .. }),
        ),
    ];
    for (status, body, holds) in typed {
        let e = parse_err(status, body);
        assert!(holds(&e), "{status} {body} → {:?}", e.kind);
    }
}

#[test]
fn errors_any_404_is_not_found_and_unknowns_are_kept() {
    for body in [
        r#"{"message":"lbs not Found"}"#,
        r#"{"message":"ips not Found"}"#,
        r#"{"message":"privateNetwork not Found"}"#,
        "",
        "<html>not found</html>",
        r#"{"type":"brand_new_error","message":"?"}"#,
    ] {
        let e = parse_err(404, body);
        assert!(e.is_not_found(), "{body:?} → {:?}", e.kind);
    }
    let e = parse_err(404, r#"{"message":"lbs not Found"}"#);
    assert_eq!(
        e.kind,
        ErrorKind::NotFound {
            resource: Some("lbs".into()),
            resource_id: None
        }
    );

    let e = parse_err(
        400,
        r#"{"type":"brand_new_error","message":"something new"}"#,
    );
    assert_eq!(e.kind, ErrorKind::Other);
    assert_eq!(e.error_type.as_deref(), Some("brand_new_error"));
    assert_eq!(e.message, "something new");

    // Untyped 409 (RDB privileges) counts as transient.
    let e = parse_err(409, r#"{"message":"Tuple concurrently updated"}"#);
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.is_transient_state());

    // Envoy's empty 429 and a JSON one.
    let e = parse_err(429, "");
    assert_eq!(
        e.kind,
        ErrorKind::TooManyRequests {
            reset_seconds: None
        }
    );
    assert!(e.message.contains("429"));
    let e = parse_err(
        429,
        r#"{"type":"too_many_requests","message":"slow down","reset_seconds":3}"#,
    );
    assert_eq!(
        e.kind,
        ErrorKind::TooManyRequests {
            reset_seconds: Some(3)
        }
    );

    let e = parse_err(502, "Bad Gateway");
    assert_eq!(e.kind, ErrorKind::Other);
    assert!(e.is_server_error());
    assert!(e.message.contains("502"));

    // Unknown preconditions are kept too.
    let e = parse_err(
        412,
        r#"{"type":"precondition_failed","precondition":"new_thing","message":"no"}"#,
    );
    assert_eq!(
        e.kind,
        ErrorKind::PreconditionFailed {
            precondition: Precondition::Unknown("new_thing".into()),
            help_message: None
        }
    );
}

#[test]
fn open_enums_keep_unknown_values() {
    let s: k8s::ClusterStatus = serde_json::from_str(r#""pool_required""#).unwrap();
    assert_eq!(s, k8s::ClusterStatus::PoolRequired);
    assert!(!s.is_transient());
    let s: k8s::ClusterStatus = serde_json::from_str(r#""hibernating""#).unwrap();
    assert_eq!(s, k8s::ClusterStatus::Unknown("hibernating".into()));
    assert_eq!(serde_json::to_string(&s).unwrap(), r#""hibernating""#);
    let c: k8s::Cni = serde_json::from_str(r#""cilium_native""#).unwrap();
    assert_eq!(c, k8s::Cni::CiliumNative);
    let c: k8s::Cni = serde_json::from_str(r#""unknown_cni""#).unwrap();
    assert!(!c.is_known());
    assert_eq!(c.as_str(), "unknown_cni");
    let s: rdb::InstanceStatus = serde_json::from_str("null").unwrap();
    assert_eq!(s, rdb::InstanceStatus::Unknown(String::new()));
    let cluster: k8s::Cluster =
        serde_json::from_str(r#"{"id":"x","status":"ready","brand_new_field":{"a":1}}"#).unwrap();
    assert_eq!(cluster.status, k8s::ClusterStatus::Ready);
}

// ---------------------------------------------------------------------------------------
// A tiny fake API
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    auth: Option<String>,
    body: String,
    at: std::time::Instant,
}

struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Reply {
    fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.into(),
        }
    }

    fn rate_limited() -> Self {
        Self {
            status: 429,
            headers: vec![("x-envoy-ratelimited", "true".into())],
            body: String::new(),
        }
    }
}

type Responder = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

#[derive(Clone)]
struct FakeState {
    seen: Arc<Mutex<Vec<Seen>>>,
    responder: Responder,
}

async fn fake_handler(
    State(state): State<FakeState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        auth: headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
        at: std::time::Instant::now(),
    };
    let n = {
        let mut all = state.seen.lock().unwrap();
        all.push(seen.clone());
        all.len() - 1
    };
    let reply = (state.responder)(&seen, n);
    let mut resp = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    for (k, v) in reply.headers {
        resp = resp.header(k, v);
    }
    resp.body(Body::from(reply.body)).unwrap()
}

struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    async fn start(responder: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Fake {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = FakeState {
            seen: seen.clone(),
            responder: Arc::new(responder),
        };
        let app = Router::new().fallback(fake_handler).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fake {
            url: format!("http://{addr}"),
            seen,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn hits(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

fn test_options() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            jitter: true,
            max_transient_waits: 3,
            rate_limit_patience: Duration::from_secs(30),
        },
        rate_limit: RateLimit::per_second(10_000.0),
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        ..ClientOptions::default()
    }
}

fn client_for(url: &str, options: ClientOptions) -> Client {
    let cfg = load_with_credentials(&[("SCW_API_URL", url)]).unwrap();
    Client::with_options(cfg, options).unwrap()
}

fn fr_par() -> Region {
    Region::parse("fr-par").unwrap()
}

fn fr_par_1() -> Zone {
    Zone::parse("fr-par-1").unwrap()
}

const CLUSTER_JSON: &str = r#"{"id":"c1","name":"dev","status":"ready","region":"fr-par","cni":"cilium","tags":["kapstan-stack=s"],"autoscaler_config":{"estimator":"binpacking"},"private_network_id":null}"#;

#[tokio::test]
async fn sends_auth_header_and_builds_paths() {
    let fake = Fake::start(|_, _| Reply::json(200, CLUSTER_JSON)).await;
    let client = client_for(&fake.url, test_options());
    let cluster = client.k8s(&fr_par()).get_cluster("c1").await.unwrap();
    assert_eq!(cluster.name, "dev");
    assert_eq!(cluster.cni, k8s::Cni::Cilium);
    let generic: k8s::Cluster = client
        .get(Api::K8s, fr_par(), "/clusters/c1")
        .await
        .unwrap();
    assert_eq!(generic, cluster);
    let seen = fake.seen();
    assert_eq!(seen[0].path, "/k8s/v1/regions/fr-par/clusters/c1");
    assert_eq!(seen[0].auth.as_deref(), Some(SECRET));

    // Zonal APIs get zones; path segments are encoded.
    let _ = client.lb(&fr_par_1()).get_lb("a/b").await;
    let seen = fake.seen();
    assert_eq!(seen[2].path, "/lb/v1/zones/fr-par-1/lbs/a%2Fb");

    // A regional API called with a zone is refused before any request.
    let err = client
        .get::<k8s::Cluster>(Api::K8s, fr_par_1(), "/clusters/c1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LocalityMismatch { .. }), "{err}");
    assert_eq!(fake.hits(), 3);
}

#[tokio::test]
async fn idempotent_calls_retry_on_429_5xx_and_succeed() {
    let fake = Fake::start(|_, n| match n {
        0 => Reply::rate_limited(),
        1 => Reply::json(503, ""),
        2 => Reply::json(502, "bad gateway"),
        _ => Reply::json(200, CLUSTER_JSON),
    })
    .await;
    let client = client_for(&fake.url, test_options());
    let cluster = client.k8s(&fr_par()).get_cluster("c1").await.unwrap();
    assert_eq!(cluster.id, "c1");
    assert_eq!(fake.hits(), 4);

    // PATCH, PUT and DELETE are retried too.
    let fake = Fake::start(|s, n| match (s.method.as_str(), n % 2) {
        (_, 0) => Reply::json(500, r#"{"message":"internal"}"#),
        ("DELETE", _) => Reply::json(204, ""),
        _ => Reply::json(200, r#"{"id":"l1","name":"n","status":"ready"}"#),
    })
    .await;
    let client = client_for(&fake.url, test_options());
    let lb = client.lb(&fr_par_1());
    lb.update_lb(
        "l1",
        &lb::UpdateLbRequest {
            name: "n".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    lb.update_ip("i1", &lb::UpdateIpRequest::default())
        .await
        .unwrap();
    lb.delete_lb("l1", false).await.unwrap();
    let methods: Vec<String> = fake.seen().iter().map(|s| s.method.clone()).collect();
    assert_eq!(
        methods,
        ["PUT", "PUT", "PATCH", "PATCH", "DELETE", "DELETE"]
    );
    assert!(fake.seen()[4].query.contains("release_ip=false"));
}

#[tokio::test]
async fn a_long_rate_limit_window_is_waited_out_not_counted_as_retries() {
    // Forty 429s in a row: far more than `max_retries` (3). A rate-limit window is waited
    // out for as long as the patience allows, for POST too (the limiter refused the call).
    let fake = Fake::start(|_, n| {
        if n < 40 {
            Reply::rate_limited()
        } else {
            Reply::json(200, CLUSTER_JSON)
        }
    })
    .await;
    let client = client_for(&fake.url, test_options());
    let cluster = client.k8s(&fr_par()).get_cluster("c1").await.unwrap();
    assert_eq!(cluster.id, "c1");
    assert_eq!(fake.hits(), 41);

    // Past the patience, the 429 is the answer.
    let fake = Fake::start(|_, _| Reply::rate_limited()).await;
    let mut options = test_options();
    options.retry.rate_limit_patience = Duration::from_millis(300);
    let client = client_for(&fake.url, options);
    let err = client.vpc(&fr_par()).get_vpc("v").await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert!(fake.hits() > 4, "kept retrying during the window");
}

#[tokio::test]
async fn a_429_honours_retry_after() {
    let fake = Fake::start(|_, n| {
        if n == 0 {
            let mut r = Reply::rate_limited();
            r.headers.push(("retry-after", "1".into()));
            r
        } else {
            Reply::json(200, CLUSTER_JSON)
        }
    })
    .await;
    // Backoff delays of a few milliseconds: only Retry-After can explain a one-second gap.
    let client = client_for(&fake.url, test_options());
    client.k8s(&fr_par()).get_cluster("c1").await.unwrap();
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(gap >= Duration::from_millis(950), "waited {gap:?}");
}

#[tokio::test]
async fn retries_give_up_after_the_policy_limit() {
    let fake = Fake::start(|_, _| Reply::json(503, r#"{"message":"unavailable"}"#)).await;
    let client = client_for(&fake.url, test_options());
    let err = client.vpc(&fr_par()).get_vpc("v").await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(fake.hits(), 4, "first attempt + 3 retries");

    // 501 and out_of_stock are not worth retrying.
    let fake = Fake::start(|_, n| {
        if n == 0 {
            Reply::json(501, "")
        } else {
            Reply::json(503, r#"{"type":"out_of_stock","message":"none left"}"#)
        }
    })
    .await;
    let client = client_for(&fake.url, test_options());
    assert_eq!(
        client
            .vpc(&fr_par())
            .get_vpc("v")
            .await
            .unwrap_err()
            .status(),
        Some(501)
    );
    assert_eq!(fake.hits(), 1);
    let err = client.vpc(&fr_par()).get_vpc("v").await.unwrap_err();
    assert!(matches!(
        err.api_error().unwrap().kind,
        ErrorKind::OutOfStock { .. }
    ));
    assert_eq!(fake.hits(), 2);

    // Client errors are never retried.
    let fake = Fake::start(|_, _| {
        Reply::json(
            400,
            r#"{"type":"invalid_arguments","message":"bad","details":[]}"#,
        )
    })
    .await;
    let client = client_for(&fake.url, test_options());
    assert!(client.vpc(&fr_par()).get_vpc("v").await.is_err());
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn post_is_never_retried_blindly() {
    for failure in [500u16, 502, 503, 504] {
        let fake = Fake::start(move |_, _| Reply::json(failure, "")).await;
        let client = client_for(&fake.url, test_options());
        let err = client
            .vpc(&fr_par())
            .create_vpc(&vpc::CreateVpcRequest {
                project_id: PROJECT.into(),
                name: "v".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(err.is_ambiguous(), "{failure}: {err}");
        assert!(err.to_string().contains("look the resource up"), "{err}");
        assert_eq!(fake.hits(), 1, "POST sent exactly once on {failure}");
    }

    // A POST whose response never arrives (timeout) is ambiguous too.
    let fake = Fake::start(|_, _| Reply::json(200, "{}")).await;
    let slow = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Accept and hold connections without answering.
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
        format!("http://{addr}")
    };
    drop(fake);
    let options = ClientOptions {
        timeout: Duration::from_millis(300),
        ..test_options()
    };
    let client = client_for(&slow, options);
    let err = client
        .vpc(&fr_par())
        .create_private_network(&vpc::CreatePrivateNetworkRequest::default())
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err}");
}

#[tokio::test]
async fn post_is_retried_when_the_server_provably_did_nothing() {
    // 429 comes from the rate limiter in front of the API: nothing was created.
    let fake = Fake::start(|_, n| {
        if n == 0 {
            Reply::rate_limited()
        } else {
            Reply::json(200, r#"{"id":"v1","name":"v"}"#)
        }
    })
    .await;
    let client = client_for(&fake.url, test_options());
    let v = client
        .vpc(&fr_par())
        .create_vpc(&vpc::CreateVpcRequest::default())
        .await
        .unwrap();
    assert_eq!(v.id, "v1");
    assert_eq!(fake.hits(), 2);

    // A refused connection never reached the server: retried, then a transport error that
    // is not ambiguous.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        format!("http://{addr}")
    };
    let client = client_for(&closed, test_options());
    let err = client
        .vpc(&fr_par())
        .create_vpc(&vpc::CreateVpcRequest::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { connect: true, .. }),
        "{err:?}"
    );
    assert!(!err.is_ambiguous());
}

#[tokio::test]
async fn transient_state_runs_the_hook_then_retries() {
    let busy = r#"{"current_state":"configuring","message":"resource is in a transient state","resource":"instance","resource_id":"i1","type":"transient_state"}"#;
    let fake = Fake::start(move |_, n| {
        if n < 2 {
            Reply::json(409, busy)
        } else {
            Reply::json(200, r#"{"name":"app","owner":"","managed":true,"size":0}"#)
        }
    })
    .await;
    let client = client_for(&fake.url, test_options());

    // Without a hook the 409 surfaces.
    let err = client
        .rdb(&fr_par())
        .create_database("i1", "app")
        .await
        .unwrap_err();
    assert!(err.is_transient_state());
    assert_eq!(fake.hits(), 1, "a 409 is not retried without a hook");

    let waits = Arc::new(AtomicUsize::new(0));
    let seen_states = Arc::new(Mutex::new(Vec::new()));
    let hook = {
        let waits = waits.clone();
        let seen_states = seen_states.clone();
        hook_fn(move |conflict| {
            let waits = waits.clone();
            let seen_states = seen_states.clone();
            async move {
                waits.fetch_add(1, Ordering::SeqCst);
                seen_states.lock().unwrap().push((
                    conflict.resource.clone(),
                    conflict.resource_id.clone(),
                    conflict.current_state.clone(),
                    conflict.attempt,
                ));
                Ok(())
            }
        })
    };
    let db = client
        .with_transient_hook(hook)
        .rdb(&fr_par())
        .create_database("i1", "app")
        .await
        .unwrap();
    assert_eq!(db.name, "app");
    assert_eq!(waits.load(Ordering::SeqCst), 1);
    assert_eq!(
        seen_states.lock().unwrap()[0],
        (
            Some("instance".into()),
            Some("i1".into()),
            Some("configuring".into()),
            0
        )
    );
    let posts = fake.seen().iter().filter(|s| s.method == "POST").count();
    assert_eq!(
        posts, 3,
        "a 409 is a definite answer: the POST is re-sent after waiting"
    );
    assert_eq!(fake.seen()[2].body, r#"{"name":"app"}"#);

    // A failing hook aborts the call with its error; a bounded number of waits.
    let fake = Fake::start(move |_, _| Reply::json(409, busy)).await;
    let client = client_for(&fake.url, test_options());
    let err = client
        .with_transient_hook(hook_fn(|_| async {
            Err(Error::Wait {
                resource: "instance i1".into(),
                message: "timed out".into(),
            })
        }))
        .rdb(&fr_par())
        .get_instance("i1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Wait { .. }), "{err}");
    let err = client
        .with_transient_hook(hook_fn(|_| async { Ok(()) }))
        .rdb(&fr_par())
        .get_instance("i1")
        .await
        .unwrap_err();
    assert!(err.is_transient_state());
    assert_eq!(fake.hits(), 1 + 4, "one call + max_transient_waits (3) + 1");
}

#[tokio::test]
async fn not_found_is_recognised_on_lb_untyped_bodies() {
    let fake = Fake::start(|_, _| Reply::json(404, r#"{"message":"lbs not Found"}"#)).await;
    let client = client_for(&fake.url, test_options());
    let err = client.lb(&fr_par_1()).get_lb("gone").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(fake.hits(), 1, "404 is not retried");
}

#[tokio::test]
async fn pagination_fetches_every_page() {
    // 45 IPs, served 20 per page whatever page_size the client asks.
    let fake = Fake::start(|s, _| {
        let page: usize = s
            .query
            .split('&')
            .find_map(|kv| kv.strip_prefix("page="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let start = (page - 1) * 20;
        let ips: Vec<String> = (start..(start + 20).min(45))
            .map(|i| format!(r#"{{"id":"ip{i}","ip_address":"10.0.0.{i}","lb_id":null}}"#))
            .collect();
        Reply::json(
            200,
            format!(r#"{{"ips":[{}],"total_count":45}}"#, ips.join(",")),
        )
    })
    .await;
    let client = client_for(&fake.url, test_options());
    let ips = client
        .lb(&fr_par_1())
        .list_ips(&ListFilter::tags(["kapstan-stack=s", "kapstan-addr=a"]))
        .await
        .unwrap();
    assert_eq!(ips.len(), 45);
    assert_eq!(ips[44].id, "ip44");
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen[0].query.contains("tags=kapstan-stack%3Ds"));
    assert!(seen[0].query.contains("tags=kapstan-addr%3Da"));
    assert!(seen[0].query.contains("page_size=100"));
    assert!(seen[2].query.contains("page=3"));

    // A stale total_count ends on the first empty page instead of looping.
    let fake = Fake::start(|s, _| {
        if s.query.contains("page=1") {
            Reply::json(
                200,
                r#"{"private_networks":[{"id":"pn1"},{"id":"pn2"}],"total_count":5}"#,
            )
        } else {
            Reply::json(200, r#"{"private_networks":[],"total_count":5}"#)
        }
    })
    .await;
    let client = client_for(&fake.url, test_options());
    let pns = client
        .vpc(&fr_par())
        .list_private_networks(&ListFilter::default())
        .await
        .unwrap();
    assert_eq!(pns.len(), 2);
    assert_eq!(fake.hits(), 2);

    // Generic helper with a hand-built query.
    let fake =
        Fake::start(|_, _| Reply::json(200, r#"{"pools":[{"id":"p"}],"total_count":1}"#)).await;
    let client = client_for(&fake.url, test_options());
    let pools = client
        .list_all::<k8s::ListPoolsResponse>(
            Api::K8s,
            fr_par(),
            "/clusters/c/pools",
            Query::new().push("name", "default"),
        )
        .await
        .unwrap();
    assert_eq!(pools.len(), 1);
    assert!(fake.seen()[0].query.contains("name=default"));
}

#[tokio::test]
async fn empty_bodies_decode_as_unit() {
    let fake = Fake::start(|_, _| Reply::json(204, "")).await;
    let client = client_for(&fake.url, test_options());
    client.vpc(&fr_par()).delete_vpc("v").await.unwrap();
    client
        .rdb(&fr_par())
        .delete_user("i", "app$user")
        .await
        .unwrap();
    client.ipam(&fr_par()).release_ip("ip").await.unwrap();
    let seen = fake.seen();
    assert_eq!(
        seen[1].path,
        "/rdb/v1/regions/fr-par/instances/i/users/app%24user"
    );
    assert_eq!(
        seen[2].body, "{}",
        "IPAM release sends an empty JSON object"
    );
}

// ---------------------------------------------------------------------------------------
// Rate limiting
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn token_bucket_limits_the_rate() {
    let bucket = TokenBucket::new(RateLimit {
        per_second: 100.0,
        burst: 5,
    });
    let start = Instant::now();
    for _ in 0..25 {
        bucket.acquire().await;
    }
    let elapsed = start.elapsed();
    // 5 tokens at once, then 20 more at 100/s.
    assert!(elapsed >= Duration::from_millis(190), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");

    let bucket = TokenBucket::new(RateLimit {
        per_second: 1.0,
        burst: 2,
    });
    assert!(bucket.try_acquire());
    assert!(bucket.try_acquire());
    assert!(!bucket.try_acquire(), "burst exhausted");
}

#[tokio::test]
async fn client_applies_the_bucket_per_api() {
    let fake = Fake::start(|s, _| {
        if s.path.contains("/vpc/") {
            Reply::json(200, r#"{"id":"v"}"#)
        } else {
            Reply::json(200, CLUSTER_JSON)
        }
    })
    .await;
    let mut options = test_options();
    options.rate_limit = RateLimit {
        per_second: 20.0,
        burst: 1,
    };
    options.rate_limit_overrides.insert(
        Api::Vpc,
        RateLimit {
            per_second: 10_000.0,
            burst: 100,
        },
    );
    let client = client_for(&fake.url, options);

    let start = Instant::now();
    for _ in 0..11 {
        client.k8s(&fr_par()).get_cluster("c").await.unwrap();
    }
    let limited = start.elapsed();
    assert!(limited >= Duration::from_millis(450), "{limited:?}");

    let start = Instant::now();
    for _ in 0..11 {
        client.vpc(&fr_par()).get_vpc("v").await.unwrap();
    }
    assert!(
        start.elapsed() < limited,
        "another API has its own, faster bucket"
    );
}

// ---------------------------------------------------------------------------------------
// Cassette replay
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Cassette {
    interactions: Vec<Interaction>,
}

#[derive(Deserialize)]
struct Interaction {
    id: u64,
    request: CassetteRequest,
    response: CassetteResponse,
}

#[derive(Deserialize)]
struct CassetteRequest {
    url: String,
    method: String,
}

#[derive(Deserialize)]
struct CassetteResponse {
    #[serde(default)]
    body: String,
    code: u16,
}

fn cassette_dir() -> PathBuf {
    crate::support::fixture("scaleway-cassettes")
}

/// Path with UUIDs replaced by `{id}`, the API prefix and locality kept apart.
fn route_of(url: &str) -> (String, String) {
    let path = url
        .split('?')
        .next()
        .unwrap()
        .trim_start_matches("https://api.scaleway.com");
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    // product, version, regions|zones, locality, rest...
    let api = format!("{}/{}", parts[0], parts[1]);
    let rest: Vec<String> = parts[4..]
        .iter()
        .map(|p| {
            let is_uuid = p.len() == 36 && p.chars().filter(|c| *c == '-').count() == 4;
            if is_uuid {
                "{id}".to_owned()
            } else {
                (*p).to_owned()
            }
        })
        .collect();
    (api, format!("/{}", rest.join("/")))
}

fn parse_as<T: serde::de::DeserializeOwned>(body: &str) -> Result<(), String> {
    serde_json::from_str::<T>(body)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Parses a successful response body with the wire type of its route; `None` for routes
/// outside the kinds the client covers.
fn parse_success(api: &str, method: &str, route: &str, body: &str) -> Option<Result<(), String>> {
    let r = match (api, method, route) {
        ("k8s/v1", "GET", "/versions") => parse_as::<k8s::ListVersionsResponse>(body),
        ("k8s/v1", "GET", "/clusters") => parse_as::<k8s::ListClustersResponse>(body),
        ("k8s/v1", "POST", "/clusters")
        | ("k8s/v1", "GET" | "PATCH" | "DELETE", "/clusters/{id}")
        | ("k8s/v1", "POST", "/clusters/{id}/upgrade") => parse_as::<k8s::Cluster>(body),
        ("k8s/v1", "GET", "/clusters/{id}/kubeconfig") => {
            parse_as::<kapstan_providers::scaleway::client::wire::common::File>(body)
        }
        ("k8s/v1", "GET", "/clusters/{id}/pools") => parse_as::<k8s::ListPoolsResponse>(body),
        ("k8s/v1", "POST", "/clusters/{id}/pools")
        | ("k8s/v1", "GET" | "PATCH" | "DELETE", "/pools/{id}") => parse_as::<k8s::Pool>(body),
        ("k8s/v1", "GET", "/clusters/{id}/nodes") => parse_as::<k8s::ListNodesResponse>(body),
        ("rdb/v1", "GET", "/database-engines") => {
            parse_as::<rdb::ListDatabaseEnginesResponse>(body)
        }
        ("rdb/v1", "GET", "/node-types") => parse_as::<rdb::ListNodeTypesResponse>(body),
        ("rdb/v1", "POST", "/instances")
        | ("rdb/v1", "GET" | "PATCH" | "DELETE", "/instances/{id}")
        | ("rdb/v1", "POST", "/instances/{id}/upgrade") => parse_as::<rdb::Instance>(body),
        ("rdb/v1", "GET", "/instances/{id}/certificate") => {
            parse_as::<kapstan_providers::scaleway::client::wire::common::File>(body)
        }
        ("rdb/v1", "GET", "/instances/{id}/databases") => {
            parse_as::<rdb::ListDatabasesResponse>(body)
        }
        ("rdb/v1", "POST", "/instances/{id}/databases") => parse_as::<rdb::Database>(body),
        ("rdb/v1", "GET", "/instances/{id}/users") => parse_as::<rdb::ListUsersResponse>(body),
        ("rdb/v1", "POST", "/instances/{id}/users") => parse_as::<rdb::User>(body),
        ("rdb/v1", _, "/instances/{id}/acls") => parse_as::<rdb::AclRulesResponse>(body),
        ("rdb/v1", "GET", "/instances/{id}/privileges") => {
            parse_as::<rdb::ListPrivilegesResponse>(body)
        }
        ("rdb/v1", "PUT", "/instances/{id}/privileges") => parse_as::<rdb::Privilege>(body),
        ("lb/v1", "POST", "/lbs") | ("lb/v1", "GET" | "PUT", "/lbs/{id}") => {
            parse_as::<lb::Lb>(body)
        }
        ("lb/v1", "GET", "/lbs") => parse_as::<lb::ListLbsResponse>(body),
        ("lb/v1", "POST", "/ips") | ("lb/v1", "GET" | "PATCH", "/ips/{id}") => {
            parse_as::<lb::Ip>(body)
        }
        ("lb/v1", "GET", "/ips") => parse_as::<lb::ListIpsResponse>(body),
        ("lb/v1", "GET", "/lbs/{id}/private-networks") => {
            parse_as::<lb::ListLbPrivateNetworksResponse>(body)
        }
        ("lb/v1", "POST", "/lbs/{id}/attach-private-network") => {
            parse_as::<lb::LbPrivateNetwork>(body)
        }
        ("vpc/v2", "POST", "/vpcs") | ("vpc/v2", "GET" | "PATCH", "/vpcs/{id}") => {
            parse_as::<vpc::Vpc>(body)
        }
        ("vpc/v2", "GET", "/vpcs") => parse_as::<vpc::ListVpcsResponse>(body),
        ("vpc/v2", "POST", "/private-networks")
        | ("vpc/v2", "GET" | "PATCH", "/private-networks/{id}") => {
            parse_as::<vpc::PrivateNetwork>(body)
        }
        ("vpc/v2", "GET", "/private-networks") => {
            parse_as::<vpc::ListPrivateNetworksResponse>(body)
        }
        ("ipam/v1", "GET", "/ips") => parse_as::<ipam::ListIpamIpsResponse>(body),
        ("ipam/v1", "POST", "/ips") | ("ipam/v1", "GET" | "PATCH", "/ips/{id}") => {
            parse_as::<ipam::IpamIp>(body)
        }
        ("vpc-gw/v2", "GET", "/gateways/{id}") => parse_as::<vpcgw::Gateway>(body),
        _ => return None,
    };
    Some(r)
}

#[test]
fn cassettes_replay_every_response_body() {
    let dir = cassette_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".cassette.yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "expected the 8 cassettes, found {}",
        files.len()
    );

    let mut parsed: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors_checked = 0;
    let mut failures = Vec::new();
    let mut uncovered = BTreeMap::<String, usize>::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let cassette: Cassette = serde_norway::from_str(&text).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for it in &cassette.interactions {
            let (api, route) = route_of(&it.request.url);
            let method = it.request.method.as_str();
            let body = it.response.body.trim();
            if it.response.code >= 400 {
                let e = ApiError::from_response(
                    method,
                    &route,
                    it.response.code,
                    None,
                    body.as_bytes(),
                );
                if it.response.code == 404 && !e.is_not_found() {
                    failures.push(format!("{name}#{}: 404 not recognised", it.id));
                }
                errors_checked += 1;
                continue;
            }
            if body.is_empty() {
                continue;
            }
            match parse_success(&api, method, &route, body) {
                Some(Ok(())) => *parsed.entry(format!("{method} {api}{route}")).or_default() += 1,
                Some(Err(e)) => {
                    failures.push(format!("{name}#{} {method} {api}{route}: {e}", it.id))
                }
                None => {
                    *uncovered
                        .entry(format!("{method} {api}{route}"))
                        .or_default() += 1
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "unparsed bodies:\n{}",
        failures.join("\n")
    );
    // Only other products' calls (instance servers looked up by Terraform) are outside the
    // client's kinds.
    assert!(
        uncovered.keys().all(|k| k.contains("instance/v1")),
        "routes without a wire type: {uncovered:?}"
    );
    let total: usize = parsed.values().sum();
    assert!(total >= 250, "parsed only {total} bodies: {parsed:?}");
    for must in [
        "GET k8s/v1/clusters/{id}",
        "GET k8s/v1/pools/{id}",
        "GET k8s/v1/clusters/{id}/nodes",
        "GET k8s/v1/versions",
        "GET rdb/v1/instances/{id}",
        "GET rdb/v1/instances/{id}/users",
        "GET rdb/v1/instances/{id}/databases",
        "GET lb/v1/lbs/{id}",
        "GET lb/v1/ips/{id}",
        "GET vpc/v2/private-networks/{id}",
        "GET vpc/v2/vpcs/{id}",
        "GET ipam/v1/ips",
    ] {
        assert!(parsed.contains_key(must), "{must} never parsed: {parsed:?}");
    }
    assert!(errors_checked >= 20, "{errors_checked} error bodies");
}

#[test]
fn cassette_values_come_through() {
    let text = std::fs::read_to_string(cassette_dir().join("cluster-basic.cassette.yaml")).unwrap();
    let cassette: Cassette = serde_norway::from_str(&text).unwrap();
    let versions = cassette
        .interactions
        .iter()
        .find(|i| i.request.url.ends_with("/versions"))
        .unwrap();
    let v: k8s::ListVersionsResponse = serde_json::from_str(&versions.response.body).unwrap();
    assert!(
        v.versions[0]
            .available_cnis
            .contains(&k8s::Cni::CiliumNative)
    );
    let kubeconfig = cassette
        .interactions
        .iter()
        .find(|i| i.request.url.ends_with("/kubeconfig"))
        .unwrap();
    let file: kapstan_providers::scaleway::client::wire::common::File =
        serde_json::from_str(&kubeconfig.response.body).unwrap();
    let yaml = file.decode().unwrap();
    assert!(yaml.expose().contains("apiVersion"));
    assert!(!format!("{file:?}").contains(&file.content.expose()[..16]));

    let text =
        std::fs::read_to_string(cassette_dir().join("instance-basic.cassette.yaml")).unwrap();
    let cassette: Cassette = serde_norway::from_str(&text).unwrap();
    let ready = cassette
        .interactions
        .iter()
        .filter(|i| i.request.method == "GET" && i.response.code == 200)
        .filter_map(|i| serde_json::from_str::<rdb::Instance>(&i.response.body).ok())
        .find(|i| i.status == rdb::InstanceStatus::Ready)
        .unwrap();
    assert_eq!(ready.volume.volume_type, rdb::VolumeType::Lssd);
    assert!(ready.endpoints[0].load_balancer.is_some());
    assert!(ready.endpoints[0].port > 0);
}

/// Collects everything a `fmt` subscriber writes.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_secret_key_never_reaches_the_logs() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Legacy variables log a deprecation warning naming the variable, not its value.
    let home = tempfile::tempdir().unwrap();
    let fake = Fake::start(|_, n| match n {
        0 => Reply::rate_limited(),
        1 => Reply::json(
            409,
            r#"{"type":"transient_state","message":"busy","resource":"instance","resource_id":"i","current_state":"configuring"}"#,
        ),
        2 => Reply::json(503, ""),
        _ => Reply::json(200, r#"{"id":"i","status":"ready"}"#),
    })
    .await;
    let cfg = load_env(&[
        ("HOME", home.path().to_str().unwrap()),
        ("SCW_TOKEN", SECRET),
        ("SCW_DEFAULT_PROJECT_ID", PROJECT),
        ("SCW_API_URL", &fake.url),
    ])
    .unwrap();
    let client = Client::with_options(cfg, test_options())
        .unwrap()
        .with_transient_hook(hook_fn(|_| async { Ok(()) }));
    let instance = client.rdb(&fr_par()).get_instance("i").await.unwrap();
    assert_eq!(instance.status, rdb::InstanceStatus::Ready);
    assert_eq!(fake.seen()[3].auth.as_deref(), Some(SECRET));

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("SCW_TOKEN"),
        "deprecation warning logged:\n{text}"
    );
    assert!(text.contains("retrying"), "retries logged:\n{text}");
    assert!(!text.contains(SECRET), "secret leaked into logs:\n{text}");
}
