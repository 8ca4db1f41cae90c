package mcpclient_test

import (
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
)

// conformance2026CLI is the suite's release with the 2026-07-28
// requirement set (npm alias conformance-2026 in .ci/npm).
const conformance2026CLI = "node_modules/conformance-2026/dist/index.js"

// requiredServerScenarios2026 lists the server scenarios of `conformance
// list --requirements 2026-07-28`.
func requiredServerScenarios2026(t *testing.T, node, cli string) []string {
	t.Helper()
	out, err := exec.Command(node, cli, "list", "--requirements", "2026-07-28").CombinedOutput()
	if err != nil {
		t.Fatalf("conformance list --requirements 2026-07-28: %v\n%s", err, out)
	}
	var names []string
	in := false
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "Server scenarios"):
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in:
			if name, ok := strings.CutPrefix(strings.TrimSpace(line), "- "); ok {
				names = append(names, name)
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("no server scenarios in the 2026-07-28 requirement set:\n%s", out)
	}
	sort.Strings(names)
	return names
}

// TestConformance2026ServerThroughHub runs the server scenarios that
// revision 2026-07-28 requires (the suite's requirement set, at the
// stateless wire) against the official Go SDK's conformance server
// (go-sdk's conformance/everything-server, built from the module cache:
// it has every test tool, prompt and resource the scenarios ask for)
// directly, and as a 2026-07-28 IDE sees it through the hub's endpoint in
// two ways: the hub speaking 2026-07-28 to that server (stateless mode),
// and the hub speaking the legacy era to it (its stateful mode, which
// answers only initialize sessions), so that the hub translates every
// request, the input_required rounds included. Every scenario that passes
// directly must pass through the hub both ways. The table it logs is the
// one in the README.
func TestConformance2026ServerThroughHub(t *testing.T) {
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

	targets := []struct{ name, url string }{
		{"direct", modernURL},
		{"hub, modern upstream", proxy + "/mcp/modern"},
		{"hub, legacy upstream", proxy + "/mcp/legacy"},
	}
	scenarios := requiredServerScenarios2026(t, node, cli)
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
				out := runServerScenario(t, node, cli, sc, target.url, "--spec-version", "2026-07-28")
				mu.Lock()
				results[sc][i] = out
				mu.Unlock()
			}()
		}
	}
	wg.Wait()

	// What a 2026-07-28 IDE cannot get from a legacy server through any
	// translation, by scenario: the checks that fail there and why.
	// Everything else must pass.
	legacyLimits := map[string]map[string]string{
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
	}
	known := func(sc string, o scenarioOutcome) (rest []string) {
		for _, id := range o.failed {
			if _, ok := legacyLimits[sc][id]; !ok {
				rest = append(rest, id)
			}
		}
		return rest
	}

	var table strings.Builder
	table.WriteString("| scenario (2026-07-28) | go-sdk server directly | through the hub, modern upstream | through the hub, legacy upstream |\n|---|---|---|---|\n")
	passed := make([]int, len(targets))
	for _, sc := range scenarios {
		r := results[sc]
		legacyCell := r[2].String()
		if !r[2].pass() && r[0].pass() && len(known(sc, r[2])) == 0 && r[2].success > 0 {
			legacyCell = fmt.Sprintf("✓ but %d (translation limits, below)", len(r[2].failed))
		}
		fmt.Fprintf(&table, "| %s | %s | %s | %s |\n", sc, r[0], r[1], legacyCell)
		for i := range targets {
			if r[i].pass() {
				passed[i]++
			}
		}
		if r[0].pass() && !r[1].pass() {
			t.Errorf("%s passes directly but not %s: %s", sc, targets[1].name, r[1].detail)
		}
		if r[0].pass() && !r[2].pass() {
			if rest := known(sc, r[2]); len(rest) > 0 || r[2].success == 0 {
				t.Errorf("%s passes directly but not %s (%v beyond the known translation limits): %s", sc, targets[2].name, rest, r[2].detail)
			}
		}
		for id, why := range legacyLimits[sc] {
			if !slices.Contains(r[2].failed, id) {
				t.Logf("%s: %s passes %s now; drop it from the known limits (%s)", sc, id, targets[2].name, why)
			}
		}
	}
	fmt.Fprintf(&table, "| **passed** | **%d of %d** | **%d of %d** | **%d of %d** |\n", passed[0], len(scenarios), passed[1], len(scenarios), passed[2], len(scenarios))
	table.WriteString("\nTranslation limits (a 2026-07-28 IDE, a legacy server):\n")
	for _, sc := range slices.Sorted(maps.Keys(legacyLimits)) {
		for _, id := range slices.Sorted(maps.Keys(legacyLimits[sc])) {
			fmt.Fprintf(&table, "- %s, %s: %s\n", sc, id, legacyLimits[sc][id])
		}
	}
	t.Logf("conformance server scenarios required by 2026-07-28 (%d):\n%s", len(scenarios), table.String())
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
