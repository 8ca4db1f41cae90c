package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// exitGrace is how long a stdio child may take to exit once its stdin
// closes before it is sent SIGTERM.
const exitGrace = 2 * time.Second

// BenchmarkSpawnInitialize launches a stdio target per iteration, as an IDE
// does: ns/op is spawn → initialize answered. It also reports the median of
// that and of spawn → first tools/list answered, the peak RSS of the process
// (VmHWM just before stdin closes), and the upstream sessions each launch
// opened and closed.
func BenchmarkSpawnInitialize(b *testing.B) {
	for _, target := range []string{targetRemote, targetBridge} {
		b.Run(target, func(b *testing.B) { benchSpawn(b, target) })
	}
}

func benchSpawn(b *testing.B, target string) {
	env := shared.get(b)
	var toInit, toTools []time.Duration
	var hwmKB []int64
	onEOF := 0
	before := env.proxy.counts()
	b.ResetTimer()
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		start := time.Now()
		p, err := startStdio(env.cmd(b, target))
		if err != nil {
			cancel()
			b.Fatalf("start %s: %v", target, err)
		}
		err = p.initialize(ctx)
		dInit := time.Since(start)
		b.StopTimer()
		if err == nil {
			_, err = p.initialized(ctx)
		}
		dTools := time.Since(start)
		cancel()
		if err != nil {
			p.shutdown(0)
			b.Fatalf("%s: %v\nstderr: %s", target, err, p.stderrTail())
		}
		hwm, err := procStatusKB(p.pid(), "VmHWM")
		if err != nil {
			b.Fatalf("%s: %v", target, err)
		}
		if p.shutdown(exitGrace) {
			onEOF++
		}
		toInit, toTools, hwmKB = append(toInit, dInit), append(toTools, dTools), append(hwmKB, hwm)
		b.StartTimer()
	}
	b.StopTimer()
	delta := env.proxy.counts().sub(before)

	initP50, toolsP50 := percentile(toInit, 50), percentile(toTools, 50)
	peak := slices.Max(hwmKB)
	n := float64(b.N)
	b.ReportMetric(ms(initP50), "init-p50-ms")
	b.ReportMetric(ms(toolsP50), "tools-list-p50-ms")
	b.ReportMetric(float64(peak)/1024, "peak-rss-MB")
	b.ReportMetric(float64(delta.opened)/n, "sessions-opened/launch")
	b.ReportMetric(float64(delta.closed)/n, "sessions-closed/launch")
	record(rowSpawnInit, target, ms(initP50))
	record(rowSpawnTools, target, ms(toolsP50))
	record(rowRSSLaunch, target, float64(peak)/1024)
	record(rowOpened, target, float64(delta.opened)/n)
	record(rowClosed, target, float64(delta.closed)/n)
	record(rowExitOnEOF, target, float64(onEOF)/n)
}

var allTargets = []string{targetDirect, targetRemote, targetBridge, targetHTTP}

// BenchmarkConnectInitialize is the HTTP counterpart of
// BenchmarkSpawnInitialize: per iteration a new mcp-go client connects,
// as an IDE that reaches servers by URL does on start: ns/op is connect →
// initialize answered; it also reports the median of that and of connect
// → first tools/list answered. direct connects to server-everything
// itself, http to the hub's endpoint (warm: the upstream session is up).
func BenchmarkConnectInitialize(b *testing.B) {
	for _, target := range []string{targetDirect, targetHTTP} {
		b.Run(target, func(b *testing.B) {
			env := shared.get(b)
			url, hdr := env.proxy.URL(), map[string]string(nil)
			if target == targetHTTP {
				url, hdr = env.httpURL, env.httpHeaders()
			}
			var toInit, toTools []time.Duration
			b.ResetTimer()
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				start := time.Now()
				d, err := newDirect(ctx, url, hdr)
				dInit := time.Since(start)
				if err == nil {
					_, err = d.c.ListTools(ctx, mcp.ListToolsRequest{})
				}
				dTools := time.Since(start)
				b.StopTimer()
				cancel()
				if err != nil {
					b.Fatalf("%s: %v", target, err)
				}
				d.close()
				toInit, toTools = append(toInit, dInit), append(toTools, dTools)
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(ms(percentile(toInit, 50)), "init-median-ms")
			b.ReportMetric(ms(percentile(toTools, 50)), "tools-median-ms")
			record(rowSpawnInit, target, ms(percentile(toInit, 50)))
			record(rowSpawnTools, target, ms(percentile(toTools, 50)))
		})
	}
}

// BenchmarkCall makes sequential tools/call echo requests on a long-lived,
// warm session of each target; it reports the p50 and p99 latency.
func BenchmarkCall(b *testing.B) {
	for _, target := range allTargets {
		b.Run(target, func(b *testing.B) {
			env := shared.get(b)
			s := env.session(b, target)
			ctx := context.Background()
			lat := make([]time.Duration, b.N)
			before := env.proxy.counts()
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if err := s.callEcho(ctx); err != nil {
					b.Fatalf("%s: call %d: %v", target, i, err)
				}
				lat[i] = time.Since(start)
			}
			b.StopTimer()
			reportConns(b, target, rowConnsCall, env.proxy.counts().sub(before))
			p50, p99 := percentile(lat, 50), percentile(lat, 99)
			b.ReportMetric(us(p50), "p50-µs")
			b.ReportMetric(us(p99), "p99-µs")
			record(rowCallP50, target, us(p50))
			record(rowCallP99, target, us(p99))
		})
	}
}

