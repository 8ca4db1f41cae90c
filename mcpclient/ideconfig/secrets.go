package ideconfig

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/config"
)

// Variables from a client entry's "env" become secrets. An IDE starts
// mcp-remote with the entry's env; the hub is started by a bridge or at
// login and has no such variables. So import moves each value a converted
// server refers to as ${env:VAR} from the entry's env into the credential
// store, as the secret SERVER-VAR, and writes ${secret:SERVER-VAR} instead.
// A variable set nowhere is a warning: the server would fail.

// envRefInConfigRE matches the ${env:VAR} references Convert writes.
var envRefInConfigRE = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)

// entryEnv is the string values of an entry's "env".
func entryEnv(fields map[string]any) map[string]string {
	env := map[string]string{}
	m, _ := fields["env"].(map[string]any)
	for k, v := range m {
		if s, ok := v.(string); ok {
			env[k] = s
		}
	}
	return env
}

// SecretName is the name import gives the secret for variable v of
// server: "SERVER-VAR" (config.SecretNameFor).
func SecretName(server, v string) string { return config.SecretNameFor(server, v) }

// envToSecrets rewrites the ${env:VAR} references of sc's url and
// headers whose VAR the entry's env sets to
// ${secret:SERVER-VAR}, and returns those secrets' values. lookupEnv is the
// environment import runs in (nil: nothing is set). notes say what
// moved; warnings name the variables set nowhere.
func envToSecrets(server string, sc *config.Server, env map[string]string, lookupEnv func(string) (string, bool)) (secrets map[string]string, notes, warnings []string) {
	secrets = map[string]string{}
	seen := map[string]bool{}
	rewrite := func(s string) string {
		return envRefInConfigRE.ReplaceAllStringFunc(s, func(m string) string {
			v := envRefInConfigRE.FindStringSubmatch(m)[1]
			val, inEntry := env[v]
			name := SecretName(server, v)
			switch {
			case inEntry && val != "" && !strings.Contains(val, "${") && !strings.ContainsAny(val, "\r\n"):
				secrets[name] = val
				if !seen[v] {
					notes = append(notes, fmt.Sprintf("%s from the entry's env goes into the credential store as the secret %s (the config says %s; change it with `mcptray secret set %s`)", v, name, config.SecretRef(name), name))
				}
				seen[v] = true
				return config.SecretRef(name)
			case seen[v]:
			case inEntry && val != "":
				warnings = append(warnings, fmt.Sprintf("the entry's env sets %s to a value mcptray cannot use as it is (another variable, or a line break); the config keeps ${env:%s}: put the value in the credential store with `mcptray secret set %s` and write %s instead", v, v, name, config.SecretRef(name)))
			default:
				if _, ok := lookup(lookupEnv, v); ok {
					notes = append(notes, fmt.Sprintf("the hub reads ${env:%s} from its own environment, which may lack it (a bridge or your login starts the hub, not this shell): to keep it in the credential store instead, run `mcptray secret set %s` and write %s", v, name, config.SecretRef(name)))
				} else {
					warnings = append(warnings, fmt.Sprintf("%s is set nowhere (not in the entry's env, not in this environment): %s will fail until it is; put the value in the credential store with `mcptray secret set %s` and write %s in place of ${env:%s}", v, server, name, config.SecretRef(name), v))
				}
			}
			seen[v] = true
			return m
		})
	}
	sc.URL = rewrite(sc.URL)
	if len(sc.Headers) > 0 {
		keys := make([]string, 0, len(sc.Headers))
		for k := range sc.Headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h := make(map[string]string, len(keys))
		for _, k := range keys {
			h[k] = rewrite(sc.Headers[k])
		}
		sc.Headers = h
	}
	if len(secrets) == 0 {
		secrets = nil
	}
	return secrets, notes, warnings
}

func lookup(f func(string) (string, bool), k string) (string, bool) {
	if f == nil {
		return "", false
	}
	return f(k)
}
