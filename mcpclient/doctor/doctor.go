// Package doctor diagnoses an mcptray setup: the config file, the
// credential store, the hub and its socket, proxy variables and the CA
// bundle, and for each server the whole path to it — DNS, TCP, TLS, HTTP
// through the configured proxy, OAuth metadata, login state and one MCP
// initialize. Every finding says what is wrong and what to do about it.
//
// It uses plain HTTP requests of its own (no MCP client, no OAuth), so it
// works whatever state the hub is in.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/logfile"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// Status is how a finding came out.
type Status int

// Statuses, from good to bad.
const (
	OK   Status = iota // works
	Info               // worth knowing, nothing to do
	Warn               // works, or may, but something needs attention
	Fail               // broken: mcptray cannot work like this
	Skip               // not checked because an earlier step failed
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Info:
		return "info"
	case Warn:
		return "warn"
	case Fail:
		return "FAIL"
	case Skip:
		return "skip"
	}
	return "?"
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(strings.ToLower(s.String())), nil }

// Checks, as they appear in findings.
const (
	CheckConfig       = "config"
	CheckCredentials  = "credentials"
	CheckHub          = "hub"
	CheckStateDir     = "state-dir"
	CheckProxyEnv     = "proxy-env"
	CheckCAFile       = "caFile"
	CheckServer       = "server" // the entry itself: disabled, unset variables
	CheckHubState     = "hub-state"
	CheckProxy        = "proxy" // which proxy this server's traffic takes
	CheckDNS          = "dns"
	CheckTCP          = "tcp"
	CheckTLS          = "tls"
	CheckHTTP         = "http"
	CheckResourceMeta = "resource-metadata"
	CheckAuthServer   = "auth-server-metadata"
	CheckLogin        = "login"
	CheckInitialize   = "initialize"
	CheckEra          = "era" // which protocol era the server speaks, and how that was found
)

// Finding is one result.
type Finding struct {
	// Server is the server it is about; "" for the setup as a whole.
	Server  string `json:"server,omitempty"`
	Check   string `json:"check"`
	Status  Status `json:"status"`
	Summary string `json:"summary"`
	// Fix says what to do; empty when there is nothing to do.
	Fix string `json:"fix,omitempty"`
}

// Report is every finding of a run, setup first, then servers by name.
type Report struct {
	Config   string    `json:"config"`
	Findings []Finding `json:"findings"`
}

// Broken reports whether any finding failed.
func (r *Report) Broken() bool {
	for _, f := range r.Findings {
		if f.Status == Fail {
			return true
		}
	}
	return false
}

// Find returns the finding of check for server, if any.
func (r *Report) Find(server, check string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Server == server && f.Check == check {
			return f, true
		}
	}
	return Finding{}, false
}

// Auth is what doctor asks the OAuth layer. The auth package implements
// it; until then NoAuth answers ErrAuthUnavailable.
type Auth interface {
	// CredentialStore says which backend the credentialStore setting
	// ("", auto, keyring, file) selects here, and whether it works: a
	// warning when it works but not as configured (auto fell back to the
	// file), an error when it does not work.
	CredentialStore(ctx context.Context, setting string) (backend, warning string, err error)
	// LoginState describes the stored login of a server ("signed in,
	// token valid for 40 min", "no login", …).
	LoginState(ctx context.Context, server string, sc config.Server) (string, error)
}

// ErrAuthUnavailable is what NoAuth answers.
var ErrAuthUnavailable = errors.New("OAuth support is not in this build yet")

// NoAuth is the Auth of a build without OAuth support.
type NoAuth struct{}

// CredentialStore implements Auth.
func (NoAuth) CredentialStore(context.Context, string) (string, string, error) {
	return "", "", ErrAuthUnavailable
}

// LoginState implements Auth.
func (NoAuth) LoginState(context.Context, string, config.Server) (string, error) {
	return "", ErrAuthUnavailable
}

// Options configure Run. The zero value checks the default config with
// the process's environment.
type Options struct {
	// ConfigPath is the config file; "" = config.DefaultPath().
	ConfigPath string
	// Home is the state dir; "" = paths.Home().
	Home string
	// Server limits the per-server checks to one server.
	Server string
	// Auth answers the credential and login questions; nil = NoAuth.
	Auth Auth
	// Proxy picks the proxy for a request; nil = http.ProxyFromEnvironment,
	// as the hub does.
	Proxy func(*http.Request) (*url.URL, error)
	// LookupEnv reads the environment (${env:…} and proxy variables);
	// nil = os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// LookupSecret reads a ${secret:NAME} from the credential store: ok
	// is false for a secret that is not set. nil = no store to read.
	// The values read are added to Secrets.
	LookupSecret func(ctx context.Context, name string) (value string, ok bool, err error)
	// Timeout bounds each network step; 0 = 10 s.
	Timeout time.Duration
	// Resolver looks up host names; nil = net.DefaultResolver.
	Resolver *net.Resolver
	// Now is the clock for certificate dates; nil = time.Now.
	Now func() time.Time
	// Secrets are the secret values known: every finding is scrubbed of
	// them. Run adds the config's (header values, ${env:…} expansions,
	// client secrets); Auth may add stored tokens. nil = a new set.
	Secrets *logfile.Secrets
}

