package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlscore/mlscore/suite"
)

// scenarioOptions are the flags of mls bench -scenario.
type scenarioOptions struct {
	scenarios []scenario
	sizes     []int
	out       string
	budget    time.Duration
	clock     string // "cpu" or "wall"
	json      bool
}

// runBenchScenarioFlags checks the flags of mls bench -scenario and runs
// it.
func runBenchScenarioFlags(set map[string]bool, scenarioFlag, membersFlag string, suiteID uint, budget time.Duration, out, clock string,
	asJSON bool, pos []string, stdout, stderr io.Writer) int {
	var err error
	for _, f := range []string{"sizes", "ops", "records"} {
		if set[f] && err == nil {
			err = fmt.Errorf("-%s does not apply to -scenario (use -members and -budget)", f)
		}
	}
	opt := scenarioOptions{out: out, budget: budget, clock: clock, json: asJSON}
	if clock != "cpu" && clock != "wall" {
		err = fmt.Errorf("-clock %q: want cpu or wall", clock)
	}
	if err == nil {
		opt.scenarios, err = parseScenarios(scenarioFlag)
	}
	if err == nil {
		opt.sizes, err = parseMembers(membersFlag)
	}
	if err == nil && (budget <= 0 || budget > time.Hour) {
		err = fmt.Errorf("-budget %s: want more than 0 and at most 1h", budget)
	}
	if err == nil && out == "" {
		err = errors.New("-out: empty directory name")
	}
	var cs *suite.Suite
	if err == nil {
		if suiteID > 0xffff {
			err = fmt.Errorf("-suite %d: no such cipher suite", suiteID)
		} else if cs, err = suite.Lookup(suite.ID(suiteID)); err != nil {
			err = fmt.Errorf("-suite %d: %w", suiteID, err)
		}
	}
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err != nil {
		return usageError(stderr, "bench", err.Error())
	}
	return runScenarioBench(cs, opt, stdout, stderr)
}

