package mcpclient_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
)

// The official MCP conformance suite (@modelcontextprotocol/conformance,
// pinned in .ci/npm) against the product's own client code paths.
//
// For each client scenario the suite's CLI starts a test server (and
// authorization server), runs the client command with the server URL
// appended and the scenario in MCP_CONFORMANCE_SCENARIO, and writes the
// checks it observed to <out>/<scenario>-<time>/checks.json. The client
// under test is mcpclient/internal/conformance/client: an in-process hub
// (supervisor, transports, OAuth, loopback callback listener) driven
// through its public API, with an HTTP client as the browser.
//
// A check has status SUCCESS, FAILURE, WARNING or INFO; the CLI fails a
// scenario on any FAILURE or WARNING, a client timeout, or a non-zero
// client exit (unless the scenario expects the client to give up). Many
// scenarios pass vacuously when the client does nothing (e.g. initialize
// when it never initializes), so every row also names the SUCCESS checks
// that prove the behaviour happened.

// conformanceCLI is the suite's entry point below the npm directory.
const conformanceCLI = "node_modules/@modelcontextprotocol/conformance/dist/index.js"

// conformanceCheck is one entry of checks.json.
type conformanceCheck struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	Status       string          `json:"status"`
	ErrorMessage string          `json:"errorMessage"`
	Details      json.RawMessage `json:"details"`
}

// SUCCESS checks of a completed authorization code flow with PKCE.
var (
	authCodeFlow = []string{
		"authorization-request", "pkce-code-challenge-sent", "pkce-s256-method-used",
		"token-request", "pkce-code-verifier-sent", "pkce-verifier-matches-challenge",
	}
	// discovered: PRM and authorization server metadata were fetched.
	discovered = []string{"prm-pathbased-requested", "authorization-server-metadata"}
	// usedToken: the MCP server accepted the token the flow obtained.
	usedToken = []string{"valid-bearer-token"}
)

func checks(groups ...[]string) []string { return slices.Concat(groups...) }

// conformanceRequired are the client scenarios of spec versions 2025-11-25
// and 2025-06-18 and the 2025-03-26 back-compat ones: all must pass.
var conformanceRequired = []struct {
	name    string
	success []string // SUCCESS checks that must be present
	serial  bool     // timing-sensitive: runs alone
}{
	{name: "initialize", success: []string{"mcp-client-initialization"}},
	{name: "tools_call", success: []string{"tool-add-numbers"}},
	{name: "elicitation-sep1034-client-defaults", success: []string{
		"client-elicitation-sep1034-string-default", "client-elicitation-sep1034-integer-default",
		"client-elicitation-sep1034-number-default", "client-elicitation-sep1034-enum-default",
		"client-elicitation-sep1034-boolean-default",
	}},
	// The suite measures the reconnect delay against retry: 500 with
	// -50/+200 ms tolerance; it runs alone so that load does not skew it.
	// last-event-id shows the response stream itself was resumed (the
	// graceful-reconnect check alone is satisfied by the standalone GET).
	{name: "sse-retry", serial: true, success: []string{
		"client-sse-graceful-reconnect", "client-sse-retry-timing", "client-sse-last-event-id",
	}},
	{name: "auth/metadata-default", success: checks(discovered, []string{"client-registration"}, authCodeFlow, usedToken)},
	{name: "auth/metadata-var1", success: checks(discovered, []string{"client-registration"}, authCodeFlow, usedToken)},
	{name: "auth/metadata-var2", success: checks(discovered, []string{"client-registration"}, authCodeFlow, usedToken)},
	{name: "auth/metadata-var3", success: checks(discovered, []string{"client-registration"}, authCodeFlow, usedToken)},
	// No registration: the client ID metadata document URL is the client_id.
	{name: "auth/basic-cimd", success: checks(discovered, []string{"cimd-client-id-used"}, authCodeFlow, usedToken)},
	{name: "auth/scope-from-www-authenticate", success: checks(discovered, []string{"client-registration", "scope-from-www-authenticate"}, authCodeFlow, usedToken)},
	{name: "auth/scope-from-scopes-supported", success: checks(discovered, []string{"client-registration", "scope-from-scopes-supported"}, authCodeFlow, usedToken)},
	{name: "auth/scope-omitted-when-undefined", success: checks(discovered, []string{"client-registration", "scope-omitted-when-undefined"}, authCodeFlow, usedToken)},
	{name: "auth/scope-step-up", success: checks(discovered, []string{"client-registration", "scope-step-up-initial", "scope-step-up-escalation"}, authCodeFlow, usedToken)},
	// The server refuses every token with 403 insufficient_scope; the
	// client gives up (its exit status is not scored), after at most 3
	// authorization requests. The server never verifies a token here.
	{name: "auth/scope-retry-limit", success: checks(discovered, []string{"client-registration", "scope-retry-limit"}, authCodeFlow)},
	{name: "auth/token-endpoint-auth-basic", success: checks(discovered, []string{"client-registration", "token-endpoint-auth-method"}, resourceParam, authCodeFlow, usedToken)},
	{name: "auth/token-endpoint-auth-post", success: checks(discovered, []string{"client-registration", "token-endpoint-auth-method"}, resourceParam, authCodeFlow, usedToken)},
	{name: "auth/token-endpoint-auth-none", success: checks(discovered, []string{"client-registration", "token-endpoint-auth-method"}, resourceParam, authCodeFlow, usedToken)},
	{name: "auth/pre-registration", success: checks(discovered, []string{"pre-registration-auth"}, authCodeFlow, usedToken)},
	// 2025-03-26: no PRM; metadata at the server's origin, or none at all
	// (default endpoints /authorize, /token, /register).
	{name: "auth/2025-03-26-oauth-metadata-backcompat", success: checks([]string{"authorization-server-metadata", "client-registration"}, authCodeFlow, usedToken)},
	{name: "auth/2025-03-26-oauth-endpoint-fallback", success: []string{"client-registration", "authorization-request", "token-request", "valid-bearer-token"}},
}

