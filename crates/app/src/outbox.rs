//! The notification service of the whole product. Capabilities call [`enqueue`] inside the
//! transaction of their change (mobilisation notices, offers, work-order steps, alerts); this
//! node's workers deliver to the channels — in-app (inbox + live screen), e-mail (SMTP via
//! lettre), webhook (HMAC-signed POST), SMS (HTTP gateway adapter) — at least once, each
//! message with an idempotency key, failures retried with backoff and finally dead-lettered.
//!
//! ```ignore
//! let mut tx = app.store.begin().await?;
//! // … the change, its audit record, its event …
//! tongxin_app::outbox::enqueue(&mut tx, &[tongxin_app::outbox::inapp(user_id, "mobilisation.standby",
//!     "请待命", "Stand by", "/incidents/7", "mobilisation:7:standby:42")]).await?;
//! app.commit(tx).await?; app.wake_outbox();
//! ```

use crate::{audit, App, AppError, AppResult, RequestCtx};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tongxin_domain::alerts::{retry_delay_ms, Channel, MAX_ATTEMPTS};
use tongxin_domain::{Actor, Role};
use tongxin_store::events::{publish, NewEvent};
use tongxin_store::notifications::NewNotification;
use tongxin_store::outbox::{MessageRow, NewMessage, Outcome};
use tongxin_store::{now_ms, StoreError, Tx};

pub use tongxin_store::outbox::NewMessage as Message;

/// Queues messages in the caller's transaction (dropped silently when the idempotency key was
/// already queued). Call [`App::wake_outbox`] after committing for immediate delivery.
pub async fn enqueue(tx: &mut Tx, msgs: &[NewMessage]) -> AppResult<u64> {
    Ok(tongxin_store::outbox::enqueue(tx, msgs).await?)
}

/// Webhook copies of `base` for every active endpoint subscribed to its kind (prefix match;
/// no kinds = everything) whose area overlaps `division_path` (no area = everywhere). Each
/// message's idempotency key is `{key}:webhook:{endpoint id}`.
pub fn webhook_messages(
    endpoints: &[tongxin_store::outbox::EndpointRow],
    base: &NewMessage,
    division_path: &str,
    key: &str,
) -> Vec<NewMessage> {
    subscribers(endpoints, &base.kind, division_path)
        .map(|e| NewMessage {
            channel: "webhook".into(),
            recipient: e.id.to_string(),
            user_id: None,
            idempotency_key: format!("{key}:webhook:{}", e.id),
            ..base.clone()
        })
        .collect()
}

/// The endpoints that receive messages of `kind` about `division_path` (see
/// [`webhook_messages`]).
pub fn subscribers<'e>(
    endpoints: &'e [tongxin_store::outbox::EndpointRow],
    kind: &'e str,
    division_path: &'e str,
) -> impl Iterator<Item = &'e tongxin_store::outbox::EndpointRow> {
    endpoints
        .iter()
        .filter(move |e| e.kinds.is_empty() || e.kinds.split(',').any(|k| kind.starts_with(k.trim())))
        .filter(move |e| {
            e.division_path.is_empty()
                || tongxin_domain::division::is_within(division_path, &e.division_path)
                || tongxin_domain::division::is_within(&e.division_path, division_path)
        })
}

/// An in-app message to one account (inbox entry and live notification).
pub fn inapp(user_id: i64, kind: &str, title_zh: &str, title_en: &str, link: &str, key: &str) -> NewMessage {
    NewMessage {
        channel: Channel::Inapp.key().into(),
        recipient: user_id.to_string(),
        user_id: Some(user_id),
        kind: kind.into(),
        idempotency_key: key.into(),
        subject: format!("{title_zh} / {title_en}"),
        link: link.into(),
        not_before: now_ms(),
        ..Default::default()
    }
}

