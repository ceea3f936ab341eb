//! Near matches of names: the carrier a user probably meant when the name given is unknown.

/// Edits at most that make a name a near match of another.
pub const NEAR_MATCH_EDITS_MAX: usize = 2;

/// The candidate `name` most likely stands for: the nearest by edit distance (Levenshtein, over
/// characters, ignoring case), if at most [`NEAR_MATCH_EDITS_MAX`] edits away; the first
/// candidate in order among the nearest. `None` when no candidate is that near, or when `name`
/// itself is a candidate.
///
/// # Example
/// ```
/// use reckon_core::spelling::near_match;
/// assert_eq!(near_match("BOREALIS", ["acme", "borealis"]), Some("borealis"));
/// assert_eq!(near_match("acmee", ["acme", "borealis"]), Some("acme"));
/// assert_eq!(near_match("no-such-carrier", ["acme", "borealis"]), None);
/// ```
pub fn near_match<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name_folded: Vec<char> = name.to_lowercase().chars().collect();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == name {
            return None;
        }
        let candidate_folded: Vec<char> = candidate.to_lowercase().chars().collect();
        let distance = edit_distance(&name_folded, &candidate_folded);
        if distance <= NEAR_MATCH_EDITS_MAX && best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Levenshtein distance: insertions, deletions and substitutions of one character each.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (row, a_char) in a.iter().enumerate() {
        current[0] = row + 1;
        for (column, b_char) in b.iter().enumerate() {
            let substitution = previous[column] + usize::from(a_char != b_char);
            current[column + 1] = substitution.min(previous[column + 1] + 1).min(current[column] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        let distance = |a: &str, b: &str| edit_distance(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>());
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("acme", "acme"), 0);
        assert_eq!(distance("acme", "acne"), 1);
        assert_eq!(distance("acme", "acm"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }

    /// Issue 11, item 4: `BOREALIS` for `borealis` names the carrier meant.
    #[test]
    fn near_matches_ignore_case_and_allow_two_edits() {
        let carriers = ["acme", "borealis"];
        assert_eq!(near_match("BOREALIS", carriers), Some("borealis"));
        assert_eq!(near_match("borealsi", carriers), Some("borealis")); // 2 substitutions
        assert_eq!(near_match("bor", carriers), None); // 5 deletions away
        assert_eq!(near_match("no-such-carrier", carriers), None);
        assert_eq!(near_match("acme", carriers), None); // known: nothing to suggest
                                                        // The nearest wins over an earlier, farther one.
        assert_eq!(near_match("acmf", ["acxx", "acme"]), Some("acme"));
    }
}
