package codec

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

func TestReadVarint(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want uint32
		err  error
	}{
		{"zero", []byte{0x00}, 0, nil},
		{"one byte max", []byte{0x3f}, 63, nil},
		{"two byte min", []byte{0x40, 0x40}, 64, nil},
		{"two byte max", []byte{0x7f, 0xff}, 16383, nil},
		{"four byte min", []byte{0x80, 0x00, 0x40, 0x00}, 16384, nil},
		{"four byte max", []byte{0xbf, 0xff, 0xff, 0xff}, MaxVarint, nil},
		{"rfc example 37", []byte{0x25}, 37, nil},
		{"rfc example 15293", []byte{0x7b, 0xbd}, 15293, nil},
		{"rfc example 494878333", []byte{0x9d, 0x7f, 0x3e, 0x7d}, 494878333, nil},
		{"non-minimal 2 byte zero", []byte{0x40, 0x00}, 0, ErrNonMinimalVarint},
		{"non-minimal 2 byte 63", []byte{0x40, 0x3f}, 0, ErrNonMinimalVarint},
		{"non-minimal 4 byte", []byte{0x80, 0x00, 0x3f, 0xff}, 0, ErrNonMinimalVarint},
		{"non-minimal 4 byte zero", []byte{0x80, 0x00, 0x00, 0x00}, 0, ErrNonMinimalVarint},
		{"reserved prefix", []byte{0xc0, 0, 0, 0, 0, 0, 0, 0}, 0, ErrReservedVarint},
		{"reserved prefix short", []byte{0xff}, 0, ErrReservedVarint},
		{"empty", nil, 0, ErrTruncated},
		{"truncated 2", []byte{0x40}, 0, ErrTruncated},
		{"truncated 4", []byte{0x80, 0x00, 0x40}, 0, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := cryptobyte.String(tt.in)
			got, err := ReadVarintErr(&s)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			var v uint32
			s2 := cryptobyte.String(tt.in)
			if ok := ReadVarint(&s2, &v); ok != (tt.err == nil) {
				t.Fatalf("ReadVarint ok = %v", ok)
			}
			if err != nil {
				if len(s) != len(tt.in) {
					t.Errorf("failed read consumed %d bytes", len(tt.in)-len(s))
				}
				return
			}
			if got != tt.want || v != tt.want {
				t.Errorf("got %d (%d), want %d", got, v, tt.want)
			}
			if len(s) != 0 {
				t.Errorf("%d bytes left", len(s))
			}
			var b cryptobyte.Builder
			AddVarint(&b, got)
			enc, err := b.Bytes()
			if err != nil || !bytes.Equal(enc, tt.in) {
				t.Errorf("AddVarint(%d) = %x, %v; want %x", got, enc, err, tt.in)
			}
			if app := AppendVarint([]byte{0xaa}, got); !bytes.Equal(app[1:], tt.in) || app[0] != 0xaa {
				t.Errorf("AppendVarint(%d) = %x, want aa%x", got, app, tt.in)
			}
		})
	}
}

// TestAppendOpaque checks AppendOpaque and OpaqueLen against AddOpaque
// at the lengths around each varint size.
func TestAppendOpaque(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 16383, 16384, 70000} {
		data := bytes.Repeat([]byte{7}, n)
		var b cryptobyte.Builder
		AddOpaque(&b, data)
		want, err := b.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendOpaque([]byte{}, data); !bytes.Equal(got, want) {
			t.Errorf("AppendOpaque of %d bytes differs from AddOpaque", n)
		}
		if got := OpaqueLen(n); got != len(want) {
			t.Errorf("OpaqueLen(%d) = %d, want %d", n, got, len(want))
		}
	}
}

