package tree

import (
	"reflect"
	"slices"
	"testing"
)

// TestPrivatePathEncodingCoversEveryField fails when a field is added to
// PrivatePath or nodeKey: encode it in MarshalSecrets, or list it as
// derived (the public key is derived from the private one on decoding).
func TestPrivatePathEncodingCoversEveryField(t *testing.T) {
	derived := map[string]bool{"nodeKey.pub": true}
	for _, tt := range []struct {
		typ    reflect.Type
		fields []string
	}{
		{reflect.TypeFor[PrivatePath](), []string{"leaf", "keys"}},
		{reflect.TypeFor[nodeKey](), []string{"node", "priv"}},
	} {
		var got []string
		for f := range tt.typ.Fields() {
			if !derived[tt.typ.Name()+"."+f.Name] {
				got = append(got, f.Name)
			}
		}
		if !slices.Equal(got, tt.fields) {
			t.Errorf("%s has fields %v, the encoding covers %v: encode the new field or declare it derived", tt.typ.Name(), got, tt.fields)
		}
	}
}
