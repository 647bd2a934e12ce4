#!/bin/sh
# Replay the agent reply fuzzer's seed corpus without libFuzzer (run by make check).
# Any crash or broken invariant aborts the driver and fails the test; a seed
# that hangs the parser fails it after two minutes instead of stalling make.
set -e
top_srcdir=${TOP_SRCDIR:-$(dirname "$0")/../..}
top_builddir=${TOP_BUILDDIR:-.}
limit=
if command -v timeout >/dev/null 2>&1; then
	limit="timeout 120"
fi
exec $limit "$top_builddir/tests/fuzz/replay_agent" "$top_srcdir/tests/fuzz/corpus/agent"
