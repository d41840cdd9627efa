// Command mutatecheck checks that the properties of the validation rules,
// and the tests of the security checks outside the catalog, can fail.
//
// For every rule of valsem.Catalog it finds each enforcement site — the if
// statement (or switch case) whose body builds the rule's error with
// valsem.Errorf or valsem.Wrap — and, one site at a time, disables it (the
// condition becomes false) and runs the rule's property,
// props.TestValSemNNN, with a bounded number of checks. A mutant the
// property does not kill means a hollow property or a redundant check. The
// security checks of the extras list (sites.go) are disabled the same way
// and run against their tests.
//
// The tree is never written: every mutant is compiled in at once through a
// go build overlay (each condition becomes "mutatecheckActive != N &&
// (condition)", the variable read from $MLS_MUTANT), the test binaries are
// built once, and each mutant is a run of them with its number set.
//
// Usage:
//
//	go run ./internal/mutatecheck [-sample K -seed S] [-rules ValSem205,...] [-checks N] [-list] [-write valsem/testdata/mutation.txt]
//
// It prints a Markdown table (site, rule or check, file:line, killed or
// survived, by which tests) and exits 1 when a mutant survives that the
// committed table (valsem/testdata/mutation.txt) does not record as a
// known survivor with a reason, or when a test fails with no mutant on.
// -write writes the table of a full run, keeping the reasons of known
// survivors; go generate ./valsem includes it in docs/validation.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mlscore/mlscore/valsem"
)

func main() {
	var (
		root     = flag.String("root", ".", "module root")
		sample   = flag.Int("sample", 0, "check only this many sites, drawn with -seed (0: all)")
		seed     = flag.Uint64("seed", 0, "seed of -sample (0: from the clock, printed)")
		only     = flag.String("rules", "", "comma-separated rules (ValSemNNN), check names or site IDs to restrict to; \"extras\": the checks outside the catalog")
		checks   = flag.Int("checks", 30, "rapid checks per property run")
		timeout  = flag.Duration("timeout", 5*time.Minute, "go test timeout per mutant")
		list     = flag.Bool("list", false, "list the sites and exit")
		write    = flag.String("write", "", "write the table to this file (a full run; partial if -deadline stops it)")
		known    = flag.String("known", "valsem/testdata/mutation.txt", "committed table with the known survivors and their reasons")
		deadline = flag.String("deadline", "", "stop starting mutants after this RFC 3339 time; the table is marked partial")
	)
	var extra []testRef
	flag.Func("also", "PKG=REGEXP (repeatable): run these tests too against every selected site, to find what kills a survivor", func(v string) error {
		pkg, re, ok := strings.Cut(v, "=")
		if !ok {
			return errors.New("want PKG=REGEXP")
		}
		extra = append(extra, testRef{Pkg: pkg, Names: []string{re}})
		return nil
	})
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: mutatecheck [-sample K -seed S] [-rules LIST] [-checks N] [-list] [-write FILE]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "mutatecheck: unexpected argument %q\n", flag.Arg(0))
		flag.Usage()
		os.Exit(2)
	}
	if len(extra) > 0 && *write != "" {
		fmt.Fprintln(os.Stderr, "mutatecheck: -also does not go with -write")
		os.Exit(2)
	}
	if err := run(*root, *sample, *seed, *only, *checks, *timeout, *list, *write, *known, *deadline, extra, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mutatecheck:", err)
		os.Exit(1)
	}
}

// result is the outcome of one site's mutant.
type result struct {
	s       *site
	killed  bool
	by      []string // tests that failed
	errText string   // the mutant did not build, or the run failed otherwise
	reason  string   // known survivor's reason, from the committed table
}

