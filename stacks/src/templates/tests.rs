//! Tests of template discovery and lint: the shipped templates and deliberately broken ones.

use super::*;

/// Reference table of the original's 21 templates: category, name and app slugs.
const EXPECTED: &[(&str, &str, &[&str])] = &[
    (
        "ai-enhanced",
        "claude-flow-base",
        &["claude-flow", "vscode", "jupyter", "terminal"],
    ),
    (
        "ai-enhanced",
        "claude-flow-enterprise",
        &[
            "claude-flow-enterprise",
            "vscode",
            "jupyter",
            "monitoring",
            "terminal",
        ],
    ),
    (
        "backend",
        "dotnet-core",
        &["dotnet-app", "swagger", "vscode", "rider"],
    ),
    ("backend", "go-fiber", &["fiber-api", "vscode", "goland"]),
    (
        "backend",
        "java-spring",
        &["spring-boot", "intellij", "vscode"],
    ),
    (
        "backend",
        "php-symfony-neuron",
        &["symfony-app", "neuron-api", "vscode", "phpstorm"],
    ),
    (
        "backend",
        "python-django-crewai",
        &["django", "django-admin", "vscode", "pycharm"],
    ),
    (
        "backend",
        "ruby-rails",
        &["rails-server", "rails-api", "vscode", "rubymine"],
    ),
    (
        "backend",
        "rust-actix",
        &["actix-api", "vscode", "rustrover"],
    ),
    (
        "data-ml",
        "jupyter-python",
        &["jupyter-lab", "jupyter-notebook", "mlflow", "vscode"],
    ),
    (
        "data-ml",
        "r-studio",
        &["rstudio", "vscode", "shiny", "terminal"],
    ),
    (
        "devops",
        "docker-compose",
        &["lazydocker", "vscode", "stack-app", "prometheus", "grafana"],
    ),
    (
        "devops",
        "kubernetes-helm",
        &["k9s", "vscode", "prometheus", "grafana", "terminal"],
    ),
    (
        "devops",
        "terraform-ansible",
        &["vscode", "terraform-docs", "k9s", "terminal"],
    ),
    ("frontend", "angular", &["angular-dev", "vscode", "cypress"]),
    (
        "frontend",
        "react-typescript",
        &["react-dev", "vscode", "storybook"],
    ),
    (
        "frontend",
        "svelte-kit",
        &["sveltekit-dev", "vscode", "preview"],
    ),
    ("frontend", "vue-nuxt", &["nuxt-dev", "vscode", "storybook"]),
    (
        "mobile",
        "flutter",
        &[
            "flutter-dev",
            "vscode",
            "android-emulator",
            "flutter-inspector",
            "dart-devtools",
        ],
    ),
    (
        "mobile",
        "ionic",
        &["ionic-serve", "ionic-lab", "vscode", "android-emulator"],
    ),
    (
        "mobile",
        "react-native",
        &[
            "metro-bundler",
            "vscode",
            "android-emulator",
            "expo-devtools",
            "flipper",
        ],
    ),
];

#[test]
fn discovers_the_21_shipped_templates() {
    let found = discover(shipped_root());
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|t| (t.category.as_str(), t.name.as_str()))
        .collect();
    let expected: Vec<(&str, &str)> = EXPECTED.iter().map(|(c, n, _)| (*c, *n)).collect();
    assert_eq!(names, expected);
    assert!(
        found
            .iter()
            .all(|t| t.path.join("main.tf").is_file() && t.path.join("README.md").is_file())
    );
}

