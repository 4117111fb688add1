//! Spatial index of responders and the K-nearest-eligible candidate search.
//!
//! A uniform grid over the local tangent plane (see [`crate::geo`]), with each cell holding
//! compact copies of its responders' positions and eligibility fields. Why a grid rather than
//! a k-d tree crate (kiddo, rstar): the search must skip ineligible responders (skills,
//! insurance, availability) and stop at the task's maximum distance, both of which a ring
//! search with a predicate does in one pass, whereas a k-NN tree query without a predicate must
//! over-fetch and retry; moving, removing or benching a responder is an O(1) swap-remove in one
//! cell; and the cell scan reads contiguous memory. Rings are visited outward and the search
//! stops once the nearest possible point of the next ring is farther than the K-th best found,
//! so the result is the exact K nearest eligible responders by great-circle distance.

use crate::error::DispatchError;
use crate::geo::{arc_to_chord_m, chord_to_arc_m, Frame, GeoPoint};
use crate::graph::{CandidateGraph, Shortfall};
use crate::model::{Availability, Responder, ResponderId, SkillSet, Task};
use std::collections::{BinaryHeap, HashMap};

/// Default edge of a grid cell, metres (measured fastest among 250/500/1000 m on the bench).
pub const DEFAULT_CELL_M: f64 = 500.0;
/// Upper bound on the number of grid cells; wider data gets larger cells.
const MAX_CELLS: f64 = 2.0e6;
const NONE: u32 = u32::MAX;

/// One candidate responder for a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The responder.
    pub responder: ResponderId,
    /// Great-circle distance to the task, whole metres.
    pub distance_m: u32,
}

/// What a grid cell keeps per free responder for the scan, in 24 bytes: the position as f32
/// offsets from the cell's reference point (sub-millimetre within a cell, so ranking and
/// whole-metre distances are those of the exact sphere computation to well under a
/// centimetre), the skills, and the slot number with two flag bits.
#[derive(Debug, Clone, Copy)]
struct Entry {
    d: [f32; 3],
    tag: u32,
    skills: u64,
}

const INSURED: u32 = 1 << 31;
const WINDOWED: u32 = 1 << 30;
const SLOT_MASK: u32 = WINDOWED - 1;
/// Largest number of responder slots (two bits of the entry tag are flags).
pub const MAX_RESPONDERS: usize = SLOT_MASK as usize;

/// One grid cell: hot entries, and availability windows read only for windowed responders.
#[derive(Debug, Clone, Default)]
struct Cell {
    hot: Vec<Entry>,
    windows: Vec<(i64, i64)>,
}

#[derive(Debug, Clone)]
struct Slot {
    id: ResponderId,
    location: GeoPoint,
    skills: SkillSet,
    insured: bool,
    availability: Availability,
    busy: bool,
    /// Cell holding the entry, or `NONE` when busy (busy responders are not in the grid).
    cell: u32,
    pos: u32,
}

/// A prepared query: the task's position and filters.
struct Query {
    p: [f64; 3],
    x: f64,
    y: f64,
    required: u64,
    insurance: bool,
    start_at: i64,
    max_chord2: f64,
    max_m: u32,
    filter: bool,
}

/// Squared chord of a heap key (upper half: f32 bits).
#[inline]
fn key_d2(key: u64) -> f64 {
    f32::from_bits((key >> 32) as u32) as f64
}

/// Spatial index of responders, updated incrementally.
#[derive(Debug, Clone)]
pub struct ResponderIndex {
    frame: Frame,
    cell_m: f64,
    x0: f64,
    y0: f64,
    nx: i64,
    ny: i64,
    cells: Vec<Cell>,
    slots: Vec<Option<Slot>>,
    /// Id per slot, dense and compact: the candidate merge reads it for every new column.
    ids: Vec<ResponderId>,
    vacant: Vec<u32>,
    by_id: HashMap<ResponderId, u32>,
    free_count: usize,
}

impl ResponderIndex {
    /// Builds the index with the default cell size. An empty list or a duplicate id is an error.
    pub fn build(responders: &[Responder]) -> Result<Self, DispatchError> {
        Self::build_with_cell(responders, DEFAULT_CELL_M)
    }

