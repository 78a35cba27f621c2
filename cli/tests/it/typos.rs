//! Typos must not plan deletions: mistyped template names, variables, environments and
//! Scaleway identifiers in `environments/<env>.toml` are refused (or put in the spelling the
//! API uses) before anything is planned, each with one error naming the file, line and field.
//! A secret written into the file instead of a reference is refused without being repeated;
//! `kapstan doctor` checks each environment's OIDC issuer.

use std::process::Output;

use crate::support::{Project, flat, transcript};

/// A project with an (empty) `environments/` directory.
fn project() -> Project {
    let p = Project::new();
    std::fs::create_dir(p.path().join("environments")).unwrap();
    p
}

/// Plans dev's infra phase with `file` as its override file.
fn plan_with(file: &str) -> (Project, Output) {
    let p = project();
    p.write("environments/dev.toml", file);
    let o = p.run_offline(&[
        "plan",
        "--env",
        "dev",
        "--phase",
        "infra",
        "--refresh=false",
    ]);
    (p, o)
}

#[test]
fn an_unknown_template_in_the_include_list_is_an_error_naming_the_known_ones() {
    let (p, o) = plan_with("[templates]\ninclude = [\"go-fibre\"]\n");
    insta::assert_snapshot!("include_typo", transcript(&p, &o));
    assert_eq!(o.status.code(), Some(1));
    let err = flat(&o);
    assert!(err.contains("dev.toml: line 2"), "{err}");
    assert!(err.contains("did you mean `go-fiber`"), "{err}");
    assert!(
        err.contains("rust-actix"),
        "the known ones are named: {err}"
    );
}

#[test]
fn up_template_typo_is_an_error_naming_the_known_ones() {
    let p = project();
    let o = p.run_offline(&["up", "--env", "dev", "--template", "go-fibre", "--dry-run"]);
    let err = flat(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("did you mean `go-fiber`"), "{err}");
}

