#!/usr/bin/env bash
# Run every Go fuzz target of the repo (each `func FuzzXxx` in a _test.go
# file) for FUZZTIME each, one after the other, and print one summary line
# per target: executions and corpus size (seeds + the cached corpus in
# GOCACHE/fuzz, and how many inputs this run added to it).
#
#   FUZZTIME            how long to fuzz each target (go's -fuzztime: 60s, 10000x); default 60s
#   FUZZ_MATCH          only targets whose "dir/FuzzName" matches this extended regexp
#   FUZZ_KEEP_CRASHERS  1 (default): a failing input stays where go writes it,
#                       PKG/testdata/fuzz/FuzzXxx/HASH, so that plain `go test` replays it
#                       from then on (commit it with the fix). 0 (make test): it is moved to
#                       FUZZ_CRASHERS_DIR instead, so a run leaves nothing in the tree.
#   FUZZ_CRASHERS_DIR   default bin/fuzz-crashers
#
# New interesting inputs go to the build cache only. Any failure (a
# crasher, a build error, a target that did not fuzz) fails the run, after
# every target has had its turn.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-60s}
FUZZ_MATCH=${FUZZ_MATCH:-}
FUZZ_KEEP_CRASHERS=${FUZZ_KEEP_CRASHERS:-1}
FUZZ_CRASHERS_DIR=${FUZZ_CRASHERS_DIR:-bin/fuzz-crashers}

# Targets as "dir FuzzName", from the test files outside dot-directories,
# testdata and vendor (the directories go itself skips).
mapfile -t targets < <(
	find . \( -name '.?*' -o -name testdata -o -name vendor \) -prune -o -name '*_test.go' -type f -print |
		sort |
		while read -r f; do
			sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*\*testing\.F\).*/\1/p' "$f" |
				while read -r name; do echo "$(dirname "$f") $name"; done
		done
)
if [ -n "$FUZZ_MATCH" ]; then
	mapfile -t targets < <(printf '%s\n' "${targets[@]}" | awk -v re="$FUZZ_MATCH" '{ if (($1 "/" $2) ~ re) print }')
fi
if [ "${#targets[@]}" -eq 0 ] || [ -z "${targets[0]}" ]; then
	echo "fuzz: no fuzz targets found${FUZZ_MATCH:+ matching $FUZZ_MATCH}"
	exit 1
fi

# bare_deadline LOG: go's output is the coordinator's deadline race and
# nothing else: the lines under "--- FAIL: FuzzXxx" are exactly one
# "context deadline exceeded", and no failing input was written.
bare_deadline() {
	! grep -q 'Failing input written to' "$1" &&
		awk '
			/^--- FAIL: / { in_fail = 1; next }
			in_fail && /^(FAIL|exit status)/ { in_fail = 0; next }
			in_fail { sub(/^[ \t]+/, ""); if ($0 == "context deadline exceeded") n++; else other++ }
			END { exit !(n == 1 && other == 0) }
		' "$1"
}

dw=0 nw=0
for t in "${targets[@]}"; do
	read -r dir name <<<"$t"
	dw=$((${#dir} > dw ? ${#dir} : dw)) nw=$((${#name} > nw ? ${#name} : nw))
done
echo "fuzz: ${#targets[@]} targets, ${FUZZTIME} each (FUZZTIME)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=()
for t in "${targets[@]}"; do
	read -r dir name <<<"$t"
	start=$SECONDS
	rc=0
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$dir" >"$log" 2>&1 || rc=$?
	# Go before 1.27 can fail a target at the -fuzztime boundary with a bare
	# "context deadline exceeded" and no failing input: a race in its own fuzz
	# coordinator (go.dev/issue/75804), not a finding. Such a run gets one
	# more turn; a second one like it still fails, and so does anything else.
	retried=""
	if [ "$rc" -ne 0 ] && bare_deadline "$log"; then
		retried=" (retried: go.dev/issue/75804)"
		rc=0
		"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$dir" >"$log" 2>&1 || rc=$?
	fi
	took=$((SECONDS - start))
	# The last status line: "fuzz: elapsed: 3s, execs: 41234 (13744/sec), new interesting: 2 (total: 57)".
	status=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -n 1 || true)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$status")
	new=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$status")
	total=$(sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p' <<<"$status")
	if [ -n "$status" ]; then
		what=$(printf 'execs %-9s corpus %s (+%s new)' "$execs" "$total" "$new")
	elif [ "$rc" -ne 0 ]; then
		what="go test failed"
	else
		# FUZZTIME ran out while go replayed the corpus (it counts in the
		# time): "fuzz: elapsed: 2s, gathering baseline coverage: 115/208 completed".
		status=$(grep -E '^fuzz: elapsed: .*gathering baseline coverage' "$log" | tail -n 1 || true)
		what="corpus replay only: $(sed -nE 's/.*coverage: ([0-9]+\/[0-9]+).*/\1/p' <<<"$status") inputs (raise FUZZTIME to fuzz)"
	fi
	summary=$(printf '%-*s %-*s %4ss  %s%s' "$dw" "$dir" "$nw" "$name" "$took" "$what" "$retried")
	if [ "$rc" -eq 0 ] && [ -n "$status" ]; then
		echo "fuzz ok   $summary"
		continue
	fi
	failed+=("$dir $name")
	echo "fuzz FAIL $summary"
	if [ "$rc" -eq 0 ]; then
		echo "  $name did not fuzz (build constraints? no fuzz status in go's output):"
	fi
	sed 's/^/  | /' "$log"
	# "Failing input written to testdata/fuzz/FuzzXxx/HASH", relative to the package.
	crasher=$(sed -nE 's/.*Failing input written to (testdata\/fuzz\/[^ ]+).*/\1/p' "$log" | tail -n 1)
	if [ -n "$crasher" ] && [ -f "$dir/$crasher" ]; then
		if [ "$FUZZ_KEEP_CRASHERS" = 1 ]; then
			echo "  kept $dir/$crasher: go test $dir replays it from now on; commit it with the fix"
		else
			dest="$FUZZ_CRASHERS_DIR/${dir#./}/$crasher"
			mkdir -p "$(dirname "$dest")"
			mv "$dir/$crasher" "$dest"
			rmdir -p "$(dirname "$dir/$crasher")" 2>/dev/null || true
			echo "  moved the failing input to $dest; to replay it: mkdir -p $dir/$(dirname "$crasher") && cp $dest $dir/$crasher && go test -run '^$name/' $dir"
		fi
	fi
done

if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed:"
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets ok"
