//! The gRPC door (`proto/corkboard/v1/corkboard.proto`), served on the main
//! listener beside HTTP: h2c with prior knowledge on plain TCP, h2 through
//! ALPN under TLS, and gRPC-Web (HTTP/1.1 or h2) for browsers. Also
//! `grpc.health.v1.Health` (tied to `/readyz`) and server reflection.
//!
//! A thin adapter like the others: it authenticates the `authorization:
//! Bearer` metadata, turns each request into a command of the registry
//! ([`calls`]), and streams from the same hub as WebSocket and SSE
//! ([`feed`], [`subscribe`], [`connect`]). Errors go through one table
//! ([`status`]) to gRPC codes with the `corkboard-error-code` trailer.

mod calls;
mod codec;
mod connect;
mod convert;
mod feed;
pub mod pb;
mod status;
mod subscribe;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tonic::{Request, Response, Status, Streaming};

use crate::core::ApiError;
use crate::gateway::HttpState;
use crate::service::Principal;
use crate::telemetry;
use feed::FrameDecoder;
use subscribe::Updates;
use tracing::Instrument as _;

pub use status::ERROR_CODE_TRAILER;

/// The `Corkboard` service.
#[derive(Clone)]
pub struct Door {
    s: Arc<HttpState>,
    decoder: Arc<FrameDecoder>,
}

impl Door {
    /// The caller, from `authorization: Bearer <token>`.
    async fn caller<T>(&self, req: &Request<T>) -> Result<Principal, Status> {
        let secret = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                err(ApiError::unauthorized(
                    "send `authorization: Bearer <api token>` metadata",
                ))
            })?;
        self.s.app.authenticate(secret).await.map_err(err)
    }
}

fn err(e: ApiError) -> Status {
    status::status(&e)
}

fn reply<T>(r: Result<T, ApiError>) -> Result<Response<T>, Status> {
    r.map(Response::new).map_err(err)
}

#[tonic::async_trait]
impl pb::server::corkboard_server::Corkboard for Door {
    async fn list_boards(
        &self,
        req: Request<pb::ListBoardsRequest>,
    ) -> Result<Response<pb::ListBoardsResponse>, Status> {
        async {
            let p = self.caller(&req).await?;
            reply(calls::list_boards(&self.s.app, &p).await)
        }
        .instrument(telemetry::request_span("grpc", "ListBoards"))
        .await
    }

    async fn get_board(
        &self,
        req: Request<pb::GetBoardRequest>,
    ) -> Result<Response<pb::BoardSnapshot>, Status> {
        async {
            let p = self.caller(&req).await?;
            reply(calls::get_board(&self.s.app, &p, req.into_inner()).await)
        }
        .instrument(telemetry::request_span("grpc", "GetBoard"))
        .await
    }

    async fn create_note(
        &self,
        req: Request<pb::CreateNoteRequest>,
    ) -> Result<Response<pb::NoteResult>, Status> {
        async {
            let p = self.caller(&req).await?;
            reply(calls::create_note(&self.s.app, &p, req.into_inner()).await)
        }
        .instrument(telemetry::request_span("grpc", "CreateNote"))
        .await
    }

    async fn update_note(
        &self,
        req: Request<pb::UpdateNoteRequest>,
    ) -> Result<Response<pb::NoteResult>, Status> {
        async {
            let p = self.caller(&req).await?;
            reply(calls::update_note(&self.s.app, &p, req.into_inner()).await)
        }
        .instrument(telemetry::request_span("grpc", "UpdateNote"))
        .await
    }

    async fn delete_note(
        &self,
        req: Request<pb::DeleteNoteRequest>,
    ) -> Result<Response<pb::DeleteNoteResult>, Status> {
        async {
            let p = self.caller(&req).await?;
            reply(calls::delete_note(&self.s.app, &p, req.into_inner()).await)
        }
        .instrument(telemetry::request_span("grpc", "DeleteNote"))
        .await
    }

    type SubscribeStream = Updates<wire::EncodedUpdate>;

    async fn subscribe(
        &self,
        req: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let p = self.caller(&req).await?;
        reply(subscribe::board(&self.s, &self.decoder, p, req.into_inner()).await)
    }

    type ConnectStream = Updates<pb::server::ServerMessage>;

    async fn connect(
        &self,
        req: Request<Streaming<pb::ClientMessage>>,
    ) -> Result<Response<Self::ConnectStream>, Status> {
        let p = self.caller(&req).await?;
        reply(connect::start(&self.s, &self.decoder, p, req.into_inner()))
    }

    type NotificationsStream = Updates<pb::NotificationUpdate>;

