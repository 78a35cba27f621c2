//! The template lint: parse every `.tf` file and check the rules of [`Rule`].

use std::ops::Range;
use std::path::{Path, PathBuf};

use hcl::edit::Span;
use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Block, Body};

use super::{LintFinding, Rule, Severity};

mod labels;
mod usage;
mod walk;

/// Kinds that run the workspace pod.
const POD_KINDS: &[&str] = &[
    "kubernetes_pod",
    "kubernetes_pod_v1",
    "kubernetes_deployment",
    "kubernetes_deployment_v1",
    "kubernetes_stateful_set",
    "kubernetes_stateful_set_v1",
];

const PVC_KINDS: &[&str] = &[
    "kubernetes_persistent_volume_claim",
    "kubernetes_persistent_volume_claim_v1",
];

/// The only StorageClass a Kapsule cluster provides for block volumes that
/// kapstan relies on; the original's `fast-ssd` was never created.
const HOME_STORAGE_CLASS: &str = "scw-bssd";

const HOME_PATH: &str = "/home/coder";

const REQUIRED_PARAMETERS: &[&str] = &["cpu", "memory", "home_disk_size"];

/// Lints one template directory (its `.tf` files, not subdirectories).
/// An empty result means the template is clean.
pub fn lint(dir: impl AsRef<Path>) -> Vec<LintFinding> {
    let dir = dir.as_ref();
    let mut l = Linter::default();
    let files = match tf_files(dir) {
        Ok(files) => files,
        Err(e) => {
            l.push(
                dir,
                None,
                Rule::TfFiles,
                Severity::Error,
                format!("cannot read the directory: {e}"),
            );
            return l.findings;
        }
    };
    if files.is_empty() {
        l.push(
            dir,
            None,
            Rule::TfFiles,
            Severity::Error,
            "no .tf file in the template directory".into(),
        );
        return l.findings;
    }
    let mut sources = Vec::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) => {
                l.push(
                    &file,
                    None,
                    Rule::Parse,
                    Severity::Error,
                    format!("cannot read: {e}"),
                );
                continue;
            }
        };
        match hcl::edit::parser::parse_body(&text) {
            Ok(body) => sources.push(Source { file, text, body }),
            Err(e) => {
                let line = e.location().line();
                l.push(
                    &file,
                    Some(line),
                    Rule::Parse,
                    Severity::Error,
                    format!("HCL syntax error: {}", e.message()),
                );
            }
        }
    }
    // Checking the structure of a partly parsed template would report blocks as
    // missing that are merely in the broken file.
    if !l.findings.is_empty() {
        return l.findings;
    }
    l.check(&sources);
    l.findings
        .sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    l.findings
}

fn tf_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "tf"))
        .collect();
    files.sort();
    Ok(files)
}

struct Source {
    file: PathBuf,
    text: String,
    body: Body,
}

impl Source {
    fn line(&self, span: Option<Range<usize>>) -> Option<usize> {
        let start = span?.start.min(self.text.len());
        Some(self.text[..start].bytes().filter(|b| *b == b'\n').count() + 1)
    }

    fn snippet(&self, span: Option<Range<usize>>) -> &str {
        span.and_then(|r| self.text.get(r)).unwrap_or("")
    }
}

/// A literal read from an attribute: absent, a literal, or an expression the lint cannot evaluate.
enum Lit<T> {
    Absent,
    Value(T),
    Expr,
}

fn first<'a>(body: &'a Body, ident: &'a str) -> Option<&'a Block> {
    body.get_blocks(ident).next()
}

fn attr<'a>(body: Option<&'a Body>, key: &str) -> Option<&'a Expression> {
    body?.get_attribute(key).map(|a| &a.value)
}

fn lit_bool(body: Option<&Body>, key: &str) -> Lit<bool> {
    match attr(body, key) {
        None => Lit::Absent,
        Some(Expression::Bool(b)) => Lit::Value(*b.value()),
        Some(_) => Lit::Expr,
    }
}

