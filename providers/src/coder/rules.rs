//! What Coder accepts, checked before any call so a bad value is reported with its field and
//! a fix instead of a 400 halfway through an apply: names of users and templates, display
//! names, template descriptions, emails and passwords (`reference/coder-api-real.md` §4).

use kapstan_engine::FieldError;

/// Longest user or template name.
pub const NAME_MAX: usize = 32;
/// Longest display name.
pub const DISPLAY_NAME_MAX: usize = 64;
/// Template descriptions must be shorter than this many bytes.
pub const DESCRIPTION_LIMIT: usize = 128;
/// Longest password.
pub const PASSWORD_MAX: usize = 64;
/// Least estimated password entropy, in bits.
pub const PASSWORD_MIN_BITS: f64 = 52.0;

/// One of the rules below, applied to a config field.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rule {
    /// [`check_name`], the name of a `what`.
    Name(&'static str),
    /// [`check_display_name`].
    DisplayName,
    /// [`check_description`].
    Description,
    /// [`check_password`].
    Password,
    /// [`check_email`].
    Email,
}

/// Adds to `errors` what `rules` find in the string fields of `config` they name (fields that
/// are absent or not yet known are skipped), in order.
pub(crate) fn check_config(
    config: &serde_json::Value,
    rules: &[(&str, Rule)],
    errors: &mut Vec<FieldError>,
) {
    errors.extend(rules.iter().filter_map(|&(field, rule)| {
        let value = config[field].as_str()?;
        match rule {
            Rule::Name(what) => check_name(field, value, what),
            Rule::DisplayName => check_display_name(field, value),
            Rule::Description => check_description(field, value),
            Rule::Password => check_password(field, value),
            Rule::Email => check_email(field, value),
        }
    }));
}

/// A user or template name: letters and digits in groups joined by single hyphens, 1–32
/// characters, not `new` or `create`.
pub fn check_name(field: &str, value: &str, what: &str) -> Option<FieldError> {
    let shaped = !value.is_empty()
        && value.len() <= NAME_MAX
        && value
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()));
    let reserved = matches!(value, "new" | "create");
    if shaped && !reserved {
        return None;
    }
    let problem = if reserved {
        format!("is reserved by Coder and cannot be a {what}")
    } else {
        format!("is not a valid Coder {what}")
    };
    Some(FieldError::new(
        field,
        &format!("{value:?}"),
        &problem,
        "use 1–32 ASCII letters and digits, optionally in groups joined by single '-' (no '_', no leading, trailing or double '-'), other than \"new\" or \"create\"",
    ))
}

/// A display name: at most 64 characters, no leading or trailing space.
pub fn check_display_name(field: &str, value: &str) -> Option<FieldError> {
    if value.chars().count() <= DISPLAY_NAME_MAX && value.trim() == value {
        return None;
    }
    Some(FieldError::new(
        field,
        &format!("{value:?}"),
        "is not a valid Coder display name",
        "use at most 64 characters without leading or trailing spaces",
    ))
}

/// A template description: under 128 bytes.
pub fn check_description(field: &str, value: &str) -> Option<FieldError> {
    if value.len() < DESCRIPTION_LIMIT {
        return None;
    }
    Some(FieldError::new(
        field,
        &format!("({} bytes)", value.len()),
        "is too long for Coder",
        "shorten the description to fewer than 128 bytes",
    ))
}

/// An email address: it holds an `@` (Coder checks the rest).
pub fn check_email(field: &str, value: &str) -> Option<FieldError> {
    if value.contains('@') {
        return None;
    }
    Some(FieldError::new(
        field,
        &format!("{value:?}"),
        "is not an email address",
        "use user@example.com",
    ))
}

/// A password: at most 64 characters and at least 52 bits by Coder's estimate. The value is
/// never echoed.
pub fn check_password(field: &str, value: &str) -> Option<FieldError> {
    let length = value.chars().count();
    if length > PASSWORD_MAX {
        return Some(FieldError::new(
            field,
            "(sensitive value)",
            &format!("is {length} characters long; Coder accepts at most 64"),
            "use a password of at most 64 characters (e.g. a random_password of length 24)",
        ));
    }
    let bits = estimated_bits(value);
    if bits < PASSWORD_MIN_BITS {
        return Some(FieldError::new(
            field,
            "(sensitive value)",
            &format!("is too weak for Coder (about {bits:.0} bits of entropy, 52 needed)"),
            "use a longer password mixing lower and upper case, digits and symbols (e.g. a random_password of length 24)",
        ));
    }
    None
}

/// A group of symbols (membership test, size).
type SymbolGroup = (fn(char) -> bool, usize);

/// Coder's strength estimate (go-password-validator): the bits of `pool^length`, where the
/// pool adds up the symbol groups the password draws from and the length counts every distinct
/// character at most twice.
pub fn estimated_bits(password: &str) -> f64 {
    // Groups of symbols and their sizes; a character outside them adds one to the pool.
    let groups: [SymbolGroup; 6] = [
        (|c| "!@$&*".contains(c), 5),
        (|c| "_-., ".contains(c), 5),
        (|c| "\"#%'()+/:;<=>?[\\]^{|}~".contains(c), 22),
        (|c| c.is_ascii_lowercase(), 26),
        (|c| c.is_ascii_uppercase(), 26),
        (|c| c.is_ascii_digit(), 10),
    ];
    let mut distinct: Vec<(char, usize)> = vec![];
    for c in password.chars() {
        match distinct.iter_mut().find(|(d, _)| *d == c) {
            Some((_, n)) => *n += 1,
            None => distinct.push((c, 1)),
        }
    }
    let mut used = [false; 6];
    let mut pool = 0usize;
    for (c, _) in &distinct {
        match groups.iter().position(|(is, _)| is(*c)) {
            Some(g) => used[g] = true,
            None => pool += 1,
        }
    }
    pool += groups
        .iter()
        .zip(used)
        .filter(|(_, u)| *u)
        .map(|((_, size), _)| size)
        .sum::<usize>();
    let counted: usize = distinct.iter().map(|(_, n)| (*n).min(2)).sum();
    if pool == 0 {
        0.0
    } else {
        counted as f64 * (pool as f64).log2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords() {
        assert!(check_name("name", "python-django-crewai", "template name").is_none());
        for bad in [
            "my_template",
            "new",
            "-x",
            "x-",
            "a--b",
            "",
            &"a".repeat(33),
        ] {
            assert!(check_name("name", bad, "template name").is_some(), "{bad}");
        }
        assert!(check_display_name("d", " x").is_some());
        assert!(check_description("d", &"x".repeat(128)).is_some());
        assert!(check_description("d", &"x".repeat(127)).is_none());
        let weak = check_password("password", "password1").unwrap();
        assert!(!weak.to_string().contains("password1"));
        assert!(check_password("password", "Kx7#mQ2$vL9@pR4!").is_none());
        assert!(check_password("password", &"Ab1$".repeat(17)).is_some());
    }
}
