package mcpclient_test

import (
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
)

// conformance2026CLI is the suite's release with the 2026-07-28
// requirement set (npm alias conformance-2026 in .ci/npm).
const conformance2026CLI = "node_modules/conformance-2026/dist/index.js"

// TestConformanceRequirementsThroughHub runs the server scenarios that a
// spec revision requires (the suite's requirement sets, conformance
// 0.2.0-alpha.12, each at its own wire) against the official Go SDK's
// conformance server (go-sdk's conformance/everything-server, built from
// the module cache: it has every test tool, prompt and resource the
// scenarios ask for; stateless it serves 2026-07-28, stateful only legacy
// initialize sessions). Each revision's scenarios run against the server
// in that revision's era directly, and through the hub's endpoint with
// the hub speaking either era to the server: the same era (the hub
// passes requests on) and the other (the hub translates every request:
// a 2026-07-28 IDE on a legacy server, input_required rounds included,
// and a legacy IDE on a 2026-07-28 server, sessions, pings and
// subscriptions included). Every scenario that passes directly must pass
// through the hub both ways; in the translated column only the checks
// named in its limits may fail, each for a reason no translation can
// remove. The tables it logs are the ones in the README.
func TestConformanceRequirementsThroughHub(t *testing.T) {
	if testing.Short() {
		t.Skip("the conformance suite runs Node.js; skipped with -short")
	}
	node := testenv.Node22(t)
	cli := filepath.Join(testenv.NPMDir(t), filepath.FromSlash(conformance2026CLI))
	if _, err := os.Stat(cli); err != nil {
		testenv.Require(t, "@modelcontextprotocol/conformance 0.2 ("+cli+")")
	}
	server := filepath.Join(t.TempDir(), "everything-server")
	if out, err := exec.Command("go", "build", "-o", server, "github.com/modelcontextprotocol/go-sdk/conformance/everything-server").CombinedOutput(); err != nil {
		t.Fatalf("go build of go-sdk's conformance server: %v\n%s", err, out)
	}
	modernURL := startGoSDKServer(t, server, true)
	legacyURL := startGoSDKServer(t, server, false)
	hh := startHTTPHub(t, map[string]string{"modern": urlEntry(modernURL), "legacy": urlEntry(legacyURL)}, "")
	for name, era := range map[string]string{"modern": "modern", "legacy": "legacy"} {
		if st := hh.waitState(name, "connected", 30*time.Second); st.Era != era {
			t.Fatalf("the hub speaks the %s era to %s, want %s", st.Era, name, era)
		}
	}
	proxy := tokenProxy(t, hh)

	t.Run("2026-07-28", func(t *testing.T) {
		runRequirementMatrix(t, node, cli, "2026-07-28", []matrixTarget{
			{"go-sdk server directly", modernURL},
			{"through the hub, modern upstream", proxy + "/mcp/modern"},
			{"through the hub, legacy upstream", proxy + "/mcp/legacy"},
		}, map[string]map[string]string{
			"input-required-result-basic-elicitation": {
				"sep-2322-elicitation-incomplete": "the input request must be keyed \"user_name\", the key the server chose; a legacy server's elicitation/create carries no key, so the hub names it mcptray-1",
			},
			"input-required-result-multi-round": {
				"sep-2322-multi-round-r2": "go-sdk v1.8.0's legacy-session shim turns only the first round of input requests into server requests; the second round reaches a legacy client as a raw result with inputRequests, which no legacy client can act on",
			},
			"server-stateless": {
				"sep-2575-server-rejects-undeclared-capability": "a legacy session's client capabilities are declared once, at initialize, for every IDE the hub serves (sampling among them); the server checks the session's, never the request's",
				"sep-2575-missing-capability-http-400":          "follows from sep-2575-server-rejects-undeclared-capability: no -32021 to give a status to",
				"sep-2575-http-server-method-not-found-404":     "go-sdk's legacy server answers an unknown method with a plain-text HTTP 400, not a JSON-RPC -32601, and the hub does not guess",
			},
		})
	})
	t.Run("2025-11-25", func(t *testing.T) {
		runRequirementMatrix(t, node, cli, "2025-11-25", []matrixTarget{
			{"go-sdk server directly", legacyURL},
			{"through the hub, legacy upstream", proxy + "/mcp/legacy"},
			{"through the hub, modern upstream", proxy + "/mcp/modern"},
		}, map[string]map[string]string{
			// go-sdk's tools for these scenarios ask with a server→client
			// request (session.Elicit, CreateMessage), which go-sdk refuses
			// to send while it serves a 2026-07-28 request ("return an
			// InputRequests map instead"): the tool fails on the server
			// before the hub sees any request for input. A server's
			// 2026-07-28 tools ask with input_required, which the hub turns
			// into these requests for a legacy IDE (the era matrix tests).
			"tools-call-elicitation":       {"tools-call-elicitation": goSDKLegacyTool},
			"tools-call-sampling":          {"tools-call-sampling": goSDKLegacyTool},
			"elicitation-sep1034-defaults": {"elicitation-sep1034-general": goSDKLegacyTool},
			"elicitation-sep1330-enums":    {"elicitation-sep1330-general": goSDKLegacyTool},
		})
	})
}

