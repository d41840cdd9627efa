package codec

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// vectorsDir replicates vectors.DefaultDir (importing package vectors from
// here would be an import cycle): $MLS_TEST_VECTORS, else
// ../shared/vectors/mlswg next to the directory holding go.mod.
func vectorsDir() string {
	if d := os.Getenv("MLS_TEST_VECTORS"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared", "vectors", "mlswg")
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "vectors", "mlswg")
		}
		if filepath.Dir(d) == d {
			return filepath.Join("..", "shared", "vectors", "mlswg")
		}
	}
}

// messagesVectors returns the cases of messages.json as field name → bytes,
// or nil if the file is missing.
func messagesVectors() ([]map[string][]byte, error) {
	data, err := os.ReadFile(filepath.Join(vectorsDir(), "messages.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var raw []map[string]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	cases := make([]map[string][]byte, len(raw))
	for i, c := range raw {
		cases[i] = make(map[string][]byte, len(c))
		for k, v := range c {
			b, err := hex.DecodeString(v)
			if err != nil {
				return nil, err
			}
			cases[i][k] = b
		}
	}
	return cases, nil
}

// loadMessages returns the cases of messages.json or skips the test.
func loadMessages(tb testing.TB) []map[string][]byte {
	tb.Helper()
	cases, err := messagesVectors()
	if err != nil {
		tb.Fatal(err)
	}
	if cases == nil {
		if v := os.Getenv("MLS_REQUIRE_VECTORS"); v != "" && v != "0" {
			tb.Fatalf("MLS_REQUIRE_VECTORS is set and messages.json is missing from %s", vectorsDir())
		}
		tb.Skipf("messages.json not found in %s; get the vectors from https://github.com/mlswg/mls-implementations/tree/main/test-vectors and set MLS_TEST_VECTORS", vectorsDir())
	}
	return cases
}

// roundTripper decodes one field of messages.json and re-encodes it.
type roundTripper func([]byte) ([]byte, error)

func rt[T interface{ Encode() ([]byte, error) }](dec func([]byte) (T, error)) roundTripper {
	return func(b []byte) ([]byte, error) {
		v, err := dec(b)
		if err != nil {
			return nil, err
		}
		return v.Encode()
	}
}

// messageFields maps each field of messages.json to its decoder.
var messageFields = map[string]roundTripper{
	"mls_welcome":                       rt(DecodeMLSMessage),
	"mls_group_info":                    rt(DecodeMLSMessage),
	"mls_key_package":                   rt(DecodeMLSMessage),
	"ratchet_tree":                      rt(DecodeRatchetTree),
	"group_secrets":                     rt(DecodeGroupSecrets),
	"add_proposal":                      rt(DecodeAdd),
	"update_proposal":                   rt(DecodeUpdate),
	"remove_proposal":                   rt(DecodeRemove),
	"pre_shared_key_proposal":           rt(DecodePreSharedKey),
	"re_init_proposal":                  rt(DecodeReInit),
	"external_init_proposal":            rt(DecodeExternalInit),
	"group_context_extensions_proposal": rt(DecodeGroupContextExtensions),
	"commit":                            rt(DecodeCommit),
	"public_message_application":        rt(DecodeMLSMessage),
	"public_message_proposal":           rt(DecodeMLSMessage),
	"public_message_commit":             rt(DecodeMLSMessage),
	"private_message":                   rt(DecodeMLSMessage),
}
