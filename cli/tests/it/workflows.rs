//! The GitHub Actions examples (`examples/github-actions/*.yml`) use the CLI a user runs: every
//! `kapstan …` command line in their `run:` scripts must parse with the CLI's own clap parser,
//! and the gates they promise (budget exit code, environment approval, typed confirmation,
//! drift issue) must be there.

use std::path::{Path, PathBuf};

use clap::Parser;
use kapstan_cli::args::Cli;
use serde_norway::Value;

fn workflows_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/github-actions")
}

fn workflows() -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(workflows_dir()).expect("examples/github-actions exists") {
        let path = entry.unwrap().path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            let text = std::fs::read_to_string(&path).unwrap();
            let doc: Value = serde_norway::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
            out.push((path, doc));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        out.len() >= 4,
        "expected the plan, apply, drift and teardown workflows"
    );
    out
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Mapping(m) => m.iter().find_map(|(k, x)| match k {
            Value::String(s) if s == key => Some(x),
            // YAML 1.1 readers turn the `on:` key into `true`.
            Value::Bool(true) if key == "on" => Some(x),
            _ => None,
        }),
        _ => None,
    }
}

/// Every `run:` script of every step.
fn run_scripts(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(Value::Mapping(jobs)) = get(doc, "jobs") else {
        return out;
    };
    for (_, job) in jobs {
        if let Some(Value::Sequence(steps)) = get(job, "steps") {
            for step in steps {
                if let Some(Value::String(run)) = get(step, "run") {
                    out.push(run.clone());
                }
            }
        }
    }
    out
}

