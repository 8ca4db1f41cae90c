package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The device grant's polling (RFC 8628 section 3.5) against a scripted
// authorization server, on synctest's fake clock: the waits between polls
// are the intervals the code chose, to the nanosecond, and a test of a
// minute of polling takes none.

const (
	scriptedDevice = "https://as.example/device"
	scriptedToken  = "https://as.example/token"
)

// scriptedAS answers the device authorization endpoint with a code at
// interval seconds (0: none named) that expires in expiresIn seconds (0:
// no expiry named), and the token endpoint's polls from its script, one
// answer each: an OAuth error code, "ok" (the tokens), "503" (a server
// error without an OAuth answer), "timeout" (the connection times out) or
// "hang" (no answer until the poll is given up).
// Polls past the script are answered authorization_pending.
type scriptedAS struct {
	interval, expiresIn int
	script              []string

	mu    sync.Mutex
	polls []time.Time // when each poll came
}

func (s *scriptedAS) handler(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.URL.String() == scriptedDevice {
		da := map[string]any{"device_code": "dc-secret", "user_code": "ABCD-EFGH", "verification_uri": "https://as.example/verify"}
		if s.interval > 0 {
			da["interval"] = s.interval
		}
		if s.expiresIn > 0 {
			da["expires_in"] = s.expiresIn
		}
		_ = json.NewEncoder(w).Encode(da)
		return
	}
	if r.PostForm.Get("grant_type") != deviceGrantType || r.PostForm.Get("device_code") != "dc-secret" {
		http.Error(w, "unexpected poll", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	n := len(s.polls)
	s.polls = append(s.polls, time.Now())
	s.mu.Unlock()
	answer := "authorization_pending"
	if n < len(s.script) {
		answer = s.script[n]
	}
	switch answer {
	case "ok":
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-secret", "token_type": "Bearer", "expires_in": 3600})
	case "hang":
		<-r.Context().Done()
	case "503":
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	default:
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": answer, "error_description": "scripted " + answer})
	}
}

// timeoutError is a connection timeout, as net/http reports one.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// RoundTrip serves a request from the handler, in memory: no network, so
// that synctest's clock moves whenever the login waits.
func (s *scriptedAS) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	timeout := r.URL.String() == scriptedToken && len(s.polls) < len(s.script) && s.script[len(s.polls)] == "timeout"
	if timeout {
		s.polls = append(s.polls, time.Now())
	}
	s.mu.Unlock()
	if timeout {
		return nil, timeoutError{}
	}
	rec := httptest.NewRecorder()
	s.handler(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// gaps are the waits before each poll, the first from start.
func (s *scriptedAS) gaps(start time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	prev := start
	for _, at := range s.polls {
		out = append(out, at.Sub(prev))
		prev = at
	}
	return out
}

// deviceRun is one device sign-in against a scriptedAS.
type deviceRun struct {
	m     *Manager
	err   error
	took  time.Duration // from the start to the login's end
	start time.Time
	codes []DeviceCode
}

// runDevice runs deviceLogin against as, in the calling bubble; during,
// when set, runs beside it (and may cancel its context).
func runDevice(t *testing.T, as *scriptedAS, during func(cancel context.CancelFunc)) *deviceRun {
	t.Helper()
	dir := t.TempDir()
	run := &deviceRun{start: time.Now()}
	run.m = NewManager(Config{
		ServerURL:  "https://mcp.example/mcp",
		Store:      NewFileStore(filepath.Join(dir, credentialsFile)),
		LockDir:    filepath.Join(dir, "locks"),
		HTTPClient: &http.Client{Transport: as},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if during != nil {
		go during(cancel)
	}
	base := &Credentials{ClientID: "client-1", TokenEndpoint: scriptedToken}
	run.err = run.m.deviceLogin(ctx, scriptedDevice, base, nil, LoginOptions{
		OnDeviceCode: func(dc DeviceCode) { run.codes = append(run.codes, dc) },
	})
	run.took = time.Since(run.start)
	if run.err != nil && strings.Contains(run.err.Error(), "secret") {
		t.Errorf("the error shows a secret: %v", run.err)
	}
	return run
}

func secs(s ...float64) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v * float64(time.Second))
	}
	return out
}

func sameDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDevicePollingSlowsDown: authorization_pending keeps the interval;
// each slow_down adds 5 s to it for that poll and all later ones; the
// approval ends the polling with the tokens stored.
func TestDevicePollingSlowsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := &scriptedAS{interval: 2, expiresIn: 600, script: []string{"authorization_pending", "slow_down", "authorization_pending", "slow_down", "ok"}}
		run := runDevice(t, as, nil)
		if run.err != nil {
			t.Fatalf("deviceLogin: %v", run.err)
		}
		if got, want := as.gaps(run.start), secs(2, 2, 7, 7, 12); !sameDurations(got, want) {
			t.Errorf("waits before each poll %v, want %v", got, want)
		}
		if len(run.codes) != 1 || run.codes[0].UserCode != "ABCD-EFGH" {
			t.Errorf("codes shown: %+v", run.codes)
		}
		c, err := run.m.Stored(context.Background())
		if err != nil || c.AccessToken != "at-secret" {
			t.Fatalf("stored %+v, %v; want the approved tokens", c, err)
		}
	})
}