    /// Builds the index with grid cells of `cell_m` metres (clamped to at least 10 m).
    pub fn build_with_cell(responders: &[Responder], cell_m: f64) -> Result<Self, DispatchError> {
        if responders.is_empty() {
            return Err(DispatchError::EmptyResponderSet);
        }
        if responders.len() > MAX_RESPONDERS {
            return Err(DispatchError::TooManyResponders);
        }
        let mut by_id = HashMap::with_capacity(responders.len());
        for (i, r) in responders.iter().enumerate() {
            r.validate()?;
            if by_id.insert(r.id, i as u32).is_some() {
                return Err(DispatchError::DuplicateResponderId(r.id));
            }
        }
        let n = responders.len() as f64;
        let (lat, lon) =
            responders.iter().fold((0.0, 0.0), |(a, b), r| (a + r.location.lat / n, b + r.location.lon / n));
        let frame = Frame::new(GeoPoint::new(lat, lon));
        let slots = responders
            .iter()
            .map(|r| {
                Some(Slot {
                    id: r.id,
                    location: r.location,
                    skills: r.skills,
                    insured: r.insured,
                    availability: r.availability,
                    busy: r.busy,
                    cell: NONE,
                    pos: 0,
                })
            })
            .collect();
        let mut index = ResponderIndex {
            frame,
            cell_m: cell_m.max(10.0),
            x0: 0.0,
            y0: 0.0,
            nx: 0,
            ny: 0,
            cells: Vec::new(),
            slots,
            ids: responders.iter().map(|r| r.id).collect(),
            vacant: Vec::new(),
            by_id,
            free_count: 0,
        };
        index.regrid(None);
        Ok(index)
    }

    /// Number of responders in the index (busy or not).
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when the index holds no responder.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Number of responders not holding a task.
    pub fn free_len(&self) -> usize {
        self.free_count
    }

    /// The responder as currently indexed.
    pub fn get(&self, id: ResponderId) -> Option<Responder> {
        let s = self.slots[*self.by_id.get(&id)? as usize].as_ref()?;
        Some(Responder {
            id: s.id,
            location: s.location,
            skills: s.skills,
            insured: s.insured,
            availability: s.availability,
            busy: s.busy,
        })
    }