func run(root string, sample int, seed uint64, only string, checks int, timeout time.Duration, list bool, write, knownPath, deadline string, extra []testRef, out io.Writer) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	rules := map[string]string{}
	for _, r := range valsem.Catalog() {
		rules[r.Code.String()] = r.Property
	}
	sites, unguarded, err := findSites(root, rules)
	if err != nil {
		return err
	}
	for _, u := range unguarded {
		fmt.Fprintln(os.Stderr, "mutatecheck: rule error outside any if or case (not mutated):", u)
	}
	if only != "" {
		want := strings.Split(only, ",")
		sites = slices.DeleteFunc(sites, func(s *site) bool {
			for _, w := range want {
				w = strings.TrimSpace(w)
				if slices.Contains(s.Rules, w) || s.Check == w || s.ID == w || (w == "extras" && s.Check != "") {
					return false
				}
			}
			return true
		})
	}
	for _, s := range sites {
		s.Tests = append(s.Tests, extra...)
	}
	full := sample == 0 && only == ""
	if sample > 0 && sample < len(sites) {
		if seed == 0 {
			seed = uint64(time.Now().UnixNano())
		}
		fmt.Fprintf(out, "sample of %d of %d sites, -seed %d\n\n", sample, len(sites), seed)
		r := rand.New(rand.NewPCG(seed, 0x6d75746174650000))
		r.Shuffle(len(sites), func(i, j int) { sites[i], sites[j] = sites[j], sites[i] })
		sites = sites[:sample]
		slices.SortStableFunc(sites, func(a, b *site) int { return strings.Compare(a.ID, b.ID) })
	}
	if list {
		for _, s := range sites {
			fmt.Fprintf(out, "%s:%d\t%s\t%s\t%s\n", s.File, s.Line, s.ID, s.label(), testNames(s.Tests))
		}
		return nil
	}
	if write != "" && !full {
		return errors.New("-write needs a full run (no -sample, no -rules)")
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	var stop time.Time
	if deadline != "" {
		if stop, err = time.Parse(time.RFC3339, deadline); err != nil {
			return fmt.Errorf("-deadline: %w", err)
		}
	}
	knownRows, err := readKnown(filepath.Join(root, knownPath))
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "mutatecheck")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	r := &runner{ctx: ctx, root: root, tmp: tmp, checks: checks, timeout: timeout}
	fmt.Fprintf(os.Stderr, "mutatecheck: building the test binaries with %d mutants\n", len(sites))
	if err := r.build(sites); err != nil {
		return err
	}

	// Baseline: every test the chosen sites name passes with no mutant on.
	fmt.Fprintln(os.Stderr, "mutatecheck: baseline run of the tests, no mutant on")
	if failed, text := r.runTests(mergeRefs(sites), 0); len(failed) > 0 || text != "" {
		return fmt.Errorf("the tests fail without any mutation: %v %s", failed, text)
	}
	// One site of each rule and check first, so that a run stopped at
	// its deadline has covered as many rules as it could.
	order := slices.Clone(sites)
	firstOf := map[string]bool{}
	var first, rest []*site
	for _, s := range order {
		if !firstOf[s.label()] {
			firstOf[s.label()] = true
			first = append(first, s)
		} else {
			rest = append(rest, s)
		}
	}
	order = append(first, rest...)
	var results []result
	partial := false
	for i, s := range order {
		if ctx.Err() != nil || (!stop.IsZero() && time.Now().After(stop)) {
			partial = true
			break
		}
		start := time.Now()
		res := r.mutant(s)
		if k, ok := knownRows[s.ID+" "+s.label()]; ok && !res.killed {
			res.reason = k
		}
		verdict := "killed"
		if !res.killed {
			verdict = "SURVIVED"
		}
		fmt.Fprintf(os.Stderr, "mutatecheck: [%d/%d] %s %s: %s %v %s (%s)\n", i+1, len(sites), s.ID, s.label(), verdict, res.by,
			res.errText, time.Since(start).Round(time.Second))
		if ctx.Err() != nil {
			partial = true
			break
		}
		results = append(results, res)
		if write != "" && i+1 < len(order) {
			// The table so far, marked partial, in case the run is stopped.
			if err := os.WriteFile(write, []byte(render(sortResults(results), false, true, checks, unguarded)), 0o644); err != nil {
				return err
			}
		}
	}
	results = sortResults(results)
	table := render(results, full && !partial, partial, checks, unguarded)
	fmt.Fprint(out, table)
	if write != "" {
		if err := os.WriteFile(write, []byte(table), 0o644); err != nil {
			return err
		}
	}
	var bad []string
	for _, res := range results {
		if res.errText != "" {
			bad = append(bad, res.s.ID+": "+res.errText)
		} else if !res.killed && res.reason == "" {
			bad = append(bad, res.s.ID+" ("+res.s.label()+") survived")
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d unexpected result(s):\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
	return nil
}

type runner struct {
	ctx       context.Context // interrupted: stop
	root, tmp string
	checks    int
	timeout   time.Duration
	bins      map[string]string // test package -> its test binary, built with every mutant
	ids       map[*site]int     // the number that switches a site's mutant on
}

// schemaVar is the package-level variable that the overlay adds to every
// package holding a site: the number of the mutant switched on, read from
// $MLS_MUTANT (0: none).
const schemaVar = "mutatecheckActive"

// build writes the overlay that holds every mutant of sites at once, each
// switched on at run time by its number (its condition becomes
// "mutatecheckActive != N && (condition)"), and builds the test binary of
// every package the sites' tests are in. Building once instead of once per
// mutant is what makes the full run affordable.
func (r *runner) build(sites []*site) error {
	r.ids = map[*site]int{}
	byFile := map[string][]*site{}
	var files []string
	for i, s := range sites {
		r.ids[s] = i + 1
		if byFile[s.File] == nil {
			files = append(files, s.File)
		}
		byFile[s.File] = append(byFile[s.File], s)
	}
	replace := map[string]string{}
	dirs := map[string]string{} // package dir -> package name
	for i, f := range files {
		src, err := os.ReadFile(filepath.Join(r.root, f))
		if err != nil {
			return err
		}
		var es []edit
		for _, s := range byFile[f] {
			es = append(es, withGuard(s.edits, fmt.Sprintf("%s != %d", schemaVar, r.ids[s]))...)
		}
		mut := filepath.Join(r.tmp, fmt.Sprintf("f%d_%s", i, filepath.Base(f)))
		if err := os.WriteFile(mut, mutate(src, es), 0o644); err != nil {
			return err
		}
		replace[filepath.Join(r.root, f)] = mut
		pf, err := parser.ParseFile(token.NewFileSet(), f, src, parser.PackageClauseOnly)
		if err != nil {
			return err
		}
		dirs[filepath.Dir(f)] = pf.Name.Name
	}
	for dir, name := range dirs {
		zz := filepath.Join(r.tmp, "zz_"+strings.ReplaceAll(dir, "/", "_")+".go")
		src := fmt.Sprintf("package %s\n\nimport (\n\t\"os\"\n\t\"strconv\"\n)\n\nvar %s, _ = strconv.Atoi(os.Getenv(\"MLS_MUTANT\"))\n", name, schemaVar)
		if err := os.WriteFile(zz, []byte(src), 0o644); err != nil {
			return err
		}
		replace[filepath.Join(r.root, dir, "zz_mutatecheck.go")] = zz
	}
	ov, err := json.Marshal(map[string]map[string]string{"Replace": replace})
	if err != nil {
		return err
	}
	ovPath := filepath.Join(r.tmp, "overlay.json")
	if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
		return err
	}
	r.bins = map[string]string{}
	for _, ref := range mergeRefs(sites) {
		bin := filepath.Join(r.tmp, strings.ReplaceAll(strings.TrimPrefix(ref.Pkg, "./"), "/", "_")+".test")
		cmd := exec.CommandContext(r.ctx, "go", "test", "-c", "-vet=off", "-overlay", ovPath, "-o", bin, ref.Pkg)
		cmd.Dir = r.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building the mutants of %s: %v\n%s", ref.Pkg, err, out)
		}
		r.bins[ref.Pkg] = bin
	}
	return nil
}

