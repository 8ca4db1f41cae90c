package cli

import (
	"context"
	"fmt"
	"time"
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
	c := client(env, "login")
	if c == nil {
		return 1
	}
	fmt.Fprintf(env.Stdout, "Signing in to %s: complete the sign-in in your browser…\n", name)
	if !control(ctx, env, "login", c, 11*time.Minute, func(ctx context.Context) error {
		return c.Login(ctx, name, func(url string) {
			fmt.Fprintf(env.Stdout, "If no browser opened, open this URL:\n  %s\n", url)
		})
	}) {
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
	c := client(env, "logout")
	if c == nil || !control(ctx, env, "logout", c, 2*time.Minute, func(ctx context.Context) error {
		return c.Logout(ctx, fs.Arg(0))
	}) {
		return 1
	}
	fmt.Fprintf(env.Stdout, "Signed out of %s; its stored credentials are deleted.\n", fs.Arg(0))
	return 0
}
