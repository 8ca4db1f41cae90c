package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
)

// Rows of the summary, recorded by the benchmarks.
const (
	rowSpawnInit         = "spawn-init"
	rowSpawnTools        = "spawn-tools"
	rowCallP50           = "call-p50"
	rowCallP99           = "call-p99"
	rowPingHub           = "ping-hub"
	rowPingSocket        = "ping-socket"
	rowInterleavedP50    = "interleaved-p50"
	rowInterleavedSocket = "interleaved-socket"
	rowThroughput        = "throughput"
	rowConnsCall         = "conns-call"
	rowConnsThroughput   = "conns-throughput"
	rowChildCPU          = "child-cpu"
	rowRSSLaunch         = "rss-launch"
	rowRSSLoad           = "rss-load"
	rowOpened            = "opened"
	rowClosed            = "closed"
	rowExitOnEOF         = "exit-on-eof"
	rowHubRSS            = "hub-rss"
	rowHubOpened         = "hub-opened"
	rowHubClosed         = "hub-closed"

	// The modern era (modern_test.go).
	rowModernInterleaved       = "modern-interleaved-p50"
	rowModernInterleavedModIDE = "modern-interleaved-modern-ide"
	rowModernThroughput        = "modern-throughput"
)

// results holds the last figure each benchmark recorded per row and target:
// the benchmark framework's last (longest) run of a benchmark wins.
var results = struct {
	sync.Mutex
	v map[string]map[string]float64
}{v: map[string]map[string]float64{}}

func record(row, target string, v float64) {
	results.Lock()
	defer results.Unlock()
	if results.v[row] == nil {
		results.v[row] = map[string]float64{}
	}
	results.v[row][target] = v
}

// vals is one row's figures by target.
type vals map[string]float64

func (v vals) get(target string) (float64, bool) {
	x, ok := v[target]
	return x, ok
}

// summaryRow is a line of the table. derive, when set, computes the figures
// from the recorded rows; check says whether the budget holds (ok) when it
// can be judged (known).
type summaryRow struct {
	key    string
	label  string
	format string
	budget string
	derive func(all map[string]vals) vals
	check  func(v vals, all map[string]vals) (ok, known bool)
}