// resourceParam: RFC 8707 resource indicator on authorize and token.
var resourceParam = []string{
	"resource-parameter-in-authorization", "resource-parameter-in-token",
	"resource-parameter-valid-uri", "resource-parameter-consistency",
}

// conformanceInformational are the draft and extension scenarios: their
// results are reported, not required.
var conformanceInformational = []string{
	"auth/resource-mismatch",
	"auth/offline-access-scope",
	"auth/offline-access-not-supported",
	"auth/client-credentials-jwt",
	"auth/client-credentials-basic",
	"auth/cross-app-access-complete-flow",
}

// requiredSpecVersions are the spec versions whose scenarios must pass.
var requiredSpecVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26"}

func TestConformance(t *testing.T) {
	suite := newConformanceSuite(t)

	// The table must cover what the pinned suite lists, so that no
	// required scenario is left out silently.
	listed := suite.list(t)
	var required, informational []string
	for name, versions := range listed {
		if slices.ContainsFunc(versions, func(v string) bool { return slices.Contains(requiredSpecVersions, v) }) {
			required = append(required, name)
		} else {
			informational = append(informational, name)
		}
	}
	var table []string
	for _, c := range conformanceRequired {
		table = append(table, c.name)
	}
	sort.Strings(required)
	sort.Strings(informational)
	sort.Strings(table)
	if !slices.Equal(required, table) {
		t.Errorf("the suite's client scenarios of %v are %v; the test's table has %v", requiredSpecVersions, required, table)
	}
	if want := slices.Sorted(slices.Values(conformanceInformational)); !slices.Equal(informational, want) {
		t.Errorf("the suite's draft/extension client scenarios are %v; the test lists %v", informational, want)
	}

	for _, c := range conformanceRequired {
		t.Run(c.name, func(t *testing.T) {
			if !c.serial {
				t.Parallel()
			}
			checkScenario(t, suite.run(t, c.name), c.name, c.success)
		})
	}
}

// TestConformanceDraftAndExtensions runs the suite's draft and extension
// client scenarios and only reports their results.
func TestConformanceDraftAndExtensions(t *testing.T) {
	suite := newConformanceSuite(t)
	for _, name := range conformanceInformational {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reportScenario(t, suite.run(t, name), name)
		})
	}
}

// conformanceSuite is the suite's CLI run with Node 22, and the client
// under test, built once per test. args go on every `client` command.
type conformanceSuite struct {
	node, cli, client string
	args              []string
}

func newConformanceSuite(t *testing.T) *conformanceSuite {
	t.Helper()
	return newConformanceSuiteAt(t, conformanceCLI)
}

// newConformanceSuiteAt is newConformanceSuite with the CLI of another
// pin of the suite (cli, below the npm directory).
func newConformanceSuiteAt(t *testing.T, cli string, args ...string) *conformanceSuite {
	t.Helper()
	if testing.Short() {
		t.Skip("the conformance suite runs Node.js; skipped with -short")
	}
	s := &conformanceSuite{node: testenv.Node22(t), args: args}
	s.cli = filepath.Join(testenv.NPMDir(t), filepath.FromSlash(cli))
	if _, err := os.Stat(s.cli); err != nil {
		testenv.Require(t, "the MCP conformance suite ("+s.cli+")")
	}
	dir := t.TempDir()
	// The suite splits --command at spaces and runs it with a shell.
	if strings.ContainsAny(dir, " \t\n'\"$`\\;&|<>()*?[]#~") {
		t.Fatalf("the temp dir %q cannot be passed to the suite's --command; set TMPDIR to a plain path", dir)
	}
	s.client = filepath.Join(dir, "conformance-client")
	cmd := exec.Command("go", "build", "-o", s.client, "github.com/mcptray/mcptray/mcpclient/internal/conformance/client")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the conformance client: %v\n%s", err, out)
	}
	return s
}

