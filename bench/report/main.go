// Command report turns the RATIO lines of a `make bench` run into bench/results.md (a table of
// every ratio: median, spread over the rounds, goal, machine facts, date) and bench/results.svg
// (one bar per ratio, drawn here, no library). The previous results are kept beside them as
// results.previous.md and results.previous.svg, and the table shows each median's change.
//
//	go run ./bench/report -in LOG [-out bench]
//
// A RATIO line (see bench/run.sh) is
//
//	RATIO <name> <value> [<=goal | >=goal] [# description]
//
// one per round and ratio; lines with the same name are the rounds of one ratio. Every other
// line is ignored, so LOG can be the whole console output of the run.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	in := flag.String("in", "", "file holding the run's output (RATIO lines)")
	out := flag.String("out", "bench", "directory for results.md and results.svg")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bench/report:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	ratios, err := parse(f)
	if err != nil {
		return err
	}
	if len(ratios) == 0 {
		return fmt.Errorf("no RATIO lines in %s", in)
	}
	md, svg := filepath.Join(out, "results.md"), filepath.Join(out, "results.svg")
	prevMD, prevSVG := filepath.Join(out, "results.previous.md"), filepath.Join(out, "results.previous.svg")
	var prev map[string]float64
	if b, err := os.ReadFile(md); err == nil {
		prev = previousMedians(string(b))
		if err := os.WriteFile(prevMD, b, 0o644); err != nil {
			return err
		}
		if s, err := os.ReadFile(svg); err == nil {
			if err := os.WriteFile(prevSVG, s, 0o644); err != nil {
				return err
			}
		}
	}
	facts := machineFacts()
	if err := os.WriteFile(md, []byte(markdown(ratios, prev, facts)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(svg, []byte(chart(ratios, facts.date)), 0o644); err != nil {
		return err
	}
	fmt.Printf("bench/report: %d ratios -> %s, %s (previous run kept as %s)\n", len(ratios), md, svg, filepath.Base(prevMD))
	return nil
}

type facts struct{ date, host, cpu, goVersion string }

func machineFacts() facts {
	host, _ := os.Hostname()
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = fmt.Sprintf(", load average %s %s %s", f[0], f[1], f[2])
		}
	}
	return facts{
		date:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		host:      host,
		cpu:       fmt.Sprintf("%s, %d CPUs%s", cpu, runtime.NumCPU(), load),
		goVersion: runtime.Version(),
	}
}