#[test]
fn every_shipped_template_lints_clean() {
    for t in discover(shipped_root()) {
        let findings = lint(&t.path);
        assert!(
            findings.is_empty(),
            "{}/{}:\n{}",
            t.category,
            t.name,
            findings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn every_shipped_template_has_its_apps() {
    for (category, name, apps) in EXPECTED {
        let text =
            std::fs::read_to_string(shipped_root().join(category).join(name).join("main.tf"))
                .unwrap();
        for slug in *apps {
            assert!(
                text.contains(&format!("slug         = \"{slug}\"")),
                "{category}/{name} lacks app `{slug}`"
            );
        }
        assert!(text.contains("codercom/enterprise-base:ubuntu"), "{name}");
    }
}

/// A line-for-line copy of a shipped template with `edits` applied.
fn broken_copy(edits: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let mut text =
        std::fs::read_to_string(shipped_root().join("backend/go-fiber/main.tf")).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "edit target `{from}` not found");
        text = text.replacen(from, to, 1);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("main.tf");
    std::fs::write(&file, &text).unwrap();
    (dir, file, text)
}

fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

#[test]
fn rejects_a_template_that_breaks_pod_security_with_file_and_line() {
    let (dir, file, text) = broken_copy(&[
        (
            "allow_privilege_escalation = false",
            "allow_privilege_escalation = true",
        ),
        (
            "storage_class_name = \"scw-bssd\"",
            "storage_class_name = \"fast-ssd\"",
        ),
        (
            "run_as_user                = 1000",
            "run_as_user                = 0",
        ),
    ]);
    let findings = lint(dir.path());
    assert!(has_errors(&findings));
    let find = |rule: Rule, needle: &str| {
        findings
            .iter()
            .find(|f| f.rule == rule && f.message.contains(needle))
            .unwrap_or_else(|| panic!("no {rule} finding with `{needle}` in {findings:#?}"))
    };
    let escalation = find(Rule::PodSecurity, "allow_privilege_escalation");
    assert_eq!(escalation.file, file);
    assert_eq!(
        escalation.line,
        Some(line_of(&text, "allow_privilege_escalation = true"))
    );
    assert_eq!(escalation.severity, Severity::Error);
    let root = find(Rule::PodSecurity, "run_as_user must not be 0");
    assert_eq!(
        root.line,
        Some(line_of(&text, "run_as_user                = 0"))
    );
    let class = find(Rule::HomeVolume, "fast-ssd");
    assert_eq!(
        class.line,
        Some(line_of(&text, "storage_class_name = \"fast-ssd\""))
    );
    let shown = escalation.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}:{}: error[pod-security]:",
            file.display(),
            escalation.line.unwrap()
        )),
        "{shown}"
    );
}

#[test]
fn rejects_missing_limits_agent_parameters_and_seccomp() {
    let (dir, _file, text) = broken_copy(&[
        (
            "limits = {\n              cpu    = data.coder_parameter.cpu.value\n",
            "limits = {\n",
        ),
        (
            "data \"coder_parameter\" \"home_disk_size\"",
            "data \"coder_parameter\" \"home_disk\"",
        ),
        (
            "  name         = \"home_disk_size\"",
            "  name         = \"home_disk\"",
        ),
        (
            "resource \"coder_agent\" \"main\"",
            "resource \"coder_script\" \"main\"",
        ),
        ("value = coder_agent.main.token", "value = \"\""),
        (
            "          seccomp_profile {\n            type = \"RuntimeDefault\"\n          }\n        }\n\n        container",
            "        }\n\n        container",
        ),
        (
            "            seccomp_profile {\n              type = \"RuntimeDefault\"\n            }\n",
            "",
        ),
    ]);
    let findings = lint(dir.path());
    let rules: Vec<Rule> = findings.iter().map(|f| f.rule).collect();
    for rule in [
        Rule::ResourceLimits,
        Rule::Parameters,
        Rule::CoderAgent,
        Rule::PodSecurity,
    ] {
        assert!(rules.contains(&rule), "{rule} not reported: {findings:#?}");
    }
    let limits = findings
        .iter()
        .find(|f| f.rule == Rule::ResourceLimits)
        .unwrap();
    assert!(
        limits.message.contains("cpu") && !limits.message.contains("memory"),
        "{}",
        limits.message
    );
    assert_eq!(limits.line, Some(line_of(&text, "limits = {")));
    assert!(
        findings
            .iter()
            .any(|f| f.message.contains("seccomp_profile")),
        "{findings:#?}"
    );
}

#[test]
fn reports_syntax_errors_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        "resource \"coder_agent\" \"main\" {\n  os = \"linux\"\n  arch = \n}\n",
    )
    .unwrap();
    let findings = lint(dir.path());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].rule, Rule::Parse);
    assert_eq!(findings[0].file, dir.path().join("main.tf"));
    assert!(
        matches!(findings[0].line, Some(3) | Some(4)),
        "{:?}",
        findings[0].line
    );
}

