package ideconfig

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const (
	testEndpoint = "http://127.0.0.1:24817/mcp/jira"
	testToken    = "mcptray_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

// TestInstallHTTPGolden: for every client whose format takes url entries
// with headers, --http writes the client's own spelling (golden files);
// the entry reads back as mcptray's, switching to the bridge and back
// replaces it, and uninstall restores the file. Claude Desktop says why
// it cannot.
func TestInstallHTTPGolden(t *testing.T) {
	hdr := map[string]string{"Authorization": "Bearer " + testToken}
	for _, c := range Clients() {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			tgt := Target{Client: c.ID, Path: filepath.Join(t.TempDir(), "config"+fixtureExt(c)), Format: c.Format, ServersKey: c.ServersKey, TypeStdio: c.TypeStdio}
			input, err := os.ReadFile(filepath.Join("testdata", "full", c.ID+fixtureExt(c)))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(tgt.Path, input, 0o600); err != nil {
				t.Fatal(err)
			}
			ch, err := InstallHTTP(tgt, "jira", testEndpoint, hdr, Options{})
			if _, ok := httpStyles[c.ID]; !ok {
				var nh *NoHTTPError
				if !errors.As(err, &nh) || HTTPSupported(tgt) == nil {
					t.Fatalf("a client without url entries: %v", err)
				}
				return
			}
			if err != nil || ch.Action != ActionAdded {
				t.Fatalf("install --http: %+v %v", ch, err)
			}
			got, _ := os.ReadFile(tgt.Path)
			golden(t, c.ID+"-full-install-http.golden", got)
			entries, err := parseEntries(tgt, got)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range entries {
				if e.Key == "jira" {
					if s, ok := MCPTrayServer(e.Fields); !ok || s != "jira" {
						t.Errorf("the entry does not read as mcptray's: %v", e.Fields)
					}
					found = true
				}
			}
			if !found {
				t.Fatal("no jira entry")
			}
			if ch, err := InstallHTTP(tgt, "jira", testEndpoint, hdr, Options{}); err != nil || ch.Action != ActionUnchanged {
				t.Errorf("twice: %+v %v", ch, err)
			}
			// To the bridge and back: each replaces the other.
			if ch, err := Install(tgt, "jira", testBridge, []string{"jira"}, Options{}); err != nil || ch.Action != ActionUpdated {
				t.Fatalf("http → bridge: %+v %v", ch, err)
			}
			b, _ := os.ReadFile(tgt.Path)
			checkAsIDE(t, c, b, "jira", "jira")
			if ch, err := InstallHTTP(tgt, "jira", testEndpoint, hdr, Options{}); err != nil || ch.Action != ActionUpdated {
				t.Fatalf("bridge → http: %+v %v", ch, err)
			}
			if b, _ := os.ReadFile(tgt.Path); !bytes.Equal(b, got) {
				t.Errorf("bridge → http differs from a fresh --http install:\n%s", UnifiedDiff("fresh", "again", got, b))
			}
			if ch, err := Uninstall(tgt, "jira", Options{}); err != nil || ch.Action != ActionRemoved {
				t.Fatalf("uninstall: %+v %v", ch, err)
			}
			if after, _ := os.ReadFile(tgt.Path); !bytes.Equal(after, input) {
				t.Errorf("uninstall did not restore the file:\n%s", UnifiedDiff("input", "after", input, after))
			}
		})
	}
}

func TestHTTPServer(t *testing.T) {
	auth := map[string]any{"Authorization": "Bearer " + testToken}
	for _, tc := range []struct {
		name   string
		fields map[string]any
		server string
	}{
		{"vscode", map[string]any{"type": "http", "url": testEndpoint, "headers": auth}, "jira"},
		{"windsurf", map[string]any{"serverUrl": "http://localhost:30000/mcp/gh", "headers": auth}, "gh"},
		{"codex", map[string]any{"url": testEndpoint, "http_headers": auth}, "jira"},
		{"no token", map[string]any{"url": testEndpoint}, ""},
		{"another token", map[string]any{"url": testEndpoint, "headers": map[string]any{"Authorization": "Bearer ghp_x"}}, ""},
		{"remote host", map[string]any{"url": "http://example.com:24817/mcp/jira", "headers": auth}, ""},
		{"https", map[string]any{"url": "https://127.0.0.1:24817/mcp/jira", "headers": auth}, ""},
		{"other path", map[string]any{"url": "http://127.0.0.1:24817/sse", "headers": auth}, ""},
	} {
		s, ok := HTTPServer(tc.fields)
		if s != tc.server || ok != (tc.server != "") {
			t.Errorf("%s: %q %v, want %q", tc.name, s, ok, tc.server)
		}
	}
}

// An import never takes the hub's own endpoint for a remote server.
func TestImportSkipsHTTPEntries(t *testing.T) {
	c, _ := ClientByID("cursor")
	tgt := Target{Client: c.ID, Path: filepath.Join(t.TempDir(), "mcp.json"), Format: c.Format, ServersKey: c.ServersKey}
	if _, err := InstallHTTP(tgt, "jira", testEndpoint, map[string]string{"Authorization": "Bearer " + testToken}, Options{}); err != nil {
		t.Fatal(err)
	}
	items := PlanImport([]Target{tgt}, nil, nil, func(string) (string, bool) { return "", false })
	if len(items) != 1 || items[0].Status != ImportBridge || items[0].Name != "jira" {
		t.Errorf("import: %+v", items)
	}
}
