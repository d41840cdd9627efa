package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/treemath"
)

const inspectUsage = `usage: mls inspect [-json] [-full] [-in FORMAT] [-type TYPE] [FILE|-]

Inspect decodes one MLS structure and prints it as indented text, with the
field names of RFC 9420, or as JSON with -json.

The input is read from FILE, or from standard input when FILE is "-" or
absent. It may be hex (an optional 0x prefix and white space are ignored),
base64 (standard or URL alphabet, padded or not) or raw bytes; -in auto, the
default, tries them in that order and keeps the first that decodes.

With -type auto, the default, the input is decoded as an MLSMessage
(KeyPackage, Welcome, GroupInfo, PublicMessage or PrivateMessage), else as a
bare ratchet tree; an event log (mls demo -out, Client.ExportLog) is
described instead: its format, mode, the version of the module that wrote
it, its policy, snapshot and records (mls replay verifies it). -type names
one structure instead:
%s.

Byte strings longer than 32 bytes are shortened in the text output unless
-full is given; the JSON output always has them in full, as hex.

A malformed input prints the decoder's error, with the byte offset into the
decoded bytes, on standard error and exits with status 1.
`

// inspectTypes maps the -type names to decoders, in the order the usage
// message lists them.
var inspectTypes = []struct {
	name   string
	decode func([]byte) (any, error)
}{
	{"mls_message", decodeAs(codec.DecodeMLSMessage)},
	{"ratchet_tree", decodeAs(codec.DecodeRatchetTree)},
	{"key_package", decodeAs(codec.DecodeKeyPackage)},
	{"welcome", decodeAs(codec.DecodeWelcome)},
	{"group_info", decodeAs(codec.DecodeGroupInfo)},
	{"public_message", decodeAs(codec.DecodePublicMessage)},
	{"private_message", decodeAs(codec.DecodePrivateMessage)},
	{"group_secrets", decodeAs(codec.DecodeGroupSecrets)},
	{"group_context", decodeAs(codec.DecodeGroupContext)},
	{"leaf_node", decodeAs(codec.DecodeLeafNode)},
	{"commit", decodeAs(codec.DecodeCommit)},
	{"proposal", decodeAs(codec.DecodeProposal)},
	{"add", decodeAs(codec.DecodeAdd)},
	{"update", decodeAs(codec.DecodeUpdate)},
	{"remove", decodeAs(codec.DecodeRemove)},
	{"pre_shared_key", decodeAs(codec.DecodePreSharedKey)},
	{"reinit", decodeAs(codec.DecodeReInit)},
	{"external_init", decodeAs(codec.DecodeExternalInit)},
	{"group_context_extensions", decodeAs(codec.DecodeGroupContextExtensions)},
	{"update_path", decodeAs(codec.DecodeUpdatePath)},
	{"framed_content", decodeAs(codec.DecodeFramedContent)},
	{"sender_data", decodeAs(codec.DecodeSenderData)},
}

