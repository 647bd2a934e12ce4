#!/bin/sh
# Replay the query fuzzer's seed corpus without libFuzzer (run by make check).
# Any crash or broken invariant aborts the driver and fails the test.
set -e
top_srcdir=${TOP_SRCDIR:-$(dirname "$0")/../..}
top_builddir=${TOP_BUILDDIR:-.}
exec "$top_builddir/tests/fuzz/replay_query" "$top_srcdir/tests/fuzz/corpus/query"
