//! Bad input gives typed errors (Chinese and English), never a panic; infeasible tasks are
//! reported as unfilled with their reason.

use tongxin_dispatch::{
    candidates, parse_dimacs, solve, Availability, CandidateGraph, DispatchError, GeoPoint, Priority, Responder,
    ResponderId, ResponderIndex, Shortfall, SkillSet, Task, TaskId, UnfilledReason,
};

fn responder(id: u64, lat: f64, lon: f64) -> Responder {
    Responder {
        id: ResponderId(id),
        location: GeoPoint::new(lat, lon),
        skills: SkillSet::from_skills(&[1]).unwrap(),
        insured: false,
        availability: Availability::Now,
        busy: false,
    }
}

fn task(id: u64) -> Task {
    Task {
        id: TaskId(id),
        location: GeoPoint::new(31.3, 120.6),
        head_count: 1,
        required_skills: SkillSet::EMPTY,
        insurance_required: false,
        priority: Priority::Urgent,
        max_distance_m: 5_000,
        start_at: 0,
    }
}

fn index() -> ResponderIndex {
    ResponderIndex::build(&[responder(1, 31.30, 120.61), responder(2, 31.31, 120.60)]).unwrap()
}

#[test]
fn bad_coordinates_are_typed_errors() {
    for (lat, lon) in [(f64::NAN, 120.0), (31.0, f64::INFINITY), (91.0, 120.0), (31.0, -181.0)] {
        let e = ResponderIndex::build(&[responder(1, lat, lon)]).unwrap_err();
        assert!(matches!(e, DispatchError::InvalidCoordinate { .. }), "{e:?}");
        let mut t = task(1);
        t.location = GeoPoint::new(lat, lon);
        let e = candidates(&index(), &[t], 4).unwrap_err();
        assert!(matches!(e, DispatchError::InvalidCoordinate { .. }), "{e:?}");
        let mut ix = index();
        assert!(matches!(
            ix.move_to(ResponderId(1), GeoPoint::new(lat, lon)),
            Err(DispatchError::InvalidCoordinate { .. })
        ));
    }
}

#[test]
fn each_bad_field_has_its_own_error() {
    let ix = index();
    let mut t = task(1);
    t.head_count = 0;
    assert_eq!(candidates(&ix, &[t], 4), Err(DispatchError::ZeroHeadCount(TaskId(1))));
    let mut t = task(1);
    t.max_distance_m = 0;
    assert!(matches!(candidates(&ix, &[t], 4), Err(DispatchError::MaxDistanceOutOfRange { .. })));
    assert_eq!(candidates(&ix, &[task(1)], 0), Err(DispatchError::ZeroK));
    assert_eq!(candidates(&ix, &[task(1), task(1)], 4), Err(DispatchError::DuplicateTaskId(TaskId(1))));
    assert_eq!(ResponderIndex::build(&[]).unwrap_err(), DispatchError::EmptyResponderSet);
    assert_eq!(
        ResponderIndex::build(&[responder(3, 31.3, 120.6), responder(3, 31.3, 120.6)]).unwrap_err(),
        DispatchError::DuplicateResponderId(ResponderId(3))
    );
    let mut ix2 = index();
    assert_eq!(ix2.insert(responder(1, 31.3, 120.6)), Err(DispatchError::DuplicateResponderId(ResponderId(1))));
    assert_eq!(ix2.set_busy(ResponderId(99), true), Err(DispatchError::UnknownResponder(ResponderId(99))));
    let mut r = responder(5, 31.3, 120.6);
    r.availability = Availability::Window { from: 10, until: 5 };
    assert_eq!(ix2.insert(r), Err(DispatchError::InvalidAvailability(ResponderId(5))));
    assert_eq!(SkillSet::from_skills(&[64]), Err(DispatchError::InvalidSkill(64)));
    // Emptied by removals: a solve is refused rather than silently empty.
    ix2.remove(ResponderId(1)).unwrap();
    ix2.remove(ResponderId(2)).unwrap();
    assert_eq!(candidates(&ix2, &[task(1)], 4), Err(DispatchError::EmptyResponderSet));
    assert!(CandidateGraph::from_parts(vec![(TaskId(1), 1, 100, vec![(5, 3)])], vec![ResponderId(1)]).is_err());
}

#[test]
fn messages_are_chinese_then_english() {
    let e = DispatchError::ZeroHeadCount(TaskId(7));
    assert_eq!(e.to_string(), format!("{} / {}", e.message_zh(), e.message_en()));
    assert!(e.message_zh().contains("需求人数"));
    assert!(e.message_en().contains("zero people"));
}

#[test]
fn garbage_dimacs_is_a_typed_error() {
    for bad in ["", "p max 3 1", "p min 2 1\na 1 9 0 1 1", "a 1 2 0 1 1", "p min 2 1\nn 1 x", "p min 2 1\nz"] {
        assert!(matches!(parse_dimacs(bad), Err(DispatchError::Dimacs { .. })), "{bad:?}");
    }
}

#[test]
fn infeasible_tasks_are_unfilled_with_the_reason() {
    let ix = index();
    let mut far = task(1);
    far.location = GeoPoint::new(31.9, 120.6); // ~65 km away, max 5 km
    let mut needs_insurance = task(2);
    needs_insurance.insurance_required = true;
    let mut needs_three = task(3);
    needs_three.head_count = 3;
    let plan = solve(&candidates(&ix, &[far, needs_insurance, needs_three], 4).unwrap());
    let reason = |id| plan.unfilled.iter().find(|u| u.task == TaskId(id)).unwrap().reason;
    assert_eq!(reason(1), UnfilledReason::Shortfall { detail: Shortfall::NoResponderInRange });
    assert_eq!(reason(2), UnfilledReason::Shortfall { detail: Shortfall::NoneEligibleInRange });
    let u3 = plan.unfilled.iter().find(|u| u.task == TaskId(3)).unwrap();
    assert_eq!(u3.missing, 1);
    assert_eq!(u3.reason, UnfilledReason::Shortfall { detail: Shortfall::TooFewEligible { eligible: 2 } });
    assert_eq!(plan.filled, 2);
}
