package main

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strings"
)

// The charts of mls bench -scenario: cost against group size on log-log
// axes, one line per operation, as SVG written by hand.

// series is one operation's line.
type series struct {
	label  string
	op     string
	member bool // the other member's role: dashed line, hollow marker
	pts    []point
}

type point struct {
	n         float64 // group size
	t, lo, hi float64 // median and spread, nanoseconds
}

// chartSeries returns the lines of sc's chart, in the order the operations
// first appear.
func chartSeries(sc scenarioResult) []series {
	var out []series
	index := map[string]int{}
	for _, sz := range sc.Sizes {
		for _, o := range sz.Ops {
			i, ok := index[o.label()]
			if !ok {
				i = len(out)
				index[o.label()] = i
				member := o.Role == "member" || o.Role == "receiver" || o.Role == "joiner"
				out = append(out, series{label: o.label(), op: o.Op, member: member})
			}
			lo, hi := o.MinNs, o.MaxNs
			if o.Samples >= 10 {
				lo, hi = o.P10Ns, o.P90Ns
			}
			out[i].pts = append(out[i].pts, point{n: float64(sz.Members), t: o.MedianNs, lo: lo, hi: hi})
		}
	}
	return out
}

// opStyle gives each operation a colour and a marker; the committer's and
// the other member's lines of one operation share them.
var opStyle = map[string]struct {
	colour, marker string
}{
	"create":           {"#1f77b4", "circle"},
	"join":             {"#8c564b", "pentagon"},
	"add":              {"#ff7f0e", "square"},
	"remove":           {"#d62728", "triangle"},
	"update":           {"#2ca02c", "diamond"},
	"message":          {"#9467bd", "down"},
	"catch-up":         {"#e377c2", "circle"},
	"catch-up-commits": {"#17becf", "square"},
}

// Chart geometry, in pixels.
const (
	chartW, chartH                 = 860, 520
	plotL, plotR, plotT, plotB     = 90, 610, 70, 450
	legendX, legendY, legendStride = 630, 80, 22
)

// decades returns the powers of ten that enclose [lo, hi].
func decades(lo, hi float64) (float64, float64) {
	a, b := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if b <= a {
		b = a + 1
	}
	return a, b
}

// durLabel names a power of ten of nanoseconds.
func durLabel(e int) string {
	units := []string{"ns", "µs", "ms", "s"}
	u := min(e/3, len(units)-1)
	return fmt.Sprintf("%g %s", math.Pow(10, float64(e-3*u)), units[u])
}

// sizeLabel names a power of ten of members.
func sizeLabel(e int) string {
	switch {
	case e >= 6:
		return fmt.Sprintf("%gM", math.Pow(10, float64(e-6)))
	case e >= 3:
		return fmt.Sprintf("%gk", math.Pow(10, float64(e-3)))
	}
	return fmt.Sprintf("%g", math.Pow(10, float64(e)))
}

// markerPath draws marker kind centred at (x, y).
func markerPath(kind string, x, y float64) string {
	const r = 4.5
	switch kind {
	case "square":
		return fmt.Sprintf("M%.1f %.1fh%.1fv%.1fh%.1fZ", x-r, y-r, 2*r, 2*r, -2*r)
	case "triangle":
		return fmt.Sprintf("M%.1f %.1fL%.1f %.1fL%.1f %.1fZ", x, y-r-1, x+r+0.5, y+r, x-r-0.5, y+r)
	case "down":
		return fmt.Sprintf("M%.1f %.1fL%.1f %.1fL%.1f %.1fZ", x, y+r+1, x+r+0.5, y-r, x-r-0.5, y-r)
	case "diamond":
		return fmt.Sprintf("M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ", x, y-r-1, x+r+1, y, x, y+r+1, x-r-1, y)
	case "pentagon":
		var b strings.Builder
		for k := range 5 {
			a := -math.Pi/2 + float64(k)*2*math.Pi/5
			fmt.Fprintf(&b, "%s%.1f %.1f", map[bool]string{true: "M", false: "L"}[k == 0], x+(r+0.5)*math.Cos(a), y+(r+0.5)*math.Sin(a))
		}
		return b.String() + "Z"
	}
	return fmt.Sprintf("M%.1f %.1fa%.1f %.1f 0 1 0 %.1f 0a%.1f %.1f 0 1 0 %.1f 0Z", x-r, y, r, r, 2*r, r, r, -2*r)
}