func (o *Options) defaults() {
	if o.Auth == nil {
		o.Auth = NoAuth{}
	}
	if o.Proxy == nil {
		o.Proxy = http.ProxyFromEnvironment
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Secrets == nil {
		o.Secrets = logfile.NewSecrets()
	}
}

func (o *Options) getenv(k string) string {
	v, _ := o.LookupEnv(k)
	return v
}

// Run checks everything and returns the findings, with every secret value
// known (opts.Secrets) scrubbed out of them: a server may echo a request's
// headers in an error body.
func Run(ctx context.Context, opts Options) *Report {
	opts.defaults()
	rep := run(ctx, opts)
	for i := range rep.Findings {
		f := &rep.Findings[i]
		f.Summary, f.Fix = opts.Secrets.Scrub(f.Summary), opts.Secrets.Scrub(f.Fix)
	}
	return rep
}

func run(ctx context.Context, opts Options) *Report {
	rep := &Report{}
	add := func(f Finding) { rep.Findings = append(rep.Findings, f) }

	cfgPath := opts.ConfigPath
	if cfgPath == "" {
		p, err := config.DefaultPath()
		if err != nil {
			add(Finding{Check: CheckConfig, Status: Fail, Summary: err.Error(), Fix: "set MCPTRAY_CONFIG to the config file, or pass --config"})
			return rep
		}
		cfgPath = p
	}
	rep.Config = cfgPath
	cfg := checkConfig(cfgPath, add)
	if cfg != nil {
		for _, sc := range cfg.Servers {
			opts.Secrets.Add(config.KnownSecrets(sc, opts.LookupEnv)...)
		}
	}

	setting := ""
	if cfg != nil {
		setting = cfg.CredentialStore
	}
	hubReport := checkHub(ctx, opts, cfgPath, add)
	checkCredentials(ctx, opts, setting, hubReport, add)
	checkProxyEnv(opts, add)
	hubStatus := map[string]mcpclient.ServerStatus{}
	if hubReport != nil {
		for _, s := range hubReport.Servers {
			hubStatus[s.Name] = s
		}
	}
	if cfg == nil {
		return rep
	}
	pool := checkCAFile(opts, cfg, add)

	names := make([]string, 0, len(cfg.Servers))
	for n := range cfg.Servers {
		if opts.Server == "" || n == opts.Server {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if opts.Server != "" && len(names) == 0 {
		add(Finding{Server: opts.Server, Check: CheckServer, Status: Fail,
			Summary: fmt.Sprintf("no server named %q in %s", opts.Server, cfgPath),
			Fix:     "list the servers with `mcptray list`, or add it with `mcptray add " + opts.Server + " URL`"})
		return rep
	}
	if len(names) == 0 {
		return rep
	}
	// Servers are independent: check them side by side, report in order.
	results := make([][]Finding, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := &serverCheck{opts: &opts, name: name, sc: cfg.Servers[name], cfg: cfg, cfgPath: cfgPath, pool: pool}
			if st, ok := hubStatus[name]; ok {
				sc.hubState = &st
			}
			results[i] = sc.run(ctx)
		}()
	}
	wg.Wait()
	for _, r := range results {
		rep.Findings = append(rep.Findings, r...)
	}
	return rep
}

func checkConfig(path string, add func(Finding)) *config.Config {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		add(Finding{Check: CheckConfig, Status: Info, Summary: "no config file yet at " + path,
			Fix: "add a server with `mcptray add NAME URL` (or `mcptray import` from your IDEs); that creates it"})
		return nil
	}
	if err != nil {
		add(Finding{Check: CheckConfig, Status: Fail, Summary: fmt.Sprintf("cannot read %s: %v", path, err),
			Fix: "check the file's permissions"})
		return nil
	}
	cfg, err := config.Parse(path, b)
	if err != nil {
		add(Finding{Check: CheckConfig, Status: Fail, Summary: err.Error(),
			Fix: "fix the file (the message names the server and field); the hub keeps running the last good config meanwhile"})
		return nil
	}
	n, disabled := len(cfg.Servers), 0
	for _, s := range cfg.Servers {
		if s.Disabled {
			disabled++
		}
	}
	sum := fmt.Sprintf("%s: %d server%s", path, n, plural(n))
	if disabled > 0 {
		sum += fmt.Sprintf(" (%d disabled)", disabled)
	}
	f := Finding{Check: CheckConfig, Status: OK, Summary: sum}
	if n == 0 {
		f.Status = Info
		f.Fix = "add a server with `mcptray add NAME URL` or `mcptray import`"
	}
	add(f)
	return cfg
}

func checkCredentials(ctx context.Context, opts Options, setting string, hub *mcpclient.StatusReport, add func(Finding)) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	backend, warning, err := opts.Auth.CredentialStore(ctx, setting)
	switch {
	case errors.Is(err, ErrAuthUnavailable) && hub != nil && hub.CredentialStore != "":
		// The running hub has opened its store: report what it says.
		f := Finding{Check: CheckCredentials, Status: OK, Summary: "the hub uses " + hub.CredentialStore}
		if hub.CredentialWarning != "" {
			f.Status, f.Fix = Warn, hub.CredentialWarning
		}
		add(f)
	case errors.Is(err, ErrAuthUnavailable):
		add(Finding{Check: CheckCredentials, Status: Info, Summary: "keyring/file: checked by auth (not wired into doctor yet)"})
	case err != nil:
		f := Finding{Check: CheckCredentials, Status: Fail, Summary: err.Error(),
			Fix: `unlock or install a keyring (Secret Service, macOS Keychain, Windows Credential Manager), or set "credentialStore": "file" in the config`}
		if backend != "" {
			f.Summary = backend + ": " + f.Summary
		}
		add(f)
	case warning != "" && strings.HasPrefix(backend, "file"):
		add(Finding{Check: CheckCredentials, Status: Warn, Summary: backend,
			Fix: warning + `. To keep credentials in the keychain, unlock it or start a Secret Service (gnome-keyring, KeePassXC) in your session; mcptray moves them there by itself once it works. Or set "credentialStore": "file" to keep the file on purpose.`})
	case warning != "":
		add(Finding{Check: CheckCredentials, Status: Warn, Summary: backend,
			Fix: warning + `. Sign-ins fail until it works: unlock it or start a Secret Service (gnome-keyring, KeePassXC) in your session, or set "credentialStore": "auto" to fall back to a file.`})
	default:
		add(Finding{Check: CheckCredentials, Status: OK, Summary: backend})
	}
}

