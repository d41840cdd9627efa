//go:build tools

// This file pins the module's dependencies while the packages that use them
// are being written; it is never built.
package mls

import (
	_ "github.com/cloudflare/circl/hpke"
	_ "github.com/cloudflare/circl/kem"
	_ "github.com/cloudflare/circl/sign/ed448"
	_ "github.com/google/go-cmp/cmp"
	_ "golang.org/x/crypto/chacha20poly1305"
	_ "golang.org/x/crypto/cryptobyte"
	_ "golang.org/x/crypto/hkdf"
	_ "pgregory.net/rapid"
)
