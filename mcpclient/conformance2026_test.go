package mcpclient_test

import (
	"bufio"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The conformance suite's requirement set of MCP 2026-07-28 against the
// product's client code paths (see conformance_test.go): the suite pinned
// a second time, at 0.2.0-alpha, as conformance-2026. Its scenarios run at
// the 2026-07-28 wire: stateless servers (server/discover, per-request
// _meta, Mcp-Method, Mcp-Name and Mcp-Param-* headers, input_required
// results), which the hub's era probe finds on its own. Each scenario runs
// as `conformance client --scenario NAME --spec-version 2026-07-28
// --force`, which is what `--requirements 2026-07-28` runs for each one
// of its set. (conformance2026CLI is in httpconformance2026_test.go.)

// conformance2026Revision is the requirement set, and the wire.
const conformance2026Revision = "2026-07-28"

// conformance2026Required are the client scenarios the requirement set
// scores: all must pass. atLeast counts the SUCCESS and INFO checks of an
// id (the suite's INFO records among them) that show the behaviour
// happened.
var conformance2026Required = []struct {
	name    string
	success []string
	atLeast map[string]int
}{
	{name: "tools_call", success: []string{"tool-add-numbers"}},
	// The server refuses the hub's first request with
	// UnsupportedProtocolVersion naming 2026-07-28; the retry, the hub's
	// calls and an IDE's (which declares roots, sampling and elicitation)
	// carry the version header and _meta.
	{name: "request-metadata", success: []string{
		"sep-2575-http-client-sends-version-header", "sep-2575-client-populates-meta", "sep-2575-client-sends-client-info",
		"sep-2575-http-version-header-matches-meta", "sep-2575-client-retry-supported-version",
		"sep-2575-client-declares-roots-capability", "sep-2575-client-declares-sampling-capability", "sep-2575-client-declares-elicitation-capability",
	}},
	{name: "auth/metadata-default", success: checks(discovered, []string{"client-registration"}, authCodeFlow, resourceParam, usedToken)},
	{name: "auth/metadata-var1", success: checks(discovered, []string{"client-registration"}, authCodeFlow, resourceParam, usedToken)},
	{name: "auth/metadata-var2", success: checks(discovered, []string{"client-registration"}, authCodeFlow, resourceParam, usedToken)},
	{name: "auth/metadata-var3", success: checks(discovered, []string{"client-registration"}, authCodeFlow, resourceParam, usedToken)},
	{name: "auth/basic-cimd", success: checks(discovered, []string{"cimd-client-id-used"}, authCodeFlow, usedToken)},
	{name: "auth/scope-from-www-authenticate", success: checks(discovered, []string{"client-registration", "scope-from-www-authenticate"}, authCodeFlow, usedToken)},
	{name: "auth/scope-from-scopes-supported", success: checks(discovered, []string{"client-registration", "scope-from-scopes-supported"}, authCodeFlow, usedToken)},
	{name: "auth/scope-omitted-when-undefined", success: checks(discovered, []string{"client-registration", "scope-omitted-when-undefined"}, authCodeFlow, usedToken)},
	{name: "auth/scope-step-up", success: checks(discovered, []string{"client-registration", "scope-step-up-initial", "scope-step-up-escalation", "sep-2350-scope-union-on-reauth"}, authCodeFlow, usedToken)},
	// Here the 403 insufficient_scope answers the hub's own connect (its
	// server/discover carries the token): the hub steps up at least once,
	// and makes at most 3 authorization requests in all.
	{name: "auth/scope-retry-limit", success: checks(discovered, []string{"client-registration", "scope-retry-limit"}, authCodeFlow),
		atLeast: map[string]int{"scope-retry-auth-attempt": 2}},
	{name: "auth/token-endpoint-auth-basic", success: checks(discovered, []string{"client-registration", "token-endpoint-auth-method"}, resourceParam, authCodeFlow, usedToken)},
	{name: "auth/token-endpoint-auth-post", success: checks(discovered, []string{"client-registration", "token-endpoint-auth-method"}, resourceParam, authCodeFlow, usedToken)},
	{name: "auth/token-endpoint-auth-none", success: checks(discovered, []string{"client-registration", "token-endpoint-auth-method"}, resourceParam, authCodeFlow, usedToken)},
	{name: "auth/pre-registration", success: checks(discovered, []string{"pre-registration-auth"}, authCodeFlow, usedToken)},
	// The PRM names another resource: the hub refuses to sign in.
	{name: "auth/resource-mismatch", success: checks(discovered, []string{"resource-mismatch-rejected"})},
	{name: "auth/offline-access-scope", success: checks(discovered, authCodeFlow, usedToken)},
	{name: "auth/offline-access-not-supported", success: checks(discovered, []string{"client-registration", "sep-2207-offline-access-not-requested"}, authCodeFlow, usedToken)},
	{name: "auth/authorization-server-migration", success: checks(discovered, []string{"client-registration", "sep-2352-reregister-on-as-change", "sep-2352-no-reuse-on-as-change", "sep-2352-no-cross-as-credential-reuse"}, authCodeFlow, usedToken)},
	// RFC 9207 iss in the authorization response.
	{name: "auth/iss-supported", success: checks(discovered, []string{"sep-2468-client-compare-iss-supported"}, authCodeFlow, usedToken)},
	{name: "auth/iss-not-advertised", success: checks(discovered, []string{"sep-2468-client-proceed-no-iss"}, authCodeFlow, usedToken)},
	{name: "auth/iss-supported-missing", success: checks(discovered, []string{"sep-2468-client-reject-missing-iss", "authorization-request"})},
	{name: "auth/iss-wrong-issuer", success: checks(discovered, []string{"sep-2468-client-compare-iss-supported", "authorization-request"})},
	{name: "auth/iss-unexpected", success: checks(discovered, []string{"sep-2468-client-compare-iss-unadvertised", "authorization-request"})},
	{name: "auth/iss-normalized", success: checks(discovered, []string{"sep-2468-client-no-normalization", "authorization-request"})},
	{name: "auth/metadata-issuer-mismatch", success: checks(discovered, []string{"sep-2468-client-validate-metadata-issuer"})},
	// input_required results answered by asking the (legacy) IDE, the
	// rounds of one call kept out of another made meanwhile.
	{name: "sep-2322-client-request-state", success: []string{
		"sep-2322-client-request-state-echoed", "sep-2322-client-jsonrpc-id-different", "sep-2322-client-no-state-omitted",
		"sep-2322-client-parallel-isolation", "sep-2322-default-result-type-complete",
	}},
	// Mcp-Method and Mcp-Name on tools, resources and prompts requests
	// (initialize and notifications/initialized are SKIPPED: none at this
	// wire).
	{name: "http-standard-headers", success: []string{"sep-2243-client-includes-standard-headers"},
		atLeast: map[string]int{"sep-2243-client-includes-standard-headers": 9}},
	{name: "http-custom-headers", success: []string{
		"sep-2243-client-supports-custom-headers", "sep-2243-client-mirrors-designated-params", "sep-2243-client-encode-values",
		"sep-2243-client-base64-unsafe", "sep-2243-client-omit-null",
	}},
	{name: "http-invalid-tool-headers", success: []string{
		"sep-2243-client-reject-invalid-tool", "sep-2243-x-mcp-header-not-empty", "sep-2243-x-mcp-header-charset",
		"sep-2243-x-mcp-header-unique", "sep-2243-x-mcp-header-primitive-only",
	}},
	{name: "json-schema-ref-no-deref", success: []string{"sep-2106-no-network-ref-deref"}},
}

// conformance2026Informational are the client scenarios the requirement
// set runs but never scores (extensions, and one added after the
// release): reported, not required. The extension ones are grants and
// proofs mcptray does not implement (client credentials, DPoP,
// enterprise-managed authorization, workload identity).
var conformance2026Informational = []string{
	"auth/client-credentials-jwt",
	"auth/client-credentials-basic",
	"auth/enterprise-managed-authorization",
	"auth/dpop",
	"auth/dpop-nonce",
	"auth/wif-jwt-bearer",
	"json-schema-2020-12-preservation",
}

func TestConformance2026(t *testing.T) {
	suite := newConformanceSuiteAt(t, conformance2026CLI, "--spec-version", conformance2026Revision, "--force")

	// The table must cover the requirement set of the pinned suite, so
	// that no scenario is left out silently.
	required, informational := suite.listRequirements(t, conformance2026Revision)
	var table []string
	for _, c := range conformance2026Required {
		table = append(table, c.name)
	}
	sort.Strings(table)
	if !slices.Equal(required, table) {
		t.Errorf("the suite's %s client scenarios are %v; the test's table has %v", conformance2026Revision, required, table)
	}
	if want := slices.Sorted(slices.Values(conformance2026Informational)); !slices.Equal(informational, want) {
		t.Errorf("the suite's never-scored %s client scenarios are %v; the test lists %v", conformance2026Revision, informational, want)
	}

	for _, c := range conformance2026Required {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := suite.run(t, c.name)
			checkScenario(t, res, c.name, c.success)
			for id, n := range c.atLeast {
				got := 0
				for _, ch := range res.checks {
					if ch.ID == id && (ch.Status == "SUCCESS" || ch.Status == "INFO") {
						got++
					}
				}
				if got < n {
					t.Errorf("%d checks %s, want at least %d", got, id, n)
				}
			}
		})
	}
}