func TestAddVarintTooLong(t *testing.T) {
	var b cryptobyte.Builder
	AddVarint(&b, MaxVarint+1)
	if _, err := b.Bytes(); !errors.Is(err, ErrTooLong) {
		t.Fatalf("err = %v, want ErrTooLong", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		decode func([]byte) error
		in     []byte
		err    error
		offset int
	}{
		{"trailing data", func(b []byte) error { _, err := DecodeRemove(b); return err },
			[]byte{0, 0, 0, 1, 0}, ErrTrailingData, 4},
		{"truncated uint32", func(b []byte) error { _, err := DecodeRemove(b); return err },
			[]byte{0, 0, 1}, ErrTruncated, 0},
		{"length beyond input", func(b []byte) error { _, err := DecodeExternalInit(b); return err },
			[]byte{0x05, 1, 2}, ErrTruncated, 1},
		{"huge length, no allocation", func(b []byte) error { _, err := DecodeExternalInit(b); return err },
			[]byte{0xbf, 0xff, 0xff, 0xff}, ErrTruncated, 4},
		{"non-minimal length", func(b []byte) error { _, err := DecodeExternalInit(b); return err },
			[]byte{0x40, 0x01, 0xaa}, ErrNonMinimalVarint, 0},
		{"reserved length", func(b []byte) error { _, err := DecodeExternalInit(b); return err },
			[]byte{0xc0, 0x01}, ErrReservedVarint, 0},
		{"optional flag 2", func(b []byte) error { _, err := DecodeCommit(b); return err },
			[]byte{0x00, 0x02}, ErrInvalidValue, 1},
		{"unknown wire format", func(b []byte) error { _, err := DecodeMLSMessage(b); return err },
			[]byte{0x00, 0x01, 0x00, 0x06}, ErrInvalidValue, 2},
		{"unknown content type", func(b []byte) error { _, err := DecodeSenderDataAAD(b); return err },
			[]byte{0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x04}, ErrInvalidValue, 9},
		{"unknown sender type", func(b []byte) error { _, err := DecodeSender(b); return err },
			[]byte{0x05}, ErrInvalidValue, 0},
		{"unknown psk type", func(b []byte) error { _, err := DecodePreSharedKeyID(b); return err },
			[]byte{0x03, 0x00}, ErrInvalidValue, 0},
		{"unknown resumption usage", func(b []byte) error { _, err := DecodePreSharedKeyID(b); return err },
			[]byte{0x02, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00}, ErrInvalidValue, 1},
		{"unknown node type", func(b []byte) error { _, err := DecodeRatchetTree(b); return err },
			[]byte{0x02, 0x01, 0x03}, ErrInvalidValue, 2},
		{"unknown proposal-or-ref type", func(b []byte) error { _, err := DecodeCommit(b); return err },
			[]byte{0x01, 0x03, 0x00}, ErrInvalidValue, 1},
		{"duplicate extension", func(b []byte) error { _, err := DecodeExtensions(b); return err },
			[]byte{0x06, 0x00, 0x05, 0x00, 0x00, 0x05, 0x00}, ErrDuplicateExtension, 4},
		{"odd uint16 vector", func(b []byte) error { _, err := DecodeCapabilities(b); return err },
			[]byte{0x01, 0x00, 0, 0, 0, 0}, ErrTruncated, 1},
		{"element overruns its vector", func(b []byte) error { _, err := DecodeExtensions(b); return err },
			[]byte{0x03, 0x00, 0x01, 0x01, 0xaa}, ErrTruncated, 4},
		{"unknown leaf node source", func(b []byte) error { _, err := DecodeLeafNode(b); return err },
			[]byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x04}, ErrInvalidValue, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err %T is not a *DecodeError", err)
			}
			if de.Offset != tt.offset {
				t.Errorf("offset = %d, want %d (%v)", de.Offset, tt.offset, err)
			}
		})
	}
}

func TestPrivateMessageContentPadding(t *testing.T) {
	c := PrivateMessageContent{
		ContentType:     ContentTypeApplication,
		ApplicationData: []byte("hi"),
		Auth:            FramedContentAuthData{Signature: []byte{1, 2, 3}},
		Padding:         5,
	}
	enc, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePrivateMessageContent(enc, ContentTypeApplication)
	if err != nil || got.Padding != 5 || string(got.ApplicationData) != "hi" {
		t.Fatalf("got %+v, %v", got, err)
	}
	bad := bytes.Clone(enc)
	bad[len(bad)-2] = 1
	_, err = DecodePrivateMessageContent(bad, ContentTypeApplication)
	var de *DecodeError
	if !errors.Is(err, ErrNonZeroPadding) || !errors.As(err, &de) || de.Offset != len(bad)-2 {
		t.Fatalf("err = %v, want ErrNonZeroPadding at %d", err, len(bad)-2)
	}
	// A commit's auth data has a confirmation tag; decoding the same bytes
	// as another content type must not silently succeed differently.
	if _, err := DecodePrivateMessageContent(enc, ContentType(9)); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("unknown content type: err = %v", err)
	}
}

func TestEncodeInvalid(t *testing.T) {
	tests := []struct {
		name string
		v    interface{ Encode() ([]byte, error) }
	}{
		{"proposal without body", Proposal{ProposalType: ProposalAdd}},
		{"mls message without body", MLSMessage{Version: MLS10, WireFormat: WireFormatWelcome}},
		{"mls message unknown wire format", MLSMessage{Version: MLS10, WireFormat: 9}},
		{"node without content", Node{NodeType: NodeTypeLeaf}},
		{"leaf node bad source", LeafNode{LeafNodeSource: 7}},
		{"sender bad type", Sender{SenderType: 0}},
		{"psk bad type", PreSharedKeyID{PSKType: 0}},
		{"framed content without commit", FramedContent{ContentType: ContentTypeCommit, Sender: MemberSender(0)}},
		{"tbs without context", FramedContentTBS{Content: FramedContent{ContentType: ContentTypeApplication, Sender: MemberSender(0)}}},
		{"inline proposal-or-ref without proposal", Commit{Proposals: []ProposalOrRef{{Type: ProposalOrRefProposal}}}},
		{"negative padding", PrivateMessageContent{ContentType: ContentTypeApplication, Padding: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.v.Encode(); !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("err = %v, want ErrInvalidValue", err)
			}
		})
	}
}