/// Channel settings. From the environment by default: `TONGXIN_SMTP_HOST`, `TONGXIN_SMTP_PORT`
/// (25), `TONGXIN_SMTP_FROM`, `TONGXIN_SMTP_USER`/`TONGXIN_SMTP_PASSWORD`, `TONGXIN_SMS_URL`,
/// `TONGXIN_SMS_TEMPLATE` (JSON with `{to}`, `{text}`, `{key}`).
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// SMTP relay host (plain SMTP; e-mail is not sent when unset).
    pub smtp_host: Option<String>,
    /// SMTP port.
    pub smtp_port: u16,
    /// Sender address.
    pub smtp_from: String,
    /// SMTP credentials.
    pub smtp_auth: Option<(String, String)>,
    /// SMS gateway URL (POST).
    pub sms_url: Option<String>,
    /// SMS request body template.
    pub sms_template: String,
    /// Timeout of one HTTP delivery.
    pub http_timeout: Duration,
    /// Messages claimed per batch and channel.
    pub batch: i64,
    /// Concurrent HTTP deliveries per worker.
    pub concurrency: usize,
    /// Lease of a claimed message: after it, a crashed worker's message goes out again.
    pub lease_ms: i64,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        ChannelConfig {
            smtp_host: env("TONGXIN_SMTP_HOST"),
            smtp_port: env("TONGXIN_SMTP_PORT").and_then(|p| p.parse().ok()).unwrap_or(25),
            smtp_from: env("TONGXIN_SMTP_FROM").unwrap_or_else(|| "tongxin@localhost".into()),
            smtp_auth: env("TONGXIN_SMTP_USER").zip(env("TONGXIN_SMTP_PASSWORD")),
            sms_url: env("TONGXIN_SMS_URL"),
            sms_template: env("TONGXIN_SMS_TEMPLATE")
                .unwrap_or_else(|| r#"{"to":"{to}","text":"{text}","id":"{key}"}"#.into()),
            http_timeout: Duration::from_secs(10),
            batch: 500,
            concurrency: 64,
            // Longer than a batch's deliveries take; `TONGXIN_OUTBOX_LEASE_MS` shortens it in tests.
            lease_ms: env("TONGXIN_OUTBOX_LEASE_MS").and_then(|v| v.parse().ok()).unwrap_or(60_000),
        }
    }
}

/// HMAC-SHA256 signature of a webhook: hex of HMAC(secret, "{timestamp}.{body}").
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

fn json_escape(s: &str) -> String {
    let v = serde_json::Value::String(s.to_string()).to_string();
    v[1..v.len() - 1].to_string()
}

impl App {
    /// The channel settings in force.
    pub fn channel_config(&self) -> ChannelConfig {
        self.alerts.channels.read().ok().and_then(|g| g.clone()).unwrap_or_default()
    }

    /// Replaces the channel settings (tests, admin).
    pub fn set_channel_config(&self, c: ChannelConfig) {
        if let Ok(mut g) = self.alerts.channels.write() {
            *g = Some(c);
        }
    }

    /// Wakes this node's delivery workers (after committing queued messages).
    pub fn wake_outbox(&self) {
        self.alerts.outbox_wake.notify_one();
    }

    /// Starts this node's delivery worker and feed poller (idempotent). On SQLite, leases left
    /// by a killed process are released first (one process owns the file).
    pub fn start_outbox_workers(&self) {
        if self.alerts.workers_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let app = self.clone();
        tokio::spawn(async move {
            if app.store.backend() == tongxin_store::Backend::Sqlite {
                match tongxin_store::outbox::release_all_leases(&app.store).await {
                    Ok(n) if n > 0 => tracing::info!(n, "released stale outbox leases / 已释放未完成的投递"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "releasing outbox leases failed"),
                }
            }
            let worker = format!("node-{}", crate::auth::random_token().get(..12).unwrap_or("x"));
            let client = reqwest::Client::builder()
                .timeout(app.channel_config().http_timeout)
                .pool_max_idle_per_host(256)
                .build()
                .unwrap_or_default();
            let mut last_poll = 0;
            loop {
                match app.deliver_batch(&worker, &client).await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "outbox delivery failed; retrying"),
                }
                if now_ms() - last_poll > 5_000 {
                    last_poll = now_ms();
                    if let Err(e) = app.poll_alert_sources().await {
                        tracing::warn!(error = ?e, "CAP feed polling failed");
                    }
                }
                tokio::select! {
                    _ = app.alerts.outbox_wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        });
    }

