//! Renders the reference of every Scaleway kind (fields, roles, replacement, sensitivity) from
//! the driver schemas, as committed in `docs/reference/scaleway.md`.

use std::sync::Arc;

use kapstan_engine::{Registry, Role};

use super::{ScalewayProvider, register_with};

/// The Markdown reference of the Scaleway kinds, generated from their schemas.
pub fn reference_markdown() -> String {
    let mut registry = Registry::new();
    register_with(&mut registry, Arc::new(ScalewayProvider::default()));
    let mut out = String::from(
        "# Scaleway resource kinds\n\n\
         Generated from the driver schemas by `kapstan_providers::scaleway::reference::reference_markdown`\n\
         (the test `scaleway_reference_doc_is_current` checks this file; set `KAPSTAN_UPDATE_DOCS=1` to\n\
         regenerate it).\n\n\
         Every kind that takes tags also carries `kapstan-stack=<stack>` and `kapstan-addr=<address>`;\n\
         after a crash or a lost response kapstan adopts the one object carrying both. *Replaces*\n\
         means a change of the field destroys and recreates the object; other arguments are updated\n\
         in place. Sensitive values never appear in plans, logs or errors and are sealed in state.\n",
    );
    for kind in registry.kinds().filter(|k| k.starts_with("scaleway_")) {
        let schema = registry.get(kind).expect("registered").schema();
        out.push_str(&format!("\n## `{kind}`\n\n| Field | Role | Replaces | Sensitive | Description |\n|---|---|---|---|---|\n"));
        out.push_str("| `id` | computed | | | provider id |\n");
        for f in &schema.fields {
            let role = match f.role {
                Role::Required => "required",
                Role::Optional => "optional",
                Role::OptionalComputed => "optional, computed",
                Role::Computed => "computed",
            };
            out.push_str(&format!(
                "| `{}` | {role} | {} | {} | {} |\n",
                f.name,
                if f.force_new { "yes" } else { "" },
                if f.sensitive { "yes" } else { "" },
                f.description.replace('|', "\\|")
            ));
        }
    }
    out
}
