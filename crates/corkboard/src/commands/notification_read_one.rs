//! `notification.read_one`: mark one of the caller's notifications read
//! (REST `POST /api/notifications/{id}/read` → 204). An extension of the
//! contract, beside `notification.read` (all up to an id).

use crate::core::ApiError;
use crate::service::{store_error, App, Principal};

use super::notification_list::parse_id;
use super::{Command, Done, Empty, Ids};

/// Marks one notification read and pushes the new unread count.
#[derive(Debug)]
pub struct NotificationReadOne {
    pub id: u64,
}

impl Command for NotificationReadOne {
    const METHOD: &'static str = "notification.read_one";
    const IDS: &'static [&'static str] = &["id"];
    type Body = Empty;
    type Output = Done;

    fn parse(mut ids: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self {
            id: parse_id(&serde_json::Value::String(ids.take()), "id")?,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Done, ApiError> {
        let unread = app
            .store
            .mark_one_read(&caller.user.id, self.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("notification not found"))?;
        app.notify.unread(&caller.user.id, unread);
        Ok(Done)
    }
}