var summaryRows = []summaryRow{
	{key: rowSpawnInit, label: "spawn (direct, http: a new client connects) → `initialize` answered, median (ms)", format: "%.1f",
		budget: "≤ 20 ms and ≥ 15× faster than mcp-remote",
		check: func(v vals, _ map[string]vals) (bool, bool) {
			br, ok1 := v.get(targetBridge)
			mr, ok2 := v.get(targetRemote)
			if !ok1 {
				return false, false
			}
			return br <= 20 && (!ok2 || mr >= 15*br), true
		}},
	{key: rowSpawnTools, label: "spawn (direct, http: a new client connects) → first `tools/list` answered, median (ms)", format: "%.1f", budget: "—"},
	{key: rowCallP50, label: "`tools/call` echo, sequential, p50 (µs)", format: "%.0f", budget: "—"},
	{key: rowCallP99, label: "`tools/call` echo, sequential, p99 (µs)", format: "%.0f", budget: "—"},
	{key: "added-p50", label: "added latency over direct, p50 (µs)", format: "%+.0f", budget: "— (see the interleaved row)",
		derive: addedOverDirect(rowCallP50)},
	{key: rowInterleavedP50, label: "`tools/call` echo, interleaved round-robin, p50 (µs)", format: "%.0f", budget: "—"},
	{key: "added-interleaved", label: "added latency over direct, p50, interleaved (µs)", format: "%+.0f", budget: "≤ 300 µs",
		derive: addedOverDirect(rowInterleavedP50),
		check:  bridgeAtMost(300)},
	{key: "http-p50-ratio", label: "http endpoint p50 ÷ direct, interleaved", format: "%.2f×", budget: "http ≤ 1.15× direct",
		derive: ratioToDirect(rowInterleavedP50),
		check: func(v vals, _ map[string]vals) (bool, bool) {
			x, ok := v.get(targetHTTP)
			return x <= 1.15, ok
		}},
	{key: rowInterleavedSocket, label: "diagnostic: added latency, interleaved, straight to the hub socket (no bridge process) (µs)", format: "%+.0f", budget: "—"},
	{key: rowPingHub, label: "diagnostic: `ping` answered by the hub via the bridge, p50 (µs)", format: "%.0f", budget: "—"},
	{key: rowPingSocket, label: "diagnostic: `ping` sent straight to the hub socket (no bridge process), p50 (µs)", format: "%.0f", budget: "—"},
	{key: rowThroughput, label: "throughput, 32 in flight (calls/s)", format: "%.0f", budget: "—"},
	{key: "throughput-ratio", label: "throughput ÷ direct", format: "%.2f×", budget: "≥ 0.9× direct and ≥ 1.8× mcp-remote",
		derive: ratioToDirect(rowThroughput),
		check: func(v vals, _ map[string]vals) (bool, bool) {
			br, ok := v.get(targetBridge)
			mr, ok2 := v.get(targetRemote)
			return br >= 0.9 && (!ok2 || br >= 1.8*mr), ok
		}},
	{key: "http-throughput-ratio", label: "http endpoint throughput ÷ direct", format: "%.2f×", budget: "http ≥ 1.0× direct",
		derive: ratioToDirect(rowThroughput),
		check: func(v vals, _ map[string]vals) (bool, bool) {
			x, ok := v.get(targetHTTP)
			return x >= 1.0, ok
		}},
	{key: rowConnsCall, label: "diagnostic: new upstream TCP connections per call, sequential", format: "%.2f", budget: "—"},
	{key: rowConnsThroughput, label: "diagnostic: new upstream TCP connections per call, 32 in flight", format: "%.2f", budget: "—"},
	{key: rowChildCPU, label: "diagnostic: CPU of the stdio process per call at 32 in flight (µs)", format: "%.0f", budget: "—"},
	{key: rowRSSLaunch, label: "peak RSS of a launch, VmHWM (MB)", format: "%.1f", budget: "≤ 15 MB",
		check: bridgeAtMost(15)},
	{key: rowRSSLoad, label: "peak RSS after Call + Throughput32, VmHWM (MB)", format: "%.1f", budget: "≤ 15 MB",
		check: bridgeAtMost(15)},
	{key: rowOpened, label: "upstream sessions opened per launch", format: "%.2f", budget: "0 (warm hub: one session per server)",
		check: bridgeAtMost(0)},
	{key: rowClosed, label: "upstream sessions closed per launch", format: "%.2f", budget: "—"},
	{key: rowExitOnEOF, label: "launches that exit on stdin EOF within 2 s", format: "%.2f", budget: "—"},
	{key: rowHubRSS, label: "`mcptray serve`, 20 servers connected: VmRSS (MB)", format: "%.1f", budget: "≤ 60 MB",
		check: bridgeAtMost(60)},
	{key: rowHubOpened, label: "`mcptray serve`, 20 servers: sessions opened per server", format: "%.2f", budget: "1",
		check: bridgeEquals(1)},
	{key: rowHubClosed, label: "`mcptray serve`, 20 servers: sessions closed per server on SIGTERM", format: "%.2f", budget: "1 (closed on exit)",
		check: bridgeEquals(1)},
	{key: rowModernInterleaved, label: "2026-07-28 server (mcp-go, modern only): `tools/call` echo, interleaved, p50 (µs); direct: mcp-go client speaking 2026-07-28, bridge: a legacy IDE", format: "%.0f", budget: "—"},
	{key: "modern-added-interleaved", label: "2026-07-28 server: added latency over direct, p50, interleaved (µs)", format: "%+.0f", budget: "≤ 300 µs",
		derive: addedOverDirect(rowModernInterleaved),
		check:  bridgeAtMost(300)},
	{key: rowModernInterleavedModIDE, label: "2026-07-28 server: the same through the bridge from a modern IDE (`_meta` on every request), p50 (µs)", format: "%.0f", budget: "—"},
	{key: rowModernThroughput, label: "2026-07-28 server: throughput, 32 in flight (calls/s)", format: "%.0f", budget: "—"},
	{key: "modern-throughput-ratio", label: "2026-07-28 server: throughput ÷ direct", format: "%.2f×", budget: "≥ 0.9× direct",
		derive: func(all map[string]vals) vals {
			out := vals{}
			d, ok := all[rowModernThroughput].get(targetDirect)
			if !ok || d == 0 {
				return out
			}
			for _, t := range []string{targetDirect, targetBridge} {
				if x, ok := all[rowModernThroughput].get(t); ok {
					out[t] = x / d
				}
			}
			return out
		},
		check: func(v vals, _ map[string]vals) (bool, bool) {
			br, ok := v.get(targetBridge)
			return br >= 0.9, ok
		}},
}

