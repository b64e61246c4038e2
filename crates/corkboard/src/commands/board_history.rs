//! `board.history`: the board as it was right after event `seq`
//! (`{board, seq}` → `{board, notes, seq}`; REST `GET
//! /api/boards/{b}/history?seq=S`). Any member may read it, viewers too.

use serde::Deserialize;
use serde_json::Value;

use crate::core::ApiError;
use crate::service::{store_error, App, Principal};
use crate::store::Snapshot;

use super::{Command, Ids};

/// Rebuilds the board at one position of its log.
#[derive(Debug)]
pub struct BoardHistory {
    pub board: String,
    pub seq: u64,
}

/// `{seq}`: a position in the board's log (decimal digits; a JSON number is accepted too).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct At {
    #[serde(default)]
    pub seq: Option<Value>,
}

/// A position from a string of decimal digits or a non-negative JSON integer.
///
/// # Errors
/// `bad_request` naming `field` for anything else (a sign, a fraction, text).
pub fn parse_seq(v: &Value, field: &str) -> Result<u64, ApiError> {
    let parsed = match v {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u64>().ok()
        }
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        ApiError::bad_request(format!(
            "{field} must be a position in the board's log (a non-negative integer)"
        ))
        .with_details(serde_json::json!({"field": field}))
    })
}

impl Command for BoardHistory {
    const METHOD: &'static str = "board.history";
    const IDS: &'static [&'static str] = &["board"];
    type Body = At;
    type Output = Snapshot;

    fn parse(mut ids: Ids, body: At) -> Result<Self, ApiError> {
        let seq = match body.seq {
            Some(v) => parse_seq(&v, "seq")?,
            None => {
                return Err(ApiError::bad_request("seq is required")
                    .with_details(serde_json::json!({"field": "seq"})))
            }
        };
        Ok(Self {
            board: ids.take(),
            seq,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Snapshot, ApiError> {
        app.store
            .history(&self.board, &caller.user.id, self.seq)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("board not found"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::from_json;
    use crate::core::ErrorCode;
    use serde_json::json;

    #[test]
    fn seq_must_be_a_non_negative_integer() {
        for (v, want) in [(json!("0"), 0), (json!("17"), 17), (json!(42), 42)] {
            let c: BoardHistory = from_json(json!({"board": "b", "seq": v})).unwrap();
            assert_eq!((c.board.as_str(), c.seq), ("b", want));
        }
        for bad in [
            json!({"board": "b"}),
            json!({"board": "b", "seq": -1}),
            json!({"board": "b", "seq": "-1"}),
            json!({"board": "b", "seq": "+1"}),
            json!({"board": "b", "seq": 1.5}),
            json!({"board": "b", "seq": "x"}),
            json!({"board": "b", "seq": ""}),
            json!({"board": "b", "seq": null}),
            json!({"board": "b", "seq": "99999999999999999999999"}),
        ] {
            let e = from_json::<BoardHistory>(bad.clone()).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadRequest, "{bad}");
            assert_eq!(e.details.unwrap()["field"], "seq", "{bad}");
        }
        let extra = from_json::<BoardHistory>(json!({"board": "b", "seq": 1, "x": 1}));
        assert_eq!(extra.unwrap_err().code, ErrorCode::BadRequest);
    }
}
