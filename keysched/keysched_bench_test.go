package keysched

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/treemath"
)

// BenchmarkKeySchedule derives one epoch: joiner, welcome and every epoch
// secret (suite 1).
func BenchmarkKeySchedule(b *testing.B) {
	f := newFixture(b, 1, 2)
	gc, _ := f.ctx.Encode()
	init := f.es.Next()
	commit := bytes.Repeat([]byte{9}, f.cs.HashLen())
	b.ReportAllocs()
	for b.Loop() {
		j, err := init.Joiner(commit, gc)
		if err != nil {
			b.Fatal(err)
		}
		m, _ := j.WithPSK(NoPSK)
		if _, err := m.Welcome(); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Epoch(gc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSecretTreeNext measures the next application key of one sender.
// op=next: the sender's ratchet already exists (steady state); op=first:
// the first key of a leaf in a fresh epoch, which walks the tree from the
// root (log N node derivations).
func BenchmarkSecretTreeNext(b *testing.B) {
	for _, n := range []treemath.LeafCount{16, 65536} {
		tree := testTree(b, n, DefaultRatchetConfig())
		// Populate the tree as in a busy group: half the leaves expanded.
		for leaf := treemath.LeafIndex(0); leaf < treemath.LeafIndex(n); leaf += 2 {
			_, tree, _ = tree.Next(leaf, Application)
		}
		b.Run(fmt.Sprintf("leaves=%d/op=next", n), func(b *testing.B) {
			st := tree
			b.ReportAllocs()
			for b.Loop() {
				var err error
				_, st, err = st.Next(0, Application)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("leaves=%d/op=first", n), func(b *testing.B) {
			fresh := testTree(b, n, DefaultRatchetConfig())
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := fresh.Next(treemath.LeafIndex(n-1), Application); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchPrivate(b *testing.B, size int) (fixture, SecretTree, codec.AuthenticatedContent) {
	f := newFixture(b, 1, 2)
	st := f.tree(b, 2)
	ac := f.signed(b, codec.WireFormatPrivateMessage, f.content(codec.ContentTypeApplication, bytes.Repeat([]byte{'x'}, size)))
	return f, st, ac
}

var benchSizes = []struct {
	name string
	n    int
}{{"100B", 100}, {"10KiB", 10 << 10}}

// BenchmarkProtectPrivate signs and encrypts an application message (suite
// 1), as a sender does per message.
func BenchmarkProtectPrivate(b *testing.B) {
	for _, s := range benchSizes {
		b.Run("bytes="+s.name, func(b *testing.B) {
			f, st, ac := benchPrivate(b, s.n)
			sds := f.es.SenderDataSecret()
			b.ReportAllocs()
			b.SetBytes(int64(s.n))
			for b.Loop() {
				signed, err := SignContent(f.signer, codec.WireFormatPrivateMessage, ac.Content, f.ctx)
				if err != nil {
					b.Fatal(err)
				}
				_, st, _, err = ProtectPrivate(f.cs, st, sds, signed, PrivateParams{})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnprotectPrivate decrypts and verifies an application message
// (suite 1) from a fixed tree, so each iteration does the same work.
func BenchmarkUnprotectPrivate(b *testing.B) {
	for _, s := range benchSizes {
		b.Run("bytes="+s.name, func(b *testing.B) {
			f, st, ac := benchPrivate(b, s.n)
			sds := f.es.SenderDataSecret()
			pm, _, _, err := ProtectPrivate(f.cs, st, sds, ac, PrivateParams{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(s.n))
			for b.Loop() {
				if _, _, _, err := UnprotectPrivate(f.cs, st, sds, pm, f.ctx, f.senderKey, codec.Bounds{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
