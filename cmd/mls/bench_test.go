package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

// benchNames are the figures mls bench prints for sizes, in order.
func benchNames(sizes ...int) []string {
	names := []string{"Sign", "Verify", "HPKESeal", "HPKEOpen", "AEADSeal 100B", "AEADOpen 100B", "DeriveKeyPair"}
	for range sizes {
		names = append(names, "CommitCreate", "CommitProcess")
	}
	return append(names, "Protect 100B", "Unprotect 100B", "Replay")
}

// TestBenchFlags runs mls bench on tiny groups and a short log: the flags,
// the exit codes, the table's rows and the JSON's shape.
func TestBenchFlags(t *testing.T) {
	fast := []string{"-ops", "2", "-records", "20"}
	tests := []struct {
		name    string
		args    []string
		code    int
		want    []string // in standard output (table) or standard error
		json    bool
		sizes   []int
		suiteID int
	}{
		{name: "table", args: append([]string{"-sizes", "2,4"}, fast...), want: []string{
			"mls bench: cipher suite 1 (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519), 2 operations per figure",
			"machine:   " + runtime.GOOS + "/" + runtime.GOARCH, runtime.Version(),
			"synthetic full groups of 2, 4 members",
			"floor F", "ratio", "(primitive)", "d=1", "d=2", "Sign + 2·AEADSeal", "Apply of the 20 events",
		}, sizes: []int{2, 4}, suiteID: 1},
		{name: "json", args: append([]string{"-sizes", "4", "-json"}, fast...), json: true, sizes: []int{4}, suiteID: 1},
		{name: "suite 3 after flags", args: append([]string{"-suite", "3", "-sizes", "2", "-json"}, fast...), json: true, sizes: []int{2}, suiteID: 3},
		{name: "size not a power of two", args: []string{"-sizes", "3"}, code: 2, want: []string{"not a power of two"}},
		{name: "size too large", args: []string{"-sizes", "131072"}, code: 2, want: []string{"not a power of two from 2 to 65536"}},
		{name: "size not a number", args: []string{"-sizes", "16,x"}, code: 2, want: []string{`"x" is not`}},
		{name: "no ops", args: []string{"-ops", "0"}, code: 2, want: []string{"-ops 0"}},
		{name: "no records", args: []string{"-records", "0"}, code: 2, want: []string{"-records 0"}},
		{name: "unknown suite", args: []string{"-suite", "99"}, code: 2, want: []string{"-suite 99"}},
		{name: "argument", args: []string{"extra"}, code: 2, want: []string{"usage: mls bench"}},
		{name: "unknown flag", args: []string{"-frobnicate"}, code: 2, want: []string{"flag provided but not defined"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCmd(append([]string{"bench"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			text := out
			if tt.code != 0 {
				text = errOut
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			if tt.code != 0 {
				return
			}
			names := benchNames(tt.sizes...)
			if !tt.json {
				// One row per figure, in order, each with a time.
				var rows []string
				for _, l := range strings.Split(out, "\n") {
					for _, n := range names {
						if strings.HasPrefix(l, n+" ") {
							rows = append(rows, n)
							if !strings.Contains(l, "s ") {
								t.Errorf("row without a time: %q", l)
							}
							break
						}
					}
				}
				if strings.Join(rows, ",") != strings.Join(names, ",") {
					t.Errorf("rows %v, want %v", rows, names)
				}
				return
			}
			var rep benchReport
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&rep); err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			if int(rep.Suite) != tt.suiteID || rep.Ops != 2 || rep.Records != 20 || rep.Machine.NumCPU != runtime.NumCPU() ||
				rep.Machine.GOARCH != runtime.GOARCH || rep.Machine.Go != runtime.Version() {
				t.Errorf("report header %+v", rep)
			}
			if len(rep.Figures) != len(names) {
				t.Fatalf("%d figures, want %d", len(rep.Figures), len(names))
			}
			for i, f := range rep.Figures {
				if f.Name != names[i] || f.NsPerOp <= 0 || f.Ops < 1 {
					t.Errorf("figure %d: %+v, want %s", i, f, names[i])
				}
				primitive := i < 7
				if primitive != (f.FloorNs == 0) || !primitive && (f.Ratio <= 0 || f.Floor == "") {
					t.Errorf("figure %s: floor %v ratio %v (%q)", f.Name, f.FloorNs, f.Ratio, f.Floor)
				}
				if f.Name == "Replay" && f.N != 20 {
					t.Errorf("Replay of %d records, want 20", f.N)
				}
			}
		})
	}
}

// TestHelpListsBench: mls help lists bench, and mls help bench prints its
// usage.
func TestHelpListsBench(t *testing.T) {
	out, _, code := runCmd("help")
	if code != 0 || !strings.Contains(out, "\tbench ") {
		t.Errorf("mls help (exit %d) does not list bench:\n%s", code, out)
	}
	out, _, code = runCmd("help", "bench")
	if code != 0 || !strings.Contains(out, "usage: mls bench [-suite S] [-sizes 16,256,4096] [-ops K]") || !strings.Contains(out, "-records") {
		t.Errorf("mls help bench (exit %d):\n%s", code, out)
	}
}
