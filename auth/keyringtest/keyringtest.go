// Package keyringtest runs keychain tests against a real Secret Service
// (gnome-keyring, with its login keyring unlocked or locked) or a broken
// one (none at all, or one that never answers), each in a private D-Bus
// session. It is test support, like net/http/httptest: import it from
// _test.go files only.
//
// A test calls Setup (or SetupWith) first. Where the environment already
// is the one the test needs (a child process started by Setup, or — for
// Real with Options.SessionService — a session bus with a Secret Service),
// Setup prepares it and returns true: the test body runs. Otherwise Setup
// re-executes the test binary, running only that test, under
// dbus-run-session with a private bus (no service activation, so nothing
// starts behind the test's back and no unlock prompt can be shown) and a
// temporary HOME, reports the child's output and verdict, and returns
// false: the caller returns at once. Without dbus-run-session (or, for
// Real and Locked, gnome-keyring-daemon) the test is skipped, or fails
// when real dependencies are required (MCPTRAY_REQUIRE_REAL=1, or CI set).
//
// Setup re-runs the test by its name, so it is for top-level tests.
package keyringtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Modes of the private session.
const (
	// Real runs gnome-keyring's Secret Service with an unlocked login
	// keyring.
	Real = "real"
	// Locked runs gnome-keyring's Secret Service with the login keyring
	// created and then locked. No prompter can run on the private bus, so
	// an unlock request is dismissed at once.
	Locked = "locked"
	// None has no Secret Service on the bus.
	None = "none"
	// Hang has a Secret Service that takes every call and never answers.
	Hang = "hang"
)

// Options configure SetupWith. The zero value is what Setup uses.
type Options struct {
	// Timeout bounds the test in the child process (its -test.timeout);
	// the child is killed 30 s later. Zero means 2 minutes.
	Timeout time.Duration
	// Env, when set, is called in the parent, just before the child
	// starts, for extra KEY=value pairs for the child's environment (say,
	// the directory of binaries built once in the parent). They replace
	// variables of the same name.
	Env func() []string
	// SessionService lets Real run in the test's own process against the
	// Secret Service of the current D-Bus session when it has one — the
	// user's own keychain — instead of a private session. The other modes
	// always run in a private session.
	SessionService bool
}

// DefaultTimeout is the child's test timeout when Options.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

const (
	envMode        = "MCPTRAY_KEYRINGTEST_MODE"
	envRequire     = "MCPTRAY_REQUIRE_REAL"
	secretsName    = "org.freedesktop.secrets"
	secretsPath    = dbus.ObjectPath("/org/freedesktop/secrets")
	loginPath      = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	serviceIface   = "org.freedesktop.Secret.Service"
	collectionProp = "org.freedesktop.Secret.Collection.Locked"
	// gnome-keyring's own interface for unlocking without a prompt.
	gnomeUnlock   = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword"
	serviceWait   = 15 * time.Second
	callTimeout   = 10 * time.Second
	keyringPasswd = "mcptray-test-password"
)

// clearedEnv are variables the child does not inherit: its session, its
// home, and settings that would point mcptray at the user's own files or
// browser.
var clearedEnv = []string{
	"DBUS_SESSION_BUS_ADDRESS", "HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR",
	"BROWSER", "MCPTRAY_HOME", "MCPTRAY_CONFIG", envMode,
}

// Setup is SetupWith(t, mode, Options{}).
func Setup(t *testing.T, mode string) bool {
	t.Helper()
	return SetupWith(t, mode, Options{})
}

// SetupWith prepares mode for t; see the package doc. Call it before
// anything else in the test.
func SetupWith(t *testing.T, mode string, opts Options) bool {
	t.Helper()
	switch mode {
	case Real, Locked, None, Hang:
	default:
		t.Fatalf("keyringtest: unknown mode %q", mode)
	}
	if m := os.Getenv(envMode); m != "" {
		if m != mode {
			t.Skipf("this process is a %s keychain session", m)
		}
		switch mode {
		case Real:
			startGnomeKeyring(t)
		case Locked:
			startGnomeKeyring(t)
			Lock(t)
		case Hang:
			startHangingService(t)
		}
		return true
	}
	if mode == Real && opts.SessionService {
		if ok, _ := SecretServiceOnBus(); ok {
			t.Log("using the Secret Service of the current D-Bus session")
			return true
		}
	}
	need := []string{"dbus-run-session", "dbus-daemon"}
	if mode == Real || mode == Locked {
		need = append(need, "gnome-keyring-daemon")
	}
	for _, bin := range need {
		if _, err := exec.LookPath(bin); err != nil {
			missing(t, bin)
		}
	}
	runChild(t, mode, opts)
	return false
}

