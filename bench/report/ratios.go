package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// ratio is one named ratio and its rounds, in the order the run printed them.
type ratio struct {
	name, desc string
	goalOp     string // "<=", ">=" or ""
	goal       float64
	rounds     []float64
}

func (r *ratio) median() float64 {
	v := slices.Clone(r.rounds)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (r *ratio) spread() (lo, hi float64) { return slices.Min(r.rounds), slices.Max(r.rounds) }

// met reports whether the median reaches the goal; ok is false without a goal.
func (r *ratio) met() (met, ok bool) {
	switch r.goalOp {
	case "<=":
		return r.median() <= r.goal, true
	case ">=":
		return r.median() >= r.goal, true
	}
	return false, false
}

// parse reads RATIO lines: "RATIO name value [<=goal|>=goal] [# description]".
func parse(in io.Reader) ([]*ratio, error) {
	var out []*ratio
	byName := map[string]*ratio{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(text, "RATIO ") {
			continue
		}
		text, desc, _ := strings.Cut(text, "#")
		f := strings.Fields(text)
		if len(f) < 3 || len(f) > 4 {
			return nil, fmt.Errorf("line %d: want RATIO name value [<=goal|>=goal] [# description]: %q", line, sc.Text())
		}
		v, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: value %q: %v", line, f[2], err)
		}
		r := byName[f[1]]
		if r == nil {
			r = &ratio{name: f[1]}
			byName[f[1]] = r
			out = append(out, r)
		}
		r.rounds = append(r.rounds, v)
		if d := strings.TrimSpace(desc); d != "" {
			r.desc = d
		}
		if len(f) == 4 {
			op := f[3][:min(2, len(f[3]))]
			g, err := strconv.ParseFloat(f[3][len(op):], 64)
			if (op != "<=" && op != ">=") || err != nil {
				return nil, fmt.Errorf("line %d: goal %q is not <=N or >=N", line, f[3])
			}
			r.goalOp, r.goal = op, g
		}
	}
	return out, sc.Err()
}