// mutant switches s's mutant on and runs all of its tests, so that the
// table names every test that kills it.
func (r *runner) mutant(s *site) result {
	failed, text := r.runTests(s.Tests, r.ids[s])
	return result{s: s, killed: len(failed) > 0, by: failed, errText: text}
}

var failRE = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

// runTests runs the tests of refs with mutant id switched on (0: none) and
// returns the failed tests (a package's run that failed without naming a
// test, a timeout or a crash, counts as its package failing); text is set
// when the run could not be made.
func (r *runner) runTests(refs []testRef, id int) (failed []string, text string) {
	for _, ref := range mergeRefs2(refs) {
		args := []string{"-test.count=1", "-test.timeout", r.timeout.String(), "-test.run", "^(" + strings.Join(ref.Names, "|") + ")$"}
		if ref.Pkg == "./props" {
			args = append(args, "-rapid.checks", fmt.Sprint(r.checks), "-rapid.nofailfile", "-rapid.shrinktime", "1s")
		}
		ctx, cancel := context.WithTimeout(r.ctx, r.timeout+time.Minute)
		cmd := exec.CommandContext(ctx, r.bins[ref.Pkg], args...)
		cmd.Dir = filepath.Join(r.root, ref.Pkg)
		cmd.Env = append(os.Environ(), "MLS_PROPS_LONG=", fmt.Sprintf("MLS_MUTANT=%d", id))
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		err := cmd.Run()
		cancel()
		outText := buf.String()
		var names []string
		for _, m := range failRE.FindAllStringSubmatch(outText, -1) {
			name := m[1]
			if !strings.Contains(name, "/") && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		pkg := strings.TrimPrefix(ref.Pkg, "./")
		for _, n := range names {
			failed = append(failed, pkg+"."+n)
		}
		switch {
		case r.ctx.Err() != nil:
			return failed, "interrupted"
		case err == nil:
		case strings.Contains(outText, "panic: test timed out"):
			failed = append(failed, pkg+" (timeout)")
		case len(names) == 0:
			if id == 0 {
				return failed, firstLines(outText, 10)
			}
			failed = append(failed, pkg+" (crashed: "+err.Error()+")")
		}
	}
	return failed, ""
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " / ")
}

