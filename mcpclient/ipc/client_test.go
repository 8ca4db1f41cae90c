package ipc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/ipc"
)

// fakeHub answers control requests on a socket with canned replies: a
// stand-in for the hub, as old or new as the replies it is given.
type fakeHub struct {
	sock string
	// answer returns the reply lines for a hello, sent in order.
	answer func(ipc.Hello) []string

	mu     sync.Mutex
	hellos []ipc.Hello
}

func startFakeHub(t *testing.T, answer func(ipc.Hello) []string) *fakeHub {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("unix sockets in a temp dir")
	}
	dir, err := os.MkdirTemp("", "ipc") // short: socket paths are short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := &fakeHub{sock: filepath.Join(dir, "hub.sock"), answer: answer}
	ln, err := net.Listen("unix", h.sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				line, err := bufio.NewReader(c).ReadBytes('\n')
				if err != nil {
					return
				}
				var hello ipc.Hello
				if err := json.Unmarshal(line, &hello); err != nil {
					t.Errorf("hello %q: %v", line, err)
					return
				}
				h.mu.Lock()
				h.hellos = append(h.hellos, hello)
				h.mu.Unlock()
				for _, r := range h.answer(hello) {
					if _, err := c.Write([]byte(r + "\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	return h
}

func (h *fakeHub) last() ipc.Hello {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.hellos) == 0 {
		return ipc.Hello{}
	}
	return h.hellos[len(h.hellos)-1]
}

const hubJSON = `"hub":{"pid":42,"version":"v9","mode":"headless","config":"/c.json","socket":"/s","started":1}`

// TestClientRequests: each method sends its op with its fields, and
// returns what the reply holds.
func TestClientRequests(t *testing.T) {
	h := startFakeHub(t, func(hello ipc.Hello) []string {
		switch hello.Op {
		case ipc.OpStatus:
			return []string{`{"ok":true,` + hubJSON + `,"result":{"config":"/c.json","servers":[{"name":"a"}]}}`}
		case ipc.OpTools:
			return []string{`{"ok":true,"result":{"tools":[{"name":"echo"}]}}`}
		case ipc.OpCall:
			return []string{`{"ok":true,"result":{"content":[],"args":` + string(hello.Args) + `}}`}
		}
		return []string{`{"ok":true,` + hubJSON + `}`}
	})
	c := ipc.NewClient(h.sock, "tester")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	info, err := c.Ping(ctx)
	if err != nil || info == nil || info.PID != 42 || info.Version != "v9" {
		t.Errorf("Ping: %+v %v", info, err)
	}
	if got := h.last(); got.Op != ipc.OpPing || got.Client != "tester" || got.PID != os.Getpid() {
		t.Errorf("Ping sent %+v", got)
	}

	var st struct {
		Config  string `json:"config"`
		Servers []struct {
			Name string `json:"name"`
		} `json:"servers"`
	}
	info, err = c.Status(ctx, &st)
	if err != nil || info == nil || info.PID != 42 || st.Config != "/c.json" || len(st.Servers) != 1 || st.Servers[0].Name != "a" {
		t.Errorf("Status: %+v %+v %v", info, st, err)
	}

	res, err := c.Tools(ctx, "srv")
	if err != nil || string(res) != `{"tools":[{"name":"echo"}]}` {
		t.Errorf("Tools: %s %v", res, err)
	}
	if got := h.last(); got.Op != ipc.OpTools || got.Server != "srv" {
		t.Errorf("Tools sent %+v", got)
	}

	res, err = c.Call(ctx, "srv", "echo", json.RawMessage(`{"text":"hi"}`))
	if err != nil || string(res) != `{"content":[],"args":{"text":"hi"}}` {
		t.Errorf("Call: %s %v", res, err)
	}
	if got := h.last(); got.Op != ipc.OpCall || got.Server != "srv" || got.Tool != "echo" || string(got.Args) != `{"text":"hi"}` {
		t.Errorf("Call sent %+v", got)
	}

	for _, tc := range []struct {
		name string
		do   func() error
		want ipc.Hello
	}{
		{"Reconnect", func() error { return c.Reconnect(ctx, "srv") }, ipc.Hello{Op: ipc.OpReconnect, Server: "srv"}},
		{"ReconnectAll", func() error { return c.ReconnectAll(ctx) }, ipc.Hello{Op: ipc.OpReconnect, All: true}},
		{"Logout", func() error { return c.Logout(ctx, "srv") }, ipc.Hello{Op: ipc.OpLogout, Server: "srv"}},
		{"Handover", func() error { return c.Handover(ctx) }, ipc.Hello{Op: ipc.OpHandover}},
		{"Show", func() error { return c.Show(ctx) }, ipc.Hello{Op: ipc.OpShow}},
	} {
		if err := tc.do(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		got := h.last()
		tc.want.Client, tc.want.PID = "tester", os.Getpid()
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s sent %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestClientErrors: a failed request is an *Error with the hub's words,
// its code and its info; a hub that sends no code (older than the field)
// gives code 0; no hub is ErrNoHub.
func TestClientErrors(t *testing.T) {
	h := startFakeHub(t, func(hello ipc.Hello) []string {
		switch hello.Server {
		case "login":
			return []string{`{"ok":false,"error":"mcptray: server \"login\" needs you to sign in","code":-32011,` + hubJSON + `}`}
		case "old":
			return []string{`{"ok":false,"error":"mcptray: server \"old\" is disabled",` + hubJSON + `}`}
		}
		return []string{`not json`}
	})
	c := ipc.NewClient(h.sock, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := c.Call(ctx, "login", "echo", nil)
	var e *ipc.Error
	if !errors.As(err, &e) || e.Code != -32011 || e.Message != `mcptray: server "login" needs you to sign in` || e.Hub == nil || e.Hub.PID != 42 {
		t.Fatalf("error with a code: %#v", err)
	}
	if err.Error() != e.Message {
		t.Errorf("Error() = %q, want the hub's words %q", err.Error(), e.Message)
	}
	if ipc.ErrorCode(err) != -32011 || ipc.ErrorCode(fmt.Errorf("wrapped: %w", err)) != -32011 {
		t.Errorf("ErrorCode does not find the code: %d", ipc.ErrorCode(err))
	}

	_, err = c.Tools(ctx, "old")
	if !errors.As(err, &e) || e.Code != 0 || ipc.ErrorCode(err) != 0 || e.Message != `mcptray: server "old" is disabled` {
		t.Errorf("error from a hub without codes: %#v", err)
	}

	if err := c.Reconnect(ctx, "garbled"); err == nil || errors.As(err, &e) {
		t.Errorf("a malformed reply is not the hub's error: %#v", err)
	}
	if ipc.ErrorCode(errors.New("plain")) != 0 || ipc.ErrorCode(nil) != 0 {
		t.Error("ErrorCode of an error without a code is not 0")
	}

	none := ipc.NewClient(filepath.Join(filepath.Dir(h.sock), "none.sock"), "")
	if _, err := none.Ping(ctx); !errors.Is(err, ipc.ErrNoHub) {
		t.Errorf("no hub: %v", err)
	}
}

// TestClientLogin: progress replies pass their URL on, the final reply
// ends the login; a failed login is an *Error.
func TestClientLogin(t *testing.T) {
	h := startFakeHub(t, func(hello ipc.Hello) []string {
		if hello.Op != ipc.OpLogin {
			return []string{`{"ok":false,"error":"unexpected"}`}
		}
		progress := `{"ok":true,"progress":true,"url":"https://as.example/authorize?x=1"}`
		if hello.Server == "bad" {
			return []string{progress, `{"ok":false,"error":"mcptray: signing in to \"bad\" failed"}`}
		}
		return []string{progress, `{"ok":true,"progress":true}`, `{"ok":true}`}
	})
	c := ipc.NewClient(h.sock, "tester")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var urls []string
	if err := c.Login(ctx, "good", func(u string) { urls = append(urls, u) }); err != nil {
		t.Fatalf("Login: %v", err)
	}
	if !reflect.DeepEqual(urls, []string{"https://as.example/authorize?x=1"}) {
		t.Errorf("URLs: %q", urls)
	}
	if got := h.last(); got.Op != ipc.OpLogin || got.Server != "good" || got.Client != "tester" {
		t.Errorf("Login sent %+v", got)
	}
	err := c.Login(ctx, "bad", nil)
	var e *ipc.Error
	if !errors.As(err, &e) || e.Message != `mcptray: signing in to "bad" failed` || e.Code != 0 {
		t.Errorf("failed login: %#v", err)
	}
}

// TestReplyWire: the code is additive: an OK reply is the bytes it was,
// and an old client's Reply (without Code) reads a new hub's error.
func TestReplyWire(t *testing.T) {
	b, _ := json.Marshal(ipc.Reply{OK: true})
	if string(b) != `{"ok":true}` {
		t.Errorf("an OK reply is %s", b)
	}
	b, _ = json.Marshal(ipc.Reply{Error: "needs sign-in", Code: -32011})
	if string(b) != `{"ok":false,"error":"needs sign-in","code":-32011}` {
		t.Errorf("an error reply is %s", b)
	}
	var old struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &old); err != nil || old.OK || old.Error != "needs sign-in" {
		t.Errorf("an old client reads %+v, %v", old, err)
	}
}

// TestClientWaits: Call and Tools with OnWait ask for progress replies and
// hand each to OnWait before returning the final result; without OnWait
// they do not ask (a hub then sends only the final reply, which is all an
// old client reads); and a hub older than progress replies, which never
// sends any, still answers a client that asks.
func TestClientWaits(t *testing.T) {
	const result = `{"ok":true,"result":{"content":[]}}`
	h := startFakeHub(t, func(hello ipc.Hello) []string {
		if !hello.Progress || hello.Server == "old-hub" {
			return []string{result}
		}
		return []string{
			`{"ok":true,"progress":true,"message":"waiting for you to sign in to jira in your browser","url":""}`,
			`{"ok":true,"progress":true,"message":"waiting for you to sign in to jira in your browser (https://as.example/authorize?s=1)","url":"https://as.example/authorize?s=1"}`,
			`{"ok":true,"progress":true,"message":"waiting for you to sign in to jira: open https://as.example/device and enter the code ABCD-EFGH","url":"https://as.example/device","userCode":"ABCD-EFGH","verificationUri":"https://as.example/device"}`,
			result,
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c := ipc.NewClient(h.sock, "tester")
	if _, err := c.Call(ctx, "jira", "whoami", nil); err != nil {
		t.Fatalf("Call without OnWait: %v", err)
	}
	if got := h.last(); got.Progress {
		t.Errorf("a client without OnWait asked for progress replies: %+v", got)
	}

	var waits []ipc.Wait
	c.OnWait = func(w ipc.Wait) { waits = append(waits, w) }
	res, err := c.Call(ctx, "jira", "whoami", nil)
	if err != nil || string(res) != `{"content":[]}` {
		t.Fatalf("Call: %s, %v", res, err)
	}
	if got := h.last(); !got.Progress || got.Op != ipc.OpCall {
		t.Errorf("Call with OnWait sent %+v", got)
	}
	want := []ipc.Wait{
		{Message: "waiting for you to sign in to jira in your browser"},
		{Message: "waiting for you to sign in to jira in your browser (https://as.example/authorize?s=1)", URL: "https://as.example/authorize?s=1"},
		{Message: "waiting for you to sign in to jira: open https://as.example/device and enter the code ABCD-EFGH", URL: "https://as.example/device",
			DeviceCode: &ipc.DeviceCode{UserCode: "ABCD-EFGH", VerificationURI: "https://as.example/device"}},
	}
	if !reflect.DeepEqual(waits, want) {
		t.Errorf("waits:\n got %+v\nwant %+v", waits, want)
	}

	waits = nil
	if _, err := c.Tools(ctx, "jira"); err != nil {
		t.Fatalf("Tools: %v", err)
	}
	if got := h.last(); !got.Progress || got.Op != ipc.OpTools || len(waits) != 3 {
		t.Errorf("Tools with OnWait sent %+v and heard %d waits", got, len(waits))
	}

	waits = nil
	if _, err := c.Call(ctx, "old-hub", "whoami", nil); err != nil || len(waits) != 0 {
		t.Errorf("an old hub's single reply: %v, %d waits", err, len(waits))
	}
}