#[test]
fn empty_or_missing_directories_have_no_tf_files() {
    let dir = tempfile::tempdir().unwrap();
    let findings = lint(dir.path());
    assert_eq!(findings[0].rule, Rule::TfFiles);
    assert_eq!(lint(dir.path().join("nope"))[0].rule, Rule::TfFiles);
    assert!(discover(dir.path().join("nope")).is_empty());
}

#[test]
fn expressions_that_cannot_be_verified_are_warnings() {
    let (dir, _file, _text) = broken_copy(&[(
        "allow_privilege_escalation = false",
        "allow_privilege_escalation = var.escalate",
    )]);
    let findings = lint(dir.path());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].severity, Severity::Warning);
    assert!(!has_errors(&findings));
}

fn findings_of(findings: &[LintFinding], rule: Rule) -> Vec<&LintFinding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

#[test]
fn rejects_label_values_that_long_coder_names_push_over_63_characters() {
    // The instance label as every template had it: "coder-" + owner (≤32) + "-" + workspace (≤32).
    let (dir, file, text) = broken_copy(&[
        (
            "\"app.kubernetes.io/instance\"  = local.instance",
            "\"app.kubernetes.io/instance\"  = local.workspace_name",
        ),
        (
            "\"app.kubernetes.io/instance\" = local.instance",
            "\"app.kubernetes.io/instance\" = local.workspace_name",
        ),
    ]);
    let findings = lint(dir.path());
    let labels = findings_of(&findings, Rule::LabelValues);
    assert!(!labels.is_empty(), "{findings:#?}");
    for f in &labels {
        assert_eq!(f.severity, Severity::Error);
        assert!(
            f.message.contains("app.kubernetes.io/instance") && f.message.contains("71"),
            "{}",
            f.message
        );
    }
    // Reported where the deployment uses the labels: its metadata, the pod
    // template and the selector.
    let lines: Vec<usize> = labels.iter().filter_map(|f| f.line).collect();
    assert!(
        lines.contains(&line_of(&text, "    labels    = local.labels")),
        "{lines:?}"
    );
    assert!(
        lines.contains(&line_of(&text, "match_labels = {")),
        "{lines:?}"
    );
    assert!(labels.iter().all(|f| f.file == file));
    assert!(has_errors(&findings));
}

#[test]
fn rejects_label_values_that_are_not_label_values_at_all() {
    let (dir, _file, _text) = broken_copy(&[(
        "    \"com.coder.user.username\"     = data.coder_workspace_owner.me.name\n",
        "    \"com.coder.user.username\"     = data.coder_workspace_owner.me.name\n    \"example.com/email\" = data.coder_workspace_owner.me.email\n    \"example.com/go\" = data.coder_parameter.go_version.value\n    \"example.com/free\" = data.coder_parameter.home_disk_size.value\n    \"example.com/spaced\" = \"two words\"\n    \"example.com/hashed\" = sha256(data.coder_workspace.me.id)\n    \"example.com/short\" = \"ws-${substr(data.coder_workspace.me.name, 0, 20)}\"\n",
    )]);
    let findings = lint(dir.path());
    let labels = findings_of(&findings, Rule::LabelValues);
    let about = |key: &str| labels.iter().any(|f| f.message.contains(key));
    assert!(about("example.com/email"), "{labels:#?}");
    assert!(about("example.com/spaced"), "{labels:#?}");
    assert!(about("example.com/hashed"), "{labels:#?}");
    // A number parameter without options is free text to Kubernetes: any digits, any length.
    assert!(about("example.com/free"), "{labels:#?}");
    // A parameter whose options are short label values and a truncated name fit.
    assert!(!about("example.com/go"), "{labels:#?}");
    assert!(!about("example.com/short"), "{labels:#?}");
    assert!(labels.iter().all(|f| f.severity == Severity::Error));
}

