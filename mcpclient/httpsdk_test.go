package mcpclient_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
)

// sdkClient runs testdata/httpsdk/client.cjs (the official TypeScript
// SDK's StreamableHTTPClientTransport) against url.
type sdkClient struct {
	t     testing.TB
	cmd   *exec.Cmd
	stdin io.WriteCloser
	steps chan map[string]any
	done  chan error
	out   strings.Builder
}

func startSDKClient(t testing.TB, scenario, url, token string) *sdkClient {
	t.Helper()
	node := testenv.Node22(t)
	npm := testenv.NPMDir(t)
	if _, err := os.Stat(filepath.Join(npm, "node_modules/@modelcontextprotocol/sdk/package.json")); err != nil {
		testenv.Require(t, "@modelcontextprotocol/sdk in "+npm)
	}
	script, _ := filepath.Abs("testdata/httpsdk/client.cjs")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, node, script, scenario)
	cmd.Env = append(os.Environ(), "MCPTRAY_NPM_DIR="+npm, "MCP_URL="+url, "MCP_TOKEN="+token)
	c := &sdkClient{t: t, cmd: cmd, steps: make(chan map[string]any, 64), done: make(chan error, 1)}
	stdout, _ := cmd.StdoutPipe()
	c.stdin, _ = cmd.StdinPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				c.steps <- m
			}
		}
		close(c.steps)
		err := cmd.Wait()
		if err != nil {
			t.Logf("SDK client stderr:\n%s", stderr.String())
		}
		c.done <- err
	}()
	return c
}

// next returns the next step the client printed.
func (c *sdkClient) next(within time.Duration) map[string]any {
	c.t.Helper()
	select {
	case m, ok := <-c.steps:
		if !ok {
			c.t.Fatalf("the SDK client ended: %v", <-c.done)
		}
		if m["step"] == "error" {
			c.t.Fatalf("the SDK client failed: %v", m["error"])
		}
		return m
	case <-time.After(within):
		c.t.Fatalf("the SDK client printed nothing for %s", within)
	}
	return nil
}

func (c *sdkClient) wait() {
	c.t.Helper()
	for range c.steps {
	}
	if err := <-c.done; err != nil {
		c.t.Fatalf("the SDK client exited: %v", err)
	}
}

// TestHTTPEndpointTypeScriptSDK: the official TypeScript SDK client over
// the endpoint, in front of the real server-everything: tools, resources,
// prompts, progress, an elicitation round trip, cancel, and DELETE.
func TestHTTPEndpointTypeScriptSDK(t *testing.T) {
	ev := testenv.StartEverything(t, testenv.TransportStreamable, 0)
	hh := startHTTPHub(t, map[string]string{"ev": urlEntry(ev.URL())}, "")
	c := startSDKClient(t, "fidelity", hh.url("ev"), hh.token)
	steps := map[string]map[string]any{}
	for {
		m := c.next(60 * time.Second)
		steps[m["step"].(string)] = m
		if m["step"] == "terminated" {
			break
		}
	}
	c.wait()
	if s := steps["connected"]; s["session"] == nil || s["protocol"] != "2025-11-25" {
		t.Errorf("connected: %v", s)
	}
	if names, _ := steps["tools"]["names"].([]any); !containsAll(names, "echo", "trigger-long-running-operation", "trigger-elicitation-request") {
		t.Errorf("tools: %v", names)
	}
	if s := steps["echo"]; s["text"] != "Echo: hello sdk" {
		t.Errorf("echo: %v", s)
	}
	if s := steps["resources"]; s["readUri"] != s["asked"] || s["count"].(float64) == 0 {
		t.Errorf("resources: %v", s)
	}
	if s := steps["prompts"]; s["simple"].(float64) == 0 || !strings.Contains(s["args"].(string), "Paris, Texas") {
		t.Errorf("prompts: %v", s)
	}
	if p, _ := steps["progress"]["progress"].([]any); len(p) < 2 {
		t.Errorf("progress notifications: %v", steps["progress"])
	}
	if steps["elicitation-asked"] == nil {
		t.Error("the elicitation request never reached the SDK client")
	}
	if s := steps["elicitation"]; !strings.Contains(s["text"].(string), "Ada Lovelace") {
		t.Errorf("elicitation result: %v", s)
	}
	if s := steps["cancel"]; s["cancelled"] != true {
		t.Errorf("cancel: %v", s)
	}
	if s := steps["after-cancel"]; s["text"] != "Echo: still here" {
		t.Errorf("after cancel: %v", s)
	}
	if s := steps["terminated"]; s["session"] != true {
		t.Errorf("DELETE: %v", s)
	}
	waitFor(t, "the SDK client's session to end", func() bool { return hh.hub.HTTPStatus().Sessions == 0 })
	if st := hh.hub.Status().Servers[0]; st.SessionsOpened != 1 {
		t.Errorf("upstream sessions opened: %d, want 1", st.SessionsOpened)
	}
}

func containsAll(list []any, want ...string) bool {
	have := map[string]bool{}
	for _, v := range list {
		if s, ok := v.(string); ok {
			have[s] = true
		}
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}
