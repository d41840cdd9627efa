package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A site is one check that a mutant disables: an if statement (its
// condition becomes false), a case of an expression-less switch (its
// expressions become false), or the body of a case of a tagged switch or
// of an else branch (wrapped in "if false").
type site struct {
	ID    string   // stable name: file:function#n (n counts the function's sites)
	File  string   // module-relative, slash-separated
	Line  int      // line of the disabled condition or body
	Func  string   // enclosing function, e.g. "(*group).cover"
	Rules []string // catalog rules whose errors the site builds, e.g. "ValSem205"
	Check string   // for a security check outside the catalog: its name
	Tests []testRef
	edits []edit
}

// A testRef names tests of one package that should kill a site's mutant.
type testRef struct {
	Pkg   string   // "./props"
	Names []string // test function names
}

type edit struct {
	off int
	ins string
}

// label is what the table's first column shows for s.
func (s *site) label() string {
	if s.Check != "" {
		if len(s.Rules) > 0 {
			return s.Check + " (" + strings.Join(s.Rules, ", ") + ")"
		}
		return s.Check
	}
	return strings.Join(s.Rules, ", ")
}

// extra describes a security check outside the catalog (Check names it),
// or names tests beyond the rule's property for a catalog site (Check
// empty): the if statement of File whose condition contains Cond (exactly
// one must) and the tests that must kill its mutant.
type extra struct {
	Check string
	File  string
	Func  string // if set, only if statements of this function match
	Cond  string // empty: Func is a catalog site's ID ("file:function#n"), to name more tests for it
	Tests []testRef
	Rules []string // catalog rules the check enforces without building their error itself
}

// extras lists the security checks that the catalog does not name (or
// names only through a property that cannot reach them) and the tests that
// fail without them. TestExtrasMatch keeps each entry matching exactly one
// if statement.
var extras = []extra{
	{"", "transitions/commit_receive.go", "transitions/commit_receive.go:(*group).commitEpoch#1", "",
		[]testRef{{"./transitions", []string{"TestExternalCommitConfirmationTag"}}}, nil},
	{"welcome confirmation tag", "transitions/welcome.go", "", "VerifyConfirmationTag(ctx.ConfirmedTranscriptHash",
		[]testRef{{"./transitions", []string{"TestWelcomeConfirmationTag"}}}, nil},
	{"welcome path secret derives the tree's keys", "tree/private.go", "", "bytes.Equal(k.pub, pub)",
		[]testRef{{"./transitions", []string{"TestWelcomePathSecret"}}}, nil},
	{"welcome group info signature", "transitions/welcome.go", "", "keysched.VerifyGroupInfo(",
		[]testRef{{"./transitions", []string{"TestWelcomeGroupInfoSignature"}}}, nil},
	{"welcome tree validation (tree hash, parent hashes, leaf signatures)", "transitions/welcome.go", "", "t.Validate(ctx.GroupID, ctx.TreeHash)",
		[]testRef{{"./transitions", []string{"TestWelcomeTreeValidation"}}}, nil},
	{"external join group info signature", "transitions/groupinfo.go", "", "cs.VerifyWithLabel(key, \"GroupInfoTBS\"",
		[]testRef{{"./transitions", []string{"TestExternalJoinGroupInfoChecks"}}}, nil},
	{"external join tree validation", "transitions/groupinfo.go", "", "t.Validate(ctx.GroupID, ctx.TreeHash)",
		[]testRef{{"./transitions", []string{"TestExternalJoinGroupInfoChecks"}}}, nil},
	{"key package signature", "transitions/leafnode.go", "", "\"KeyPackageTBS\"",
		[]testRef{{"./transitions", []string{"TestAddSignaturesInListOrder"}}}, nil},
	{"key package leaf node signature", "transitions/leafnode.go", "", "tree.VerifyLeafSignatureAt(cs, &kp.LeafNode",
		[]testRef{{"./transitions", []string{"TestAddSignaturesInListOrder"}}}, nil},
	{"leaf node signature (update, commit path)", "transitions/leafnode.go", "", "tree.VerifyLeafSignature(cs, ln, lc.gid, lc.leaf)",
		[]testRef{{"./transitions", []string{"TestLeafNodeSignatures"}}}, nil},
	{"parent hashes of a tree", "tree/validate.go", "", "t.VerifyParentHashes()",
		[]testRef{{"./tree", []string{"TestValidateRejects"}}}, nil},
	// More tests for catalog sites that the rule's property does not
	// reach (Cond empty: Func is the site's ID).
	{"", "tree/tree.go", "tree/tree.go:Tree.Add#1", "", []testRef{{"./tree", []string{"TestAddRejectsDuplicateKeys"}}}, nil},
	{"", "tree/tree.go", "tree/tree.go:Tree.Add#2", "", []testRef{{"./tree", []string{"TestAddRejectsDuplicateKeys"}}}, nil},
	{"", "tree/tree.go", "tree/tree.go:Tree.Update#1", "", []testRef{{"./tree", []string{"TestAddRejectsDuplicateKeys"}}}, nil},
	{"", "tree/tree.go", "tree/tree.go:Tree.Remove#1", "", []testRef{{"./tree", []string{"TestAddRejectsDuplicateKeys"}}}, nil},
	{"", "tree/treekem.go", "tree/treekem.go:Tree.DecryptPath#1", "", []testRef{{"./tree", []string{"TestPathRejects"}}}, nil},
	{"", "tree/treekem.go", "tree/treekem.go:Tree.DecryptPath#2", "", []testRef{{"./tree", []string{"TestPathRejects"}}}, nil},
	{"", "tree/treekem.go", "tree/treekem.go:Tree.DecryptPath#4", "", []testRef{{"./tree", []string{"TestPathRejects"}}}, nil},
	{"", "transitions/external.go", "transitions/external.go:externalPropose#1", "", []testRef{{"./transitions", []string{"TestExternalSenderRules"}}}, nil},
	{"", "transitions/external.go", "transitions/external.go:(*group).externalSender#1", "", []testRef{{"./transitions", []string{"TestExternalSenderFraming"}}}, nil},
	{"", "transitions/external.go", "transitions/external.go:(*group).externalSender#2", "", []testRef{{"./transitions", []string{"TestExternalSenderRules"}}}, nil},
	{"", "transitions/external.go", "transitions/external.go:(*group).frameNonMember#1", "", []testRef{{"./transitions", []string{"TestExternalSenderFraming"}}}, nil},
	{"", "transitions/external.go", "transitions/external.go:proposeAsNewMember#1", "", []testRef{{"./transitions", []string{"TestProposeAsNewMemberSuite"}}}, nil},
	{"", "transitions/welcome.go", "transitions/welcome.go:joinWelcome#1", "", []testRef{{"./transitions", []string{"TestWelcomeUnsupportedExtension"}}}, nil},
	{"", "keysched/protect.go", "keysched/protect.go:DecryptSenderData#1", "", []testRef{{"./keysched", []string{"TestSenderDataMalformed"}}}, nil},
	{"", "transitions/psk.go", "transitions/psk.go:welcomePSKs#1", "", []testRef{{"./transitions", []string{"TestWelcomePSKRules"}}}, nil},
	{"", "transitions/proposals.go", "transitions/proposals.go:(*pipeline).checkKind#1", "", []testRef{{"./transitions", []string{"TestStoredProposalSenders"}}}, nil},
	{"", "transitions/proposals.go", "transitions/proposals.go:(*pipeline).checkUpdate#1", "", []testRef{{"./transitions", []string{"TestStoredProposalSenders"}}}, nil},
	{"required capabilities of a leaf", "transitions/leafnode.go", "", "checkRequired(ln, lc.required)",
		[]testRef{{"./props", []string{"TestValSem106", "TestValSem109"}}}, []string{"ValSem106", "ValSem109"}},
	{"membership tag verified on receipt", "keysched/protect.go", "", "verifyMembershipTag(cs, membershipKey, pm.MembershipTag, buf[off:], w.Auth)",
		[]testRef{{"./props", []string{"TestValSem007", "TestValSem008"}}}, []string{"ValSem007", "ValSem008"}},
	{"signature verified on receipt", "keysched/protect.go", "", "verifyTBS(cs, senderPub, buf, off, ac.Auth.Signature)",
		[]testRef{{"./props", []string{"TestValSem010"}}}, []string{"ValSem010"}},
}

// skipDirs are not scanned for sites: tests, tools and the catalog itself.
var skipDirs = []string{"props", "valsem", "internal/mutatecheck", "interop", "cmd", "testdata"}

// findSites parses the module's non-test Go files under root and returns
// every catalog site (an if or case guarding a valsem.Errorf or
// valsem.Wrap of a rule's constant) and every extra site, in file and line
// order. unguarded lists the rule errors built outside any if or case.
func findSites(root string, rules map[string]string) (sites []*site, unguarded []string, err error) {
	byPos := map[string]*site{} // file:offset of the guard -> site
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || slices.Contains(skipDirs, rel) || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go") {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(files)
	for _, rel := range files {
		src, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return nil, nil, err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, rel, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, nil, err
		}
		ordinal := map[string]int{}
		var stack []ast.Node
		var fileSites []*site
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, n)
			call, ok := n.(*ast.CallExpr)
			if !ok || !isValsemCall(call) || len(call.Args) == 0 {
				return true
			}
			code, ok := valsemConst(call.Args[0])
			if !ok {
				return true
			}
			if _, known := rules[code]; !known {
				return true
			}
			g, fn := guardOf(stack)
			line := fset.Position(call.Pos()).Line
			if g == nil {
				unguarded = append(unguarded, fmt.Sprintf("%s:%d %s (%s)", rel, line, code, fn))
				return true
			}
			key := fmt.Sprintf("%s:%d", rel, g.pos)
			s := byPos[key]
			if s == nil {
				ordinal[fn]++
				s = &site{ID: fmt.Sprintf("%s:%s#%d", rel, fn, ordinal[fn]), File: rel,
					Line: fset.Position(token.Pos(g.pos)).Line, Func: fn, edits: g.edits(fset)}
				byPos[key] = s
				fileSites = append(fileSites, s)
			}
			if !slices.Contains(s.Rules, code) {
				s.Rules = append(s.Rules, code)
				s.Tests = append(s.Tests, testRef{"./props", []string{rules[code]}})
			}
			return true
		})
		// The extra sites of this file.
		for _, x := range extras {
			if x.File != rel || x.Cond == "" {
				continue
			}
			ifs := matchingIfs(f, src, fset, x.Cond)
			if x.Func != "" {
				ifs = slices.DeleteFunc(ifs, func(is *ast.IfStmt) bool { return funcAt(f, is.Pos()) != x.Func })
			}
			if len(ifs) != 1 {
				return nil, nil, fmt.Errorf("mutatecheck: %d if statements of %s have a condition containing %q, want 1", len(ifs), rel, x.Cond)
			}
			is := ifs[0]
			g := guard{kind: guardIf, pos: int(is.Pos()), exprs: []ast.Expr{is.Cond}}
			key := fmt.Sprintf("%s:%d", rel, g.pos)
			s := byPos[key]
			if s == nil {
				fn := funcAt(f, is.Pos())
				ordinal[fn]++
				s = &site{ID: fmt.Sprintf("%s:%s#%d", rel, fn, ordinal[fn]), File: rel,
					Line: fset.Position(is.Pos()).Line, Func: fn, edits: g.edits(fset)}
				byPos[key] = s
				fileSites = append(fileSites, s)
			}
			if x.Check != "" {
				s.Check = x.Check
			}
			s.Tests = append(s.Tests, x.Tests...)
			for _, r := range x.Rules {
				if !slices.Contains(s.Rules, r) {
					s.Rules = append(s.Rules, r)
				}
			}
		}
		slices.SortStableFunc(fileSites, func(a, b *site) int { return a.Line - b.Line })
		sites = append(sites, fileSites...)
	}
	for _, x := range extras {
		if x.Cond != "" || !slices.Contains(files, x.File) {
			continue
		}
		i := slices.IndexFunc(sites, func(s *site) bool { return s.ID == x.Func })
		if i < 0 {
			return nil, nil, fmt.Errorf("mutatecheck: no site %s", x.Func)
		}
		sites[i].Tests = append(sites[i].Tests, x.Tests...)
	}
	return sites, unguarded, nil
}

