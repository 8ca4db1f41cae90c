package mcpclient_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
)

// The conformance suite's auth scenarios with the real binaries as the
// client, as a user (or a script) would run them: `mcptray serve`, then
// `mcptray login srv`, `mcptray tools srv` and `mcptray call srv
// test-tool`. The client command the suite runs is a shell script that
// writes a config with the suite's server URL, starts the hub with
// $BROWSER set to a "browser" (curl following the authorization server's
// redirects to the hub's loopback callback: the suite's authorization
// servers approve at once) and runs the commands; each must exit 0.
//
// auth/scope-step-up is the case of issue 11: the tools/call gets 403
// insufficient_scope, and `mcptray call` must wait for the step-up sign-in
// (the second authorization request, with the union of the scopes) and
// print the result, instead of failing at once.

// binaryScenarios are the scenarios run through the binaries, with the
// SUCCESS checks that prove the behaviour happened and any top-level
// config the scenario needs.
var binaryScenarios = []struct {
	name    string
	success []string
	config  string // extra top-level config entries
}{
	{name: "auth/scope-step-up", success: checks(discovered, []string{"client-registration", "scope-step-up-initial", "scope-step-up-escalation"}, authCodeFlow, usedToken)},
	// The server refuses every token with 403 insufficient_scope: the
	// commands wait for the step-up sign-ins and give up after at most 3
	// authorization requests (the client's exit status is not scored).
	{name: "auth/scope-retry-limit", success: checks(discovered, []string{"client-registration", "scope-retry-limit"}, authCodeFlow)},
	// The client ID metadata document URL the suite's authorization server
	// accepts, set as a user would set mcptray's published one.
	{name: "auth/basic-cimd", success: checks(discovered, []string{"cimd-client-id-used"}, authCodeFlow, usedToken),
		config: `"clientMetadataUrl": "https://conformance-test.local/client-metadata.json"`},
}

func TestConformanceBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("the conformance suite runs Node.js; skipped with -short")
	}
	node := testenv.Node22(t)
	cli := filepath.Join(testenv.NPMDir(t), filepath.FromSlash(conformanceCLI))
	if _, err := os.Stat(cli); err != nil {
		testenv.Require(t, "@modelcontextprotocol/conformance ("+cli+")")
	}
	bin := bins(t)
	for _, c := range binaryScenarios {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			suite := &conformanceSuite{node: node, cli: cli, client: binaryClient(t, bin, c.config)}
			checkScenario(t, suite.run(t, c.name), c.name+" through the binaries", c.success)
		})
	}
}

// binaryClient writes the client command for the suite: a script that
// runs the binaries in bin against the URL the suite appends, and the
// "browser" it gives the hub. extra is added to the config's top level.
func binaryClient(t *testing.T, bin, extra string) string {
	t.Helper()
	dir := shortTemp(t)
	// The suite splits --command at spaces and runs it with a shell.
	if strings.ContainsAny(dir+bin, " \t\n'\"$`\\;&|<>()*?[]#~") {
		t.Fatalf("%q or %q cannot be passed to the suite's --command; set TMPDIR to a plain path", dir, bin)
	}
	browser := filepath.Join(dir, "browser")
	writeScript(t, browser, `#!/bin/sh
# A browser whose user approves at once: follow the redirects to the hub's
# loopback callback.
exec curl -sS -L -o /dev/null --max-time 20 "$1"
`)
	if extra != "" {
		extra = ", " + extra
	}
	client := filepath.Join(dir, "client")
	writeScript(t, client, fmt.Sprintf(`#!/bin/sh
# The client under test: the real mcptray binaries. The suite appends the
# server URL.
for a in "$@"; do url="$a"; done
bin=%[1]q
run=$(mktemp -d "%[2]s/run.XXXXXX") || exit 1
export MCPTRAY_HOME="$run/h" MCPTRAY_CONFIG="$run/config.json" BROWSER=%[3]q
printf '{"credentialStore": "file"%[4]s, "mcpServers": {"srv": {"url": "%%s"}}}\n' "$url" >"$MCPTRAY_CONFIG"
"$bin/mcptray" serve 2>"$run/hub.log" &
hub=$!
trap 'kill $hub 2>/dev/null; wait $hub 2>/dev/null; echo "--- hub log" >&2; cat "$run/hub.log" >&2' EXIT
i=0
until "$bin/mcptray" status >/dev/null 2>&1; do
	i=$((i+1))
	if [ $i -gt 200 ]; then echo "client: the hub did not start" >&2; exit 1; fi
	sleep 0.05
done
step() {
	echo "client: mcptray $*" >&2
	"$bin/mcptray" "$@" || { echo "client: mcptray $* failed" >&2; exit 1; }
}
step login srv
step tools srv
step call srv test-tool
echo "client: ok" >&2
`, bin, dir, browser, extra))
	return client
}

func writeScript(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}