// addedOverDirect derives each target's figure minus direct's from row.
func addedOverDirect(row string) func(map[string]vals) vals {
	return func(all map[string]vals) vals {
		out := vals{}
		d, ok := all[row].get(targetDirect)
		if !ok {
			return out
		}
		for _, t := range []string{targetRemote, targetBridge, targetHTTP} {
			if x, ok := all[row].get(t); ok {
				out[t] = x - d
			}
		}
		return out
	}
}

// ratioToDirect derives each target's figure divided by direct's.
func ratioToDirect(row string) func(map[string]vals) vals {
	return func(all map[string]vals) vals {
		out := vals{}
		d, ok := all[row].get(targetDirect)
		if !ok || d == 0 {
			return out
		}
		for _, t := range allTargets {
			if x, ok := all[row].get(t); ok {
				out[t] = x / d
			}
		}
		return out
	}
}

func bridgeAtMost(limit float64) func(vals, map[string]vals) (bool, bool) {
	return func(v vals, _ map[string]vals) (bool, bool) {
		x, ok := v.get(targetBridge)
		return x <= limit, ok
	}
}

func bridgeEquals(want float64) func(vals, map[string]vals) (bool, bool) {
	return func(v vals, _ map[string]vals) (bool, bool) {
		x, ok := v.get(targetBridge)
		return x == want, ok
	}
}

// printSummary writes the Markdown table of everything recorded, if
// anything was.
func printSummary(w io.Writer) {
	results.Lock()
	all := map[string]vals{}
	for k, v := range results.v {
		all[k] = vals(v)
	}
	results.Unlock()
	if len(all) == 0 {
		return
	}
	var sb strings.Builder
	sb.WriteString("\n## mcptray performance summary\n\n")
	sb.WriteString("(`mcptray serve` rows: in the bridge column. ✓/✗: the bridge, or where the budget says so the http endpoint, against DESIGN.md's budget.)\n")
	fmt.Fprintf(&sb, "(%d CPUs; 1-minute load average %s when the environment was set up, %s now: figures are noisy when other work runs.)\n\n",
		runtime.NumCPU(), shared.loadAtSetup, loadAverage())
	sb.WriteString("| metric | direct | mcp-remote | bridge | http endpoint | budget |\n|---|---:|---:|---:|---:|---|\n")
	for _, r := range summaryRows {
		v := all[r.key]
		if r.derive != nil {
			v = r.derive(all)
		}
		if len(v) == 0 {
			continue
		}
		cells := make([]string, 0, len(allTargets))
		for _, t := range allTargets {
			if x, ok := v.get(t); ok {
				cells = append(cells, fmt.Sprintf(r.format, x))
			} else {
				cells = append(cells, "–")
			}
		}
		budget := r.budget
		if r.check != nil {
			if ok, known := r.check(v, all); known {
				mark := " ✗"
				if ok {
					mark = " ✓"
				}
				budget += mark
			}
		}
		fmt.Fprintf(&sb, "| %s | %s | %s |\n", r.label, strings.Join(cells, " | "), budget)
	}
	_, _ = io.WriteString(w, sb.String())
}

// loadAverage is the 1-minute load average from /proc/loadavg, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
