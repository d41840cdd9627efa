package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/vectors"
)

func testLeaf(name string, src codec.LeafNodeSource) codec.LeafNode {
	ln := codec.LeafNode{
		EncryptionKey:  bytes.Repeat([]byte{0xe1}, 32),
		SignatureKey:   bytes.Repeat([]byte{0x51}, 32),
		Credential:     codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte(name)},
		Capabilities:   codec.Capabilities{Versions: []codec.ProtocolVersion{codec.MLS10}, CipherSuites: []codec.CipherSuite{1}, Credentials: []codec.CredentialType{codec.CredentialBasic}},
		LeafNodeSource: src,
		Signature:      bytes.Repeat([]byte{0x5a}, 64),
	}
	switch src {
	case codec.LeafNodeSourceKeyPackage:
		ln.Lifetime = codec.Lifetime{NotBefore: 1, NotAfter: 2}
	case codec.LeafNodeSourceCommit:
		ln.ParentHash = bytes.Repeat([]byte{0xaa}, 32)
	}
	return ln
}

func mustEncode(t *testing.T, v interface{ Encode() ([]byte, error) }) []byte {
	t.Helper()
	b, err := v.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testMessages builds one encoding of each kind that inspect auto-detects.
func testMessages(t *testing.T) map[string][]byte {
	kp := codec.KeyPackage{Version: codec.MLS10, CipherSuite: 1, InitKey: bytes.Repeat([]byte{0x11}, 32),
		LeafNode: testLeaf("alice", codec.LeafNodeSourceKeyPackage), Signature: bytes.Repeat([]byte{0x22}, 64)}
	leaf := testLeaf("bob", codec.LeafNodeSourceKeyPackage)
	tree := codec.RatchetTree{
		{NodeType: codec.NodeTypeLeaf, Leaf: &leaf},
		{NodeType: codec.NodeTypeParent, Parent: &codec.ParentNode{EncryptionKey: bytes.Repeat([]byte{0x33}, 32), UnmergedLeaves: []treemath.LeafIndex{1}}},
		nil,
		nil,
		{NodeType: codec.NodeTypeLeaf, Leaf: &leaf},
	}
	commitLeaf := testLeaf("carol", codec.LeafNodeSourceCommit)
	commit := codec.Commit{
		Proposals: []codec.ProposalOrRef{
			{Type: codec.ProposalOrRefProposal, Proposal: &codec.Proposal{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: kp}}},
			{Type: codec.ProposalOrRefProposal, Proposal: &codec.Proposal{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: 7}}},
			{Type: codec.ProposalOrRefReference, Reference: bytes.Repeat([]byte{0x44}, 32)},
		},
		Path: &codec.UpdatePath{LeafNode: commitLeaf, Nodes: []codec.UpdatePathNode{{EncryptionKey: bytes.Repeat([]byte{0x55}, 32),
			EncryptedPathSecret: []codec.HPKECiphertext{{KEMOutput: []byte{1, 2}, Ciphertext: []byte{3, 4}}}}}},
	}
	pub := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatPublicMessage, PublicMessage: &codec.PublicMessage{
		Content: codec.FramedContent{GroupID: []byte("group-1"), Epoch: 3, Sender: codec.MemberSender(2),
			ContentType: codec.ContentTypeCommit, Commit: &commit},
		Auth:          codec.FramedContentAuthData{Signature: bytes.Repeat([]byte{0x66}, 64), ConfirmationTag: bytes.Repeat([]byte{0x77}, 32)},
		MembershipTag: bytes.Repeat([]byte{0x88}, 32),
	}}
	priv := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatPrivateMessage, PrivateMessage: &codec.PrivateMessage{
		GroupID: []byte("group-1"), Epoch: 4, ContentType: codec.ContentTypeApplication, AuthenticatedData: []byte("aad"),
		EncryptedSenderData: bytes.Repeat([]byte{0x99}, 28), Ciphertext: bytes.Repeat([]byte{0xab}, 100),
	}}
	gi := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatGroupInfo, GroupInfo: &codec.GroupInfo{
		GroupContext: codec.GroupContext{Version: codec.MLS10, CipherSuite: 1, GroupID: []byte("group-1"), Epoch: 9,
			TreeHash: bytes.Repeat([]byte{0x12}, 32), ConfirmedTranscriptHash: bytes.Repeat([]byte{0x13}, 32)},
		Extensions:      codec.Extensions{{ExtensionType: codec.ExtensionRatchetTree, ExtensionData: mustEncode(t, tree)}},
		ConfirmationTag: bytes.Repeat([]byte{0x14}, 32), Signer: 4, Signature: bytes.Repeat([]byte{0x15}, 64),
	}}
	welcome := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatWelcome, Welcome: &codec.Welcome{
		CipherSuite: 1, Secrets: []codec.EncryptedGroupSecrets{{NewMember: bytes.Repeat([]byte{0x16}, 32),
			EncryptedGroupSecrets: codec.HPKECiphertext{KEMOutput: bytes.Repeat([]byte{0x17}, 32), Ciphertext: bytes.Repeat([]byte{0x18}, 80)}}},
		EncryptedGroupInfo: bytes.Repeat([]byte{0x19}, 200),
	}}
	return map[string][]byte{
		"key_package":     mustEncode(t, codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatKeyPackage, KeyPackage: &kp}),
		"ratchet_tree":    mustEncode(t, tree),
		"public_message":  mustEncode(t, pub),
		"private_message": mustEncode(t, priv),
		"group_info":      mustEncode(t, gi),
		"welcome":         mustEncode(t, welcome),
	}
}