// TestConformance2026NotScored runs the client scenarios the 2026-07-28
// requirement set never scores, and only reports their results.
func TestConformance2026NotScored(t *testing.T) {
	suite := newConformanceSuiteAt(t, conformance2026CLI, "--spec-version", conformance2026Revision, "--force")
	for _, name := range conformance2026Informational {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reportScenario(t, suite.run(t, name), name)
		})
	}
}

// reportScenario logs a scenario's verdict, its failing and warning
// checks and the client's error, without failing t.
func reportScenario(t *testing.T, res *scenarioResult, name string) {
	t.Helper()
	var bad []string
	for _, ch := range res.checks {
		if ch.Status == "FAILURE" || ch.Status == "WARNING" {
			bad = append(bad, ch.describe())
		}
	}
	verdict := "PASS"
	if res.exit != 0 || len(bad) > 0 {
		verdict = "FAIL"
	}
	t.Logf("%s: %s (informational): %d SUCCESS, %d FAILURE, %d WARNING, CLI exit %d",
		name, verdict, res.count("SUCCESS"), res.count("FAILURE"), res.count("WARNING"), res.exit)
	for _, b := range bad {
		t.Logf("  %s", b)
	}
	if res.clientErr != "" {
		t.Logf("  client: %s", res.clientErr)
	}
}

