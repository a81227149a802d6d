//! Tidying a caption's text after decoding.
//!
//! Grounded decoding (`grounding`) can put the subject where the decoder had planned
//! another word, after the article it chose for that word: "a" before "animal". The
//! caption's text gets "an" before a vowel sound (a vowel letter, save the "u" of
//! "unit" or "user", the "eu" of "european" and the "o" of "one"; the silent "h" of
//! "hour"), and "a" where "an" meets a consonant. `lightcap.text.agree_articles` is
//! the same rule in Python.

/// The caption text with its indefinite articles agreeing with the next word.
pub(crate) fn agree_articles(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let mut out = Vec::with_capacity(words.len());
    for (i, &word) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or("");
        let fixed = match word {
            "a" if starts_with_vowel_sound(next) => "an",
            "an" if !next.is_empty() && !starts_with_vowel_sound(next) => "a",
            "A" if starts_with_vowel_sound(next) => "An",
            "An" if !next.is_empty() && !starts_with_vowel_sound(next) => "A",
            _ => word,
        };
        out.push(fixed);
    }
    out.join(" ")
}

fn starts_with_vowel_sound(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    let Some(first) = lower.chars().next() else {
        return false;
    };
    match first {
        'a' | 'i' => true,
        // "european", "eulogy": a "y" sound.
        'e' => !lower.starts_with("eu"),
        // "one", "once": a "w" sound.
        'o' => !lower.starts_with("one") && !lower.starts_with("once"),
        // "unit", "user", "utensil", "uniform": a "y" sound.
        'u' => !["uni", "use", "usu", "ute", "uti", "ura", "uro"]
            .iter()
            .any(|p| lower.starts_with(p)),
        // "hour", "honest": a silent h.
        'h' => {
            lower.starts_with("hour") || lower.starts_with("honest") || lower.starts_with("honour")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::agree_articles;

    #[test]
    fn articles_agree_with_the_next_word() {
        assert_eq!(
            agree_articles("a photo of a animal"),
            "a photo of an animal"
        );
        assert_eq!(agree_articles("an dog and an owl"), "a dog and an owl");
        assert_eq!(
            agree_articles("A apple on a umbrella"),
            "An apple on an umbrella"
        );
        assert_eq!(
            agree_articles("a unicorn, a one-way sign, an hour"),
            "a unicorn, a one-way sign, an hour"
        );
        assert_eq!(agree_articles("a uniform"), "a uniform");
        assert_eq!(agree_articles("an european city"), "a european city");
        // A last word has nothing to agree with; other text is left as it is.
        assert_eq!(agree_articles("there is a"), "there is a");
        assert_eq!(agree_articles(""), "");
        assert_eq!(agree_articles("two  spaces"), "two  spaces");
    }
}
