package app

import (
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
)

// TestNotifier plays state sequences and checks which notifications come
// out, and when.
func TestNotifier(t *testing.T) {
	t.Parallel()
	const (
		on   = mcpclient.StateConnected
		conn = mcpclient.StateConnecting
		in   = mcpclient.StateLoggingIn
		need = mcpclient.StateNeedsLogin
		back = mcpclient.StateBackoff
		fail = mcpclient.StateFailed
		off  = mcpclient.StateDisabled
	)
	type step struct {
		after time.Duration // since the previous step
		state mcpclient.State
		want  string // the notification title, "" for none
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"first connect is no news", []step{{0, conn, ""}, {time.Second, on, ""}}},
		{"sign-in once per episode", []step{
			{0, conn, ""}, {time.Second, need, "jira needs sign-in"}, {time.Second, in, ""},
			{time.Minute, need, ""}, {time.Minute, in, ""}, {time.Second, need, ""},
		}},
		{"new episode after connecting", []step{
			{0, need, "jira needs sign-in"}, {time.Minute, on, ""}, {10 * time.Minute, need, "jira needs sign-in"},
		}},
		{"needs sign-in at start", []step{{0, need, "jira needs sign-in"}}},
		{"recovered after backoff", []step{
			{0, on, ""}, {time.Minute, back, ""}, {time.Second, conn, ""}, {time.Second, on, "jira is connected again"},
		}},
		{"recovered after failed", []step{{0, fail, ""}, {time.Minute, conn, ""}, {time.Second, on, "jira is connected again"}}},
		{"a plain rebuild is no news", []step{{0, on, ""}, {time.Minute, conn, ""}, {time.Second, on, ""}}},
		{"disabled ends the failing episode", []step{{0, back, ""}, {time.Second, off, ""}, {time.Second, conn, ""}, {time.Second, on, ""}}},
		{"flapping is rate-limited", []step{
			{0, on, ""},
			{time.Minute, back, ""}, {time.Second, on, "jira is connected again"},
			{10 * time.Second, back, ""}, {time.Second, on, ""},
			{time.Minute, back, ""}, {time.Second, on, ""},
			{5 * time.Minute, back, ""}, {time.Second, on, "jira is connected again"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			n := NewNotifier()
			at := now
			for i, st := range c.steps {
				at = at.Add(st.after)
				notes := n.Update([]mcpclient.ServerStatus{{Name: "jira", State: st.state}}, at)
				got := ""
				if len(notes) > 1 {
					t.Fatalf("step %d: %d notifications", i, len(notes))
				}
				if len(notes) == 1 {
					got = notes[0].Title
				}
				if got != st.want {
					t.Errorf("step %d (%s): got %q, want %q", i, st.state, got, st.want)
				}
			}
		})
	}
}

// TestNotifierBurst: many servers needing sign-in at once give at most
// three notifications a minute.
func TestNotifierBurst(t *testing.T) {
	t.Parallel()
	n := NewNotifier()
	var snap []mcpclient.ServerStatus
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		snap = append(snap, mcpclient.ServerStatus{Name: name, State: mcpclient.StateNeedsLogin})
	}
	if got := len(n.Update(snap, now)); got != 3 {
		t.Errorf("%d notifications, want 3", got)
	}
	if got := len(n.Update(snap, now.Add(2*time.Minute))); got != 0 {
		t.Errorf("%d notifications for the same episodes, want 0", got)
	}
}
