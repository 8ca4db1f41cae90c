package bridge

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"

	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// Main is the whole `mcptray-bridge NAME` command: args without the
// program name. It returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcptray-bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	noStart := fs.Bool("no-start", false, "do not start a hub when none is running")
	eofGrace := fs.Duration("eof-grace", DefaultEOFGrace, "once stdin closes, how long to wait for the answers to requests in flight")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mcptray-bridge [--no-start] [--eof-grace D] NAME")
		fmt.Fprintln(stderr, "\nAn IDE launches this as a stdio MCP server; it connects to the mcptray hub")
		fmt.Fprintln(stderr, "and serves the remote server NAME from the mcptray config.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	home, err := paths.Home()
	if err != nil {
		fmt.Fprintf(stderr, "mcptray-bridge: %v\n", err)
		return 1
	}
	stdin, stdout = pollableStdio(stdin, stdout)
	opts := Options{
		Server: fs.Arg(0),
		Socket: paths.Socket(home),
		Stdin:  stdin, Stdout: stdout, Stderr: stderr,
		EOFGrace: *eofGrace,
	}
	if !*noStart {
		opts.StartHub = func() error { return StartHub(home) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return Run(ctx, opts)
}

// StartHub starts `mcptray serve` detached from this process, with its
// output appended to hub.log in home.
func StartHub(home string) error {
	bin, err := paths.Sibling(paths.HubName)
	if err != nil {
		return err
	}
	// Refuse a state dir another user owns or may write to before writing
	// the hub's log there (the hub would refuse it too).
	if err := ipc.PrepareHome(home); err != nil {
		return err
	}
	logf, err := os.OpenFile(paths.HubLog(home), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = home
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s serve: %w", bin, err)
	}
	go func() { _ = cmd.Wait() }() // reap it should it exit while we live
	return nil
}
