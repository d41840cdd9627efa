package pds

import (
	"fmt"
	"sync"
	"testing"
)

var benchMap = sync.OnceValue(func() Map[int] {
	var m Map[int]
	for i := range uint32(65536) {
		m = m.Set(i, int(i))
	}
	return m
})

func BenchmarkMapSet(b *testing.B) {
	for _, n := range []int{65536} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			m := benchMap()
			b.ReportAllocs()
			k := uint32(0)
			for b.Loop() {
				_ = m.Set(k%65536, 1)
				k += 7919
			}
		})
	}
}

func BenchmarkMapGet(b *testing.B) {
	b.Run("entries=65536", func(b *testing.B) {
		m := benchMap()
		b.ReportAllocs()
		k := uint32(0)
		for b.Loop() {
			if _, ok := m.Get(k % 65536); !ok {
				b.Fatal("missing key")
			}
			k += 7919
		}
	})
}

func BenchmarkMapDelete(b *testing.B) {
	b.Run("entries=65536", func(b *testing.B) {
		m := benchMap()
		b.ReportAllocs()
		k := uint32(0)
		for b.Loop() {
			_ = m.Delete(k % 65536)
			k += 7919
		}
	})
}
