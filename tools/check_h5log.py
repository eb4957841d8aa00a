#!/usr/bin/env python3
"""Reads a harness HDF5 run log with h5py and checks its schema (results/README.md):
provenance attributes on the root, and every table group's columns of equal length.
Prints one line per table: "<table> rows=<n> step_sum=<sum of step or -1>".
Usage: python3 tools/check_h5log.py RUN.h5   (exit 0 when the file is valid)"""
import sys

import h5py

ROOT_ATTRS = ["schema_version", "manifest", "manifest_sha256", "git_commit", "harness_version",
              "hdf5_version", "openblas_config", "compiler", "host", "threads", "start_time"]


def main():
    with h5py.File(sys.argv[1], "r") as f:
        missing = [a for a in ROOT_ATTRS if a not in f.attrs]
        if missing:
            sys.exit("missing root attributes: " + ", ".join(missing))
        tables = []
        f.visititems(lambda name, obj: tables.append(name)
                     if isinstance(obj, h5py.Group) and name.endswith(("/train", "/eval")) else None)
        for name in sorted(tables):
            g = f[name]
            lengths = {c: g[c].shape[0] for c in g}
            if len(set(lengths.values())) > 1:
                sys.exit(f"{name}: columns differ in length: {lengths}")
            rows = next(iter(lengths.values()), 0)
            step_sum = int(g["step"][:].sum()) if "step" in g else -1
            print(f"{name} rows={rows} step_sum={step_sum}")


if __name__ == "__main__":
    main()
