//! Coder workspace templates shipped under `stacks/templates/<category>/<name>/`:
//! discovery and a static lint that catches what made the original's templates fail.
//!
//! The lint parses every `.tf` file with the HCL parser of `hcl-rs` (its
//! span-keeping `hcl-edit` layer, so findings carry a line) and checks the rules
//! in [`Rule`]. It reads literals only; a value computed from an expression is
//! reported as a warning when a rule cannot be decided without evaluating it.

mod lint;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use lint::lint;

/// One template directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TemplateInfo {
    /// Category directory, e.g. `backend`.
    pub category: String,
    /// Template directory name, which is also its Coder template name, e.g. `go-fiber`.
    pub name: String,
    /// The template directory.
    pub path: PathBuf,
}

/// The directory of the templates shipped with kapstan (in the source tree).
pub fn shipped_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

/// Lists the templates under `root`, i.e. every `root/<category>/<name>/`
/// directory, sorted by category then name. Unreadable entries are skipped:
/// `lint` reports on what a directory contains, discovery only finds it.
pub fn discover(root: impl AsRef<Path>) -> Vec<TemplateInfo> {
    let mut found = Vec::new();
    for category in subdirs(root.as_ref()) {
        let Some(category_name) = dir_name(&category) else {
            continue;
        };
        for template in subdirs(&category) {
            if let Some(name) = dir_name(&template) {
                found.push(TemplateInfo {
                    category: category_name.clone(),
                    name,
                    path: template,
                });
            }
        }
    }
    found.sort();
    found
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        // Hidden directories (.terraform, .git) are tooling state, not templates.
        .filter(|p| dir_name(p).is_some_and(|n| !n.starts_with('.')))
        .collect()
}

fn dir_name(path: &Path) -> Option<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The rule could not be verified statically; review by hand.
    Warning,
    /// The template is broken or would be rejected by the cluster.
    Error,
}

/// The lint rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The directory holds at least one `.tf` file.
    TfFiles,
    /// Every `.tf` file parses as HCL.
    Parse,
    /// A `coder_agent` resource exists and the workspace container gets its token.
    CoderAgent,
    /// A Kubernetes pod, deployment or stateful set runs the workspace.
    WorkspacePod,
    /// The pod passes Pod Security `restricted`: non-root with a non-zero uid,
    /// `RuntimeDefault` seccomp, no privilege escalation, capabilities dropped,
    /// no privileged/host namespaces/hostPath/hostPort.
    PodSecurity,
    /// Every container sets CPU and memory limits.
    ResourceLimits,
    /// `/home/coder` is a PVC on StorageClass `scw-bssd`, and no other class is used.
    HomeVolume,
    /// Every container names an image.
    Image,
    /// `cpu`, `memory` and `home_disk_size` Coder parameters exist.
    Parameters,
    /// Every `coder_parameter` is used: its value reaches a resource, an app or
    /// a script (an agent environment variable no script reads is a warning).
    UnusedParameter,
    /// Every label key and value of a Kubernetes resource is valid for any
    /// workspace Coder accepts: values at most 63 characters of
    /// `[-A-Za-z0-9_.]`, bounded from the longest Coder names and ids.
    LabelValues,
    /// No deprecated (warning) or removed (error) attribute of the coder provider.
    Deprecated,
}

impl Rule {
    /// The rule's identifier as shown to users (`pod-security`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::TfFiles => "tf-files",
            Rule::Parse => "parse",
            Rule::CoderAgent => "coder-agent",
            Rule::WorkspacePod => "workspace-pod",
            Rule::PodSecurity => "pod-security",
            Rule::ResourceLimits => "resource-limits",
            Rule::HomeVolume => "home-volume",
            Rule::Image => "image",
            Rule::Parameters => "parameters",
            Rule::UnusedParameter => "unused-parameter",
            Rule::LabelValues => "label-values",
            Rule::Deprecated => "deprecated",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintFinding {
    /// The file (or, for directory-level findings, the directory).
    pub file: PathBuf,
    /// 1-based line of the offending block or attribute, when known.
    pub line: Option<usize>,
    /// The rule that failed.
    pub rule: Rule,
    /// What is wrong and how to fix it.
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
}

impl std::fmt::Display for LintFinding {
    /// `file:line: severity[rule]: message`, the shape editors jump to.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.line {
            Some(line) => write!(f, "{}:{line}: ", self.file.display())?,
            None => write!(f, "{}: ", self.file.display())?,
        }
        write!(f, "{severity}[{}]: {}", self.rule, self.message)
    }
}

/// True when any finding is an error.
pub fn has_errors(findings: &[LintFinding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

#[cfg(test)]
mod tests;