var (
	// reqSectionRE matches a section heading of `list --requirements`.
	reqSectionRE = regexp.MustCompile(`^(Server scenarios|Client scenarios|Run and reported, but never scored)`)
	// reqScenarioRE matches "  - NAME" or "    - NAME [client]".
	reqScenarioRE = regexp.MustCompile(`^\s*-\s+(\S+)(?:\s+\[([a-z]+)\])?\s*$`)
)

// requirementSet is what `conformance list --requirements REVISION`
// names, each list sorted: the server and client scenarios it scores, and
// the client scenarios it runs but never scores.
type requirementSet struct {
	server, client, clientNotScored []string
}

// listRequirementSet runs `conformance list --requirements revision`.
func listRequirementSet(t *testing.T, node, cli, revision string) requirementSet {
	t.Helper()
	out, err := exec.Command(node, cli, "list", "--requirements", revision).CombinedOutput()
	if err != nil {
		t.Fatalf("conformance list --requirements %s: %v\n%s", revision, err, out)
	}
	var set requirementSet
	section := ""
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if g := reqSectionRE.FindStringSubmatch(line); g != nil {
			section = g[1]
			continue
		}
		g := reqScenarioRE.FindStringSubmatch(line)
		switch {
		case g == nil:
		case section == "Server scenarios":
			set.server = append(set.server, g[1])
		case section == "Client scenarios":
			set.client = append(set.client, g[1])
		case section == "Run and reported, but never scored" && g[2] == "client":
			set.clientNotScored = append(set.clientNotScored, g[1])
		}
	}
	if len(set.server) == 0 || len(set.client) == 0 {
		t.Fatalf("conformance list --requirements %s listed no server or no client scenarios:\n%s", revision, out)
	}
	sort.Strings(set.server)
	sort.Strings(set.client)
	sort.Strings(set.clientNotScored)
	return set
}

// listRequirements returns the client scenarios a requirement set scores,
// and those it runs but never scores.
func (s *conformanceSuite) listRequirements(t *testing.T, revision string) (scored, notScored []string) {
	t.Helper()
	set := listRequirementSet(t, s.node, s.cli, revision)
	return set.client, set.clientNotScored
}

// TestConformance2026Legacy runs the client scenarios of the 2025-11-25
// requirement set with the newer suite (the conformance-2026 pin, at the
// 2025-11-25 wire): its checks are stricter than 0.1.16's in places, and
// a legacy server is what most users have. Each must pass, with the
// SUCCESS checks TestConformance asks for where it names them.
func TestConformance2026Legacy(t *testing.T) {
	const revision = "2025-11-25"
	suite := newConformanceSuiteAt(t, conformance2026CLI, "--spec-version", revision, "--force")
	scored, _ := suite.listRequirements(t, revision)
	if len(scored) == 0 {
		t.Fatalf("no client scenarios in the %s requirement set", revision)
	}
	for _, name := range scored {
		var want []string
		serial := false
		for _, c := range conformanceRequired {
			if c.name == name {
				want, serial = c.success, c.serial
			}
		}
		t.Run(name, func(t *testing.T) {
			if !serial {
				t.Parallel()
			}
			res := suite.run(t, name)
			if res.count("SUCCESS") == 0 {
				t.Errorf("%s: no SUCCESS check at all", name)
			}
			checkScenario(t, res, name, want)
		})
	}
}