func decodeAs[T any](f func([]byte) (T, error)) func([]byte) (any, error) {
	return func(b []byte) (any, error) {
		v, err := f(b)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

func inspectTypeNames() string {
	var b strings.Builder
	line := 0
	for i, t := range inspectTypes {
		if i > 0 {
			b.WriteString(",")
			line++
			if line+len(t.name) > 72 {
				b.WriteString("\n")
				line = 0
			} else {
				b.WriteString(" ")
				line++
			}
		}
		b.WriteString(t.name)
		line += len(t.name)
	}
	return b.String()
}

func runInspect(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("inspect", stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	full := fs.Bool("full", false, "print byte strings in full in the text output")
	in := fs.String("in", "auto", "input `format`: auto, hex, base64 or raw")
	typ := fs.String("type", "auto", "structure to decode: auto or a `type` listed above")
	fs.Usage = func() {
		fmt.Fprintf(stderr, inspectUsage, inspectTypeNames())
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	if len(pos) > 1 {
		return usageError(stderr, "inspect", fmt.Sprintf("one FILE expected, got %d arguments", len(pos)))
	}
	if !slices.Contains([]string{"auto", "hex", "base64", "raw"}, *in) {
		return usageError(stderr, "inspect", fmt.Sprintf("-in %q: want auto, hex, base64 or raw", *in))
	}
	if *typ != "auto" && !knownInspectType(*typ) {
		return usageError(stderr, "inspect", fmt.Sprintf("-type %q: no such type (mls help inspect lists them)", *typ))
	}
	name := "-"
	if len(pos) == 1 {
		name = pos[0]
	}
	var data []byte
	if name == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mls inspect: %v\n", err)
		return 1
	}
	if *typ == "auto" && (*in == "auto" || *in == "raw") {
		if l, err := replay.ReadLog(data); l != nil && !errors.Is(err, replay.ErrNotLog) {
			stdout.Write(inspectLog(l, err, *asJSON))
			if err != nil {
				fmt.Fprintf(stderr, "mls inspect: %s: %v\n", name, err)
				return 1
			}
			return 0
		}
	}
	res, err := inspectBytes(data, *in, *typ)
	if errors.Is(err, errUsage) {
		return usageError(stderr, "inspect", err.Error())
	}
	if err != nil {
		fmt.Fprintf(stderr, "mls inspect: %s: %v\n", name, err)
		return 1
	}
	stdout.Write(res.format(*asJSON, *full))
	return 0
}

// inspectLog describes an event log (mls replay runs it): its header —
// with the version of the module that wrote it — its snapshot and its
// records. readErr is ReadLog's error for a damaged log, whose readable
// records l holds.
func inspectLog(l *replay.Log, readErr error, asJSON bool) []byte {
	h := l.Header
	var buf bytes.Buffer
	if asJSON {
		out := map[string]any{"type": "event_log", "format": h.Format, "mode": h.Mode.String(), "module": h.Module,
			"policy": h.PolicyID, "records": len(l.Records), "dropped_bytes": l.Recovery.DroppedBytes}
		if l.Snapshot != nil {
			out["snapshot_seq"] = l.Snapshot.Seq
		}
		if readErr != nil {
			out["error"] = readErr.Error()
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		return append(b, '\n')
	}
	fmt.Fprintf(&buf, "event log: format %d, %s mode, written by module %s, policy %s\n", h.Format, h.Mode, h.Module, h.PolicyID)
	if l.Snapshot != nil {
		fmt.Fprintf(&buf, "  snapshot of the state before record %d\n", l.Snapshot.Seq)
	}
	if n := len(l.Records); n > 0 {
		fmt.Fprintf(&buf, "  %d records, %d to %d\n", n, l.Records[0].Seq, l.Records[n-1].Seq)
	} else {
		fmt.Fprintf(&buf, "  no records\n")
	}
	if l.Recovery.DroppedBytes > 0 {
		fmt.Fprintf(&buf, "  a torn final record dropped (%d bytes)\n", l.Recovery.DroppedBytes)
	}
	fmt.Fprintf(&buf, "  (mls replay LOG replays and verifies it)\n")
	return buf.Bytes()
}

// format prints the decoded structure as text or JSON.
func (r inspected) format(asJSON, full bool) []byte {
	var buf bytes.Buffer
	if asJSON {
		writeJSON(&buf, obj{
			{key: "type", val: scalar{json: r.typ}},
			{key: "input", val: scalar{json: r.encoding}},
			{key: "length", val: scalar{json: len(r.raw)}},
			{key: "value", val: render(reflect.ValueOf(r.value))},
		}, "")
		buf.WriteByte('\n')
		return buf.Bytes()
	}
	fmt.Fprintf(&buf, "%s, %d bytes (%s input)\n", r.title(), len(r.raw), r.encoding)
	p := &textPrinter{w: &buf, full: full}
	p.print(render(reflect.ValueOf(r.value)), 0)
	return buf.Bytes()
}

// knownInspectType reports whether typ names one of inspectTypes.
func knownInspectType(typ string) bool {
	return slices.Contains(inspectTypeList(), typ)
}

// inspectTypeList returns the names of inspectTypes, in order.
func inspectTypeList() []string {
	var names []string
	for _, t := range inspectTypes {
		names = append(names, t.name)
	}
	return names
}

// errUsage marks errors in the flags' values.
var errUsage = errors.New("invalid flag value")

type inspected struct {
	encoding string // hex, base64 or raw
	typ      string // the -type name of the structure
	raw      []byte // the decoded bytes
	value    any    // the codec structure
}

func (r inspected) title() string {
	if m, ok := r.value.(codec.MLSMessage); ok {
		return "MLSMessage " + m.WireFormat.String()
	}
	if t, ok := r.value.(codec.RatchetTree); ok {
		return fmt.Sprintf("ratchet_tree of %d nodes", len(t))
	}
	return r.typ
}

// inspectBytes finds the input's encoding and decodes the structure.
// When no candidate encoding decodes, the error is the decoder's error for
// the most plausible one (the first textual encoding that applies, else raw).
func inspectBytes(data []byte, in, typ string) (inspected, error) {
	type candidate struct {
		format string
		raw    []byte
	}
	if len(data) == 0 {
		return inspected{}, errors.New("empty input")
	}
	var cands []candidate
	text := strings.Join(strings.Fields(string(data)), "")
	switch in {
	case "auto", "hex", "base64", "raw":
	default:
		return inspected{}, fmt.Errorf("%w: -in %q (want auto, hex, base64 or raw)", errUsage, in)
	}
	if in == "auto" || in == "hex" {
		h := strings.TrimPrefix(strings.TrimPrefix(text, "0x"), "0X")
		if b, err := hex.DecodeString(h); err == nil && len(h) > 0 {
			cands = append(cands, candidate{"hex", b})
		} else if in == "hex" {
			return inspected{}, fmt.Errorf("input is not hex: %v", err)
		}
	}
	if in == "auto" || in == "base64" {
		if b, ok := decodeBase64(text); ok {
			cands = append(cands, candidate{"base64", b})
		} else if in == "base64" {
			return inspected{}, errors.New("input is not base64")
		}
	}
	if in == "auto" || in == "raw" {
		cands = append(cands, candidate{"raw", data})
	}

	var decoders []string
	if typ == "auto" {
		decoders = []string{"mls_message", "ratchet_tree"}
	} else {
		if !knownInspectType(typ) {
			return inspected{}, fmt.Errorf("%w: -type %q (see mls help inspect)", errUsage, typ)
		}
		decoders = []string{typ}
	}
	var firstErr error
	for _, c := range cands {
		var errs []error
		for _, name := range decoders {
			v, err := decodeType(name, c.raw)
			if err == nil {
				return inspected{encoding: c.format, typ: name, raw: c.raw, value: v}, nil
			}
			if len(decoders) > 1 {
				err = fmt.Errorf("as %s: %w", name, err)
			}
			errs = append(errs, err)
		}
		if firstErr == nil {
			if len(errs) == 1 {
				firstErr = fmt.Errorf("%s input of %d bytes: %w", c.format, len(c.raw), errs[0])
			} else {
				var b strings.Builder
				for _, e := range errs {
					b.WriteString("\n\t" + e.Error())
				}
				firstErr = fmt.Errorf("%s input of %d bytes:%s", c.format, len(c.raw), b.String())
			}
		}
	}
	if firstErr == nil {
		firstErr = errors.New("empty input")
	}
	return inspected{}, firstErr
}

func decodeType(name string, b []byte) (any, error) {
	for _, t := range inspectTypes {
		if t.name == name {
			return t.decode(b)
		}
	}
	panic("inspect: unknown type " + name)
}

func decodeBase64(s string) ([]byte, bool) {
	if s == "" {
		return nil, false
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// The rendered form of a structure: an ordered tree that both printers walk.
type (
	// obj is a structure: fields in wire order.
	obj []kv
	// kv is one field. jsonOnly fields are left out of the text output,
	// which carries them in the label of the enclosing list item instead.
	kv struct {
		key      string
		val      any // obj, list or scalar
		jsonOnly bool
	}
	// list is a vector.
	list []item
	// item is one element of a list, with its label for the text output.
	item struct {
		label string
		val   any
	}
	// scalar is a leaf value: its text form and its JSON value (a string,
	// number, bool or obj).
	scalar struct {
		text    string
		json    any
		bytes   []byte // for byte strings, shortened at print time
		textual bool   // a byte string that is often text (identities, group ids)
	}
)

var (
	leafIndexType = reflect.TypeFor[treemath.LeafIndex]()
	stringerType  = reflect.TypeFor[fmt.Stringer]()
)

// render turns a codec value into the ordered tree. It returns nil for
// absent values (nil pointers: the unselected cases of tagged unions).
func render(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch x := v.Interface().(type) {
	case codec.Sender:
		return renderSender(x)
	case codec.CipherSuite:
		return enumScalar(cipherSuiteName(x), uint64(x))
	case codec.ProtocolVersion:
		name := "unknown"
		if x == codec.MLS10 {
			name = "mls10"
		}
		return enumScalar(name, uint64(x))
	case codec.ExtensionType:
		return enumScalar(extensionName(x), uint64(x))
	case codec.CredentialType:
		return enumScalar(credentialName(x), uint64(x))
	case codec.NodeType:
		return enumScalar(map[codec.NodeType]string{codec.NodeTypeLeaf: "leaf", codec.NodeTypeParent: "parent"}[x], uint64(x))
	case codec.PSKType:
		return enumScalar(map[codec.PSKType]string{codec.PSKTypeExternal: "external", codec.PSKTypeResumption: "resumption"}[x], uint64(x))
	case codec.ResumptionPSKUsage:
		return enumScalar(map[codec.ResumptionPSKUsage]string{codec.ResumptionPSKUsageApplication: "application",
			codec.ResumptionPSKUsageReInit: "reinit", codec.ResumptionPSKUsageBranch: "branch"}[x], uint64(x))
	case codec.ProposalOrRefType:
		return enumScalar(map[codec.ProposalOrRefType]string{codec.ProposalOrRefProposal: "proposal", codec.ProposalOrRefReference: "reference"}[x], uint64(x))
	case codec.RatchetTree:
		return renderTree(x)
	case codec.Extension:
		return renderExtension(x)
	case codec.Extensions:
		l := list{}
		for i, e := range x {
			o := renderExtension(e)
			o[0].jsonOnly = true
			l = append(l, item{fmt.Sprintf("[%d] %s", i, extensionLabel(e.ExtensionType)), o})
		}
		return l
	case []codec.ProposalOrRef:
		return renderProposalList(x)
	case []codec.Proposal:
		l := list{}
		for i, p := range x {
			l = append(l, item{fmt.Sprintf("[%d] %s", i, p.ProposalType), render(reflect.ValueOf(p))})
		}
		return l
	case codec.LeafNode:
		return renderStruct(v, func(f string) bool {
			return (f == "Lifetime" && x.LeafNodeSource != codec.LeafNodeSourceKeyPackage) ||
				(f == "ParentHash" && x.LeafNodeSource != codec.LeafNodeSourceCommit)
		})
	case codec.Credential:
		return renderStruct(v, func(f string) bool {
			switch f {
			case "Identity":
				return x.CredentialType != codec.CredentialBasic
			case "Certificates":
				return x.CredentialType != codec.CredentialX509
			case "Data":
				return x.CredentialType == codec.CredentialBasic || x.CredentialType == codec.CredentialX509
			}
			return false
		})
	case codec.PreSharedKeyID:
		return renderStruct(v, func(f string) bool {
			switch f {
			case "PSKID":
				return x.PSKType != codec.PSKTypeExternal
			case "Usage", "PSKGroupID", "PSKEpoch":
				return x.PSKType != codec.PSKTypeResumption
			}
			return false
		})
	case codec.FramedContent:
		return renderStruct(v, func(f string) bool {
			return f == "ApplicationData" && x.ContentType != codec.ContentTypeApplication
		})
	case codec.PrivateMessageContent:
		return renderStruct(v, func(f string) bool {
			return f == "ApplicationData" && x.ContentType != codec.ContentTypeApplication
		})
	case codec.FramedContentAuthData:
		return renderStruct(v, func(f string) bool { return f == "ConfirmationTag" && x.ConfirmationTag == nil })
	case codec.PublicMessage:
		return renderStruct(v, func(f string) bool {
			return f == "MembershipTag" && x.Content.Sender.SenderType != codec.SenderTypeMember
		})
	case codec.Proposal:
		return renderStruct(v, func(f string) bool { return f == "Data" && x.ProposalType.IsDefault() })
	}

	t := v.Type()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return render(v.Elem())
	case reflect.Struct:
		return renderStruct(v, nil)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return bytesScalar(v.Bytes())
		}
		l := list{}
		for i := range v.Len() {
			l = append(l, item{fmt.Sprintf("[%d]", i), render(v.Index(i))})
		}
		return l
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			return bytesScalar(b)
		}
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n := v.Uint()
		if t != leafIndexType && t.Implements(stringerType) {
			return enumScalar(v.Interface().(fmt.Stringer).String(), n)
		}
		return scalar{text: strconv.FormatUint(n, 10), json: n}
	case reflect.Int:
		return scalar{text: strconv.FormatInt(v.Int(), 10), json: v.Int()}
	case reflect.Bool:
		return scalar{text: strconv.FormatBool(v.Bool()), json: v.Bool()}
	}
	panic("inspect: cannot render " + t.String())
}

// renderStruct renders the exported fields of a struct in order, leaving
// out those skip names and absent ones.
func renderStruct(v reflect.Value, skip func(field string) bool) obj {
	o := obj{}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || (skip != nil && skip(f.Name)) {
			continue
		}
		r := render(v.Field(i))
		if sc, ok := r.(scalar); ok && sc.bytes != nil && textFields[f.Name] {
			sc.textual = true
			r = sc
		}
		if r != nil {
			o = append(o, kv{key: rfcName(f.Name), val: r})
		}
	}
	return o
}

func renderSender(s codec.Sender) scalar {
	j := obj{{key: "sender_type", val: scalar{json: s.SenderType.String()}}}
	text := s.SenderType.String()
	switch s.SenderType {
	case codec.SenderTypeMember:
		text += fmt.Sprintf(", leaf %d", s.LeafIndex)
		j = append(j, kv{key: "leaf_index", val: scalar{json: uint64(s.LeafIndex)}})
	case codec.SenderTypeExternal:
		text += fmt.Sprintf(", sender_index %d", s.SenderIndex)
		j = append(j, kv{key: "sender_index", val: scalar{json: uint64(s.SenderIndex)}})
	}
	return scalar{text: text, json: j}
}

func renderTree(t codec.RatchetTree) list {
	l := list{}
	for i, n := range t {
		label := fmt.Sprintf("node %d", i)
		o := obj{{key: "node_index", val: scalar{json: i}, jsonOnly: true}}
		if i%2 == 0 {
			label += fmt.Sprintf(", leaf %d", i/2)
			o = append(o, kv{key: "leaf_index", val: scalar{json: i / 2}, jsonOnly: true})
		} else {
			label += ", parent"
		}
		if n == nil {
			label += ": blank"
			o = append(o, kv{key: "blank", val: scalar{json: true}, jsonOnly: true})
		} else if n.Leaf != nil {
			o = append(o, renderStruct(reflect.ValueOf(*n.Leaf), func(f string) bool {
				return (f == "Lifetime" && n.Leaf.LeafNodeSource != codec.LeafNodeSourceKeyPackage) ||
					(f == "ParentHash" && n.Leaf.LeafNodeSource != codec.LeafNodeSourceCommit)
			})...)
		} else if n.Parent != nil {
			o = append(o, renderStruct(reflect.ValueOf(*n.Parent), nil)...)
		}
		l = append(l, item{label, o})
	}
	return l
}

func renderProposalList(ps []codec.ProposalOrRef) list {
	l := list{}
	for i, p := range ps {
		if p.Type == codec.ProposalOrRefReference {
			ref := bytesScalar(p.Reference)
			ref.json = obj{
				{key: "type", val: scalar{json: "reference"}},
				{key: "reference", val: bytesScalar(p.Reference)},
			}
			l = append(l, item{fmt.Sprintf("[%d] reference", i), ref})
			continue
		}
		o := obj{{key: "type", val: scalar{json: "proposal"}, jsonOnly: true}}
		label := fmt.Sprintf("[%d] proposal", i)
		if p.Proposal != nil {
			label = fmt.Sprintf("[%d] %s", i, p.Proposal.ProposalType)
			o = append(o, kv{key: "proposal", val: render(reflect.ValueOf(*p.Proposal))})
		}
		l = append(l, item{label, o})
	}
	return l
}

// renderExtension shows an extension's data decoded when its type is one
// of RFC 9420's and the data decodes, and as bytes otherwise.
func renderExtension(e codec.Extension) obj {
	o := obj{
		{key: "extension_type", val: render(reflect.ValueOf(e.ExtensionType))},
		{key: "extension_data", val: bytesScalar(e.ExtensionData)},
	}
	var dec any
	var err error
	switch e.ExtensionType {
	case codec.ExtensionApplicationID:
		dec, err = codec.DecodeApplicationID(e.ExtensionData)
	case codec.ExtensionRatchetTree:
		dec, err = codec.DecodeRatchetTree(e.ExtensionData)
	case codec.ExtensionRequiredCapabilities:
		dec, err = codec.DecodeRequiredCapabilities(e.ExtensionData)
	case codec.ExtensionExternalPub:
		dec, err = codec.DecodeExternalPub(e.ExtensionData)
	case codec.ExtensionExternalSenders:
		dec, err = codec.DecodeExternalSenders(e.ExtensionData)
	default:
		return o
	}
	if err != nil {
		return append(o, kv{key: "decode_error", val: scalar{text: err.Error(), json: err.Error()}})
	}
	return append(o, kv{key: "decoded", val: render(reflect.ValueOf(dec))})
}

func enumScalar(name string, n uint64) scalar {
	if name == "" {
		name = "unknown"
	}
	return scalar{text: fmt.Sprintf("%s (%d)", name, n), json: name}
}

func bytesScalar(b []byte) scalar {
	return scalar{json: hex.EncodeToString(b), bytes: b}
}

func cipherSuiteName(cs codec.CipherSuite) string {
	names := map[codec.CipherSuite]string{
		1: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
		2: "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
		3: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
		4: "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448",
		5: "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
		6: "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448",
		7: "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
	}
	return names[cs]
}

func extensionName(t codec.ExtensionType) string {
	return map[codec.ExtensionType]string{
		codec.ExtensionApplicationID:        "application_id",
		codec.ExtensionRatchetTree:          "ratchet_tree",
		codec.ExtensionRequiredCapabilities: "required_capabilities",
		codec.ExtensionExternalPub:          "external_pub",
		codec.ExtensionExternalSenders:      "external_senders",
	}[t]
}

func extensionLabel(t codec.ExtensionType) string {
	if n := extensionName(t); n != "" {
		return n
	}
	return fmt.Sprintf("extension %#04x", uint16(t))
}

func credentialName(t codec.CredentialType) string {
	return map[codec.CredentialType]string{codec.CredentialBasic: "basic", codec.CredentialX509: "x509"}[t]
}

// textFields names the byte-string fields that applications often fill
// with text; the text output shows them quoted when they are printable.
var textFields = map[string]bool{
	"Identity": true, "GroupID": true, "AuthenticatedData": true, "ApplicationData": true,
	"PSKID": true, "PSKGroupID": true, "ApplicationID": true,
}

// rfcNames holds the Go field names whose RFC name the generic conversion
// does not produce.
var rfcNames = map[string]string{
	"PSKs":    "psks",
	"PSKID":   "psk_id",
	"Secrets": "secrets",
	"Data":    "data",
}

// rfcName converts a Go field name (the RFC name in Go case) back to the
// RFC's snake case: KEMOutput → kem_output, PSKGroupID → psk_group_id.
func rfcName(goName string) string {
	if n, ok := rfcNames[goName]; ok {
		return n
	}
	r := []rune(goName)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || (unicode.IsUpper(r[i-1]) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// textPrinter writes the rendered tree as indented text.
type textPrinter struct {
	w    io.Writer
	full bool
}

func (p *textPrinter) print(v any, depth int) {
	ind := strings.Repeat("  ", depth)
	switch x := v.(type) {
	case obj:
		for _, f := range x {
			if f.jsonOnly {
				continue
			}
			p.field(ind, f.key, f.val, depth)
		}
	case list:
		for _, it := range x {
			p.field(ind, it.label, it.val, depth)
		}
	case scalar:
		fmt.Fprintf(p.w, "%s%s\n", ind, p.scalarText(x))
	}
}

func (p *textPrinter) field(ind, key string, v any, depth int) {
	switch x := v.(type) {
	case scalar:
		fmt.Fprintf(p.w, "%s%s: %s\n", ind, key, p.scalarText(x))
	case list:
		if len(x) == 0 {
			fmt.Fprintf(p.w, "%s%s: (none)\n", ind, key)
			return
		}
		if line, ok := p.inline(x); ok {
			fmt.Fprintf(p.w, "%s%s: [%s]\n", ind, key, line)
			return
		}
		fmt.Fprintf(p.w, "%s%s: %d\n", ind, key, len(x))
		p.print(x, depth+1)
	case obj:
		visible := slices.ContainsFunc(x, func(f kv) bool { return !f.jsonOnly })
		if !visible {
			fmt.Fprintf(p.w, "%s%s\n", ind, key)
			return
		}
		fmt.Fprintf(p.w, "%s%s:\n", ind, key)
		p.print(x, depth+1)
	}
}

// inline returns a list of short scalars on one line.
func (p *textPrinter) inline(l list) (string, bool) {
	var parts []string
	n := 0
	for _, it := range l {
		s, ok := it.val.(scalar)
		if !ok || s.bytes != nil {
			return "", false
		}
		t := p.scalarText(s)
		n += len(t) + 2
		parts = append(parts, t)
	}
	return strings.Join(parts, ", "), n <= 160
}

// scalarText formats a scalar; byte strings are hex, shortened unless full,
// and short printable ones are also shown as text.
func (p *textPrinter) scalarText(s scalar) string {
	if s.bytes == nil && s.text == "" {
		if str, ok := s.json.(string); ok {
			if s.json == "" {
				return "(empty)"
			}
			return str
		}
	}
	if s.bytes == nil {
		return s.text
	}
	b := s.bytes
	if len(b) == 0 {
		return "(empty)"
	}
	if s.textual && printable(b) && len(b) <= 64 {
		return fmt.Sprintf("%q (%d bytes)", b, len(b))
	}
	if p.full || len(b) <= 32 {
		return hex.EncodeToString(b)
	}
	return fmt.Sprintf("%s…%s (%d bytes)", hex.EncodeToString(b[:12]), hex.EncodeToString(b[len(b)-4:]), len(b))
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// writeJSON writes v with its fields in wire order.
func writeJSON(buf *bytes.Buffer, v any, ind string) {
	in := ind + "  "
	switch x := v.(type) {
	case obj:
		buf.WriteString("{")
		for i, f := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString("\n" + in)
			k, _ := json.Marshal(f.key)
			buf.Write(k)
			buf.WriteString(": ")
			writeJSON(buf, f.val, in)
		}
		if len(x) > 0 {
			buf.WriteString("\n" + ind)
		}
		buf.WriteString("}")
	case list:
		buf.WriteString("[")
		for i, it := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString("\n" + in)
			writeJSON(buf, it.val, in)
		}
		if len(x) > 0 {
			buf.WriteString("\n" + ind)
		}
		buf.WriteString("]")
	case scalar:
		if o, ok := x.json.(obj); ok {
			writeJSON(buf, o, ind)
			return
		}
		b, err := json.Marshal(x.json)
		if err != nil {
			panic("inspect: " + err.Error())
		}
		buf.Write(b)
	case nil:
		buf.WriteString("null")
	}
}
