package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"strings"

	"github.com/wtonnx/wtonnx/inspect"
	"github.com/wtonnx/wtonnx/verify"
)

// WriteHTML writes the report as one self-contained HTML page.
func (r *Report) WriteHTML(w io.Writer) error {
	if err := page.Execute(w, r); err != nil {
		return fmt.Errorf("report: writing HTML: %w", err)
	}
	return nil
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"base": filepath.Base,
	// breakable lets a long node name wrap after its slashes.
	"breakable": func(s string) template.HTML {
		parts := strings.Split(s, "/")
		for i, p := range parts {
			parts[i] = template.HTMLEscapeString(p)
		}
		return template.HTML(strings.Join(parts, "/<wbr>"))
	},
	"count":  inspect.FormatCount,
	"flops":  inspect.FormatFLOPs,
	"change": inspect.FormatChange,
	"kind":   kind,
	"dims":   dims,
	"sci":    func(v float64) string { return fmt.Sprintf("%.3g", v) },
	"ms":     func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"ratio": func(v float64) string {
		if v == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f\u00d7", v)
	},
	"png": func(b []byte) template.URL {
		return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
	},
	// verdict reads one output of one comparison: a difference between
	// the converted model and its original is the intended change when the
	// check expects one; between engines it is always a failure.
	"verdict": func(expect string, c verify.Comparison, pass bool) string {
		if c.A.Model == c.B.Model {
			expect = ExpectEqual
		}
		return ComparisonVerdict(expect, pass)
	},
	"subject": func(s verify.Subject) string {
		m := "converted"
		if s.Model == verify.ModelLabelB {
			m = "original"
		}
		return m + " on " + s.Engine
	},
	"role": func(r string) string {
		if r == "vs" {
			return "original"
		}
		return "converted"
	},
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wtonnx report: {{base .Converted}}</title>
<style>
:root { --fg: #1b1f24; --muted: #5b6470; --line: #d5dae0; --bg-alt: #f4f6f8; --good: #1a7f37; --bad: #cf222e; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
p.meta, .note { color: var(--muted); margin: 2px 0; }
code { font: 12.5px ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; margin: 16px 0 4px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; background: var(--bg-alt); }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 20px; font-weight: 600; }
.card .sub { color: var(--muted); font-size: 12.5px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { background: var(--bg-alt); font-weight: 600; position: sticky; top: 0; white-space: normal; }
td.name, th.name { text-align: left; white-space: normal; overflow-wrap: anywhere; min-width: 12em; }
td.left, th.left { text-align: left; }
tr.total td { font-weight: 600; border-top: 2px solid var(--fg); }
.pass { color: var(--good); font-weight: 600; }
.fail { color: var(--bad); font-weight: 600; }
.changed { color: var(--accent); font-weight: 600; }
figure { margin: 16px 0 24px; break-inside: avoid; page-break-inside: avoid; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.error { color: var(--bad); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, .cards, figure { break-inside: avoid; page-break-inside: avoid; }
  th { position: static; }
  .scroll { overflow: visible; }
  td.name { max-width: 60mm; }
  @page { size: A4 landscape; margin: 12mm; }
}
</style>
</head>
<body>
<main>
<h1>WTConv conversion report</h1>
<p class="meta"><code>{{.Original}}</code> &rarr; <code>{{.Converted}}</code></p>
<p class="meta">Generated {{.Generated.Format "2006-01-02 15:04 UTC"}} by wtonnx{{if .Forms}}; layers in the {{range $i, $f := .Forms}}{{if $i}}, {{end}}{{$f}}{{end}} form{{end}}.</p>

{{with .Comparison}}
<h2 id="summary">Summary</h2>
<div class="cards">
  <div class="card"><div class="label">Layers converted</div><div class="value">{{.ConvertedLayers}} of {{.Before.Depthwise}}</div><div class="sub">depthwise convs &rarr; WTConv</div></div>
  <div class="card"><div class="label">Largest receptive field</div><div class="value">{{.Before.MaxReceptiveField}} &rarr; {{.After.MaxReceptiveField}} px</div><div class="sub">theoretical, per axis</div></div>
  <div class="card"><div class="label">Parameters (model)</div><div class="value">{{count .Before.ModelParams}} &rarr; {{count .After.ModelParams}}</div><div class="sub">{{change .Before.ModelParams .After.ModelParams}}</div></div>
  <div class="card"><div class="label">Multiply-accumulates (model)</div><div class="value">{{flops .Before.ModelFLOPs}} &rarr; {{flops .After.ModelFLOPs}}</div><div class="sub">{{change .Before.ModelFLOPs .After.ModelFLOPs}}; the converted layers {{flops .Before.FLOPs}} &rarr; {{flops .After.FLOPs}}{{if or .Before.UnknownFLOPs .After.UnknownFLOPs}}; ? or partial: {{.Before.UnknownFLOPs}} &rarr; {{.After.UnknownFLOPs}} nodes whose size shape inference could not fix are left out{{end}}</div></div>
</div>
<p class="note">FLOPs are multiply-accumulates by the paper's formulas on each layer's actual feature map: a depthwise conv costs C&middot;H&middot;W&middot;k&sup2;; a WTConv layer adds 4C&middot;(H/2<sup>l</sup>)&middot;(W/2<sup>l</sup>)&middot;k&sup2; per level l for its wavelet-domain conv and 4C&middot;(H/2<sup>l</sup>)&middot;(W/2<sup>l</sup>)&middot;4 each for the Haar analysis and synthesis. Model totals count Conv, ConvTranspose, MatMul and Gemm; parameters count every float initializer except the fixed Haar filters.</p>

<h2 id="layers">Per layer</h2>
<div class="scroll">
<table id="layer-table">
<thead><tr><th class="name">Layer</th><th>Input</th><th class="left">Before</th><th class="left">After</th><th>Params before</th><th>Params after</th><th>FLOPs before</th><th>FLOPs after</th><th>RF before</th><th>RF after</th></tr></thead>
<tbody>
{{range .Layers}}<tr><td class="name"><code>{{breakable .Node}}</code></td>
<td>{{if .Before}}{{dims .Before.InputHW}}{{else}}{{dims .After.InputHW}}{{end}}</td>
<td class="left">{{if .Before}}{{kind .Before}}{{else}}-{{end}}</td><td class="left">{{if .After}}{{kind .After}}{{else}}-{{end}}</td>
<td>{{if .Before}}{{count .Before.Params}}{{end}}</td><td>{{if .After}}{{count .After.Params}}{{end}}</td>
<td>{{if .Before}}{{flops .Before.FLOPs}}{{end}}</td><td>{{if .After}}{{flops .After.FLOPs}}{{end}}</td>
<td>{{if .Before}}{{.Before.ReceptiveField}}{{end}}</td><td>{{if .After}}{{.After.ReceptiveField}}{{end}}</td></tr>
{{end}}<tr class="total"><td class="name">All listed layers</td><td></td><td class="left">{{.Before.Depthwise}} depthwise</td><td class="left">{{.After.WTConv}} WTConv, {{.After.Depthwise}} depthwise</td>
<td>{{count .Before.Params}}</td><td>{{count .After.Params}}</td><td>{{flops .Before.FLOPs}}</td><td>{{flops .After.FLOPs}}</td><td>{{.Before.MaxReceptiveField}}</td><td>{{.After.MaxReceptiveField}}</td></tr>
</tbody>
</table>
</div>
{{end}}

{{if .Pictures}}
<h2 id="pictures">Impulse responses</h2>
<p class="note">Each picture is log<sub>10</sub> of the mean |response| to a unit impulse, averaged over impulse positions covering the residues modulo 2<sup>L</sup> (a WTConv layer is not shift-invariant), computed by the reference forward on one channel (the one whose wavelet branch is strongest); axes are offsets from the impulse in input pixels. The original depthwise kernel of the same channel is on the left, on the same scale.</p>
{{range .Pictures}}<figure>
<img src="{{png .PNG}}" alt="impulse response of {{.Layer}}">
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}{{end}}

<h2 id="verification">Verification</h2>
{{range .Checks}}{{$check := .}}<h3>{{.Title}}{{if .Result}}: <span class="{{.Verdict}}">{{.Verdict}}</span>{{end}}</h3>
<p class="note">{{.Note}}</p>
{{if .Error}}<p class="error">Could not run: {{.Error}}</p>{{end}}
{{with .Result}}<p class="note">Tolerance <code>{{.Tolerance.String}}</code> (max|b|: the largest magnitude of each reference output); inputs: {{range $i, $in := .Inputs}}{{if $i}}, {{end}}<code>{{$in.Name}}</code> {{$in.Shape}} ({{$in.Source}}){{end}}; runs: {{range $i, $r := .Runs}}{{if $i}}, {{end}}{{subject $r.Subject}} {{ms $r.Seconds}} s{{end}}.</p>
<div class="scroll"><table class="verify-table">
<thead><tr><th class="left">Result (a)</th><th class="left">Reference (b)</th><th class="left">Output</th><th>Verdict</th><th>Max abs error</th><th>Max abs / max |b|</th><th>Mean abs error</th><th>Max rel error</th><th>Max |b|</th><th>Cosine</th><th>Outside tol.</th></tr></thead>
<tbody>
{{range .Comparisons}}{{$c := .}}{{range .Outputs}}{{$v := verdict $check.Expect $c .Pass}}<tr><td class="left">{{subject $c.A}}</td><td class="left">{{subject $c.B}}</td><td class="left"><code>{{.Name}}</code></td><td class="{{$v}}">{{$v}}</td>
<td>{{sci .MaxAbsError}}</td><td>{{sci .MaxScaledError}}</td><td>{{sci .MeanAbsError}}</td><td>{{sci .MaxRelError}}</td><td>{{sci .MaxAbsB}}</td><td>{{printf "%.6f" .CosineSimilarity}}</td><td>{{.Outside}} of {{.Elements}}</td></tr>
{{if .Message}}<tr><td colspan="11" class="left error">{{.Message}}</td></tr>{{end}}{{if .Note}}<tr><td colspan="11" class="left note">{{.Note}}</td></tr>{{end}}{{end}}{{end}}
</tbody></table></div>{{end}}
{{else}}<p class="note">Not run.</p>
{{end}}

<h2 id="latency">Latency</h2>
{{range .Latencies}}<h3>{{.Engine}}</h3>
{{if .Error}}<p class="error">Could not run: {{.Error}}</p>{{end}}
{{with .Result}}<p class="note">Engine {{.Engine}}, {{if .Threads}}{{.Threads}} threads{{else}}the engine's default threads{{end}}; {{.Warmup}} warm-up and {{.Iters}} measured inferences per model, interleaved; latency in milliseconds.</p>
<div class="scroll"><table class="latency-table">
<thead><tr><th class="left">Model</th><th>Median</th><th>p90</th><th>Mean</th><th>Min</th><th>Max</th><th>Std dev</th><th>Throughput /s</th></tr></thead>
<tbody>
{{range .Models}}<tr><td class="left">{{role .Role}} <code>{{base .Path}}</code></td><td>{{ms .Latency.Median}}</td><td>{{ms .Latency.P90}}</td><td>{{ms .Latency.Mean}}</td><td>{{ms .Latency.Min}}</td><td>{{ms .Latency.Max}}</td><td>{{ms .Latency.Stddev}}</td><td>{{printf "%.1f" .Throughput}}</td></tr>
{{end}}</tbody></table></div>
<p>Converted / original median latency: <strong>{{ratio .MedianRatio}}</strong></p>{{end}}
{{else}}<p class="note">Not run.</p>
{{end}}
{{range .Notes}}<p class="note">{{.}}</p>{{end}}

<footer>Made by <code>wtonnx report</code>. WTConv: &ldquo;Wavelet Convolutions for Large Receptive Fields&rdquo;, Finder et al., ECCV 2024.</footer>
</main>
<script>
// Record how each picture decoded, for viewers and automated checks.
window.addEventListener("load", function () {
  var imgs = document.querySelectorAll("img"), ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    imgs[i].setAttribute("data-natural-width", imgs[i].naturalWidth);
    if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
  }
  document.body.setAttribute("data-images", imgs.length);
  document.body.setAttribute("data-images-decoded", ok);
});
</script>
</body>
</html>
`

func dims(v []int64) string {
	if len(v) != 2 || v[0] <= 0 || v[1] <= 0 {
		return "?"
	}
	return fmt.Sprintf("%dx%d", v[0], v[1])
}

// kind is "depthwise 7x7" or "WTConv 7x7 + 5x5, L3 (ops)".
func kind(r *inspect.LayerCost) string {
	k := fmt.Sprintf("%dx%d", r.Kernel[0], r.Kernel[1])
	s := ""
	if r.Kind == inspect.KindDepthwise {
		s = "depthwise " + k
	} else {
		if r.WaveletKernel != r.Kernel[0] || r.WaveletKernel != r.Kernel[1] {
			k += fmt.Sprintf(" + %dx%d", r.WaveletKernel, r.WaveletKernel)
		}
		s = fmt.Sprintf("WTConv %s, L%d (%s)", k, r.Levels, r.Form)
	}
	if r.Stride > 1 {
		s += fmt.Sprintf(", stride %d", r.Stride)
	}
	return s
}