// scenarioChart draws sc's chart: the median time of each operation
// against the group size, log-log, with the spread as whiskers.
func scenarioChart(rep scenarioReport, sc scenarioResult) []byte {
	ss := chartSeries(sc)
	minN, maxN, minT, maxT := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, p := range s.pts {
			minN, maxN = math.Min(minN, p.n), math.Max(maxN, p.n)
			minT, maxT = math.Min(minT, math.Max(p.lo, 1)), math.Max(maxT, p.hi)
		}
	}
	x0, x1 := decades(minN, maxN)
	y0, y1 := decades(minT, maxT)
	px := func(n float64) float64 { return plotL + (math.Log10(n)-x0)/(x1-x0)*(plotR-plotL) }
	py := func(t float64) float64 { return plotB - (math.Log10(math.Max(t, 1))-y0)/(y1-y0)*(plotB-plotT) }

	var b bytes.Buffer
	esc := html.EscapeString
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="13">
`, chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, "<title>%s</title>\n", esc("mls bench: "+sc.Name))
	fmt.Fprintf(&b, "<desc>%s</desc>\n", esc(sc.Description))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	fmt.Fprintf(&b, `<text class="title" x="%d" y="28" font-size="17" font-weight="bold">%s</text>`+"\n", plotL,
		esc(fmt.Sprintf("mls bench — %s: time per operation against group size", sc.Name)))
	fmt.Fprintf(&b, `<text class="subtitle" x="%d" y="48" font-size="12" fill="#555">%s</text>`+"\n", plotL,
		esc(fmt.Sprintf("cipher suite %d, median of up to %d samples (whiskers: spread); %s/%s, %d CPUs, load %s",
			rep.Suite, rep.MaxSamples, rep.Machine.GOOS, rep.Machine.GOARCH, rep.Machine.NumCPU, orDash(rep.LoadBefore))))

	// Grid and ticks: decades labelled, 2…9 as light lines.
	b.WriteString(`<g class="grid" stroke="#e4e4e4" stroke-width="1">` + "\n")
	grid := func(e0, e1 float64, line func(v float64, major bool)) {
		for e := e0; e <= e1; e++ {
			for m := 1.0; m < 10 && (m == 1 || e < e1); m++ {
				line(m*math.Pow(10, e), m == 1)
			}
		}
	}
	major := map[bool]string{true: ` stroke="#c8c8c8"`, false: ""}
	grid(x0, x1, func(v float64, maj bool) {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d"%s/>`+"\n", px(v), plotT, px(v), plotB, major[maj])
	})
	grid(y0, y1, func(v float64, maj bool) {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f"%s/>`+"\n", plotL, py(v), plotR, py(v), major[maj])
	})
	b.WriteString("</g>\n")
	fmt.Fprintf(&b, `<rect class="frame" x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", plotL, plotT, plotR-plotL, plotB-plotT)
	b.WriteString(`<g class="ticks" fill="#333">` + "\n")
	for e := x0; e <= x1; e++ {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px(math.Pow(10, e)), plotB+20, sizeLabel(int(e)))
	}
	for e := y0; e <= y1; e++ {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", plotL-8, py(math.Pow(10, e))+4, durLabel(int(e)))
	}
	// The sizes measured, on the x axis.
	for _, sz := range sc.Sizes {
		x := px(float64(sz.Members))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333"/>`+"\n", x, plotB, x, plotB-6)
		fmt.Fprintf(&b, `<text class="size" x="%.1f" y="%d" text-anchor="middle" font-size="10" fill="#555">%d</text>`+"\n", x, plotB-9, sz.Members)
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(&b, `<text class="xlabel" x="%d" y="%d" text-anchor="middle">group size N (members, log scale; the sizes measured are marked inside the axis)</text>`+"\n",
		(plotL+plotR)/2, plotB+48)
	clock := "process CPU time"
	if rep.Clock == "wall" {
		clock = "wall-clock time"
	}
	fmt.Fprintf(&b, `<text class="ylabel" transform="translate(24 %d) rotate(-90)" text-anchor="middle">time per operation (%s, log scale)</text>`+"\n",
		(plotT+plotB)/2, clock)

	// The lines.
	for _, s := range ss {
		st := opStyle[s.op]
		dash := ""
		if s.member {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<g class="op" stroke="%s" fill="%s">`+"\n", st.colour, st.colour)
		var d strings.Builder
		for i, p := range s.pts {
			fmt.Fprintf(&d, "%s%.1f %.1f", map[bool]string{true: "M", false: "L"}[i == 0], px(p.n), py(p.t))
		}
		fmt.Fprintf(&b, `<path class="series" data-label="%s" d="%s" fill="none" stroke-width="2"%s/>`+"\n", esc(s.label), d.String(), dash)
		for _, p := range s.pts {
			if p.hi > p.lo {
				x := px(p.n)
				fmt.Fprintf(&b, `<path class="spread" d="M%.1f %.1fV%.1fM%.1f %.1fh6M%.1f %.1fh6" stroke-width="1" opacity="0.7"/>`+"\n",
					x, py(p.lo), py(p.hi), x-3, py(p.lo), x-3, py(p.hi))
			}
			b.WriteString(marker(st.marker, s.member, px(p.n), py(p.t)))
		}
		b.WriteString("</g>\n")
	}

	// The legend.
	b.WriteString(`<g class="legend">` + "\n")
	for i, s := range ss {
		st := opStyle[s.op]
		y := float64(legendY + i*legendStride)
		dash := ""
		if s.member {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<g class="entry" stroke="%s" fill="%s"><line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke-width="2"%s/>%s</g>`+"\n",
			st.colour, st.colour, legendX, y, legendX+30, y, dash, marker(st.marker, s.member, legendX+15, y))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#222">%s</text>`+"\n", legendX+38, y+4, esc(s.label))
	}
	y := legendY + len(ss)*legendStride + 10
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#555">solid, filled: who sends or commits</text>`+"\n", legendX, y)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#555">dashed, hollow: another member</text>`+"\n", legendX, y+16)
	b.WriteString("</g>\n</svg>\n")
	return b.Bytes()
}

// marker draws a filled (or, for the other member, hollow) marker.
func marker(kind string, hollow bool, x, y float64) string {
	fill := ""
	if hollow {
		fill = ` fill="white"`
	}
	return fmt.Sprintf(`<path class="marker" d="%s" stroke-width="1.5"%s/>`+"\n", markerPath(kind, x, y), fill)
}
