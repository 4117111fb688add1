#!/usr/bin/env python3
"""Reference solver for the dispatch bench: solves a DIMACS min-cost-flow file with OR-Tools.

Usage: pip install ortools numpy && python3 reference_mcf.py FILE.dimacs
Prints one JSON line: optimal cost, solve seconds (OR-Tools' Solve() only, wall and CPU; CPU
time is the figure to compare on a machine shared with other jobs) and load seconds.
Used for the measured report, not in CI.
"""
import json
import sys
import time

import numpy as np
from ortools.graph.python import min_cost_flow


def load(path):
    tails, heads, caps, costs, supplies = [], [], [], [], {}
    nodes = 0
    with open(path) as f:
        for line in f:
            if not line or line[0] == "c":
                continue
            parts = line.split()
            if not parts:
                continue
            kind = parts[0]
            if kind == "a":
                u, v, low, cap, cost = map(int, parts[1:6])
                if low != 0:
                    raise SystemExit("lower bounds are not supported")
                tails.append(u - 1)
                heads.append(v - 1)
                caps.append(cap)
                costs.append(cost)
            elif kind == "n":
                supplies[int(parts[1]) - 1] = int(parts[2])
            elif kind == "p":
                nodes = int(parts[2])
    return nodes, tails, heads, caps, costs, supplies


def main():
    t0 = time.perf_counter()
    nodes, tails, heads, caps, costs, supplies = load(sys.argv[1])
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.array(tails, dtype=np.int32),
        np.array(heads, dtype=np.int32),
        np.array(caps, dtype=np.int64),
        np.array(costs, dtype=np.int64),
    )
    for node, s in supplies.items():
        smcf.set_node_supply(node, s)
    load_s = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), time.process_time()
    status = smcf.solve()
    solve_s, solve_cpu_s = time.perf_counter() - t1, time.process_time() - c1
    if status != smcf.OPTIMAL:
        raise SystemExit(f"OR-Tools status {status}")
    print(json.dumps({
        "solver": "ortools.SimpleMinCostFlow",
        "nodes": nodes,
        "arcs": len(tails),
        "cost": smcf.optimal_cost(),
        "solve_s": round(solve_s, 3),
        "solve_cpu_s": round(solve_cpu_s, 3),
        "load_s": round(load_s, 3),
    }))


if __name__ == "__main__":
    main()
