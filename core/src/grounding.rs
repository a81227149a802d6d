//! Grounded decoding: the caption says what the image's concepts say.
//!
//! A pack whose manifest has `concepts.grounding` ties the caption to the vision graph's
//! concepts. When the first concept's score reaches `subject_score`, that concept is the
//! caption's subject: its name must appear, and neither [SEP] nor another object word
//! may come first. The name is started where the decoder's own best token is an object
//! word, a banned token, [SEP] or a content word that is no lead-in ("photo", "group")
//! (the subject takes the place of what the decoder would have said), or when the
//! caption is about to run out of room; a started name is continued. After the subject (or when there is none) a word is banned when none
//! of its concepts is among the first `supported_top`. Outside a forced step, an object
//! word or a `once` word the caption has said is not said again.
//!
//! The rules are those of the Python reference (`Grounding` in
//! `scripts/lightcap/grounding.py`), step for step: the parity tests compare token
//! sequences, so a change here is a change there too.

use std::sync::Arc;

use crate::manifest::GroundingSpec;
use crate::vocabulary::DecoderVocabulary;

/// A pack's grounding tables in decoder ids, built once at load.
#[derive(Debug, Clone)]
pub(crate) struct GroundingTables {
    subject_score: f32,
    supported_top: usize,
    /// Each concept's name; `None` where the decoder lacks one of its tokens (the
    /// concept cannot be a subject).
    names: Vec<Option<Vec<u32>>>,
    /// Each word the decoder has, ascending, with the concepts that allow it (all of
    /// its entries' concepts, should the manifest list a word twice).
    words: Vec<(u32, Vec<u32>)>,
    /// The word tokens alone, ascending (shared with every image's `Grounding`).
    word_ids: Arc<[u32]>,
    /// Words said at most once (the `once` words and every object word), ascending.
    once: Arc<[u32]>,
    /// Tokens the search never generates, ascending: where the decoder's best token is
    /// one of them, an object was coming.
    never_generate: Arc<[u32]>,
    /// Content words that may come before the subject, ascending.
    lead_in: Arc<[u32]>,
    sep: u32,
}

/// One image's grounding (its subject and banned words), applied to every beam's row.
#[derive(Debug, Clone)]
pub(crate) struct Grounding {
    /// The subject's name (T); `None`: no subject, every step is past it.
    subject: Option<Vec<u32>>,
    /// Every word token (W), ascending.
    words: Arc<[u32]>,
    /// Said at most once, ascending.
    once: Arc<[u32]>,
    /// Banned tokens of the search, ascending.
    never_generate: Arc<[u32]>,
    /// May come before the subject, ascending.
    lead_in: Arc<[u32]>,
    sep: u32,
    /// Banned until the subject is out: [SEP] and every word but the subject's first token.
    before_subject: Vec<u32>,
    /// Banned after the subject: words no supported concept allows (U).
    unsupported: Vec<u32>,
}

/// What grounding does to one beam's row at one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Only this token may come next, at the model's own log-prob (`force`).
    Force(u32),
    /// The subject is still to come: no [SEP], no other word.
    Unmet,
    /// The subject is out, or there is none: no unsupported or repeated word.
    Met,
}