// BenchmarkCallInterleaved makes one sequential echo call on each target per
// iteration, in rotating order, so that all see the same background load:
// the fairest figure for the added latency over direct on a shared machine.
// A fourth session, on the hub's socket from this process, splits the
// bridge's added latency into the hub's share and the bridge process's.
// ns/op is the time of the four calls.
func BenchmarkCallInterleaved(b *testing.B) {
	env := shared.get(b)
	targets := append(slices.Clone(allTargets), targetSocket)
	sessions := make([]caller, len(targets))
	for i, t := range targets {
		sessions[i] = env.session(b, t)
	}
	ctx := context.Background()
	lat := make([][]time.Duration, len(targets))
	for i := range lat {
		lat[i] = make([]time.Duration, 0, b.N)
	}
	b.ResetTimer()
	for n := range b.N {
		for k := range targets {
			i := (n + k) % len(targets)
			start := time.Now()
			if err := sessions[i].callEcho(ctx); err != nil {
				b.Fatalf("%s: call %d: %v", targets[i], n, err)
			}
			lat[i] = append(lat[i], time.Since(start))
		}
	}
	b.StopTimer()
	direct := us(percentile(lat[0], 50))
	for i, t := range targets {
		p50 := us(percentile(lat[i], 50))
		b.ReportMetric(p50, t+"-p50-µs")
		if t == targetSocket {
			record(rowInterleavedSocket, targetBridge, p50-direct)
		} else {
			record(rowInterleavedP50, t, p50)
		}
		if t != targetDirect {
			b.ReportMetric(p50-direct, t+"-added-p50-µs")
		}
	}
}

