package mcpclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// The spec: a request's progress MUST increase with each notification.
// A request the hub holds for a sign-in, or sends again after a broken
// response stream, hears progress from two sources (the hub's hold, then
// the server; or the server's first attempt, then its second), and each
// starts counting afresh. The IDE must still see one increasing sequence.

// serverProgress is the server's notifications/progress for upstream
// token tok; total < 0 leaves total out.
func serverProgress(tok json.RawMessage, p, total float64, msg string) *jsonrpc.Message {
	params := map[string]any{"progressToken": tok, "progress": p, "message": msg}
	if total >= 0 {
		params["total"] = total
	}
	b, _ := json.Marshal(params)
	return &jsonrpc.Message{JSONRPC: "2.0", Method: "notifications/progress", Params: b}
}

// seenProgress is one notifications/progress as the IDE got it.
type seenProgress struct {
	token    string
	progress float64
	total    *float64
	message  string
}

func (p seenProgress) String() string {
	if p.total == nil {
		return fmt.Sprintf("%v (%q)", p.progress, p.message)
	}
	return fmt.Sprintf("%v/%v (%q)", p.progress, *p.total, p.message)
}

// progressOf returns the IDE's progress notifications among msgs, and
// whether one of msgs was the answer.
func progressOf(t *testing.T, msgs []rtMsg) (out []seenProgress, answered bool) {
	t.Helper()
	for _, m := range msgs {
		if m.Method != "notifications/progress" {
			answered = answered || (m.Method == "" && m.Result != nil)
			continue
		}
		var p seenProgress
		var total float64
		if err := json.Unmarshal(m.Params["progress"], &p.progress); err != nil {
			t.Fatalf("progress %s: %v", m.Params["progress"], err)
		}
		if raw, ok := m.Params["total"]; ok {
			if err := json.Unmarshal(raw, &total); err != nil {
				t.Fatalf("total %s: %v", raw, err)
			}
			p.total = &total
		}
		p.token = string(m.Params["progressToken"])
		_ = json.Unmarshal(m.Params["message"], &p.message)
		out = append(out, p)
	}
	return out, answered
}

// checkIncreasing fails the test unless the sequence strictly increases
// under the IDE's token tok, with total (when given) never below progress.
func checkIncreasing(t *testing.T, seq []seenProgress, tok string) {
	t.Helper()
	for i, p := range seq {
		if p.token != tok {
			t.Errorf("notification %d: token %s, want the IDE's %s", i, p.token, tok)
		}
		if i > 0 && p.progress <= seq[i-1].progress {
			t.Errorf("progress went from %v to %v: %v", seq[i-1], p, seq)
		}
		if p.total != nil && *p.total < p.progress {
			t.Errorf("notification %d: total below progress: %v", i, p)
		}
	}
}

func TestProgressIncreasesAcrossAHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRTHub(t)
		defer h.close()
		// No session: the server's sign-in runs.
		h.u.mu.Lock()
		h.u.cur = nil
		h.u.mu.Unlock()
		h.u.setState(StateLoggingIn, "waiting for the browser sign-in", time.Time{})
		a := h.ide("A")
		a.send(t, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","_meta":{"progressToken":"t"}}}`)
		time.Sleep(2*holdProgressEvery + time.Second) // three hold notifications
		synctest.Wait()

		h.u.signInEnded(nil)
		h.u.install(h.s)
		synctest.Wait()
		p := h.conn.pending()
		if len(p) != 1 {
			t.Fatalf("%d requests upstream after the sign-in, want 1", len(p))
		}
		tok := upstreamToken(t, p[0])
		// The server counts from 0, as it would for any request.
		for i := range 3 {
			h.u.serverNotification(h.s, serverProgress(tok, float64(i), 2, fmt.Sprintf("step %d", i)))
		}
		p[0].answer <- &jsonrpc.Message{JSONRPC: "2.0", ID: p[0].req.ID, Result: json.RawMessage(`{}`)}
		synctest.Wait()

		seq, answered := progressOf(t, a.take())
		if !answered {
			t.Fatal("the call was not answered")
		}
		checkIncreasing(t, seq, `"t"`)
		// The hold's 1, 2, 3; the server's 0 cannot go above 3 and is
		// left out; its 1 and 2 of 2 come after the hold's 3.
		want := []string{
			`1 ("waiting for you to sign in to srv in your browser")`,
			`2 ("waiting for you to sign in to srv in your browser")`,
			`3 ("waiting for you to sign in to srv in your browser")`,
			`4/5 ("step 1")`,
			`5/5 ("step 2")`,
		}
		if got := fmt.Sprint(seq); got != fmt.Sprint(want) {
			t.Errorf("the IDE got progress\n%v\nwant\n%v", got, want)
		}
		rtEmpty(t, h.u.router)
	})
}

