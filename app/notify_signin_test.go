package app

import (
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
)

// TestNotifierHeldRequest: a request held for a sign-in the hub started
// gets one "waiting for your sign-in" note per episode; the episode is the
// same one a "needs sign-in" note would belong to.
func TestNotifierHeldRequest(t *testing.T) {
	t.Parallel()
	type step struct {
		after   time.Duration
		state   mcpclient.State
		waiting int
		want    string
	}
	const waitingTitle = "jira is waiting for your sign-in"
	cases := []struct {
		name  string
		steps []step
	}{
		{"a held request, then signed in", []step{
			{0, mcpclient.StateConnected, 0, ""},
			{time.Minute, mcpclient.StateLoggingIn, 1, waitingTitle},
			{time.Second, mcpclient.StateLoggingIn, 2, ""},
			{time.Second, mcpclient.StateConnected, 0, ""},
		}},
		{"a sign-in nobody waits for is no news", []step{
			{0, mcpclient.StateConnected, 0, ""},
			{time.Minute, mcpclient.StateLoggingIn, 0, ""},
		}},
		{"the sign-in fails: no second note for the episode", []step{
			{0, mcpclient.StateLoggingIn, 1, waitingTitle},
			{time.Minute, mcpclient.StateNeedsLogin, 0, ""},
		}},
		{"a new episode after connecting", []step{
			{0, mcpclient.StateLoggingIn, 1, waitingTitle},
			{time.Minute, mcpclient.StateConnected, 0, ""},
			{10 * time.Minute, mcpclient.StateLoggingIn, 1, waitingTitle},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			n := NewNotifier()
			at := now
			for i, st := range c.steps {
				at = at.Add(st.after)
				notes := n.Update([]mcpclient.ServerStatus{{Name: "jira", State: st.state, WaitingForSignIn: st.waiting}}, at)
				got := ""
				if len(notes) > 1 {
					t.Fatalf("step %d: %d notifications", i, len(notes))
				}
				if len(notes) == 1 {
					got = notes[0].Title
				}
				if got != st.want {
					t.Errorf("step %d (%s, %d waiting): got %q, want %q", i, st.state, st.waiting, got, st.want)
				}
			}
		})
	}
}
