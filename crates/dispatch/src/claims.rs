//! Claims: offer → accept / decline / timeout → re-offer the next best, without double-booking.
//!
//! A [`Claims`] book is shared between threads (`&Claims` is `Sync`). All state sits behind one
//! mutex, so every call is atomic: a responder holds at most one thing at a time (one open
//! offer or one accepted task), and a task never has more accepted plus open offers than its
//! head count. Time is passed in by the caller (`now_ms`, any monotonic millisecond clock), so
//! the book does no I/O and tests control the clock.
//!
//! Typical use: after [`crate::solve`], call [`Claims::open_task`] with
//! [`crate::Assignment::ranked_for`]; after an accept, mark the responder busy in the
//! [`crate::ResponderIndex`]; call [`Claims::expire`] periodically.

use crate::error::DispatchError;
use crate::model::{ResponderId, TaskId};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// Identifier of one offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct OfferId(pub u64);

/// An open offer of a task to a responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Offer {
    /// The offer.
    pub id: OfferId,
    /// The task offered.
    pub task: TaskId,
    /// The responder asked.
    pub responder: ResponderId,
    /// Travel distance, metres.
    pub distance_m: u32,
    /// The offer times out at this instant (caller's clock, ms).
    pub deadline_ms: u64,
}

/// Result of a successful accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Accepted {
    /// The task.
    pub task: TaskId,
    /// The responder who now holds it.
    pub responder: ResponderId,
    /// True when the task now has all its people.
    pub task_filled: bool,
}

/// What a responder currently holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Hold {
    /// An open offer.
    Offered(OfferId),
    /// An accepted task.
    Assigned(TaskId),
}

/// State of one task in the book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskStatus {
    /// People needed.
    pub head_count: u32,
    /// Responders who accepted.
    pub accepted: Vec<ResponderId>,
    /// Open offers.
    pub pending: Vec<Offer>,
    /// Candidates not yet asked.
    pub waiting: usize,
}

#[derive(Debug)]
struct TaskBook {
    head: u32,
    queue: VecDeque<(ResponderId, u32)>,
    accepted: Vec<ResponderId>,
    pending: Vec<OfferId>,
}

#[derive(Debug, Default)]
struct Book {
    tasks: HashMap<TaskId, TaskBook>,
    holds: HashMap<ResponderId, Hold>,
    offers: HashMap<OfferId, Offer>,
    deadlines: BTreeSet<(u64, OfferId)>,
    next: u64,
}

impl Book {
    /// Offers the task to the next free candidates until slots are covered.
    fn fill(&mut self, task: TaskId, now_ms: u64, timeout_ms: u64, out: &mut Vec<Offer>) {
        let Some(tb) = self.tasks.get_mut(&task) else {
            return;
        };
        while (tb.accepted.len() + tb.pending.len()) < tb.head as usize {
            let Some((r, m)) = tb.queue.pop_front() else {
                break;
            };
            if self.holds.contains_key(&r) {
                continue; // busy elsewhere: the next best is asked instead
            }
            self.next += 1;
            let offer = Offer {
                id: OfferId(self.next),
                task,
                responder: r,
                distance_m: m,
                deadline_ms: now_ms.saturating_add(timeout_ms),
            };
            tb.pending.push(offer.id);
            self.holds.insert(r, Hold::Offered(offer.id));
            self.offers.insert(offer.id, offer);
            self.deadlines.insert((offer.deadline_ms, offer.id));
            out.push(offer);
        }
    }

    /// Closes an open offer and frees its responder; returns it.
    fn close(&mut self, id: OfferId) -> Option<Offer> {
        let offer = self.offers.remove(&id)?;
        self.deadlines.remove(&(offer.deadline_ms, id));
        if self.holds.get(&offer.responder) == Some(&Hold::Offered(id)) {
            self.holds.remove(&offer.responder);
        }
        if let Some(tb) = self.tasks.get_mut(&offer.task) {
            tb.pending.retain(|&o| o != id);
        }
        Some(offer)
    }

    fn expire(&mut self, now_ms: u64, timeout_ms: u64, out: &mut Vec<Offer>) {
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now_ms {
                break;
            }
            if let Some(offer) = self.close(id) {
                self.fill(offer.task, now_ms, timeout_ms, out);
            }
        }
    }
}

/// The thread-safe claims book.
#[derive(Debug)]
pub struct Claims {
    book: Mutex<Book>,
    timeout_ms: u64,
}

