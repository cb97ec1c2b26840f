package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RATIO lines of several rounds become one row each, with median, spread and goal; other lines
// are ignored; a second run keeps the first as the previous one and shows the change.
func TestReportFromRatioLines(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	write := func(s string) {
		if err := os.WriteFile(log, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("noise\nRATIO a/b.read 2.0 <=1.5 # A over B\nRATIO a/b.read 1.0 <=1.5\nRATIO a/b.read 1.4 <=1.5\nRATIO t.put 3.5 >=3\n")
	if err := run(log, dir); err != nil {
		t.Fatal(err)
	}
	md := read(t, filepath.Join(dir, "results.md"))
	for _, want := range []string{"| `a/b.read` | 1.400 | 1.000–2.000 | 3 | <= 1.500 | yes |", "| `t.put` | 3.500 | 3.500–3.500 | 1 | >= 3.000 | yes |", "A over B"} {
		if !strings.Contains(md, want) {
			t.Fatalf("results.md lacks %q:\n%s", want, md)
		}
	}
	if svg := read(t, filepath.Join(dir, "results.svg")); !strings.Contains(svg, "a/b.read") || !strings.HasPrefix(svg, "<svg") {
		t.Fatalf("results.svg: %.200s", svg)
	}
	write("RATIO a/b.read 2.0 <=1.5\n")
	if err := run(log, dir); err != nil {
		t.Fatal(err)
	}
	if md := read(t, filepath.Join(dir, "results.md")); !strings.Contains(md, "| `a/b.read` | 2.000 | 2.000–2.000 | 1 | <= 1.500 | no | 1.400 | +0.600 |") {
		t.Fatalf("second run:\n%s", md)
	}
	if prev := read(t, filepath.Join(dir, "results.previous.md")); !strings.Contains(prev, "`t.put`") {
		t.Fatal("the previous results were not kept")
	}
}

func TestBadRatioLinesAreRefused(t *testing.T) {
	for _, line := range []string{"RATIO x", "RATIO x notanumber", "RATIO x 1 ~2", "RATIO x 1 <=2 extra"} {
		if _, err := parse(strings.NewReader(line + "\n")); err == nil {
			t.Errorf("%q: accepted", line)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
