// Command mcptray is the mcptray hub (tray app or headless) and its CLI.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mcptray/mcptray/cmd/mcptray/internal/cleanlocale"
	"github.com/mcptray/mcptray/cmd/mcptray/internal/winconsole"
	"github.com/mcptray/mcptray/mcpclient/cli"
)

func main() {
	cleanlocale.Restore()
	args := os.Args[1:]
	if len(args) > 0 {
		winconsole.Attach() // a CLI subcommand of the GUI-linked .exe
	}
	env := cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if len(args) == 0 {
		os.Exit(runApp(env))
	}
	switch args[0] {
	case "-h", "--help", "help":
		cli.Usage(os.Stdout)
		return
	}
	code, ok := cli.Dispatch(context.Background(), env, args[0], args[1:])
	if !ok {
		fmt.Fprintf(os.Stderr, "mcptray: unknown command %q\n\n", args[0])
		cli.Usage(os.Stderr)
		os.Exit(2)
	}
	os.Exit(code)
}
