package bench

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient"
	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// Recovery rows: how long the IDE's next call takes after the upstream
// session was killed (server-everything restarted on its port) or its
// stream corrupted. Budget: answered within 1 s, nothing restarted.
const (
	rowRecoverRestart = "recover-restart"
	rowRecoverCorrupt = "recover-corrupt"
)

func init() {
	summaryRows = append(summaryRows,
		summaryRow{key: rowRecoverRestart, label: "recovery: server-everything restarted → next call answered, median / max over runs (ms)", format: "%.0f", budget: "≤ 1000 ms",
			check: bridgeAtMost(1000)},
		summaryRow{key: rowRecoverCorrupt, label: "recovery: stream corrupted mid-response → the retried `tools/list` answered, median (ms)", format: "%.0f", budget: "≤ 1000 ms",
			check: bridgeAtMost(1000)},
	)
}

// recoveryHub runs an in-process hub with one server and a bridge on it.
func recoveryHub(b *testing.B, url string) *stdioProc {
	b.Helper()
	dir, err := os.MkdirTemp("", "mtr")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	home, cfg := filepath.Join(dir, "home"), filepath.Join(dir, "config.json")
	writeConfig(b, cfg, map[string]string{serverName: url}, testenv.FreePort(b))
	hub, err := mcpclient.NewHub(mcpclient.HubOptions{
		ConfigPath: cfg, Home: home, Logger: slog.New(slog.DiscardHandler),
		CredentialStore: auth.NewFileStore(paths.Credentials(home)), NoAutoLogin: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = hub.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	env := shared.get(b)
	cmd := env.cmd(b, targetBridge)
	cmd.Env = append(os.Environ(), "MCPTRAY_HOME="+home, "MCPTRAY_CONFIG="+cfg)
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := startStdio(cmd)
		if err != nil {
			b.Fatal(err)
		}
		hctx, hcancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = p.handshake(hctx)
		hcancel()
		if err == nil {
			b.Cleanup(p.close)
			return p
		}
		p.close()
		if time.Now().After(deadline) {
			b.Fatalf("bridge handshake: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
		cmd = env.cmd(b, targetBridge)
		cmd.Env = append(os.Environ(), "MCPTRAY_HOME="+home, "MCPTRAY_CONFIG="+cfg)
	}
}

// BenchmarkRecoveryRestart kills server-everything and starts it again on
// the same port, then times the bridge's next call.
func BenchmarkRecoveryRestart(b *testing.B) {
	ev := testenv.StartEverything(b, testenv.TransportStreamable, 0)
	p := recoveryHub(b, ev.URL())
	ctx := context.Background()
	if err := p.callEcho(ctx); err != nil {
		b.Fatal(err)
	}
	var ds []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ev.Kill()
		ev.Restart()
		b.StartTimer()
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := p.callEcho(cctx)
		cancel()
		if err != nil {
			b.Fatalf("call after restart: %v", err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	med := ds[len(ds)/2]
	b.ReportMetric(ms(med), "ms-median")
	b.ReportMetric(ms(ds[len(ds)-1]), "ms-max")
	record(rowRecoverRestart, targetBridge, ms(med))
}

// BenchmarkRecoveryCorrupt corrupts the response stream of a tools/list
// and times that request, which the hub retries on a rebuilt session.
func BenchmarkRecoveryCorrupt(b *testing.B) {
	srv, err := fs.Start(fs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	p := recoveryHub(b, srv.URL())
	ctx := context.Background()
	var ds []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srv.Inject(fs.Fault{Kind: fs.CorruptSSEClose, Method: "tools/list"})
		b.StartTimer()
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := p.call(cctx, "tools/list", nil)
		cancel()
		if err != nil {
			b.Fatalf("tools/list with a corrupted stream: %v", err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	med := ds[len(ds)/2]
	b.ReportMetric(ms(med), "ms-median")
	record(rowRecoverCorrupt, targetBridge, ms(med))
}
