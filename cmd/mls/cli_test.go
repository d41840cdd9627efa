package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrors checks that every usage error prints, on standard error,
// one line saying what is wrong and then the command's short usage, and
// exits 2; and that -h exits 0.
func TestUsageErrors(t *testing.T) {
	// An empty FILE: a bad -type is reported before the input is read.
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		what string // in the first line of stderr
	}{
		{[]string{}, "no command given"},
		{[]string{"frob"}, `unknown command "frob"`},
		{[]string{"demo", "-members", "0"}, "-members 0: want at least 1"},
		{[]string{"demo", "-members", "-3"}, "-members -3"},
		{[]string{"demo", "-ops", "-1"}, "-ops -1"},
		{[]string{"demo", "-suite", "0"}, "-suite 0"},
		{[]string{"demo", "-suite", "9"}, "-suite 9"},
		{[]string{"demo", "-suite", "70000"}, "-suite 70000"},
		{[]string{"demo", "-fault", "meteor"}, `-fault "meteor"`},
		{[]string{"demo", "extra"}, `unexpected argument "extra"`},
		{[]string{"demo", "-nosuchflag"}, "flag provided but not defined: -nosuchflag"},
		{[]string{"demo", "-members", "many"}, `invalid value "many" for flag -members`},
		{[]string{"replay"}, "one LOG expected, got 0 arguments"},
		{[]string{"replay", "a", "b"}, "one LOG expected, got 2 arguments"},
		{[]string{"replay", "-at", "-5", "a"}, "-at -5"},
		{[]string{"inspect", "a", "b"}, "one FILE expected, got 2 arguments"},
		{[]string{"inspect", "-in", "rot13", "-"}, "-in"},
		{[]string{"bench", "-suite", "0"}, "-suite 0"},
		{[]string{"bench", "-ops", "0"}, "-ops 0"},
		{[]string{"bench", "-sizes", "3"}, "3"},
		{[]string{"vectors", "-x"}, "flag provided but not defined: -x"},
		{[]string{"version", "now"}, `unexpected argument "now"`},
		{[]string{"help", "frob"}, `unknown command "frob"`},
		{[]string{"vectors", "export", "-o"}, "flag needs an argument: -o"},
		{[]string{"inspect", "-type", "nosuch", emptyFile}, `-type "nosuch": no such type`},
		{[]string{"demo", "-members", "65537"}, "-members 65537: want at most 65536"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, stderr, code := runCmd(tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if !strings.HasPrefix(lines[0], "mls") || !strings.Contains(lines[0], tt.what) {
				t.Errorf("first line of stderr %q, want it to say %q", lines[0], tt.what)
			}
			if len(lines) < 2 || len(lines) > 3 || !strings.HasPrefix(lines[1], "usage: mls") {
				t.Errorf("stderr is not one line and the short usage:\n%s", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout not empty:\n%s", stdout)
			}
		})
	}
}

// TestHelpFlag checks that -h, for the tool and each command, prints the
// usage and exits 0.
func TestHelpFlag(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"demo", "-h"}, {"replay", "-h"}, {"inspect", "-h"}, {"bench", "-h"},
		{"vectors", "-h"}, {"diff", "-h"}, {"version", "-h"}, {"help", "demo"}, {"demo", "-help"}} {
		stdout, stderr, code := runCmd(args...)
		if code != 0 || !strings.Contains(stdout+stderr, "usage") && !strings.Contains(stdout+stderr, "Usage") {
			t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
	}
}

// TestVersionCommand checks mls version's first line.
func TestVersionCommand(t *testing.T) {
	stdout, stderr, code := runCmd("version")
	if code != 0 || !strings.HasPrefix(stdout, "mls v0.") || !strings.Contains(stdout, "event log format") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestDemoInterrupt delivers an interrupt while the demo runs: it stops
// after the operation in progress, writes the logs so far, says so, and
// exits 130.
func TestDemoInterrupt(t *testing.T) {
	old := notifyInterrupt
	defer func() { notifyInterrupt = old }()
	c := make(chan os.Signal, 1)
	notifyInterrupt = func() (<-chan os.Signal, func()) { return c, func() {} }
	dir := t.TempDir()
	// The demo looks for an interrupt after each operation: the first
	// look is after the first batch of 8 members has joined.
	c <- os.Interrupt
	stdout, stderr, code := runCmd("demo", "-members", "12", "-ops", "5", "-out", dir)
	if code != 130 {
		t.Fatalf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "mls demo: interrupted after 8 of 17 operations; the logs so far are written to "+dir) {
		t.Errorf("stderr:\n%s", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout not empty:\n%s", stdout)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.mlslog"))
	if len(logs) == 0 {
		t.Errorf("no logs written")
	}
}

// TestBenchInterrupt delivers an interrupt before the first figure: bench
// prints what it has (nothing measured yet), says it was interrupted, and
// exits 130 without measuring anything.
func TestBenchInterrupt(t *testing.T) {
	old := notifyInterrupt
	defer func() { notifyInterrupt = old }()
	c := make(chan os.Signal, 1)
	notifyInterrupt = func() (<-chan os.Signal, func()) { return c, func() {} }
	c <- os.Interrupt
	stdout, stderr, code := runCmd("bench", "-sizes", "16", "-ops", "1", "-records", "1", "-json")
	if code != 130 {
		t.Fatalf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "mls bench: interrupted after 0 figures") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if !strings.Contains(stdout, `"Figures": null`) && !strings.Contains(stdout, `"figures": null`) {
		t.Errorf("stdout should hold a report with no figures:\n%s", stdout)
	}
}