// BenchmarkPingHub is a diagnostic of the bridge path without the
// upstream: the hub answers `ping` itself. bridge is the round trip IDE →
// bridge process → hub socket → back, the floor of the bridge's added
// latency; socket is the same ping sent straight to the hub's socket from
// this process, so the difference is the bridge process's share.
func BenchmarkPingHub(b *testing.B) {
	b.Run(targetBridge, func(b *testing.B) {
		env := shared.get(b)
		p := env.session(b, targetBridge).(*stdioProc)
		ctx := context.Background()
		benchPing(b, rowPingHub, func() error { _, err := p.call(ctx, "ping", nil); return err })
	})
	b.Run("socket", func(b *testing.B) {
		env := shared.get(b)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, r, rep, err := ipc.Open(ctx, paths.Socket(env.home), ipc.Hello{Op: ipc.OpAttach, Server: serverName, Client: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if !rep.OK {
			b.Fatalf("attach refused: %s", rep.Error)
		}
		roundTrip := func(line string) error {
			if _, err := io.WriteString(c, line+"\n"); err != nil {
				return err
			}
			_, err := r.ReadBytes('\n')
			return err
		}
		if err := roundTrip(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":` + string(initializeParams) + `}`); err != nil {
			b.Fatal(err)
		}
		benchPing(b, rowPingSocket, func() error { return roundTrip(`{"jsonrpc":"2.0","id":1,"method":"ping"}`) })
	})
}

func benchPing(b *testing.B, row string, ping func() error) {
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := ping(); err != nil {
			b.Fatalf("ping %d: %v", i, err)
		}
		lat[i] = time.Since(start)
	}
	b.StopTimer()
	p50 := percentile(lat, 50)
	b.ReportMetric(us(p50), "p50-µs")
	b.ReportMetric(us(percentile(lat, 99)), "p99-µs")
	record(row, targetBridge, us(p50))
}

// inFlight is the concurrency of BenchmarkThroughput32.
const inFlight = 32

// BenchmarkThroughput32 keeps 32 tools/call echo requests in flight on one
// session of each target and reports calls per second. For the stdio
// targets it then reports the process's peak RSS after all that load.
func BenchmarkThroughput32(b *testing.B) {
	for _, target := range allTargets {
		b.Run(target, func(b *testing.B) {
			env := shared.get(b)
			s := env.session(b, target)
			before := env.proxy.counts()
			cpu0 := childCPU(s)
			elapsed := callsInFlight(b, target, s)
			reportConns(b, target, rowConnsThroughput, env.proxy.counts().sub(before))
			if cpu0 >= 0 {
				perCall := us(childCPU(s)-cpu0) / float64(b.N)
				b.ReportMetric(perCall, "child-cpu-µs/call")
				record(rowChildCPU, target, perCall)
			}
			rate := float64(b.N) / elapsed.Seconds()
			b.ReportMetric(rate, "calls/s")
			record(rowThroughput, target, rate)
			if p, ok := s.(*stdioProc); ok {
				if hwm, err := procStatusKB(p.pid(), "VmHWM"); err == nil {
					b.ReportMetric(float64(hwm)/1024, "peak-rss-MB")
					record(rowRSSLoad, target, float64(hwm)/1024)
				}
			}
		})
	}
}

// hubServers is the number of servers in BenchmarkHubRSS20's config.
const hubServers = 20

// BenchmarkHubRSS20 starts the real `mcptray serve` with 20 servers, all
// behind the counting proxy, per iteration: ns/op is start → every server
// connected per `mcptray status --json`. It reports the hub's resident
// memory then (VmRSS, and VmHWM), the upstream sessions opened per server,
// and those closed per server once the hub stopped on SIGTERM.
func BenchmarkHubRSS20(b *testing.B) {
	env := shared.get(b)
	dir := b.TempDir()
	cfg := filepath.Join(dir, "config.json")
	servers := map[string]string{}
	for i := range hubServers {
		servers[fmt.Sprintf("s%02d", i+1)] = env.proxy.URL()
	}
	writeConfig(b, cfg, servers, testenv.FreePort(b))
	var rssKB, hwmKB []int64
	var opened, closed int64
	b.ResetTimer()
	for i := range b.N {
		home := filepath.Join(dir, fmt.Sprintf("home%d", i))
		hubEnv := append(os.Environ(), "MCPTRAY_HOME="+home, "MCPTRAY_CONFIG="+cfg)
		before := env.proxy.counts()
		cmd := exec.Command(env.hubBin, "serve")
		cmd.Env = hubEnv
		logs := &tailBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				b.Errorf("mcptray serve did not stop within 10s of SIGTERM")
			}
		}
		if err := waitHubConnected(env.hubBin, hubEnv, exited); err != nil {
			stop()
			b.Fatalf("%v\nhub log:\n%s", err, logs.String())
		}
		b.StopTimer()
		rss, err1 := procStatusKB(cmd.Process.Pid, "VmRSS")
		hwm, err2 := procStatusKB(cmd.Process.Pid, "VmHWM")
		stop()
		if err1 != nil || err2 != nil {
			b.Fatalf("read /proc: %v %v", err1, err2)
		}
		delta := env.proxy.counts().sub(before)
		rssKB, hwmKB = append(rssKB, rss), append(hwmKB, hwm)
		opened += delta.opened
		closed += delta.closed
		b.StartTimer()
	}
	b.StopTimer()
	perServer := float64(b.N * hubServers)
	rss := float64(slices.Max(rssKB)) / 1024
	b.ReportMetric(rss, "rss-MB")
	b.ReportMetric(float64(slices.Max(hwmKB))/1024, "peak-rss-MB")
	b.ReportMetric(float64(opened)/perServer, "sessions-opened/server")
	b.ReportMetric(float64(closed)/perServer, "sessions-closed/server")
	record(rowHubRSS, targetBridge, rss)
	record(rowHubOpened, targetBridge, float64(opened)/perServer)
	record(rowHubClosed, targetBridge, float64(closed)/perServer)
}

// waitHubConnected polls `mcptray status --json` until every configured
// server is connected.
func waitHubConnected(hubBin string, env []string, exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("mcptray serve exited: %v", err)
		default:
		}
		cmd := exec.Command(hubBin, "status", "--json")
		cmd.Env = env
		out, err := cmd.Output()
		if err == nil {
			var st mcpclient.StatusReport
			if err := json.Unmarshal(out, &st); err != nil {
				return fmt.Errorf("status --json: %v\n%s", err, out)
			}
			up := 0
			for _, s := range st.Servers {
				if s.State == mcpclient.StateConnected {
					up++
				}
			}
			if len(st.Servers) == hubServers && up == hubServers {
				return nil
			}
			last = fmt.Sprintf("%d of %d connected", up, len(st.Servers))
		} else {
			last = err.Error()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not every server connected within 30s (last: %s)", last)
}

// childCPU is the CPU time used so far by the process behind a stdio
// session, or -1 for the direct target.
func childCPU(s caller) time.Duration {
	p, ok := s.(*stdioProc)
	if !ok {
		return -1
	}
	d, err := procCPU(p.pid())
	if err != nil {
		return -1
	}
	return d
}

// reportConns reports the new TCP connections to the upstream (through the
// proxy) per call: 0 when connections are reused, 1 when every call opens
// one.
func reportConns(b *testing.B, target, row string, d sessionCounts) {
	if d.posts == 0 {
		return
	}
	v := float64(d.conns) / float64(d.posts)
	b.ReportMetric(v, "new-conns/call")
	record(row, target, v)
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// callsInFlight makes b.N echo calls on s, inFlight at a time, timed (the
// benchmark timer runs only for them); the first error fails b.
func callsInFlight(b *testing.B, target string, s caller) time.Duration {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	b.ResetTimer()
	start := time.Now()
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := s.callEcho(ctx); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if firstErr != nil {
		b.Fatalf("%s: %v", target, firstErr)
	}
	return elapsed
}
