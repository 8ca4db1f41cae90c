package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mcptray/mcptray/mcpclient"
)

func TestHubAdapter(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, []byte(`{"mcpServers":{"jira":{"url":"https://mcp.example.com/mcp","oauth":{"clientId":"abc"}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	hub, err := mcpclient.NewHub(mcpclient.HubOptions{ConfigPath: cfg, Home: dir})
	if err != nil {
		t.Fatal(err)
	}
	a := hubAdapter{hub}
	sc, err := a.ServerConfig("jira")
	if err != nil || sc.URL != "https://mcp.example.com/mcp" || sc.OAuth == nil || sc.OAuth.ClientID != "abc" {
		t.Errorf("ServerConfig = %+v, %v", sc, err)
	}
	if _, err := a.ServerConfig("nope"); err == nil {
		t.Error("ServerConfig of an unknown server did not fail")
	}
}