// checkHub pings the hub and returns its status report (nil without a hub).
func checkHub(ctx context.Context, opts Options, cfgPath string, add func(Finding)) *mcpclient.StatusReport {
	home := opts.Home
	if home == "" {
		h, err := paths.Home()
		if err != nil {
			add(Finding{Check: CheckHub, Status: Fail, Summary: err.Error(), Fix: "set MCPTRAY_HOME to a directory for mcptray's state"})
			return nil
		}
		home = h
	}
	checkStateDir(home, add)
	sock := paths.Socket(home)
	client := ipc.NewClient(sock, "mcptray doctor")
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	hub, err := client.Ping(pctx)
	if err != nil {
		if errors.Is(err, ipc.ErrNoHub) {
			add(Finding{Check: CheckHub, Status: Info,
				Summary: "no hub is running (socket " + sock + ")",
				Fix:     "nothing to do: a bridge starts the hub when an IDE launches it; to start it now run `mcptray` (tray) or `mcptray serve`"})
			return nil
		}
		var unsafe *ipc.UnsafeError
		if errors.As(err, &unsafe) {
			add(Finding{Check: CheckHub, Status: Fail, Summary: err.Error(), Fix: unsafe.Fix})
			return nil
		}
		add(Finding{Check: CheckHub, Status: Fail, Summary: fmt.Sprintf("the hub on %s does not answer properly: %v", sock, err),
			Fix: "stop the hub process and start it again (`mcptray serve`)"})
		return nil
	}
	f := Finding{Check: CheckHub, Status: OK}
	if h := hub; h != nil {
		f.Summary = fmt.Sprintf("running: pid %d, %s, version %s, socket %s", h.PID, h.Mode, h.Version, sock)
		if h.Version != mcpclient.Version {
			f.Status = Warn
			f.Fix = fmt.Sprintf("the hub runs version %s and this mcptray is %s: quit the hub (tray menu, or stop `mcptray serve`) so the new version starts", h.Version, mcpclient.Version)
		}
		if h.Config != "" && !samePath(h.Config, cfgPath) {
			f.Status = Warn
			f.Fix = fmt.Sprintf("the running hub reads %s, not %s: use the same MCPTRAY_CONFIG / --config for both, or restart the hub", h.Config, cfgPath)
		}
	} else {
		f.Summary = "running (socket " + sock + ")"
	}
	add(f)
	sctx, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	var st mcpclient.StatusReport
	if _, err := client.Status(sctx, &st); err != nil {
		return nil
	}
	return &st
}

func samePath(a, b string) bool {
	if a == b {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// readLimited reads at most n bytes of a body.
func readLimited(r io.Reader, n int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, n))
}
