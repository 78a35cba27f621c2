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