// TestDevicePollingDefaultInterval: without an interval the client polls
// every 5 s (RFC 8628 section 3.2), slow_down still adds 5 s.
func TestDevicePollingDefaultInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := &scriptedAS{script: []string{"authorization_pending", "slow_down", "ok"}}
		run := runDevice(t, as, nil)
		if run.err != nil {
			t.Fatalf("deviceLogin: %v", run.err)
		}
		if got, want := as.gaps(run.start), secs(5, 5, 10); !sameDurations(got, want) {
			t.Errorf("waits before each poll %v, want %v", got, want)
		}
	})
}

// TestDevicePollingBacksOff: a poll that failed (a connection timeout,
// RFC 8628 section 3.5: the client MUST poll less often; a 5xx) doubles
// the interval, and the polling goes on.
func TestDevicePollingBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := &scriptedAS{interval: 2, expiresIn: 600, script: []string{"authorization_pending", "timeout", "authorization_pending", "503", "ok"}}
		run := runDevice(t, as, nil)
		if run.err != nil {
			t.Fatalf("deviceLogin: %v", run.err)
		}
		if got, want := as.gaps(run.start), secs(2, 2, 4, 4, 8); !sameDurations(got, want) {
			t.Errorf("waits before each poll %v, want %v", got, want)
		}
	})
}

// TestDevicePollingEnds: the ways the polling ends without tokens, each
// with an error that says what happened and what the user can do, and no
// poll after it.
func TestDevicePollingEnds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		as       *scriptedAS
		during   func(cancel context.CancelFunc)
		wantCode string   // the *AuthorizationError's code; "" for none
		wantIs   error    // the error matches it
		wantText []string // in the error's message
		wantGaps []time.Duration
		wantTook time.Duration // from the start to the end
	}{
		{
			name:     "the code expired (expired_token)",
			as:       &scriptedAS{interval: 3, expiresIn: 600, script: []string{"authorization_pending", "expired_token"}},
			wantCode: "expired_token",
			wantText: []string{"expired", "new code"},
			wantGaps: secs(3, 3), wantTook: 6 * time.Second,
		},
		{
			name:     "the user refused (access_denied)",
			as:       &scriptedAS{interval: 3, expiresIn: 600, script: []string{"authorization_pending", "access_denied"}},
			wantCode: "access_denied", wantIs: ErrAccessDenied,
			wantText: []string{"declined", "signing in again"},
			wantGaps: secs(3, 3), wantTook: 6 * time.Second,
		},
		{
			// No answer says so, but the code's lifetime is over.
			name:     "the code's lifetime passed while pending",
			as:       &scriptedAS{interval: 4, expiresIn: 10},
			wantCode: "expired_token",
			wantText: []string{"expired", "new code"},
			wantGaps: secs(4, 4), wantTook: 10 * time.Second,
		},
		{
			name:     "the code's lifetime passed during a poll",
			as:       &scriptedAS{interval: 4, expiresIn: 10, script: []string{"authorization_pending", "hang"}},
			wantCode: "expired_token",
			wantText: []string{"expired", "new code"},
			wantGaps: secs(4, 4), wantTook: 10 * time.Second,
		},
		{
			name:   "cancelled while waiting to poll",
			as:     &scriptedAS{interval: 5, expiresIn: 600},
			during: func(cancel context.CancelFunc) { time.Sleep(7 * time.Second); cancel() },
			wantIs: context.Canceled, wantText: []string{"did not complete"},
			wantGaps: secs(5), wantTook: 7 * time.Second,
		},
		{
			name:   "cancelled during a poll",
			as:     &scriptedAS{interval: 5, expiresIn: 600, script: []string{"hang"}},
			during: func(cancel context.CancelFunc) { time.Sleep(7 * time.Second); cancel() },
			wantIs: context.Canceled, wantText: []string{"did not complete"},
			wantGaps: secs(5), wantTook: 7 * time.Second,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				run := runDevice(t, tc.as, tc.during)
				if run.err == nil {
					t.Fatal("deviceLogin succeeded")
				}
				var ae *AuthorizationError
				if tc.wantCode != "" && (!errors.As(run.err, &ae) || ae.Code != tc.wantCode) {
					t.Errorf("error %v, want an authorization error %s", run.err, tc.wantCode)
				}
				if tc.wantIs != nil && !errors.Is(run.err, tc.wantIs) {
					t.Errorf("error %v does not match %v", run.err, tc.wantIs)
				}
				for _, w := range tc.wantText {
					if !strings.Contains(run.err.Error(), w) {
						t.Errorf("error %q does not say %q", run.err, w)
					}
				}
				// Nothing polls after the end.
				time.Sleep(time.Hour)
				if got := tc.as.gaps(run.start); !sameDurations(got, tc.wantGaps) {
					t.Errorf("waits before each poll %v, want %v", got, tc.wantGaps)
				}
				if run.took != tc.wantTook {
					t.Errorf("ended after %s, want %s", run.took, tc.wantTook)
				}
				if _, err := run.m.Stored(context.Background()); !errors.Is(err, ErrNotFound) {
					t.Errorf("credentials stored after a failed sign-in: %v", err)
				}
			})
		})
	}
}
