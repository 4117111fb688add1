//! The live hub: one per node. It reads new events from the store in id order and broadcasts
//! them to this node's subscribers (SSE connections). It wakes when this node commits an event
//! ([`App::commit`]), when another node does (PostgreSQL `LISTEN`), and once a second regardless,
//! so no event is ever skipped; subscribers that fall behind resume from the store by id.

use crate::{App, AppResult};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, Notify};
use tongxin_domain::Actor;
use tongxin_store::events::EventRow;
use tongxin_store::{Store, StoreError, Tx};

/// Broadcast capacity per node; a slower subscriber re-reads from the store.
const CAPACITY: usize = 4096;

/// The hub.
#[derive(Debug)]
pub struct Hub {
    tx: broadcast::Sender<Arc<EventRow>>,
    wake: Arc<Notify>,
    started: AtomicBool,
}

impl Default for Hub {
    fn default() -> Self {
        Hub { tx: broadcast::channel(CAPACITY).0, wake: Arc::new(Notify::new()), started: AtomicBool::new(false) }
    }
}

impl Hub {
    /// Subscribes to events committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventRow>> {
        self.tx.subscribe()
    }

    /// Wakes the pump (after a local commit), when anyone on this node listens: otherwise the
    /// pump's once-a-second round keeps up with the ids.
    pub fn poke(&self) {
        if self.tx.receiver_count() > 0 {
            self.wake.notify_one();
        }
    }

    /// Starts the pump once (idempotent).
    pub fn start(self: &Arc<Self>, store: Store) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        if store.backend() == tongxin_store::Backend::Postgres {
            store.spawn_pg_wakeups(self.wake.clone());
        }
        let hub = self.clone();
        tokio::spawn(async move {
            let mut last = store.events_last_id().await.unwrap_or(0);
            loop {
                let tick = tokio::select! {
                    _ = hub.wake.notified() => false,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => true,
                };
                if hub.tx.receiver_count() == 0 {
                    // Nobody on this node listens: only keep up with the ids, instead of reading
                    // every event of every commit (a tenth of the server's CPU under steady
                    // writes): this node's own commits are counted without a read, and once a
                    // second the store's newest id covers other nodes' too. The id is taken
                    // before the count is looked at again, so a subscriber that came meanwhile
                    // gets every event committed after it came (and reads its own backlog from
                    // the store anyway).
                    let newest = if tick { store.events_last_id().await.ok() } else { None };
                    let here = newest.unwrap_or(0).max(store.events_committed_here());
                    if hub.tx.receiver_count() == 0 {
                        last = last.max(here);
                        continue;
                    }
                }
                loop {
                    match store.events_after(last, 1000).await {
                        Ok(batch) => {
                            let n = batch.len();
                            for e in batch {
                                last = e.id;
                                let _ = hub.tx.send(Arc::new(e));
                            }
                            if n < 1000 {
                                break;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "live hub: reading events failed; retrying");
                            break;
                        }
                    }
                }
            }
        });
    }
}

/// Whether `actor` may see event `e`: public, addressed to them, their organisation's, or
/// located within their jurisdiction.
pub fn visible(actor: &Actor, e: &EventRow) -> bool {
    e.public
        || e.user_id == Some(actor.user_id)
        || e.org_id.is_some_and(|o| actor.acts_for(o))
        || (!e.division_path.is_empty() && actor.covers(&e.division_path))
}

impl App {
    /// Commits a transaction and wakes this node's live hub (events in it go out at once).
    pub async fn commit(&self, tx: Tx) -> AppResult<()> {
        tx.commit().await.map_err(StoreError::from)?;
        self.live.poke();
        Ok(())
    }
}