func TestProgressIncreasesAcrossAReissue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRTHub(t)
		defer h.close()
		// A modern session: a request whose response stream broke is
		// sent again at once under a new id, with the same token.
		h.s.modern = true
		a := h.ide("A")
		first := h.callWithToken(t, a, `1`, `"t"`)
		tok := upstreamToken(t, first)
		for i := 1; i <= 3; i++ {
			h.u.serverNotification(h.s, serverProgress(tok, float64(i)/4, 1, ""))
		}
		first.fail <- &transport.StreamError{Err: errors.New("stream cut")}
		synctest.Wait()
		p := h.conn.pending()
		if len(p) != 2 {
			t.Fatalf("%d requests upstream, want the call re-issued once", len(p))
		}
		second := p[1]
		if got := upstreamToken(t, second); string(got) != string(tok) {
			t.Fatalf("the re-issue carries token %s, the first %s", got, tok)
		}
		// The server starts the request over, and half-way reports the
		// same value twice; the last has no total.
		for _, v := range []float64{0.25, 0.5, 0.5, 0.75, 2} {
			total := 1.0
			if v == 2 {
				total = -1
			}
			h.u.serverNotification(h.s, serverProgress(tok, v, total, ""))
		}
		second.answer <- &jsonrpc.Message{JSONRPC: "2.0", ID: second.req.ID, Result: json.RawMessage(`{}`)}
		synctest.Wait()

		seq, answered := progressOf(t, a.take())
		if !answered {
			t.Fatal("the call was not answered")
		}
		checkIncreasing(t, seq, `"t"`)
		// The second attempt goes on from where the first left off
		// (0.75), its total moved up as much; the repeated 0.5 would not
		// increase and is left out.
		want := []string{`0.25/1 ("")`, `0.5/1 ("")`, `0.75/1 ("")`, `1/1.75 ("")`, `1.25/1.75 ("")`, `1.5/1.75 ("")`, `2.75 ("")`}
		if got := fmt.Sprint(seq); got != fmt.Sprint(want) {
			t.Errorf("the IDE got progress\n%v\nwant\n%v", got, want)
		}
		rtEmpty(t, h.u.router)
	})
}

// TestProgressSeq: how progressSeq joins its sources' values.
func TestProgressSeq(t *testing.T) {
	const srv, hold = progressFromServer, progressFromHold
	type in struct {
		src progressSource
		p   float64
	}
	for _, tc := range []struct {
		name string
		in   []in
		want []float64 // what the IDE gets, in order
	}{
		{"the server alone", []in{{srv, 0}, {srv, 1}, {srv, 5}}, []float64{0, 1, 5}},
		{"a repeated value is left out", []in{{srv, 1}, {srv, 2}, {srv, 2}, {srv, 3}}, []float64{1, 2, 3}},
		{"a hold, then the server from 1", []in{{hold, 1}, {hold, 2}, {srv, 1}, {srv, 2}}, []float64{1, 2, 3, 4}},
		{"a hold, then the server from above", []in{{hold, 1}, {srv, 10}, {srv, 11}}, []float64{1, 10, 11}},
		{"the server, a second hold, the server again", []in{{srv, 1}, {srv, 2}, {hold, 1}, {hold, 2}, {srv, 1}}, []float64{1, 2, 3, 4, 5}},
		{"the server starts over", []in{{srv, 1}, {srv, 2}, {srv, 3}, {srv, 1}, {srv, 2}}, []float64{1, 2, 3, 4, 5}},
		// A late value of the first attempt after the second began: the
		// sequence still increases, and the second goes on after it.
		{"a late value of an earlier attempt", []in{{srv, 1}, {srv, 2}, {srv, 1}, {srv, 3}, {srv, 2}}, []float64{1, 2, 3, 5, 7}},
		{"a fresh source's 0 is left out", []in{{hold, 1}, {hold, 2}, {srv, 0}, {srv, 1}}, []float64{1, 2, 3}},
		{"fractions", []in{{srv, 0.5}, {srv, 0.75}, {srv, 0.25}, {srv, 0.5}}, []float64{0.5, 0.75, 1, 1.25}},
	} {
		var q progressSeq
		var got []float64
		for _, v := range tc.in {
			if out, ok := q.next(v.src, v.p); ok {
				got = append(got, out)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: the IDE gets %v, want %v", tc.name, got, tc.want)
		}
	}
}
