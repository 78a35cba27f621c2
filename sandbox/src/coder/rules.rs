//! Coder's input rules, restated from `codersdk/name.go` and the password strength estimate
//! that `coderd/userpassword` delegates to (go-password-validator, 52 bits), as summarised in
//! `reference/coder-api-real.md` §4. Each function returns the validation detail Coder sends,
//! or `None` when the value is accepted.

/// Names of users and templates: `^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$`, 1–32 characters, not
/// `new` or `create`.
pub fn name(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("Validation failed for tag \"required\" with value: \"\"".into());
    }
    if value.chars().count() > 32 {
        return Some(format!(
            "Validation failed for tag \"username\" with value: {value:?}"
        ));
    }
    let groups_ok = value
        .split('-')
        .all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_alphanumeric()));
    if !groups_ok || value == "new" || value == "create" {
        return Some(format!(
            "Validation failed for tag \"username\" with value: {value:?}"
        ));
    }
    None
}

/// Display names: at most 64 characters, no leading or trailing space.
pub fn display_name(value: &str) -> Option<String> {
    if value.chars().count() > 64 || value.trim() != value {
        return Some(format!(
            "Validation failed for tag \"template_display_name\" with value: {value:?}"
        ));
    }
    None
}

/// Template descriptions: under 128 bytes.
pub fn description(value: &str) -> Option<String> {
    (value.len() >= 128).then(|| "Validation failed for tag \"lt\" with value".to_string())
}

/// Passwords: at most 64 characters and at least 52 bits of estimated entropy.
pub fn password(value: &str) -> Option<String> {
    if value.chars().count() > 64 {
        return Some("password must be no more than 64 characters".into());
    }
    let bits = entropy_bits(value);
    if bits < 52.0 {
        return Some(format!(
            "insecure password, try including more special characters, using uppercase letters, using numbers or using a longer password (estimated {bits:.0} bits, 52 needed)"
        ));
    }
    None
}

/// The estimate: `log2(base) × length`, where `base` sums the sizes of the character classes
/// present (`!@$&*` 5, `_-., ` 5, other punctuation 22, lower 26, upper 26, digits 10, plus 1
/// per character of no class) and `length` counts each distinct character at most twice.
pub fn entropy_bits(value: &str) -> f64 {
    const CLASSES: [&str; 6] = [
        "!@$&*",
        "_-., ",
        "\"#%'()+/:;<=>?[\\]^{|}~",
        "abcdefghijklmnopqrstuvwxyz",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
    ];
    let mut counts = std::collections::BTreeMap::<char, usize>::new();
    for c in value.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let mut present = [false; CLASSES.len()];
    let mut base = 0usize;
    for c in counts.keys() {
        match CLASSES.iter().position(|class| class.contains(*c)) {
            Some(i) => present[i] = true,
            None => base += 1,
        }
    }
    for (i, class) in CLASSES.iter().enumerate() {
        if present[i] {
            base += class.chars().count();
        }
    }
    let length: usize = counts.values().map(|n| (*n).min(2)).sum();
    if base == 0 {
        return 0.0;
    }
    (base as f64).log2() * length as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_codersdk() {
        for ok in ["admin", "a", "my-template-2", "A1-b2-C3"] {
            assert_eq!(name(ok), None, "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "a_b",
            "new",
            "create",
            "é",
            &"a".repeat(33),
        ] {
            assert!(name(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn entropy_matches_the_estimate() {
        // 8 distinct lowercase letters: 8 × log2(26) ≈ 37.6 bits.
        assert!((entropy_bits("abcdefgh") - 8.0 * 26f64.log2()).abs() < 1e-9);
        // Repeats count at most twice.
        assert_eq!(entropy_bits("aaaa"), entropy_bits("aa"));
        assert!(password("password1").is_some());
        // 11 counted characters over 36 symbols: about 56.9 bits, enough for the estimate.
        assert!(password("password123").is_none());
        assert!(password("correct-horse-battery-staple").is_none());
        assert!(password(&"aB3$".repeat(17)).is_some(), "too long");
    }
}