func runInspectOn(t *testing.T, input []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(file, input, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code = run(append(append([]string{"inspect"}, args...), file), &out, &errb)
	return out.String(), errb.String(), code
}

func TestInspect(t *testing.T) {
	msgs := testMessages(t)
	tests := []struct {
		name  string
		input []byte
		args  []string
		want  []string // substrings of the text output
	}{
		{"key package hex", []byte(hex.EncodeToString(msgs["key_package"]) + "\n"), nil, []string{
			"MLSMessage mls_key_package", "(hex input)", "cipher_suite: MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 (1)",
			`identity: "alice" (5 bytes)`, "leaf_node_source: key_package (1)", "not_after: 2", "init_key: " + strings.Repeat("11", 32)}},
		{"key package base64", []byte(base64.StdEncoding.EncodeToString(msgs["key_package"])), nil, []string{"(base64 input)", "mls_key_package"}},
		{"key package base64url", []byte(base64.RawURLEncoding.EncodeToString(msgs["key_package"])), nil, []string{"(base64 input)"}},
		{"key package raw", msgs["key_package"], nil, []string{"(raw input)", "mls_key_package"}},
		{"hex with 0x and spaces", spaced("0x" + hex.EncodeToString(msgs["welcome"])), nil, []string{"(hex input)"}},
		{"ratchet tree", msgs["ratchet_tree"], nil, []string{"ratchet_tree of 5 nodes", "node 0, leaf 0:", "node 1, parent:", "unmerged_leaves: [1]",
			"node 2, leaf 1: blank", "node 3, parent: blank", "node 4, leaf 2:"}},
		{"public commit", msgs["public_message"], nil, []string{"mls_public_message", "sender: member, leaf 2", `group_id: "group-1" (7 bytes)`,
			"content_type: commit (3)", "[0] add:", "[1] remove:", "removed: 7", "[2] reference: " + strings.Repeat("44", 32),
			"leaf_node_source: commit (3)", "parent_hash: " + strings.Repeat("aa", 32), "confirmation_tag:", "membership_tag:",
			"signature: 666666666666666666666666…66666666 (64 bytes)"}},
		{"private", msgs["private_message"], nil, []string{"mls_private_message", "content_type: application (1)", "ciphertext: abababababababababababab…abababab (100 bytes)"}},
		{"group info with tree", msgs["group_info"], nil, []string{"mls_group_info", "[0] ratchet_tree:", "decoded: 5", "node 2, leaf 1: blank", "signer: 4"}},
		{"welcome", msgs["welcome"], nil, []string{"mls_welcome", "new_member:", "kem_output:", "encrypted_group_info:"}},
		{"full", msgs["private_message"], []string{"-full"}, []string{"ciphertext: " + strings.Repeat("ab", 100)}},
		{"typed", []byte(hex.EncodeToString(mustEncode(t, codec.Remove{Removed: 5}))), []string{"-type", "remove"}, []string{"remove, 4 bytes", "removed: 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runInspectOn(t, tt.input, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr: %s", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			// Lifetime and ParentHash appear only for their leaf node source.
			if strings.Contains(out, "leaf_node_source: commit") && strings.Contains(out, "lifetime:") && !strings.Contains(out, "key_package (1)") {
				t.Errorf("lifetime printed for a commit leaf:\n%s", out)
			}
		})
	}
}

func TestInspectJSON(t *testing.T) {
	for name, msg := range testMessages(t) {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := runInspectOn(t, msg, "-json")
			if code != 0 {
				t.Fatalf("exit %d, stderr: %s", code, errOut)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("invalid JSON: %v\n%s", err, out)
			}
			if v["length"] != float64(len(msg)) || v["input"] != "raw" {
				t.Errorf("header fields %v", v)
			}
		})
	}
	out, _, _ := runInspectOn(t, testMessages(t)["public_message"], "-json")
	for _, w := range []string{`"sender_type": "member"`, `"leaf_index": 2`, `"proposal_type": "add"`, `"reference": "` + strings.Repeat("44", 32) + `"`,
		`"signature": "` + strings.Repeat("66", 64) + `"`} {
		if !strings.Contains(out, w) {
			t.Errorf("JSON lacks %s:\n%s", w, out)
		}
	}
	out, _, _ = runInspectOn(t, testMessages(t)["ratchet_tree"], "-json")
	for _, w := range []string{`"node_index": 3`, `"blank": true`, `"leaf_index": 2`} {
		if !strings.Contains(out, w) {
			t.Errorf("JSON lacks %s:\n%s", w, out)
		}
	}
}

