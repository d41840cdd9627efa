// Package testrun sizes the module's test runs: the default go test ./...
// runs a small number of rapid checks per property and the tests' default
// sizes, so that it stays within its CPU budget (README, "Test it"); the
// environment asks for the long runs.
//
//   - MLS_PROPS_LONG=1 runs 1000 rapid checks per property, MLS_PROPS_LONG=N
//     runs N (N > 1), and -rapid.checks, when given, wins over both.
//   - MLS_LONG=1 runs the tests' full sizes (every prefix of every encoding,
//     N = 65536).
//
// Each test package that has rapid properties calls Main from its TestMain.
package testrun

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// Main sets rapid's number of checks per property, unless -rapid.checks
// was given, to defaultChecks or to what MLS_PROPS_LONG asks for, then runs
// the tests and exits with their status.
func Main(m *testing.M, defaultChecks int) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set {
		if err := flag.Set("rapid.checks", strconv.Itoa(Checks(defaultChecks))); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// Checks returns the number of checks per property: defaultChecks, or 1000
// when MLS_PROPS_LONG is set (its value when that is a number above 1).
func Checks(defaultChecks int) int {
	if !PropsLong() {
		return defaultChecks
	}
	if n, err := strconv.Atoi(os.Getenv("MLS_PROPS_LONG")); err == nil && n > 1 {
		return n
	}
	return 1000
}

// PropsLong reports whether MLS_PROPS_LONG asks for the long property run.
func PropsLong() bool { return set("MLS_PROPS_LONG") }

// Long reports whether MLS_LONG asks for the tests' full sizes instead of
// the default subset.
func Long() bool { return set("MLS_LONG") }

func set(name string) bool {
	v := os.Getenv(name)
	return v != "" && v != "0"
}

// Allocated returns the bytes f allocates, as runtime.MemStats.TotalAlloc
// counts them (what other goroutines allocate meanwhile included, so
// budgets leave some slack).
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
