package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBenchScenarioFlags: the usage errors of mls bench -scenario, each one
// line and the short usage on standard error with exit status 2.
func TestBenchScenarioFlags(t *testing.T) {
	tests := []struct {
		args []string
		what string
	}{
		{[]string{"-scenario", "nope"}, `unknown scenario "nope"`},
		{[]string{"-scenario", ""}, `unknown scenario ""`},
		{[]string{"-scenario", "stable,stable"}, `"stable" given twice`},
		{[]string{"-scenario", "stable", "-members", "3"}, `"3" is not a power of two from 4 to 65536`},
		{[]string{"-scenario", "stable", "-members", "2"}, `"2" is not a power of two`},
		{[]string{"-scenario", "stable", "-members", "131072"}, `"131072" is not`},
		{[]string{"-scenario", "stable", "-members", "16,x"}, `"x" is not`},
		{[]string{"-scenario", "stable", "-members", "16,8"}, "sizes must increase"},
		{[]string{"-scenario", "stable", "-members", "16,16"}, "sizes must increase"},
		{[]string{"-scenario", "stable", "-budget", "0s"}, "-budget 0s"},
		{[]string{"-scenario", "stable", "-budget", "2h"}, "-budget 2h0m0s"},
		{[]string{"-scenario", "stable", "-budget", "soon"}, `invalid value "soon" for flag -budget`},
		{[]string{"-scenario", "stable", "-out", ""}, "-out: empty directory name"},
		{[]string{"-scenario", "stable", "-clock", "sundial"}, `-clock "sundial": want cpu or wall`},
		{[]string{"-clock", "wall"}, "-clock applies to -scenario only"},
		{[]string{"-scenario", "stable", "-suite", "99"}, "-suite 99"},
		{[]string{"-scenario", "stable", "-sizes", "16"}, "-sizes does not apply to -scenario"},
		{[]string{"-scenario", "stable", "-ops", "3"}, "-ops does not apply to -scenario"},
		{[]string{"-scenario", "stable", "-records", "3"}, "-records does not apply to -scenario"},
		{[]string{"-scenario", "stable", "extra"}, `unexpected argument "extra"`},
		{[]string{"-members", "16"}, "-members applies to -scenario only"},
		{[]string{"-budget", "1s"}, "-budget applies to -scenario only"},
		{[]string{"-out", "x"}, "-out applies to -scenario only"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, stderr, code := runCmd(append([]string{"bench"}, tt.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s%s", code, stdout, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if !strings.HasPrefix(lines[0], "mls bench: ") || !strings.Contains(lines[0], tt.what) {
				t.Errorf("first line %q, want it to say %q", lines[0], tt.what)
			}
			if len(lines) != 3 || !strings.HasPrefix(lines[1], "usage: mls bench") {
				t.Errorf("stderr is not one line and the short usage:\n%s", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout not empty:\n%s", stdout)
			}
		})
	}
	stdout, stderr, code := runCmd("bench", "-scenario", "stable", "-h")
	if code != 0 || !strings.Contains(stdout+stderr, "-scenario NAME") || !strings.Contains(stdout+stderr, "high-fluctuation") {
		t.Errorf("-h: exit %d\n%s%s", code, stdout, stderr)
	}
}

// scenarioOps are the figures each scenario reports at each size, in
// order.
func scenarioOps(name string) []string {
	ops := []string{"add (committer)", "add (member)", "join (joiner)", "remove (committer)", "remove (member)",
		"update (committer)", "update (member)", "message (sender)", "message (receiver)"}
	switch name {
	case "offline":
		return []string{"create (creator)", "catch-up (offline)", "catch-up-commits (offline)"}
	case "blank", "updated":
		return ops
	}
	return append([]string{"create (creator)"}, ops...)
}

// TestBenchScenarioRun runs every scenario at 4 and 8 members with a
// tiny budget and checks the table, bench.json and the charts.
func TestBenchScenarioRun(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := runCmd("bench", "-scenario", "all", "-members", "4,8", "-budget", "1ms", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	all := scenarios()
	for _, sc := range all {
		if !strings.Contains(stdout, "\n"+sc.name+": ") {
			t.Errorf("table lacks scenario %s", sc.name)
		}
		if !strings.Contains(stderr, sc.name+", N=8") {
			t.Errorf("progress lacks %s, N=8:\n%s", sc.name, stderr)
		}
	}
	if !strings.Contains(stderr, "left, estimated)") {
		t.Errorf("progress has no estimate:\n%s", stderr)
	}

	rep := readReport(t, filepath.Join(dir, "bench.json"))
	if _, cpu := processCPU(); rep.Clock != map[bool]string{true: "cpu", false: "wall"}[cpu] {
		t.Errorf("clock %q", rep.Clock)
	}
	if rep.Schema != scenarioSchema || rep.Suite != 1 || !rep.Complete || rep.BudgetNs != 1e6 || rep.MaxSamples != scenarioMaxSamples ||
		rep.Machine.NumCPU < 1 || rep.ElapsedNs <= 0 || rep.Started == "" {
		t.Errorf("report header %+v", rep)
	}
	if len(rep.Scenarios) != len(all) {
		t.Fatalf("%d scenarios, want %d", len(rep.Scenarios), len(all))
	}
	for i, sc := range rep.Scenarios {
		if sc.Name != all[i].name || sc.Description == "" {
			t.Errorf("scenario %d: %q %q", i, sc.Name, sc.Description)
		}
		if len(sc.Sizes) != 2 {
			t.Fatalf("%s: %d sizes", sc.Name, len(sc.Sizes))
		}
		for j, sz := range sc.Sizes {
			checkSize(t, sc.Name, []int{4, 8}[j], sz)
		}
		checkChart(t, filepath.Join(dir, "bench-"+sc.Name+".svg"), sc.Name, scenarioOps(sc.Name))
	}
}

func readReport(t *testing.T, path string) scenarioReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep scenarioReport
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("bench.json: %v", err)
	}
	return rep
}