fn lit_int(body: Option<&Body>, key: &str) -> Lit<i64> {
    match attr(body, key) {
        None => Lit::Absent,
        Some(Expression::Number(n)) => n.value().as_i64().map_or(Lit::Expr, Lit::Value),
        Some(_) => Lit::Expr,
    }
}

fn lit_str<'a>(body: Option<&'a Body>, key: &str) -> Lit<&'a str> {
    match attr(body, key) {
        None => Lit::Absent,
        Some(Expression::String(s)) => Lit::Value(s.value().as_str()),
        Some(_) => Lit::Expr,
    }
}

fn lit_strings(body: Option<&Body>, key: &str) -> Lit<Vec<String>> {
    match attr(body, key) {
        None => Lit::Absent,
        Some(Expression::Array(a)) => {
            let mut out = Vec::new();
            for e in a.iter() {
                match e {
                    Expression::String(s) => out.push(s.value().to_string()),
                    _ => return Lit::Expr,
                }
            }
            Lit::Value(out)
        }
        Some(_) => Lit::Expr,
    }
}

/// Keys an expression may produce as an object: through `merge(...)`,
/// conditionals and parentheses, so `merge({cpu = …}, gpu ? {…} : {})` counts.
fn object_keys(expr: &Expression, out: &mut Vec<String>) {
    match expr {
        Expression::Object(o) => {
            for (k, _) in o.iter() {
                match k {
                    ObjectKey::Ident(i) => out.push(i.as_str().to_string()),
                    ObjectKey::Expression(Expression::String(s)) => out.push(s.value().to_string()),
                    ObjectKey::Expression(_) => {}
                }
            }
        }
        Expression::FuncCall(f) => f.args.iter().for_each(|a| object_keys(a, out)),
        Expression::Conditional(c) => {
            object_keys(&c.true_expr, out);
            object_keys(&c.false_expr, out);
        }
        Expression::Parenthesis(p) => object_keys(p.inner(), out),
        _ => {}
    }
}

#[derive(Default)]
struct Linter {
    findings: Vec<LintFinding>,
}

/// Resource or data blocks of one type across all files.
fn blocks_of<'a>(
    sources: &'a [Source],
    ident: &'a str,
    kinds: &'a [&'a str],
) -> impl Iterator<Item = (&'a Source, &'a Block)> + 'a {
    sources.iter().flat_map(move |src| {
        src.body
            .get_blocks(ident)
            .filter(move |b| {
                b.labels
                    .first()
                    .is_some_and(|l| kinds.contains(&l.as_str()))
            })
            .map(move |b| (src, b))
    })
}

fn label(block: &Block, i: usize) -> &str {
    block.labels.get(i).map_or("?", |l| l.as_str())
}

impl Linter {
    fn push(
        &mut self,
        file: &Path,
        line: Option<usize>,
        rule: Rule,
        severity: Severity,
        message: String,
    ) {
        self.findings.push(LintFinding {
            file: file.to_path_buf(),
            line,
            rule,
            message,
            severity,
        });
    }

    fn at(
        &mut self,
        src: &Source,
        span: Option<Range<usize>>,
        rule: Rule,
        severity: Severity,
        message: String,
    ) {
        let line = src.line(span);
        self.push(&src.file, line, rule, severity, message);
    }

    fn check(&mut self, sources: &[Source]) {
        let main = &sources[0];
        if blocks_of(sources, "resource", &["coder_agent"])
            .next()
            .is_none()
        {
            self.at(
                main,
                None,
                Rule::CoderAgent,
                Severity::Error,
                "no `resource \"coder_agent\"`: the workspace would never connect to Coder".into(),
            );
        }
        self.check_parameters(sources);
        self.check_parameter_use(sources);
        self.check_deprecated(sources);
        self.check_labels(sources);
        self.check_pvcs(sources);
        let pods: Vec<_> = blocks_of(sources, "resource", POD_KINDS).collect();
        if pods.is_empty() {
            self.at(
                main,
                None,
                Rule::WorkspacePod,
                Severity::Error,
                format!(
                    "no workspace pod: expected a resource of kind {}",
                    POD_KINDS.join(", ")
                ),
            );
        }
        for (src, block) in pods {
            self.check_pod(src, block);
        }
    }