#[test]
fn scaleway_identifiers_are_put_in_the_api_spelling_before_the_diff() {
    let (p, o) = plan_with(
        "[pool]\nnode_type = \"gp1-xs\"\n[database]\nnode_type = \"db-dev-s\"\n[load_balancer]\ntype = \"lb-s\"\n",
    );
    let out = transcript(&p, &o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for canonical in ["\"GP1-XS\"", "\"DB-DEV-S\"", "\"LB-S\""] {
        assert!(out.contains(canonical), "{canonical} in {out}");
    }
    // (The pool's name, `default-gp1-xs`, is derived from the node type in lower case.)
    assert!(
        !out.contains("\"gp1-xs\"") && !out.contains("\"db-dev-s\"") && !out.contains("\"lb-s\""),
        "{out}"
    );

    let (_p, o) = plan_with("[pool]\nnode_type = \"gp1-xz\"\n");
    let out = flat(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("line 2: [pool] node_type = \"gp1-xz\""),
        "{out}"
    );
    assert!(out.contains("`GP1-XS`"), "a close spelling: {out}");
    assert!(
        !out.contains("H100"),
        "a few suggestions, not every node type: {out}"
    );
}

#[test]
fn bad_values_are_reported_against_the_file_once_in_user_terms() {
    let mut transcripts = String::new();
    for file in [
        "region = \"eu-west-1\"\n",
        "zone = \"fr-par-9\"\n",
        "[coder]\nversion = \"latest\"\n",
        "[pool]\nsize = 3\n",
        "[pool]\nsize = \"3\"\n",
    ] {
        let (p, o) = plan_with(file);
        assert_eq!(o.status.code(), Some(1), "{file}: {}", transcript(&p, &o));
        let err = flat(&o);
        assert_eq!(
            err.matches('×').count(),
            1,
            "one root cause, one error: {err}"
        );
        assert!(err.contains("environments/dev.toml: line "), "{err}");
        assert!(!err.contains("u32"), "user terms: {err}");
        transcripts.push_str(&format!("=== {file}{}\n", transcript(&p, &o)));
    }
    let squeezed: String = transcripts
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect();
    assert!(
        squeezed.contains("usefr-par,nl-ams,pl-waw"),
        "{transcripts}"
    );
    insta::assert_snapshot!("bad_values", transcripts);
}

#[test]
fn unknown_variables_and_invalid_values_are_errors() {
    let p = project();
    let o = p.run_offline(&["plan", "--var", "nodez=3"]);
    let err = flat(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`nodez`") && err.contains("did you mean `nodes`"),
        "{err}"
    );

    let o = p.run_offline(&["cost", "--env", "dev", "--var", "coder=nope"]);
    let err = flat(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("`coder` = \"nope\" is not a boolean"), "{err}");

    let o = p.run_offline(&["cost", "--env", "dev", "--var", "templatez=go-fiber"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn an_env_typo_gets_one_error_everywhere() {
    let p = project();
    let commands: [&[&str]; 8] = [
        &["plan"],
        &["drift"],
        &["cost"],
        &["up"],
        &["down", "--auto-approve"],
        &["health"],
        &["scale", "--nodes", "3"],
        &["templates", "push"],
    ];
    for (typo, suggestion) in [
        ("Dev", Some("dev")),
        ("dve", Some("dev")),
        ("prd", Some("prod")),
        ("qa", None),
    ] {
        for command in commands {
            let mut args = command.to_vec();
            args.extend(["--env", typo]);
            let o = p.run_offline(&args);
            let err = flat(&o);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
            assert!(
                err.contains(&format!("`{typo}` is not an environment")),
                "{args:?}: {err}"
            );
            match suggestion {
                Some(s) => assert!(err.contains(&format!("did you mean `{s}`")), "{err}"),
                None => assert!(!err.contains("did you mean"), "{err}"),
            }
        }
    }
}

#[test]
fn an_environment_plan_renders_like_terraform() {
    let (p, o) = plan_with("[pool]\nnode_type = \"gp1-s\"\n");
    assert_eq!(o.status.code(), Some(0), "{}", transcript(&p, &o));
    insta::assert_snapshot!("dev_infra_plan", transcript(&p, &o));
}

#[test]
fn an_app_phase_before_its_infra_gives_one_message_not_one_per_resource() {
    let p = project();
    let o = p.run_offline(&["plan", "--env", "dev", "--refresh=false"]);
    let out = transcript(&p, &o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("=== Stack coder-dev-infra ==="), "{out}");
    assert_eq!(out.matches("Not planned: phase infra").count(), 1, "{out}");
    assert!(!out.contains("has no such output"), "{out}");

    let o = p.run_offline(&["plan", "--env", "dev", "--phase", "app"]);
    let err = flat(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.matches('×').count(), 1, "{err}");
    assert!(err.contains("kapstan up --env dev --phase infra"), "{err}");
}

#[test]
fn a_secret_written_in_the_environment_file_is_refused_without_repeating_it() {
    let (_p, o) = plan_with(
        "[oidc]\nissuer_url = \"https://login.example.com\"\nclient_id = \"coder\"\nclient_secret = \"Sup3r-Secret-Client-Value\"\n",
    );
    let err = flat(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("dev.toml: line 4: [oidc] client_secret must be a reference"),
        "{err}"
    );
    assert!(err.contains("secret-manager://NAME"), "the fix: {err}");
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), err);
    assert!(!all.contains("Sup3r-Secret-Client-Value"), "{all}");
}

#[test]
fn doctor_checks_the_oidc_issuer_of_each_environment() {
    let p = project();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    p.write("environments/dev.toml", &format!(
        "[oidc]\nissuer_url = \"https://127.0.0.1:{port}\"\nclient_id = \"coder\"\nclient_secret = \"secret-manager://coder-oidc\"\n"
    ));
    let o = p.run_offline(&["doctor"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "✗ dev sign-in (OIDC): https://127.0.0.1:{port}/.well-known/openid-configuration does not answer"
        )),
        "{out}"
    );
}