func checkSize(t *testing.T, name string, n int, sz sizeResult) {
	t.Helper()
	leaves := uint32(n)
	if name == "blank" {
		leaves = uint32(2 * n)
	}
	if sz.Members != n || sz.Leaves != leaves || sz.Epoch < 1 || sz.BuildNs <= 0 {
		t.Errorf("%s N=%d: %d members, %d leaves (want %d), epoch %d, build %d ns", name, n, sz.Members, sz.Leaves, leaves, sz.Epoch, sz.BuildNs)
	}
	var labels []string
	for _, o := range sz.Ops {
		labels = append(labels, o.label())
		if o.Samples < 1 || o.Samples > scenarioMaxSamples || o.WallMedianNs <= 0 || !(0 <= o.MinNs && o.MinNs <= o.P10Ns && o.P10Ns <= o.MedianNs &&
			o.MedianNs <= o.P90Ns && o.P90Ns <= o.MaxNs) || o.AllocsPerOp <= 0 || o.BytesPerOp <= 0 {
			t.Errorf("%s N=%d %s: %+v", name, n, o.label(), o)
		}
		if o.Op != "create" && o.MessageBytes <= 0 {
			t.Errorf("%s N=%d %s: no message size", name, n, o.label())
		}
	}
	if want := scenarioOps(name); !slices.Equal(labels, want) {
		t.Errorf("%s N=%d: figures %v, want %v", name, n, labels, want)
	}
}

// checkChart parses an SVG chart and checks its title, axis labels, one
// line per operation and the legend.
func checkChart(t *testing.T, path, name string, ops []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	var stack []string
	var texts []string
	var series []string
	legend := 0
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed: %v", path, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
			class := attr(tok, "class")
			if tok.Name.Local == "path" && class == "series" {
				series = append(series, attr(tok, "data-label"))
				if !strings.HasPrefix(attr(tok, "d"), "M") || !strings.Contains(attr(tok, "d"), "L") {
					t.Errorf("%s: line %q has path %q", path, attr(tok, "data-label"), attr(tok, "d"))
				}
			}
			if tok.Name.Local == "g" && class == "entry" && slices.Contains(stack, "legend") {
				legend++
			}
			stack = append(stack, class)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if s := strings.TrimSpace(string(tok)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	if root != "svg" {
		t.Errorf("%s: root element %q", path, root)
	}
	if !slices.Equal(series, ops) {
		t.Errorf("%s: lines %v, want %v", path, series, ops)
	}
	if legend != len(ops) {
		t.Errorf("%s: %d legend entries, want %d", path, legend, len(ops))
	}
	joined := strings.Join(texts, "\n")
	for _, w := range append([]string{"mls bench — " + name, "group size N (members", "time per operation (", "10", "1 ms"}, ops...) {
		if !strings.Contains(joined, w) {
			t.Errorf("%s: no text %q", path, w)
		}
	}
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// TestBenchScenarioInterrupt: SIGINT stops the run; what finished is
// written (bench.json says it is incomplete) and the exit status is 130.
func TestBenchScenarioInterrupt(t *testing.T) {
	old := notifyInterrupt
	defer func() { notifyInterrupt = old }()
	c := make(chan os.Signal, 1)
	notifyInterrupt = func() (<-chan os.Signal, func()) { return c, func() {} }
	c <- os.Interrupt
	dir := t.TempDir()
	stdout, stderr, code := runCmd("bench", "-scenario", "updated", "-members", "4", "-budget", "1ms", "-out", dir)
	if code != 130 || !strings.Contains(stderr, "mls bench: interrupted; what finished is in "+filepath.Join(dir, "bench.json")) {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if rep := readReport(t, filepath.Join(dir, "bench.json")); rep.Complete {
		t.Errorf("interrupted run's report says complete")
	}
}

// TestChartLabels: the tick labels of the log axes.
func TestChartLabels(t *testing.T) {
	for e, want := range []string{"1 ns", "10 ns", "100 ns", "1 µs", "10 µs", "100 µs", "1 ms", "10 ms", "100 ms", "1 s", "10 s", "100 s"} {
		if got := durLabel(e); got != want {
			t.Errorf("durLabel(%d) = %q, want %q", e, got, want)
		}
	}
	for e, want := range []string{"1", "10", "100", "1k", "10k", "100k", "1M"} {
		if got := sizeLabel(e); got != want {
			t.Errorf("sizeLabel(%d) = %q, want %q", e, got, want)
		}
	}
}

// TestBenchScenarioJSON: with -json the report goes to standard output
// instead of the table, and is the one written to bench.json.
func TestBenchScenarioJSON(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := runCmd("bench", "-scenario", "updated", "-members", "4", "-budget", "1ms", "-json", "-clock", "wall", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "bench.json"))
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(b) {
		t.Errorf("standard output is not bench.json:\n%s", stdout)
	}
	rep := readReport(t, filepath.Join(dir, "bench.json"))
	if rep.Clock != "wall" || len(rep.Scenarios) != 1 || rep.Scenarios[0].Name != "updated" {
		t.Errorf("clock %q, scenarios %+v", rep.Clock, rep.Scenarios)
	}
	for _, o := range rep.Scenarios[0].Sizes[0].Ops {
		if o.MedianNs <= 0 {
			t.Errorf("%s: wall-clock median %v", o.label(), o.MedianNs)
		}
	}
}