    /// Claims and delivers one batch; returns how many messages were handled.
    pub async fn deliver_batch(&self, worker: &str, client: &reqwest::Client) -> AppResult<usize> {
        let cfg = self.channel_config();
        let channels = Channel::ALL.map(Channel::key);
        let batch = tongxin_store::outbox::claim(&self.store, worker, &channels, cfg.batch, cfg.lease_ms).await?;
        if batch.is_empty() {
            return Ok(0);
        }
        let n = batch.len();
        let mut results: Vec<(i64, Outcome)> = Vec::with_capacity(n);
        let (inapp, mut other): (Vec<MessageRow>, Vec<MessageRow>) =
            batch.into_iter().partition(|m| m.channel == Channel::Inapp.key());
        self.fill_alert_texts(&mut other).await?;
        // In-app: inbox rows and live events in one transaction with the outcome.
        let endpoints =
            if other.iter().any(|m| m.channel == "webhook") { self.store.outbox_endpoints().await? } else { vec![] };
        let endpoints = Arc::new(endpoints);
        let cfg = Arc::new(cfg);
        use futures::StreamExt as _;
        let outs: Vec<(i64, Outcome)> = futures::stream::iter(other.into_iter().map(|m| {
            let (app, client, endpoints, cfg) = (self.clone(), client.clone(), endpoints.clone(), cfg.clone());
            async move {
                let r = app.deliver_one(&client, &endpoints, &cfg, &m).await;
                (m.id, outcome(&m, r))
            }
        }))
        .buffer_unordered(cfg.concurrency.max(1))
        .collect()
        .await;
        results.extend(outs);
        let mut tx = self.store.begin().await?;
        for m in &inapp {
            let Some(uid) = m.user_id.or_else(|| m.recipient.parse().ok()) else {
                results.push((m.id, Outcome::Dead { error: "no account / 无接收账号".into() }));
                continue;
            };
            let (zh, en) = m.subject.split_once(" / ").unwrap_or((m.subject.as_str(), m.subject.as_str()));
            let ids = tongxin_store::notifications::insert(
                &mut tx,
                &[uid],
                &NewNotification {
                    kind: m.kind.clone(),
                    title_zh: zh.into(),
                    title_en: en.into(),
                    body: m.body.clone(),
                    link: m.link.clone(),
                },
            )
            .await?;
            publish(
                &mut tx,
                self.store.backend(),
                &NewEvent {
                    topic: "notification".into(),
                    kind: m.kind.clone(),
                    user_id: Some(uid),
                    payload: serde_json::json!({"id": ids.first(), "title": m.subject, "link": m.link, "key": m.idempotency_key})
                        .to_string(),
                    ..Default::default()
                },
            )
            .await?;
            results.push((m.id, Outcome::Sent));
        }
        tongxin_store::outbox::finish(&mut tx, worker, &results).await?;
        self.commit(tx).await?;
        Ok(n)
    }

