package main

import (
	"os"
	"path/filepath"
	"runtime"
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

// TestLoginAutostart turns "Start at login" on and off in a private home.
func TestLoginAutostart(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Run key is the real user's")
	}
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, ".config"))
	var a loginAutostart
	if on, err := a.Enabled(); on || err != nil {
		t.Fatalf("Enabled = %v, %v before it is turned on", on, err)
	}
	if err := a.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	if on, err := a.Enabled(); !on || err != nil {
		t.Fatalf("Enabled = %v, %v after it is turned on", on, err)
	}
	if runtime.GOOS != "darwin" {
		if _, err := os.Stat(filepath.Join(dir, ".config", "autostart", "mcptray.desktop")); err != nil {
			t.Error(err)
		}
	}
	if err := a.SetEnabled(false); err != nil {
		t.Fatal(err)
	}
	if on, err := a.Enabled(); on || err != nil {
		t.Fatalf("Enabled = %v, %v after it is turned off", on, err)
	}
	if err := a.SetEnabled(false); err != nil {
		t.Errorf("turning it off twice: %v", err)
	}
}
