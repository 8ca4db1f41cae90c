package mcpclient

import "testing"

func TestIdempotent(t *testing.T) {
	tests := []struct {
		method string
		want   bool
	}{
		{"ping", true},
		{"tools/list", true},
		{"resources/list", true},
		{"resources/templates/list", true},
		{"resources/read", true},
		{"resources/subscribe", true},
		{"resources/unsubscribe", true},
		{"prompts/list", true},
		{"prompts/get", true},
		{"completion/complete", true},
		{"logging/setLevel", true},
		{"tools/call", false},
		{"initialize", false},
		{"sampling/createMessage", false},
		{"elicitation/create", false},
		{"tasks/get", false},
		{"notifications/cancelled", false},
		{"", false},
		{"Tools/List", false},
		{"tools/list ", false},
		{"x-vendor/anything", false},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			if got := idempotent(tt.method); got != tt.want {
				t.Errorf("idempotent(%q) = %v, want %v", tt.method, got, tt.want)
			}
		})
	}
}
