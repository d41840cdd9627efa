package keysched

import (
	"flag"
	"os"
	"strconv"
	"testing"
)

// TestMain sets rapid's number of checks per property when -rapid.checks
// is not given: 20 by default, so that go test ./... stays fast, and
// MLS_PROPS_LONG checks in the long run (1000 for MLS_PROPS_LONG=1).
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set {
		checks := 20
		if v := os.Getenv("MLS_PROPS_LONG"); v != "" && v != "0" {
			checks = 1000
			if n, err := strconv.Atoi(v); err == nil && n > 1 {
				checks = n
			}
		}
		if err := flag.Set("rapid.checks", strconv.Itoa(checks)); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
