//! Typo suggestions for messages: the closest valid word to what the user wrote.

/// Levenshtein distance, for typo suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substituted = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// " (did you mean 'x'?)" for the closest candidate within two edits, or "".
pub fn suggestion(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|&(distance, _)| distance <= 2)
        .min_by_key(|&(distance, _)| distance)
        .map_or(String::new(), |(_, candidate)| format!(" (did you mean '{candidate}'?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("dealy", "delay"), 2);
        assert_eq!(edit_distance("faults", "fault"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn the_closest_word_within_two_edits_is_suggested() {
        assert_eq!(suggestion("dealy", &["delay", "jitter"]), " (did you mean 'delay'?)");
        assert_eq!(suggestion("xyz", &["delay", "jitter"]), "");
    }
}
