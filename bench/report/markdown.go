package main

import (
	"fmt"
	"strconv"
	"strings"
)

// markdown renders the results table. prev holds the previous run's medians by name.
func markdown(rs []*ratio, prev map[string]float64, f facts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# make bench results\n\n")
	fmt.Fprintf(&b, "- date: %s\n- machine: %s (%s)\n- Go: %s\n\n", f.date, f.host, f.cpu, f.goVersion)
	b.WriteString("Ratios measured side by side in one run; median and spread (min–max) over the rounds.\n")
	b.WriteString("The previous run is in results.previous.md; Δ is this median minus the previous one.\n\n")
	b.WriteString("| ratio | median | spread | rounds | goal | met | previous | Δ | what |\n")
	b.WriteString("|---|---:|---|---:|---|---|---:|---:|---|\n")
	for _, r := range rs {
		lo, hi := r.spread()
		goal, met := "", ""
		if r.goalOp != "" {
			goal = r.goalOp + " " + num(r.goal)
			if ok, _ := r.met(); ok {
				met = "yes"
			} else {
				met = "no"
			}
		}
		p, d := "", ""
		if v, ok := prev[r.name]; ok {
			p, d = num(v), fmt.Sprintf("%+.3f", r.median()-v)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s–%s | %d | %s | %s | %s | %s | %s |\n",
			r.name, num(r.median()), num(lo), num(hi), len(r.rounds), goal, met, p, d, strings.ReplaceAll(r.desc, "|", "/"))
	}
	return b.String()
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// previousMedians reads the medians back from an earlier results.md.
func previousMedians(md string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(md, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if v, err := strconv.ParseFloat(strings.TrimSpace(cells[2]), 64); err == nil && name != "" {
			out[name] = v
		}
	}
	return out
}
