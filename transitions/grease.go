package transitions

import (
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/entropy"
)

// labelGrease is the entropy label of GREASE draws.
const labelGrease entropy.Label = "grease"

// greaseValues are the GREASE code points of RFC 9420, Section 13.5
// (0x0A0A, 0x1A1A, …, 0xEAEA), reserved in every MLS registry that allows
// them.
//
// [RFC 9420, Section 13.5]: https://www.rfc-editor.org/rfc/rfc9420#section-13.5
var greaseValues = func() []uint16 {
	out := make([]uint16, 15)
	for i := range out {
		out[i] = 0x0A0A + 0x1010*uint16(i)
	}
	return out
}()

// IsGrease reports whether v is one of the GREASE values of RFC 9420,
// Section 13.5: a code point that carries no meaning and that a receiver
// must ignore wherever unknown values are ignored.
//
// [RFC 9420, Section 13.5]: https://www.rfc-editor.org/rfc/rfc9420#section-13.5
func IsGrease(v uint16) bool { return v&0x0F0F == 0x0A0A && v>>12 == (v>>4)&0xF && v != 0xFAFA }

// greasePick draws one GREASE value for the field named by what.
func greasePick(env Env, what string) uint16 {
	b := env.Entropy.Draw(labelGrease+entropy.Label("."+what), 1)
	return greaseValues[int(b[0])%len(greaseValues)]
}

// greaseData draws 0 to 15 random bytes of GREASE extension data.
func greaseData(env Env, what string) []byte {
	n := env.Entropy.Draw(labelGrease+entropy.Label("."+what+".len"), 1)[0] % 16
	return env.Entropy.Draw(labelGrease+entropy.Label("."+what+".data"), int(n))
}

// withGrease returns l with the GREASE value drawn for what appended,
// unless l already holds a GREASE value: a leaf re-signed in every commit
// keeps one GREASE value per list instead of collecting them.
func withGrease[T ~uint16](l []T, env Env, what string) []T {
	if slices.ContainsFunc(l, func(v T) bool { return IsGrease(uint16(v)) }) {
		return l
	}
	return append(slices.Clip(l), T(greasePick(env, what)))
}

// greaseLeaf adds GREASE values to a leaf node's capabilities (cipher
// suites, extensions, proposals, credentials) and one GREASE extension
// with empty data to its extensions, listed in its capabilities as
// Section 7.3's leaf validation requires; lists that already hold a GREASE
// value are kept. Without Policy.Grease it leaves ln unchanged. It must run
// before the leaf is signed. It covers every LeafNode this client creates:
// key packages, a new group's creator, external joiners, Update proposals
// and commit paths.
func greaseLeaf(ln *codec.LeafNode, env Env) {
	if !env.Policy.Grease {
		return
	}
	c := &ln.Capabilities
	c.CipherSuites = withGrease(c.CipherSuites, env, "cipher_suite")
	c.Proposals = withGrease(c.Proposals, env, "proposal")
	c.Credentials = withGrease(c.Credentials, env, "credential")
	if i := slices.IndexFunc(ln.Extensions, func(x codec.Extension) bool { return IsGrease(uint16(x.ExtensionType)) }); i >= 0 {
		// Already greased: make sure the capabilities list it.
		if t := ln.Extensions[i].ExtensionType; !slices.Contains(c.Extensions, t) {
			c.Extensions = append(slices.Clip(c.Extensions), t)
		}
		return
	}
	ext := codec.ExtensionType(greasePick(env, "extension"))
	if i := slices.IndexFunc(c.Extensions, func(t codec.ExtensionType) bool { return IsGrease(uint16(t)) }); i >= 0 {
		ext = c.Extensions[i]
	} else {
		c.Extensions = append(slices.Clip(c.Extensions), ext)
	}
	ln.Extensions = append(slices.Clip(ln.Extensions), codec.Extension{ExtensionType: ext, ExtensionData: []byte{}})
}

// greaseExtensions returns exts with one GREASE extension of random
// content added (KeyPackage and GroupInfo extensions), or exts itself
// without Policy.Grease.
func greaseExtensions(exts codec.Extensions, env Env, what string) codec.Extensions {
	if !env.Policy.Grease {
		return exts
	}
	if slices.ContainsFunc(exts, func(x codec.Extension) bool { return IsGrease(uint16(x.ExtensionType)) }) {
		return exts
	}
	t := codec.ExtensionType(greasePick(env, what))
	return append(slices.Clip(exts), codec.Extension{ExtensionType: t, ExtensionData: greaseData(env, what)})
}
