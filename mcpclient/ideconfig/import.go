package ideconfig

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/config"
)

// Statuses of an ImportItem.
const (
	// ImportNew is a server mcptray does not have yet.
	ImportNew = "new"
	// ImportPresent is a server mcptray already has, with the same settings.
	ImportPresent = "present"
	// ImportBridge is an entry that already launches mcptray-bridge.
	ImportBridge = "bridge"
	// ImportSkipped is an entry that cannot be imported; Reason says why.
	ImportSkipped = "skipped"
)

// ImportItem is what import does with one client entry.
type ImportItem struct {
	Source Target
	// Key is the entry's name in the client file ("" for a file that
	// could not be read at all).
	Key string
	// Name is the mcptray server name (Key, made valid).
	Name   string
	Server *config.Server
	Status string
	Reason string
	Notes  []string
	// Warnings are what will not work as imported (a variable set
	// nowhere).
	Warnings []string
	// Secrets are the values, by secret name, that the server refers to
	// as ${secret:NAME}: variables of the entry's env, to put in the
	// credential store. Never print them.
	Secrets map[string]string
}

// PlanImport reads the sources and decides for each entry. existing holds
// the servers mcptray has; validate checks a converted server with the
// config's own rules (nil skips that); lookupEnv is the environment import
// runs in (nil: nothing set), to warn about variables set nowhere.
func PlanImport(sources []Target, existing map[string]config.Server, validate func(name string, sc config.Server) error, lookupEnv func(string) (string, bool)) []ImportItem {
	var items []ImportItem
	taken := map[string]config.Server{}
	for k, v := range existing {
		taken[k] = v
	}
	planned := map[string]bool{}
	for _, t := range sources {
		entries, err := ReadEntries(t)
		if err != nil {
			items = append(items, ImportItem{Source: t, Status: ImportSkipped, Reason: "cannot read it: " + err.Error()})
			continue
		}
		for _, e := range entries {
			it := ImportItem{Source: t, Key: e.Key}
			if name, ok := BridgeServer(e.Fields); ok {
				it.Status, it.Name = ImportBridge, name
				it.Reason = fmt.Sprintf("already launches mcptray-bridge %s", name)
				items = append(items, it)
				continue
			}
			if name, ok := HTTPServer(e.Fields); ok {
				// Never import the hub's own endpoint as a remote server:
				// it would reach itself.
				it.Status, it.Name = ImportBridge, name
				it.Reason = fmt.Sprintf("already reaches mcptray's HTTP endpoint for %s", name)
				items = append(items, it)
				continue
			}
			sc, notes, err := Convert(t.Client, e.Fields)
			it.Notes = notes
			if err != nil {
				it.Status, it.Reason = ImportSkipped, err.Error()
				items = append(items, it)
				continue
			}
			name, renamed := SanitizeName(e.Key)
			it.Name = name
			if renamed {
				it.Notes = append(it.Notes, fmt.Sprintf("named %q in mcptray (%q is not a valid server name)", name, e.Key))
			}
			envConfig := sc
			secrets, notes, warnings := envToSecrets(name, &sc, entryEnv(e.Fields), lookupEnv)
			it.Secrets, it.Warnings = secrets, warnings
			it.Notes = append(it.Notes, notes...)
			if validate != nil {
				if err := validate(name, sc); err != nil {
					it.Status, it.Reason = ImportSkipped, err.Error()
					items = append(items, it)
					continue
				}
			}
			if prev, ok := taken[name]; ok {
				if sameServer(prev, sc) {
					it.Status = ImportPresent
					it.Server = &sc
					if planned[name] {
						it.Reason = "the same server is imported from another entry"
					}
				} else {
					it.Status = ImportSkipped
					it.Reason = fmt.Sprintf("mcptray already has a different server %q (%s); remove or rename one of them", name, stripQuery(prev.URL))
					if len(secrets) > 0 && sameServer(prev, envConfig) {
						it.Reason = fmt.Sprintf("mcptray already has %q, reading ${env:…} variables that a hub started by a bridge or at login does not have; to keep their values from the entry's env in the credential store, run `mcptray remove %s` and import again", name, name)
					}
				}
				items = append(items, it)
				continue
			}
			it.Status, it.Server = ImportNew, &sc
			taken[name] = sc
			planned[name] = true
			items = append(items, it)
		}
	}
	return items
}

// sameServer compares what matters of two server configs.
func sameServer(a, b config.Server) bool {
	norm := func(s config.Server) config.Server {
		if s.Transport == "" {
			s.Transport = config.TransportAuto
		}
		if len(s.Headers) == 0 {
			s.Headers = nil
		}
		return s
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

var nameBadRE = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// SanitizeName makes key a valid mcptray server name: runs of other
// characters become '-', it starts with a letter or digit, at most 64
// characters. changed reports whether it differs from key.
func SanitizeName(key string) (name string, changed bool) {
	name = nameBadRE.ReplaceAllString(key, "-")
	name = strings.TrimLeft(name, "._-")
	if len(name) > 64 {
		name = strings.TrimRight(name[:64], "._-")
	}
	if name == "" {
		name = "server"
	}
	return name, name != key
}