#[test]
fn flags_deprecated_and_removed_coder_provider_attributes() {
    let (dir, _file, text) = broken_copy(&[
        (
            "  startup_script_behavior = \"non-blocking\"\n",
            "  dir                     = \"/home/coder\"\n  startup_script_behavior = \"non-blocking\"\n",
        ),
        (
            "    GIT_AUTHOR_EMAIL    = data.coder_workspace_owner.me.email\n",
            "    GIT_AUTHOR_EMAIL    = data.coder_workspace.me.owner_email\n",
        ),
    ]);
    let findings = lint(dir.path());
    let deprecated = findings_of(&findings, Rule::Deprecated);
    let dir_finding = deprecated
        .iter()
        .find(|f| f.message.contains("`dir`"))
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(dir_finding.severity, Severity::Warning);
    assert_eq!(
        dir_finding.line,
        Some(line_of(&text, "  dir                     ="))
    );
    let owner = deprecated
        .iter()
        .find(|f| f.message.contains("owner_email"))
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(owner.severity, Severity::Error);
    assert!(
        owner.message.contains("coder_workspace_owner"),
        "{}",
        owner.message
    );
}

#[test]
fn flags_parameters_whose_value_nothing_reads() {
    let (dir, _file, text) = broken_copy(&[
        // Never referenced at all.
        (
            "data \"coder_parameter\" \"ide\" {",
            "data \"coder_parameter\" \"flavour\" {\n  name    = \"flavour\"\n  type    = \"string\"\n  default = \"plain\"\n}\n\ndata \"coder_parameter\" \"ide\" {",
        ),
        // Passed to the agent, but the startup script never reads $GO_VERSION.
        (
            "    mise use -g \"go@$GO_VERSION\"\n",
            "    mise use -g go@1.24\n",
        ),
    ]);
    let findings = lint(dir.path());
    let unused = findings_of(&findings, Rule::UnusedParameter);
    let flavour = unused
        .iter()
        .find(|f| f.message.contains("`flavour`"))
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(flavour.severity, Severity::Error);
    assert_eq!(
        flavour.line,
        Some(line_of(&text, "data \"coder_parameter\" \"flavour\""))
    );
    let go = unused
        .iter()
        .find(|f| f.message.contains("`go_version`"))
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(go.severity, Severity::Warning);
    assert!(go.message.contains("$GO_VERSION"), "{}", go.message);
    // Parameters read in expressions (ide in a count, cpu in limits) are used.
    assert_eq!(unused.len(), 2, "{unused:#?}");
}

#[test]
fn checks_service_selectors_as_label_values() {
    let (dir, _file, _text) = broken_copy(&[(
        "resource \"kubernetes_deployment_v1\" \"main\" {",
        "resource \"kubernetes_service_v1\" \"ssh\" {\n  metadata {\n    name      = \"coder-${data.coder_workspace.me.id}-ssh\"\n    namespace = var.namespace\n  }\n  spec {\n    selector = {\n      \"app.kubernetes.io/instance\" = local.workspace_name\n    }\n    port {\n      port = 22\n    }\n  }\n}\n\nresource \"kubernetes_deployment_v1\" \"main\" {",
    )]);
    let findings = lint(dir.path());
    let selector = findings
        .iter()
        .find(|f| f.rule == Rule::LabelValues && f.message.contains("kubernetes_service_v1.ssh"))
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert!(
        selector.message.contains("selector") && selector.message.contains("71"),
        "{}",
        selector.message
    );
}

#[test]
fn label_values_the_lint_cannot_bound_are_warnings() {
    let (dir, _file, _text) = broken_copy(&[(
        "    \"com.coder.user.username\"     = data.coder_workspace_owner.me.name\n",
        "    \"com.coder.user.username\"     = data.coder_workspace_owner.me.name\n    \"example.com/team\" = var.namespace\n",
    )]);
    let findings = lint(dir.path());
    let labels = findings_of(&findings, Rule::LabelValues);
    assert!(!labels.is_empty(), "{findings:#?}");
    assert!(
        labels
            .iter()
            .all(|f| f.severity == Severity::Warning && f.message.contains("var.namespace")),
        "{labels:#?}"
    );
    assert!(!has_errors(&findings), "{findings:#?}");
}