impl GroundingTables {
    /// Tokenizer ids to decoder ids, as `never_generate` is translated: a word the
    /// decoder lacks is dropped, a name with a token the decoder lacks is unusable.
    pub fn new(
        spec: &GroundingSpec,
        vocabulary: &DecoderVocabulary,
        never_generate: &[u32],
    ) -> Self {
        let names = (spec.names.iter())
            .map(|name| name.iter().map(|&t| vocabulary.to_decoder(t)).collect())
            .collect();
        // The manifest's validation guarantees a token and at least one concept.
        let mut words: Vec<(u32, Vec<u32>)> = (spec.words.iter())
            .filter_map(|entry| Some((vocabulary.to_decoder(entry[0])?, entry[1..].to_vec())))
            .collect();
        words.sort_by_key(|&(word, _)| word);
        words.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1.append(&mut later.1);
            }
            same
        });
        let mut once: Vec<u32> = (spec.once.iter())
            .filter_map(|&t| vocabulary.to_decoder(t))
            .chain(words.iter().map(|&(word, _)| word))
            .collect();
        once.sort_unstable();
        once.dedup();
        let mut never_generate = never_generate.to_vec();
        never_generate.sort_unstable();
        let mut lead_in: Vec<u32> = (spec.lead_in.iter())
            .filter_map(|&t| vocabulary.to_decoder(t))
            .collect();
        lead_in.sort_unstable();
        GroundingTables {
            subject_score: spec.subject_score,
            supported_top: spec.supported_top,
            names,
            word_ids: words.iter().map(|&(word, _)| word).collect(),
            words,
            once: once.into(),
            never_generate: never_generate.into(),
            lead_in: lead_in.into(),
            sep: vocabulary.sep,
        }
    }

    /// The grounding for an image whose vision graph gave these concepts (ids and
    /// scores, best first).
    pub fn for_image(&self, concept_ids: &[u32], concept_scores: &[f32]) -> Grounding {
        let supported = &concept_ids[..self.supported_top.min(concept_ids.len())];
        // A NaN score is not sure.
        let subject = match (concept_ids.first(), concept_scores.first()) {
            (Some(&id), Some(&score)) if score >= self.subject_score => {
                self.names.get(id as usize).cloned().flatten()
            }
            _ => None,
        };
        let lead = subject.as_ref().map(|name| name[0]);
        let before_subject = (self.word_ids.iter().copied())
            .filter(|&word| Some(word) != lead)
            .chain([self.sep])
            .collect();
        let unsupported = (self.words.iter())
            .filter(|(_, concepts)| !concepts.iter().any(|c| supported.contains(c)))
            .map(|&(word, _)| word)
            .collect();
        Grounding {
            subject,
            words: Arc::clone(&self.word_ids),
            once: Arc::clone(&self.once),
            never_generate: Arc::clone(&self.never_generate),
            lead_in: Arc::clone(&self.lead_in),
            sep: self.sep,
            before_subject,
            unsupported,
        }
    }
}

impl Grounding {
    /// The rule for the beam that generated `tokens` ([CLS] excluded) when step
    /// `tokens.len()` of at most `max_length` comes next and the model scored `row`.
    pub fn rule(&self, tokens: &[u32], max_length: usize, row: &[f32]) -> Rule {
        let Some(subject) = &self.subject else {
            return Rule::Met;
        };
        if tokens
            .windows(subject.len())
            .any(|run| run == subject.as_slice())
        {
            return Rule::Met;
        }
        // A started name is finished, from its longest start the caption ends with.
        if let Some(j) = (1..subject.len())
            .rev()
            .find(|&j| tokens.ends_with(&subject[..j]))
        {
            return Rule::Force(subject[j]);
        }
        if max_length.saturating_sub(tokens.len()) <= subject.len() {
            return Rule::Force(subject[0]);
        }
        // Where the decoder would name an object, say a content word that is no lead-in,
        // or stop, the subject goes.
        let best = first_max(row);
        let has = |list: &[u32]| list.binary_search(&best).is_ok();
        if best == self.sep
            || has(&self.words)
            || has(&self.never_generate)
            || (has(&self.once) && !has(&self.lead_in))
        {
            return Rule::Force(subject[0]);
        }
        Rule::Unmet
    }

    /// Bans what `rule` bans in a row the search's other constraints have been applied
    /// to. `Rule::Force` is not for this row: it takes the model's row (`force`).
    pub fn mask(&self, rule: Rule, row: &mut [f32], tokens: &[u32]) {
        let ban = |row: &mut [f32], id: u32| row[id as usize] = f32::NEG_INFINITY;
        match rule {
            Rule::Force(_) => debug_assert!(false, "a forced token takes the model's row"),
            Rule::Unmet => self.before_subject.iter().for_each(|&id| ban(row, id)),
            Rule::Met => self.unsupported.iter().for_each(|&id| ban(row, id)),
        }
        // No word of `once` (objects included) said twice.
        for &id in tokens {
            if self.once.binary_search(&id).is_ok() {
                ban(row, id);
            }
        }
    }
}