    fn check_parameters(&mut self, sources: &[Source]) {
        let names: Vec<String> = blocks_of(sources, "data", &["coder_parameter"])
            .map(|(_, b)| match lit_str(Some(&b.body), "name") {
                Lit::Value(n) => n.to_string(),
                _ => label(b, 1).to_string(),
            })
            .collect();
        let missing: Vec<&str> = REQUIRED_PARAMETERS
            .iter()
            .copied()
            .filter(|p| !names.iter().any(|n| n == p))
            .collect();
        if !missing.is_empty() {
            self.at(
                &sources[0],
                None,
                Rule::Parameters,
                Severity::Error,
                format!(
                    "missing `data \"coder_parameter\"` for {}",
                    missing.join(", ")
                ),
            );
        }
    }

    fn check_pvcs(&mut self, sources: &[Source]) {
        let mut home_class_seen = false;
        for (src, block) in blocks_of(sources, "resource", PVC_KINDS) {
            let spec = first(&block.body, "spec").map(|s| &s.body);
            let span = spec
                .and_then(|s| s.get_attribute("storage_class_name"))
                .and_then(|a| a.span())
                .or_else(|| block.span());
            let name = label(block, 1);
            match lit_str(spec, "storage_class_name") {
                Lit::Value(HOME_STORAGE_CLASS) => home_class_seen = true,
                Lit::Value(other) => self.at(
                    src,
                    span,
                    Rule::HomeVolume,
                    Severity::Error,
                    format!("PVC `{name}` uses StorageClass `{other}`, which no kapstan cluster has; use `{HOME_STORAGE_CLASS}`"),
                ),
                Lit::Absent => self.at(
                    src,
                    span,
                    Rule::HomeVolume,
                    Severity::Error,
                    format!("PVC `{name}` sets no storage_class_name; set `{HOME_STORAGE_CLASS}` rather than rely on the cluster default"),
                ),
                Lit::Expr => self.at(
                    src,
                    span,
                    Rule::HomeVolume,
                    Severity::Warning,
                    format!("PVC `{name}`: storage_class_name is an expression; cannot verify it is `{HOME_STORAGE_CLASS}`"),
                ),
            }
        }
        if !home_class_seen && !self.findings.iter().any(|f| f.rule == Rule::HomeVolume) {
            self.at(
                &sources[0],
                None,
                Rule::HomeVolume,
                Severity::Error,
                format!("no PersistentVolumeClaim on `{HOME_STORAGE_CLASS}` for {HOME_PATH}: the home directory would be lost on restart"),
            );
        }
    }