// mergeRefs returns the tests of all sites, one entry per package.
func mergeRefs(sites []*site) []testRef {
	var refs []testRef
	for _, s := range sites {
		refs = append(refs, s.Tests...)
	}
	return mergeRefs2(refs)
}

func mergeRefs2(refs []testRef) []testRef {
	var out []testRef
	for _, r := range refs {
		i := slices.IndexFunc(out, func(o testRef) bool { return o.Pkg == r.Pkg })
		if i < 0 {
			out = append(out, testRef{Pkg: r.Pkg})
			i = len(out) - 1
		}
		for _, n := range r.Names {
			if !slices.Contains(out[i].Names, n) {
				out[i].Names = append(out[i].Names, n)
			}
		}
	}
	return out
}

func testNames(refs []testRef) string {
	var out []string
	for _, r := range refs {
		for _, n := range r.Names {
			out = append(out, strings.TrimPrefix(r.Pkg, "./")+"."+n)
		}
	}
	return strings.Join(out, ", ")
}

// sortResults orders results by file and line.
func sortResults(rs []result) []result {
	out := slices.Clone(rs)
	slices.SortStableFunc(out, func(a, b result) int {
		if c := strings.Compare(a.s.File, b.s.File); c != 0 {
			return c
		}
		return a.s.Line - b.s.Line
	})
	return out
}

// rowRE parses a row of the table: site ID, check, file:line, verdict,
// killers, reason.
var rowRE = regexp.MustCompile("^\\| `([^`]+)` \\| (.*) \\| [^|]* \\| (killed|survived) \\| [^|]* \\| (.*) \\|$")

// readKnown returns the reasons of the survivors of the committed table,
// keyed by site ID and label.
func readKnown(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := rowRE.FindStringSubmatch(sc.Text())
		if m != nil && m[3] == "survived" && strings.TrimSpace(m[4]) != "" {
			out[m[1]+" "+m[2]] = strings.TrimSpace(m[4])
		}
	}
	return out, sc.Err()
}

// render returns the Markdown table of results.
func render(results []result, full, partial bool, checks int, unguarded []string) string {
	var b strings.Builder
	killed, survived := 0, 0
	for _, r := range results {
		if r.killed {
			killed++
		} else {
			survived++
		}
	}
	switch {
	case partial:
		fmt.Fprintf(&b, "**Partial run** (stopped at its deadline): %d sites checked, %d killed, %d survived; the remaining sites were not checked.\n\n", len(results), killed, survived)
	case full:
		fmt.Fprintf(&b, "Full run: %d sites, %d mutants killed, %d survived (%d rapid checks per property run).\n\n", len(results), killed, survived, checks)
	default:
		fmt.Fprintf(&b, "%d sites checked: %d killed, %d survived.\n\n", len(results), killed, survived)
	}
	b.WriteString("| Site | Rule or check | File:line | Mutant | Killed by | Why it survives |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range results {
		verdict, by := "killed", strings.Join(r.by, ", ")
		if !r.killed {
			verdict, by = "survived", "—"
		}
		if r.errText != "" {
			by = "error: " + strings.ReplaceAll(r.errText, "|", `\|`)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s:%d | %s | %s | %s |\n", r.s.ID, r.s.label(), r.s.File, r.s.Line, verdict, by, r.reason)
	}
	if len(unguarded) > 0 {
		b.WriteString("\nNot mutated (the rule's error is built outside any if or case, as a function's fall-through):\n\n")
		for _, u := range unguarded {
			fmt.Fprintf(&b, "- %s\n", u)
		}
	}
	return b.String()
}
