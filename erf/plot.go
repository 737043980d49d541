package erf

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Decades is how many powers of ten below the largest value the colour
// scale of a picture spans; smaller values (and exact zeros) take the
// lowest colour.
const Decades = 6

// Panel is one heat map of a picture.
type Panel struct {
	Title string
	Map   *Map
}

// grid adapts a Map to plotter.GridXYZ on the offset range [lo, hi] (which
// may be wider than the map's: zeros there): log10 of the value, with
// values below the floor (zeros included) at the floor. Row 0 (offset lo)
// is at the top, as images are read: the plot's y coordinate of offset dy
// is lo+hi-dy, and the axis ticks are labelled back in offsets (intTicks).
type grid struct {
	m      *Map
	lo, hi int
	floor  float64
}

func (g grid) Dims() (c, r int) { return g.hi - g.lo + 1, g.hi - g.lo + 1 }
func (g grid) X(c int) float64  { return float64(g.lo + c) }
func (g grid) Y(r int) float64  { return float64(g.hi - r) }
func (g grid) Z(c, r int) float64 {
	v := g.m.At(g.lo+r, g.lo+c)
	if v <= 0 {
		return g.floor
	}
	return math.Max(math.Log10(v), g.floor)
}

// heatImage draws the grid as an image, each cell a block of whole
// pixels (nearest-neighbour upsampling: the image is scaled smoothly when
// drawn, which would blur single cells otherwise), placed so that cell
// centres sit on whole offsets.
func heatImage(g grid, cmap palette.ColorMap) (*plotter.Image, error) {
	n, _ := g.Dims()
	f := max(1, (800+n-1)/n)
	img := image.NewRGBA(image.Rect(0, 0, n*f, n*f))
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			z := math.Min(math.Max(g.Z(c, r), cmap.Min()), cmap.Max())
			col, err := cmap.At(z)
			if err != nil {
				return nil, fmt.Errorf("erf: colour of %g: %w", z, err)
			}
			for y := r * f; y < (r+1)*f; y++ {
				for x := c * f; x < (c+1)*f; x++ {
					img.Set(x, y, col)
				}
			}
		}
	}
	lo, hi := float64(g.lo)-0.5, float64(g.hi)+0.5
	return plotter.NewImage(img, lo, lo, hi, hi), nil
}

// PictureOptions size a picture.
type PictureOptions struct {
	PanelWidth vg.Length // width of each heat map panel; 0 means 9 cm
	DPI        int       // 0 means 144
	JPEG       bool      // write JPEG instead of PNG
}

// WritePNG draws the panels side by side with one shared logarithmic colour
// bar (log10 of mean |response|, Decades decades) and writes a PNG. Axes are
// offsets from the impulse in input pixels, the vertical axis growing
// downwards as in an image. Every panel is drawn on the same offset range,
// the union of theirs, so that sizes compare at a glance.
func WritePNG(w io.Writer, panels []Panel, opts PictureOptions) error {
	if len(panels) == 0 {
		return fmt.Errorf("erf: no panel to draw")
	}
	top := 0.0
	lo, hi := math.MaxInt, math.MinInt
	for _, p := range panels {
		if p.Map == nil || p.Map.N() < 1 || len(p.Map.Values) != p.Map.N()*p.Map.N() {
			return fmt.Errorf("erf: panel %q has no data", p.Title)
		}
		top = math.Max(top, p.Map.Max())
		lo, hi = min(lo, p.Map.Lo), max(hi, p.Map.Hi)
	}
	maxLog := 0.0
	if top > 0 {
		maxLog = math.Ceil(math.Log10(top)*4) / 4
	}
	floor := maxLog - Decades
	cmap := moreland.ExtendedBlackBody()
	cmap.SetMin(floor)
	cmap.SetMax(maxLog)

	pw := opts.PanelWidth
	if pw == 0 {
		pw = 9 * vg.Centimeter
	}
	dpi := opts.DPI
	if dpi == 0 {
		dpi = 144
	}
	barW := 2.6 * vg.Centimeter
	width := pw*vg.Length(len(panels)) + barW
	height := pw + 0.6*vg.Centimeter
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)

	for i, p := range panels {
		pl := plot.New()
		pl.Title.Text = p.Title
		pl.Title.TextStyle.Font.Size = vg.Points(9)
		pl.X.Label.Text = "x offset (pixels)"
		pl.Y.Label.Text = "y offset (pixels)"
		pl.X.Tick.Marker = intTicks{}
		pl.Y.Tick.Marker = intTicks{flip: true, sum: float64(lo + hi)}
		hm, err := heatImage(grid{p.Map, lo, hi, floor}, cmap)
		if err != nil {
			return err
		}
		pl.Add(hm)
		pl.X.Min, pl.X.Max = float64(lo)-0.5, float64(hi)+0.5
		pl.Y.Min, pl.Y.Max = float64(lo)-0.5, float64(hi)+0.5
		c := draw.Crop(dc, pw*vg.Length(i), pw*vg.Length(i)-width+pw*vg.Length(1), 0, 0)
		c = squareCanvas(c)
		pl.Draw(c)
	}
	bar := plot.New()
	bar.Title.Text = "log10 |response|"
	bar.Title.TextStyle.Font.Size = vg.Points(8)
	bar.HideX()
	bar.Add(&plotter.ColorBar{ColorMap: cmap, Vertical: true})
	bar.Y.Min, bar.Y.Max = floor, maxLog
	bc := draw.Crop(dc, width-barW+0.4*vg.Centimeter, 0, 1.2*vg.Centimeter, -0.4*vg.Centimeter)
	bar.Draw(bc)

	if opts.JPEG {
		if _, err := (vgimg.JpegCanvas{Canvas: img}).WriteTo(w); err != nil {
			return fmt.Errorf("erf: writing the JPEG: %w", err)
		}
		return nil
	}
	png := vgimg.PngCanvas{Canvas: img}
	if _, err := png.WriteTo(w); err != nil {
		return fmt.Errorf("erf: writing the PNG: %w", err)
	}
	return nil
}

// squareCanvas keeps a canvas as wide as it is, cutting its height to its
// width (centred), so that pixels stay square.
func squareCanvas(c draw.Canvas) draw.Canvas {
	w, h := c.Max.X-c.Min.X, c.Max.Y-c.Min.Y
	if h > w {
		d := (h - w) / 2
		return draw.Crop(c, 0, 0, d, -d)
	}
	return c
}

// intTicks places ticks at whole multiples of 1, 2 or 5 times a power of
// ten, about six of them, labelled as integers; with flip a tick at
// coordinate v is labelled sum-v (the y axis, drawn top-down).
type intTicks struct {
	flip bool
	sum  float64
}

func (t intTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	step := 1.0
	for _, m := range []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000} {
		step = m
		if span/m <= 7 {
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		label := v
		if t.flip {
			label = t.sum - v
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.Itoa(int(math.Round(label)))})
	}
	return ticks
}

// WriteCSV writes the map as rows "dy,dx,value" (value: mean |response|,
// full float64 precision), with a header line.
func WriteCSV(w io.Writer, m *Map) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "dy,dx,mean_abs_response")
	n := m.N()
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			fmt.Fprintf(bw, "%d,%d,%s\n", m.Lo+i, m.Lo+j, strconv.FormatFloat(m.Values[i*n+j], 'g', -1, 64))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("erf: writing CSV: %w", err)
	}
	return nil
}
