//! Search queries and result snippets, the same for both stores.
//!
//! A user's query is never handed to the database's query language: it is
//! cut into words (runs of letters and digits; everything else, including
//! `"`, `*`, `-`, `(`, `:` and `'`, only separates words), and each word
//! becomes a quoted prefix term. Every word must match (AND), and a word
//! matches any indexed word that starts with it, so "sti" finds "sticky".
//! The stores render the terms in their own syntax ([`Query::fts5`] for
//! SQLite, [`Query::tsquery`] for PostgreSQL); the snippet shown with a hit
//! is cut and highlighted here, from the matched text, so both stores
//! answer alike.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::ApiError;

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// At most this many words of a query are used (the rest are ignored).
pub const MAX_TERMS: usize = 16;
/// Longest snippet, in characters (ellipses included).
pub const SNIPPET_CHARS: usize = 160;
/// Characters of context kept before the first match in a snippet.
const LEAD_CHARS: usize = 40;

/// A parsed search: its words, folded (lowercase, without diacritics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    terms: Vec<String>,
}

impl Query {
    /// Parses a user's query.
    ///
    /// # Errors
    /// `bad_request` (`details.field` `q`) when it is empty or longer than
    /// [`MAX_QUERY_CHARS`] characters.
    pub fn parse(q: &str) -> Result<Self, ApiError> {
        let n = q.chars().count();
        if q.trim().is_empty() || n > MAX_QUERY_CHARS {
            return Err(ApiError::bad_request(format!(
                "q must be 1 to {MAX_QUERY_CHARS} characters"
            ))
            .with_details(serde_json::json!({"field": "q"})));
        }
        let mut terms: Vec<String> = Vec::new();
        for w in words(q) {
            let t = fold(w.2);
            if !t.is_empty() && !terms.contains(&t) {
                terms.push(t);
            }
            if terms.len() == MAX_TERMS {
                break;
            }
        }
        Ok(Self { terms })
    }

    /// The folded words (empty when the query held no letter or digit:
    /// such a query matches nothing).
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// The query in SQLite FTS5 syntax: each word a quoted phrase with a
    /// prefix star, all of them required (`"sti"* "not"*`).
    pub fn fts5(&self) -> String {
        self.terms
            .iter()
            .map(|t| format!("\"{}\"*", t.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The query as PostgreSQL `to_tsquery` input: each word a quoted
    /// lexeme with prefix matching, all of them required (`'sti':* & 'not':*`).
    pub fn tsquery(&self) -> String {
        self.terms
            .iter()
            .map(|t| format!("'{}':*", t.replace('\\', "\\\\").replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// Whether `word` (any case, any accents) starts with one of the terms.
    fn matches(&self, word: &str) -> bool {
        let w = fold(word);
        self.terms.iter().any(|t| w.starts_with(t.as_str()))
    }
}

/// Lowercase, without combining marks (diacritics), like FTS5's
/// `unicode61 remove_diacritics 2` and PostgreSQL's `unaccent` (migrations).
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words of `s`: `(start, end, word)` with character offsets.
fn words(s: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None; // (char index, byte index)
    let mut ci = 0;
    for (bi, c) in s.char_indices() {
        let word_char = c.is_alphanumeric() || is_combining_mark(c);
        match (word_char, start) {
            (true, None) => start = Some((ci, bi)),
            (false, Some((sc, sb))) => {
                out.push((sc, ci, &s[sb..bi]));
                start = None;
            }
            _ => {}
        }
        ci += 1;
    }
    if let Some((sc, sb)) = start {
        out.push((sc, ci, &s[sb..]));
    }
    out
}

/// A piece of text around its first match, one line, at most
/// [`SNIPPET_CHARS`] characters, with the matching words' `[start, end)`
/// character offsets (into the snippet) to highlight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<[usize; 2]>,
}

/// Cuts `text`'s snippet for `q` (from its start when no word matches,
/// e.g. a hit found by a part of a word the database split differently).
pub fn snippet(text: &str, q: &Query) -> Snippet {
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let flat: String = chars.iter().collect();
    let ws = words(&flat);
    let hits: Vec<(usize, usize)> = ws
        .iter()
        .filter(|w| q.matches(w.2))
        .map(|w| (w.0, w.1))
        .collect();
    let mut from = hits.first().map_or(0, |h| h.0.saturating_sub(LEAD_CHARS));
    // Start at a word boundary when cutting.
    if from > 0 {
        if let Some(w) = ws.iter().find(|w| w.0 >= from) {
            from = w.0;
        }
    }
    let lead = if from > 0 { "…" } else { "" };
    let room = SNIPPET_CHARS - lead.chars().count();
    let mut to = (from + room).min(chars.len());
    let tail = if to < chars.len() {
        to -= 1;
        "…"
    } else {
        ""
    };
    let body: String = chars[from..to].iter().collect();
    let shift = lead.chars().count();
    let highlights = hits
        .iter()
        .filter(|h| h.0 >= from && h.0 < to)
        .map(|h| [h.0 - from + shift, h.1.min(to) - from + shift])
        .collect();
    Snippet {
        text: format!("{lead}{}{tail}", body.trim_end()),
        highlights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ErrorCode;

    fn q(s: &str) -> Query {
        Query::parse(s).unwrap()
    }

    #[test]
    fn queries_are_words_never_syntax() {
        assert_eq!(q("sti").fts5(), "\"sti\"*");
        assert_eq!(
            q("\"a\" * NEAR(b c) -d").fts5(),
            "\"a\"* \"near\"* \"b\"* \"c\"* \"d\"*"
        );
        assert_eq!(
            q("O'Brien: x|y & !z").tsquery(),
            "'o':* & 'brien':* & 'x':* & 'y':* & 'z':*"
        );
        assert_eq!(q("Crème BRÛLÉE").terms(), ["creme", "brulee"]);
        assert_eq!(q("日本語 ok ok").terms(), ["日本語", "ok"]);
        assert!(q("\"*\" - ()").terms().is_empty());
        let many = (0..40)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(q(&many).terms().len(), MAX_TERMS);
    }

    #[test]
    fn empty_and_long_queries_are_refused() {
        for bad in ["", "   ", &"x".repeat(201)] {
            let e = Query::parse(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadRequest, "{bad:?}");
        }
        assert!(
            Query::parse(&"é".repeat(200)).is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn snippets_highlight_prefix_matches_ignoring_case_and_accents() {
        let s = snippet("A Sticky note\nabout the café", &q("sti cafe"));
        assert_eq!(s.text, "A Sticky note about the café");
        assert_eq!(s.highlights, vec![[2, 8], [24, 28]]);
        let none = snippet("nothing here", &q("zebra"));
        assert_eq!(
            (none.text.as_str(), none.highlights.len()),
            ("nothing here", 0)
        );
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let text = format!(
            "{} zebra crossing {}",
            "lorem ipsum ".repeat(30),
            "dolor ".repeat(40)
        );
        let s = snippet(&text, &q("zebr"));
        assert!(
            s.text.starts_with('…') && s.text.ends_with('…'),
            "{}",
            s.text
        );
        assert!(s.text.chars().count() <= SNIPPET_CHARS);
        let [a, b] = s.highlights[0];
        let hl: String = s.text.chars().skip(a).take(b - a).collect();
        assert_eq!(hl, "zebra");
    }
}
