package replay_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain lowers rapid's default number of checks to 20, so that the
// default test run stays fast; -rapid.checks=N still chooses, e.g. for the
// nightly long run.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set {
		if err := flag.Set("rapid.checks", "20"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
