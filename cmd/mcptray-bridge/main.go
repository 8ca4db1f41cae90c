// Command mcptray-bridge is what an IDE launches: a stdio MCP server that
// attaches to the mcptray hub and serves one configured remote server.
//
//	mcptray-bridge NAME
package main

import (
	"os"

	"github.com/mcptray/mcptray/mcpclient/bridge"
)

func main() {
	os.Exit(bridge.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