type guardKind int

const (
	guardIf   guardKind = iota // condition → false && (condition)
	guardWrap                  // statements → if false { statements }
)

type guard struct {
	kind  guardKind
	pos   int        // token.Pos of the guard, its identity in the file
	exprs []ast.Expr // guardIf: the expressions to falsify
	body  []ast.Stmt // guardWrap: the statements to wrap
}

// edits returns the text insertions that disable g.
func (g guard) edits(fset *token.FileSet) []edit {
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	var out []edit
	switch g.kind {
	case guardIf:
		for _, e := range g.exprs {
			out = append(out, edit{off(e.Pos()), guardMark + " && ("}, edit{off(e.End()), ")"})
		}
	case guardWrap:
		if len(g.body) > 0 {
			out = append(out, edit{off(g.body[0].Pos()), "if " + guardMark + " {\n"}, edit{off(g.body[len(g.body)-1].End()), "\n}"})
		}
	}
	return out
}

// guardOf returns the innermost guard of the node on top of stack: the if
// statement in whose body (not condition) it lies, or the switch case in
// whose statements it lies; fn names the enclosing function.
func guardOf(stack []ast.Node) (*guard, string) {
	fn := "?"
	for i := len(stack) - 1; i >= 0; i-- {
		if fd, ok := stack[i].(*ast.FuncDecl); ok {
			fn = funcName(fd)
			break
		}
	}
	for i := len(stack) - 1; i > 0; i-- {
		child, parent := stack[i], stack[i-1]
		switch p := parent.(type) {
		case *ast.FuncDecl:
			return nil, fn
		case *ast.IfStmt:
			if child == p.Body {
				return &guard{kind: guardIf, pos: int(p.Pos()), exprs: []ast.Expr{p.Cond}}, fn
			}
			if child == p.Else {
				if b, ok := child.(*ast.BlockStmt); ok {
					return &guard{kind: guardWrap, pos: int(b.Pos()), body: b.List}, fn
				}
			}
		case *ast.CaseClause:
			if !slices.Contains(p.Body, child.(ast.Stmt)) {
				continue
			}
			var sw *ast.SwitchStmt
			if i >= 3 {
				sw, _ = stack[i-3].(*ast.SwitchStmt)
			}
			if sw != nil && sw.Tag == nil && len(p.List) > 0 {
				return &guard{kind: guardIf, pos: int(p.Pos()), exprs: p.List}, fn
			}
			return &guard{kind: guardWrap, pos: int(p.Pos()), body: p.Body}, fn
		}
	}
	return nil, fn
}

