//! `board.history_events`: a page of the board's whole log, for activity
//! lists (`{board, after?, limit?}` → `{events, seq}`; REST `GET
//! /api/boards/{b}/history/events?after=S&limit=N`). Unlike resume, it
//! reaches back to the board's first event. Any member may read it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::ApiError;
use crate::service::{store_error, App, Principal};

use super::board_history::parse_seq;
use super::{Command, Ids};

/// Events per page when the caller names no `limit`.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest `limit`.
pub const MAX_LIMIT: usize = 1000;

/// Reads the events after `after`, at most `limit`.
#[derive(Debug)]
pub struct BoardHistoryEvents {
    pub board: String,
    pub after: u64,
    pub limit: usize,
}

/// `{after?, limit?}` (decimal digits; JSON numbers are accepted too).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    #[serde(default)]
    pub after: Option<Value>,
    #[serde(default)]
    pub limit: Option<Value>,
}

/// `{events, seq}`: the events as stored (each an Event) and the board's current seq.
#[derive(Debug, Serialize)]
pub struct HistoryPage {
    pub events: Vec<Value>,
    pub seq: u64,
}

impl Command for BoardHistoryEvents {
    const METHOD: &'static str = "board.history_events";
    const IDS: &'static [&'static str] = &["board"];
    type Body = Page;
    type Output = HistoryPage;

    fn parse(mut ids: Ids, body: Page) -> Result<Self, ApiError> {
        let after = match &body.after {
            None => 0,
            Some(v) => parse_seq(v, "after")?,
        };
        let limit = match &body.limit {
            None => DEFAULT_LIMIT as u64,
            Some(v) => parse_seq(v, "limit")?,
        };
        if limit == 0 || limit > MAX_LIMIT as u64 {
            return Err(
                ApiError::bad_request(format!("limit must be from 1 to {MAX_LIMIT}"))
                    .with_details(serde_json::json!({"field": "limit", "max": MAX_LIMIT})),
            );
        }
        Ok(Self {
            board: ids.take(),
            after,
            limit: limit as usize,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<HistoryPage, ApiError> {
        let page = app
            .store
            .history_events(&self.board, &caller.user.id, self.after, self.limit)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("board not found"))?;
        let events = page
            .events
            .into_iter()
            .map(|b| serde_json::from_slice(&b))
            .collect::<Result<Vec<Value>, _>>()
            .map_err(|e| {
                tracing::error!(board = %self.board, "stored event: {e}");
                ApiError::internal()
            })?;
        Ok(HistoryPage {
            events,
            seq: page.seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::from_json;
    use crate::core::ErrorCode;
    use serde_json::json;

    #[test]
    fn after_and_limit_default_and_are_checked() {
        let c: BoardHistoryEvents = from_json(json!({"board": "b"})).unwrap();
        assert_eq!((c.after, c.limit), (0, DEFAULT_LIMIT));
        let c: BoardHistoryEvents =
            from_json(json!({"board": "b", "after": "5", "limit": 1000})).unwrap();
        assert_eq!((c.after, c.limit), (5, 1000));
        for (bad, field) in [
            (json!({"board": "b", "after": -1}), "after"),
            (json!({"board": "b", "after": "1e3"}), "after"),
            (json!({"board": "b", "limit": 0}), "limit"),
            (json!({"board": "b", "limit": 1001}), "limit"),
            (json!({"board": "b", "limit": "ten"}), "limit"),
        ] {
            let e = from_json::<BoardHistoryEvents>(bad.clone()).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadRequest, "{bad}");
            assert_eq!(e.details.unwrap()["field"], field, "{bad}");
        }
    }
}
