//! `notification.read`: mark the caller's notifications read up to an id (`{up_to}`).

use serde::Deserialize;
use serde_json::Value;

use crate::core::ApiError;
use crate::service::{store_error, App, Principal};

use super::notification_list::parse_id;
use super::{Command, Done, Ids};

/// Marks notifications with id ≤ `up_to` read and pushes the new unread count.
#[derive(Debug)]
pub struct NotificationRead {
    pub up_to: u64,
}

/// `{up_to}`: a notification id (decimal digits; a JSON number is accepted too).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpTo {
    pub up_to: Value,
}

impl Command for NotificationRead {
    const METHOD: &'static str = "notification.read";
    const IDS: &'static [&'static str] = &[];
    type Body = UpTo;
    type Output = Done;

    fn parse(_: Ids, body: UpTo) -> Result<Self, ApiError> {
        Ok(Self {
            up_to: parse_id(&body.up_to, "up_to")?,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Done, ApiError> {
        let unread = app
            .store
            .mark_read(&caller.user.id, self.up_to)
            .await
            .map_err(store_error)?;
        app.notify.unread(&caller.user.id, unread);
        Ok(Done)
    }
}