// InChild reports whether this process is a child started by Setup: a
// test running in a private D-Bus session.
func InChild() bool { return os.Getenv(envMode) != "" }

// missing skips t for want of bin, or fails it when real dependencies are
// required (the rule of mcpclient/internal/testenv.Require).
func missing(t *testing.T, bin string) {
	t.Helper()
	msg := fmt.Sprintf("keyringtest: %s not found (apt packages dbus-daemon, gnome-keyring; `make deps` installs them): cannot run the keychain test", bin)
	if requireReal() {
		t.Fatalf("%s [%s=1 or CI is set, so this fails instead of skipping]", msg, envRequire)
	}
	t.Skipf("%s [skipped; set %s=1 to fail instead]", msg, envRequire)
}

func requireReal() bool {
	if v, ok := os.LookupEnv(envRequire); ok && v != "" {
		return truthy(v)
	}
	return truthy(os.Getenv("CI"))
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// SecretServiceOnBus reports whether the current session bus has a
// Secret Service, with the reason when not.
func SecretServiceOnBus() (bool, string) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return false, "DBUS_SESSION_BUS_ADDRESS is not set"
	}
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		return false, err.Error()
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		return false, err.Error()
	}
	if err := conn.Hello(); err != nil {
		return false, err.Error()
	}
	has, err := nameHasOwner(conn, secretsName)
	if err != nil {
		return false, err.Error()
	}
	if !has {
		return false, "no " + secretsName + " on the session bus"
	}
	return true, ""
}

func nameHasOwner(conn *dbus.Conn, name string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var has bool
	err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has)
	return has, err
}

