package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mcptray/mcptray/mcpclient/ipc"
)

// Login runs a browser sign-in through the hub: the hub's loopback
// listener receives the callback. The URL is printed for machines where
// no browser opens.
func Login(ctx context.Context, env Env, args []string) int {
	fs := newFlags("login", env)
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.Stderr, "usage: mcptray login NAME")
		return 2
	}
	name := fs.Arg(0)
	sock, err := socket()
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray login: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, 11*time.Minute)
	defer cancel()
	fmt.Fprintf(env.Stdout, "Signing in to %s: complete the sign-in in your browser…\n", name)
	_, err = ipc.Stream(ctx, sock, ipc.Hello{Op: ipc.OpLogin, Server: name}, func(r *ipc.Reply) {
		if r.URL != "" {
			fmt.Fprintf(env.Stdout, "If no browser opened, open this URL:\n  %s\n", r.URL)
		}
	})
	if err != nil {
		if errors.Is(err, ipc.ErrNoHub) {
			fmt.Fprintf(env.Stderr, "mcptray login: no hub is running (socket %s). Start it with `mcptray` or `mcptray serve`.\n", sock)
		} else {
			fmt.Fprintf(env.Stderr, "mcptray login: %v\n", err)
		}
		return 1
	}
	fmt.Fprintf(env.Stdout, "Signed in to %s.\n", name)
	return 0
}

// Logout revokes (where the server supports it) and deletes a server's
// stored credentials.
func Logout(ctx context.Context, env Env, args []string) int {
	fs := newFlags("logout", env)
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.Stderr, "usage: mcptray logout NAME")
		return 2
	}
	if _, ok := request(ctx, env, "logout", ipc.Hello{Op: ipc.OpLogout, Server: fs.Arg(0)}, 2*time.Minute); !ok {
		return 1
	}
	fmt.Fprintf(env.Stdout, "Signed out of %s; its stored credentials are deleted.\n", fs.Arg(0))
	return 0
}