    /// Household SMS rows of an alert are queued without their text (a million rows would repeat
    /// it); it is filled in here from the alert, once per alert per batch.
    async fn fill_alert_texts(&self, msgs: &mut [MessageRow]) -> AppResult<()> {
        let bare = |m: &MessageRow| m.ref_type == "alert" && m.subject.is_empty();
        let mut ids: Vec<i64> = msgs.iter().filter(|m| bare(m)).filter_map(|m| m.ref_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut texts = std::collections::HashMap::new();
        for id in ids {
            match self.store.alert_public(id).await {
                Ok(a) => {
                    texts.insert(id, crate::alerts::alert_texts(&a));
                }
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        for m in msgs.iter_mut().filter(|m| bare(m)) {
            if let Some((subject, body, link)) = m.ref_id.and_then(|id| texts.get(&id)) {
                (m.subject, m.body, m.link) = (subject.clone(), body.clone(), link.clone());
            }
        }
        Ok(())
    }

    async fn deliver_one(
        &self,
        client: &reqwest::Client,
        endpoints: &[tongxin_store::outbox::EndpointRow],
        cfg: &ChannelConfig,
        m: &MessageRow,
    ) -> Result<(), String> {
        match Channel::from_key(&m.channel) {
            Some(Channel::Webhook) => {
                let Some(e) = endpoints.iter().find(|e| e.id.to_string() == m.recipient) else {
                    return Err("endpoint removed / 接收端已删除".into());
                };
                let ts = now_ms() / 1000;
                let sig = sign(&e.secret, ts, &m.body);
                let r = client
                    .post(&e.url)
                    .header("content-type", "application/json")
                    .header("idempotency-key", &m.idempotency_key)
                    .header("x-tongxin-timestamp", ts.to_string())
                    .header("x-tongxin-signature", format!("sha256={sig}"))
                    .header("x-tongxin-kind", &m.kind)
                    .body(m.body.clone())
                    .send()
                    .await
                    .map_err(|e| format!("webhook: {}", short(&e)))?;
                if r.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("webhook: HTTP {}", r.status().as_u16()))
                }
            }
            Some(Channel::Sms) => {
                let Some(url) = &cfg.sms_url else {
                    return Err("SMS gateway not configured / 未配置短信网关".into());
                };
                let phone = if let Some(h) = m.recipient.strip_prefix("household:") {
                    let id: i64 = h.parse().map_err(|_| "bad recipient".to_string())?;
                    self.store.household_phone(id).await.map_err(|e| e.to_string())?.unwrap_or_default()
                } else if let Some(u) = m.recipient.strip_prefix("user:") {
                    let id: i64 = u.parse().map_err(|_| "bad recipient".to_string())?;
                    let p = self.store.prefs_of(&[id]).await.map_err(|e| e.to_string())?;
                    match p.first().map(|p| p.phone_enc.clone()).filter(|s| !s.is_empty()) {
                        Some(enc) => self.crypto.decrypt(&enc).ok_or_else(|| "phone unreadable".to_string())?,
                        None => String::new(),
                    }
                } else {
                    m.recipient.clone()
                };
                if phone.is_empty() {
                    return Err("no phone number / 无手机号".into());
                }
                let text = format!("{} {}", m.subject, m.link);
                let body = cfg
                    .sms_template
                    .replace("{to}", &json_escape(&phone))
                    .replace("{text}", &json_escape(&text))
                    .replace("{key}", &json_escape(&m.idempotency_key));
                let r = client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("idempotency-key", &m.idempotency_key)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| format!("sms: {}", short(&e)))?;
                if r.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("sms gateway: HTTP {}", r.status().as_u16()))
                }
            }
            Some(Channel::Email) => self.send_email(cfg, m).await,
            _ => Err(format!("unknown channel {}", m.channel)),
        }
    }

    async fn send_email(&self, cfg: &ChannelConfig, m: &MessageRow) -> Result<(), String> {
        use lettre::message::header::ContentType;
        use lettre::{AsyncSmtpTransport, AsyncTransport, Message as Mail, Tokio1Executor};
        let Some(host) = &cfg.smtp_host else { return Err("SMTP not configured / 未配置邮件服务器".into()) };
        let mail = Mail::builder()
            .from(cfg.smtp_from.parse().map_err(|e| format!("from: {e}"))?)
            .to(m.recipient.parse().map_err(|e| format!("to: {e}"))?)
            .subject(m.subject.clone())
            .message_id(Some(format!("<{}@tongxin>", m.idempotency_key.replace([':', ' '], "."))))
            .header(ContentType::TEXT_PLAIN)
            .body(format!("{}\n\n{}", m.body, m.link))
            .map_err(|e| format!("mail: {e}"))?;
        // Plain SMTP (no STARTTLS/TLS): the build carries no TLS library (lettre's
        // `tokio1-rustls` feature would add rustls and ring). Point it at a relay on the host or a
        // trusted network, which forwards with TLS.
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(cfg.smtp_port)
            .timeout(Some(cfg.http_timeout));
        if let Some((u, p)) = &cfg.smtp_auth {
            b = b.credentials(lettre::transport::smtp::authentication::Credentials::new(u.clone(), p.clone()));
        }
        b.build().send(mail).await.map(|_| ()).map_err(|e| format!("smtp: {e}"))
    }

    /// Puts a failed or dead message back in the queue (operator).
    pub async fn outbox_retry(&self, actor: &Actor, ctx: &RequestCtx, id: i64) -> AppResult<()> {
        crate::require_role(actor, &[Role::SysAdmin, Role::Commander])?;
        let mut tx = self.store.begin().await?;
        if !tongxin_store::outbox::requeue(&mut tx, id).await? {
            return Err(AppError::NotFound);
        }
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(Some(actor), ctx, "outbox.retry", "outbox", id, serde_json::json!({})),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.wake_outbox();
        Ok(())
    }

    /// Registers a webhook endpoint (its secret signs every delivery).
    pub async fn outbox_add_endpoint(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        name: &str,
        url: &str,
        secret: &str,
        kinds: &str,
    ) -> AppResult<i64> {
        crate::require_role(actor, &[Role::SysAdmin, Role::Commander])?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(crate::invalid(
                "url",
                "url",
                "地址须以 http:// 或 https:// 开头",
                "URL must start with http:// or https://",
            ));
        }
        if secret.len() < 16 {
            return Err(crate::invalid(
                "secret",
                "too_short",
                "签名密钥至少 16 个字符",
                "The signing secret needs at least 16 characters",
            ));
        }
        let mut tx = self.store.begin().await?;
        let id = tongxin_store::outbox::insert_endpoint(
            &mut tx,
            name,
            url,
            secret,
            kinds,
            actor.division_path.as_deref().unwrap_or(""),
        )
        .await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "outbox.endpoint_add",
                "outbox_endpoint",
                id,
                serde_json::json!({"url": url, "kinds": kinds}),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(id)
    }

    /// Saves the caller's notification preferences (channels, e-mail, phone, quiet hours).
    pub async fn save_notify_prefs(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        channels: &[String],
        email: &str,
        phone: &str,
        quiet: Option<(i64, i64)>,
    ) -> AppResult<()> {
        let mut keys = Vec::new();
        for c in channels {
            match Channel::from_key(c) {
                Some(Channel::Webhook) | None => {
                    return Err(crate::invalid(
                        "channels",
                        "channel",
                        format!("未知渠道 {c}"),
                        format!("unknown channel {c}"),
                    ))
                }
                Some(ch) => keys.push(ch.key()),
            }
        }
        if keys.contains(&"email") && !email.contains('@') {
            return Err(crate::invalid("email", "email", "请填写有效的电子邮箱", "Give a valid e-mail address"));
        }
        let phone_enc = if phone.trim().is_empty() {
            String::new()
        } else {
            let p = phone.trim();
            if !(p.len() == 11 && p.starts_with('1') && p.bytes().all(|b| b.is_ascii_digit())) {
                return Err(crate::invalid("phone", "phone", "手机号格式不正确", "The phone number is not valid"));
            }
            self.crypto.encrypt(phone.trim())
        };
        if keys.contains(&"sms") && phone_enc.is_empty() {
            return Err(crate::invalid("phone", "required", "短信通知需要手机号", "SMS needs a phone number"));
        }
        if let Some((s, e)) = quiet {
            if !(0..1440).contains(&s) || !(0..1440).contains(&e) {
                return Err(crate::invalid(
                    "quiet",
                    "range",
                    "免打扰时段应在 00:00–23:59 之间",
                    "Quiet hours must be within 00:00–23:59",
                ));
            }
        }
        let mut tx = self.store.begin().await?;
        tongxin_store::outbox::save_prefs(
            &mut tx,
            &tongxin_store::outbox::PrefsRow {
                user_id: actor.user_id,
                channels: keys.join(","),
                email: email.trim().into(),
                phone_enc,
                quiet_start: quiet.map(|q| q.0),
                quiet_end: quiet.map(|q| q.1),
            },
        )
        .await?;
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "notify.prefs",
                "user",
                actor.user_id,
                serde_json::json!({"channels": keys}),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}

fn short(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out / 超时".into()
    } else if e.is_connect() {
        "connection refused / 无法连接".into()
    } else {
        e.to_string().chars().take(200).collect()
    }
}

/// The outcome of an attempt: delivered, retry with backoff, or dead after the last attempt.
fn outcome(m: &MessageRow, r: Result<(), String>) -> Outcome {
    match r {
        Ok(()) => Outcome::Sent,
        Err(error) if m.attempts >= MAX_ATTEMPTS => Outcome::Dead { error },
        Err(error) => Outcome::Retry { at: now_ms() + retry_delay_ms(m.attempts), error },
    }
}

/// The HTTP client the delivery workers use.
pub type HttpClient = reqwest::Client;

/// A delivery HTTP client with the given timeout and a large keep-alive pool.
pub fn http_client(timeout: Duration) -> HttpClient {
    reqwest::Client::builder().timeout(timeout).pool_max_idle_per_host(256).build().unwrap_or_default()
}