// isValsemCall reports whether call is valsem.Errorf(…) or valsem.Wrap(…).
func isValsemCall(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == "valsem" && (sel.Sel.Name == "Errorf" || sel.Sel.Name == "Wrap")
}

// valsemConst returns "ValSemNNN" when e is valsem.ValSemNNN.
func valsemConst(e ast.Expr) (string, bool) {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok || x.Name != "valsem" || !strings.HasPrefix(sel.Sel.Name, "ValSem") {
		return "", false
	}
	if _, err := strconv.Atoi(strings.TrimPrefix(sel.Sel.Name, "ValSem")); err != nil {
		return "", false
	}
	return sel.Sel.Name, true
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	star := ""
	if s, ok := t.(*ast.StarExpr); ok {
		star, t = "*", s.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	name := "?"
	if id, ok := t.(*ast.Ident); ok {
		name = id.Name
	}
	if star != "" {
		return "(*" + name + ")." + fd.Name.Name
	}
	return name + "." + fd.Name.Name
}

// funcAt names the function declaration of f containing pos.
func funcAt(f *ast.File, pos token.Pos) string {
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Pos() <= pos && pos < fd.End() {
			return funcName(fd)
		}
	}
	return "?"
}

// matchingIfs returns the if statements of f whose condition's source
// contains sub.
func matchingIfs(f *ast.File, src []byte, fset *token.FileSet, sub string) []*ast.IfStmt {
	var out []*ast.IfStmt
	ast.Inspect(f, func(n ast.Node) bool {
		is, ok := n.(*ast.IfStmt)
		if !ok {
			return true
		}
		lo, hi := fset.Position(is.Pos()).Offset, fset.Position(is.Body.Lbrace).Offset
		if strings.Contains(string(src[lo:hi]), sub) {
			out = append(out, is)
		}
		return true
	})
	return out
}

// guardMark stands, in an edit, for the expression that is false when the
// mutant is on: "false" for a lone mutant, "mutatecheckActive != N" when
// every mutant is built in at once.
const guardMark = "\x00guard\x00"

// withGuard returns edits with guardMark replaced by guard.
func withGuard(edits []edit, guard string) []edit {
	out := slices.Clone(edits)
	for i := range out {
		out[i].ins = strings.ReplaceAll(out[i].ins, guardMark, guard)
	}
	return out
}

// mutate returns src with the edits applied.
func mutate(src []byte, edits []edit) []byte {
	es := slices.Clone(edits)
	slices.SortStableFunc(es, func(a, b edit) int { return b.off - a.off })
	out := slices.Clone(src)
	for _, e := range es {
		out = slices.Insert(out, e.off, []byte(e.ins)...)
	}
	return out
}
