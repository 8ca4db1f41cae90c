package mcpclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	mcptraycli "github.com/mcptray/mcptray/mcpclient/cli"
	"github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// TestCallErrorCodes: an error of Hub.Call, of the control API and of
// `mcptray call` carries the JSON-RPC code of the error response: -32011
// for a server that needs a sign-in (once the sign-in the requests waited
// for has failed), -32013 for a disabled one, the server's own code for
// its own errors, and none for an error that is not a JSON-RPC error.
func TestCallErrorCodes(t *testing.T) {
	// The server wants a token; the sign-in's discovery is held until the
	// test lets it fail, so the hub's automatic sign-in is under way until
	// then.
	release := make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/mcp" {
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="http://`+r.Host+`/prm"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, "no metadata here", http.StatusInternalServerError)
	}))
	t.Cleanup(front.Close)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before front.Close: cleanups run last first
	up := startFault(t, faultserver.Options{})

	f := startHub(t, map[string]string{
		"jira": urlEntry(front.URL + "/mcp"),
		"off":  `{"url": "http://127.0.0.1:1/mcp", "disabled": true}`,
		"up":   urlEntry(up.URL()),
	})
	f.waitState("jira", mcpclient.StateNeedsLogin, 5*time.Second)
	f.waitState("off", mcpclient.StateDisabled, 5*time.Second)
	f.waitState("up", mcpclient.StateConnected, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := ipc.NewClient(f.hub.Socket(), "test")

	// The requests wait for the hub's automatic sign-in (held at its
	// discovery); when it fails they get its error: in process a
	// *CallError, over the socket an *ipc.Error with the same code.
	inProcess, overSocket := make(chan error, 1), make(chan error, 2)
	go func() { _, err := f.hub.Call(ctx, "jira", "tools/list", nil); inProcess <- err }()
	go func() { _, err := client.Tools(ctx, "jira"); overSocket <- err }()
	go func() { _, err := client.Call(ctx, "jira", "echo", nil); overSocket <- err }()
	waitFor(t, "three requests waiting for the sign-in", func() bool { return f.status("jira").WaitingForSignIn == 3 })
	unblock()
	err := <-inProcess
	var ce *mcpclient.CallError
	if !errors.As(err, &ce) || ce.Code != jsonrpc.CodeNeedsLogin || !mcpclient.IsNeedsLogin(err) {
		t.Fatalf("Hub.Call on a server that needs a sign-in: %#v", err)
	}
	if ce.SigningIn {
		t.Errorf("the sign-in has ended, but SigningIn is true: %v", err)
	}
	if !strings.Contains(ce.Message, "did not succeed") || !strings.Contains(ce.Message, "mcptray login jira") || ce.Error() != ce.Message {
		t.Errorf("the message is the IDE's: %q", ce.Message)
	}
	for range 2 {
		err := <-overSocket
		var ie *ipc.Error
		if !errors.As(err, &ie) || ie.Code != jsonrpc.CodeNeedsLogin || !mcpclient.IsNeedsLogin(err) || ie.Hub == nil {
			t.Errorf("control API on a server that needs a sign-in: %#v", err)
		}
	}

	// Once the hub's sign-in has failed, the error asks for one at once.
	waitFor(t, "a needs-login error with no sign-in under way", func() bool {
		_, err := f.hub.Call(ctx, "jira", "tools/list", nil)
		return errors.As(err, &ce) && ce.Code == jsonrpc.CodeNeedsLogin && !ce.SigningIn
	})

	// A disabled server.
	_, err = f.hub.Call(ctx, "off", "tools/list", nil)
	if !errors.As(err, &ce) || ce.Code != jsonrpc.CodeServerDisabled || !mcpclient.IsServerDisabled(err) || ce.SigningIn {
		t.Errorf("Hub.Call on a disabled server: %#v", err)
	}
	if _, err := client.Call(ctx, "off", "echo", json.RawMessage(`{"text":"x"}`)); ipc.ErrorCode(err) != jsonrpc.CodeServerDisabled || !mcpclient.IsServerDisabled(err) {
		t.Errorf("control API on a disabled server: %#v", err)
	}

	// The server's own error passes with its own code.
	_, err = f.hub.Call(ctx, "up", "no/such/method", nil)
	if !errors.As(err, &ce) || ce.Code != jsonrpc.CodeMethodNotFound {
		t.Errorf("Hub.Call of a method the server lacks: %#v", err)
	}
	if res, err := client.Call(ctx, "up", "echo", json.RawMessage(`{"text":"fine"}`)); err != nil || !bytes.Contains(res, []byte("fine")) {
		t.Errorf("control API call: %s %v", res, err)
	}

	// Not a JSON-RPC error: no code.
	_, err = client.Call(ctx, "nope", "echo", nil)
	var ie *ipc.Error
	if !errors.As(err, &ie) || ie.Code != 0 || !strings.Contains(ie.Message, `no server named "nope"`) {
		t.Errorf("control API on an unknown server: %#v", err)
	}

	// `mcptray call` exits 1 with the hub's words, as for any failed call;
	// the words tell the classes apart.
	t.Setenv("MCPTRAY_HOME", f.home)
	t.Setenv("MCPTRAY_CONFIG", f.cfgPath)
	for _, tc := range []struct{ server, want string }{
		{"jira", `mcptray call: mcptray: server "jira" needs you to sign in`},
		{"off", `mcptray call: mcptray: server "off" is disabled in the mcptray config`},
	} {
		var out, errb bytes.Buffer
		code, _ := mcptraycli.Dispatch(ctx, mcptraycli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}, "call", []string{tc.server, "echo"})
		if code != 1 || !strings.Contains(errb.String(), tc.want) || out.Len() != 0 {
			t.Errorf("mcptray call %s echo: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.server, code, out.String(), errb.String(), tc.want)
		}
	}
}
