//! Claims: offer → accept / decline / timeout → re-offer, and no double-booking under threads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tongxin_dispatch::{Claims, DispatchError, Hold, Offer, ResponderId, TaskId};

fn r(i: u64) -> ResponderId {
    ResponderId(i)
}

#[test]
fn decline_and_timeout_re_offer_the_next_best() {
    let book = Claims::new(1_000);
    let ranked = vec![(r(1), 100), (r(2), 200), (r(3), 300), (r(4), 400)];
    let offers = book.open_task(TaskId(1), 2, ranked, 0).unwrap();
    assert_eq!(offers.iter().map(|o| o.responder).collect::<Vec<_>>(), [r(1), r(2)]);
    assert_eq!(offers[0].deadline_ms, 1_000);

    let next = book.decline(offers[0].id, 10).unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].responder, r(3));
    assert_eq!(book.hold_of(r(1)), None);

    // r2 never answers: at its deadline it times out and r4 is asked.
    assert!(book.expire(999).is_empty());
    let after = book.expire(1_000);
    assert_eq!(after.iter().map(|o| o.responder).collect::<Vec<_>>(), [r(4)]);
    assert_eq!(book.accept(offers[1].id, 1_001), Err(DispatchError::OfferClosed(offers[1].id.0)));

    let a = book.accept(next[0].id, 1_001).unwrap();
    assert!(!a.task_filled);
    let b = book.accept(after[0].id, 1_002).unwrap();
    assert!(b.task_filled);
    assert_eq!(book.hold_of(r(3)), Some(Hold::Assigned(TaskId(1))));
    let st = book.status(TaskId(1)).unwrap();
    assert_eq!(st.accepted, vec![r(3), r(4)]);
    assert!(st.pending.is_empty());

    // A second task skips responders that already hold the first.
    let o2 = book.open_task(TaskId(2), 1, vec![(r(3), 50), (r(5), 60)], 1_100).unwrap();
    assert_eq!(o2[0].responder, r(5));
    assert!(book.accept(o2[0].id, 1_200).unwrap().task_filled);
    assert_eq!(book.accept(o2[0].id, 1_200), Err(DispatchError::OfferClosed(o2[0].id.0)));
    assert_eq!(book.accept(tongxin_dispatch::OfferId(999), 0), Err(DispatchError::UnknownOffer(999)));
    assert_eq!(book.open_task(TaskId(2), 1, vec![], 0), Err(DispatchError::TaskAlreadyOpen(TaskId(2))));
    let freed = book.close_task(TaskId(1)).unwrap();
    assert_eq!(freed, vec![r(3), r(4)]);
    assert_eq!(book.hold_of(r(3)), None);
    assert_eq!(book.status(TaskId(1)), Err(DispatchError::UnknownTask(TaskId(1))));
}

#[test]
fn an_offer_accepted_after_its_deadline_is_refused_and_re_offered() {
    let book = Claims::new(100);
    let o = book.open_task(TaskId(1), 1, vec![(r(1), 1), (r(2), 2)], 0).unwrap();
    assert_eq!(book.accept(o[0].id, 100), Err(DispatchError::OfferClosed(o[0].id.0)));
    let again = book.expire(100);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].responder, r(2));
    let st = book.status(TaskId(1)).unwrap();
    assert_eq!(st.pending, again);
    assert_eq!(book.hold_of(r(1)), None);
}

#[test]
fn concurrent_offers_never_double_book() {
    let book = Claims::new(50);
    let clock = AtomicU64::new(0);
    let inbox: Mutex<Vec<Offer>> = Mutex::new(Vec::new());
    let accepted: Mutex<Vec<(TaskId, ResponderId)>> = Mutex::new(Vec::new());
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let heads: HashMap<TaskId, u32> = (1..=80).map(|t| (TaskId(t), rng.gen_range(1..=3))).collect();
    let lists: HashMap<TaskId, Vec<(ResponderId, u32)>> = heads
        .keys()
        .map(|&t| {
            let mut l: Vec<u64> = (0..15).map(|_| rng.gen_range(1..=60)).collect();
            l.sort_unstable();
            l.dedup();
            (t, l.into_iter().map(|x| (r(x), x as u32)).collect())
        })
        .collect();
    std::thread::scope(|s| {
        for w in 0..4u64 {
            let (book, clock, inbox, accepted, heads, lists) = (&book, &clock, &inbox, &accepted, &heads, &lists);
            s.spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(100 + w);
                // Each worker opens its share of tasks, interleaved with answering offers.
                let mine: Vec<TaskId> = heads.keys().copied().filter(|t| t.0 % 4 == w).collect();
                let mut to_open = mine.into_iter();
                for _ in 0..3_000 {
                    let now = clock.fetch_add(1, Ordering::SeqCst);
                    if rng.gen_bool(0.1) {
                        if let Some(t) = to_open.next() {
                            let o = book.open_task(t, heads[&t], lists[&t].clone(), now).unwrap();
                            inbox.lock().unwrap().extend(o);
                        }
                    }
                    let offer = {
                        let mut q = inbox.lock().unwrap();
                        if q.is_empty() {
                            None
                        } else {
                            let i = rng.gen_range(0..q.len());
                            Some(q.swap_remove(i))
                        }
                    };
                    let Some(o) = offer else {
                        inbox.lock().unwrap().extend(book.expire(now));
                        continue;
                    };
                    match rng.gen_range(0..10) {
                        0..=5 => {
                            if let Ok(a) = book.accept(o.id, now) {
                                accepted.lock().unwrap().push((a.task, a.responder));
                            }
                        }
                        6..=8 => {
                            if let Ok(more) = book.decline(o.id, now) {
                                inbox.lock().unwrap().extend(more);
                            }
                        }
                        _ => {
                            // Left unanswered: it will time out and be re-offered.
                            inbox.lock().unwrap().extend(book.expire(now));
                        }
                    }
                }
            });
        }
    });
    let accepted = accepted.into_inner().unwrap();
    assert!(accepted.len() > 50, "the run exercised accepts: {}", accepted.len());
    let mut seen = HashSet::new();
    for (_, who) in &accepted {
        assert!(seen.insert(*who), "responder {who:?} holds two tasks");
    }
    for (t, head) in &heads {
        let n = accepted.iter().filter(|(tt, _)| tt == t).count();
        assert!(n <= *head as usize, "task {t:?} filled {n} of {head}");
        if let Ok(st) = book.status(*t) {
            assert_eq!(st.accepted.len(), n);
            assert!(st.accepted.len() + st.pending.len() <= *head as usize);
            for who in &st.accepted {
                assert_eq!(book.hold_of(*who), Some(Hold::Assigned(*t)));
            }
        }
    }
}