impl Claims {
    /// A book whose offers time out after `timeout_ms`.
    pub fn new(timeout_ms: u64) -> Self {
        Claims { book: Mutex::new(Book::default()), timeout_ms }
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        // A panic in another caller cannot leave the book half-updated (each call completes
        // its writes before returning), so a poisoned lock is safe to reuse.
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a task with its candidates ranked best first, and offers it to as many of them
    /// as it needs people. Candidates already holding something are skipped.
    pub fn open_task(
        &self,
        task: TaskId,
        head_count: u32,
        ranked: Vec<(ResponderId, u32)>,
        now_ms: u64,
    ) -> Result<Vec<Offer>, DispatchError> {
        if head_count == 0 {
            return Err(DispatchError::ZeroHeadCount(task));
        }
        let mut book = self.lock();
        if book.tasks.contains_key(&task) {
            return Err(DispatchError::TaskAlreadyOpen(task));
        }
        book.tasks.insert(task, TaskBook { head: head_count, queue: ranked.into(), accepted: vec![], pending: vec![] });
        let mut out = vec![];
        book.fill(task, now_ms, self.timeout_ms, &mut out);
        Ok(out)
    }

    /// Appends more candidates to an open task (e.g. after a new search) and offers if needed.
    pub fn add_candidates(
        &self,
        task: TaskId,
        ranked: Vec<(ResponderId, u32)>,
        now_ms: u64,
    ) -> Result<Vec<Offer>, DispatchError> {
        let mut book = self.lock();
        let tb = book.tasks.get_mut(&task).ok_or(DispatchError::UnknownTask(task))?;
        tb.queue.extend(ranked);
        let mut out = vec![];
        book.fill(task, now_ms, self.timeout_ms, &mut out);
        Ok(out)
    }

    /// The responder accepts. Fails with [`DispatchError::OfferClosed`] when the offer was
    /// already answered or withdrawn, or its deadline has passed (then [`Claims::expire`]
    /// re-offers the task and returns the new offer).
    pub fn accept(&self, offer: OfferId, now_ms: u64) -> Result<Accepted, DispatchError> {
        let mut book = self.lock();
        let Some(o) = book.offers.get(&offer).copied() else {
            return Err(if offer.0 >= 1 && offer.0 <= book.next {
                DispatchError::OfferClosed(offer.0)
            } else {
                DispatchError::UnknownOffer(offer.0)
            });
        };
        if now_ms >= o.deadline_ms {
            // Timed out: refused here; the next `expire` closes it and returns the re-offer.
            return Err(DispatchError::OfferClosed(offer.0));
        }
        book.close(offer);
        book.holds.insert(o.responder, Hold::Assigned(o.task));
        let tb = book.tasks.get_mut(&o.task).expect("offer of an open task");
        tb.accepted.push(o.responder);
        Ok(Accepted { task: o.task, responder: o.responder, task_filled: tb.accepted.len() == tb.head as usize })
    }

    /// The responder declines; the task is offered to the next best free candidate.
    pub fn decline(&self, offer: OfferId, now_ms: u64) -> Result<Vec<Offer>, DispatchError> {
        let mut book = self.lock();
        let o = book.close(offer).ok_or(if offer.0 >= 1 && offer.0 <= book.next {
            DispatchError::OfferClosed(offer.0)
        } else {
            DispatchError::UnknownOffer(offer.0)
        })?;
        let mut out = vec![];
        book.fill(o.task, now_ms, self.timeout_ms, &mut out);
        book.expire(now_ms, self.timeout_ms, &mut out);
        Ok(out)
    }

    /// Times out every offer whose deadline is at or before `now_ms` and re-offers those
    /// tasks; returns the new offers.
    pub fn expire(&self, now_ms: u64) -> Vec<Offer> {
        let mut out = vec![];
        self.lock().expire(now_ms, self.timeout_ms, &mut out);
        out
    }

    /// Closes a task (done or cancelled): withdraws its open offers and frees its responders.
    /// Returns the responders that held it.
    pub fn close_task(&self, task: TaskId) -> Result<Vec<ResponderId>, DispatchError> {
        let mut book = self.lock();
        let tb = book.tasks.remove(&task).ok_or(DispatchError::UnknownTask(task))?;
        for id in tb.pending {
            book.close(id);
        }
        for r in &tb.accepted {
            book.holds.remove(r);
        }
        Ok(tb.accepted)
    }

    /// What the responder holds now, if anything.
    pub fn hold_of(&self, responder: ResponderId) -> Option<Hold> {
        self.lock().holds.get(&responder).copied()
    }

    /// The task's state.
    pub fn status(&self, task: TaskId) -> Result<TaskStatus, DispatchError> {
        let book = self.lock();
        let tb = book.tasks.get(&task).ok_or(DispatchError::UnknownTask(task))?;
        Ok(TaskStatus {
            head_count: tb.head,
            accepted: tb.accepted.clone(),
            pending: tb.pending.iter().map(|o| book.offers[o]).collect(),
            waiting: tb.queue.len(),
        })
    }
}
