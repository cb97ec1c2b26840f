package pool

import "testing"

func TestParseRole(t *testing.T) {
	cases := []struct {
		caps []string
		want nodeRole
	}{
		{[]string{"append", "server_info.v1"}, nodeRole{}},
		{[]string{"append", "role:leader"}, nodeRole{known: true, leads: true}},
		{[]string{"role:leader", "term:7", "leader:127.0.0.1:7001"}, nodeRole{known: true, leads: true, term: 7, leader: "127.0.0.1:7001"}},
		{[]string{"role:follower", "term:8", "leader:[::1]:7002"}, nodeRole{known: true, term: 8, leader: "[::1]:7002"}},
		{[]string{"role:candidate", "term:x"}, nodeRole{known: true}},
	}
	for _, tc := range cases {
		if got := parseRole(tc.caps); got != tc.want {
			t.Errorf("parseRole(%q) = %+v, want %+v", tc.caps, got, tc.want)
		}
	}
}
