package app

import (
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
)

func TestOverallOf(t *testing.T) {
	t.Parallel()
	s := func(st ...mcpclient.State) []mcpclient.ServerStatus {
		var out []mcpclient.ServerStatus
		for _, x := range st {
			out = append(out, mcpclient.ServerStatus{State: x})
		}
		return out
	}
	const (
		on   = mcpclient.StateConnected
		conn = mcpclient.StateConnecting
		in   = mcpclient.StateLoggingIn
		need = mcpclient.StateNeedsLogin
		back = mcpclient.StateBackoff
		fail = mcpclient.StateFailed
		off  = mcpclient.StateDisabled
	)
	cases := []struct {
		name string
		snap []mcpclient.ServerStatus
		want Overall
	}{
		{"no servers", nil, OverallEmpty},
		{"all disabled", s(off, off), OverallEmpty},
		{"all connected", s(on, on, off), OverallConnected},
		{"one connecting", s(on, conn), OverallConnecting},
		{"one signing in", s(on, in), OverallConnecting},
		{"one backing off", s(on, conn, back), OverallFailing},
		{"one failed", s(fail, on), OverallFailing},
		{"needs sign-in beats failing", s(fail, need, conn), OverallSignIn},
	}
	for _, c := range cases {
		if got := OverallOf(c.snap); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	mk := func(st ...mcpclient.State) []mcpclient.ServerStatus {
		var out []mcpclient.ServerStatus
		for _, x := range st {
			out = append(out, mcpclient.ServerStatus{State: x})
		}
		return out
	}
	cases := map[string][]mcpclient.ServerStatus{
		"No servers configured":                 nil,
		"1 of 1 server connected":               mk(mcpclient.StateConnected),
		"3 of 4 servers connected":              mk(mcpclient.StateConnected, mcpclient.StateConnected, mcpclient.StateConnected, mcpclient.StateBackoff),
		"0 of 0 servers connected (2 disabled)": mk(mcpclient.StateDisabled, mcpclient.StateDisabled),
	}
	for want, snap := range cases {
		if got := Summary(snap); got != want {
			t.Errorf("Summary = %q, want %q", got, want)
		}
	}
}

func TestAgoAndErrorText(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		3 * time.Second:               "just now",
		42 * time.Second:              "42s ago",
		5*time.Minute + 3*time.Second: "5 min ago",
		2 * time.Hour:                 "2 h ago",
		26*time.Hour + 5*time.Minute:  "26 h 5 min ago",
		72 * time.Hour:                "3 days ago",
	} {
		if got := Ago(d); got != want {
			t.Errorf("Ago(%v) = %q, want %q", d, got, want)
		}
	}
	s := server("jira", mcpclient.StateBackoff)
	s.LastError = "read tcp:\n   connection\treset " + strings.Repeat("x", 400)
	got := ErrorText(s)
	if !strings.HasPrefix(got, "read tcp: connection reset xxx") || !strings.HasSuffix(got, "…") || len([]rune(got)) != 301 {
		t.Errorf("ErrorText = %q", got)
	}
	s.State = mcpclient.StateConnecting
	s.LastError = "attempt 3"
	if ErrorText(s) != "" {
		t.Error("a connect attempt's reason is shown as an error")
	}
}