    /// Adds a responder; its id must be new.
    pub fn insert(&mut self, r: Responder) -> Result<(), DispatchError> {
        r.validate()?;
        if self.by_id.contains_key(&r.id) {
            return Err(DispatchError::DuplicateResponderId(r.id));
        }
        if self.vacant.is_empty() && self.slots.len() >= MAX_RESPONDERS {
            return Err(DispatchError::TooManyResponders);
        }
        let slot = Slot {
            id: r.id,
            location: r.location,
            skills: r.skills,
            insured: r.insured,
            availability: r.availability,
            busy: r.busy,
            cell: NONE,
            pos: 0,
        };
        let s = match self.vacant.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(slot);
                self.ids[s as usize] = r.id;
                s
            }
            None => {
                self.slots.push(Some(slot));
                self.ids.push(r.id);
                (self.slots.len() - 1) as u32
            }
        };
        self.by_id.insert(r.id, s);
        if !r.busy {
            self.place(s);
        }
        Ok(())
    }

    /// Replaces a responder's record (position, skills, insurance, availability, busy).
    pub fn update(&mut self, r: Responder) -> Result<(), DispatchError> {
        r.validate()?;
        let s = self.slot_of(r.id)?;
        self.unplace(s);
        let slot = self.slots[s as usize].as_mut().expect("slot of a known id");
        slot.location = r.location;
        slot.skills = r.skills;
        slot.insured = r.insured;
        slot.availability = r.availability;
        slot.busy = r.busy;
        if !r.busy {
            self.place(s);
        }
        Ok(())
    }

    /// Moves a responder to a new position.
    pub fn move_to(&mut self, id: ResponderId, location: GeoPoint) -> Result<(), DispatchError> {
        location.validate(|| format!("响应人员/responder {}", id.0))?;
        let s = self.slot_of(id)?;
        let busy = {
            let slot = self.slots[s as usize].as_mut().expect("slot of a known id");
            slot.location = location;
            slot.busy
        };
        self.unplace(s);
        if !busy {
            self.place(s);
        }
        Ok(())
    }

    /// Removes a responder (gone off duty). Returns the record that was indexed.
    pub fn remove(&mut self, id: ResponderId) -> Result<Responder, DispatchError> {
        let r = self.get(id).ok_or(DispatchError::UnknownResponder(id))?;
        let s = self.slot_of(id)?;
        self.unplace(s);
        self.slots[s as usize] = None;
        self.vacant.push(s);
        self.by_id.remove(&id);
        Ok(r)
    }

    /// Marks a responder as holding a task (`true`, never a candidate) or free again (`false`).
    pub fn set_busy(&mut self, id: ResponderId, busy: bool) -> Result<(), DispatchError> {
        let s = self.slot_of(id)?;
        let slot = self.slots[s as usize].as_mut().expect("slot of a known id");
        if slot.busy == busy {
            return Ok(());
        }
        slot.busy = busy;
        if busy {
            self.unplace(s);
        } else {
            self.place(s);
        }
        Ok(())
    }

    fn slot_of(&self, id: ResponderId) -> Result<u32, DispatchError> {
        self.by_id.get(&id).copied().ok_or(DispatchError::UnknownResponder(id))
    }

    /// Re-buckets every free responder; with `extra`, the bounding box also covers that point.
    fn regrid(&mut self, extra: Option<(f64, f64)>) {
        let mut pts: Vec<(f64, f64)> =
            self.slots.iter().flatten().map(|s| self.frame.plane(self.frame.local(s.location))).collect();
        pts.extend(extra);
        let (mut xmin, mut xmax, mut ymin, mut ymax) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for &(x, y) in &pts {
            xmin = xmin.min(x);
            xmax = xmax.max(x);
            ymin = ymin.min(y);
            ymax = ymax.max(y);
        }
        // A margin so that nearby moves do not trigger another re-grid.
        let mx = (xmax - xmin) * 0.1 + self.cell_m;
        let my = (ymax - ymin) * 0.1 + self.cell_m;
        let (w, h) = (xmax - xmin + 2.0 * mx, ymax - ymin + 2.0 * my);
        self.cell_m = self.cell_m.max((w * h / MAX_CELLS).sqrt());
        self.x0 = xmin - mx;
        self.y0 = ymin - my;
        self.nx = (w / self.cell_m).ceil() as i64 + 1;
        self.ny = (h / self.cell_m).ceil() as i64 + 1;
        self.cells = vec![Cell::default(); (self.nx * self.ny) as usize];
        self.free_count = 0;
        for s in 0..self.slots.len() {
            if let Some(slot) = self.slots[s].as_mut() {
                slot.cell = NONE;
                if !slot.busy {
                    self.place(s as u32);
                }
            }
        }
    }

    #[inline]
    fn cell_coords(&self, x: f64, y: f64) -> (i64, i64) {
        (((x - self.x0) / self.cell_m).floor() as i64, ((y - self.y0) / self.cell_m).floor() as i64)
    }

    /// Reference point of cell `(xx, yy)`: its centre lifted onto the sphere.
    #[inline]
    fn cell_origin(&self, xx: i64, yy: i64) -> [f64; 3] {
        let cm = self.cell_m;
        self.frame.lift(self.x0 + (xx as f64 + 0.5) * cm, self.y0 + (yy as f64 + 0.5) * cm)
    }

    fn place(&mut self, s: u32) {
        let slot = self.slots[s as usize].as_ref().expect("placing a live slot");
        let p = self.frame.local(slot.location);
        let (from, until) = slot.availability.bounds();
        let (x, y) = self.frame.plane(p);
        let (cx, cy) = self.cell_coords(x, y);
        if cx < 0 || cy < 0 || cx >= self.nx || cy >= self.ny {
            self.regrid(Some((x, y)));
            return; // regrid placed it
        }
        let o = self.cell_origin(cx, cy);
        let mut tag = s;
        if slot.insured {
            tag |= INSURED;
        }
        if (from, until) != (i64::MIN, i64::MAX) {
            tag |= WINDOWED;
        }
        let entry =
            Entry { d: [(p[0] - o[0]) as f32, (p[1] - o[1]) as f32, (p[2] - o[2]) as f32], tag, skills: slot.skills.0 };
        let c = (cy * self.nx + cx) as usize;
        self.cells[c].hot.push(entry);
        self.cells[c].windows.push((from, until));
        let pos = (self.cells[c].hot.len() - 1) as u32;
        let slot = self.slots[s as usize].as_mut().expect("placing a live slot");
        slot.cell = c as u32;
        slot.pos = pos;
        self.free_count += 1;
    }

    fn unplace(&mut self, s: u32) {
        let slot = self.slots[s as usize].as_mut().expect("unplacing a live slot");
        if slot.cell == NONE {
            return;
        }
        let (c, pos) = (slot.cell as usize, slot.pos as usize);
        slot.cell = NONE;
        let cell = &mut self.cells[c];
        cell.hot.swap_remove(pos);
        cell.windows.swap_remove(pos);
        if pos < cell.hot.len() {
            let moved = cell.hot[pos].tag & SLOT_MASK;
            self.slots[moved as usize].as_mut().expect("entry of a live slot").pos = pos as u32;
        }
        self.free_count -= 1;
    }

    fn query(&self, task: &Task, filter: bool) -> Query {
        let p = self.frame.local(task.location);
        let (x, y) = self.frame.plane(p);
        let max_chord = arc_to_chord_m(task.max_distance_m as f64);
        Query {
            p,
            x,
            y,
            required: task.required_skills.0,
            insurance: task.insurance_required,
            start_at: task.start_at,
            // A hair of slack for rounding; exact distance is re-checked on the arc below.
            max_chord2: max_chord * max_chord * (1.0 + 1e-12),
            max_m: task.max_distance_m,
            filter,
        }
    }

    /// The `k` nearest free responders eligible for `task` (skills, insurance, availability,
    /// maximum distance), nearest first; ties by insertion order.
    pub fn nearest_eligible(&self, task: &Task, k: usize) -> Result<Vec<Candidate>, DispatchError> {
        task.validate()?;
        if k == 0 {
            return Err(DispatchError::ZeroK);
        }
        let mut heap = BinaryHeap::new();
        let mut out = Vec::new();
        self.knn(&self.query(task, true), k, &mut heap, &mut out);
        Ok(out
            .into_iter()
            .map(|(s, m)| Candidate { responder: self.slots[s as usize].as_ref().expect("live").id, distance_m: m })
            .collect())
    }

    /// Exact K-nearest search; `out` receives `(slot, metres)` nearest first.
    fn knn(&self, q: &Query, k: usize, heap: &mut BinaryHeap<u64>, out: &mut Vec<(u32, u32)>) {
        heap.clear();
        out.clear();
        let (cx, cy) = self.cell_coords(q.x, q.y);
        // First ring that touches the grid (a task may lie outside the responders' box).
        let gap = |c: i64, n: i64| {
            if c < 0 {
                -c
            } else if c >= n {
                c - n + 1
            } else {
                0
            }
        };
        let start = gap(cx, self.nx).max(gap(cy, self.ny));
        let cm = self.cell_m;
        let mut r = start;
        loop {
            if r > 0 {
                // Every point of ring r lies outside the block of radius r-1 around (cx, cy).
                let lx = q.x - (self.x0 + (cx - r + 1) as f64 * cm);
                let hx = (self.x0 + (cx + r) as f64 * cm) - q.x;
                let ly = q.y - (self.y0 + (cy - r + 1) as f64 * cm);
                let hy = (self.y0 + (cy + r) as f64 * cm) - q.y;
                let lb = lx.min(hx).min(ly).min(hy).max(0.0) * (1.0 - 1e-5);
                let lb2 = lb * lb;
                if lb2 > q.max_chord2 {
                    break;
                }
                if heap.len() == k && lb2 > key_d2(*heap.peek().expect("k > 0")) {
                    break;
                }
            }
            let (x_lo, x_hi) = ((cx - r).max(0), (cx + r).min(self.nx - 1));
            let (y_lo, y_hi) = ((cy - r).max(0), (cy + r).min(self.ny - 1));
            if x_lo <= x_hi && y_lo <= y_hi {
                for yy in y_lo..=y_hi {
                    if yy == cy - r || yy == cy + r {
                        for xx in x_lo..=x_hi {
                            self.scan_cell(xx, yy, q, k, heap);
                        }
                    } else {
                        if cx - r >= 0 {
                            self.scan_cell(cx - r, yy, q, k, heap);
                        }
                        if r > 0 && cx + r < self.nx {
                            self.scan_cell(cx + r, yy, q, k, heap);
                        }
                    }
                }
            }
            if cx - r <= 0 && cx + r >= self.nx - 1 && cy - r <= 0 && cy + r >= self.ny - 1 {
                break; // the block covers the whole grid
            }
            r += 1;
        }
        // Popping the max-heap yields the keys farthest first: fill, then reverse.
        let max_m = q.max_m;
        let from = out.len();
        while let Some(key) = heap.pop() {
            let m = chord_to_arc_m(key_d2(key).sqrt()).round() as u32;
            if m <= max_m {
                out.push(((key as u32) & SLOT_MASK, m));
            }
        }
        out[from..].reverse();
    }

    /// Scans one cell unless its nearest point is already beyond the K-th best or the range.
    #[inline]
    fn scan_cell(&self, xx: i64, yy: i64, q: &Query, k: usize, heap: &mut BinaryHeap<u64>) {
        let cell = &self.cells[(yy * self.nx + xx) as usize];
        if cell.hot.is_empty() {
            return;
        }
        let cm = self.cell_m;
        let (x_lo, y_lo) = (self.x0 + xx as f64 * cm, self.y0 + yy as f64 * cm);
        let dx = (x_lo - q.x).max(q.x - (x_lo + cm)).max(0.0);
        let dy = (y_lo - q.y).max(q.y - (y_lo + cm)).max(0.0);
        // Shrunk a hair so rounding can never skip a cell that holds a true neighbour.
        let lb2 = (dx * dx + dy * dy) * (1.0 - 1e-5);
        if lb2 > q.max_chord2 {
            return;
        }
        if heap.len() == k && lb2 > key_d2(*heap.peek().expect("k > 0")) {
            return;
        }
        let o = self.cell_origin(xx, yy);
        let qd = [(q.p[0] - o[0]) as f32, (q.p[1] - o[1]) as f32, (q.p[2] - o[2]) as f32];
        self.scan(cell, q, qd, k, heap);
    }

    #[inline]
    fn scan(&self, cell: &Cell, q: &Query, qd: [f32; 3], k: usize, heap: &mut BinaryHeap<u64>) {
        let max2 = q.max_chord2 as f32;
        for (i, e) in cell.hot.iter().enumerate() {
            if q.filter {
                if e.skills & q.required != q.required || (q.insurance && e.tag & INSURED == 0) {
                    continue;
                }
                if e.tag & WINDOWED != 0 {
                    let (from, until) = cell.windows[i];
                    if from > q.start_at || q.start_at > until {
                        continue;
                    }
                }
            }
            let (a, b, c) = (e.d[0] - qd[0], e.d[1] - qd[1], e.d[2] - qd[2]);
            let d2 = a * a + b * b + c * c;
            if d2 > max2 {
                continue;
            }
            // Non-negative f32 order equals the order of their bit patterns; the slot number
            // in the low half breaks ties deterministically.
            let key = ((d2.to_bits() as u64) << 32) | (e.tag & SLOT_MASK) as u64;
            if heap.len() < k {
                heap.push(key);
            } else if key < *heap.peek().expect("k > 0") {
                heap.pop();
                heap.push(key);
            }
        }
    }

    /// Explains why a task has fewer eligible candidates than its head count.
    fn shortfall(&self, task: &Task, found: usize) -> Shortfall {
        if found > 0 {
            return Shortfall::TooFewEligible { eligible: found as u32 };
        }
        let mut heap = BinaryHeap::new();
        let mut out = Vec::new();
        self.knn(&self.query(task, false), 1, &mut heap, &mut out);
        if out.is_empty() {
            Shortfall::NoResponderInRange
        } else {
            Shortfall::NoneEligibleInRange
        }
    }
}

