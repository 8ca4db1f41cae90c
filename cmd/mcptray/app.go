package main

import (
	"context"
	"fmt"

	"github.com/mcptray/mcptray/mcpclient/cli"
)

// runApp starts the tray app. The tray UI (app/) is not built yet: run the
// headless hub and say so.
func runApp(env cli.Env) int {
	fmt.Fprintln(env.Stderr, "mcptray: the tray UI is not available in this build; running the headless hub (mcptray serve).")
	return cli.Serve(context.Background(), env, nil)
}
