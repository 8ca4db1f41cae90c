package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/ideconfig"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// secretUsage is the usage line of `mcptray secret`.
const secretUsage = `usage: mcptray secret set NAME   (the value from stdin, or a hidden prompt)
       mcptray secret list       (names only)
       mcptray secret rm NAME

A secret is used in a server's url or headers as ${secret:NAME}, e.g.
  "headers": {"Authorization": "Bearer ${secret:github-token}"}
It lives in the credential store (the OS keychain, or the credentials file).`

// maxSecretLen bounds a secret read from stdin.
const maxSecretLen = 64 << 10

// Secret is `mcptray secret set|list|rm`: named secrets in the credential
// store, for ${secret:NAME} in the config. A value is never taken from the
// command line, and never printed.
func Secret(ctx context.Context, env Env, args []string) int {
	fs := newFlags("secret", env)
	cfgFlag := fs.String("config", "", "mcptray config file (default: $MCPTRAY_CONFIG or the user config dir)")
	fs.Usage = func() { fmt.Fprintln(env.Stderr, secretUsage) }
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	op, rest := "", []string(nil)
	if fs.NArg() > 0 {
		op, rest = fs.Arg(0), fs.Args()[1:]
	}
	switch {
	case op == "set" && len(rest) > 1:
		fmt.Fprintln(env.Stderr, "mcptray secret set: give only the name; the value is read from stdin or a hidden prompt, never from the command line (it would stay in your shell history and show in the process list)")
		return 2
	case (op == "set" || op == "rm") && len(rest) == 1:
	case op == "list" && len(rest) == 0:
	default:
		fmt.Fprintln(env.Stderr, secretUsage)
		return 2
	}
	if op != "list" {
		if err := auth.CheckSecretName(rest[0]); err != nil {
			fmt.Fprintf(env.Stderr, "mcptray secret %s: %v\n", op, err)
			return 2
		}
	}
	cfgPath, err := configPath(*cfgFlag)
	var cfg *config.Config
	if err == nil {
		cfg, err = readConfig(cfgPath)
	}
	setting := ""
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray secret: the config cannot be read (%v); using the default credential store\n", err)
		cfg = &config.Config{Servers: map[string]config.Server{}}
	} else {
		setting = cfg.CredentialStore
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s, where, err := openSecrets(ctx, env, setting)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray secret %s: %v\n", op, err)
		return 1
	}
	switch op {
	case "set":
		return secretSet(ctx, env, s, where, cfg, rest[0])
	case "rm":
		return secretRm(ctx, env, s, cfg, rest[0])
	}
	return secretList(ctx, env, s, cfg)
}

// openSecrets opens the credential store the config selects; a fallback
// warning goes to stderr. where names the store.
func openSecrets(ctx context.Context, env Env, setting string) (*auth.Secrets, string, error) {
	home, err := paths.Home()
	if err != nil {
		return nil, "", err
	}
	st, warning, err := auth.OpenStore(ctx, setting, paths.Credentials(home), auth.KeyringOptions{})
	if err != nil {
		return nil, "", err
	}
	if warning != "" {
		fmt.Fprintf(env.Stderr, "warning: %s\n", warning)
	}
	return auth.NewSecrets(st, auth.SecretsOptions{LockDir: paths.AuthLocks(home)}), st.Name(), nil
}

// usedBy lists the servers whose url or headers refer to the secret.
func usedBy(cfg *config.Config, name string) []string {
	var out []string
	for srv, sc := range cfg.Servers {
		for _, ref := range config.SecretRefs(sc) {
			if ref == name {
				out = append(out, srv)
			}
		}
	}
	sort.Strings(out)
	return out
}

func secretSet(ctx context.Context, env Env, s *auth.Secrets, where string, cfg *config.Config, name string) int {
	value, err := readSecretValue(env, name)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray secret set: %v\n", err)
		return 1
	}
	if err := s.Set(ctx, name, value); err != nil {
		fmt.Fprintf(env.Stderr, "mcptray secret set: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "stored secret %s in the %s\n", name, where)
	users := usedBy(cfg, name)
	if len(users) == 0 {
		fmt.Fprintf(env.Stdout, "no server uses it yet: write %s in a server's url or headers\n", config.SecretRef(name))
		return 0
	}
	fmt.Fprintf(env.Stdout, "used by %s\n", strings.Join(users, ", "))
	reconnectUsers(ctx, env, users)
	return 0
}

// reconnectUsers asks a running hub to rebuild the servers that use a
// secret just changed, so that they read it now (a server that failed for
// want of it waits for that). No hub: nothing to do.
func reconnectUsers(ctx context.Context, env Env, users []string) {
	c, err := ipc.DefaultClient("mcptray secret")
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, srv := range users {
		err := c.Reconnect(ctx, srv)
		switch {
		case errors.Is(err, ipc.ErrNoHub):
			return
		case err != nil:
			fmt.Fprintf(env.Stderr, "mcptray secret: could not ask the hub to reconnect %s (%v): run `mcptray reconnect %s`\n", srv, err, srv)
		default:
			fmt.Fprintf(env.Stdout, "reconnecting %s\n", srv)
		}
	}
}

// readSecretValue reads the value: with a hidden prompt on a terminal,
// else all of stdin (one trailing line break dropped).
func readSecretValue(env Env, name string) (string, error) {
	if f, ok := env.Stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(env.Stderr, "value of %s (not shown): ", name)
		var line string
		err := withoutEcho(f, func() error {
			var err error
			line, err = bufio.NewReader(io.LimitReader(f, maxSecretLen)).ReadString('\n')
			if errors.Is(err, io.EOF) && line != "" {
				err = nil
			}
			return err
		})
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("reading the value: %w", err)
		}
		return checkSecretValue(strings.TrimRight(line, "\r\n"))
	}
	if env.Stdin == nil {
		return "", errors.New("no value: pipe it on stdin, e.g. `printf %s \"$TOKEN\" | mcptray secret set NAME`")
	}
	b, err := io.ReadAll(io.LimitReader(env.Stdin, maxSecretLen+1))
	if err != nil {
		return "", fmt.Errorf("reading the value from stdin: %w", err)
	}
	if len(b) > maxSecretLen {
		return "", fmt.Errorf("the value on stdin is longer than %d bytes", maxSecretLen)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	return checkSecretValue(v)
}

