package testrun

import "testing"

func TestChecks(t *testing.T) {
	tests := []struct {
		env  string
		want int
	}{
		{"", 20},
		{"0", 20},
		{"1", 1000},
		{"40", 40},
		{"yes", 1000},
	}
	for _, tt := range tests {
		t.Run("MLS_PROPS_LONG="+tt.env, func(t *testing.T) {
			t.Setenv("MLS_PROPS_LONG", tt.env)
			if got := Checks(20); got != tt.want {
				t.Errorf("Checks(20) = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestLong(t *testing.T) {
	for env, want := range map[string]bool{"": false, "0": false, "1": true} {
		t.Setenv("MLS_LONG", env)
		if got := Long(); got != want {
			t.Errorf("MLS_LONG=%q: Long() = %v, want %v", env, got, want)
		}
	}
}

func TestAllocated(t *testing.T) {
	var keep []byte
	n := Allocated(func() { keep = make([]byte, 1<<20) })
	if n < 1<<20 || n > 2<<20 {
		t.Errorf("Allocated(make 1 MiB) = %d", n)
	}
	_ = keep
}