// goSDKLegacyTool is why a legacy IDE cannot use some of go-sdk's tools
// through a 2026-07-28 session.
const goSDKLegacyTool = "go-sdk's tool asks with a server→client request, which go-sdk refuses to send while serving a 2026-07-28 request; the tool fails before the hub sees a request for input"

// matrixTarget is one column of a requirement matrix: where the suite
// sends the scenarios.
type matrixTarget struct{ name, url string }

// runRequirementMatrix runs a revision's required server scenarios at
// each target, in parallel (four at a time), and checks them as
// TestConformanceRequirementsThroughHub says: targets[0] is the server
// directly, targets[1] the hub passing requests on, targets[2] the hub
// translating, where the checks in limits may fail.
func runRequirementMatrix(t *testing.T, node, cli, revision string, targets []matrixTarget, limits map[string]map[string]string) {
	scenarios := listRequirementSet(t, node, cli, revision).server
	results := make(map[string][]scenarioOutcome, len(scenarios))
	for _, sc := range scenarios {
		results[sc] = make([]scenarioOutcome, len(targets))
	}
	var mu sync.Mutex
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, sc := range scenarios {
		for i, target := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				out := runServerScenarioOnce(t, node, cli, sc, target.url, "--spec-version", revision)
				mu.Lock()
				results[sc][i] = out
				mu.Unlock()
			}()
		}
	}
	wg.Wait()

	beyond := func(sc string, o scenarioOutcome) (rest []string) {
		for _, id := range o.failed {
			if _, ok := limits[sc][id]; !ok {
				rest = append(rest, id)
			}
		}
		return rest
	}
	// Some checks wait a fixed time for the server (1.5 s for a list
	// change on a listen stream, 30 s for a scenario), which twelve suite
	// processes beside the other test packages on two cores can exceed. A
	// scenario that passes directly but fails through the hub runs once
	// more, alone, and the log keeps the first run's words; a failure of
	// the hub's own fails again.
	for _, sc := range scenarios {
		r := results[sc]
		if !r[0].pass() {
			continue
		}
		for i := 1; i < len(targets); i++ {
			if r[i].pass() || (i == 2 && r[i].success > 0 && len(beyond(sc, r[i])) == 0) {
				continue
			}
			t.Logf("%s %s failed (%s); running it once more, alone", sc, targets[i].name, r[i].detail)
			r[i] = runServerScenarioOnce(t, node, cli, sc, targets[i].url, "--spec-version", revision)
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| scenario (%s) | %s | %s | %s |\n|---|---|---|---|\n", revision, targets[0].name, targets[1].name, targets[2].name)
	passed := make([]int, len(targets))
	for _, sc := range scenarios {
		r := results[sc]
		translated := r[2].String()
		if !r[2].pass() && r[0].pass() && r[2].success > 0 && len(beyond(sc, r[2])) == 0 {
			translated = fmt.Sprintf("✗ %d of %d checks: translation limits, below", len(r[2].failed), r[2].success+len(r[2].failed))
		}
		fmt.Fprintf(&table, "| %s | %s | %s | %s |\n", sc, r[0], r[1], translated)
		for i := range targets {
			if r[i].pass() {
				passed[i]++
			}
		}
		if r[0].pass() && !r[1].pass() {
			t.Errorf("%s passes directly but not %s: %s", sc, targets[1].name, r[1].detail)
		}
		if r[0].pass() && !r[2].pass() {
			if rest := beyond(sc, r[2]); len(rest) > 0 || r[2].success == 0 {
				t.Errorf("%s passes directly but not %s (%v beyond the known translation limits): %s", sc, targets[2].name, rest, r[2].detail)
			}
		}
		for id, why := range limits[sc] {
			if !slices.Contains(r[2].failed, id) {
				t.Logf("%s: %s passes %s now; drop it from the known limits (%s)", sc, id, targets[2].name, why)
			}
		}
	}
	n := len(scenarios)
	fmt.Fprintf(&table, "| **passed** | **%d of %d** | **%d of %d** | **%d of %d** |\n", passed[0], n, passed[1], n, passed[2], n)
	if len(limits) > 0 {
		fmt.Fprintf(&table, "\nTranslation limits (%s):\n", targets[2].name)
		for _, sc := range slices.Sorted(maps.Keys(limits)) {
			for _, id := range slices.Sorted(maps.Keys(limits[sc])) {
				fmt.Fprintf(&table, "- %s, %s: %s\n", sc, id, limits[sc][id])
			}
		}
	}
	t.Logf("conformance server scenarios required by %s (%d):\n%s", revision, n, table.String())
}

// startGoSDKServer runs go-sdk's conformance server on a free loopback
// port, stateless (it then serves 2026-07-28) or stateful (legacy
// sessions only), and returns its URL once it accepts connections.
func startGoSDKServer(t *testing.T, bin string, stateless bool) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cmd := exec.Command(bin, "-http", addr, fmt.Sprintf("-stateless=%v", stateless))
	logPath := filepath.Join(t.TempDir(), "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return "http://" + addr + "/mcp"
		}
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(logPath)
			t.Fatalf("go-sdk's conformance server did not listen on %s: %v\n%s", addr, err, logs)
		}
	}
}