// busConfig is a session bus without service activation: nothing starts
// behind the test's back.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// runChild re-runs t alone in a private session and reports its result.
func runChild(t *testing.T, mode string, opts Options) {
	t.Helper()
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dir, err := os.MkdirTemp("", "mcptray-kr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	conf := filepath.Join(dir, "bus.conf")
	home := filepath.Join(dir, "home")
	run := filepath.Join(dir, "run")
	for _, d := range []string{home, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(busConfig, dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	extra := []string{envMode + "=" + mode, "HOME=" + home, "XDG_RUNTIME_DIR=" + run,
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache")}
	if opts.Env != nil {
		extra = append(extra, opts.Env()...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dbus-run-session", "--config-file="+conf, "--",
		os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v", "-test.count=1",
		"-test.timeout="+timeout.String())
	cmd.Env = childEnv(os.Environ(), extra)
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	text := string(out)
	t.Logf("in a private D-Bus session (%s), %s:\n%s", mode, time.Since(start).Round(100*time.Millisecond), indent(text))
	switch {
	case err != nil:
		t.Fatalf("the test failed in its private D-Bus session: %v", err)
	case strings.Contains(text, "--- SKIP: "+t.Name()):
		t.Skip("skipped in the private D-Bus session")
	case !strings.Contains(text, "--- PASS: "+t.Name()):
		t.Fatal("the test did not run in its private D-Bus session")
	}
}

// childEnv is env without clearedEnv and the variables extra sets, plus
// extra.
func childEnv(env, extra []string) []string {
	drop := map[string]bool{}
	for _, k := range clearedEnv {
		drop[k] = true
	}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

func indent(s string) string {
	return "\t" + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n\t")
}

// startGnomeKeyring starts gnome-keyring's Secret Service with the login
// keyring created and unlocked (the child's HOME is a temporary directory).
// The daemon exits with the session bus.
func startGnomeKeyring(t *testing.T) {
	t.Helper()
	cmd := exec.Command("gnome-keyring-daemon", "--unlock", "--components=secrets")
	cmd.Stdin = strings.NewReader(keyringPasswd)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gnome-keyring-daemon: %v\n%s", err, out)
	}
	waitForName(t, secretsName)
}

func waitForName(t *testing.T, name string) {
	t.Helper()
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(serviceWait)
	for {
		has, err := nameHasOwner(conn, name)
		if err == nil && has {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear on the session bus (last error: %v)", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Lock locks the keyrings of the private session's gnome-keyring, as the
// desktop does when the screen locks or the session starts without a
// password, and checks that the login keyring says it is locked. It is for
// a test that Setup runs in Real or Locked mode, never the user's own
// keychain.
func Lock(t testing.TB) {
	t.Helper()
	conn := privateKeyring(t, "Lock")
	defer conn.Close()
	svc := conn.Object(secretsName, secretsPath)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	v, err := svc.GetProperty(serviceIface + ".Collections")
	if err != nil {
		t.Fatalf("keyringtest: list the keyrings: %v", err)
	}
	cols, _ := v.Value().([]dbus.ObjectPath)
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := svc.CallWithContext(ctx, serviceIface+".Lock", 0, cols).Store(&locked, &prompt); err != nil {
		t.Fatalf("keyringtest: lock %v: %v", cols, err)
	}
	if prompt != "/" {
		t.Fatalf("keyringtest: locking %v asks for a prompt (%s)", cols, prompt)
	}
	if !isLocked(t, conn) {
		t.Fatalf("keyringtest: the login keyring is not locked after Lock(%v) = %v", cols, locked)
	}
}

// Unlock unlocks the login keyring with its password, as the user would
// at an unlock prompt. Like Lock, it is only for the private session.
func Unlock(t testing.TB) {
	t.Helper()
	conn := privateKeyring(t, "Unlock")
	defer conn.Close()
	svc := conn.Object(secretsName, secretsPath)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var ignored dbus.Variant
	var session dbus.ObjectPath
	if err := svc.CallWithContext(ctx, serviceIface+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&ignored, &session); err != nil {
		t.Fatalf("keyringtest: open a Secret Service session: %v", err)
	}
	defer conn.Object(secretsName, session).CallWithContext(ctx, "org.freedesktop.Secret.Session.Close", 0)
	master := struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte(keyringPasswd), "text/plain"}
	if err := svc.CallWithContext(ctx, gnomeUnlock, 0, loginPath, master).Err; err != nil {
		t.Fatalf("keyringtest: unlock the login keyring: %v", err)
	}
	if isLocked(t, conn) {
		t.Fatal("keyringtest: the login keyring is still locked after Unlock")
	}
}

// privateKeyring connects to the session bus of a child in Real or Locked
// mode, and fails t anywhere else.
func privateKeyring(t testing.TB, fn string) *dbus.Conn {
	t.Helper()
	if m := os.Getenv(envMode); m != Real && m != Locked {
		t.Fatalf("keyringtest.%s: only in a test that Setup runs in a private session with gnome-keyring (Real or Locked), never against the user's own keychain", fn)
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	return conn
}

// isLocked reads the login keyring's Locked property.
func isLocked(t testing.TB, conn *dbus.Conn) bool {
	t.Helper()
	v, err := conn.Object(secretsName, loginPath).GetProperty(collectionProp)
	if err != nil {
		t.Fatalf("keyringtest: read %s of %s: %v", collectionProp, loginPath, err)
	}
	locked, ok := v.Value().(bool)
	if !ok {
		t.Fatalf("keyringtest: %s of %s is %v, not a boolean", collectionProp, loginPath, v)
	}
	return locked
}

// startHangingService claims the Secret Service name and never answers.
func startHangingService(t *testing.T) {
	t.Helper()
	release := make(chan struct{})
	conn, err := dbus.ConnectSessionBus(dbus.WithHandler(hangHandler{release}))
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	t.Cleanup(func() {
		close(release)
		conn.Close()
	})
	reply, err := conn.RequestName(secretsName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("claim %s: reply %v, %v", secretsName, reply, err)
	}
}

// hangHandler accepts every method call on every object and blocks it
// until release is closed.
type hangHandler struct{ release chan struct{} }

func (h hangHandler) LookupObject(dbus.ObjectPath) (dbus.ServerObject, bool) { return h, true }
func (h hangHandler) LookupInterface(string) (dbus.Interface, bool)          { return h, true }
func (h hangHandler) LookupMethod(string) (dbus.Method, bool)                { return hangMethod(h), true }

type hangMethod hangHandler

func (m hangMethod) Call(...any) ([]any, error) {
	<-m.release
	return nil, errors.New("released")
}
func (hangMethod) NumArguments() int     { return 0 }
func (hangMethod) NumReturns() int       { return 0 }
func (hangMethod) ArgumentValue(int) any { return nil }
func (hangMethod) ReturnValue(int) any   { return nil }
func (hangMethod) DecodeArguments(*dbus.Conn, string, *dbus.Message, []any) ([]any, error) {
	return nil, nil
}
