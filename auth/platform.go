package auth

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
)

// randomHex returns n random bytes, hex encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

func itoa(i int) string { return strconv.Itoa(i) }
