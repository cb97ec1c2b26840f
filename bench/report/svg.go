package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Layout of the chart, in pixels.
const (
	rowH    = 26
	labelW  = 260
	plotW   = 520
	valueW  = 150
	topH    = 56
	bottomH = 40
)

// chart draws one horizontal bar per ratio: the median as the bar, the spread over the rounds
// as a whisker, the goal as a dashed tick, 1.0 as a grey line. Green: goal met; red: missed;
// blue: no goal.
func chart(rs []*ratio, date string) string {
	maxV := 1.0
	for _, r := range rs {
		_, hi := r.spread()
		maxV = math.Max(maxV, math.Max(hi, r.goal))
	}
	maxV = roundUp(maxV * 1.05)
	x := func(v float64) float64 { return labelW + v/maxV*plotW }
	w, h := labelW+plotW+valueW, topH+rowH*len(rs)+bottomH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="16" font-weight="bold">make bench: ratios (median, spread over rounds)</text>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="42" fill="#555">%s · green: goal met · red: missed · blue: no goal · dashed tick: goal</text>`+"\n", html.EscapeString(date))
	// Axis: ticks at a round step.
	step := niceCeil(maxV / 5)
	axisY := topH + rowH*len(rs)
	for v := 0.0; v <= maxV+1e-9; v += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>`+"\n", x(v), topH-4, x(v), axisY)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", x(v), axisY+16, trim(v))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999" stroke-width="1.5"/>`+"\n", x(1), topH-4, x(1), axisY)
	for i, r := range rs {
		y := float64(topH + i*rowH)
		m := r.median()
		lo, hi := r.spread()
		color := "#4a7bd0"
		if met, ok := r.met(); ok && met {
			color = "#3a9a4a"
		} else if ok {
			color = "#d04a3a"
		}
		title := r.name
		if r.desc != "" {
			title += ": " + r.desc
		}
		fmt.Fprintf(&b, `<g><title>%s</title>`+"\n", html.EscapeString(title))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", labelW-8, y+rowH/2+4, html.EscapeString(r.name))
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="%s" opacity="0.85"/>`+"\n", labelW, y+5, x(m)-labelW, rowH-10, color)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x(lo), y+rowH/2, x(hi), y+rowH/2)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x(lo), y+8, x(lo), y+rowH-8)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x(hi), y+8, x(hi), y+rowH-8)
		if r.goalOp != "" {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black" stroke-width="2" stroke-dasharray="3,2"/>`+"\n", x(r.goal), y+2, x(r.goal), y+rowH-2)
		}
		label := fmt.Sprintf("%.2f (%.2f–%.2f)", m, lo, hi)
		if r.goalOp != "" {
			label += fmt.Sprintf(" goal %s%s", r.goalOp, trim(r.goal))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#333">%s</text>`+"\n", labelW+plotW+6, y+rowH/2+4, html.EscapeString(label))
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// roundUp rounds v up to the next of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 or 10 times a power of ten,
// so the longest bar fills most of the plot.
func roundUp(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trim(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
