package middleware

import (
	"slices"
	"testing"
)

func TestParseOrigins(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"*", []string{"*"}},
		{" https://Dash.Example.com , http://localhost:3000,", []string{"https://dash.example.com", "http://localhost:3000"}},
	} {
		got, err := ParseOrigins(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseOrigins(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"dash.example.com", "https://dash.example.com/", "https://dash.example.com/app", "https://dash.example.com?x=1", "https://u@dash.example.com", "https://"} {
		if got, err := ParseOrigins(bad); err == nil {
			t.Errorf("ParseOrigins(%q) = %q, want an error", bad, got)
		}
	}
}