    async fn notifications(
        &self,
        req: Request<pb::NotificationsRequest>,
    ) -> Result<Response<Self::NotificationsStream>, Status> {
        let p = self.caller(&req).await?;
        reply(subscribe::notifications(
            &self.s,
            &self.decoder,
            p,
            req.into_inner(),
        ))
    }
}

/// Whether a request is gRPC (or gRPC-Web), by its content type.
pub fn is_grpc(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// The answer to a gRPC call of a service this server does not have:
/// UNIMPLEMENTED with the `unknown_method` trailer, as for an unknown
/// method of a known service (not an HTTP 404 a gRPC client cannot read).
pub fn unknown_service(path: &str) -> axum::response::Response {
    let e = ApiError::new(
        crate::core::ErrorCode::UnknownMethod,
        format!("no gRPC method {path}"),
    );
    let mut res = status::status(&e).into_http::<axum::body::Body>();
    res.headers_mut().insert(
        "grpc-status",
        axum::http::HeaderValue::from(tonic::Code::Unimplemented as i32),
    );
    res
}

/// How often gRPC health follows `/readyz`.
const HEALTH_INTERVAL: Duration = Duration::from_secs(2);

/// Adds the gRPC services to the router: `corkboard.v1.Corkboard`, health,
/// reflection (v1 and v1alpha), each also reachable as gRPC-Web.
pub fn routes(router: Router<Arc<HttpState>>, s: &Arc<HttpState>) -> Router<Arc<HttpState>> {
    let door = Door {
        s: s.clone(),
        decoder: Arc::new(FrameDecoder::default()),
    };
    let corkboard = pb::server::corkboard_server::CorkboardServer::new(door)
        .max_decoding_message_size(s.grpc.max_message)
        .max_encoding_message_size(usize::MAX);
    let (reporter, health) = tonic_health::server::health_reporter();
    s.tracker.spawn(follow_readiness(s.clone(), reporter));
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let router = add(add(router, corkboard), health);
    match (reflection().build_v1(), reflection().build_v1alpha()) {
        (Ok(v1), Ok(v1alpha)) => add(add(router, v1), v1alpha),
        (Err(e), _) | (_, Err(e)) => {
            // The descriptor sets are compiled in: this would be a build bug.
            tracing::error!(error = %e, "gRPC reflection is unavailable");
            router
        }
    }
}

/// Routes `/{Service}/*` to a gRPC service, with gRPC-Web and the status
/// normalization of [`status::normalize`].
fn add<S>(router: Router<Arc<HttpState>>, svc: S) -> Router<Arc<HttpState>>
where
    S: tower::Service<
            axum::http::Request<tonic::body::Body>,
            Response = axum::http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + tonic::server::NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let path = format!("/{}/{{*rest}}", S::NAME);
    let svc = tower::ServiceBuilder::new()
        .map_request(|req: axum::http::Request<axum::body::Body>| req.map(tonic::body::Body::new))
        .layer(tonic_web::GrpcWebLayer::new())
        .map_response(normalize_response)
        .service(svc);
    router.route_service(&path, svc)
}

/// Gives the statuses tonic answers by itself (trailers-only responses:
/// a request that did not decode, one over the size limit) the contract's
/// gRPC code and trailer.
fn normalize_response(
    mut res: axum::http::Response<tonic::body::Body>,
) -> axum::http::Response<tonic::body::Body> {
    let h = res.headers_mut();
    let Some(code) = h
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return res;
    };
    let has_trailer = h.contains_key(ERROR_CODE_TRAILER);
    if let Some((c, ours)) = status::normalize(tonic::Code::from(code), has_trailer) {
        h.insert("grpc-status", axum::http::HeaderValue::from(c as i32));
        h.insert(
            ERROR_CODE_TRAILER,
            axum::http::HeaderValue::from_static(ours.as_str()),
        );
    }
    res
}

/// Keeps gRPC health in step with `/readyz`: SERVING while ready,
/// NOT_SERVING when the store or Redis is down, and from shutdown on.
async fn follow_readiness(s: Arc<HttpState>, reporter: tonic_health::server::HealthReporter) {
    use tonic_health::ServingStatus;
    let services = ["", "corkboard.v1.Corkboard"];
    let mut last = None;
    loop {
        let now = if crate::gateway::readiness(&s).await.is_ok() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if last != Some(now) {
            for name in services {
                reporter.set_service_status(name, now).await;
            }
            last = Some(now);
        }
        tokio::select! {
            _ = tokio::time::sleep(HEALTH_INTERVAL) => {}
            _ = s.shutdown.cancelled() => {
                for name in services {
                    reporter.set_service_status(name, ServingStatus::NotServing).await;
                }
                return;
            }
        }
    }
}
