//! Close-spelling suggestions for mistyped names (environments, templates, node types,
//! variables): only a few, and only when they are plausibly what was meant.

/// Edit distance between `a` and `b` (a swap of neighbours counts as one edit, as in
/// `dve` for `dev`), compared case-insensitively.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// At most three `candidates` close to `value`, closest first; none when nothing is close
/// (a third of the length, at least one edit, at most three).
pub fn closest<'a>(value: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = (value.chars().count() / 3).clamp(1, 3);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (distance(value, c), c))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// ` (did you mean `a`?)`, ` (did you mean `a` or `b`?)`, or nothing.
pub fn did_you_mean(value: &str, candidates: &[&str]) -> String {
    let close = closest(value, candidates.iter().copied());
    match close.as_slice() {
        [] => String::new(),
        [one] => format!(" (did you mean `{one}`?)"),
        [init @ .., last] => format!(
            " (did you mean {} or `{last}`?)",
            init.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_far_ones_are_not() {
        assert_eq!(
            closest("go-fibre", ["go-fiber", "rust-actix"]),
            ["go-fiber"]
        );
        assert_eq!(closest("dve", ["dev", "staging", "prod"]), ["dev"]);
        assert_eq!(closest("prd", ["dev", "staging", "prod"]), ["prod"]);
        assert!(closest("qa", ["dev", "staging", "prod"]).is_empty());
        assert_eq!(
            did_you_mean("Dev", &["dev", "prod"]),
            " (did you mean `dev`?)"
        );
        assert_eq!(did_you_mean("zzzzzz", &["dev"]), "");
    }
}
