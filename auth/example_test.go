package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mcptray/mcptray/auth"
)

// A hub's use of a Manager: a token for each request, a refresh on 401, a
// browser login when the server says a login is needed.
func Example() {
	ctx := context.Background()
	store, warning, err := auth.OpenStore(ctx, auth.StoreAuto, "/home/me/.local/state/mcptray/credentials.json", auth.KeyringOptions{})
	if err != nil {
		panic(err)
	}
	if warning != "" {
		fmt.Println("warning:", warning) // show it in status
	}
	m := auth.NewManager(auth.Config{
		ServerURL: "https://mcp.example.com/mcp",
		Store:     store,
		LockDir:   "/home/me/.local/state/mcptray/locks",
	})

	call := func(token string) *http.Response { return nil } // the MCP request

	token, err := m.Token(ctx)
	switch {
	case errors.Is(err, auth.ErrLoginRequired), errors.Is(err, auth.ErrInvalidClient):
		err = m.Login(ctx, auth.LoginOptions{OnURL: func(u string) { fmt.Println("open", u) }})
	case errors.Is(err, auth.ErrTemporary):
		// back off and retry later; nothing was logged out
	}
	if err != nil {
		return
	}
	if resp := call(token); resp != nil && resp.StatusCode == http.StatusUnauthorized {
		token, err = m.Refresh(ctx, token)
		if errors.Is(err, auth.ErrLoginRequired) {
			_ = m.Login(ctx, auth.LoginOptions{WWWAuthenticate: resp.Header.Get("WWW-Authenticate")})
		}
	}
}