// checkSecretValue refuses values that cannot be sent in a header.
func checkSecretValue(v string) (string, error) {
	switch {
	case v == "":
		return "", errors.New("the value is empty: pipe it on stdin, e.g. `printf %s \"$TOKEN\" | mcptray secret set NAME`, or type it at the prompt")
	case strings.ContainsAny(v, "\r\n\x00"):
		return "", errors.New("the value has a line break or NUL byte; a header value cannot (was a file with several lines piped in?)")
	}
	return v, nil
}

func secretRm(ctx context.Context, env Env, s *auth.Secrets, cfg *config.Config, name string) int {
	err := s.Delete(ctx, name)
	if errors.Is(err, auth.ErrNotFound) {
		fmt.Fprintf(env.Stderr, "mcptray secret rm: there is no secret %s (`mcptray secret list` shows them)\n", name)
		return 1
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray secret rm: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "removed secret %s\n", name)
	if users := usedBy(cfg, name); len(users) > 0 {
		fmt.Fprintf(env.Stderr, "warning: %s still use %s and will fail until it is set again\n", strings.Join(users, ", "), config.SecretRef(name))
	}
	return 0
}

func secretList(ctx context.Context, env Env, s *auth.Secrets, cfg *config.Config) int {
	names, err := s.List(ctx)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray secret list: %v\n", err)
		return 1
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
		fmt.Fprintln(env.Stdout, n)
	}
	// Secrets the config refers to that are not set.
	var missing []string
	for srv, sc := range cfg.Servers {
		for _, ref := range config.SecretRefs(sc) {
			if !have[ref] {
				missing = append(missing, fmt.Sprintf("%s (used by %s)", ref, srv))
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		fmt.Fprintf(env.Stderr, "not set: %s: `mcptray secret set %s`\n", m, m[:strings.Index(m, " ")])
	}
	return 0
}

// lookupSecret is doctor's ${secret:…} reader, over the store that
// CredentialStore opened.
func (a *doctorAuth) lookupSecret(ctx context.Context, name string) (string, bool, error) {
	if a.store == nil {
		return "", false, errors.New("the credential store could not be opened")
	}
	v, err := auth.NewSecrets(a.store, auth.SecretsOptions{}).Get(ctx, name)
	if errors.Is(err, auth.ErrNotFound) {
		return "", false, nil
	}
	return v, err == nil, err
}

// storeImportedSecrets puts the values import moves out of the client
// entries' env into the credential store, before the config that refers
// to them is written: those of new servers, and those of servers already
// present that are not stored (removed since). With dryRun it only says
// which. On failure it returns the exit code, and nothing is added.
func storeImportedSecrets(ctx context.Context, env Env, cfg *config.Config, items []ideconfig.ImportItem, dryRun bool) int {
	var todo []ideconfig.ImportItem
	for _, it := range items {
		if len(it.Secrets) > 0 && (it.Status == ideconfig.ImportNew || it.Status == ideconfig.ImportPresent) {
			todo = append(todo, it)
		}
	}
	if len(todo) == 0 {
		return 0
	}
	if dryRun {
		for _, it := range todo {
			fmt.Fprintf(env.Stdout, "\nwould store in the credential store: %s\n", strings.Join(sortedNames(it.Secrets), ", "))
		}
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s, where, err := openSecrets(ctx, env, cfg.CredentialStore)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray import: the credential store: %v; nothing was imported\n", err)
		return 1
	}
	for _, it := range todo {
		for _, name := range sortedNames(it.Secrets) {
			if it.Status == ideconfig.ImportPresent {
				if _, err := s.Get(ctx, name); err == nil {
					continue // set already, maybe changed since: keep it
				}
			}
			if err := s.Set(ctx, name, it.Secrets[name]); err != nil {
				fmt.Fprintf(env.Stderr, "mcptray import: storing the secret %s: %v; nothing was imported\n", name, err)
				return 1
			}
			fmt.Fprintf(env.Stdout, "stored the secret %s (for %s) in the %s\n", name, it.Name, where)
		}
	}
	return 0
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
