package codec

import (
	"testing"
)

// benchWelcome returns the largest Welcome of messages.json, or a built one
// when the vectors are missing.
func benchWelcome(b *testing.B) []byte {
	b.Helper()
	cases, err := messagesVectors()
	if err != nil {
		b.Fatal(err)
	}
	var best []byte
	for _, c := range cases {
		if w := c["mls_welcome"][4:]; len(w) > len(best) {
			best = w
		}
	}
	if best == nil {
		w := smallWelcome()
		for range 8 {
			w.Secrets = append(w.Secrets, w.Secrets[0])
		}
		best = mustEncode(b, w)
	}
	return best
}

func BenchmarkDecodeWelcome(b *testing.B) {
	data := benchWelcome(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeWelcome(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeWelcome(b *testing.B) {
	w, err := DecodeWelcome(benchWelcome(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}
