//! DNS name rules shared by the Domains and DNS kinds: host names, labels and relative record
//! names (RFC 1035 §2.3.4 lengths, RFC 952/1123 letters-digits-hyphens, `_` for service labels
//! such as `_acme-challenge`, `*` as a whole leftmost label for wildcards, RFC 4592).

use kapstan_engine::FieldError;

/// Longest name in presentation form without the trailing dot.
pub const MAX_NAME: usize = 253;
/// Longest label.
pub const MAX_LABEL: usize = 63;

/// What is wrong with one label, if anything.
fn label_problem(label: &str) -> Option<String> {
    if label.is_empty() {
        return Some("has an empty label (two dots in a row, or a leading or trailing dot)".into());
    }
    if label.len() > MAX_LABEL {
        return Some(format!(
            "has a label of {} characters ({label:?}); labels are at most {MAX_LABEL}",
            label.len()
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Some(format!(
            "has a label that starts or ends with '-' ({label:?})"
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Some(format!(
            "has the character {c:?} in label {label:?}; use letters, digits, '-' or '_'"
        ));
    }
    None
}

/// A fully qualified domain or zone name without trailing dot (`example.com`,
/// `coder.example.com`): at least two labels.
pub fn check_domain(field: &str, name: &str, errors: &mut Vec<FieldError>) {
    let problem = if name.ends_with('.') {
        Some("ends with a dot".to_string())
    } else if name.len() > MAX_NAME {
        Some(format!(
            "is {} characters long; names are at most {MAX_NAME}",
            name.len()
        ))
    } else if !name.contains('.') {
        Some("is a single label, not a domain".to_string())
    } else if name.chars().any(|c| c.is_ascii_uppercase()) {
        Some("has upper-case letters".to_string())
    } else {
        name.split('.').find_map(label_problem)
    };
    if let Some(p) = problem {
        errors.push(FieldError::new(
            field,
            &format!("{name:?}"),
            &p,
            "use a lower-case domain name such as example.com, without a trailing dot",
        ));
    }
}

/// A record name relative to `zone` (when the zone is known): `""` for the apex, `coder`,
/// `*.coder`, `_acme-challenge.coder`; never the zone's own name or a name ending in a dot.
pub fn check_relative(field: &str, name: &str, zone: Option<&str>, errors: &mut Vec<FieldError>) {
    let shown = format!("{name:?}");
    let push = |errors: &mut Vec<FieldError>, problem: String, fix: String| {
        errors.push(FieldError::new(field, &shown, &problem, &fix));
    };
    if name.is_empty() {
        return;
    }
    if let Some(zone) = zone {
        if name == zone || name == format!("{zone}.") {
            return push(
                errors,
                format!("is the zone's own name; names are relative to the zone {zone}"),
                "use \"\" for the zone apex".into(),
            );
        }
        if let Some(rel) = name
            .strip_suffix('.')
            .unwrap_or(name)
            .strip_suffix(&format!(".{zone}"))
        {
            return push(
                errors,
                format!("ends with the zone {zone}; names are relative to the zone"),
                format!("use {rel:?}"),
            );
        }
    }
    if name.ends_with('.') {
        return push(
            errors,
            "ends with a dot; names are relative to the zone".into(),
            format!("use {:?}", name.trim_end_matches('.')),
        );
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return push(
            errors,
            "has upper-case letters".into(),
            format!("use {:?}", name.to_ascii_lowercase()),
        );
    }
    let labels: Vec<&str> = name.split('.').collect();
    for (i, label) in labels.iter().enumerate() {
        if *label == "*" && i == 0 {
            continue;
        }
        if let Some(p) = label_problem(label) {
            let fix = if label.contains('*') {
                "a wildcard is `*` alone as the first label, e.g. \"*.coder\"".to_string()
            } else {
                "use labels of 1 to 63 letters, digits, '-' or '_'".to_string()
            };
            return push(errors, p, fix);
        }
    }
    let full = zone.map_or(name.len(), |z| name.len() + 1 + z.len());
    if full > MAX_NAME {
        push(
            errors,
            format!("makes a full name of {full} characters; names are at most {MAX_NAME}"),
            "use a shorter name".into(),
        );
    }
}

/// Whether `data` is a host name a record may point at (`target.example.com` or with a
/// trailing dot).
pub fn is_hostname(data: &str) -> bool {
    let d = data.strip_suffix('.').unwrap_or(data);
    !d.is_empty() && d.len() <= MAX_NAME && d.split('.').all(|l| label_problem(l).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(name: &str, zone: Option<&str>) -> Vec<FieldError> {
        let mut e = vec![];
        check_relative("name", name, zone, &mut e);
        e
    }

    #[test]
    fn relative_names() {
        for ok in ["", "coder", "*.coder", "_acme-challenge.coder", "a-b.c_d"] {
            assert!(errs(ok, Some("example.com")).is_empty(), "{ok}");
        }
        let e = errs("coder.example.com", Some("example.com"));
        assert_eq!(e[0].fix, "use \"coder\"");
        assert!(
            errs("example.com", Some("example.com"))[0]
                .problem
                .contains("own name")
        );
        assert!(!errs("coder.", None).is_empty());
        assert!(!errs("a*.coder", None).is_empty());
        assert!(!errs("coder.*", None).is_empty());
        assert!(!errs(&"x".repeat(64), None).is_empty());
        assert!(errs(&"x".repeat(63), None).is_empty());
        assert!(!errs("-bad", None).is_empty());
        assert!(!errs("Coder", None).is_empty());
    }

    #[test]
    fn domains() {
        let check = |n: &str| {
            let mut e = vec![];
            check_domain("domain", n, &mut e);
            e
        };
        assert!(check("example.com").is_empty());
        assert!(!check("example").is_empty());
        assert!(!check("example.com.").is_empty());
        assert!(!check("exa mple.com").is_empty());
        assert!(!check(&format!("{}.com", "a".repeat(64))).is_empty());
    }
}