    fn check_pod(&mut self, src: &Source, block: &Block) {
        let kind = label(block, 0);
        let address = format!("{kind}.{}", label(block, 1));
        let spec = first(&block.body, "spec");
        let pod_spec = if kind.starts_with("kubernetes_pod") {
            spec
        } else {
            spec.and_then(|s| first(&s.body, "template"))
                .and_then(|t| first(&t.body, "spec"))
        };
        let Some(pod_spec) = pod_spec else {
            self.at(
                src,
                block.span(),
                Rule::WorkspacePod,
                Severity::Error,
                format!("{address} has no pod spec"),
            );
            return;
        };
        let pod = &pod_spec.body;
        let pod_sc = first(pod, "security_context").map(|b| &b.body);
        let pod_ctx = PodContext {
            non_root: lit_bool(pod_sc, "run_as_non_root"),
            uid: lit_int(pod_sc, "run_as_user"),
            seccomp: seccomp_type(pod_sc),
        };
        for key in ["host_network", "host_pid", "host_ipc"] {
            self.forbid_true(
                src,
                pod,
                key,
                &address,
                "Pod Security restricted forbids host namespaces",
            );
        }
        for v in pod.get_blocks("volume") {
            if v.body.has_blocks("host_path") {
                self.at(
                    src,
                    v.span(),
                    Rule::PodSecurity,
                    Severity::Error,
                    format!("{address}: hostPath volumes are forbidden by Pod Security restricted"),
                );
            }
        }
        if pod.has_blocks("dynamic") {
            self.at(
                src,
                pod_spec.span(),
                Rule::WorkspacePod,
                Severity::Warning,
                format!("{address}: `dynamic` blocks in the pod spec are not checked"),
            );
        }
        let containers: Vec<&Block> = pod
            .get_blocks("container")
            .chain(pod.get_blocks("init_container"))
            .collect();
        if containers.is_empty() {
            self.at(
                src,
                pod_spec.span(),
                Rule::WorkspacePod,
                Severity::Error,
                format!("{address} has no container"),
            );
            return;
        }
        let mut agent_token = false;
        let mut home_volume_name = None;
        for c in &containers {
            self.check_container(src, c, &address, &pod_ctx);
            for env in c.body.get_blocks("env") {
                let text = src.snippet(env.span());
                if text.contains("coder_agent.") && text.contains(".token") {
                    agent_token = true;
                }
            }
            for m in c.body.get_blocks("volume_mount") {
                if let (Lit::Value(HOME_PATH), Lit::Value(name)) = (
                    lit_str(Some(&m.body), "mount_path"),
                    lit_str(Some(&m.body), "name"),
                ) {
                    home_volume_name = Some(name.to_string());
                }
            }
        }
        if !agent_token {
            self.at(src, block.span(), Rule::CoderAgent, Severity::Error, format!("{address}: no container env passes `coder_agent.<name>.token` (CODER_AGENT_TOKEN)"));
        }
        let home_is_pvc = home_volume_name.as_deref().is_some_and(|name| {
            pod.get_blocks("volume").any(|v| {
                matches!(lit_str(Some(&v.body), "name"), Lit::Value(n) if n == name)
                    && v.body.has_blocks("persistent_volume_claim")
            })
        });
        if !home_is_pvc {
            self.at(
                src,
                pod_spec.span(),
                Rule::HomeVolume,
                Severity::Error,
                format!(
                    "{address}: {HOME_PATH} is not mounted from a persistent_volume_claim volume"
                ),
            );
        }
    }

    fn forbid_true(&mut self, src: &Source, body: &Body, key: &str, address: &str, why: &str) {
        let span = body.get_attribute(key).and_then(|a| a.span());
        match lit_bool(Some(body), key) {
            Lit::Value(true) => self.at(
                src,
                span,
                Rule::PodSecurity,
                Severity::Error,
                format!("{address}: {key} = true; {why}"),
            ),
            Lit::Expr => self.at(
                src,
                span,
                Rule::PodSecurity,
                Severity::Warning,
                format!("{address}: {key} is an expression; cannot verify it is false"),
            ),
            _ => {}
        }
    }

    fn check_container(&mut self, src: &Source, c: &Block, address: &str, pod: &PodContext) {
        let name = match lit_str(Some(&c.body), "name") {
            Lit::Value(n) => n.to_string(),
            _ => "?".to_string(),
        };
        let at = ContainerAt {
            who: format!("{address}: container `{name}`"),
            span: c.span(),
        };
        self.check_image_and_limits(src, c, &at);
        let sc_block = first(&c.body, "security_context");
        let sc = sc_block.map(|b| &b.body);
        let sc_span = sc_block.and_then(|b| b.span()).or_else(|| at.span.clone());
        self.check_privileges(src, sc, sc_span.clone(), &at);
        self.check_identity(src, sc, sc_span, pod, &at);
        for port in c.body.get_blocks("port") {
            if port.body.has_attribute("host_port") {
                self.at(
                    src,
                    port.span(),
                    Rule::PodSecurity,
                    Severity::Error,
                    format!(
                        "{}: host_port is forbidden by Pod Security restricted",
                        at.who
                    ),
                );
            }
        }
    }

