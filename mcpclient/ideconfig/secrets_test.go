package ideconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mcptray/mcptray/mcpclient/config"
)

// The mcp-remote pattern `--header "Authorization:${AUTH_HEADER}"` with
// the value in the entry's env: the value becomes a secret and the config
// refers to it; variables set nowhere are warned about.
func TestPlanImportEnvToSecrets(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mcp.json")
	src := `{"mcpServers": {
  "jira": {"command": "npx", "args": ["-y", "mcp-remote", "https://mcp.example/${TENANT}/mcp", "--header", "Authorization:${AUTH_HEADER}", "--header", "X-Team: ${AUTH_HEADER}"],
           "env": {"AUTH_HEADER": "Bearer SECRET-jira", "TENANT": "acme"}},
  "nowhere": {"command": "npx", "args": ["mcp-remote", "https://n.example/mcp", "--header", "Authorization: Bearer ${NOT_SET_ANYWHERE}"]},
  "shell": {"command": "npx", "args": ["mcp-remote", "https://s.example/mcp", "--header", "Authorization: Bearer ${IN_SHELL}"]},
  "nested": {"command": "npx", "args": ["mcp-remote", "https://x.example/mcp", "--header", "Authorization:${A}"], "env": {"A": "Bearer ${GH}"}},
  "old": {"command": "npx", "args": ["mcp-remote", "https://old.example/mcp", "--header", "Authorization:${TOKEN}"], "env": {"TOKEN": "Bearer SECRET-old"}}
}}`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) { return "x", k == "IN_SHELL" }
	existing := map[string]config.Server{ // imported before secrets existed
		"old": {URL: "https://old.example/mcp", Transport: config.TransportAuto, Headers: map[string]string{"Authorization": "${env:TOKEN}"}},
	}
	validate := func(name string, sc config.Server) error { return config.ValidateServer("c.json", name, sc) }
	items := PlanImport([]Target{{Client: "cursor", Path: path, ServersKey: []string{"mcpServers"}}}, existing, validate, env)
	byKey := map[string]ImportItem{}
	for _, it := range items {
		byKey[it.Key] = it
	}

	jira := byKey["jira"]
	if jira.Status != ImportNew {
		t.Fatalf("jira: %s %s", jira.Status, jira.Reason)
	}
	wantHeaders := map[string]string{"Authorization": "${secret:jira-AUTH_HEADER}", "X-Team": "${secret:jira-AUTH_HEADER}"}
	if jira.Server.URL != "https://mcp.example/${secret:jira-TENANT}/mcp" || !reflect.DeepEqual(jira.Server.Headers, wantHeaders) {
		t.Errorf("jira: %s %v", jira.Server.URL, jira.Server.Headers)
	}
	if !reflect.DeepEqual(jira.Secrets, map[string]string{"jira-AUTH_HEADER": "Bearer SECRET-jira", "jira-TENANT": "acme"}) {
		t.Errorf("jira secrets: %d of them", len(jira.Secrets))
	}
	notes := strings.Join(jira.Notes, "\n")
	if !strings.Contains(notes, "AUTH_HEADER from the entry's env goes into the credential store as the secret jira-AUTH_HEADER") ||
		strings.Count(notes, "AUTH_HEADER from") != 1 || len(jira.Warnings) != 0 {
		t.Errorf("jira notes %q, warnings %q", jira.Notes, jira.Warnings)
	}
	for _, n := range append(jira.Notes, jira.Warnings...) {
		if strings.Contains(n, "SECRET") {
			t.Errorf("a note shows the value: %s", n)
		}
	}

	if w := strings.Join(byKey["nowhere"].Warnings, "\n"); !strings.Contains(w, "NOT_SET_ANYWHERE is set nowhere") || !strings.Contains(w, "mcptray secret set nowhere-NOT_SET_ANYWHERE") {
		t.Errorf("nowhere: warnings %q", byKey["nowhere"].Warnings)
	}
	if sh := byKey["shell"]; len(sh.Warnings) != 0 || !strings.Contains(strings.Join(sh.Notes, "\n"), "its own environment, which may lack it") || sh.Secrets != nil {
		t.Errorf("shell: notes %q warnings %q", sh.Notes, sh.Warnings)
	}
	if n := byKey["nested"]; n.Server.Headers["Authorization"] != "${env:A}" || n.Secrets != nil || len(n.Warnings) != 1 {
		t.Errorf("nested: %v %q", n.Server.Headers, n.Warnings)
	}
	if old := byKey["old"]; old.Status != ImportSkipped || !strings.Contains(old.Reason, "mcptray remove old") {
		t.Errorf("old: %s %s", old.Status, old.Reason)
	}
}
