package config

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mcptray/mcptray/mcpclient/transport"
)

func TestSecretRefs(t *testing.T) {
	t.Parallel()
	good := `{"mcpServers": {"jira": {"url": "https://h.example/${secret:jira.path}/mcp",
	  "headers": {"Authorization": "${secret:jira-AUTH_HEADER}", "X-Key": "k ${env:HOME} ${secret:jira-AUTH_HEADER}"}}}}`
	cfg, err := Parse("c.json", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.Servers["jira"]
	if got := SecretRefs(sc); !slices.Equal(got, []string{"jira-AUTH_HEADER", "jira.path"}) {
		t.Errorf("SecretRefs = %q", got)
	}
	for name, bad := range map[string]string{
		"header": `{"mcpServers": {"a": {"url": "https://h.example/mcp", "headers": {"X": "${secret:no good}"}}}}`,
		"url":    `{"mcpServers": {"a": {"url": "https://h.example/${secret:-x}/mcp"}}}`,
	} {
		_, err := Parse("c.json", []byte(bad))
		if err == nil || !strings.Contains(err.Error(), "does not name a secret") {
			t.Errorf("%s: a bad secret name: %v", name, err)
		}
	}

	store := map[string]string{"jira-AUTH_HEADER": "Bearer SECRET-1 ${env:HOME}", "jira.path": "p"}
	var asked []string
	l := Lookups{Server: "jira", Env: func(k string) (string, bool) { return "/home/u ${secret:jira.path}", k == "HOME" },
		Secret: func(name string) (string, bool, error) {
			asked = append(asked, name)
			v, ok := store[name]
			return v, ok, nil
		}}
	r, err := sc.ResolveWith(l)
	if err != nil {
		t.Fatal(err)
	}
	if r.URL != "https://h.example/p/mcp" || r.Headers.Get("Authorization") != "Bearer SECRET-1 ${env:HOME}" ||
		r.Headers.Get("X-Key") != "k /home/u ${secret:jira.path} Bearer SECRET-1 ${env:HOME}" {
		t.Errorf("resolved (what a reference expands to is not expanded again): %q %q", r.URL, r.Headers)
	}
	if len(asked) != 3 {
		t.Errorf("asked for %q", asked)
	}

	// A missing secret: a config error naming the server, the secret and
	// the command that sets it.
	delete(store, "jira-AUTH_HEADER")
	_, err = sc.ResolveWith(l)
	var ce *transport.ConfigError
	var ms *MissingSecretError
	if !errors.As(err, &ce) || !errors.As(err, &ms) || ms.Name != "jira-AUTH_HEADER" {
		t.Fatalf("missing secret: %T %v", err, err)
	}
	for _, w := range []string{`"jira"`, `"jira-AUTH_HEADER"`, "mcptray secret set jira-AUTH_HEADER", "header "} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error %q lacks %q", err, w)
		}
	}
	// A store that cannot be read is not a config error (retrying may help).
	l.Secret = func(string) (string, bool, error) { return "", false, errors.New("keychain timed out") }
	if _, err = sc.ResolveWith(l); err == nil || errors.As(err, &ce) {
		t.Errorf("store failure: %T %v", err, err)
	}
	// Without a store.
	if _, err = sc.Resolve(l.Env); !errors.As(err, &ms) || !ms.NoStore {
		t.Errorf("no store: %v", err)
	}

	// KnownSecrets leaves values with a reference to whoever reads the secret.
	for _, v := range KnownSecrets(sc, l.Env) {
		if strings.Contains(v, "${secret:jira-AUTH_HEADER}") {
			t.Errorf("KnownSecrets has %q", v)
		}
	}
	if got := SecretValues("Bearer abc"); !slices.Equal(got, []string{"Bearer abc", "abc"}) {
		t.Errorf("SecretValues = %q", got)
	}
}