func TestRatchetTreeWellformed(t *testing.T) {
	leaf := &Node{NodeType: NodeTypeLeaf, Leaf: &LeafNode{}}
	parent := &Node{NodeType: NodeTypeParent, Parent: &ParentNode{}}
	tests := []struct {
		name string
		tree RatchetTree
		err  error
	}{
		{"one leaf", RatchetTree{leaf}, nil},
		{"three", RatchetTree{leaf, parent, leaf}, nil},
		{"blank middle", RatchetTree{leaf, nil, nil, nil, leaf}, nil},
		{"empty", RatchetTree{}, ErrEmptyTree},
		{"trailing blank", RatchetTree{leaf, nil, nil}, ErrTrailingBlank},
		{"parent at leaf position", RatchetTree{parent}, ErrNodeTypeMismatch},
		{"leaf at parent position", RatchetTree{leaf, leaf, leaf}, ErrNodeTypeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.tree.Wellformed(); !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
		})
	}
}

// TestUnknownTypesRoundTrip checks that open enums keep unknown values:
// a custom proposal, a custom credential, a GREASE extension.
func TestUnknownTypesRoundTrip(t *testing.T) {
	p := Proposal{ProposalType: 0xf0a1, Data: []byte{1, 2, 3}}
	enc, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0xf0, 0xa1, 0x03, 1, 2, 3}; !bytes.Equal(enc, want) {
		t.Fatalf("custom proposal = %x, want %x", enc, want)
	}
	got, err := DecodeProposal(enc)
	if err != nil || got.ProposalType != 0xf0a1 || !bytes.Equal(got.Data, p.Data) {
		t.Fatalf("got %+v, %v", got, err)
	}
	c := Credential{CredentialType: 0x0a0a, Data: []byte{9}}
	enc, err = c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	gc, err := DecodeCredential(enc)
	if err != nil || gc.CredentialType != 0x0a0a || !bytes.Equal(gc.Data, c.Data) {
		t.Fatalf("got %+v, %v", gc, err)
	}
}

// TestStrictPrefixes checks crypto/tls's property: no strict prefix of a
// valid encoding decodes. Every field of every case of messages.json is
// cut; by default at the first and last 64 lengths and 64 lengths spread
// between (where a length prefix or a vector ends is covered for the short
// encodings, sampled for the long ones), at every length with MLS_LONG=1
// (about 1.4 million decodes). -short checks every 25th case.
func TestStrictPrefixes(t *testing.T) {
	cases := loadMessages(t)
	step := 1
	if testing.Short() {
		step = 25
	}
	for i := 0; i < len(cases); i += step {
		for field, f := range messageFields {
			full := cases[i][field]
			for _, n := range prefixLengths(len(full), longRun()) {
				if _, err := f(full[:n]); err == nil {
					t.Fatalf("case %d: field %s: prefix of %d/%d bytes decodes", i, field, n, len(full))
				}
			}
		}
	}
}

// prefixLengths returns the strict prefix lengths of an n-byte encoding
// that TestStrictPrefixes tries: all of them if all is set or n <= 192,
// else 0..63, n-64..n-1 and 64 lengths evenly spread between.
func prefixLengths(n int, all bool) []int {
	var ls []int
	if all || n <= 192 {
		for l := range n {
			ls = append(ls, l)
		}
		return ls
	}
	for l := range 64 {
		ls = append(ls, l, n-64+l)
	}
	for k := range 64 {
		ls = append(ls, 64+k*(n-128)/64)
	}
	return ls
}

// TestMessagesRoundTrip duplicates the vectors runner so that go test
// ./codec alone covers the vectors.
func TestMessagesRoundTrip(t *testing.T) {
	for i, c := range loadMessages(t) {
		for field, f := range messageFields {
			got, err := f(c[field])
			if err != nil {
				t.Fatalf("case %d: field %s: %v", i, field, err)
			}
			if !bytes.Equal(got, c[field]) {
				t.Fatalf("case %d: field %s: re-encoding differs", i, field)
			}
		}
	}
}

func TestDuplicateExtensionLongList(t *testing.T) {
	for _, dupAt := range []int{1, 5, 9, 15} {
		var es Extensions
		for i := range 16 {
			es = append(es, Extension{ExtensionType: ExtensionType(100 + i)})
		}
		es[dupAt].ExtensionType = 100
		enc := mustEncode(t, es)
		_, err := DecodeExtensions(enc)
		var de *DecodeError
		if !errors.Is(err, ErrDuplicateExtension) || !errors.As(err, &de) || de.Offset != 1+3*dupAt {
			t.Errorf("duplicate at %d: err = %v", dupAt, err)
		}
		es[dupAt].ExtensionType = 1000
		if _, err := DecodeExtensions(mustEncode(t, es)); err != nil {
			t.Errorf("distinct list: %v", err)
		}
	}
}