// spaced breaks s into lines of 64 characters and groups of 8.
func spaced(s string) []byte {
	var b strings.Builder
	for i := 0; i < len(s); i += 8 {
		if i > 0 && i%64 == 0 {
			b.WriteString("\n")
		} else if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(s[i:min(i+8, len(s))])
	}
	return []byte(b.String())
}

var offsetRE = regexp.MustCompile(`at byte \d+`)

func TestInspectMalformed(t *testing.T) {
	kp := testMessages(t)["key_package"]
	bad := bytes.Clone(kp)
	bad[3] = 9 // wire format 9: not a wire format
	tests := []struct {
		name  string
		input []byte
		args  []string
		code  int
		want  []string // substrings of stderr
	}{
		{"truncated hex", []byte(hex.EncodeToString(kp[:len(kp)-10])), nil, 1, []string{"hex input of", "as mls_message", "decoding MLSMessage at byte"}},
		{"truncated raw typed", kp[:40], []string{"-type", "mls_message", "-in", "raw"}, 1, []string{"raw input of 40 bytes", "decoding MLSMessage at byte 9"}},
		{"bad wire format", bad, []string{"-type", "mls_message"}, 1, []string{"decoding MLSMessage at byte 2"}},
		{"trailing data", append(bytes.Clone(kp), 0), []string{"-type", "mls_message"}, 1, []string{"at byte " + strconv.Itoa(len(kp))}},
		{"empty", nil, nil, 1, []string{"empty input"}},
		{"not hex", []byte("zz"), []string{"-in", "hex"}, 1, []string{"not hex"}},
		{"bad -in", kp, []string{"-in", "octal"}, 2, []string{"-in \"octal\""}},
		{"bad -type", kp, []string{"-type", "frob"}, 2, []string{"-type \"frob\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runInspectOn(t, tt.input, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			if out != "" {
				t.Errorf("stdout not empty: %s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q: %s", w, errOut)
				}
			}
			if tt.code == 1 && strings.Contains(tt.name, "truncated") && !offsetRE.MatchString(errOut) {
				t.Errorf("no byte offset in %s", errOut)
			}
		})
	}
}