/// Splits a shell line into words, honouring quotes and backslashes, and separating the
/// control operators `|`, `||`, `&&` and `;` into their own words.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    cur.push(d);
                }
            }
            '"' => {
                in_word = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => {
                            if let Some(e) = chars.next() {
                                cur.push(e);
                            }
                        }
                        _ => cur.push(d),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(d) = chars.next() {
                    cur.push(d);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '&' if in_word && cur.ends_with('>') => cur.push(c),
            '|' | '&' | ';' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                let mut op = c.to_string();
                if let Some(&d) = chars.peek()
                    && d == c
                {
                    op.push(d);
                    chars.next();
                }
                words.push(op);
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

fn is_operator(w: &str) -> bool {
    matches!(w, "|" | "||" | "&&" | ";" | "&")
}

fn is_redirection(w: &str) -> bool {
    let w = w.trim_start_matches(|c: char| c.is_ascii_digit());
    w.starts_with('>') || w.starts_with('<')
}

/// GitHub expressions become a sample environment name; shell variables a placeholder.
fn substitute(script: &str) -> String {
    let expr = regex::Regex::new(r"\$\{\{[^}]*\}\}").unwrap();
    let var = regex::Regex::new(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?").unwrap();
    let s = expr.replace_all(script, "staging");
    var.replace_all(&s, "value").into_owned()
}

/// The argument vectors of every `kapstan` command in a script (after `kapstan`).
fn kapstan_commands(script: &str) -> Vec<Vec<String>> {
    let joined = substitute(script).replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let words = shell_words(line);
        for segment in words.split(|w| is_operator(w)) {
            let mut it = segment.iter().skip_while(|w| {
                matches!(w.as_str(), "if" | "then" | "!" | "time" | "do" | "else")
                    || (w.contains('=') && !w.starts_with('-'))
            });
            if it.next().map(String::as_str) != Some("kapstan") {
                continue;
            }
            let mut args = Vec::new();
            let mut skip_next = false;
            for w in it {
                if skip_next {
                    skip_next = false;
                    continue;
                }
                if is_redirection(w) {
                    // `> file` takes the next word; `>file` and `2>&1` do not.
                    let op = w.trim_start_matches(|c: char| c.is_ascii_digit());
                    skip_next = matches!(op, ">" | ">>" | "<" | "&>");
                    continue;
                }
                args.push(w.clone());
            }
            out.push(args);
        }
    }
    out
}

#[test]
fn shell_splitting_finds_kapstan_commands() {
    let cmds = kapstan_commands(
        "set +e\nkapstan plan --env staging --out \"a b.plan\" > out.txt 2> err.txt\ncode=$?\n\
         kapstan cost --env ${{ inputs.environment }} --format table || true\n\
         if ! kapstan drift --env prod 2>&1 | tee x; then echo kapstan; fi # kapstan comment\n\
         echo 'kapstan not a command'",
    );
    assert_eq!(
        cmds,
        vec![
            vec!["plan", "--env", "staging", "--out", "a b.plan"],
            vec!["cost", "--env", "staging", "--format", "table"],
            vec!["drift", "--env", "prod"],
        ]
    );
}

#[test]
fn the_parser_rejects_what_the_cli_rejects() {
    let parses = |args: &[&str]| Cli::try_parse_from(args).is_ok();
    assert!(parses(&[
        "kapstan", "plan", "--env", "staging", "--phase", "app"
    ]));
    assert!(!parses(&[
        "kapstan", "plan", "--env", "staging", "--phase", "db"
    ]));
    assert!(
        !parses(&["kapstan", "plan", "--phase", "app"]),
        "--phase needs --env"
    );
    assert!(!parses(&[
        "kapstan", "plan", "--env", "dev", "--stack", "demo"
    ]));
    assert!(!parses(&["kapstan", "plan", "--no-such-flag"]));
}

#[test]
fn every_kapstan_command_line_in_the_workflows_parses() {
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    for (path, doc) in workflows() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut in_file = 0;
        for script in run_scripts(&doc) {
            for args in kapstan_commands(&script) {
                in_file += 1;
                let argv = std::iter::once("kapstan".to_string()).chain(args.iter().cloned());
                match Cli::try_parse_from(argv) {
                    Ok(_) => checked.push(format!("{name}: kapstan {}", args.join(" "))),
                    Err(e) => failures.push(format!(
                        "{name}: kapstan {}\n{}",
                        args.join(" "),
                        e.render()
                    )),
                }
            }
        }
        assert!(in_file > 0, "{name} runs no kapstan command");
    }
    assert!(
        failures.is_empty(),
        "unparsable command lines:\n{}",
        failures.join("\n")
    );
    let all = checked.join("\n");
    for expected in [
        "kapstan-plan.yml: kapstan plan --env staging --phase infra --detailed-exitcode --out",
        "kapstan-plan.yml: kapstan plan --env staging --phase app --detailed-exitcode --out",
        "kapstan-apply.yml: kapstan apply plans/staging-infra.tfplan",
        "kapstan-apply.yml: kapstan apply plans/staging-app.tfplan",
        "kapstan-drift.yml: kapstan drift --env prod --detailed-exitcode",
        "kapstan-teardown.yml: kapstan destroy --env staging --phase app --auto-approve",
        "kapstan-teardown.yml: kapstan destroy --env staging --phase infra --auto-approve",
    ] {
        assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
    }
}

fn workflow(name: &str) -> Value {
    workflows()
        .into_iter()
        .find(|(p, _)| p.file_name().is_some_and(|f| f == name))
        .unwrap_or_else(|| panic!("{name} is missing"))
        .1
}

fn text(name: &str) -> String {
    std::fs::read_to_string(workflows_dir().join(name)).unwrap()
}

#[test]
fn the_gates_are_in_place() {
    // Pull requests: comment permission, the budget exit code fails the job.
    let plan = workflow("kapstan-plan.yml");
    assert!(get(get(&plan, "on").unwrap(), "pull_request").is_some());
    assert_eq!(
        get(get(&plan, "permissions").unwrap(), "pull-requests"),
        Some(&Value::String("write".into()))
    );
    let plan_text = text("kapstan-plan.yml");
    assert!(
        plan_text.contains("if [ \"$code\" = 3 ]; then")
            && plan_text.contains("the planned monthly cost exceeds the staging budget")
            && plan_text.contains("exit 3"),
        "the PR workflow fails over budget with exit 3"
    );
    assert!(plan_text.contains("createComment") && plan_text.contains("updateComment"));

    // Merge: the apply job waits on a GitHub environment and applies saved plans.
    let apply = workflow("kapstan-apply.yml");
    let job = get(get(&apply, "jobs").unwrap(), "apply").unwrap();
    assert_eq!(
        get(job, "environment"),
        Some(&Value::String("staging".into()))
    );
    assert_eq!(get(job, "needs"), Some(&Value::String("plan".into())));

    // Drift: scheduled, opens an issue.
    let drift = workflow("kapstan-drift.yml");
    assert!(get(get(&drift, "on").unwrap(), "schedule").is_some());
    assert!(text("kapstan-drift.yml").contains("github.rest.issues.create("));

    // Teardown: dispatch only, a typed confirmation checked before the destroy job runs.
    let teardown = workflow("kapstan-teardown.yml");
    let on = get(&teardown, "on").unwrap();
    assert!(get(on, "push").is_none() && get(on, "schedule").is_none());
    let inputs = get(get(on, "workflow_dispatch").unwrap(), "inputs").unwrap();
    assert!(get(inputs, "confirm").is_some() && get(inputs, "environment").is_some());
    let destroy = get(get(&teardown, "jobs").unwrap(), "destroy").unwrap();
    assert_eq!(
        get(destroy, "needs"),
        Some(&Value::String("confirm".into()))
    );
    assert!(text("kapstan-teardown.yml").contains("if [ \"$CONFIRM\" != \"$ENVIRONMENT\" ]"));
}
