//! `search.query`: boards and notes matching words, among the boards the
//! caller belongs to (`{q, limit?}` → `{results}`; REST `GET
//! /api/search?q=…&limit=N`). An extension of the contract.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::search::{snippet, Query};
use crate::core::{ApiError, Board, Color};
use crate::service::{store_error, App, Principal};

use super::{Command, Ids};

/// Results when the caller names no `limit`.
pub const DEFAULT_LIMIT: usize = 20;
/// The largest `limit`.
pub const MAX_LIMIT: usize = 50;

/// Searches the caller's boards (titles) and their live notes (text).
#[derive(Debug)]
pub struct SearchQuery {
    pub query: Query,
    pub limit: usize,
}

/// `{q, limit?}` (`limit`: decimal digits; a JSON number is accepted too).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub q: String,
    #[serde(default)]
    pub limit: Option<Value>,
}

/// `{results}`, best first.
#[derive(Debug, Serialize)]
pub struct Results {
    pub results: Vec<SearchResult>,
}

/// One match: a board whose title matched (no `note`), or a note of it.
#[derive(Debug, Serialize)]
pub struct SearchResult {
    pub board: Board,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<ResultNote>,
    /// One line of the matched text (the note's, or the title) around its
    /// first match, at most 160 characters, "…" where it was cut.
    pub snippet: String,
    /// `[start, end)` offsets, in characters, of the words in `snippet`
    /// that matched (for highlighting).
    pub highlights: Vec<[usize; 2]>,
}

/// The matched note: enough to show it and to open the board on it.
#[derive(Debug, Serialize)]
pub struct ResultNote {
    pub id: String,
    pub color: Color,
}

impl Command for SearchQuery {
    const METHOD: &'static str = "search.query";
    const IDS: &'static [&'static str] = &[];
    type Body = Params;
    type Output = Results;

    fn parse(_: Ids, body: Params) -> Result<Self, ApiError> {
        let query = Query::parse(&body.q)?;
        let limit = match &body.limit {
            None => DEFAULT_LIMIT,
            Some(v) => {
                let n = match v {
                    Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                        s.parse::<usize>().ok()
                    }
                    Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
                    _ => None,
                };
                match n {
                    Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "limit must be 1 to {MAX_LIMIT}"
                        ))
                        .with_details(serde_json::json!({"field": "limit"})))
                    }
                }
            }
        };
        Ok(Self { query, limit })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Results, ApiError> {
        let hits = app
            .store
            .search(&caller.user.id, &self.query, self.limit)
            .await
            .map_err(store_error)?;
        let results = hits
            .into_iter()
            .map(|h| {
                let s = snippet(&h.text, &self.query);
                SearchResult {
                    board: h.board,
                    note: h.note.map(|n| ResultNote {
                        id: n.id,
                        color: n.color,
                    }),
                    snippet: s.text,
                    highlights: s.highlights,
                }
            })
            .collect();
        Ok(Results { results })
    }
}