// listLineRE matches "  - NAME [v1,v2]" in `conformance list --client`.
var listLineRE = regexp.MustCompile(`^\s*-\s+(\S+)\s+\[([^\]]*)\]\s*$`)

// list returns the suite's client scenarios with their spec versions.
func (s *conformanceSuite) list(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command(s.node, s.cli, "list", "--client").CombinedOutput()
	if err != nil {
		t.Fatalf("conformance list --client: %v\n%s", err, out)
	}
	m := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if g := listLineRE.FindStringSubmatch(sc.Text()); g != nil {
			m[g[1]] = strings.Split(g[2], ",")
		}
	}
	if len(m) == 0 {
		t.Fatalf("conformance list --client listed no scenarios:\n%s", out)
	}
	return m
}

// scenarioResult is one scenario's run.
type scenarioResult struct {
	name      string
	checks    []conformanceCheck
	exit      int
	output    string // the CLI's stdout and stderr
	stderr    string // the client's stderr (hub logs), from the result dir
	clientErr string // the client's last line, when it failed
}

func (r *scenarioResult) count(status string) int {
	n := 0
	for _, c := range r.checks {
		if c.Status == status {
			n++
		}
	}
	return n
}

func (r *scenarioResult) logDetails(t *testing.T) {
	t.Helper()
	t.Logf("conformance CLI output (%s):\n%s", r.name, r.output)
	if r.stderr != "" {
		t.Logf("client stderr (%s):\n%s", r.name, r.stderr)
	}
}

func (c conformanceCheck) describe() string {
	s := fmt.Sprintf("%s %s: %s", c.Status, c.ID, c.Description)
	if c.ErrorMessage != "" {
		s += " (" + c.ErrorMessage + ")"
	}
	return s
}

// run runs one scenario with the suite's CLI, each in its own output dir
// (the test servers listen on free ports, so scenarios may run in
// parallel), and reads its checks.json.
func (s *conformanceSuite) run(t *testing.T, scenario string) *scenarioResult {
	t.Helper()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{s.cli, "client",
		"--command", s.client, "--scenario", scenario, "--timeout", "30000", "-o", out}, s.args...)
	cmd := exec.CommandContext(ctx, s.node, args...)
	cmd.Env = os.Environ()
	cmd.WaitDelay = 5 * time.Second
	b, err := cmd.CombinedOutput()
	res := &scenarioResult{name: scenario, output: string(b)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		res.exit = ee.ExitCode()
	default:
		t.Fatalf("conformance client --scenario %s: %v\n%s", scenario, err, b)
	}
	var found []string
	_ = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "checks.json" {
			found = append(found, p)
		}
		return nil
	})
	if len(found) != 1 {
		t.Fatalf("scenario %s: want one checks.json under %s, found %v; CLI output:\n%s", scenario, out, found, b)
	}
	raw, err := os.ReadFile(found[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &res.checks); err != nil {
		t.Fatalf("scenario %s: %s: %v", scenario, found[0], err)
	}
	if se, err := os.ReadFile(filepath.Join(filepath.Dir(found[0]), "stderr.txt")); err == nil {
		res.stderr = string(se)
		for _, line := range strings.Split(strings.TrimSpace(res.stderr), "\n") {
			if strings.HasPrefix(line, "conformance client: ") && !strings.HasSuffix(line, ": ok") {
				res.clientErr = strings.TrimPrefix(line, "conformance client: ")
			}
		}
	}
	return res
}

// checkScenario fails t on a scenario's failing or warning checks, on a
// SUCCESS check in want that did not happen, and on a CLI exit other than
// 0, logging the run's details then.
func checkScenario(t *testing.T, res *scenarioResult, name string, want []string) {
	t.Helper()
	var bad []string
	succeeded := map[string]int{}
	for _, ch := range res.checks {
		switch ch.Status {
		case "SUCCESS":
			succeeded[ch.ID]++
		case "FAILURE", "WARNING":
			bad = append(bad, ch.describe())
		}
	}
	var missing []string
	for _, id := range want {
		if succeeded[id] == 0 {
			missing = append(missing, id)
		}
	}
	if len(bad) > 0 || len(missing) > 0 || res.exit != 0 {
		res.logDetails(t)
	}
	if len(bad) > 0 {
		t.Errorf("%d failing checks:\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
	if len(missing) > 0 {
		t.Errorf("SUCCESS checks missing (the behaviour did not happen): %v", missing)
	}
	if res.exit != 0 {
		t.Errorf("the conformance CLI exited with %d (a command failed, a timeout, or failed checks)", res.exit)
	}
	t.Logf("%s: %d SUCCESS checks (%d distinct), CLI exit %d", name, res.count("SUCCESS"), len(succeeded), res.exit)
}
