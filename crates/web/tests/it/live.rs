use super::apps;
use futures::StreamExt;
use std::time::Duration;
use tongxin_store::events::{publish, NewEvent};

/// Reads server-sent events from a response: (id, event name, data).
pub(super) struct SseReader {
    stream: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
}

impl SseReader {
    pub(super) fn new(r: reqwest::Response) -> SseReader {
        SseReader { stream: r.bytes_stream().boxed(), buf: String::new() }
    }

    /// The next event (skipping keep-alive comments), or None after `wait`.
    pub(super) async fn next(&mut self, wait: Duration) -> Option<(i64, String, String)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..pos + 2).collect();
                let (mut id, mut ev, mut data) = (None, String::new(), String::new());
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        ev = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if let Some(id) = id {
                    return Some((id, ev, data));
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.stream.next()).await.ok()??.ok()?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

async fn emit(app: &tongxin_app::App, path: &str, kind: &str, public: bool) -> i64 {
    let mut tx = app.store.begin().await.unwrap();
    let id = publish(
        &mut tx,
        app.store.backend(),
        &NewEvent {
            topic: "test".into(),
            kind: kind.into(),
            division_path: path.into(),
            public,
            payload: "{}".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    app.commit(tx).await.unwrap();
    id
}

const GUSU: &str = "320500000000/320508000000/320508018000/";
const WUZHONG: &str = "320500000000/320506000000/320506001000/";

#[tokio::test]
async fn events_are_scoped_live_and_resumable() {
    for t in apps().await {
        let (c, _) = t.login("minzheng").await;
        let r = c.get(t.url("/events?topics=test")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        let mut sse = SseReader::new(r);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let a = emit(&t.app, GUSU, "a", false).await;
        let _b = emit(&t.app, WUZHONG, "b", false).await;
        let c3 = emit(&t.app, GUSU, "c", false).await;
        let (id1, ev1, _) = sse.next(Duration::from_secs(5)).await.expect("first event");
        assert_eq!((id1, ev1.as_str()), (a, "test.a"));
        let (id2, ev2, _) = sse.next(Duration::from_secs(5)).await.expect("second event");
        assert_eq!((id2, ev2.as_str()), (c3, "test.c"), "the Wuzhong event is not shown to a Gusu officer");

        // Resume after a dropped connection: everything visible after Last-Event-ID, nothing lost.
        drop(sse);
        let d = emit(&t.app, GUSU, "d", false).await;
        let r = c.get(t.url("/events?topics=test")).header("last-event-id", a.to_string()).send().await.unwrap();
        let mut sse = SseReader::new(r);
        assert_eq!(sse.next(Duration::from_secs(5)).await.unwrap().0, c3);
        assert_eq!(sse.next(Duration::from_secs(5)).await.unwrap().0, d);

        // The public stream needs no login and carries public events only.
        let r = reqwest::get(t.url(&format!("/public/events?last_event_id={d}"))).await.unwrap();
        let mut public = SseReader::new(r);
        emit(&t.app, WUZHONG, "private", false).await;
        let p = emit(&t.app, WUZHONG, "alert", true).await;
        assert_eq!(public.next(Duration::from_secs(5)).await.unwrap().0, p);
        // Without a login the scoped stream is refused.
        assert_eq!(reqwest::get(t.url("/events")).await.unwrap().status(), 401);
        t.stop().await;
    }
}

#[tokio::test]
async fn an_event_on_node_a_reaches_a_screen_on_node_b() {
    for t in apps().await {
        let b = t.second_node().await;
        let (c, _) = b.login("commander").await;
        let mut sse = SseReader::new(c.get(b.url("/events?topics=test")).send().await.unwrap());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let id = emit(&t.app, WUZHONG, "cross", false).await;
        let got = sse.next(Duration::from_secs(5)).await.expect("event crosses nodes");
        assert_eq!(got.0, id);
        // A session created on node B is valid on node A (sessions live in the database).
        assert_eq!(c.get(t.url("/api/v1/me")).send().await.unwrap().status(), 200);
        b.stop().await;
        t.stop().await;
    }
}

#[tokio::test]
async fn inbox_lists_and_marks_read_only_own_notifications() {
    for t in apps().await {
        let (c, csrf) = t.login("zhiyuan").await;
        let me: serde_json::Value = c.get(t.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
        let uid = me["id"].as_i64().unwrap();
        let other = t.app.store.user_by_username("jumin").await.unwrap().id;
        let mut tx = t.app.store.begin().await.unwrap();
        let n = tongxin_store::notifications::NewNotification {
            kind: "test".into(),
            title_zh: "待命通知".into(),
            title_en: "Stand by".into(),
            ..Default::default()
        };
        let mine = tongxin_store::notifications::insert(&mut tx, &[uid], &n).await.unwrap()[0];
        let theirs = tongxin_store::notifications::insert(&mut tx, &[other], &n).await.unwrap()[0];
        tx.commit().await.unwrap();
        let inbox: serde_json::Value =
            c.get(t.url("/api/v1/notifications")).send().await.unwrap().json().await.unwrap();
        assert_eq!(inbox["unread"], 1);
        assert_eq!(inbox["items"][0]["title"], "待命通知");
        let r = c
            .post(t.url(&format!("/api/v1/notifications/{theirs}/read")))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "another user's notification");
        let r = c
            .post(t.url(&format!("/api/v1/notifications/{mine}/read")))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let inbox: serde_json::Value =
            c.get(t.url("/api/v1/notifications")).send().await.unwrap().json().await.unwrap();
        assert_eq!(inbox["unread"], 0);
        t.stop().await;
    }
}

/// A page that refreshes on anything of a topic (incidents.js) asks for events named by topic:
/// an EventSource cannot listen to every `topic.kind` it does not know in advance.
#[tokio::test]
async fn events_can_be_named_by_their_topic_alone() {
    for t in apps().await {
        let (c, _) = t.login("minzheng").await;
        let r = c.get(t.url("/events?name=topic&topics=test")).send().await.unwrap();
        let mut sse = SseReader::new(r);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let a = emit(&t.app, GUSU, "level_raised", false).await;
        let b = emit(&t.app, GUSU, "anything.else", false).await;
        assert_eq!(sse.next(Duration::from_secs(5)).await.map(|e| (e.0, e.1)), Some((a, "test".to_string())));
        assert_eq!(sse.next(Duration::from_secs(5)).await.map(|e| (e.0, e.1)), Some((b, "test".to_string())));
        t.stop().await;
    }
}