    fn check_image_and_limits(&mut self, src: &Source, c: &Block, at: &ContainerAt) {
        let (who, c_span) = (&at.who, &at.span);
        let attr_span = |body: Option<&Body>, key: &str| at.attr_span(body, key);
        match lit_str(Some(&c.body), "image") {
            Lit::Absent => self.at(
                src,
                c_span.clone(),
                Rule::Image,
                Severity::Error,
                format!("{who} has no image"),
            ),
            Lit::Value(i) if i.trim().is_empty() => self.at(
                src,
                attr_span(Some(&c.body), "image"),
                Rule::Image,
                Severity::Error,
                format!("{who} has an empty image"),
            ),
            _ => {}
        }

        let resources = first(&c.body, "resources").map(|b| &b.body);
        let mut keys = Vec::new();
        if let Some(limits) = attr(resources, "limits") {
            object_keys(limits, &mut keys);
        }
        let missing: Vec<&str> = ["cpu", "memory"]
            .into_iter()
            .filter(|k| !keys.iter().any(|x| x == k))
            .collect();
        if !missing.is_empty() {
            self.at(
                src,
                attr_span(resources, "limits"),
                Rule::ResourceLimits,
                Severity::Error,
                format!("{who} sets no {} limit", missing.join(" or ")),
            );
        }
    }

    /// Privilege escalation, privileged mode and capabilities, as Pod Security restricted
    /// requires them.
    fn check_privileges(
        &mut self,
        src: &Source,
        sc: Option<&Body>,
        sc_span: Option<Range<usize>>,
        at: &ContainerAt,
    ) {
        let (who, c_span) = (&at.who, &at.span);
        let attr_span = |body: Option<&Body>, key: &str| at.attr_span(body, key);
        if sc.is_none() {
            self.at(src, c_span.clone(), Rule::PodSecurity, Severity::Error, format!("{who} has no security_context (Pod Security restricted needs allow_privilege_escalation = false and capabilities.drop = [\"ALL\"])"));
        }
        match lit_bool(sc, "allow_privilege_escalation") {
            Lit::Value(false) => {}
            Lit::Value(true) => self.at(
                src,
                attr_span(sc, "allow_privilege_escalation"),
                Rule::PodSecurity,
                Severity::Error,
                format!("{who}: allow_privilege_escalation must be false"),
            ),
            Lit::Absent if sc.is_some() => self.at(
                src,
                sc_span.clone(),
                Rule::PodSecurity,
                Severity::Error,
                format!("{who}: allow_privilege_escalation must be set to false"),
            ),
            Lit::Absent => {}
            Lit::Expr => self.at(
                src,
                attr_span(sc, "allow_privilege_escalation"),
                Rule::PodSecurity,
                Severity::Warning,
                format!(
                    "{who}: allow_privilege_escalation is an expression; cannot verify it is false"
                ),
            ),
        }
        if let Some(body) = sc {
            self.forbid_true(
                src,
                body,
                "privileged",
                who,
                "Pod Security restricted forbids privileged containers",
            );
        }
        let caps = sc.and_then(|b| first(b, "capabilities")).map(|b| &b.body);
        match lit_strings(caps, "drop") {
            Lit::Value(d) if d.iter().any(|x| x == "ALL") => {}
            Lit::Expr => self.at(
                src,
                attr_span(caps, "drop"),
                Rule::PodSecurity,
                Severity::Warning,
                format!("{who}: capabilities.drop is an expression; cannot verify it drops ALL"),
            ),
            _ if sc.is_some() => self.at(
                src,
                attr_span(caps, "drop").or(sc_span.clone()),
                Rule::PodSecurity,
                Severity::Error,
                format!("{who}: capabilities.drop must contain \"ALL\""),
            ),
            _ => {}
        }
        if let Lit::Value(added) = lit_strings(caps, "add") {
            let bad: Vec<&str> = added
                .iter()
                .map(String::as_str)
                .filter(|c| *c != "NET_BIND_SERVICE")
                .collect();
            if !bad.is_empty() {
                self.at(
                    src,
                    attr_span(caps, "add"),
                    Rule::PodSecurity,
                    Severity::Error,
                    format!(
                        "{who}: capabilities.add may only contain NET_BIND_SERVICE, found {}",
                        bad.join(", ")
                    ),
                );
            }
        }
    }

