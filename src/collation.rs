//! Prisma's order of migration folders. Since 6.6 the CLI sorts them with JavaScript's
//! `a.localeCompare(b)` (`packages/migrate/src/utils/listMigrations.ts`): ICU's root collation, not
//! byte order. We follow that order. For printable ASCII it is reproduced exactly here (the table was
//! checked against Node 22 / ICU 78, `en-US`): punctuation and symbols, then digits, then letters;
//! case is ignored first and then lowercase sorts before uppercase; punctuation is *not* ignored.
//! When the order of two names depends on any other character, we cannot be certain of ICU's answer
//! and refuse (exit 3) with both names rather than pick one.

use std::cmp::Ordering;

/// Printable ASCII in ICU root order, letters folded (Node: `[...].sort((a, b) => a.localeCompare(b))`).
const ASCII_ORDER: &str = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz";

/// Primary weight of a printable ASCII character (case-folded); `None` for anything else.
fn primary(c: char) -> Option<usize> {
    let folded = c.to_ascii_lowercase();
    if !(' '..='~').contains(&folded) {
        return None;
    }
    Some(usize::from(PRIMARY_WEIGHTS[folded as usize]))
}

/// [`ASCII_ORDER`] as a table: the position of each ASCII character (a lookup instead of a search on
/// every comparison while sorting).
const PRIMARY_WEIGHTS: [u8; 128] = {
    let order = ASCII_ORDER.as_bytes();
    let mut table = [u8::MAX; 128];
    let mut i = 0;
    while i < order.len() {
        table[order[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Tertiary weight: lowercase (and non-letters) before uppercase.
fn tertiary(c: char) -> usize {
    usize::from(c.is_ascii_uppercase())
}

/// `a.localeCompare(b)` where it is certain; `None` where the answer depends on a character outside
/// printable ASCII.
pub fn locale_compare(a: &str, b: &str) -> Option<Ordering> {
    match compare_level(a, b, primary)? {
        Ordering::Equal => {}
        decided => return Some(decided),
    }
    match compare_level(a, b, |c| primary(c).map(|_| tertiary(c)))? {
        Ordering::Equal => Some(a.cmp(b)),
        decided => Some(decided),
    }
}

/// Compares two names at one collation level. Identical characters compare equal whatever they are;
/// two different characters of which one has no known weight make the result unknown.
fn compare_level(a: &str, b: &str, weight: impl Fn(char) -> Option<usize>) -> Option<Ordering> {
    let mut left = a.chars();
    let mut right = b.chars();
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Some(Ordering::Equal),
            (None, Some(_)) => return Some(Ordering::Less),
            (Some(_), None) => return Some(Ordering::Greater),
            (Some(x), Some(y)) if x == y => continue,
            (Some(x), Some(y)) => match weight(x)?.cmp(&weight(y)?) {
                Ordering::Equal => continue,
                decided => return Some(decided),
            },
        }
    }
}

/// A total order that is Prisma's wherever [`locale_compare`] is certain (for sorting mixed lists,
/// such as local folders and names only found in the database): primary weights (unknown characters
/// after all known ones, by code point), then tertiary weights, then bytes. Compared lazily, without
/// allocating: sorting calls it O(n log n) times (a key of three `Vec`s per call made the no-op deploy
/// of 1,000 migrations spend most of its time in the allocator, 4.5x the instructions under musl).
pub fn cmp_like_prisma(a: &str, b: &str) -> Ordering {
    fn primary_weights(s: &str) -> impl Iterator<Item = u32> + '_ {
        s.chars()
            .map(|c| primary(c).map_or(0x1000 + c as u32, |w| w as u32))
    }
    primary_weights(a)
        .cmp(primary_weights(b))
        .then_with(|| a.chars().map(tertiary).cmp(b.chars().map(tertiary)))
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// Sorts `items` by name in Prisma's order. Fails with the first two neighbours whose order cannot be
/// known for certain.
pub fn sort_like_prisma<T>(
    items: &mut [T],
    name: impl Fn(&T) -> &str,
) -> Result<(), (String, String)> {
    items.sort_by(|a, b| cmp_like_prisma(name(a), name(b)));
    for pair in items.windows(2) {
        let (a, b) = (name(&pair[0]), name(&pair[1]));
        if locale_compare(a, b).is_none() {
            return Err((a.to_string(), b.to_string()));
        }
    }
    Ok(())
}

/// Neighbours in Prisma's order that byte order puts the other way round (prisma-release before
/// this change, and Prisma before 6.6, used byte order).
pub fn byte_order_differences<T>(items: &[T], name: impl Fn(&T) -> &str) -> Vec<(String, String)> {
    items
        .windows(2)
        .filter(|pair| name(&pair[0]).as_bytes() > name(&pair[1]).as_bytes())
        .map(|pair| (name(&pair[0]).to_string(), name(&pair[1]).to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs with Node's `a.localeCompare(b)` (Node 22, ICU 78, en-US), recorded by hand.
    #[test]
    fn matches_node_locale_compare() {
        let cases = [
            ("a-b", "ab", Ordering::Less),
            ("a_b", "ab", Ordering::Less),
            ("ab", "a b", Ordering::Greater),
            ("aB", "Ab", Ordering::Less),
            ("a_b", "A_a", Ordering::Greater),
            ("1_init", "10_x", Ordering::Less),
            ("ab", "aB", Ordering::Less),
            ("a", "A", Ordering::Less),
            ("x-1", "x_1", Ordering::Greater),
            ("ab", "a-c", Ordering::Greater),
            (
                "20240101000000_addUser",
                "20240101000000_add_user",
                Ordering::Greater,
            ),
        ];
        for (a, b, expected) in cases {
            assert_eq!(locale_compare(a, b), Some(expected), "{a} vs {b}");
        }
    }

    /// The order real Prisma 6.19.3 (`migrate deploy`) applied these folders in, measured by hand.
    #[test]
    fn matches_prisma_6_19_deploy_order() {
        let prisma = ["1_init", "10_add", "2_a", "2_A", "3_b", "3-b"];
        let mut names = vec!["3-b", "2_A", "10_add", "3_b", "1_init", "2_a"];
        sort_like_prisma(&mut names, |s| s).unwrap();
        assert_eq!(names, prisma);
    }

    #[test]
    fn non_ascii_decisions_are_uncertain() {
        assert_eq!(locale_compare("20240101_é", "20240101_f"), None);
        assert_eq!(
            locale_compare("20240101_café", "20240102_café"),
            Some(Ordering::Less)
        );
    }

    #[test]
    fn sorts_like_prisma_and_reports_byte_order_differences() {
        let mut names = vec!["10_x", "1_init", "2_b", "2_B"];
        sort_like_prisma(&mut names, |s| s).unwrap();
        assert_eq!(names, ["1_init", "10_x", "2_b", "2_B"]);
        assert_eq!(
            byte_order_differences(&names, |s| s),
            [
                ("1_init".to_string(), "10_x".to_string()),
                ("2_b".to_string(), "2_B".to_string())
            ]
        );
        let mut uncertain = vec!["3_é", "3_f"];
        assert_eq!(
            sort_like_prisma(&mut uncertain, |s| s),
            Err(("3_f".to_string(), "3_é".to_string()))
        );
    }

    #[test]
    fn usual_prisma_names_keep_byte_order() {
        let mut names = vec![
            "20240102000000_b",
            "20240101000000_init",
            "20240101000001_add_posts",
        ];
        let mut bytes = names.clone();
        bytes.sort();
        sort_like_prisma(&mut names, |s| s).unwrap();
        assert_eq!(names, bytes);
    }
}