// scenarioList describes the scenarios for the usage text.
func scenarioList() string {
	var b strings.Builder
	for _, sc := range scenarios() {
		line := "  " + sc.name + strings.Repeat(" ", max(1, 18-len(sc.name)))
		for _, w := range strings.Fields(sc.about) {
			if len(line)+1+len(w) > 78 {
				b.WriteString(strings.TrimRight(line, " ") + "\n")
				line = strings.Repeat(" ", 20)
			} else if !strings.HasSuffix(line, " ") {
				line += " "
			}
			line += w
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// scenarioMaxSamples bounds the samples of one figure.
const scenarioMaxSamples = 200

// runScenarioBench runs mls bench -scenario: the scenarios at every size,
// then the table (or JSON) on stdout and bench.json and a chart per
// scenario in the output directory.
func runScenarioBench(cs *suite.Suite, opt scenarioOptions, stdout, stderr io.Writer) int {
	if err := os.MkdirAll(opt.out, 0o755); err != nil {
		fmt.Fprintf(stderr, "mls bench: %v\n", err)
		return 1
	}
	started := time.Now()
	rep := scenarioReport{Schema: scenarioSchema, Suite: cs.ID(), SuiteName: cs.ID().String(), BudgetNs: opt.budget.Nanoseconds(),
		MaxSamples: scenarioMaxSamples, Machine: machine(), LoadBefore: loadAverage(), Started: started.UTC().Format(time.RFC3339)}
	intr, stopIntr := notifyInterrupt()
	defer stopIntr()
	_, cpu := processCPU()
	cpu = cpu && opt.clock == "cpu"
	rep.Clock = map[bool]string{true: "cpu", false: "wall"}[cpu]
	r := &scenarioRunner{cs: cs, m: &meter{budget: opt.budget, maxSamples: scenarioMaxSamples, cpu: cpu, intr: intr}, progress: stderr,
		took: map[int][]took{}}
	err := r.run(opt.scenarios, opt.sizes, &rep)
	status := 0
	switch {
	case errors.Is(err, errInterrupted):
		// What finished is complete: write it, then say the run stopped.
		status = 130
	case err != nil:
		fmt.Fprintf(stderr, "mls bench: %v\n", err)
		status = 1
	default:
		rep.Complete = true
	}
	rep.ElapsedNs, rep.LoadAfter = time.Since(started).Nanoseconds(), loadAverage()
	files, werr := writeScenarioFiles(opt.out, rep)
	if werr != nil {
		fmt.Fprintf(stderr, "mls bench: %v\n", werr)
		return 1
	}
	if opt.json {
		out, _ := json.MarshalIndent(rep, "", "  ")
		stdout.Write(append(out, '\n'))
	} else {
		printScenarios(stdout, rep)
	}
	if status == 130 {
		fmt.Fprintf(stderr, "mls bench: interrupted; what finished is in %s\n", strings.Join(files, ", "))
	} else {
		fmt.Fprintf(stderr, "mls bench: wrote %s in %s\n", strings.Join(files, ", "), time.Since(started).Round(time.Second))
	}
	return status
}

// loadAverage returns the first three fields of /proc/loadavg, or "" where
// there is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// writeScenarioFiles writes bench.json and bench-SCENARIO.svg for every
// scenario with figures, and returns their paths.
func writeScenarioFiles(dir string, rep scenarioReport) ([]string, error) {
	out, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "bench.json")
	if err := os.WriteFile(p, append(out, '\n'), 0o644); err != nil {
		return nil, err
	}
	files := []string{p}
	for _, sc := range rep.Scenarios {
		if len(chartSeries(sc)) == 0 {
			continue
		}
		p := filepath.Join(dir, "bench-"+sc.Name+".svg")
		if err := os.WriteFile(p, scenarioChart(rep, sc), 0o644); err != nil {
			return nil, err
		}
		files = append(files, p)
	}
	return files, nil
}

// printScenarios prints the table of mls bench -scenario.
func printScenarios(w io.Writer, rep scenarioReport) {
	m := rep.Machine
	fmt.Fprintf(w, "mls bench: the OpenMLS book's scenarios, cipher suite %d (%s)\n", rep.Suite, rep.SuiteName)
	fmt.Fprintf(w, "machine:   %s/%s, %d CPUs (GOMAXPROCS %d), %s; load %s at the start, %s at the end\n", m.GOOS, m.GOARCH,
		m.NumCPU, m.GOMAXPROCS, m.Go, orDash(rep.LoadBefore), orDash(rep.LoadAfter))
	clock := "process CPU time (user + system)"
	if rep.Clock == "wall" {
		clock = "wall-clock time"
	}
	fmt.Fprintf(w, "times:     %s; up to %d samples per figure within %s; spread is p10–p90 from 10 samples, else min–max\n",
		clock, rep.MaxSamples, time.Duration(rep.BudgetNs))
	for _, sc := range rep.Scenarios {
		if len(sc.Sizes) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s: %s\n", sc.Name, sc.Description)
		fmt.Fprintf(w, "%7s %-28s %7s %10s %23s %10s %12s %10s\n", "N", "operation", "samples", "median", "spread", "allocs/op", "B/op", "msg bytes")
		for _, sz := range sc.Sizes {
			for _, o := range sz.Ops {
				lo, hi := o.MinNs, o.MaxNs
				if o.Samples >= 10 {
					lo, hi = o.P10Ns, o.P90Ns
				}
				msg := "-"
				if o.MessageBytes > 0 {
					msg = fmt.Sprint(o.MessageBytes)
				}
				fmt.Fprintf(w, "%7d %-28s %7d %10s %23s %10.0f %12.0f %10s\n", sz.Members, o.label(), o.Samples, durString(o.MedianNs),
					durString(lo)+" – "+durString(hi), o.AllocsPerOp, o.BytesPerOp, msg)
			}
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