    /// Non-root user and seccomp profile, the container's own settings over the pod's.
    fn check_identity(
        &mut self,
        src: &Source,
        sc: Option<&Body>,
        sc_span: Option<Range<usize>>,
        pod: &PodContext,
        at: &ContainerAt,
    ) {
        let who = &at.who;
        let attr_span = |body: Option<&Body>, key: &str| at.attr_span(body, key);
        // Container settings override the pod's, so the container's literal wins.
        match (lit_bool(sc, "run_as_non_root"), &pod.non_root) {
            (Lit::Value(true), _) | (Lit::Absent, Lit::Value(true)) => {}
            (Lit::Value(false), _) | (Lit::Absent, Lit::Value(false)) => self.at(
                src,
                attr_span(sc, "run_as_non_root"),
                Rule::PodSecurity,
                Severity::Error,
                format!("{who}: run_as_non_root must be true"),
            ),
            (Lit::Expr, _) | (Lit::Absent, Lit::Expr) => self.at(
                src,
                sc_span.clone(),
                Rule::PodSecurity,
                Severity::Warning,
                format!("{who}: run_as_non_root is an expression; cannot verify it is true"),
            ),
            (Lit::Absent, Lit::Absent) => self.at(
                src,
                sc_span.clone(),
                Rule::PodSecurity,
                Severity::Error,
                format!(
                    "{who}: run_as_non_root must be true in the pod or container security_context"
                ),
            ),
        }
        match (lit_int(sc, "run_as_user"), &pod.uid) {
            (Lit::Value(0), _) | (Lit::Absent, Lit::Value(0)) => self.at(src, attr_span(sc, "run_as_user"), Rule::PodSecurity, Severity::Error, format!("{who}: run_as_user must not be 0 (root)")),
            (Lit::Value(_), _) | (Lit::Absent, Lit::Value(_)) => {}
            (Lit::Expr, _) | (Lit::Absent, Lit::Expr) => self.at(src, sc_span.clone(), Rule::PodSecurity, Severity::Warning, format!("{who}: run_as_user is an expression; cannot verify it is non-zero")),
            (Lit::Absent, Lit::Absent) => self.at(src, sc_span.clone(), Rule::PodSecurity, Severity::Error, format!("{who}: set run_as_user to the image's non-root uid (1000 for codercom/enterprise-base)")),
        }
        let own = seccomp_type(sc);
        let effective = if matches!(own, Lit::Absent) {
            &pod.seccomp
        } else {
            &own
        };
        match effective {
            Lit::Value(t) if t == "RuntimeDefault" || t == "Localhost" => {}
            Lit::Value(t) => self.at(src, sc_span.clone(), Rule::PodSecurity, Severity::Error, format!("{who}: seccomp_profile type `{t}` is not allowed; use RuntimeDefault")),
            Lit::Expr => self.at(src, sc_span.clone(), Rule::PodSecurity, Severity::Warning, format!("{who}: seccomp_profile type is an expression; cannot verify it is RuntimeDefault")),
            Lit::Absent => self.at(src, sc_span.clone(), Rule::PodSecurity, Severity::Error, format!("{who}: seccomp_profile {{ type = \"RuntimeDefault\" }} is required in the pod or container security_context")),
        }
    }
}

/// Where a container's findings point: its name for messages, its span as the fallback line.
struct ContainerAt {
    who: String,
    span: Option<Range<usize>>,
}

impl ContainerAt {
    /// The span of `key` in `body`, or the container's.
    fn attr_span(&self, body: Option<&Body>, key: &str) -> Option<Range<usize>> {
        body.and_then(|b| b.get_attribute(key))
            .and_then(|a| a.span())
            .or_else(|| self.span.clone())
    }
}

/// Pod-level security settings that containers inherit.
struct PodContext {
    non_root: Lit<bool>,
    uid: Lit<i64>,
    seccomp: Lit<String>,
}

fn seccomp_type(sc: Option<&Body>) -> Lit<String> {
    match sc.and_then(|b| first(b, "seccomp_profile")) {
        None => Lit::Absent,
        Some(p) => match lit_str(Some(&p.body), "type") {
            Lit::Value(t) => Lit::Value(t.to_string()),
            Lit::Absent => Lit::Absent,
            Lit::Expr => Lit::Expr,
        },
    }
}