/// The index of the row's first maximum, a NaN counting as impossible (0 when every
/// entry is): numpy's argmax over the row with NaNs made -inf.
fn first_max(row: &[f32]) -> u32 {
    let mut best = 0;
    let mut best_value = f32::NEG_INFINITY;
    for (i, &v) in row.iter().enumerate() {
        if v > best_value {
            best = i;
            best_value = v;
        }
    }
    best as u32
}

/// Leaves `token` the only choice in the model's row, at the model's own log-prob (none
/// of the search's other constraints apply; a NaN is still impossible).
pub(crate) fn force(row: &mut [f32], token: u32) {
    let kept = row[token as usize];
    row.fill(f32::NEG_INFINITY);
    if !kept.is_nan() {
        row[token as usize] = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::TokenizerSpec;

    const NEG: f32 = f32::NEG_INFINITY;

    /// Twenty tokens ([SEP] is 3, never generated: 0 and 1); concepts 0..4 named
    /// [10, 11, 12], [13], [14, 14, 15], [16]; words 5 (concept 0), 6 (concepts 1, 2),
    /// 7 (concept 3), 16 (concept 3); 9 and 17 are said at most once, 17 may come
    /// before the subject.
    fn tables(subject_score: f32, supported_top: usize) -> GroundingTables {
        tables_for(subject_score, supported_top, None)
    }

    fn tables_for(
        subject_score: f32,
        supported_top: usize,
        decoder_token_ids: Option<Vec<u32>>,
    ) -> GroundingTables {
        let spec = GroundingSpec {
            subject_score,
            supported_top,
            names: vec![vec![10, 11, 12], vec![13], vec![14, 14, 15], vec![16]],
            words: vec![vec![5, 0], vec![6, 1, 2], vec![7, 3], vec![16, 3]],
            once: vec![9, 17],
            lead_in: vec![17],
        };
        let tokenizer = TokenizerSpec::small_for_tests(20, decoder_token_ids);
        GroundingTables::new(
            &spec,
            &DecoderVocabulary::for_tokenizer(&tokenizer).unwrap(),
            &[0, 1],
        )
    }

    /// A model row whose best token is a plain one (19): no object is coming.
    fn plain() -> Vec<f32> {
        let mut row = vec![-2.0; 20];
        row[19] = -0.5;
        row
    }

    /// A model row whose best token is `best`.
    fn best_is(best: u32) -> Vec<f32> {
        let mut row = vec![-2.0; 20];
        row[best as usize] = -0.1;
        row
    }

    fn banned(row: &[f32]) -> Vec<u32> {
        (0..row.len() as u32)
            .filter(|&i| row[i as usize] == NEG)
            .collect()
    }

    #[test]
    fn a_started_subject_is_continued_from_its_longest_start() {
        let g = tables(0.5, 2).for_image(&[0, 1], &[0.9, 0.2]);
        assert_eq!(g.rule(&[8, 10], 12, &plain()), Rule::Force(11));
        assert_eq!(g.rule(&[10, 11], 12, &plain()), Rule::Force(12));
        assert_eq!(g.rule(&[10, 11, 12], 12, &plain()), Rule::Met);
        assert_eq!(
            g.rule(&[10, 11, 12, 8, 10], 12, &plain()),
            Rule::Met,
            "said once is met"
        );
        // [14, 14, 15]: after one 14 the next is 14; after two, 15 (the longer start).
        let g = tables(0.5, 2).for_image(&[2, 1], &[0.9, 0.2]);
        assert_eq!(g.rule(&[8, 14], 12, &plain()), Rule::Force(14));
        assert_eq!(g.rule(&[14, 14], 12, &plain()), Rule::Force(15));
        assert_eq!(g.rule(&[14, 14, 14], 12, &plain()), Rule::Force(15));
        assert_eq!(
            g.rule(&[14, 8], 12, &plain()),
            Rule::Unmet,
            "a broken start is no start"
        );
    }

    #[test]
    fn the_subject_is_started_when_only_its_length_remains() {
        let g = tables(0.5, 2).for_image(&[0, 1], &[0.9, 0.2]);
        // Three tokens of name, max_length 6: steps 0..=2 are free, step 3 must start it.
        assert_eq!(g.rule(&[8, 8], 6, &plain()), Rule::Unmet);
        assert_eq!(g.rule(&[8, 8, 8], 6, &plain()), Rule::Force(10));
        assert_eq!(g.rule(&[8, 8, 8, 8], 6, &plain()), Rule::Force(10));
        // A one-token name waits until the last step.
        let g = tables(0.5, 2).for_image(&[1, 0], &[0.9, 0.2]);
        assert_eq!(g.rule(&[8, 8, 8, 8], 6, &plain()), Rule::Unmet);
        assert_eq!(g.rule(&[8, 8, 8, 8, 8], 6, &plain()), Rule::Force(13));
    }

    #[test]
    fn the_subject_takes_the_place_of_the_object_the_decoder_would_name() {
        let g = tables(0.5, 2).for_image(&[0, 1], &[0.9, 0.2]);
        // Best a word (5, 16), [SEP] or a never-generated token: the subject starts there.
        for best in [5, 16, 3, 0, 1] {
            assert_eq!(
                g.rule(&[8], 12, &best_is(best)),
                Rule::Force(10),
                "best {best}"
            );
        }
        // Best a content word that is no lead-in (9): the subject goes there too.
        assert_eq!(g.rule(&[8], 12, &best_is(9)), Rule::Force(10));
        // Best a plain word, a lead-in, or the subject's own first token: nothing forced.
        for best in [8, 17, 19, 10] {
            assert_eq!(g.rule(&[8], 12, &best_is(best)), Rule::Unmet, "best {best}");
        }
        // Ties go to the first maximum, NaN is impossible.
        let mut row = best_is(8);
        row[5] = row[8];
        assert_eq!(g.rule(&[8], 12, &row), Rule::Force(10));
        let mut row = best_is(19);
        row[5] = f32::NAN;
        assert_eq!(g.rule(&[8], 12, &row), Rule::Unmet);
    }

    #[test]
    fn once_words_and_objects_are_not_said_twice() {
        let g = tables(0.5, 2).for_image(&[0, 1], &[0.9, 0.2]);
        let mut row = vec![-1.0; 20];
        g.mask(Rule::Unmet, &mut row, &[9, 8]);
        assert_eq!(banned(&row), vec![3, 5, 6, 7, 9, 16]);
        let tokens = [9, 10, 11, 12];
        let mut row = vec![-1.0; 20];
        g.mask(g.rule(&tokens, 12, &plain()), &mut row, &tokens);
        // Unsupported 7 and 16; once 9; the subject's words are not object words here.
        assert_eq!(banned(&row), vec![7, 9, 16]);
    }

    #[test]
    fn a_forced_token_keeps_the_models_log_prob_and_nothing_else_survives() {
        let mut row: Vec<f32> = (0..20).map(|i| -(i as f32) / 10.0).collect();
        force(&mut row, 11);
        assert_eq!(row[11], -1.1);
        assert_eq!(banned(&row).len(), 19);
        let mut row = vec![-1.0; 20];
        row[11] = f32::NAN;
        force(&mut row, 11);
        assert_eq!(banned(&row).len(), 20, "a NaN stays impossible");
    }

    #[test]
    fn before_the_subject_sep_and_other_words_are_banned() {
        let g = tables(0.5, 2).for_image(&[0, 1], &[0.9, 0.2]);
        assert_eq!(g.rule(&[8], 12, &plain()), Rule::Unmet);
        let mut row = vec![-1.0; 20];
        g.mask(Rule::Unmet, &mut row, &[8]);
        // [SEP] and the words 5, 6, 7, 16; the name's first token 10 and plain tokens stay.
        assert_eq!(banned(&row), vec![3, 5, 6, 7, 16]);

        // A name that starts with a word: that word is allowed, the rest are not.
        let g = tables(0.5, 2).for_image(&[3, 1], &[0.9, 0.2]);
        let mut row = vec![-1.0; 20];
        g.mask(g.rule(&[], 12, &plain()), &mut row, &[]);
        assert_eq!(banned(&row), vec![3, 5, 6, 7]);
    }

    #[test]
    fn after_the_subject_unsupported_and_repeated_words_are_banned() {
        // Supported: concepts 0 and 1, so word 5 (concept 0) and 6 (concept 1) are
        // allowed, 7 and 16 (concept 3 only) are not.
        let g = tables(0.5, 2).for_image(&[0, 1, 3], &[0.9, 0.5, 0.4]);
        let tokens = [10, 11, 12];
        assert_eq!(g.rule(&tokens, 12, &plain()), Rule::Met);
        let mut row = vec![-1.0; 20];
        g.mask(Rule::Met, &mut row, &tokens);
        assert_eq!(banned(&row), vec![7, 16]);
        // An object said once is not said again; [SEP] is allowed.
        let tokens = [10, 11, 12, 6, 8];
        let mut row = vec![-1.0; 20];
        g.mask(g.rule(&tokens, 12, &plain()), &mut row, &tokens);
        assert_eq!(banned(&row), vec![6, 7, 16]);
        // supported_top 3 lets concept 3 in.
        let g = tables(0.5, 3).for_image(&[0, 1, 3], &[0.9, 0.5, 0.4]);
        let mut row = vec![-1.0; 20];
        g.mask(Rule::Met, &mut row, &tokens);
        assert_eq!(banned(&row), vec![6]);
    }

    #[test]
    fn no_subject_when_the_best_score_is_not_sure() {
        let g = tables(0.5, 1).for_image(&[0, 1], &[0.49, 0.3]);
        assert_eq!(g.subject, None);
        assert_eq!(
            g.rule(&[], 3, &plain()),
            Rule::Met,
            "nothing forced at the end"
        );
        let mut row = vec![-1.0; 20];
        g.mask(g.rule(&[], 3, &plain()), &mut row, &[]);
        // Only concept 0 is supported: words 6, 7 and 16 are banned at once.
        assert_eq!(banned(&row), vec![6, 7, 16]);
        // The score reaching subject_score exactly is sure.
        let g = tables(0.5, 1).for_image(&[0, 1], &[0.5, 0.3]);
        assert_eq!(g.subject, Some(vec![10, 11, 12]));
        let g = tables(0.5, 1).for_image(&[0, 1], &[f32::NAN, 0.3]);
        assert_eq!(g.subject, None);
    }

    #[test]
    fn a_pruned_decoder_drops_words_and_names_it_lacks() {
        // Decoder ids: 2 3 5 7 10 11 12 13 16 -> 0..=8; it lacks 6, 14 and 15.
        let kept = vec![2, 3, 5, 7, 10, 11, 12, 13, 16];
        let t = tables_for(0.5, 4, Some(kept));
        assert_eq!(t.names[0], Some(vec![4, 5, 6]));
        assert_eq!(t.names[2], None, "[14, 14, 15] is not in the decoder");
        assert_eq!(t.words, vec![(2, vec![0]), (3, vec![3]), (8, vec![3])]);
        let g = t.for_image(&[2, 0], &[0.9, 0.8]);
        assert_eq!(g.subject, None, "an unusable name is no subject");
        let g = t.for_image(&[0, 2], &[0.9, 0.8]);
        assert_eq!(g.subject, Some(vec![4, 5, 6]));
        assert_eq!(g.before_subject, vec![2, 3, 8, 1], "decoder [SEP] is 1");
    }

    #[test]
    fn a_word_listed_twice_is_allowed_by_either_entry() {
        let spec = GroundingSpec {
            subject_score: 0.5,
            supported_top: 1,
            names: vec![vec![10], vec![11]],
            words: vec![vec![5, 0], vec![6, 1], vec![5, 1]],
            once: vec![],
            lead_in: vec![],
        };
        let tokenizer = TokenizerSpec::small_for_tests(20, None);
        let t = GroundingTables::new(
            &spec,
            &DecoderVocabulary::for_tokenizer(&tokenizer).unwrap(),
            &[],
        );
        assert_eq!(t.words, vec![(5, vec![0, 1]), (6, vec![1])]);
        assert!(t.for_image(&[1, 0], &[0.1, 0.1]).unsupported.is_empty());
        assert_eq!(t.for_image(&[0, 1], &[0.1, 0.1]).unsupported, vec![6]);
    }
}
