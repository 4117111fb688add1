//! Live updates over server-sent events, and the notifications inbox.
//!
//! `GET /events` streams the events the caller may see (`?topics=incident,task` to narrow);
//! after a dropped connection the browser resends `Last-Event-ID` and the stream resumes from
//! the store, so no event is lost. `GET /public/events` carries public events only (no login).
//! Events are named `topic.kind` (`incident.level`); with `?name=topic` they are named by their
//! topic alone (`incident`), for a page that refreshes on anything of a topic whatever the kind.

use crate::error::ApiError;
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::stream::Stream;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tongxin_app::live::visible;
use tongxin_domain::Actor;
use tongxin_store::events::EventRow;
use utoipa::ToSchema;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(events))
        .route("/public/events", get(public_events))
        .route("/api/v1/notifications", get(list_notifications))
        .route("/api/v1/notifications/{id}/read", post(mark_read))
}

#[derive(Debug, Deserialize)]
struct StreamParams {
    topics: Option<String>,
    last_event_id: Option<i64>,
    /// `topic`: name events by topic only.
    name: Option<String>,
}

/// Who may see what on a stream.
#[derive(Clone)]
enum Viewer {
    Actor(Box<Actor>),
    Public,
}

impl Viewer {
    fn sees(&self, e: &EventRow) -> bool {
        match self {
            Viewer::Actor(a) => visible(a, e),
            Viewer::Public => e.public,
        }
    }
}

fn to_sse(e: &EventRow, by_topic: bool) -> Event {
    Event::default()
        .id(e.id.to_string())
        .event(if by_topic { e.topic.clone() } else { format!("{}.{}", e.topic, e.kind) })
        .data(serde_json::to_string(e).unwrap_or_else(|_| "{}".into()))
}

fn stream(
    st: AppState,
    viewer: Viewer,
    topics: Option<Vec<String>>,
    mut last: i64,
    by_topic: bool,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let wanted = move |e: &EventRow| topics.as_ref().is_none_or(|t| t.iter().any(|x| x == &e.topic));
    async_stream_events(move |yield_tx| async move {
        // Subscribe before reading the backlog so nothing falls between the two.
        let mut rx = st.app.live.subscribe();
        st.app.live.start(st.app.store.clone());
        let mut backlog = true;
        loop {
            if backlog {
                let batch = match st.app.store.events_after(last, 500).await {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(error = %e, "event backlog read failed");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                };
                let n = batch.len();
                for e in batch {
                    last = e.id;
                    if viewer.sees(&e) && wanted(&e) && yield_tx.send(to_sse(&e, by_topic)).await.is_err() {
                        return;
                    }
                }
                backlog = n == 500;
                continue;
            }
            match rx.recv().await {
                Ok(e) if e.id > last => {
                    if e.id > last + 1 {
                        // A gap: events this node has not broadcast to us yet; read them from the store.
                        backlog = true;
                        continue;
                    }
                    last = e.id;
                    if viewer.sees(&e) && wanted(&e) && yield_tx.send(to_sse(&e, by_topic)).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => backlog = true,
                Err(RecvError::Closed) => return,
            }
        }
    })
}

/// Adapts a producer task writing into a channel into a stream (no extra macro crate).
fn async_stream_events<F, Fut>(f: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(256);
    tokio::spawn(f(tx));
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) })
}

fn last_id(headers: &HeaderMap, p: &StreamParams, st_last: i64) -> i64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or(p.last_event_id)
        .unwrap_or(st_last)
}

fn topics_of(p: &StreamParams) -> Option<Vec<String>> {
    p.topics.as_deref().filter(|t| !t.is_empty()).map(|t| t.split(',').map(|s| s.trim().to_string()).collect())
}

async fn events(State(st): State<AppState>, u: ApiUser, headers: HeaderMap, Query(p): Query<StreamParams>) -> Response {
    // A fresh connection starts at "now"; a resumed one at its Last-Event-ID.
    let now = st.app.store.events_last_id().await.unwrap_or(0);
    let last = last_id(&headers, &p, now);
    let by_topic = p.name.as_deref() == Some("topic");
    let s = stream(st, Viewer::Actor(Box::new(u.authed.actor)), topics_of(&p), last, by_topic);
    Sse::new(s).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

async fn public_events(State(st): State<AppState>, headers: HeaderMap, Query(p): Query<StreamParams>) -> Response {
    let now = st.app.store.events_last_id().await.unwrap_or(0);
    let last = last_id(&headers, &p, now);
    let by_topic = p.name.as_deref() == Some("topic");
    let s = stream(st, Viewer::Public, topics_of(&p), last, by_topic);
    Sse::new(s).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

/// An inbox entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    /// Id.
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    /// Kind.
    pub kind: String,
    /// Title in the request's language.
    pub title: String,
    /// Body.
    pub body: String,
    /// Link.
    pub link: String,
    /// Read.
    pub read: bool,
}

/// The inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct Inbox {
    /// Unread count.
    pub unread: i64,
    /// Newest first.
    pub items: Vec<NotificationDto>,
}

/// The caller's notifications, newest first, with the unread count.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "auth", responses((status = 200, body = Inbox)))]
pub async fn list_notifications(State(st): State<AppState>, u: ApiUser) -> Result<Json<Inbox>, ApiError> {
    let lang = u.ctx.lang;
    let id = u.authed.actor.user_id;
    let err = |e: tongxin_store::StoreError| ApiError { err: e.into(), lang };
    let rows = st.app.store.notifications_of(id, 100).await.map_err(err)?;
    let unread = st.app.store.unread_count(id).await.map_err(err)?;
    let zh = lang == tongxin_domain::Lang::Zh;
    Ok(Json(Inbox {
        unread,
        items: rows
            .into_iter()
            .map(|n| NotificationDto {
                id: n.id,
                at: n.at,
                kind: n.kind,
                title: if zh { n.title_zh } else { n.title_en },
                body: n.body,
                link: n.link,
                read: n.read_at.is_some(),
            })
            .collect(),
    }))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "auth", params(("id" = i64, Path, description = "notification id")),
    responses((status = 204), (status = 404)))]
pub async fn mark_read(State(st): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    let lang = u.ctx.lang;
    let err = |e: tongxin_store::StoreError| ApiError { err: e.into(), lang };
    let mut tx = st.app.store.begin().await.map_err(err)?;
    let ok = tongxin_store::notifications::mark_read(&mut tx, u.authed.actor.user_id, id).await.map_err(err)?;
    tx.commit().await.map_err(|e| err(e.into()))?;
    if ok {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError { err: tongxin_app::AppError::NotFound, lang })
    }
}