/// The single-task fast path: the `head_count` best free eligible responders for one urgent
/// task, found by one grid search without re-solving anything (nearest first).
pub fn best_for_task(index: &ResponderIndex, task: &Task) -> Result<Vec<Candidate>, DispatchError> {
    index.nearest_eligible(task, task.head_count as usize)
}

/// Builds the candidate graph: for each task its `max(k, head_count)` nearest eligible free
/// responders within its maximum distance. Runs on all available cores.
pub fn candidates(index: &ResponderIndex, tasks: &[Task], k: usize) -> Result<CandidateGraph, DispatchError> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    candidates_with_threads(index, tasks, k, threads)
}

/// [`candidates`] on at most `threads` threads (at least one, at most 16).
pub fn candidates_with_threads(
    index: &ResponderIndex,
    tasks: &[Task],
    k: usize,
    threads: usize,
) -> Result<CandidateGraph, DispatchError> {
    if k == 0 {
        return Err(DispatchError::ZeroK);
    }
    if index.is_empty() {
        return Err(DispatchError::EmptyResponderSet);
    }
    let mut seen = std::collections::HashSet::with_capacity(tasks.len());
    for t in tasks {
        t.validate()?;
        if !seen.insert(t.id) {
            return Err(DispatchError::DuplicateTaskId(t.id));
        }
    }
    let threads = threads.clamp(1, 16);
    // Query in grid order: tasks cluster around incidents, so consecutive queries read the
    // same cells from cache. Results are put back in input order below.
    let mut order: Vec<u32> = (0..tasks.len() as u32).collect();
    let keys: Vec<u64> = tasks
        .iter()
        .map(|t| {
            let (x, y) = index.frame.plane(index.frame.local(t.location));
            let (cx, cy) = index.cell_coords(x, y);
            ((cy.clamp(-1, index.ny) + 1) as u64) << 32 | (cx.clamp(-1, index.nx) + 1) as u64
        })
        .collect();
    order.sort_unstable_by_key(|&i| (keys[i as usize], i));
    let chunk = order.len().div_ceil(threads).max(1);
    // Each worker returns, per task it handled, (task, start, len) into its flat edge list.
    type Part = (Vec<(u32, u32, u32)>, Vec<(u32, u32)>, Vec<(usize, Shortfall)>);
    let parts: Vec<Part> = std::thread::scope(|scope| {
        let handles: Vec<_> = order
            .chunks(chunk)
            .map(|mine| {
                scope.spawn(move || {
                    let mut heap = BinaryHeap::new();
                    let mut out = Vec::new();
                    let mut spans = Vec::with_capacity(mine.len());
                    let mut edges = Vec::with_capacity(mine.len() * k);
                    let mut short = Vec::new();
                    for &i in mine {
                        let t = &tasks[i as usize];
                        let kk = k.max(t.head_count as usize);
                        index.knn(&index.query(t, true), kk, &mut heap, &mut out);
                        spans.push((i, edges.len() as u32, out.len() as u32));
                        edges.extend_from_slice(&out);
                        if out.len() < t.head_count as usize {
                            short.push((i as usize, index.shortfall(t, out.len())));
                        }
                    }
                    (spans, edges, short)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("candidate worker panicked")).collect()
    });
    // Where each task's list lives: (part, start, len).
    let mut at = vec![(0u32, 0u32, 0u32); tasks.len()];
    for (p, (spans, _, _)) in parts.iter().enumerate() {
        for &(i, start, len) in spans {
            at[i as usize] = (p as u32, start, len);
        }
    }
    // Local column numbers in grid order of first appearance: deterministic, and neighbours
    // in space get neighbouring numbers, which keeps the solver's memory accesses local.
    let mut local = vec![NONE; index.slots.len()];
    let mut responder_ids = Vec::new();
    for &i in &order {
        let (p, start, len) = at[i as usize];
        for &(s, _) in &parts[p as usize].1[start as usize..(start + len) as usize] {
            let l = &mut local[s as usize];
            if *l == NONE {
                *l = responder_ids.len() as u32;
                responder_ids.push(index.ids[s as usize]);
            }
        }
    }
    let total: usize = parts.iter().map(|p| p.1.len()).sum();
    let mut offsets = Vec::with_capacity(tasks.len() + 1);
    let mut cols = Vec::with_capacity(total);
    let mut costs = Vec::with_capacity(total);
    offsets.push(0u32);
    for &(p, start, len) in &at {
        let edges = &parts[p as usize].1;
        for &(s, m) in &edges[start as usize..(start + len) as usize] {
            cols.push(local[s as usize]);
            costs.push(m);
        }
        offsets.push(cols.len() as u32);
    }
    let mut shortfalls: Vec<(usize, Shortfall)> = parts.into_iter().flat_map(|(_, _, short)| short).collect();
    shortfalls.sort_unstable_by_key(|&(i, _)| i);
    Ok(CandidateGraph::new_unchecked(
        tasks.iter().map(|t| t.id).collect(),
        tasks.iter().map(|t| t.head_count).collect(),
        tasks.iter().map(|t| t.penalty()).collect(),
        offsets,
        cols,
        costs,
        responder_ids,
        shortfalls,
    ))
}
