//! Tongxin dispatch engine: exact optimal assignment of responders to tasks at city scale.
//!
//! Pure library, no I/O. The pieces, in the order a caller uses them:
//! - [`ResponderIndex`]: spatial index of responders, updated incrementally
//!   ([`ResponderIndex::insert`], [`ResponderIndex::move_to`], [`ResponderIndex::remove`],
//!   [`ResponderIndex::set_busy`]).
//! - [`candidates`]: each task's K nearest eligible free responders → [`CandidateGraph`].
//! - [`solve`]: the exact min-cost-flow optimum on that graph → [`Assignment`] (filled pairs,
//!   unfilled slots with reasons, total cost): shortest augmenting paths; when the market turns
//!   out saturated, an ε-scaling auction to near-optimal prices finished exactly by shortest
//!   paths from them ([`solve_saturated`]); independent parts of the graph (no shared
//!   responder) are solved on separate cores. [`dispatch`] does both steps.
//! - [`best_for_task`]: the fast path for one urgent task, without re-solving.
//! - [`Claims`]: offer → accept / decline / timeout → re-offer, safe under concurrency.
//! - [`bench`]: the `tongxin bench dispatch` command.
//!
//! Distances are great-circle metres on the mean-radius sphere (see [`geo`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auction;
pub mod bench;
pub mod claims;
pub mod error;
pub mod geo;
pub mod graph;
pub mod index;
pub mod model;
pub mod solve;
mod split;

pub use auction::solve_auction;
pub use claims::{Accepted, Claims, Hold, Offer, OfferId, TaskStatus};
pub use error::DispatchError;
pub use geo::GeoPoint;
pub use graph::{parse_dimacs, CandidateGraph, DimacsProblem, Shortfall, TaskEdges};
pub use index::{best_for_task, candidates, candidates_with_threads, Candidate, ResponderIndex};
pub use model::{Availability, Priority, Responder, ResponderId, SkillSet, Task, TaskId, PENALTY_UNIT};
pub use solve::{
    solve, solve_in_parts, solve_saturated, solve_warm, solve_with_budget, solve_with_threads, AssignedPair,
    Assignment, SolveMethod, UnfilledReason, UnfilledTask,
};

/// Candidates then exact solve: the whole dispatch of `tasks` with `k` candidates each.
pub fn dispatch(
    index: &ResponderIndex,
    tasks: &[Task],
    k: usize,
) -> Result<(CandidateGraph, Assignment), DispatchError> {
    let graph = candidates(index, tasks, k)?;
    let plan = solve(&graph);
    Ok((graph, plan))
}
