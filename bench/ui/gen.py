#!/usr/bin/env python3
"""gen.py: the data of the UI benchmark (deterministic).

    gen.py dag  OUT.yaml [--tasks 200] [--dag ui_bench]
    gen.py runs OUT.sql  [--tasks 200] [--runs 100] [--dag ui_bench]

`dag` writes a DAG file of T tasks in layers of 10 (each task depends on one
to three tasks of the layer before), paused on creation, without schedule.

`runs` writes SQL that inserts R finished runs of that DAG with one task
instance per task: mostly success, and every seventh run failed (one task
failed, its downstream tasks upstream_failed), every eleventh with a skipped
branch.  Rows are inserted directly (the state guards fire on UPDATE only),
in terminal states, so the scheduler has nothing to do with them.  The SQL
runs in one transaction.
"""
import argparse
import random


def layers(ntasks):
    """Task ids, and for each task its upstream ids."""
    ids = [f"t{i:03d}" for i in range(ntasks)]
    ups = {}
    rng = random.Random(7)
    for i, tid in enumerate(ids):
        layer = i // 10
        if layer == 0:
            ups[tid] = []
            continue
        prev = ids[(layer - 1) * 10:layer * 10]
        ups[tid] = sorted(rng.sample(prev, rng.randint(1, min(3, len(prev)))))
    return ids, ups


def write_dag(path, ntasks, dag):
    ids, ups = layers(ntasks)
    out = ["# UI benchmark DAG (bench/ui/gen.py): %d tasks in layers of 10." % ntasks,
           "version: 1",
           f"dag: {dag}",
           f"description: UI benchmark, {ntasks} tasks",
           "tags: [bench]",
           "schedule: null",
           "is_paused_upon_creation: true",
           "params:",
           "  size: {type: integer, minimum: 1, default: 1}",
           "tasks:"]
    for tid in ids:
        out.append(f"  - id: {tid}")
        out.append("    operator: command")
        if ups[tid]:
            out.append(f"    depends_on: [{', '.join(ups[tid])}]")
        out.append("    shell: \"true\"")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def downstream_closure(ids, ups, start):
    down = {t: [] for t in ids}
    for t in ids:
        for u in ups[t]:
            down[u].append(t)
    seen, stack = set(), [start]
    while stack:
        t = stack.pop()
        for d in down[t]:
            if d not in seen:
                seen.add(d)
                stack.append(d)
    return seen


def write_runs(path, ntasks, nruns, dag):
    ids, ups = layers(ntasks)
    rng = random.Random(11)
    out = ["BEGIN;"]
    for r in range(nruns):
        # One run a day, oldest first, ending yesterday.
        day = nruns - r
        failed = r % 7 == 3
        state = "FAILED" if failed else "SUCCESS"
        run_id = f"bench__{r:04d}"
        out.append(
            "INSERT INTO dag_runs (order_id, dag_id, run_id, run_type, state, logical_date,"
            " data_interval_start, data_interval_end, received_at, queued_at, started_at, ended_at)"
            f" VALUES (gen_random_uuid(), '{dag}', '{run_id}', 'manual', '{state}',"
            f" now() - interval '{day} days', now() - interval '{day} days', now() - interval '{day} days',"
            f" now() - interval '{day} days', now() - interval '{day} days',"
            f" now() - interval '{day} days', now() - interval '{day} days' + interval '10 minutes');")
        states = {t: "success" for t in ids}
        if failed:
            bad = ids[rng.randrange(10, ntasks - 10)] if ntasks > 20 else ids[-1]
            states[bad] = "failed"
            for d in downstream_closure(ids, ups, bad):
                states[d] = "upstream_failed"
        elif r % 11 == 5 and ntasks > 30:
            sk = ids[rng.randrange(20, ntasks - 10)]
            states[sk] = "skipped"
            for d in downstream_closure(ids, ups, sk):
                states[d] = "skipped"
        rows = []
        for i, t in enumerate(ids):
            s = states[t]
            ran = s in ("success", "failed")
            t0 = f"now() - interval '{day} days' + interval '{(i // 10) * 30} seconds'"
            t1 = f"now() - interval '{day} days' + interval '{(i // 10) * 30 + 20 + i % 7} seconds'"
            rows.append(
                f"((SELECT id FROM dag_runs WHERE dag_id = '{dag}' AND run_id = '{run_id}'), '{t}', '{dag}',"
                f" '{s}', {1 if ran else 0}, 1, 'default_pool',"
                f" {t0 if ran else 'NULL'}, {t1 if ran else 'NULL'}, {t0 if ran else 'NULL'},"
                f" {0 if s == 'success' else (1 if s == 'failed' else 'NULL')})")
        out.append("INSERT INTO task_instances (run_pk, task_id, dag_id, state, try_number, max_tries,"
                   " pool, started_at, ended_at, queued_at, exit_code) VALUES\n" + ",\n".join(rows) + ";")
    out.append("COMMIT;")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["dag", "runs"])
    ap.add_argument("out")
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--dag", default="ui_bench")
    a = ap.parse_args()
    if a.what == "dag":
        write_dag(a.out, a.tasks, a.dag)
    else:
        write_runs(a.out, a.tasks, a.runs, a.dag)


if __name__ == "__main__":
    main()
