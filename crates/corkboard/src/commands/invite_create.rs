//! `invite.create`: an invite link to a board (`{board, role, username?,
//! expires_in?, single_use?, op?}` → `{token, id, expires_at, single_use}`).

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth;
use crate::core::{model, ApiError, ErrorCode, Role, Timestamp, User};
use crate::service::{store_error, App, Principal};
use crate::store::{InviteCount, NewInvite};

use super::{Command, Ids};

/// Creates an invite (owner only). Naming a user also sends them an
/// `invited` notification carrying the token. The store keeps only the
/// token's hash; a retried `op` answers the first attempt's body again.
#[derive(Debug)]
pub struct InviteCreate {
    pub board: String,
    pub body: InviteBody,
}

/// `{role, username?, expires_in?, single_use?, op?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    pub role: Role,
    #[serde(default)]
    pub username: Option<String>,
    /// Seconds until the link expires (default `--invite-ttl`, at most `--invite-max-ttl`).
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// Only one user may accept the link.
    #[serde(default)]
    pub single_use: bool,
    #[serde(default)]
    pub op: Option<String>,
}

/// `{token, id, expires_at, single_use}`: the token is shown only here.
#[derive(Debug, Serialize, Deserialize)]
pub struct InviteToken {
    pub token: String,
    pub id: String,
    pub expires_at: Timestamp,
    pub single_use: bool,
}

impl Command for InviteCreate {
    const METHOD: &'static str = "invite.create";
    const IDS: &'static [&'static str] = &["board"];
    type Body = InviteBody;
    type Output = InviteToken;

    fn parse(mut ids: Ids, body: InviteBody) -> Result<Self, ApiError> {
        if body.role == Role::Owner {
            return Err(ApiError::bad_request("role must be editor or viewer")
                .with_details(json!({"field": "role"})));
        }
        if let Some(op) = &body.op {
            model::check_client_id("op", op)?;
        }
        Ok(Self {
            board: ids.take(),
            body,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<InviteToken, ApiError> {
        super::invite_list::owner_only(app, caller, &self.board, "creating invites").await?;
        if let Some(op) = &self.body.op {
            if let Some(answer) = replayed(app, &self.board, &caller.user.id, op).await? {
                return Ok(answer);
            }
        }
        let limits = &app.limits;
        let ttl = match self.body.expires_in {
            None => limits.invite_ttl_secs,
            Some(s) if (1..=limits.invite_max_ttl_secs).contains(&s) => s,
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "expires_in must be between 1 and {} seconds",
                    limits.invite_max_ttl_secs
                ))
                .with_details(json!({"field": "expires_in", "limit": limits.invite_max_ttl_secs})))
            }
        };
        let notify = match self.body.username.as_deref() {
            Some(name) => Some(
                app.store
                    .find_user(&name.to_lowercase())
                    .await
                    .map_err(store_error)?
                    .ok_or_else(|| {
                        ApiError::not_found("no user with that username")
                            .with_details(json!({"field": "username"}))
                    })?,
            ),
            None => None,
        };
        let now = app.clock.now();
        check_quotas(app, &caller.user, notify.as_ref(), now).await?;
        let token = auth::new_secret("cbi_");
        let answer = InviteToken {
            id: uuid::Uuid::now_v7().to_string(),
            expires_at: Timestamp(now.0.saturating_add((ttl as i64).saturating_mul(1000))),
            single_use: self.body.single_use,
            token,
        };
        let op = match self.body.op {
            Some(op) => Some((op, encode(&answer)?)),
            None => None,
        };
        let notify_id = notify.as_ref().map(|u| u.id.clone());
        let notified = app
            .store
            .create_invite(NewInvite {
                id: answer.id.clone(),
                token: answer.token.clone(),
                token_hash: auth::hash_secret(&answer.token),
                board: self.board,
                role: self.body.role,
                created_by: caller.user.clone(),
                notify,
                created_at: now,
                expires_at: answer.expires_at,
                single_use: answer.single_use,
                op,
            })
            .await
            .map_err(store_error)?;
        if let (Some(user_id), Some(n)) = (notify_id, notified) {
            app.notify.publish(&user_id, &n);
            crate::service::notifier::push_unread(app, &user_id).await;
        }
        Ok(answer)
    }
}

/// The first answer to this `op`, if the caller already created an invite with it.
async fn replayed(
    app: &App,
    board: &str,
    user_id: &str,
    op: &str,
) -> Result<Option<InviteToken>, ApiError> {
    match app
        .store
        .invite_answer(board, user_id, op)
        .await
        .map_err(store_error)?
    {
        None => Ok(None),
        Some(None) => Err(ApiError::not_found(
            "the invite created with this op has been revoked",
        )),
        Some(Some(json)) => serde_json::from_str(&json).map(Some).map_err(|e| {
            tracing::error!(error = %e, "stored invite answer does not decode");
            ApiError::internal()
        }),
    }
}

fn encode(answer: &InviteToken) -> Result<String, ApiError> {
    serde_json::to_string(answer).map_err(|e| {
        tracing::error!(error = %e, "invite answer encoding failed");
        ApiError::internal()
    })
}

const HOUR_MS: i64 = 3600 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The per-user invite quotas: `--invites-per-hour` over all boards, and
/// `--named-invites-per-day` naming one user (each notifies them).
async fn check_quotas(
    app: &App,
    by: &User,
    target: Option<&User>,
    now: Timestamp,
) -> Result<(), ApiError> {
    let l = &app.limits;
    let mut quotas = vec![(None, HOUR_MS, l.invites_per_hour, "per hour")];
    if let Some(t) = target {
        let per_day = l.named_invites_per_day;
        quotas.push((
            Some(t.id.as_str()),
            DAY_MS,
            per_day,
            "per day naming one user",
        ));
    }
    for (target, window, max, what) in quotas {
        let c = app
            .store
            .invites_since(&by.id, target, Timestamp(now.0 - window))
            .await
            .map_err(store_error)?;
        if let Some(secs) = over(c, max, window, now) {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                format!("at most {max} invites {what}"),
            )
            .with_details(json!({"limit": max, "retry_after": secs})));
        }
    }
    Ok(())
}

/// Seconds until one more invite fits, when `c` already reaches `max` in the window.
fn over(c: InviteCount, max: u64, window: i64, now: Timestamp) -> Option<u64> {
    if c.count < max {
        return None;
    }
    let frees_at = c.oldest.map_or(now.0 + window, |t| t.0 + window);
    Some((((frees_at - now.0).max(1000)) as u64).div_ceil(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under the quota nothing waits; at it, the wait is until the oldest leaves the window.
    #[test]
    fn quota_wait_is_until_the_oldest_leaves_the_window() {
        let now = Timestamp(10 * HOUR_MS);
        let c = |count, oldest: i64| InviteCount {
            count,
            oldest: Some(Timestamp(oldest)),
        };
        assert_eq!(over(c(2, now.0 - 1000), 3, HOUR_MS, now), None);
        assert_eq!(
            over(c(3, now.0 - HOUR_MS + 90_500), 3, HOUR_MS, now),
            Some(91)
        );
        assert_eq!(over(c(3, now.0 - HOUR_MS), 3, HOUR_MS, now), Some(1));
    }
}