// TestInspectVectors inspects every message of the working group's
// messages.json, in text and JSON, each with its own type.
func TestInspectVectors(t *testing.T) {
	dir := vectors.DefaultDir()
	data, err := os.ReadFile(filepath.Join(dir, "messages.json"))
	if err != nil {
		if vectors.Required() {
			t.Fatalf("MLS_REQUIRE_VECTORS is set: %v", err)
		}
		t.Skipf("messages.json not found in %s (set MLS_TEST_VECTORS; see https://github.com/mlswg/mls-implementations): %v", dir, err)
	}
	var cases []map[string]string
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	types := map[string]string{
		"mls_welcome": "auto", "mls_group_info": "auto", "mls_key_package": "auto", "ratchet_tree": "auto",
		"public_message_application": "auto", "public_message_proposal": "auto", "public_message_commit": "auto", "private_message": "auto",
		"group_secrets": "group_secrets", "add_proposal": "add", "update_proposal": "update", "remove_proposal": "remove",
		"pre_shared_key_proposal": "pre_shared_key", "re_init_proposal": "reinit", "external_init_proposal": "external_init",
		"group_context_extensions_proposal": "group_context_extensions", "commit": "commit",
	}
	n := 0
	for i, c := range cases {
		if i%10 != 0 && testing.Short() {
			continue
		}
		for field, h := range c {
			typ, ok := types[field]
			if !ok {
				t.Errorf("case %d: unknown field %s", i, field)
				continue
			}
			raw, err := hex.DecodeString(h)
			if err != nil {
				t.Fatal(err)
			}
			res, err := inspectBytes(raw, "raw", typ)
			if err != nil {
				t.Errorf("case %d %s: %v", i, field, err)
				continue
			}
			if typ == "auto" && (field == "ratchet_tree") != (res.typ == "ratchet_tree") {
				t.Errorf("case %d %s: detected as %s", i, field, res.typ)
			}
			if out := res.format(true, false); !json.Valid(out) {
				t.Errorf("case %d %s: invalid JSON:\n%s", i, field, out)
			}
			if out := res.format(false, false); len(out) == 0 {
				t.Errorf("case %d %s: no text", i, field)
			}
			n++
		}
	}
	// One full run through the command for each field of the first case.
	for field, h := range cases[0] {
		out, errOut, code := runInspectOn(t, []byte(h), "-type", types[field], "-json")
		if code != 0 || !json.Valid([]byte(out)) {
			t.Errorf("%s: exit %d, stderr %s", field, code, errOut)
		}
		if _, errOut, code = runInspectOn(t, []byte(h), "-type", types[field]); code != 0 {
			t.Errorf("%s: exit %d, stderr %s", field, code, errOut)
		}
	}
	t.Logf("%d structures inspected", n)
}

// TestInspectLog: mls inspect describes an event log by its header — the
// module version that wrote it among it — and its records, in text and
// JSON, instead of failing to decode it as an MLS structure.
func TestInspectLog(t *testing.T) {
	path, l := smallDemoLog(t)
	if l.Header.Module == "" {
		t.Fatal("the demo's log records no module")
	}
	stdout, stderr, code := runCmd("inspect", path)
	want := fmt.Sprintf("event log: format %d, full mode, written by module %s, policy %s\n  %d records, 0 to %d\n",
		l.Header.Format, l.Header.Module, l.Header.PolicyID, len(l.Records), len(l.Records)-1)
	if code != 0 || !strings.HasPrefix(stdout, want) {
		t.Errorf("exit %d\nstdout:\n%s\nwant prefix:\n%s\nstderr:\n%s", code, stdout, want, stderr)
	}
	stdout, _, code = runCmd("inspect", "-json", path)
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != 0 || got["module"] != l.Header.Module || got["records"] != float64(len(l.Records)) {
		t.Errorf("exit %d, %v\n%s", code, err, stdout)
	}
}
