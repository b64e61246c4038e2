//! `notification.list`: the caller's notifications after an id, or (an
//! extension) the page before one, newest first (`{after?}` or `{before}`
//! → `{notifications, unread}`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::{ApiError, Notification};
use crate::service::{store_error, App, Principal};

use super::{Command, Ids};

/// At most this many notifications per answer.
const PAGE: usize = 100;

/// Lists notifications with id > `after`, or with id < `before` (the
/// list's older pages), at most 100, and the unread count.
#[derive(Debug)]
pub struct NotificationList {
    pub after: u64,
    /// Set: the page older than this id instead.
    pub before: Option<u64>,
}

/// `{after?}` or `{before}`: a notification id (decimal digits; a JSON
/// number is accepted too).
#[derive(Debug, Default, Deserialize)]
pub struct After {
    #[serde(default)]
    pub after: Option<Value>,
    #[serde(default)]
    pub before: Option<Value>,
}

/// `{notifications, unread}`.
#[derive(Debug, Serialize)]
pub struct Notifications {
    pub notifications: Vec<Notification>,
    pub unread: u64,
}

/// A notification id from a string of decimal digits or a JSON number.
///
/// # Errors
/// `bad_request` naming `field`.
pub fn parse_id(v: &Value, field: &str) -> Result<u64, ApiError> {
    let parsed = match v {
        Value::String(s) => s.trim().parse::<u64>().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        ApiError::bad_request(format!(
            "{field} must be a notification id (decimal digits)"
        ))
        .with_details(serde_json::json!({"field": field}))
    })
}

impl Command for NotificationList {
    const METHOD: &'static str = "notification.list";
    const IDS: &'static [&'static str] = &[];
    type Body = After;
    type Output = Notifications;

    fn parse(_: Ids, body: After) -> Result<Self, ApiError> {
        let after = match body.after {
            None => 0,
            Some(Value::String(s)) if s.is_empty() => 0,
            Some(v) => parse_id(&v, "after")?,
        };
        let before = match body.before {
            None => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(v) => Some(parse_id(&v, "before")?),
        };
        if before.is_some() && after > 0 {
            return Err(
                ApiError::bad_request("after and before cannot be used together")
                    .with_details(serde_json::json!({"field": "before"})),
            );
        }
        Ok(Self { after, before })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Notifications, ApiError> {
        let found = match self.before {
            Some(before) => {
                app.store
                    .notifications_before(&caller.user.id, before, PAGE)
                    .await
            }
            None => {
                app.store
                    .notifications(&caller.user.id, self.after, PAGE, false)
                    .await
            }
        };
        let notifications = found.map_err(store_error)?;
        let unread = app
            .store
            .unread_count(&caller.user.id)
            .await
            .map_err(store_error)?;
        Ok(Notifications {
            notifications,
            unread,
        })
    }
}
